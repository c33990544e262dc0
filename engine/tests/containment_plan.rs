//! Containment plans on Jincheng: the fast plan equals the one computed
//! with plain Dijkstra for fixed seeds, its invariants hold, sightings
//! and head starts move it the way they must, and the suspect's possible
//! area equals a whole-graph Dijkstra's.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use kuaifan_engine::{
    CheckpointsConfig, ContainmentRing, Dijkstra, FastTimes, Holder, Origin, Plan, PlanConfig,
    PlanRequest, PreparedRings, ReferenceTimes, Responders, RouteQuery, Scenario,
    ScenarioOverrides, Sighting, Snapped, StationResponder, Suspect, UnitResponder, Verdict, plan,
    possible_area, possible_area_reference, ring1_for,
};

struct Fixture {
    scenario: Scenario,
    rings: PreparedRings,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let scenario = Scenario::from_source(
            &kuaifan_engine::jincheng(),
            &ScenarioOverrides::default(),
            &mut |_| {},
        )
        .expect("the built-in scenario loads");
        let rings = PreparedRings::new(&scenario, &CheckpointsConfig::default());
        Fixture { scenario, rings }
    })
}

/// Every unit at its standby point, every station with all its teams.
fn responders(f: &Fixture) -> Responders<'_> {
    Responders {
        units: f
            .scenario
            .standby_points()
            .iter()
            .enumerate()
            .map(|(unit, &at)| UnitResponder {
                unit,
                from: Origin::Place(at),
                holds: None,
            })
            .collect(),
        stations: f
            .scenario
            .stations()
            .iter()
            .enumerate()
            .filter_map(|(station, s)| {
                Some(StationResponder {
                    station,
                    from: Origin::Cached(f.rings.station_space(station)?),
                    teams: s.teams,
                    turnout_ms: u64::from(s.turnout_s) * 1000,
                })
            })
            .collect(),
        fixed: Vec::new(),
        new_units_allowed: None,
    }
}

fn fast(f: &Fixture, request: &PlanRequest, responders: &Responders<'_>) -> Plan {
    let mut query = RouteQuery::new(f.scenario.router());
    let mut times = FastTimes {
        query: &mut query,
        targets: f.rings.targets(),
    };
    plan(
        f.rings.crossings(),
        f.scenario.rings(),
        request,
        responders,
        &PlanConfig::default(),
        &mut times,
    )
}

fn reference(f: &Fixture, request: &PlanRequest, responders: &Responders<'_>) -> Plan {
    let mut times = ReferenceTimes {
        dijkstra: Dijkstra::new(f.scenario.router().graph()),
        sites: f
            .rings
            .crossings()
            .sites()
            .iter()
            .map(|s| s.location)
            .collect(),
    };
    plan(
        f.rings.crossings(),
        f.scenario.rings(),
        request,
        responders,
        &PlanConfig::default(),
        &mut times,
    )
}

/// Incidents inside the city, each with its ring 1, from a fixed seed.
fn incidents(f: &Fixture, count: usize, seed: u64) -> Vec<(Snapped, ContainmentRing)> {
    common::random_locations(f.scenario.router(), count * 4, seed)
        .into_iter()
        .filter_map(|s| ring1_for(f.scenario.rings(), s.point).map(|r| (s, r)))
        .take(count)
        .collect()
}

const NOW: u64 = 1_800_000_000_000;

fn suspect_request(
    incident: Snapped,
    ring1: ContainmentRing,
    head_start_s: u64,
    sighting: Option<Sighting>,
) -> PlanRequest {
    PlanRequest::Suspect {
        ring1,
        suspect: Suspect {
            from: incident,
            escape_ms: NOW - head_start_s * 1000,
            speed_factor: 1.0,
            sighting,
        },
        now_ms: NOW,
    }
}

