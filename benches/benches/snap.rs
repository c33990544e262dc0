//! Snapping one location to the nearest road segment.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kuaifan_benches::{SEED, maps, points};
use kuaifan_engine::SnapConfig;

fn snap(c: &mut Criterion) {
    let mut group = c.benchmark_group("snap");
    for (name, router) in maps() {
        let points = points(router, 1024, SEED);
        // Far points are answered too (as errors), at the same cost.
        let config = SnapConfig {
            limit_m: f64::INFINITY,
        };
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % points.len();
                black_box(router.graph().snap(black_box(points[i]), &config).ok())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, snap);
criterion_main!(benches);
