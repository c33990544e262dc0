//! Dispatch on the Jincheng scenario: the closed loop, refusals that change
//! nothing, recommendations against plain Dijkstra, and journal replay.

mod common;

use common::jincheng_world as world;

use kuaifan_engine::{
    AssignUnit, Command, CommandError, Dijkstra, DispatchEngine, DispatchState, IncidentId,
    Journal, JournalPolicy, LatLon, Policy, Priority, RecommendError, RouteQuery, Stage, Stamped,
    Tier, UnitStatus, append_to_journal, read_journal,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn fresh() -> DispatchState {
    let world = world();
    let mut query = RouteQuery::new(world.scenario().router());
    DispatchState::new(world.clone(), &mut query)
}

fn at(lat: f64, lon: f64) -> LatLon {
    LatLon::new(lat, lon).expect("valid")
}

fn stamped(at_ms: i64, command: Command) -> Stamped {
    Stamped {
        at_ms,
        actor: "dispatcher-1".to_string(),
        command,
    }
}

fn apply(
    state: &mut DispatchState,
    at_ms: i64,
    command: Command,
) -> Result<kuaifan_engine::Applied, CommandError> {
    let world = state.world().clone();
    let mut query = RouteQuery::new(world.scenario().router());
    state.apply(&mut query, &stamped(at_ms, command))
}

fn report(state: &mut DispatchState, location: LatLon, priority: Priority) -> IncidentId {
    let applied = apply(
        state,
        1_000,
        Command::ReportIncident {
            location,
            priority,
            category: "robbery".to_string(),
            description: "two men with knives".to_string(),
            caller_ref: "110-0001".to_string(),
        },
    )
    .expect("accepted");
    applied.incident.expect("an incident")
}

fn advance(stage: Stage, incident: IncidentId) -> Command {
    Command::Advance {
        incident,
        stage,
        note: String::new(),
    }
}

fn assign(incident: IncidentId, units: &[(&str, Tier)]) -> Command {
    Command::Assign {
        incident,
        units: units
            .iter()
            .map(|&(u, tier)| AssignUnit {
                unit: u.to_string(),
                tier,
                goal: None,
            })
            .collect(),
        note: String::new(),
        register: false,
    }
}

const CORE: (f64, f64) = (35.4905, 112.8512);

#[test]
fn an_incident_runs_the_six_step_closed_loop_and_units_follow() {
    let mut state = fresh();
    let id = report(&mut state, at(CORE.0, CORE.1), Priority::P2);
    assert_eq!(state.incident(id).expect("exists").stage(), Stage::Reported);
    apply(&mut state, 2_000, advance(Stage::Registered, id)).expect("registered");
    apply(
        &mut state,
        3_000,
        assign(id, &[("U05", Tier::Handle), ("U06", Tier::Support)]),
    )
    .expect("assigned");
    let u5 = state.unit_index("U05").expect("unit");
    assert_eq!(state.units()[u5].status, UnitStatus::Dispatched);
    assert_eq!(state.units()[u5].incident, Some(id));
    assert_eq!(state.incident(id).expect("exists").stage(), Stage::Assigned);

    apply(
        &mut state,
        50_000,
        Command::Arrived {
            incident: id,
            unit: "U05".to_string(),
        },
    )
    .expect("arrived");
    let incident = state.incident(id).expect("exists");
    assert_eq!(incident.stage(), Stage::Handling);
    assert_eq!(incident.assignments[0].response_s(), Some(47.0));
    assert_eq!(incident.assignments[0].met_target(), Some(true));
    assert_eq!(state.units()[u5].status, UnitStatus::OnScene);

    apply(&mut state, 900_000, advance(Stage::Feedback, id)).expect("feedback");
    apply(&mut state, 950_000, advance(Stage::Closed, id)).expect("closed");
    assert_eq!(state.units()[u5].status, UnitStatus::Returning);
    assert_eq!(state.units()[u5].incident, None);
    let u6 = state.unit_index("U06").expect("unit");
    assert_eq!(state.units()[u6].status, UnitStatus::Returning);

    // Back at the standby point, the unit is available again.
    let standby = world().scenario().units().as_slice()[u5].standby.location;
    apply(
        &mut state,
        1_000_000,
        Command::ReportPosition {
            unit: "U05".to_string(),
            location: standby,
            heading: Some(90.0),
        },
    )
    .expect("position");
    assert_eq!(state.units()[u5].status, UnitStatus::Available);
    let stages: Vec<Stage> = state
        .incident(id)
        .expect("exists")
        .history
        .iter()
        .map(|t| t.stage)
        .collect();
    assert_eq!(stages, Stage::ALL.to_vec());
}

#[test]
fn refused_commands_say_why_and_change_nothing() {
    let mut state = fresh();
    let id = report(&mut state, at(CORE.0, CORE.1), Priority::P1);
    let other = report(&mut state, at(35.52, 112.83), Priority::P3);
    apply(&mut state, 2_000, advance(Stage::Registered, other)).expect("registered");
    apply(&mut state, 2_500, assign(other, &[("U07", Tier::Handle)])).expect("assigned");
    let before = state.clone();
    let refusals = [
        (
            assign(id, &[("U01", Tier::Handle)]),
            "register the case first",
        ),
        (advance(Stage::Assigned, id), "when units are assigned"),
        (advance(Stage::Handling, id), "one at a time"),
        (advance(Stage::Reported, id), "only move forward"),
        (advance(Stage::Registered, IncidentId(99)), "no incident 99"),
        (
            Command::Arrived {
                incident: id,
                unit: "U01".to_string(),
            },
            "not assigned",
        ),
        (
            Command::SetUnitStatus {
                unit: "U99".to_string(),
                status: UnitStatus::OutOfService,
                note: String::new(),
            },
            "no unit",
        ),
        (
            Command::SetUnitStatus {
                unit: "U01".to_string(),
                status: UnitStatus::OnScene,
                note: String::new(),
            },
            "set by assignments",
        ),
        (
            Command::ReportPosition {
                unit: "U01".to_string(),
                location: at(35.0, 110.0),
                heading: None,
            },
            "from the nearest road",
        ),
        (
            Command::ReportPosition {
                unit: "U01".to_string(),
                location: at(CORE.0, CORE.1),
                heading: Some(400.0),
            },
            "heading",
        ),
    ];
    for (command, why) in refusals {
        let error = apply(&mut state, 3_000, command.clone()).expect_err("refused");
        assert!(error.to_string().contains(why), "{command:?}: {error}");
        assert!(state == before, "{command:?} changed the state");
    }
    // A unit on an open incident cannot take a second one.
    apply(&mut state, 4_000, advance(Stage::Registered, id)).expect("registered");
    let busy = apply(
        &mut state,
        5_000,
        assign(id, &[("U01", Tier::Handle), ("U07", Tier::Support)]),
    )
    .expect_err("busy");
    assert!(
        matches!(busy, CommandError::UnitBusy { ref unit, incident } if unit == "U07" && incident == other),
        "{busy}"
    );
    assert_eq!(
        state.units()[state.unit_index("U01").expect("unit")].status,
        UnitStatus::Available,
        "U01 untouched"
    );
    let twice = apply(
        &mut state,
        5_000,
        assign(id, &[("U01", Tier::Handle), ("U01", Tier::Support)]),
    )
    .expect_err("twice");
    assert!(twice.to_string().contains("listed twice"), "{twice}");
    apply(
        &mut state,
        6_000,
        Command::SetUnitStatus {
            unit: "U02".to_string(),
            status: UnitStatus::OutOfService,
            note: "flat tyre".to_string(),
        },
    )
    .expect("out of service");
    let out =
        apply(&mut state, 7_000, assign(id, &[("U02", Tier::Handle)])).expect_err("out of service");
    assert!(out.to_string().contains("OUT_OF_SERVICE"), "{out}");
}

/// The recommended handle unit is the one plain Dijkstra finds fastest, and
/// support units are the next fastest, under the closest policy.
#[test]
fn closest_policy_recommends_what_plain_dijkstra_ranks_first() {
    let state = fresh();
    let world = world();
    let router = world.scenario().router();
    let mut query = RouteQuery::new(router);
    let mut reference = Dijkstra::new(router.graph());
    let standby = world.scenario().standby_points().to_vec();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..25 {
        let location = at(
            rng.random_range(35.44..35.54),
            rng.random_range(112.77..112.93),
        );
        let rec = state
            .recommend_with(
                &mut query,
                location,
                Priority::P2,
                0,
                Policy::Closest,
                &|_: &[usize]| 0.0,
            )
            .expect("a recommendation");
        let to = router
            .graph()
            .snap(location, &world.scenario().incident_snap())
            .expect("snaps");
        let mut exact: Vec<(kuaifan_engine::Cost, usize)> = reference
            .many_to_one(&standby, &to)
            .into_iter()
            .enumerate()
            .map(|(s, c)| (c, s))
            .collect();
        exact.sort();
        assert_eq!(rec.candidates.len(), 2);
        assert_eq!(rec.candidates[0].tier, Tier::Handle);
        assert_eq!((rec.candidates[0].eta, rec.candidates[0].unit), exact[0]);
        assert_eq!((rec.candidates[1].eta, rec.candidates[1].unit), exact[1]);
        assert_eq!(rec.candidates[0].meets_target, exact[0].0.seconds() <= 60.0);
        let handle = &rec.tiers[0];
        assert_eq!(
            (handle.wanted, handle.assigned, handle.met),
            (1, 1, exact[0].0.seconds() <= 60.0)
        );
    }
}

#[test]
fn the_coverage_policy_prefers_the_unit_whose_departure_costs_least() {
    let state = fresh();
    let world = world();
    let mut query = RouteQuery::new(world.scenario().router());
    // Find a place two or more units reach within the handle target.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..400 {
        let location = at(
            rng.random_range(35.44..35.54),
            rng.random_range(112.77..112.93),
        );
        let closest = state
            .recommend_with(
                &mut query,
                location,
                Priority::P3,
                0,
                Policy::Closest,
                &|_: &[usize]| 0.0,
            )
            .expect("recommended");
        let fastest = closest.candidates[0].unit;
        // Make the fastest unit the costliest to move: if a second unit is
        // in time too, it goes instead.
        let loss = move |sent: &[usize]| {
            sent.iter()
                .map(|&slot| if slot == fastest { 1e9 } else { slot as f64 })
                .sum::<f64>()
        };
        let covered = state
            .recommend_with(
                &mut query,
                location,
                Priority::P3,
                0,
                Policy::Coverage,
                &loss,
            )
            .expect("recommended");
        if covered.candidates[0].unit != fastest {
            assert!(covered.candidates[0].meets_target);
            assert!(
                covered.candidates[0].reason.contains("uncovers the least"),
                "{}",
                covered.candidates[0].reason
            );
            return;
        }
    }
    panic!("no place in the core is reached within 60 s by two units");
}

