//! 1 unit → many checkpoints, beside plain Dijkstra: targets given ad hoc,
//! and fixed targets with cached search spaces.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kuaifan_benches::{SEED, locations, maps};
use kuaifan_engine::{Dijkstra, RouteQuery, TargetSet};

fn one_to_many(c: &mut Criterion) {
    for (name, router) in maps() {
        let mut group = c.benchmark_group(format!("one_to_many/{name}"));
        let units = locations(router, 256, SEED);
        let checkpoints = locations(router, 200, SEED + 2);
        let mut query = RouteQuery::new(router);
        for count in [50, 200] {
            let mut i = 0;
            group.bench_with_input(
                BenchmarkId::new("ch", count),
                &checkpoints[..count],
                |b, targets| {
                    b.iter(|| {
                        i = (i + 1) % units.len();
                        black_box(query.one_to_many(black_box(&units[i]), targets).len())
                    })
                },
            );
        }
        let mut cached = TargetSet::new();
        for (slot, t) in checkpoints.iter().enumerate() {
            cached.set(slot, query.target_space(t));
        }
        let mut i = 0;
        group.bench_function(BenchmarkId::new("ch_cached_targets", 200), |b| {
            b.iter(|| {
                i = (i + 1) % units.len();
                black_box(query.one_to_targets(black_box(&units[i]), &cached).len())
            })
        });
        let mut reference = Dijkstra::new(router.graph());
        let mut i = 0;
        group.bench_function(BenchmarkId::new("dijkstra", 200), |b| {
            b.iter(|| {
                i = (i + 1) % units.len();
                black_box(reference.one_to_many(black_box(&units[i]), &checkpoints))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, one_to_many);
criterion_main!(benches);
