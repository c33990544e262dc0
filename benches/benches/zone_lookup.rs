//! Which zone holds a location: the H3 cell table (at several resolutions)
//! beside the exact R-tree test and a plain scan of every zone's polygon.
//! Locations are uniform in the box around the zones, so some fall outside
//! every zone, as incidents beyond the zoned area do.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kuaifan_benches::{SEED, county_zones, patrol_zones, points_in_zones_box};
use kuaifan_engine::{Resolution, ZoneIndex, ZoneIndexConfig};

fn zone_lookup(c: &mut Criterion) {
    let sets = [
        ("patrol_zones", patrol_zones(), &[8u8, 9, 10, 11][..]),
        ("counties", county_zones(), &[9u8][..]),
    ];
    for (name, zones, resolutions) in sets {
        let mut group = c.benchmark_group(format!("zone_lookup/{name}"));
        let points = points_in_zones_box(&zones, 4096, SEED);
        let mut index = None;
        for &r in resolutions {
            let resolution = Resolution::try_from(r).expect("a resolution");
            let config = ZoneIndexConfig {
                resolution,
                ..ZoneIndexConfig::default()
            };
            let built = ZoneIndex::build(&zones, &config).expect("the index builds");
            let mut i = 0;
            group.bench_function(BenchmarkId::new("zone_at", format!("res{r}")), |b| {
                b.iter(|| {
                    i = (i + 1) % points.len();
                    black_box(built.zone_at(black_box(points[i])))
                })
            });
            index = Some(built);
        }
        let index = index.expect("at least one resolution");
        let mut i = 0;
        group.bench_function("zone_at_exact", |b| {
            b.iter(|| {
                i = (i + 1) % points.len();
                black_box(index.zone_at_exact(black_box(points[i])))
            })
        });
        let mut i = 0;
        group.bench_function("linear_scan", |b| {
            b.iter(|| {
                i = (i + 1) % points.len();
                black_box(zones.zone_at(black_box(points[i])).map(|z| z.area_m2))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, zone_lookup);
criterion_main!(benches);
