//! The containment drill on Jincheng: a seed gives the same chases every
//! time; the suspect's times at the crossings and the responders' times
//! there, computed again with plain Dijkstra, decide the same catch; and
//! a longer report delay never catches more suspects in the inner ring;
//! a car on a road merged into a crossing passes that crossing.

use std::sync::{Arc, OnceLock};

use kuaifan_engine::{ContainmentRing, LatLon};
use kuaifan_engine::{
    CrossingResponder, Dijkstra, DispatchConfig, DispatchState, IncidentId, RouteQuery,
    STATION_SNAP_M, Scenario, ScenarioOverrides, SnapConfig, Snapped, World,
};
use kuaifan_sim::drill::{
    ChaseConfig, DEFAULT_DELAYS_MIN, EscapeModel, Flight, SweepConfig, chase, containment_html,
    draw_flight, replay_2020, sweep,
};

fn world() -> &'static Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD.get_or_init(|| {
        let scenario = Scenario::from_source(
            &kuaifan_engine::jincheng(),
            &ScenarioOverrides::default(),
            &mut |_| {},
        )
        .expect("the built-in scenario loads");
        Arc::new(World::from_scenario(scenario, DispatchConfig::default()))
    })
}

fn config(seeds: std::ops::Range<u64>, delays_min: Vec<f64>) -> SweepConfig {
    SweepConfig {
        seeds: seeds.collect(),
        delays_min,
        escape: EscapeModel::default(),
        detection_delay_s: 30.0,
    }
}

#[test]
fn a_seed_gives_the_same_chases() {
    let config = config(356..362, vec![0.0, 30.0]);
    let a = sweep(world(), &config);
    let b = sweep(world(), &config);
    assert_eq!(a.flights, 6);
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.chases, b.chases);
    assert!(a.rows.iter().all(|r| r.refused == 0), "{:?}", a.rows);
}

/// The catch decided again from times computed with plain Dijkstra: the
/// suspect's at each crossing passed (the escape plus the road time from
/// the incident, the crossing on the fastest way to the exit), and each
/// ordered responder's there (a unit from its standby point, a team after
/// its station's turnout, a post after its activation).
#[test]
fn the_catch_follows_from_dijkstra_times() {
    let world = world();
    let scenario = world.scenario();
    let graph = scenario.router().graph();
    let sites = world.ring_crossings().sites();
    let mut dijkstra = Dijkstra::new(graph);
    let mut query = RouteQuery::new(scenario.router());
    let base = DispatchState::new(Arc::clone(world), &mut query);
    let no_detour = EscapeModel {
        detour_share: 0.0,
        ..EscapeModel::default()
    };
    let mut caught = 0;
    let mut escaped = 0;
    for seed in 400..404 {
        let flight = draw_flight(world, &mut query, seed, &no_detour).expect("a flight");
        let exit = sites[flight.exit].location;
        let to_exit = dijkstra.one_to_one(&flight.from, &exit).time_ms();
        assert_eq!(flight.end_ms(), flight.escape_ms + i64::from(to_exit));
        for pass in &flight.passes {
            // At one of the roads merged into the crossing, on the
            // fastest way out.
            let on_the_way: Vec<i64> = sites[pass.site]
                .roads_at
                .iter()
                .filter_map(|at| {
                    let to = i64::from(dijkstra.one_to_one(&flight.from, at).time_ms());
                    let on = i64::from(dijkstra.one_to_one(at, &exit).time_ms());
                    ((to + on - i64::from(to_exit)).abs() <= 2).then_some(to)
                })
                .collect();
            assert!(
                on_the_way.contains(&(pass.at_ms - flight.escape_ms)),
                "seed {seed}: crossing {} passed at {} ms, not at one of its roads on the \
                 fastest way out ({on_the_way:?})",
                pass.site,
                pass.at_ms - flight.escape_ms
            );
        }
        for delay_min in [5.0, 30.0] {
            let mut state = base.clone();
            let config = ChaseConfig {
                report_delay_s: delay_min * 60.0,
                sightings: false,
                detection_delay_s: 30.0,
            };
            let outcome = chase(&mut state, &mut query, &flight, &config);
            assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
            let containment = state
                .containment(IncidentId(outcome.incident))
                .expect("the containment started");
            let staffed = |site: usize, dijkstra: &mut Dijkstra| -> Option<i64> {
                let held = containment.order_at(sites[site].at)?;
                let to: &Snapped = &sites[site].location;
                let ready = match &held.order.responder {
                    CrossingResponder::Unit(id) => {
                        let slot = scenario.units().iter().position(|u| u.id.as_str() == id)?;
                        let from = scenario.standby_points()[slot];
                        i64::from(dijkstra.one_to_one(&from, to).time_ms())
                    }
                    CrossingResponder::StationTeam(id) => {
                        let s = scenario.stations().iter().find(|s| s.id.as_str() == id)?;
                        let snap = SnapConfig {
                            limit_m: STATION_SNAP_M,
                        };
                        let from = graph.snap(s.location, &snap).ok()?;
                        i64::from(s.turnout_s) * 1000
                            + i64::from(dijkstra.one_to_one(&from, to).time_ms())
                    }
                    CrossingResponder::StaffedPost(_) => 120_000,
                };
                Some(held.ordered_ms + ready)
            };
            let expected = flight
                .passes
                .iter()
                .find(|p| staffed(p.site, &mut dijkstra).is_some_and(|t| t <= p.at_ms));
            assert_eq!(
                outcome.caught_at,
                expected.map(|p| p.site),
                "seed {seed}, delay {delay_min} min"
            );
            assert_eq!(containment.interception.is_some(), outcome.caught());
            match expected {
                Some(p) => {
                    caught += 1;
                    assert_eq!(outcome.at_ms, p.at_ms);
                }
                None => {
                    escaped += 1;
                    assert_eq!(outcome.escaped_at, Some(flight.exit));
                }
            }
        }
    }
    // Both ends of the decision were exercised.
    assert!(
        caught > 0 && escaped > 0,
        "caught {caught}, escaped {escaped}"
    );
}

