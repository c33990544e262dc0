//! Move-up advice against a brute force: every plan of no, one or two
//! moves within the budget, each scored by recounting every cell from the
//! rows, on random small problems (a property test) and on Jincheng with
//! units away on calls; the expected-coverage figure against a direct
//! recomputation; and the budget. Then over the real server: a dispatch
//! that strips an area is advised (in WatchEvents and GetMoveUps, as the
//! engine advises, exact against the brute force on the scenario's own
//! budget), an accepted move changes coverage as advised (against a full
//! recomputation and the server's own coverage), survives SIGKILL, and a
//! recommendation carries the advice that would follow it.

mod common;

use std::sync::{Arc, OnceLock};

use common::server::ServerProcess;
use kuaifan_engine::service::proto;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::{
    AssignUnit, CellDemand, Command, Cost, DispatchConfig, DispatchState, FreeUnit, IncidentId,
    MOVE_UP_EPSILON, MoveUpConfig, MoveUpLayout, MoveUpProblem, PlannedMove, Priority, RouteQuery,
    Scenario, ScenarioOverrides, Stage, Stamped, Tier, World,
};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio_stream::StreamExt;

/// The reference: a plan scored from nothing but the rows.
struct Reference<'p, 'l> {
    problem: &'p MoveUpProblem<'l>,
}

/// Counts of free units in reach per cell, the cells each unit and post
/// reaches, and scratch space for a plan's changes.
struct Counts {
    k: Vec<i32>,
    m: Vec<i32>,
    dk: Vec<i32>,
    dm: Vec<i32>,
    /// Cells within the cover and the handle target of each unit, each post.
    unit_lists: Vec<(Vec<usize>, Vec<usize>)>,
    post_lists: Vec<(Vec<usize>, Vec<usize>)>,
    /// The objective with no move.
    expected: f64,
    handle: f64,
}

#[derive(Clone, Debug)]
struct Scored {
    value: f64,
    handle: f64,
    moves: Vec<PlannedMove>,
}

impl Reference<'_, '_> {
    /// Expected coverage and the handle share with `moves` made.
    fn score(&self, moves: &[PlannedMove]) -> (f64, f64) {
        let layout = self.problem.layout();
        let q = self.problem.busy_fraction();
        let cover_ms = layout.cover_s() * 1000;
        let handle_ms = layout.handle_s() * 1000;
        let rows: Vec<&[Cost]> = self
            .problem
            .units()
            .iter()
            .enumerate()
            .map(|(u, unit)| match moves.iter().find(|m| m.unit == u) {
                Some(m) => layout.post_row(m.post).map(|r| &r[..]).unwrap_or(&[]),
                None => &unit.row[..],
            })
            .collect();
        let mut expected = 0.0;
        let mut handle = 0.0;
        for (c, w) in layout.weights().iter().enumerate() {
            let within = |row: &&[Cost], ms: u32| {
                row.get(c)
                    .is_some_and(|e| e.is_reachable() && e.time_ms() <= ms)
            };
            let k = rows.iter().filter(|r| within(r, cover_ms)).count();
            let m = rows.iter().filter(|r| within(r, handle_ms)).count();
            expected += w * (1.0 - q.powi(k as i32));
            if m > 0 {
                handle += w;
            }
        }
        (expected, handle)
    }

