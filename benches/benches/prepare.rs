//! Loading and preparing whole maps, and the prepared-graph cache.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kuaifan_benches::{GRID_SIDE, SEED, grid, grid_city, shared_map};
use kuaifan_engine::{OsmRoads, PrepareConfig, Profile, RoadGraph, Router};

fn prepare(c: &mut Criterion) {
    let mut group = c.benchmark_group("prepare");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    let malta = shared_map("malta.osm.pbf");
    group.bench_function("malta_load_and_prepare", |b| {
        b.iter(|| {
            let roads = OsmRoads::read(&malta, &Profile::default()).expect("Malta reads");
            let graph = RoadGraph::build(roads).expect("Malta builds");
            black_box(Router::prepare(graph, &PrepareConfig::default()))
        })
    });
    group.bench_function("grid300k_build_and_prepare", |b| {
        b.iter_with_setup(
            || grid_city(GRID_SIDE, SEED),
            |roads| {
                let graph = RoadGraph::build(roads).expect("the grid builds");
                black_box(Router::prepare(graph, &PrepareConfig::default()))
            },
        )
    });
    let router = grid();
    let mut bytes = Vec::new();
    router.save(1, &mut bytes).expect("saves to memory");
    let path = std::env::temp_dir().join("kuaifan-bench-grid.kfcache");
    group.bench_function("grid300k_cache_save", |b| {
        b.iter(|| {
            let mut file =
                std::io::BufWriter::new(std::fs::File::create(&path).expect("temp file"));
            router.save(1, &mut file).expect("saves")
        })
    });
    group.bench_function("grid300k_cache_load", |b| {
        b.iter(|| {
            let mut file = std::io::BufReader::new(std::fs::File::open(&path).expect("temp file"));
            black_box(Router::load(1, &mut file).expect("loads"))
        })
    });
    group.finish();
    println!("grid300k cache file: {:.1} MB", bytes.len() as f64 / 1e6);
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, prepare);
criterion_main!(benches);
