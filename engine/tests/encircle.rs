//! ENCIRCLE under its budget, on the Jincheng scenario: at most
//! `max_exits` exits, the most important first, never the city's last
//! `reserve` free units, each unheld exit with its reason; the ring's
//! latest arrival against a brute force over every assignment (plain
//! Dijkstra ETAs); a dispatcher naming reserve units still sends them.

mod common;

use std::sync::Arc;

use kuaifan_engine::{
    AssignUnit, Command, Cost, Dijkstra, DispatchConfig, DispatchState, EncircleConfig, LatLon,
    Policy, Priority, Recommendation, RouteQuery, Scenario, ScenarioOverrides, Stamped, Tier,
    Unheld, UnitStatus, World, jincheng,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn world(budget: EncircleConfig) -> Arc<World> {
    let scenario = Scenario::from_source(&jincheng(), &ScenarioOverrides::default(), &mut |_| {})
        .expect("the built-in scenario loads");
    Arc::new(World::from_scenario(scenario, DispatchConfig::default()).with_encircle(budget))
}

fn apply(state: &mut DispatchState, command: Command) {
    let world = state.world().clone();
    let mut query = RouteQuery::new(world.scenario().router());
    let stamped = Stamped {
        at_ms: 1_000,
        actor: "dispatcher-1".to_string(),
        command,
    };
    if let Err(e) = state.apply(&mut query, &stamped) {
        panic!("refused: {e}");
    }
}

/// A state where only `free` units, chosen at random, can be sent.
fn with_free_units(world: &Arc<World>, free: usize, rng: &mut ChaCha8Rng) -> DispatchState {
    common::with_free_units(world, free, 1_000, rng)
}

/// A P1 location near a random unit's standby point (the zones are where
/// the units stand by).
fn somewhere(world: &World, rng: &mut ChaCha8Rng) -> LatLon {
    let standby = world.scenario().standby_points();
    let p = standby[rng.random_range(0..standby.len())].point;
    LatLon::new(
        p.lat() + rng.random_range(-0.01..0.01),
        p.lon() + rng.random_range(-0.01..0.01),
    )
    .expect("valid")
}

fn recommend(state: &DispatchState, at: LatLon) -> Option<Recommendation> {
    let mut query = RouteQuery::new(state.world().scenario().router());
    state
        .recommend(&mut query, at, Priority::P1, 1_000, Policy::Coverage)
        .ok()
}

/// The smallest latest arrival of any assignment of distinct units to the
/// exits, by trying them all.
fn brute_force_bottleneck(costs: &[Vec<Cost>]) -> Option<Cost> {
    fn go(costs: &[Vec<Cost>], row: usize, used: &mut Vec<bool>, worst: Cost) -> Option<Cost> {
        if row == costs.len() {
            return Some(worst);
        }
        let mut best: Option<Cost> = None;
        for (column, &c) in costs[row].iter().enumerate() {
            if used[column] || !c.is_reachable() {
                continue;
            }
            used[column] = true;
            if let Some(b) = go(costs, row + 1, used, worst.max(c)) {
                best = Some(best.map_or(b, |x| x.min(b)));
            }
            used[column] = false;
        }
        best
    }
    let columns = costs.first().map_or(0, Vec::len);
    go(costs, 0, &mut vec![false; columns], Cost::ZERO)
}

/// Recounts a recommendation from the state and plain Dijkstra; whether
/// its ring was also checked against the brute force.
fn check(state: &DispatchState, rec: &Recommendation, budget: EncircleConfig) -> bool {
    let world = state.world();
    let Some(zone) = rec.zone else {
        assert!(rec.candidates.iter().all(|c| c.tier != Tier::Encircle));
        return false;
    };
    let exits = world.exits(zone);
    let mut reference = Dijkstra::new(world.scenario().router().graph());
    let first: Vec<usize> = rec
        .candidates
        .iter()
        .filter(|c| c.tier != Tier::Encircle)
        .map(|c| c.unit)
        .collect();
    let ring: Vec<_> = rec
        .candidates
        .iter()
        .filter(|c| c.tier == Tier::Encircle)
        .collect();
    let free_after = state
        .units()
        .iter()
        .filter(|u| u.status.is_dispatchable())
        .count()
        - first.len();
    let pool: Vec<usize> = (0..state.units().len())
        .filter(|&u| state.units()[u].status.is_dispatchable() && !first.contains(&u))
        .collect();
    let positions: Vec<_> = pool.iter().map(|&u| state.units()[u].snapped).collect();
    let costs: Vec<Vec<Cost>> = exits
        .iter()
        .map(|e| reference.many_to_one(&positions, &e.snapped))
        .collect();
    let reachable: Vec<usize> = (0..exits.len())
        .filter(|&e| costs[e].iter().any(|c| c.is_reachable()))
        .collect();

    // How many: the most exits, the reserve, the reachable exits.
    let expected = reachable
        .len()
        .min(budget.max_exits)
        .min(free_after.saturating_sub(budget.reserve));
    assert_eq!(ring.len(), expected, "exits held");
    if !ring.is_empty() {
        assert!(
            free_after - ring.len() >= budget.reserve,
            "the ring takes the reserve: {free_after} free, {} sent",
            ring.len()
        );
    }
    // Which: the most important reachable ones, each by a distinct unit.
    let held: Vec<usize> = ring
        .iter()
        .map(|c| {
            exits
                .iter()
                .position(|e| e.at == c.goal)
                .expect("the goal is an exit")
        })
        .collect();
    let mut sorted = held.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, reachable[..expected], "the most important first");
    let mut units: Vec<usize> = rec.candidates.iter().map(|c| c.unit).collect();
    units.sort_unstable();
    units.dedup();
    assert_eq!(units.len(), rec.candidates.len(), "a unit is sent once");
    for (c, &e) in ring.iter().zip(&held) {
        let column = pool.iter().position(|&u| u == c.unit).expect("a free unit");
        assert_eq!(costs[e][column], c.eta, "ETA to exit {e}");
    }
    // Every other exit is listed once, with a reason that holds.
    assert_eq!(rec.unheld_exits.len() + ring.len(), exits.len());
    assert_eq!(rec.uncovered_exits.len(), rec.unheld_exits.len());
    for u in &rec.unheld_exits {
        assert!(!held.contains(&u.exit));
        assert_eq!(u.at, exits[u.exit].at);
        assert!(!u.reason.is_empty());
        match u.why {
            Unheld::ExitLimit { max_exits } => {
                assert_eq!(max_exits, budget.max_exits);
                assert_eq!(ring.len(), budget.max_exits.min(exits.len()));
                assert!(u.reason.contains(&format!("at most {max_exits} exits")));
            }
            Unheld::Reserve { reserve, free } => {
                assert_eq!((reserve, free), (budget.reserve, free_after));
                assert_eq!(ring.len(), free_after.saturating_sub(budget.reserve));
                assert!(u.reason.contains("name units to send them anyway"));
            }
            Unheld::Unreachable => assert!(!reachable.contains(&u.exit)),
            Unheld::NoUnitLeft => {}
            _ => panic!("an unknown reason {:?}", u.why),
        }
    }
    let tier = rec
        .tiers
        .iter()
        .find(|t| t.tier == Tier::Encircle)
        .expect("the ENCIRCLE tier");
    assert_eq!(tier.wanted, exits.len().min(budget.max_exits));
    assert_eq!(tier.assigned, ring.len());
    let bottleneck = ring.iter().map(|c| c.eta).max().unwrap_or(Cost::ZERO);
    assert_eq!(
        tier.met,
        ring.len() == tier.wanted && bottleneck.seconds() <= f64::from(tier.target_s)
    );
    // The latest arrival is the best any assignment of the free units to
    // those exits gives, when there are few enough to try them all.
    let trials: f64 = (0..ring.len())
        .map(|k| (pool.len() - k) as f64)
        .product::<f64>();
    if trials <= 200_000.0 {
        let rows: Vec<Vec<Cost>> = sorted.iter().map(|&e| costs[e].clone()).collect();
        let best = brute_force_bottleneck(&rows).expect("an assignment");
        assert_eq!(bottleneck, best, "the latest arrival");
        return true;
    }
    false
}

