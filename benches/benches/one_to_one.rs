//! One location to another, with and without the route polyline.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kuaifan_benches::{SEED, locations, maps};
use kuaifan_engine::{Dijkstra, RouteQuery};

fn one_to_one(c: &mut Criterion) {
    for (name, router) in maps() {
        let mut group = c.benchmark_group(format!("one_to_one/{name}"));
        let from = locations(router, 256, SEED);
        let to = locations(router, 256, SEED + 3);
        let mut query = RouteQuery::new(router);
        let mut i = 0;
        group.bench_function("ch", |b| {
            b.iter(|| {
                i = (i + 1) % from.len();
                black_box(query.one_to_one(black_box(&from[i]), black_box(&to[i])))
            })
        });
        let mut i = 0;
        group.bench_function("ch_route", |b| {
            b.iter(|| {
                i = (i + 1) % from.len();
                black_box(
                    query
                        .route(black_box(&from[i]), black_box(&to[i]))
                        .map(|r| r.polyline.len()),
                )
            })
        });
        let mut reference = Dijkstra::new(router.graph());
        let mut i = 0;
        group.bench_function("dijkstra", |b| {
            b.iter(|| {
                i = (i + 1) % from.len();
                black_box(reference.one_to_one(black_box(&from[i]), black_box(&to[i])))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, one_to_one);
criterion_main!(benches);
