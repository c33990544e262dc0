//! Move-up advice against a brute force: every plan of no, one or two
//! moves within the budget, each scored by recounting every cell from the
//! rows, on random small problems (a property test) and on Jincheng with
//! units away on calls; the expected-coverage figure against a direct
//! recomputation; and the budget.

mod common;

use std::sync::{Arc, OnceLock};

use kuaifan_engine::{
    AssignUnit, CellDemand, Command, Cost, DispatchConfig, DispatchState, FreeUnit, IncidentId,
    MOVE_UP_EPSILON, MoveUpConfig, MoveUpLayout, MoveUpProblem, PlannedMove, Priority, RouteQuery,
    Scenario, ScenarioOverrides, Stage, Stamped, Tier, World,
};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The reference: a plan scored from nothing but the rows.
struct Reference<'p, 'l> {
    problem: &'p MoveUpProblem<'l>,
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
        let (base, base_handle) = self.score(&[]);
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
            let (v, h) = self.score(&[mv]);
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
                    let (v, h) = self.score(&[a, b]);
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
