//! A containment plan keeps the city's reserve of units for 110 calls
//! (`[containment] reserve`), on the Jincheng scenario: with every number
//! of free units, the plan orders out at most the free units less the
//! reserve; it is the plan the same responders give without the reserve
//! whenever that one keeps within it, and never better by the doctrine;
//! and its `reserve_cost` says exactly what the reserve cost, against
//! that plan.

mod common;

use std::sync::Arc;

use common::with_free_units;
use kuaifan_engine::{
    ContainmentRing, DispatchConfig, FastTimes, Holder, LatLon, Plan, PlanConfig, PlanRequest,
    RouteQuery, Scenario, ScenarioOverrides, Suspect, World, jincheng, plan,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// 凤台街 in the urban core.
const CORE: (f64, f64) = (35.4950, 112.8450);

/// The plans' clock.
const NOW_MS: i64 = 10_000_000;

fn world() -> Arc<World> {
    let scenario = Scenario::from_source(&jincheng(), &ScenarioOverrides::default(), &mut |_| {})
        .expect("the built-in scenario loads");
    Arc::new(World::from_scenario(scenario, DispatchConfig::default()))
}

/// A suspect who fled from the core `fled_s` before now.
fn request(world: &World, fled_s: u64) -> PlanRequest {
    let scenario = world.scenario();
    let at = LatLon::new(CORE.0, CORE.1).expect("a place");
    let from = scenario
        .router()
        .graph()
        .snap(at, &scenario.incident_snap())
        .expect("on the road network");
    let now_ms = NOW_MS as u64;
    PlanRequest::Suspect {
        ring1: ContainmentRing::Core,
        suspect: Suspect {
            from,
            escape_ms: now_ms - fled_s * 1000,
            speed_factor: 1.0,
            sighting: None,
        },
        now_ms,
    }
}

fn units_ordered(plan: &Plan) -> usize {
    plan.sites()
        .filter(|c| matches!(c.holder, Some((Holder::Unit(_), _))))
        .count()
}

/// Units, station teams and staffed posts holding crossings.
fn kinds(plan: &Plan) -> (usize, usize, usize) {
    let mut kinds = (0, 0, 0);
    for c in plan.sites() {
        match c.holder {
            Some((Holder::Unit(_), _)) => kinds.0 += 1,
            Some((Holder::StationTeam(_), _)) => kinds.1 += 1,
            Some((Holder::StaffedPost(_), _)) => kinds.2 += 1,
            None => {}
        }
    }
    kinds
}

fn held(plan: &Plan) -> usize {
    plan.sites().filter(|c| c.holder.is_some()).count()
}

#[test]
fn a_plan_keeps_the_reserve_and_says_what_it_cost() {
    let world = world();
    let reserve = world.scenario().config().containment.reserve;
    assert_eq!(reserve, 8, "Jincheng's reserve");
    let prepared = world.prepared_rings();
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let mut binding = 0;
    for free in [39, 30, 20, 14, 10, 9, 8, 4] {
        for fled_s in [60, 300, 900] {
            // Half a minute before the plan: every unit is fresh at it.
            let state = with_free_units(&world, free, NOW_MS - 30_000, &mut rng);
            let request = request(&world, fled_s);
            let mut query = RouteQuery::new(world.scenario().router());
            let kept = state.plan_with(&mut query, &request, None, true);
            // The same responders with every free unit offered.
            let mut responders = state.containment_responders(request.now_ms() as i64);
            assert_eq!(
                responders.new_units_allowed,
                Some(free.saturating_sub(reserve))
            );
            responders.new_units_allowed = None;
            let unbounded = plan(
                prepared.crossings(),
                world.scenario().rings(),
                &request,
                &responders,
                &PlanConfig::default(),
                &mut FastTimes {
                    query: &mut query,
                    targets: prepared.targets(),
                },
            );
            let allowed = free.saturating_sub(reserve);
            let what = format!("{free} free, fled {fled_s} s ago");
            assert!(
                units_ordered(&kept) <= allowed,
                "{what}: {} units ordered, {allowed} allowed",
                units_ordered(&kept)
            );
            let rank = |p: &Plan| {
                (
                    p.rings.iter().filter(|r| r.closed).count(),
                    held(p),
                    std::cmp::Reverse(p.latest_arrival_ms),
                )
            };
            if units_ordered(&unbounded) <= allowed {
                // As good by the doctrine, with as many units, teams and
                // posts (which of the equally good plans may differ).
                assert_eq!(rank(&kept), rank(&unbounded), "{what}");
                assert_eq!(kinds(&kept), kinds(&unbounded), "{what}");
                assert_eq!(kept.reserve_cost, None, "{what}");
                continue;
            }
            // The reserve binds: the plan is never better than the one
            // without it, and says by how much that one is better.
            binding += 1;
            eprintln!(
                "{what}: {} units ordered ({} without the reserve), {} crossings held in time ({} \
                 without), rings closed {} ({} without)",
                units_ordered(&kept),
                units_ordered(&unbounded),
                held(&kept),
                held(&unbounded),
                rank(&kept).0,
                rank(&unbounded).0
            );
            assert!(rank(&kept) <= rank(&unbounded), "{what}");
            assert_eq!(
                units_ordered(&kept),
                allowed,
                "{what}: the budget is used up"
            );
            match kept.reserve_cost {
                None => assert_eq!(rank(&kept), rank(&unbounded), "{what}"),
                Some(cost) => {
                    assert_ne!(rank(&kept), rank(&unbounded), "{what}");
                    assert_eq!(cost.units_allowed, allowed);
                    assert_eq!(cost.units_without, units_ordered(&unbounded));
                    assert_eq!(cost.held_without, held(&unbounded));
                    assert_eq!(cost.innermost_closed_without, unbounded.innermost_closed);
                    assert_eq!(cost.latest_arrival_without_ms, unbounded.latest_arrival_ms);
                }
            }
        }
    }
    // Jincheng at standby orders out fewer units than its reserve allows;
    // with a few units free the reserve decides.
    assert!(binding >= 6, "the reserve bound {binding} plans");
}
