//! The dispatcher's question on the Jincheng scenario: what to send to an
//! incident in the urban core, with the 39 units at their standby points.
//! P3 asks for one unit; P1 for handle, two support and a unit at every
//! exit of the zone. `coverage` prices departures with a stand-in (the
//! slot number), `coverage-map` with the live coverage map, as the server
//! does. After criterion, a plain loop prints p50/p99/max of single calls
//! with the map, because the P1 target is also a p99.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kuaifan_engine::{
    DispatchConfig, DispatchState, LatLon, Policy, Priority, RouteQuery, Scenario,
    ScenarioOverrides, World, jincheng,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn setup() -> (Arc<World>, DispatchState, Vec<LatLon>) {
    let scenario = Scenario::from_source(&jincheng(), &ScenarioOverrides::default(), &mut |_| {})
        .expect("the built-in scenario loads");
    let world = Arc::new(World::from_scenario(scenario, DispatchConfig::default()));
    let mut query = RouteQuery::new(world.scenario().router());
    let state = DispatchState::new(world.clone(), &mut query);
    let mut rng = ChaCha8Rng::seed_from_u64(kuaifan_benches::SEED);
    let incidents = (0..512)
        .map(|_| {
            LatLon::new(
                rng.random_range(35.44..35.54),
                rng.random_range(112.77..112.93),
            )
            .expect("valid")
        })
        .collect();
    (world, state, incidents)
}

fn recommend(c: &mut Criterion) {
    let (world, state, incidents) = setup();
    let mut query = RouteQuery::new(world.scenario().router());
    let mut group = c.benchmark_group("recommend/jincheng");
    for priority in [Priority::P3, Priority::P2, Priority::P1] {
        let mut i = 0;
        group.bench_function(BenchmarkId::new("coverage", format!("{priority}")), |b| {
            b.iter(|| {
                i = (i + 1) % incidents.len();
                let r = state.recommend_with(
                    &mut query,
                    black_box(incidents[i]),
                    priority,
                    0,
                    Policy::Coverage,
                    &|sent: &[usize]| sent.iter().sum::<usize>() as f64,
                );
                black_box(r.map(|r| r.candidates.len()).unwrap_or(0))
            })
        });
        let mut i = 0;
        group.bench_function(
            BenchmarkId::new("coverage-map", format!("{priority}")),
            |b| {
                b.iter(|| {
                    i = (i + 1) % incidents.len();
                    let r = state.recommend(
                        &mut query,
                        black_box(incidents[i]),
                        priority,
                        0,
                        Policy::Coverage,
                    );
                    black_box(r.map(|r| r.candidates.len()).unwrap_or(0))
                })
            },
        );
    }
    group.finish();

    // Percentiles of single calls, with the map.
    for priority in [Priority::P3, Priority::P1] {
        let mut times: Vec<f64> = (0..20_000)
            .map(|k| {
                let at = incidents[k % incidents.len()];
                let start = Instant::now();
                let r = state.recommend(&mut query, at, priority, 0, Policy::Coverage);
                black_box(&r);
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let q = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
        println!(
            "recommend/jincheng/{priority} single calls: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
            q(0.5),
            q(0.99),
            q(1.0)
        );
    }
}

criterion_group!(benches, recommend);
criterion_main!(benches);
