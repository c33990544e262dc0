//! The map console's vector tiles on the Jincheng scenario: making one
//! tile (no store) at the zooms a dispatcher uses, from the whole city
//! (zoom 9) to a street (zoom 15), and a tile answered from the store.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kuaifan_benches::jincheng_scenario;
use kuaifan_engine::{TileId, TileMaker};

/// The tile holding the city centre (35.4957 N, 112.8521 E) at zoom `z`.
fn centre(z: u32) -> TileId {
    let n = f64::from(1u32 << z);
    let (lat, lon) = (35.4957_f64.to_radians(), 112.8521_f64);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    TileId::new(z, x, y).expect("a tile of the grid")
}

fn tiles(c: &mut Criterion) {
    let scenario = jincheng_scenario();
    let maker = TileMaker::new(scenario);
    let mut group = c.benchmark_group("tiles/jincheng");
    for z in [9, 12, 14, 15] {
        let id = centre(z);
        eprintln!(
            "zoom {z}: tile {}/{}/{} is {} bytes",
            id.z(),
            id.x(),
            id.y(),
            maker.make(id).len()
        );
        group.bench_function(format!("make_z{z}"), |b| {
            b.iter(|| black_box(maker.make(black_box(id))))
        });
    }
    let id = centre(14);
    maker.tile(id);
    group.bench_function("stored_z14", |b| {
        b.iter(|| black_box(maker.tile(black_box(id))))
    });
    group.bench_function("new", |b| b.iter(|| black_box(TileMaker::new(scenario))));
    group.finish();
}

criterion_group!(benches, tiles);
criterion_main!(benches);