#[test]
fn the_ring_keeps_to_its_budget_against_a_recount_and_a_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let mut reasons = [0usize; 4];
    let mut brute_forced = 0;
    for (budget, free) in [
        (EncircleConfig::default(), 6..=20),
        (
            EncircleConfig {
                max_exits: 3,
                reserve: 2,
            },
            3..=9,
        ),
        (
            EncircleConfig {
                max_exits: 5,
                reserve: 0,
            },
            4..=9,
        ),
        (EncircleConfig::UNBOUNDED, 5..=12),
    ] {
        let world = world(budget);
        for _ in 0..8 {
            let state = with_free_units(&world, rng.random_range(free.clone()), &mut rng);
            for _ in 0..4 {
                let at = somewhere(&world, &mut rng);
                let Some(rec) = recommend(&state, at) else {
                    continue;
                };
                if check(&state, &rec, budget) {
                    brute_forced += 1;
                }
                for u in &rec.unheld_exits {
                    reasons[match u.why {
                        Unheld::ExitLimit { .. } => 0,
                        Unheld::Reserve { .. } => 1,
                        Unheld::Unreachable => 2,
                        _ => 3,
                    }] += 1;
                }
            }
        }
    }
    // The cases cover what the budget is for.
    assert!(reasons[0] > 0, "no exit past the limit: {reasons:?}");
    assert!(reasons[1] > 0, "no exit left for the reserve: {reasons:?}");
    assert!(brute_forced >= 20, "{brute_forced} rings brute-forced");
}

