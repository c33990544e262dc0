//! The map's tiles on the Jincheng scenario, decoded with mvt-reader: roads
//! and zone borders meet across tile edges, with no seam and no gap.

mod common;

use std::collections::BTreeMap;

use kuaifan_engine::{TileId, TileMaker};
use mvt_reader::Reader;

/// The tile holding the city centre (35.4957 N, 112.8521 E) at zoom `z`.
fn centre(z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let (lat, lon) = (35.4957_f64.to_radians(), 112.8521_f64);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    (x, y)
}

type Segment = [[i64; 2]; 2];

/// The line segments of a layer's features, by the feature's `class` or
/// `id`, in the tile's units shifted by `offset`.
fn segments(
    maker: &TileMaker,
    id: TileId,
    layer: &str,
    offset: [i64; 2],
) -> BTreeMap<String, Vec<Segment>> {
    let reader = Reader::new(maker.make(id)).expect("a valid tile");
    let mut out: BTreeMap<String, Vec<Segment>> = BTreeMap::new();
    let names = reader.get_layer_names().expect("layer names");
    let Some(index) = names.iter().position(|n| n == layer) else {
        return out;
    };
    for feature in reader.get_features(index).expect("features") {
        let properties = feature.properties.as_ref().expect("tags");
        let key = ["class", "id"]
            .iter()
            .find_map(|k| properties.get(*k))
            .map(|v| format!("{v:?}"))
            .expect("a class or an id");
        let lines = match &feature.geometry {
            geo::Geometry::MultiLineString(m) => m.0.clone(),
            geo::Geometry::LineString(l) => vec![l.clone()],
            other => panic!("{layer} holds lines: {other:?}"),
        };
        let entry = out.entry(key).or_default();
        for line in lines {
            for w in line.0.windows(2) {
                let p = |c: geo::Coord<f32>| [c.x as i64 + offset[0], c.y as i64 + offset[1]];
                entry.push([p(w[0]), p(w[1])]);
            }
        }
    }
    out
}

/// Where the segment crosses the line `axis = at`, along the other axis;
/// none if it does not.
fn crossing(s: Segment, axis: usize, at: i64) -> Option<f64> {
    let (a, b) = (s[0], s[1]);
    if a[axis].min(b[axis]) >= at || a[axis].max(b[axis]) < at {
        return None;
    }
    let other = 1 - axis;
    let t = (at - a[axis]) as f64 / (b[axis] - a[axis]) as f64;
    Some(a[other] as f64 + t * (b[other] - a[other]) as f64)
}

#[test]
fn roads_and_zone_borders_crossing_a_tile_edge_are_drawn_alike_in_both_tiles() {
    let world = common::jincheng_world();
    let maker = TileMaker::new(world.scenario());
    let extent = 4096;
    let mut crossings = 0;
    for z in [12, 14, 15] {
        let (cx, cy) = centre(z);
        for (x, y) in [(cx - 1, cy), (cx, cy), (cx, cy - 1)] {
            let here = TileId::new(z, x, y).unwrap();
            // The east neighbour's units are this tile's less the extent;
            // the south neighbour's likewise in y.
            for (east, shift) in [(true, [extent, 0]), (false, [0, extent])] {
                let there = if east {
                    TileId::new(z, x + 1, y).unwrap()
                } else {
                    TileId::new(z, x, y + 1).unwrap()
                };
                for layer in ["roads", "zone_borders"] {
                    let mine = segments(&maker, here, layer, [0, 0]);
                    let theirs = segments(&maker, there, layer, shift);
                    let axis = usize::from(!east);
                    for (key, drawn) in &mine {
                        for at in drawn.iter().filter_map(|s| crossing(*s, axis, extent)) {
                            crossings += 1;
                            // Cut at different buffer edges and placed on
                            // different grids, the two may differ by a unit
                            // or two where they cross.
                            let found = theirs.get(key).is_some_and(|t| {
                                t.iter()
                                    .filter_map(|s| crossing(*s, axis, extent))
                                    .any(|there| (there - at).abs() <= 2.0)
                            });
                            assert!(
                                found,
                                "{layer} {key} crosses the edge of {z}/{x}/{y} at {at} \
                                 and not in {}/{}/{}",
                                there.z(),
                                there.x(),
                                there.y()
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(crossings > 50, "only {crossings} segments cross the edges");
}
