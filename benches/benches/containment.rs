//! Containment on Jincheng: a full plan (three rings, every crossing, 39
//! units from their cached search spaces and every station team) beside
//! the same plan with plain Dijkstra road times, in one group so the
//! speed-up is a ratio measured in one run; a re-plan after a sighting; a
//! lockdown of the urban core; and the suspect's possible area (the H3
//! resolution-8 cells reached) beside a whole-graph Dijkstra.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kuaifan_benches::{jincheng_scenario, locations};
use kuaifan_engine::{
    CheckpointsConfig, ContainmentRing, Dijkstra, FastTimes, Origin, PlanConfig, PlanRequest,
    PreparedRings, ReferenceTimes, Responders, RouteQuery, Sighting, SourceSpace, StationResponder,
    Suspect, UnitResponder, plan, possible_area, possible_area_reference, ring1_for,
};

const NOW: u64 = 1_800_000_000_000;

fn containment(c: &mut Criterion) {
    let scenario = jincheng_scenario();
    let router = scenario.router();
    let graph = router.graph();
    let rings = PreparedRings::new(scenario, &CheckpointsConfig::default());
    let mut query = RouteQuery::new(router);
    // The units' spaces, cached as the dispatch state keeps them.
    let unit_spaces: Vec<SourceSpace> = scenario
        .standby_points()
        .iter()
        .map(|at| query.source_space(at))
        .collect();
    let responders = Responders {
        units: unit_spaces
            .iter()
            .enumerate()
            .map(|(unit, space)| UnitResponder {
                unit,
                from: Origin::Cached(space),
                holds: None,
            })
            .collect(),
        stations: scenario
            .stations()
            .iter()
            .enumerate()
            .filter_map(|(station, s)| {
                Some(StationResponder {
                    station,
                    from: Origin::Cached(rings.station_space(station)?),
                    teams: s.teams,
                    turnout_ms: u64::from(s.turnout_s) * 1000,
                })
            })
            .collect(),
        fixed: Vec::new(),
        new_units_allowed: None,
    };
    // An incident in the core, the suspect 5 minutes ahead.
    let incident = locations(router, 400, 14)
        .into_iter()
        .find(|s| ring1_for(scenario.rings(), s.point) == Some(ContainmentRing::Core))
        .expect("a place in the core");
    let suspect = Suspect {
        from: incident,
        escape_ms: NOW - 300_000,
        speed_factor: 1.0,
        sighting: None,
    };
    let request = PlanRequest::Suspect {
        ring1: ContainmentRing::Core,
        suspect,
        now_ms: NOW,
    };
    // Seen 4 minutes ago somewhere the escape explains.
    let seen = locations(router, 50, 15)
        .into_iter()
        .find(|p| {
            u64::from(query.one_to_one(&incident, p).time_ms()) <= 60_000
                && ring1_for(scenario.rings(), p.point).is_some()
        })
        .unwrap_or(incident);
    let sighted = Suspect {
        sighting: Some(Sighting {
            at: seen,
            time_ms: NOW - 240_000,
        }),
        ..suspect
    };
    let sighted_request = PlanRequest::Suspect {
        ring1: ContainmentRing::Core,
        suspect: sighted,
        now_ms: NOW,
    };
    let lockdown = PlanRequest::Lockdown {
        ring: ContainmentRing::Core,
        now_ms: NOW,
    };
    let config = PlanConfig::default();
    let sites: Vec<_> = rings
        .crossings()
        .sites()
        .iter()
        .map(|s| s.location)
        .collect();
    let first = plan(
        rings.crossings(),
        scenario.rings(),
        &request,
        &responders,
        &config,
        &mut FastTimes {
            query: &mut query,
            targets: rings.targets(),
        },
    );
    let in_play = first.sites().count();
    let held = first.sites().filter(|c| c.holder.is_some()).count();
    println!(
        "jincheng: {in_play} crossings in play (of {} sites), {held} held in time, innermost ring closed: {:?}; {} units, {} stations ({} teams)",
        sites.len(),
        first.innermost_closed,
        responders.units.len(),
        responders.stations.len(),
        responders.stations.iter().map(|s| s.teams).sum::<u32>(),
    );

    let mut group = c.benchmark_group("containment_plan");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    let mut run =
        |name: &str,
         request: &PlanRequest,
         group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>| {
            group.bench_function(name, |b| {
                b.iter(|| {
                    let mut times = FastTimes {
                        query: &mut query,
                        targets: rings.targets(),
                    };
                    black_box(plan(
                        rings.crossings(),
                        scenario.rings(),
                        black_box(request),
                        &responders,
                        &config,
                        &mut times,
                    ))
                })
            });
        };
    run("cached/full_plan", &request, &mut group);
    run("cached/replan_after_sighting", &sighted_request, &mut group);
    run("cached/lockdown_core", &lockdown, &mut group);
    group.bench_function("dijkstra/full_plan", |b| {
        let mut times = ReferenceTimes {
            dijkstra: Dijkstra::new(graph),
            sites: sites.clone(),
        };
        b.iter(|| {
            black_box(plan(
                rings.crossings(),
                scenario.rings(),
                black_box(&request),
                &responders,
                &config,
                &mut times,
            ))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("containment_possible_area");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    let half_hour = Suspect {
        escape_ms: NOW - 1_800_000,
        ..suspect
    };
    let cells = rings.node_cells();
    println!(
        "possible area after 30 min: {} of {} resolution-8 cells with a road",
        possible_area(cells, &mut query, &half_hour, NOW).len(),
        cells.cell_count()
    );
    group.bench_function("sweep/30_min", |b| {
        b.iter(|| black_box(possible_area(cells, &mut query, black_box(&half_hour), NOW)))
    });
    group.bench_function("sweep/sighting", |b| {
        b.iter(|| black_box(possible_area(cells, &mut query, black_box(&sighted), NOW)))
    });
    group.bench_function("dijkstra/30_min", |b| {
        let mut dijkstra = Dijkstra::new(graph);
        b.iter(|| {
            black_box(possible_area_reference(
                cells,
                &mut dijkstra,
                black_box(&half_hour),
                NOW,
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, containment);
criterion_main!(benches);