#[test]
fn a_dispatcher_naming_reserve_units_still_sends_them() {
    let budget = EncircleConfig::default();
    let world = world(budget);
    let mut rng = ChaCha8Rng::seed_from_u64(356);
    let mut state = with_free_units(&world, 12, &mut rng);
    // A P1 in a zone with more exits than the reserve leaves units for.
    let (at, rec) = (0..200)
        .find_map(|_| {
            let at = somewhere(&world, &mut rng);
            let rec = recommend(&state, at)?;
            rec.unheld_exits
                .iter()
                .any(|u| matches!(u.why, Unheld::Reserve { .. }))
                .then_some((at, rec))
        })
        .expect("a P1 that meets the reserve");
    let sent: Vec<usize> = rec.candidates.iter().map(|c| c.unit).collect();
    let reserve: Vec<usize> = (0..state.units().len())
        .filter(|&u| state.units()[u].status.is_dispatchable() && !sent.contains(&u))
        .collect();
    assert_eq!(
        reserve.len(),
        budget.reserve,
        "the recommendation keeps the reserve"
    );
    let unheld: Vec<LatLon> = rec
        .unheld_exits
        .iter()
        .filter(|u| matches!(u.why, Unheld::Reserve { .. }))
        .map(|u| u.at)
        .collect();
    let applied = {
        let world = state.world().clone();
        let mut query = RouteQuery::new(world.scenario().router());
        let report = Stamped {
            at_ms: 1_000,
            actor: "call-taker".to_string(),
            command: Command::ReportIncident {
                location: at,
                priority: Priority::P1,
                category: "robbery".to_string(),
                description: String::new(),
                caller_ref: String::new(),
            },
        };
        state.apply(&mut query, &report).expect("reported")
    };
    let incident = applied.incident.expect("an incident");
    // The dispatcher sends the recommendation and two reserve units to the
    // exits it left unheld.
    let mut units: Vec<AssignUnit> = rec
        .candidates
        .iter()
        .map(|c| AssignUnit {
            unit: state.unit_id(c.unit).to_string(),
            tier: c.tier,
            goal: (c.tier == Tier::Encircle).then_some(c.goal),
        })
        .collect();
    for (&unit, &goal) in reserve.iter().zip(&unheld).take(2) {
        units.push(AssignUnit {
            unit: state.unit_id(unit).to_string(),
            tier: Tier::Encircle,
            goal: Some(goal),
        });
    }
    let named = units.len();
    apply(
        &mut state,
        Command::Advance {
            incident,
            stage: kuaifan_engine::Stage::Registered,
            note: String::new(),
        },
    );
    apply(
        &mut state,
        Command::Assign {
            incident,
            units,
            note: String::new(),
            register: false,
        },
    );
    for &unit in reserve.iter().take(unheld.len().min(2)) {
        assert_eq!(state.units()[unit].status, UnitStatus::Dispatched);
    }
    let case = state
        .incidents()
        .find(|i| i.id == incident)
        .expect("the incident");
    assert_eq!(case.assignments.len(), named);
}

