//! The live coverage map on Jincheng (39 units, 34 zones, H3 resolution 9):
//! one unit's update beside the full recomputation it replaces, the
//! readouts, and a snapshot.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kuaifan_benches::{SEED, jincheng_scenario};
use kuaifan_engine::{CoverageConfig, CoverageMap, RouteQuery, Snapped};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn coverage(c: &mut Criterion) {
    let scenario = jincheng_scenario();
    let mut query = RouteQuery::new(scenario.router());
    let mut map = CoverageMap::new(scenario, &CoverageConfig::default()).expect("Jincheng tiles");
    let standby: Vec<(usize, Option<Snapped>)> = scenario
        .standby_points()
        .iter()
        .map(|p| Some(*p))
        .enumerate()
        .collect();
    map.recompute_all(&mut query, &standby).expect("39 slots");
    let units = map.slots();
    // Random places in the core: the on-road centres of random cells.
    let centres: Vec<Snapped> = map.cells().iter().filter_map(|c| c.snapped).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let moves: Vec<(usize, Snapped)> = (0..256)
        .map(|_| {
            (
                rng.random_range(0..units),
                centres[rng.random_range(0..centres.len())],
            )
        })
        .collect();

    let mut group = c.benchmark_group("coverage/jincheng");
    let mut i = 0;
    group.bench_function(BenchmarkId::new("set_unit", units), |b| {
        b.iter(|| {
            i = (i + 1) % moves.len();
            let (slot, at) = &moves[i];
            map.set_unit(&mut query, *slot, Some(black_box(at)))
                .expect("a known slot");
        })
    });
    map.recompute_all(&mut query, &standby).expect("39 slots");
    // A unit reporting from within the refresh distance: the 1 Hz case.
    let mut i = 0;
    group.bench_function(BenchmarkId::new("report_unit_skipped", units), |b| {
        b.iter(|| {
            i = (i + 1) % units;
            map.report_unit(
                &mut query,
                i,
                Some(black_box(&standby[i].1.expect("standby"))),
            )
            .expect("a known slot")
        })
    });
    group.bench_function(BenchmarkId::new("recompute_all", units), |b| {
        b.iter(|| {
            map.recompute_all(&mut query, black_box(&standby))
                .expect("39 slots")
        })
    });
    group.bench_function("share_within", |b| {
        b.iter(|| black_box(map.share_within(black_box(180))))
    });
    group.bench_function("loss_without", |b| {
        let mut slot = 0;
        b.iter(|| {
            slot = (slot + 1) % units;
            black_box(map.loss_without(black_box(slot), 180))
        })
    });
    group.bench_function("gaps", |b| b.iter(|| black_box(map.gaps(black_box(60)))));
    group.bench_function("snapshot_clone", |b| b.iter(|| black_box(map.clone())));
    group.finish();
}

criterion_group!(benches, coverage);
criterion_main!(benches);