/// The plan's own figures are consistent: every crossing closed in time
/// has its responder there a margin before the suspect; a site on two
/// rings has one holder; no unit holds two crossings nor a station more
/// than its teams; a closed ring has every crossing closed in time (or out
/// of the suspect's reach); verdicts follow the times.
fn check_invariants(p: &Plan, responders: &Responders<'_>) {
    let margin = PlanConfig::default().safety_margin_ms;
    let mut by_site = HashMap::new();
    for ring in &p.rings {
        for c in &ring.crossings {
            if let Some((_, at)) = c.holder {
                if let Some(s) = c.suspect_ms {
                    assert!(at + margin <= s, "site {}: {at} + margin after {s}", c.site);
                }
                assert!(at >= NOW, "nobody arrives before now");
            }
            let again = by_site.insert(c.site, c.holder);
            assert!(
                again.is_none_or(|h| h == c.holder),
                "site {} held twice",
                c.site
            );
            match c.verdict {
                Verdict::ClosedInTime => assert!(c.holder.is_some()),
                Verdict::AlreadyPassed => assert!(c.suspect_ms.is_some_and(|s| s <= NOW)),
                Verdict::TooLate => assert!(c.suspect_ms.is_some_and(|s| s > NOW)),
                Verdict::Unheld | Verdict::OutOfReach => assert!(c.holder.is_none()),
            }
            if ring.closed {
                assert!(matches!(
                    c.verdict,
                    Verdict::ClosedInTime | Verdict::OutOfReach
                ));
            }
        }
    }
    let mut units = HashSet::new();
    let mut teams: HashMap<usize, u32> = HashMap::new();
    for (holder, _) in by_site.values().flatten() {
        match holder {
            Holder::Unit(u) => assert!(units.insert(*u), "unit {u} holds two crossings"),
            Holder::StationTeam(s) => *teams.entry(*s).or_default() += 1,
            Holder::StaffedPost(_) => {}
        }
    }
    for (station, used) in teams {
        let available = responders
            .stations
            .iter()
            .find(|s| s.station == station)
            .map_or(0, |s| s.teams);
        assert!(
            used <= available,
            "station {station}: {used} teams of {available}"
        );
    }
    assert_eq!(
        p.innermost_closed,
        p.rings.iter().find(|r| r.closed).map(|r| r.ring)
    );
    let latest = p.sites().filter_map(|c| c.holder.map(|h| h.1)).max();
    assert_eq!(p.latest_arrival_ms, latest);
}

#[test]
fn plans_equal_the_plain_dijkstra_plan_for_fixed_seeds() {
    let f = fixture();
    let r = responders(f);
    let mut rings_closed = 0;
    for (k, (incident, ring1)) in incidents(f, 4, 14).into_iter().enumerate() {
        for head_start_s in [0, 900] {
            let request = suspect_request(incident, ring1, head_start_s, None);
            let p = fast(f, &request, &r);
            check_invariants(&p, &r);
            rings_closed += p.rings.iter().filter(|x| x.closed).count();
            assert_eq!(
                p,
                reference(f, &request, &r),
                "incident {k}, head start {head_start_s} s"
            );
        }
    }
    // The cases are not all trivially open.
    assert!(rings_closed > 0);
}

#[test]
fn a_head_start_never_moves_the_innermost_closed_ring_inwards() {
    let f = fixture();
    let r = responders(f);
    let level = |p: &Plan| p.rings.iter().position(|x| x.closed).unwrap_or(usize::MAX);
    for (incident, ring1) in incidents(f, 6, 7) {
        let mut last = 0;
        for head_start_s in [0, 120, 300, 900, 3600] {
            let p = fast(f, &suspect_request(incident, ring1, head_start_s, None), &r);
            check_invariants(&p, &r);
            assert!(level(&p) >= last, "head start {head_start_s} s");
            last = level(&p);
        }
        // An hour out, ring 1 is long passed.
        let late = fast(f, &suspect_request(incident, ring1, 3600, None), &r);
        assert!(!late.rings[0].closed);
        assert!(
            late.rings[0]
                .crossings
                .iter()
                .any(|c| c.verdict == Verdict::AlreadyPassed)
        );
    }
}

#[test]
fn a_sighting_counts_from_there_and_never_makes_the_suspect_earlier() {
    let f = fixture();
    let r = responders(f);
    let mut query = RouteQuery::new(f.scenario.router());
    let places = common::random_locations(f.scenario.router(), 4, 99);
    for (incident, ring1) in incidents(f, 3, 21) {
        let without = fast(f, &suspect_request(incident, ring1, 600, None), &r);
        for place in &places {
            // The earliest the suspect could have been seen there, later,
            // and earlier than the car's speeds explain.
            let drive = u64::from(query.one_to_one(&incident, place).time_ms());
            let escape_ms = NOW - 600_000;
            for seen_ms in [
                escape_ms + drive,
                escape_ms + drive + 120_000,
                escape_ms + drive / 2,
            ] {
                let sighting = Sighting {
                    at: *place,
                    time_ms: seen_ms,
                };
                let with = fast(
                    f,
                    &suspect_request(incident, ring1, 600, Some(sighting)),
                    &r,
                );
                check_invariants(&with, &r);
                for (a, b) in without.sites().zip(with.sites()) {
                    assert_eq!(a.site, b.site);
                    if let (Some(x), Some(y)) = (a.suspect_ms, b.suspect_ms) {
                        assert!(y >= x, "site {}: {y} before {x}", a.site);
                    }
                }
                if seen_ms >= escape_ms + drive {
                    // A sighting the speeds explain: the same plan as a
                    // suspect leaving from there then.
                    let from_there = PlanRequest::Suspect {
                        ring1,
                        suspect: Suspect {
                            from: *place,
                            escape_ms: seen_ms,
                            speed_factor: 1.0,
                            sighting: None,
                        },
                        now_ms: NOW,
                    };
                    assert_eq!(with, fast(f, &from_there, &r));
                }
            }
        }
    }
}