    /// The same as [`Reference::score`], from each cell's count of free
    /// units in reach: the cells a moved unit leaves lose one, the cells
    /// its post reaches gain one, and each cell touched is counted again
    /// (the others keep their share). Fast enough for every pair of
    /// Jincheng's full budget.
    fn score_counted(&self, counts: &mut Counts, moves: &[PlannedMove]) -> (f64, f64) {
        let layout = self.problem.layout();
        let w = layout.weights();
        let q = self.problem.busy_fraction();
        let mut touched = Vec::new();
        for mv in moves {
            let from = &counts.unit_lists[mv.unit];
            let to = &counts.post_lists[mv.post];
            for (list, sign) in [(&from.0, -1), (&to.0, 1)] {
                for &c in list {
                    counts.dk[c] += sign;
                    touched.push(c);
                }
            }
            for (list, sign) in [(&from.1, -1), (&to.1, 1)] {
                for &c in list {
                    counts.dm[c] += sign;
                    touched.push(c);
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        let (mut expected, mut handle) = (counts.expected, counts.handle);
        for &c in &touched {
            let (k, m) = (counts.k[c], counts.m[c]);
            let (k2, m2) = (k + counts.dk[c], m + counts.dm[c]);
            expected += w[c] * (q.powi(k) - q.powi(k2));
            handle += w[c] * (f64::from(u8::from(m2 > 0)) - f64::from(u8::from(m > 0)));
            counts.dk[c] = 0;
            counts.dm[c] = 0;
        }
        (expected, handle)
    }

    /// Each cell's count of free units within the cover and the handle
    /// target, from the rows, with the objective they give.
    fn counts(&self) -> Counts {
        let layout = self.problem.layout();
        let n = layout.weights().len();
        let (cover_ms, handle_ms) = (layout.cover_s() * 1000, layout.handle_s() * 1000);
        let lists = |row: &[Cost]| -> (Vec<usize>, Vec<usize>) {
            let within = |ms: u32| {
                (0..n)
                    .filter(|&c| {
                        row.get(c)
                            .is_some_and(|e| e.is_reachable() && e.time_ms() <= ms)
                    })
                    .collect()
            };
            (within(cover_ms), within(handle_ms))
        };
        let unit_lists: Vec<_> = self.problem.units().iter().map(|u| lists(&u.row)).collect();
        let post_lists = (0..layout.post_count())
            .map(|p| lists(layout.post_row(p).map(|r| &r[..]).unwrap_or(&[])))
            .collect();
        let (mut k, mut m) = (vec![0; n], vec![0; n]);
        for (cover, handle) in &unit_lists {
            cover.iter().for_each(|&c| k[c] += 1);
            handle.iter().for_each(|&c| m[c] += 1);
        }
        let (expected, handle) = self.score(&[]);
        Counts {
            k,
            m,
            dk: vec![0; n],
            dm: vec![0; n],
            unit_lists,
            post_lists,
            expected,
            handle,
        }
    }

    fn allowed(&self, mv: PlannedMove, config: &MoveUpConfig) -> bool {
        let units = self.problem.units();
        let unit = &units[mv.unit];
        let taken = units.iter().any(|u| u.post == Some(mv.post));
        let drive = unit.drive[mv.post];
        unit.movable
            && !taken
            && drive.is_reachable()
            && drive.time_ms() <= config.drive_limit_s * 1000
    }

    /// The best plan of at most two moves, by brute force.
    fn best(&self, config: &MoveUpConfig) -> Scored {
        let g = config.min_gain * (1.0 - self.problem.busy_fraction());
        let eps = MOVE_UP_EPSILON;
        let mut counts = self.counts();
        let (base, base_handle) = self.score_counted(&mut counts, &[]);
        let mut best = Scored {
            value: 0.0,
            handle: 0.0,
            moves: Vec::new(),
        };
        let mut offer = |value: f64, handle: f64, mut moves: Vec<PlannedMove>| {
            moves.sort();
            let better = if value > best.value + eps {
                true
            } else if value < best.value - eps {
                false
            } else if handle > best.handle + eps {
                true
            } else if handle < best.handle - eps {
                false
            } else if moves.len() != best.moves.len() {
                moves.len() < best.moves.len()
            } else {
                moves < best.moves
            };
            if better {
                best = Scored {
                    value,
                    handle,
                    moves,
                };
            }
        };
        let posts = self.problem.layout().post_count();
        let singles: Vec<PlannedMove> = (0..self.problem.units().len())
            .flat_map(|unit| (0..posts).map(move |post| PlannedMove { unit, post }))
            .filter(|&mv| self.allowed(mv, config))
            .collect();
        let mut single_value = std::collections::HashMap::new();
        for &mv in &singles {
            let (v, h) = self.score_counted(&mut counts, &[mv]);
            single_value.insert(mv, v - base);
            if config.max_moves >= 1 && v - base >= g - eps {
                offer(v - base, h - base_handle, vec![mv]);
            }
        }
        if config.max_moves >= 2 {
            for (i, &a) in singles.iter().enumerate() {
                for &b in &singles[i + 1..] {
                    if a.unit == b.unit || a.post == b.post {
                        continue;
                    }
                    let (v, h) = self.score_counted(&mut counts, &[a, b]);
                    let gain = v - base;
                    if gain - single_value[&a] >= g - eps && gain - single_value[&b] >= g - eps {
                        offer(gain, h - base_handle, vec![a, b]);
                    }
                }
            }
        }
        best
    }
}

/// Checks the advice of `problem` against the brute force, and its
/// figures against a recount.
fn check(problem: &MoveUpProblem<'_>, config: &MoveUpConfig) -> Result<(), TestCaseError> {
    let reference = Reference { problem };
    let plan = problem.solve(config);
    let expected = reference.best(config);
    let mut moves = plan.moves();
    prop_assert!(moves.len() <= config.max_moves.min(2));
    let (base, base_handle) = reference.score(&[]);
    let (after, after_handle) = reference.score(&moves);
    // The figures the advice reports are the recount's.
    prop_assert!((plan.before.expected - base).abs() < 1e-9);
    prop_assert!((plan.before.within_handle - base_handle).abs() < 1e-9);
    prop_assert!((plan.after.expected - after).abs() < 1e-9);
    prop_assert!((plan.after.within_handle - after_handle).abs() < 1e-9);
    let steps: f64 = plan.steps.iter().map(|s| s.gain).sum();
    prop_assert!((steps - (after - base)).abs() < 1e-9);
    // As good as the best plan there is, by the same order.
    prop_assert!(
        (after - base - expected.value).abs() < 1e-9,
        "advice gains {} with {:?}; the best plan gains {} with {:?}",
        after - base,
        moves,
        expected.value,
        expected.moves
    );
    prop_assert!((after_handle - base_handle - expected.handle).abs() < 1e-9);
    moves.sort();
    prop_assert_eq!(moves.len(), expected.moves.len());
    // The budget: every move allowed, units and posts distinct.
    for (i, mv) in moves.iter().enumerate() {
        prop_assert!(reference.allowed(*mv, config));
        for other in &moves[i + 1..] {
            prop_assert!(mv.unit != other.unit && mv.post != other.post);
        }
    }
    Ok(())
}

/// A random small problem: cells, posts and units in a square of 6 km,
/// ETAs from the distance at 8–12 m/s, some cells unreachable.
fn random_problem(seed: u64) -> (MoveUpLayout, Vec<FreeUnit>, f64, MoveUpConfig) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cells = rng.random_range(20..120usize);
    let zones = rng.random_range(1..4usize);
    let spot =
        |rng: &mut ChaCha8Rng| (rng.random_range(0.0..6000.0), rng.random_range(0.0..6000.0));
    let centres: Vec<(f64, f64)> = (0..cells).map(|_| spot(&mut rng)).collect();
    let demand: Vec<CellDemand> = (0..cells)
        .map(|c| CellDemand {
            weight: if rng.random_range(0..10) == 0 {
                0.0
            } else {
                rng.random_range(0.1..3.0)
            },
            area_m2: rng.random_range(50_000.0..150_000.0),
            zone: c * zones / cells,
        })
        .collect();
    let row_from = |rng: &mut ChaCha8Rng, at: (f64, f64)| -> Arc<[Cost]> {
        let speed = rng.random_range(8.0..12.0);
        centres
            .iter()
            .map(|&(x, y)| {
                if rng.random_range(0..25) == 0 {
                    Cost::UNREACHABLE
                } else {
                    let d = ((x - at.0).powi(2) + (y - at.1).powi(2)).sqrt() * 1.3;
                    Cost::new((d / speed * 1000.0) as u32, (d * 10.0) as u32)
                }
            })
            .collect()
    };
    let posts = rng.random_range(2..12usize);
    let post_at: Vec<(f64, f64)> = (0..posts).map(|_| spot(&mut rng)).collect();
    let post_rows = post_at.iter().map(|&p| row_from(&mut rng, p)).collect();
    let post_zones = (0..posts)
        .map(|_| Some(rng.random_range(0..zones)))
        .collect();
    let layout = MoveUpLayout::from_rows(demand, post_rows, post_zones, 180, 60);
    let count = rng.random_range(1..8usize);
    let mut free = Vec::new();
    for slot in 0..count {
        let at = spot(&mut rng);
        let post = if rng.random_range(0..3) == 0 {
            None
        } else {
            Some(rng.random_range(0..posts))
        };
        let drive = post_at
            .iter()
            .map(|&(x, y)| {
                let d = ((x - at.0).powi(2) + (y - at.1).powi(2)).sqrt() * 1.3;
                Cost::new((d / 10.0 * 1000.0) as u32, (d * 10.0) as u32)
            })
            .collect();
        free.push(FreeUnit {
            slot: slot * 2,
            row: row_from(&mut rng, at),
            post,
            movable: rng.random_range(0..5) != 0,
            drive,
        });
    }
    let q = [0.0, 0.2, 0.5, 0.8][rng.random_range(0..4)];
    let config = MoveUpConfig {
        max_moves: rng.random_range(0..=2),
        drive_limit_s: rng.random_range(200..900),
        hold_s: 900,
        min_gain: [0.0, 0.001, 0.01, 0.05][rng.random_range(0..4)],
    };
    (layout, free, q, config)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn advice_equals_the_best_plan_of_a_brute_force_on_small_problems(seed in any::<u64>()) {
        let (layout, units, q, config) = random_problem(seed);
        let problem = MoveUpProblem::new(&layout, units, q);
        check(&problem, &config)?;
    }
}

fn world() -> &'static Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD.get_or_init(|| {
        let scenario = Scenario::from_source(
            &kuaifan_engine::jincheng(),
            &ScenarioOverrides::default(),
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Arc::new(World::from_scenario(scenario, DispatchConfig::default()))
    })
}

