//! Finding the exits of every patrol zone of Jincheng: the R-tree search
//! beside the scan of every segment against every boundary edge.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kuaifan_benches::jincheng;
use kuaifan_engine::{ExitConfig, ZoneExits, Zones};

fn zone_exits(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/jincheng/zones.geojson");
    let text = std::fs::read_to_string(&path).expect("the Jincheng zones are committed");
    let zones = Zones::from_geojson_str(&text).expect("the Jincheng zones load");
    let graph = jincheng().graph();
    let config = ExitConfig::default();
    let exits = ZoneExits::find(&zones, graph, &config);
    println!(
        "jincheng: {} exits in {} zones, {} segments",
        exits.exit_count(),
        exits.zone_count(),
        graph.segments().len()
    );

    let mut group = c.benchmark_group("zone_exits");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("rtree/jincheng", |b| {
        b.iter(|| black_box(ZoneExits::find(black_box(&zones), graph, &config)))
    });
    group.bench_function("scan/jincheng", |b| {
        b.iter(|| black_box(ZoneExits::find_by_scan(black_box(&zones), graph, &config)))
    });
    group.finish();
}

criterion_group!(benches, zone_exits);
criterion_main!(benches);