#[test]
fn a_sighting_plan_equals_the_plain_dijkstra_plan() {
    let f = fixture();
    let r = responders(f);
    let (incident, ring1) = incidents(f, 1, 5)[0];
    let place = common::random_locations(f.scenario.router(), 1, 6)[0];
    let request = suspect_request(
        incident,
        ring1,
        1200,
        Some(Sighting {
            at: place,
            time_ms: NOW - 300_000,
        }),
    );
    let p = fast(f, &request, &r);
    check_invariants(&p, &r);
    assert_eq!(p, reference(f, &request, &r));
}

#[test]
fn a_lockdown_holds_the_ring_as_fast_as_it_can_and_says_when() {
    let f = fixture();
    let r = responders(f);
    let slots = r.units.len() + r.stations.iter().map(|s| s.teams as usize).sum::<usize>();
    for ring in [
        ContainmentRing::Core,
        ContainmentRing::City,
        ContainmentRing::Border,
    ] {
        let request = PlanRequest::Lockdown { ring, now_ms: NOW };
        let p = fast(f, &request, &r);
        check_invariants(&p, &r);
        assert_eq!(p, reference(f, &request, &r), "{ring:?}");
        let crossings = &p.rings[0].crossings;
        let held = crossings.iter().filter(|c| c.holder.is_some()).count();
        if crossings.len() <= slots {
            assert_eq!(held, crossings.len(), "{ring:?}");
            assert!(p.rings[0].closed);
        }
        assert!(p.latest_arrival_ms.is_some_and(|t| t > NOW));
    }
}

#[test]
fn fewer_responders_never_close_more() {
    let f = fixture();
    let all = responders(f);
    let mut fewer = responders(f);
    fewer.units.truncate(10);
    for s in &mut fewer.stations {
        s.teams = s.teams.min(1);
    }
    for (incident, ring1) in incidents(f, 4, 31) {
        let request = suspect_request(incident, ring1, 300, None);
        let held = |p: &Plan| p.sites().filter(|c| c.holder.is_some()).count();
        let (a, b) = (fast(f, &request, &all), fast(f, &request, &fewer));
        check_invariants(&b, &fewer);
        assert!(held(&b) <= held(&a));
        let level = |p: &Plan| p.rings.iter().position(|x| x.closed).unwrap_or(usize::MAX);
        assert!(level(&b) >= level(&a));
    }
}

#[test]
fn the_possible_area_equals_a_whole_graph_dijkstra_and_grows_with_time() {
    let f = fixture();
    let router = f.scenario.router();
    let mut query = RouteQuery::new(router);
    let mut dijkstra = Dijkstra::new(router.graph());
    let cells = f.rings.node_cells();
    let places = common::random_locations(router, 3, 41);
    for (incident, _) in incidents(f, 3, 40) {
        let mut last = 0;
        for since_s in [0, 120, 600, 1800] {
            let suspect = Suspect {
                from: incident,
                escape_ms: NOW - since_s * 1000,
                speed_factor: 1.2,
                sighting: None,
            };
            let area = possible_area(cells, &mut query, &suspect, NOW);
            assert_eq!(
                area,
                possible_area_reference(cells, &mut dijkstra, &suspect, NOW)
            );
            assert!(area.len() >= last);
            last = area.len();
        }
        assert!(last > 1, "half an hour reaches more than one cell");
        // With sightings, explained by the speeds or not.
        for place in &places {
            let drive = u64::from(query.one_to_one(&incident, place).time_ms());
            for seen_after_ms in [drive, drive / 3] {
                let suspect = Suspect {
                    from: incident,
                    escape_ms: NOW - 1_800_000,
                    speed_factor: 1.0,
                    sighting: Some(Sighting {
                        at: *place,
                        time_ms: NOW - 1_800_000 + seen_after_ms.min(1_800_000),
                    }),
                };
                assert_eq!(
                    possible_area(cells, &mut query, &suspect, NOW),
                    possible_area_reference(cells, &mut dijkstra, &suspect, NOW)
                );
            }
        }
    }
}