const T0: i64 = 1_795_622_400_000;

/// Jincheng with the units of `busy` sent to one incident each.
fn jincheng_with_busy(query: &mut RouteQuery<'_>, busy: &[usize]) -> DispatchState {
    let world = world();
    let mut state = DispatchState::new(Arc::clone(world), query);
    let mut apply = |state: &mut DispatchState, command: Command| {
        state
            .apply(
                query,
                &Stamped {
                    at_ms: T0,
                    actor: "test".into(),
                    command,
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
    };
    for (n, &slot) in busy.iter().enumerate() {
        let unit = world.scenario().units().as_slice()[slot].clone();
        apply(
            &mut state,
            Command::ReportIncident {
                location: unit.standby.location,
                priority: Priority::P2,
                category: "test".into(),
                description: String::new(),
                caller_ref: String::new(),
            },
        );
        let id = IncidentId(n as u64 + 1);
        apply(
            &mut state,
            Command::Advance {
                incident: id,
                stage: Stage::Registered,
                note: String::new(),
            },
        );
        apply(
            &mut state,
            Command::Assign {
                incident: id,
                units: vec![AssignUnit {
                    unit: unit.id.to_string(),
                    tier: Tier::Handle,
                    goal: None,
                }],
                note: String::new(),
                register: false,
            },
        );
    }
    state
}

#[test]
fn advice_on_jincheng_equals_the_brute_force_with_units_away() {
    let world = world();
    let mut query = RouteQuery::new(world.scenario().router());
    let mut rng = ChaCha8Rng::seed_from_u64(0x6d6f_7665_7570);
    let units = world.scenario().units().len();
    for round in 0..3 {
        let away: Vec<usize> = (0..units)
            .filter(|_| rng.random_range(0..100) < [15, 40, 70][round])
            .collect();
        let state = jincheng_with_busy(&mut query, &away);
        let problem = state
            .move_up_problem(&mut query, &[])
            .unwrap_or_else(|| panic!("free units in round {round}"));
        // A shorter drive limit than the scenario's keeps the brute force's
        // pairs (each recounted over every cell) to a few thousand.
        let config = MoveUpConfig {
            drive_limit_s: 300,
            ..world.scenario().config().move_up
        };
        let plan = problem.solve(&config);
        eprintln!(
            "round {round}: {} away, q {:.2}, {} moves considered, {} pairs evaluated, plan {:?}",
            away.len(),
            problem.busy_fraction(),
            plan.moves_considered,
            plan.pairs_evaluated,
            plan.moves()
        );
        check(&problem, &config).unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
}

#[test]
fn advice_lines_say_what_each_move_buys_and_keep_to_the_budget() {
    let world = world();
    let scenario = world.scenario();
    let mut query = RouteQuery::new(scenario.router());
    // The three units of the busiest corner away.
    let state = jincheng_with_busy(&mut query, &[17, 18, 24]);
    let advice = state.move_up_advice(&mut query, T0);
    let config = scenario.config().move_up;
    assert!(
        !advice.moves.is_empty(),
        "three units away leave a hole worth filling"
    );
    assert!(advice.moves.len() <= config.max_moves);
    for mv in &advice.moves {
        eprintln!("{}", mv.reason);
        let unit = state.unit_id(mv.unit);
        let post = &scenario.posts()[mv.post];
        assert!(
            mv.reason.starts_with(&format!("{unit} → {}", post.name)),
            "{}",
            mv.reason
        );
        assert!(mv.reason.contains("city "), "{}", mv.reason);
        assert!(mv.drive.time_ms() <= config.drive_limit_s * 1000);
        assert!(mv.gain >= config.min_gain * (1.0 - advice.busy_fraction) - 1e-12);
        assert!(![17, 18, 24].contains(&mv.unit), "a busy unit is not moved");
    }
    assert!(advice.after.expected > advice.before.expected);
    // The units sent count as busy: q is 3 of 39.
    assert!((advice.busy_fraction - 3.0 / 39.0).abs() < 1e-12);
    // Drive times are the road's: plain Dijkstra from the unit to the post.
    let mut reference = kuaifan_engine::Dijkstra::new(scenario.router().graph());
    for mv in &advice.moves {
        let from = state.units()[mv.unit].snapped;
        let to = scenario.post_points()[mv.post];
        assert_eq!(reference.one_to_one(&from, &to), mv.drive);
    }
}

#[test]
fn with_every_unit_free_the_expected_coverage_is_the_share_of_calls_within_180_s() {
    let world = world();
    let mut query = RouteQuery::new(world.scenario().router());
    let state = jincheng_with_busy(&mut query, &[]);
    let advice = state.move_up_advice(&mut query, T0);
    for mv in &advice.moves {
        eprintln!("{}", mv.reason);
    }
    // q = 0: a cell counts fully once one unit reaches it, which the live
    // coverage map says directly.
    assert_eq!(advice.busy_fraction, 0.0);
    let map = state
        .coverage()
        .unwrap_or_else(|| panic!("Jincheng has coverage"));
    let layout = state
        .move_up_layout()
        .unwrap_or_else(|| panic!("and posts"));
    let direct: f64 = (0..map.cells().len())
        .filter(|&c| map.best(c).is_some_and(|r| r.eta.time_ms() <= 180_000))
        .map(|c| layout.weights()[c])
        .sum();
    assert!(
        (advice.before.expected - direct).abs() < 1e-9,
        "{} vs {direct}",
        advice.before.expected
    );
    assert!(direct > 0.8 && direct < 1.0, "{direct}");
}

// Over the real server: `kuaifan serve` on the built-in Jincheng scenario,
// driven by a tonic client, beside an in-process copy of the state that
// applies the same commands (no fixes are sent, so both have every unit
// at its standby point and the copy's advice is the engine's own).

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("a scratch directory: {e}"));
    dir
}

type Client = DispatchClient<tonic::transport::Channel>;

/// Reports a call at unit `slot`'s standby point and sends that unit, on
/// the server and on the copy.
async fn send_unit_home(
    c: &mut Client,
    copy: &mut DispatchState,
    query: &mut RouteQuery<'_>,
    slot: usize,
) {
    let unit = world().scenario().units().as_slice()[slot].clone();
    let at = unit.standby.location;
    let reported = c
        .report_incident(proto::ReportIncidentRequest {
            location: Some(proto::LatLng {
                lat: at.lat(),
                lng: at.lon(),
            }),
            priority: proto::Priority::P2 as i32,
            category: "test".into(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("reported: {e}"))
        .into_inner();
    let id = reported.incident.map(|i| i.id).unwrap_or_default();
    c.confirm_assignment(proto::ConfirmAssignmentRequest {
        incident_id: id.clone(),
        unit_ids: vec![unit.id.to_string()],
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{} sent: {e}", unit.id));
    let number: u64 = id
        .parse()
        .unwrap_or_else(|e| panic!("incident id {id:?}: {e}"));
    for command in [
        Command::ReportIncident {
            location: at,
            priority: Priority::P2,
            category: "test".into(),
            description: String::new(),
            caller_ref: String::new(),
        },
        Command::Assign {
            incident: IncidentId(number),
            units: vec![AssignUnit {
                unit: unit.id.to_string(),
                tier: Tier::Handle,
                goal: None,
            }],
            note: String::new(),
            register: true,
        },
    ] {
        copy.apply(
            query,
            &Stamped {
                at_ms: T0,
                actor: "test".into(),
                command,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The move-up events of the watch until it has been quiet for a while.
async fn move_up_events(
    watch: &mut tonic::Streaming<proto::Event>,
    wanted: usize,
) -> Vec<proto::MoveUpAdvice> {
    let mut seen = Vec::new();
    while seen.len() < wanted {
        let next = tokio::time::timeout(std::time::Duration::from_secs(30), watch.next())
            .await
            .unwrap_or_else(|_| panic!("{} of {wanted} move-up events came", seen.len()));
        let event = next
            .unwrap_or_else(|| panic!("the watch ended"))
            .unwrap_or_else(|e| panic!("the watch failed: {e}"));
        if let Some(proto::event::Kind::MoveUps(advice)) = event.kind {
            seen.push(advice);
        }
    }
    seen
}

/// The moves as (unit, post, reason), for comparing.
fn moves_of(advice: &proto::MoveUpAdvice) -> Vec<(String, String, String)> {
    advice
        .moves
        .iter()
        .map(|m| (m.unit_id.clone(), m.post_id.clone(), m.reason.clone()))
        .collect()
}

fn engine_moves(
    state: &DispatchState,
    advice: &kuaifan_engine::MoveUpAdvice,
) -> Vec<(String, String, String)> {
    advice
        .moves
        .iter()
        .map(|m| {
            (
                state.unit_id(m.unit).to_string(),
                world().scenario().posts()[m.post].id.to_string(),
                m.reason.clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_server_a_stripped_corner_is_advised_exactly_and_an_accepted_move_counts_as_advised()
 {
    let dir = scratch("move-up-server");
    let journal = dir.join("journal.sqlite");
    let journal_arg = journal.to_string_lossy().to_string();
    let server = ServerProcess::ready(&["--journal", &journal_arg]);
    let mut c = DispatchClient::connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("connects: {e}"));
    let mut watch = c
        .watch_events(proto::WatchEventsRequest {})
        .await
        .unwrap_or_else(|e| panic!("watches: {e}"))
        .into_inner();
    let world = world();
    let scenario = world.scenario();
    let mut query = RouteQuery::new(scenario.router());
    let mut copy = DispatchState::new(Arc::clone(world), &mut query);

    // The busiest corner's three units sent away: one advice per dispatch
    // (the reports change no free unit and send none).
    for slot in [17, 18, 24] {
        send_unit_home(&mut c, &mut copy, &mut query, slot).await;
    }
    let events = move_up_events(&mut watch, 3).await;
    let advised = events.last().cloned().unwrap_or_default();
    assert!(
        !advised.moves.is_empty(),
        "a stripped corner is advised: {advised:?}"
    );
    for m in &advised.moves {
        eprintln!("{}", m.reason);
    }
    // The query, the event and the engine say the same.
    let asked = c
        .get_move_ups(proto::GetMoveUpsRequest {})
        .await
        .unwrap_or_else(|e| panic!("advice: {e}"))
        .into_inner();
    assert_eq!(moves_of(&asked), moves_of(&advised));
    let engine = copy.move_up_advice(&mut query, T0);
    assert_eq!(moves_of(&advised), engine_moves(&copy, &engine));
    assert!((advised.expected_before - engine.before.expected).abs() < 1e-12);
    assert!((advised.expected_after - engine.after.expected).abs() < 1e-12);
    // Exact against the brute force, on the scenario's own budget.
    let config = scenario.config().move_up;
    let problem = copy
        .move_up_problem_at(&mut query, &[], T0)
        .unwrap_or_else(|| panic!("free units"));
    check(&problem, &config).unwrap_or_else(|e| panic!("{e}"));

    // Accepting the first move.
    let first = advised.moves[0].clone();
    let accept = proto::AcceptMoveUpRequest {
        unit_id: first.unit_id.clone(),
        post_id: first.post_id.clone(),
        note: "test".into(),
        request_id: "move-up-test-1".into(),
    };
    let answer = c
        .accept_move_up(accept.clone())
        .await
        .unwrap_or_else(|e| panic!("accepted: {e}"))
        .into_inner();
    let unit = answer.unit.clone().unwrap_or_default();
    assert_eq!(unit.post_id, first.post_id);
    assert_eq!(unit.post_name, first.post_name);
    assert!(unit.moved_at_ms > 0);
    assert_eq!(
        unit.move_held_until_ms,
        unit.moved_at_ms + i64::from(config.hold_s) * 1000
    );
    // The unit stays dispatchable, and counts at its post: the coverage
    // now is what the advice said the move would give.
    assert_eq!(unit.status, proto::UnitStatus::Available as i32);
    let now = answer.advice.clone().unwrap_or_default();
    assert!(
        (now.expected_before - (advised.expected_before + first.gain)).abs() < 1e-9,
        "expected coverage {} after the move, advised {} + {}",
        now.expected_before,
        advised.expected_before,
        first.gain
    );
    assert!((now.city_covered_before - first.city_covered_after).abs() < 1e-9);
    // A watcher is told: the unit with its post, then the advice.
    let after_accept = move_up_events(&mut watch, 1).await;
    assert_eq!(moves_of(&after_accept[0]), moves_of(&now));
    // The retry is answered as the first call was, and applies nothing.
    let retried = c
        .accept_move_up(accept)
        .await
        .unwrap_or_else(|e| panic!("the retry: {e}"));
    assert!(
        retried
            .metadata()
            .get(kuaifan_engine::service::REPLAYED_HEADER)
            .is_some()
    );
    assert_eq!(retried.into_inner().unit, answer.unit);
    // Within its hold time the unit is not moved again.
    let again = c
        .accept_move_up(proto::AcceptMoveUpRequest {
            unit_id: first.unit_id.clone(),
            post_id: first.unit_id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("held");
    assert_eq!(again.code(), tonic::Code::InvalidArgument);
    assert!(
        again.message().starts_with("unit_id: "),
        "{}",
        again.message()
    );

    // A full recomputation of the coverage map with the unit at the post
    // gives the share the advice said; and so does the server once the
    // unit reports from there.
    let slot = copy
        .unit_index(&first.unit_id)
        .unwrap_or_else(|e| panic!("{e}"));
    let post = scenario
        .post_index(&first.post_id)
        .unwrap_or_else(|| panic!("post {}", first.post_id));
    let mut map = copy
        .coverage()
        .cloned()
        .unwrap_or_else(|| panic!("coverage"));
    let placed: Vec<(usize, Option<kuaifan_engine::Snapped>)> = copy
        .units()
        .iter()
        .enumerate()
        .map(|(s, u)| {
            let at = if s == slot {
                scenario.post_points()[post]
            } else {
                u.snapped
            };
            (s, u.status.is_dispatchable().then_some(at))
        })
        .collect();
    map.recompute_all(&mut query, &placed)
        .unwrap_or_else(|e| panic!("{e}"));
    let recomputed = map.share_within(scenario.config().targets.support_s);
    assert!(
        (recomputed - first.city_covered_after).abs() < 1e-9,
        "recomputed {recomputed}, advised {}",
        first.city_covered_after
    );
    let at = first.post_location.unwrap_or_default();
    c.report_positions(tokio_stream::iter(vec![proto::UnitPosition {
        unit_id: first.unit_id.clone(),
        position: Some(at),
        ..Default::default()
    }]))
    .await
    .unwrap_or_else(|e| panic!("the fix: {e}"));
    let coverage = c
        .get_coverage(proto::GetCoverageRequest { resolution: 0 })
        .await
        .unwrap_or_else(|e| panic!("coverage: {e}"))
        .into_inner();
    assert!(
        (coverage.within_180s - first.city_covered_after).abs() < 1e-9,
        "the server's coverage {} with the unit at its post, advised {}",
        coverage.within_180s,
        first.city_covered_after
    );

    // SIGKILL, and a start on the same journal: the move is still there,
    // and so is the advice.
    let units_before = c
        .list_units(proto::ListUnitsRequest {})
        .await
        .unwrap_or_else(|e| panic!("units: {e}"))
        .into_inner()
        .units;
    let advice_before = c
        .get_move_ups(proto::GetMoveUpsRequest {})
        .await
        .unwrap_or_else(|e| panic!("advice: {e}"))
        .into_inner();
    server.kill();
    let server = ServerProcess::ready(&["--journal", &journal_arg]);
    let mut c = DispatchClient::connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("connects again: {e}"));
    let units_after = c
        .list_units(proto::ListUnitsRequest {})
        .await
        .unwrap_or_else(|e| panic!("units: {e}"))
        .into_inner()
        .units;
    let moved = |units: &[proto::Unit]| -> Vec<(String, String, i64, i64, i32)> {
        units
            .iter()
            .map(|u| {
                (
                    u.id.clone(),
                    u.post_id.clone(),
                    u.moved_at_ms,
                    u.move_held_until_ms,
                    u.status,
                )
            })
            .collect()
    };
    assert_eq!(moved(&units_after), moved(&units_before));
    let advice_after = c
        .get_move_ups(proto::GetMoveUpsRequest {})
        .await
        .unwrap_or_else(|e| panic!("advice: {e}"))
        .into_inner();
    assert_eq!(moves_of(&advice_after), moves_of(&advice_before));
    // Releasing: its own standby point again, the hold still counting.
    let released = c
        .release_move_up(proto::ReleaseMoveUpRequest {
            unit_id: first.unit_id.clone(),
            note: "back".into(),
            request_id: "move-up-test-2".into(),
        })
        .await
        .unwrap_or_else(|e| panic!("released: {e}"))
        .into_inner();
    let unit_now = released.unit.unwrap_or_default();
    assert_eq!(unit_now.post_id, first.unit_id);
    assert_eq!(unit_now.move_held_until_ms, unit.move_held_until_ms);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recommendation_carries_the_advice_that_would_follow_sending_its_units() {
    let server = ServerProcess::ready(&[]);
    let mut c = DispatchClient::connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("connects: {e}"));
    let world = world();
    let mut query = RouteQuery::new(world.scenario().router());
    let state = DispatchState::new(Arc::clone(world), &mut query);
    let at = world.scenario().units().as_slice()[18].standby.location;
    let ask = |with_move_ups| proto::RecommendRequest {
        location: Some(proto::LatLng {
            lat: at.lat(),
            lng: at.lon(),
        }),
        priority: proto::Priority::P1 as i32,
        with_move_ups,
        ..Default::default()
    };
    let plain = c
        .recommend(ask(false))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert!(plain.move_ups_after.is_none(), "only when asked for");
    let rec = c
        .recommend(ask(true))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    let after = rec.move_ups_after.clone().unwrap_or_default();
    let leaving: Vec<usize> = rec
        .candidates
        .iter()
        .map(|cand| {
            state
                .unit_index(&cand.unit_id)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    assert!(
        leaving.len() >= 3,
        "a P1 sends handle, support and encircle units"
    );
    let engine = state.move_up_advice_without(&mut query, T0, &leaving);
    assert_eq!(moves_of(&after), engine_moves(&state, &engine));
    assert!(
        !after.moves.is_empty(),
        "sending {} units from one corner is advised",
        leaving.len()
    );
    let units = world.scenario().units().len() as f64;
    assert!((after.busy_fraction - leaving.len() as f64 / units).abs() < 1e-12);
    for m in &after.moves {
        assert!(
            !rec.candidates.iter().any(|cand| cand.unit_id == m.unit_id),
            "{} is recommended and not moved",
            m.unit_id
        );
    }
    // Nothing changed: the advice now has no unit away.
    let now = c
        .get_move_ups(proto::GetMoveUpsRequest {})
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner();
    assert_eq!(now.busy_fraction, 0.0);
}