#[test]
fn stale_units_are_marked_and_nothing_dispatchable_is_an_outcome() {
    let mut state = fresh();
    let world = world();
    let location = at(CORE.0, CORE.1);
    let mut query = RouteQuery::new(world.scenario().router());
    let first = state
        .recommend_with(
            &mut query,
            location,
            Priority::P3,
            0,
            Policy::Closest,
            &|_: &[usize]| 0.0,
        )
        .expect("recommended");
    let unit = world.scenario().units().as_slice()[first.candidates[0].unit]
        .id
        .as_str()
        .to_string();
    let here = state.units()[first.candidates[0].unit].location;
    apply(
        &mut state,
        10_000,
        Command::ReportPosition {
            unit,
            location: here,
            heading: None,
        },
    )
    .expect("position");
    let later = state
        .recommend_with(
            &mut query,
            location,
            Priority::P3,
            10_000 + 121_000,
            Policy::Closest,
            &|_: &[usize]| 0.0,
        )
        .expect("recommended");
    assert!(later.candidates[0].stale, "121 s after its last report");
    let fresh_enough = state
        .recommend_with(
            &mut query,
            location,
            Priority::P3,
            10_000 + 60_000,
            Policy::Closest,
            &|_: &[usize]| 0.0,
        )
        .expect("recommended");
    assert!(!fresh_enough.candidates[0].stale);

    let far = state.recommend_with(
        &mut query,
        at(35.0, 110.0),
        Priority::P3,
        0,
        Policy::Closest,
        &|_: &[usize]| 0.0,
    );
    assert!(
        matches!(far, Err(RecommendError::OffNetwork { .. })),
        "{far:?}"
    );
    // Outside every zone (a village road): still recommended, flagged by
    // having no zone.
    let rural = state
        .recommend_with(
            &mut query,
            at(35.80, 112.92),
            Priority::P3,
            0,
            Policy::Closest,
            &|_: &[usize]| 0.0,
        )
        .expect("recommended");
    assert_eq!(rural.zone, None);
    for u in world.scenario().units().iter() {
        apply(
            &mut state,
            20_000,
            Command::SetUnitStatus {
                unit: u.id.as_str().to_string(),
                status: UnitStatus::OutOfService,
                note: String::new(),
            },
        )
        .expect("accepted");
    }
    let none = state.recommend_with(
        &mut query,
        location,
        Priority::P1,
        0,
        Policy::Coverage,
        &|_: &[usize]| 0.0,
    );
    assert_eq!(none, Err(RecommendError::NothingDispatchable));
}