#[test]
fn a_longer_report_delay_never_catches_more_in_the_inner_ring() {
    let sweep = sweep(world(), &config(356..376, DEFAULT_DELAYS_MIN.to_vec()));
    for sightings in [false, true] {
        let ring1: Vec<usize> = sweep
            .rows
            .iter()
            .filter(|r| r.sightings == sightings)
            .map(|r| r.caught_by_ring[0])
            .collect();
        assert!(
            ring1[0] > 0,
            "nobody caught in ring 1 even at once: {ring1:?}"
        );
        assert!(
            ring1.windows(2).all(|w| w[1] <= w[0]),
            "sightings {sightings}: ring-1 catches by delay {ring1:?}"
        );
    }
    // The sweep is paired: every row chases the same flights.
    assert!(sweep.rows.iter().all(|r| r.flights == sweep.flights));
    // Every flight ends caught at a ring or away through one.
    for r in &sweep.rows {
        let ends: usize = r.caught_by_ring.iter().chain(&r.escaped_by_ring).sum();
        assert_eq!(ends, r.flights, "{r:?}");
    }
    // The report draws both plots.
    let page = containment_html(&sweep);
    assert!(!page.contains("could not draw"));
    assert_eq!(page.matches("<svg").count(), 2);
    assert!(page.contains("ring by ring"));
}

#[test]
fn the_2020_replay_is_too_late_for_every_ring_on_the_way() {
    let replay = replay_2020(world(), 30.0).expect("the replay runs");
    // The car is at the border 41 minutes after the escape, the call 70:
    // nothing on its way can be held, and the plan says so.
    assert!(replay.flight.end_ms() - replay.flight.escape_ms < 70 * 60_000);
    for outcome in [&replay.without_sightings, &replay.with_sightings] {
        assert!(!outcome.caught());
        assert_eq!(outcome.escaped_at, Some(replay.flight.exit));
        assert_eq!(outcome.ring, 3);
        assert!(outcome.rings_at_start.iter().all(|r| !r.closed));
        assert!(!outcome.for_neighbours.is_empty());
    }
}

/// A car sent through the other road of a crossing that merges two (a
/// divided road's second carriageway, a lane beside it) passes that
/// crossing, at its time on that road.
#[test]
fn a_car_on_a_road_merged_into_a_crossing_passes_it() {
    let world = world();
    let scenario = world.scenario();
    let crossings = world.ring_crossings();
    let city = crossings
        .outline(ContainmentRing::City)
        .expect("the city boundary");
    let mut dijkstra = Dijkstra::new(scenario.router().graph());
    let mut query = RouteQuery::new(scenario.router());
    let core = LatLon::new(35.4950, 112.8450).expect("a place");
    let from = scenario
        .router()
        .graph()
        .snap(core, &scenario.incident_snap())
        .expect("on the road network");
    let mut tried = 0;
    let mut on_the_other_road = 0;
    for &s in &city.sites {
        let site = &crossings.sites()[s];
        let Some(other) = site
            .roads_at
            .iter()
            .find(|r| r.segment != site.location.segment)
        else {
            continue;
        };
        // Out through the other road, to another crossing of the city.
        let Some(&exit) = city.sites.iter().find(|&&e| e != s) else {
            continue;
        };
        let Some(flight) = Flight::plan(world, &mut query, core, 0, exit, Some(*other), 1.0) else {
            continue;
        };
        tried += 1;
        let pass = flight
            .passes
            .iter()
            .find(|p| p.site == s)
            .unwrap_or_else(|| panic!("crossing {s}: the car drove its other road and passed by"));
        let to_other = i64::from(dijkstra.one_to_one(&from, other).time_ms());
        let to_site = i64::from(dijkstra.one_to_one(&from, &site.location).time_ms());
        if pass.at_ms == to_other && to_other != to_site {
            on_the_other_road += 1;
        }
    }
    eprintln!(
        "{tried} crossings of the city boundary that merge two roads or more driven through \
         another road; {on_the_other_road} passed at that road's own time"
    );
    assert!(tried >= 3, "{tried} merged crossings tried");
    assert!(on_the_other_road >= 1);
}