/// Issue 17: the reserve counted stale units as free. A unit silent since
/// the shift began is no coverage for the next call and is never
/// auto-assigned, so however many of them stand by, the ring leaves the
/// city's last `reserve` fresh free units.
#[test]
fn stale_units_do_not_count_toward_the_reserve() {
    let budget = EncircleConfig {
        max_exits: 6,
        reserve: 4,
    };
    let world = world(budget);
    let mut query = RouteQuery::new(world.scenario().router());
    let mut state = DispatchState::new(world.clone(), &mut query);
    let shift_ms = 1_000_000;
    let now_ms = shift_ms + world.config().stale_after_ms + 60_000;
    let mut at = |state: &mut DispatchState, at_ms: i64, command: Command| {
        let stamped = Stamped {
            at_ms,
            actor: "dispatcher-1".to_string(),
            command,
        };
        if let Err(e) = state.apply(&mut query, &stamped) {
            panic!("refused: {e}");
        }
    };
    at(&mut state, shift_ms, Command::OpenShift);
    // The incident at the unit whose zone has the most exits; it and its
    // seven nearest units report just before the call, the other units
    // have sent nothing since the shift began.
    let units = state.units().to_vec();
    let (handler, zone) = (0..units.len())
        .filter_map(|s| world.zone_at(units[s].location).map(|z| (s, z)))
        .max_by_key(|&(s, z)| (world.exits(z).len(), std::cmp::Reverse(s)))
        .expect("a unit in a zone");
    assert!(world.exits(zone).len() >= 2, "a zone of several exits");
    let incident = units[handler].location;
    let mut by_distance: Vec<usize> = (0..units.len()).collect();
    by_distance.sort_by(|&a, &b| {
        let d = |s: usize| units[s].location.haversine_m(incident);
        d(a).total_cmp(&d(b)).then(a.cmp(&b))
    });
    let fresh: Vec<usize> = by_distance[..8].to_vec();
    for &slot in &fresh {
        let unit = state.unit_id(slot).to_string();
        at(
            &mut state,
            now_ms - 1_000,
            Command::ReportPosition {
                unit,
                location: units[slot].location,
                heading: None,
            },
        );
    }
    let stale = (0..units.len())
        .filter(|&s| state.is_stale_at(s, now_ms))
        .count();
    assert_eq!(
        stale,
        units.len() - fresh.len(),
        "the silent units are stale"
    );

    let mut query = RouteQuery::new(world.scenario().router());
    let rec = state
        .recommend(&mut query, incident, Priority::P1, now_ms, Policy::Coverage)
        .expect("a recommendation");
    let sent: Vec<usize> = rec.candidates.iter().map(|c| c.unit).collect();
    let first = rec
        .candidates
        .iter()
        .filter(|c| c.tier != Tier::Encircle)
        .count();
    let ring: Vec<usize> = rec
        .candidates
        .iter()
        .filter(|c| c.tier == Tier::Encircle)
        .map(|c| c.unit)
        .collect();
    let fresh_after = fresh.iter().filter(|s| !sent[..first].contains(s)).count();
    let fresh_left = fresh.iter().filter(|s| !sent.contains(s)).count();
    assert!(
        fresh_left >= budget.reserve,
        "the ring takes the reserve: {fresh_after} fresh units free after HANDLE and SUPPORT, \
         {fresh_left} left, ring {ring:?}"
    );
    assert_eq!(
        ring.len(),
        fresh_after - budget.reserve,
        "the ring holds as many exits as the fresh units above the reserve"
    );
    let reserve = rec
        .unheld_exits
        .iter()
        .find(|u| matches!(u.why, Unheld::Reserve { .. }))
        .expect("an exit left unheld for the reserve");
    assert_eq!(
        reserve.why,
        Unheld::Reserve {
            reserve: budget.reserve,
            free: fresh_after,
        },
        "the reserve counts the fresh units: {}",
        reserve.reason
    );
}