/// A random stream of commands, sensible and not: the journal replayed into
/// a fresh engine gives exactly the live state.
#[test]
fn journal_replay_equals_live_state() {
    let dir = std::env::temp_dir().join(format!("kuaifan-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("journal.sqlite");
    let _ = std::fs::remove_file(&path);
    let world = world();
    let units: Vec<String> = world
        .scenario()
        .units()
        .iter()
        .map(|u| u.id.as_str().to_string())
        .collect();
    // Every fix journaled, no snapshot but the last: the whole journal
    // replays into the live state.
    let policy = JournalPolicy {
        snapshot_every_entries: u64::MAX,
        snapshot_every: std::time::Duration::MAX,
        fix_interval_ms: 0,
        ..JournalPolicy::default()
    };
    let engine = DispatchEngine::start_with(
        world.clone(),
        Some(Journal::open(&path).expect("opens")),
        policy,
        Box::new(|_, _| {}),
    )
    .expect("starts");
    let handle = engine.handle();
    let mut rng = ChaCha8Rng::seed_from_u64(2020);
    let (mut accepted, mut refused) = (0, 0);
    for step in 0..400i64 {
        let incidents = handle.snapshot().incidents().count() as u64;
        let incident = IncidentId(rng.random_range(1..=incidents.max(1) + 1));
        let unit = units[rng.random_range(0..units.len())].clone();
        let command = match rng.random_range(0..10) {
            0 | 1 => Command::ReportIncident {
                location: at(
                    rng.random_range(35.44..35.54),
                    rng.random_range(112.77..112.93),
                ),
                priority: [Priority::P1, Priority::P2, Priority::P3][rng.random_range(0..3)],
                category: "drill".to_string(),
                description: format!("step {step}"),
                caller_ref: String::new(),
            },
            2 | 3 => advance(Stage::ALL[rng.random_range(0..6)], incident),
            4 => assign(incident, &[(&unit, Tier::Handle)]),
            5 => Command::Arrived { incident, unit },
            6 => Command::SetUnitStatus {
                unit,
                status: [
                    UnitStatus::Available,
                    UnitStatus::OutOfService,
                    UnitStatus::OnScene,
                ][rng.random_range(0..3)],
                note: String::new(),
            },
            // Accepted once the unit has gone 120 s (120 steps) without a
            // fix, refused before.
            7 => Command::MarkStale { units: vec![unit] },
            _ => Command::ReportPosition {
                unit,
                location: at(
                    rng.random_range(35.44..35.54),
                    rng.random_range(112.77..112.93),
                ),
                heading: Some(rng.random_range(0.0..360.0)),
            },
        };
        match handle.submit(stamped(step * 1000, command)) {
            Ok(_) => accepted += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(
        accepted > 150 && refused > 30,
        "{accepted} accepted, {refused} refused"
    );
    let live = handle.snapshot();
    engine.shutdown();
    let journal = Journal::open(&path).expect("reopens");
    let mut query = RouteQuery::new(world.scenario().router());
    let mut replayed = DispatchState::new(world.clone(), &mut query);
    let entries = kuaifan_engine::read_journal(&journal).expect("reads");
    assert_eq!(entries.len(), accepted);
    for (index, stamped) in entries.iter().enumerate() {
        replayed
            .apply(&mut query, stamped)
            .unwrap_or_else(|e| panic!("entry {index} replays: {e}"));
    }
    // And a start, from the snapshot the clean stop left, replays nothing.
    let restarted = DispatchEngine::start(world.clone(), Some(journal)).expect("starts");
    assert_eq!(restarted.replayed(), 0);
    assert!(
        *restarted.handle().snapshot() == *live,
        "the snapshot's state differs"
    );
    assert_eq!(replayed.units(), live.units(), "units differ after replay");
    assert!(
        replayed.incidents().eq(live.incidents()),
        "incidents differ after replay"
    );
    assert!(
        replayed == *live,
        "replayed state differs from the live one"
    );
    // And the journal holds exactly the accepted commands.
    assert_eq!(
        Journal::open(&path).expect("opens").len().expect("counts"),
        accepted as u64
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A violent incident: the zone's exits are held, the latest arrival is as
/// early as any assignment allows, and each ETA is the plain Dijkstra one.
#[test]
fn p1_encircles_the_zone_with_an_optimal_bottleneck() {
    let state = fresh();
    let world = world();
    let router = world.scenario().router();
    let mut query = RouteQuery::new(router);
    let mut reference = Dijkstra::new(router.graph());
    let location = at(CORE.0, CORE.1);
    let rec = state
        .recommend_with(
            &mut query,
            location,
            Priority::P1,
            0,
            Policy::Closest,
            &|_: &[usize]| 0.0,
        )
        .expect("recommended");
    let zone = rec.zone.expect("in a zone");
    let exits = world.exits(zone);
    assert!(exits.len() >= 4, "{} exits", exits.len());
    let ring: Vec<_> = rec
        .candidates
        .iter()
        .filter(|c| c.tier == Tier::Encircle)
        .collect();
    let others: Vec<usize> = rec
        .candidates
        .iter()
        .filter(|c| c.tier != Tier::Encircle)
        .map(|c| c.unit)
        .collect();
    assert_eq!(others.len(), 3, "handle + two support");
    assert_eq!(ring.len() + rec.uncovered_exits.len(), exits.len());
    let mut units: Vec<usize> = rec.candidates.iter().map(|c| c.unit).collect();
    units.sort_unstable();
    units.dedup();
    assert_eq!(units.len(), rec.candidates.len(), "every unit is sent once");
    let standby = world.scenario().standby_points();
    for c in &ring {
        let exit = exits
            .iter()
            .find(|e| e.at == c.goal)
            .expect("the goal is an exit");
        assert_eq!(reference.one_to_one(&standby[c.unit], &exit.snapped), c.eta);
    }
    // No assignment of the free units to these exits has an earlier latest
    // arrival: compare with the greedy one and with every single swap.
    let bottleneck = ring.iter().map(|c| c.eta).max().expect("a ring");
    let free: Vec<usize> = (0..standby.len()).filter(|u| !others.contains(u)).collect();
    let mut taken = Vec::new();
    let mut greedy = kuaifan_engine::Cost::ZERO;
    for c in &ring {
        let exit = exits.iter().find(|e| e.at == c.goal).expect("exit");
        let costs = reference.many_to_one(standby, &exit.snapped);
        let (cost, unit) = free
            .iter()
            .filter(|u| !taken.contains(*u))
            .map(|&u| (costs[u], u))
            .min()
            .expect("a free unit");
        taken.push(unit);
        greedy = greedy.max(cost);
    }
    assert!(
        bottleneck <= greedy,
        "bottleneck {bottleneck:?} worse than greedy {greedy:?}"
    );
    let encircle = rec
        .tiers
        .iter()
        .find(|t| t.tier == Tier::Encircle)
        .expect("tier");
    let budget = world.encircle().max_exits;
    assert_eq!(encircle.wanted, exits.len().min(budget));
    assert_eq!(encircle.assigned, ring.len());
    assert_eq!(
        encircle.met,
        ring.len() == encircle.wanted && bottleneck.seconds() <= 300.0
    );
}

#[test]
fn units_near_follow_position_reports() {
    let mut state = fresh();
    let here = at(35.5203, 112.8011);
    apply(
        &mut state,
        1_000,
        Command::ReportPosition {
            unit: "U10".to_string(),
            location: here,
            heading: None,
        },
    )
    .expect("position");
    let near = state.units_near(here, 3);
    assert_eq!(near.len(), 3);
    assert_eq!(state.unit_id(near[0].0), "U10");
    assert!(near[0].1 < 0.01, "{near:?}");
    assert!(near[0].1 <= near[1].1 && near[1].1 <= near[2].1);
    // The incident's zone comes from the zone index and agrees with the
    // polygons.
    let id = report(&mut state, here, Priority::P3);
    let heat = state.heat_map().counts(1_000, 3_600_000).expect("a window");
    assert_eq!(
        heat.iter().map(|&(_, n)| n).sum::<u32>(),
        1,
        "the report is on the heat map"
    );
    let zone = state.incident(id).expect("exists").zone.expect("in a zone");
    assert!(world().scenario().zones().as_slice()[zone].contains(here));
}

/// The live coverage map follows the commands: as units go off duty, zones
/// become coverage gaps, each reported once, and come back when they return.
#[test]
fn coverage_gaps_are_raised_and_cleared_by_commands() {
    let mut state = fresh();
    let zones = world().scenario().zones().len();
    let coverage = state.coverage().expect("a coverage map");
    assert!(
        coverage.share_within(180) > 0.85,
        "{}",
        coverage.share_within(180)
    );
    assert!(coverage.gaps(180).is_empty());
    let units: Vec<String> = world()
        .scenario()
        .units()
        .iter()
        .map(|u| u.id.as_str().to_string())
        .collect();
    let mut entered = Vec::new();
    for u in &units {
        let applied = apply(
            &mut state,
            1_000,
            Command::SetUnitStatus {
                unit: u.clone(),
                status: UnitStatus::OutOfService,
                note: String::new(),
            },
        )
        .expect("accepted");
        entered.extend(applied.gaps.entered);
    }
    entered.sort_unstable();
    assert_eq!(
        entered,
        (0..zones).collect::<Vec<_>>(),
        "every zone became a gap exactly once"
    );
    let mut cleared = Vec::new();
    for u in &units {
        let applied = apply(
            &mut state,
            2_000,
            Command::SetUnitStatus {
                unit: u.clone(),
                status: UnitStatus::Available,
                note: String::new(),
            },
        )
        .expect("accepted");
        cleared.extend(applied.gaps.cleared);
    }
    cleared.sort_unstable();
    assert_eq!(cleared, (0..zones).collect::<Vec<_>>());
    // The coverage policy's preference comes from the map: a unit alone in
    // its corner of the city costs more to send than one among others.
    let losses: Vec<f64> = (0..units.len()).map(|s| state.departure_loss(s)).collect();
    assert!(losses.iter().any(|&l| l > 0.0), "{losses:?}");
    let world = world();
    let mut query = RouteQuery::new(world.scenario().router());
    let here = at(CORE.0, CORE.1);
    let by_map = state
        .recommend(&mut query, here, Priority::P2, 0, Policy::Closest)
        .expect("recommended");
    let plain = state
        .recommend_with(
            &mut query,
            here,
            Priority::P2,
            0,
            Policy::Closest,
            &|_: &[usize]| 0.0,
        )
        .expect("recommended");
    // The units chosen ignore coverage; what sending them costs is still
    // reported.
    assert_eq!(
        (by_map.candidates, by_map.tiers),
        (plain.candidates, plain.tiers),
        "the closest policy ignores coverage"
    );
}

/// A group of commands is kept whole or not at all, its later commands
/// name the incident it reported, and only kept groups reach the journal.
#[test]
fn a_group_of_commands_is_all_or_nothing() {
    let dir = std::env::temp_dir().join(format!("kuaifan-group-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("journal.sqlite");
    let _ = std::fs::remove_file(&path);
    let world = world();
    let engine = DispatchEngine::start(world.clone(), Some(Journal::open(&path).expect("opens")))
        .expect("starts");
    let handle = engine.handle();
    let submit = |commands: Vec<Command>| {
        let (reply, answer) = std::sync::mpsc::channel();
        handle
            .submit_all_then(
                commands.into_iter().map(|c| stamped(5_000, c)).collect(),
                move |r| {
                    let _ = reply.send(r);
                },
            )
            .expect("queued");
        answer.recv().expect("answered")
    };
    let call = || Command::ReportIncident {
        location: at(35.4950, 112.8450),
        priority: Priority::P2,
        category: "盗窃".to_string(),
        description: String::new(),
        caller_ref: String::new(),
    };
    let dispatch = |unit: &str| {
        vec![
            call(),
            advance(Stage::Registered, IncidentId::REPORTED),
            assign(IncidentId::REPORTED, &[(unit, Tier::Handle)]),
        ]
    };
    let unit = world.scenario().units().as_slice()[0]
        .id
        .as_str()
        .to_string();
    let applied = submit(dispatch(&unit)).expect("the first group is kept");
    assert_eq!(applied.len(), 3);
    let id = applied[0].incident.expect("a new incident");
    let state = handle.snapshot();
    let incident = state.incident(id).expect("recorded");
    assert_eq!(incident.stage(), Stage::Assigned);
    assert_eq!(incident.assignments.len(), 1);

    // The same unit again: the assignment is refused, so the report and
    // the registration before it are not kept either.
    let before = handle.snapshot();
    let refused = submit(dispatch(&unit)).expect_err("the unit is busy");
    assert!(refused.to_string().contains(&unit), "{refused}");
    let after = handle.snapshot();
    assert!(*after == *before, "a refused group changed the state");
    assert_eq!(after.incidents().count(), 1);
    engine.shutdown();
    let journal = Journal::open(&path).expect("reopens");
    let entries = kuaifan_engine::read_journal(&journal).expect("reads");
    assert_eq!(entries.len(), 3, "only the kept group is journaled");
    assert!(
        entries
            .iter()
            .all(|e| e.command.incident().is_none_or(|i| i == id)),
        "the journal holds the incident's number, not the placeholder"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression (issue 17, §7): the "older than the last report" check ran on
/// a snapshot outside the writer and was skipped for fixes timed 0, so an
/// older fix could move a unit back. The writer orders fixes now.
#[test]
fn an_older_fix_never_replaces_a_newer_one() {
    let mut state = fresh();
    let fix = |lat: f64| Command::ReportPosition {
        unit: "U03".to_string(),
        location: at(lat, 112.8512),
        heading: Some(0.0),
    };
    apply(&mut state, 10_000, fix(35.4905)).expect("the first fix");
    let before = state.clone();
    let older = apply(&mut state, 9_999, fix(35.4925)).expect_err("an older fix is refused");
    assert!(
        older.to_string().contains("older than its last report"),
        "{older}"
    );
    assert!(state == before, "the refused fix changed the state");
    let u3 = state.unit_index("U03").expect("unit");
    assert_eq!(state.units()[u3].reported_ms, Some(10_000));
    // A fix of the same time (a repeat) and a newer one are taken.
    apply(&mut state, 10_000, fix(35.4906)).expect("the same time");
    apply(&mut state, 10_001, fix(35.4907)).expect("a newer fix");
    assert_eq!(state.units()[u3].location, at(35.4907, 112.8512));
}

/// Regression (issue 17, §7): a unit leaving its case by its own status
/// (a breakdown, freed by hand) cleared its incident silently: the case
/// stayed ASSIGNED with the unit counted on it, and no incident event.
#[test]
fn a_unit_leaving_its_case_is_recorded_on_the_case_which_then_needs_a_unit() {
    let mut state = fresh();
    let id = report(&mut state, at(CORE.0, CORE.1), Priority::P2);
    apply(&mut state, 2_000, advance(Stage::Registered, id)).expect("registered");
    apply(
        &mut state,
        3_000,
        assign(id, &[("U05", Tier::Handle), ("U06", Tier::Support)]),
    )
    .expect("assigned");
    let leave = |unit: &str, status| Command::SetUnitStatus {
        unit: unit.to_string(),
        status,
        note: "engine warning light".to_string(),
    };
    let applied =
        apply(&mut state, 60_000, leave("U05", UnitStatus::OutOfService)).expect("the unit leaves");
    assert_eq!(
        applied.incident,
        Some(id),
        "the case changed: an incident event"
    );
    let incident = state.incident(id).expect("exists");
    assert_eq!(incident.assignments[0].left_ms, Some(60_000));
    assert!(incident.assignments[1].is_on_case());
    assert!(!incident.needs_unit(), "U06 is still on the case");
    // The unit that left cannot arrive at the case.
    assert!(
        apply(
            &mut state,
            61_000,
            Command::Arrived {
                incident: id,
                unit: "U05".to_string(),
            },
        )
        .is_err()
    );
    let applied =
        apply(&mut state, 70_000, leave("U06", UnitStatus::Available)).expect("freed by hand");
    assert_eq!(applied.incident, Some(id));
    let incident = state.incident(id).expect("exists");
    assert!(incident.needs_unit(), "no unit is left on the case");
    assert_eq!(incident.stage(), Stage::Assigned, "stages never go back");
    // Another unit takes the case over.
    apply(&mut state, 80_000, assign(id, &[("U07", Tier::Handle)])).expect("reassigned");
    let incident = state.incident(id).expect("exists");
    assert!(!incident.needs_unit());
    assert_eq!(incident.assignments.len(), 3);
    // A unit with no case changes no incident.
    let applied =
        apply(&mut state, 90_000, leave("U05", UnitStatus::Available)).expect("back in service");
    assert_eq!(applied.incident, None);
}

/// An assignment may register a fresh (REPORTED) case itself, decided when
/// it is applied; without being asked to, it refuses.
#[test]
fn an_assignment_may_register_a_fresh_case_when_applied() {
    let mut state = fresh();
    let id = report(&mut state, at(CORE.0, CORE.1), Priority::P3);
    let confirm = |unit: &str| Command::Assign {
        incident: id,
        units: vec![AssignUnit {
            unit: unit.to_string(),
            tier: Tier::Handle,
            goal: None,
        }],
        note: String::new(),
        register: true,
    };
    apply(&mut state, 2_000, confirm("U05")).expect("registered and assigned");
    let stages: Vec<Stage> = state
        .incident(id)
        .expect("exists")
        .history
        .iter()
        .map(|t| t.stage)
        .collect();
    assert_eq!(
        stages,
        vec![Stage::Reported, Stage::Registered, Stage::Assigned]
    );
    // A second console confirming another unit for the same call: the
    // case is registered already, and the unit is added.
    apply(&mut state, 2_001, confirm("U06")).expect("added");
    let incident = state.incident(id).expect("exists");
    assert_eq!(incident.history.len(), 3);
    assert_eq!(incident.assignments.len(), 2);
}

/// Issue 17, §4: U01 last heard of 10 minutes ago beside the incident,
/// U02 fresh about 90 s away. U01 ranks after every fresh unit, is never
/// auto-assigned (the recommendation still shows it, flagged), and once
/// marked stale no longer counts as coverage: the area only it covered
/// drops, by exactly its departure loss. Before, ranking was by ETA alone
/// and the map counted U01 wherever it was last seen.
#[test]
fn a_unit_ten_minutes_silent_beside_the_incident_ranks_last_and_covers_nothing() {
    let mut state = fresh();
    let world = world();
    let mut query = RouteQuery::new(world.scenario().router());
    let units: Vec<String> = world
        .scenario()
        .units()
        .iter()
        .map(|u| u.id.as_str().to_string())
        .collect();
    let slot = |id: &str| units.iter().position(|u| u == id).expect("a unit");
    let (u01, u02) = (slot("U01"), slot("U02"));
    let incident = state.units()[u01].location;
    let shift = 0;
    apply(&mut state, shift, Command::OpenShift).expect("the shift opens");
    assert!(matches!(
        apply(&mut state, shift, Command::OpenShift),
        Err(CommandError::ShiftOpen(0))
    ));
    // U01 reports beside the incident at the start, then falls silent.
    apply(
        &mut state,
        shift + 1_000,
        Command::ReportPosition {
            unit: "U01".to_string(),
            location: incident,
            heading: None,
        },
    )
    .expect("U01's fix");
    // U02: a point on the road about 90 s from the incident.
    let target = state.snap(incident, "the incident").expect("on a road");
    let mut rng = ChaCha8Rng::seed_from_u64(90);
    let near_90_s = (0..4000)
        .map(|_| {
            at(
                incident.lat() + rng.random_range(-0.02..0.02),
                incident.lon() + rng.random_range(-0.02..0.02),
            )
        })
        .filter_map(|p| state.snap(p, "U02").ok().map(|s| (p, s)))
        .map(|(p, s)| {
            let eta = query.one_to_one(&s, &target).seconds();
            (p, eta)
        })
        .filter(|(_, eta)| (80.0..100.0).contains(eta))
        .map(|(p, _)| p)
        .next()
        .expect("a place about 90 s away");
    let now = shift + 10 * 60_000 + 1_000;
    // Every other unit reported a moment ago where it stands; U02 from 90 s
    // away.
    for (s, id) in units.iter().enumerate() {
        if s == u01 {
            continue;
        }
        let location = if s == u02 {
            near_90_s
        } else {
            state.units()[s].location
        };
        apply(
            &mut state,
            now - 2_000,
            Command::ReportPosition {
                unit: id.clone(),
                location,
                heading: None,
            },
        )
        .expect("a fresh fix");
    }
    assert!(state.is_stale_at(u01, now), "10 min without a fix");
    assert!(!state.is_stale_at(u02, now));
    for policy in [Policy::Closest, Policy::Coverage] {
        let rec = state
            .recommend(&mut query, incident, Priority::P3, now, policy)
            .expect("recommended");
        let handle = &rec.candidates[0];
        assert_ne!(
            handle.unit, u01,
            "{policy:?}: the stale unit does not handle"
        );
        assert!(!handle.stale);
        // Fresh units first, by ETA: U02 is the fastest of them unless
        // another fresh unit is nearer still.
        let fastest_fresh = (0..units.len())
            .filter(|&s| s != u01)
            .map(|s| {
                let from = &state.units()[s].snapped;
                (query.one_to_one(from, &target), s)
            })
            .min()
            .expect("fresh units");
        if policy == Policy::Closest {
            assert_eq!(handle.unit, fastest_fresh.1, "{rec:?}");
        }
        assert!(rec.auto_assignable().all(|c| c.unit != u01));
    }
    // With U01 the only unit, it is still shown, flagged, and nothing is
    // sent with nobody looking.
    let mut alone = state.clone();
    for (s, id) in units.iter().enumerate() {
        if s != u01 {
            apply(
                &mut alone,
                now,
                Command::SetUnitStatus {
                    unit: id.clone(),
                    status: UnitStatus::OutOfService,
                    note: String::new(),
                },
            )
            .expect("off duty");
        }
    }
    let only = alone
        .recommend(&mut query, incident, Priority::P3, now, Policy::Coverage)
        .expect("recommended");
    assert_eq!(only.candidates[0].unit, u01);
    assert!(only.candidates[0].stale);
    assert!(
        only.candidates[0].reason.contains("stale"),
        "{}",
        only.candidates[0].reason
    );
    assert_eq!(only.auto_assignable().count(), 0);

    // Coverage: marking U01 stale takes it out of the map, and the area
    // only it reached within each target is lost.
    let map = state.coverage().expect("a map").clone();
    let before: Vec<f64> = [60, 180, 300]
        .iter()
        .map(|&s| map.share_within(s) * map.area_m2())
        .collect();
    let only_u01: Vec<f64> = [60, 180, 300]
        .iter()
        .map(|&s| map.loss_without(u01, s))
        .collect();
    assert!(
        only_u01.iter().any(|&l| l > 0.0),
        "U01 is the only unit near its point: {only_u01:?}"
    );
    // U02 is fresh: marking it alone is refused, and changes nothing.
    assert!(matches!(
        apply(
            &mut state,
            now,
            Command::MarkStale {
                units: vec!["U02".to_string()],
            },
        ),
        Err(CommandError::NothingStale { .. })
    ));
    assert!(matches!(
        apply(
            &mut state,
            now,
            Command::MarkStale {
                units: vec!["U01".to_string(), "U01".to_string()],
            },
        ),
        Err(CommandError::ListedTwice(_))
    ));
    assert_eq!(state.overdue_units(now), vec![u01]);
    let marked = apply(
        &mut state,
        now,
        Command::MarkStale {
            units: vec!["U01".to_string(), "U02".to_string()],
        },
    )
    .expect("U01 is overdue");
    assert_eq!(marked.units, vec![u01], "U02 is left as it is");
    assert!(state.units()[u01].stale && !state.units()[u02].stale);
    let map = state.coverage().expect("a map");
    assert!(!map.is_dispatchable(u01), "a stale unit is no coverage");
    for (i, &s) in [60, 180, 300].iter().enumerate() {
        let after = map.share_within(s) * map.area_m2();
        assert!(
            (before[i] - after - only_u01[i]).abs() <= 1e-6 * map.area_m2(),
            "within {s} s: {before:?} → {after}, U01 alone covered {}",
            only_u01[i]
        );
    }
    // Its next fix makes it fresh and coverage again.
    apply(
        &mut state,
        now + 1_000,
        Command::ReportPosition {
            unit: "U01".to_string(),
            location: incident,
            heading: None,
        },
    )
    .expect("U01 reports again");
    assert!(!state.is_stale_at(u01, now + 1_000));
    assert!(state.coverage().expect("a map").is_dispatchable(u01));
}

/// A unit that has never reported counts from the start of the shift:
/// before, it was never stale, and a dead terminal showed AVAILABLE at its
/// standby point forever.
#[test]
fn a_unit_that_never_reports_turns_stale_after_the_limit_from_the_shift() {
    let mut state = fresh();
    let limit = world().config().stale_after_ms;
    apply(&mut state, 50_000, Command::OpenShift).expect("opens");
    assert!(!state.is_stale_at(0, 50_000 + limit));
    assert!(state.is_stale_at(0, 50_000 + limit + 1));
    assert_eq!(state.overdue_units(50_000 + limit).len(), 0);
    assert_eq!(
        state.overdue_units(50_000 + limit + 1).len(),
        state.units().len()
    );
}

/// A unit marked stale stays stale across a restart, from the snapshot a
/// clean stop writes and from the journal alone, and the shift keeps its
/// start: a restart gives no silent unit a fresh start. The fix that makes
/// a stale unit fresh again is journaled even when fixes are sampled more
/// sparsely than the stale limit.
#[test]
fn staleness_and_the_shift_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("kuaifan-stale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("journal.sqlite");
    let _ = std::fs::remove_file(&path);
    let world = world();
    // One fix per unit per 10 minutes is journaled, longer than the limit.
    let policy = JournalPolicy {
        fix_interval_ms: 600_000,
        ..JournalPolicy::default()
    };
    let start = |journal: Journal| {
        DispatchEngine::start_with(world.clone(), Some(journal), policy, Box::new(|_, _| {}))
            .expect("starts")
    };
    let t0 = 1_700_000_000_000;
    let engine = start(Journal::open(&path).expect("opens"));
    let handle = engine.handle();
    handle
        .submit(stamped(t0, Command::OpenShift))
        .expect("opens");
    let fix = |unit: &str, slot: usize, at_ms: i64| {
        let location = handle.snapshot().units()[slot].location;
        handle
            .submit(stamped(
                at_ms,
                Command::ReportPosition {
                    unit: unit.to_string(),
                    location,
                    heading: None,
                },
            ))
            .expect("a fix");
    };
    // U03 reports once at the start; U02 throughout; U01 never.
    fix("U03", 2, t0 + 1_000);
    for k in 0..5 {
        fix("U02", 1, t0 + 100_000 + k * 10_000);
    }
    let now = t0 + 150_000;
    let overdue = handle.snapshot().overdue_units(now);
    assert!(
        overdue.contains(&0) && !overdue.contains(&1) && overdue.contains(&2),
        "{overdue:?}"
    );
    let ids: Vec<String> = overdue
        .iter()
        .map(|&s| handle.snapshot().unit_id(s).to_string())
        .collect();
    handle
        .submit(stamped(now, Command::MarkStale { units: ids }))
        .expect("marked");
    // U03 is back: a fix within the sampling interval of its last
    // journaled one, journaled because it ends its staleness.
    fix("U03", 2, now + 1_000);
    let live = handle.snapshot();
    let covered = |s: &DispatchState| s.coverage().map(|m| m.share_within(180));
    assert!(live.units()[0].stale && !live.units()[1].stale && !live.units()[2].stale);
    engine.shutdown();

    // From the snapshot of the clean stop.
    let restarted = start(Journal::open(&path).expect("reopens"));
    assert_eq!(restarted.replayed(), 0, "a clean stop leaves a snapshot");
    let back = restarted.handle().snapshot();
    assert!(*back == *live, "the restored state is the live one");
    assert_eq!(back.shift_start_ms(), Some(t0));
    assert_eq!(
        covered(&back),
        covered(&live),
        "stale units are no coverage after a restart"
    );
    drop(restarted);

    // From the journal alone: every entry replayed.
    let entries = read_journal(&Journal::open(&path).expect("opens")).expect("reads");
    assert!(
        matches!(entries.last().map(|e| &e.command), Some(Command::ReportPosition { unit, .. }) if unit == "U03"),
        "the fix that makes U03 fresh is journaled"
    );
    let bare = dir.join("bare.sqlite");
    let _ = std::fs::remove_file(&bare);
    let mut journal = Journal::open(&bare).expect("opens");
    append_to_journal(&mut journal, &entries.iter().collect::<Vec<_>>()).expect("copies");
    let replayed = start(journal);
    let again = replayed.handle().snapshot();
    // A full replay has only the fixes the journal sampled: U02's last
    // four fix times are the snapshot's alone. What must survive is what
    // decides dispatch: who is stale, each unit's status and case, where
    // each unit stands, when the shift began, and the coverage.
    let survives = |s: &DispatchState| -> Vec<(bool, UnitStatus, Option<IncidentId>, LatLon)> {
        s.units()
            .iter()
            .map(|u| (u.stale, u.status, u.incident, u.location))
            .collect()
    };
    assert_eq!(
        survives(&again),
        survives(&live),
        "stale flags and statuses"
    );
    assert_eq!(again.shift_start_ms(), Some(t0), "the shift's start");
    assert_eq!(
        again.overdue_units(now),
        Vec::<usize>::new(),
        "nobody newly overdue"
    );
    assert_eq!(
        again.units()[1].reported_ms,
        Some(t0 + 100_000),
        "U02's first fix of the interval is the one journaled"
    );
    assert_eq!(live.units()[1].reported_ms, Some(t0 + 140_000));
    assert_eq!(covered(&again), covered(&live), "the coverage");
    drop(replayed);
    let _ = std::fs::remove_dir_all(&dir);
}
