//! 39 units → 1 incident: the dispatcher's question. The contraction
//! hierarchy with cached unit search spaces beside plain Dijkstra.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kuaifan_benches::{SEED, locations, maps};
use kuaifan_engine::{Dijkstra, RouteQuery, SourceSet};

fn many_to_one(c: &mut Criterion) {
    for (name, router) in maps() {
        let mut group = c.benchmark_group(format!("many_to_one/{name}"));
        let incidents = locations(router, 256, SEED);
        let units = locations(router, 100, SEED + 1);
        let mut query = RouteQuery::new(router);
        for count in [10, 39, 100] {
            let mut spaces = SourceSet::new();
            for (slot, u) in units[..count].iter().enumerate() {
                spaces.set(slot, query.source_space(u));
            }
            let mut i = 0;
            group.bench_with_input(BenchmarkId::new("ch", count), &spaces, |b, spaces| {
                b.iter(|| {
                    i = (i + 1) % incidents.len();
                    black_box(query.many_to_one(spaces, black_box(&incidents[i])).len())
                })
            });
        }
        let mut reference = Dijkstra::new(router.graph());
        let mut i = 0;
        group.bench_function(BenchmarkId::new("dijkstra", 39), |b| {
            b.iter(|| {
                i = (i + 1) % incidents.len();
                black_box(reference.many_to_one(&units[..39], black_box(&incidents[i])))
            })
        });
        // Refreshing one unit's cached space after it moved.
        let mut i = 0;
        group.bench_function("source_space", |b| {
            b.iter(|| {
                i = (i + 1) % units.len();
                black_box(query.source_space(black_box(&units[i])).len())
            })
        });
        group.finish();
    }
}

criterion_group!(benches, many_to_one);
criterion_main!(benches);
