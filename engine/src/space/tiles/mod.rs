//! The map's vector tiles (Mapbox Vector Tile 2.1): the road network from
//! kuaifan's own graph, the patrol zones, the containment rings, police
//! stations and checkpoints, so a console draws the city with no map server
//! of its own.
//!
//! [`TileMaker::new`] does the work a tile would otherwise repeat. It
//! projects everything once, joins each way's segments back into lines and
//! ranks every vertex of a road, zone or ring by the tolerance up to which
//! Douglas–Peucker keeps it (`simplify.rs`), and indexes the road lines as
//! pieces of a few segments in one R-tree per class (`road_lines.rs`).
//!
//! A tile then opens only the classes drawn at its zoom (motorways from
//! zoom 0, minor roads from 13) and the pieces near it, and keeps the
//! vertices whose rank exceeds its pixel: no simplification of its own,
//! and every tile draws the same simplified line, so roads meet across
//! tile edges. Zones and rings are simplified the same way, then cut to
//! the tile and its buffer (`clip.rs`, a rectangle, so no general polygon
//! overlay). All of it is written straight in MVT commands
//! (`mvt_geometry.rs`). Tiles are kept once made: the map does not change
//! while serving.

mod clip;
mod mercator;
mod mvt_geometry;
mod outlines;
mod road_lines;
mod simplify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use geo::{Coord, MapCoords, Rect};
use geozero::mvt::tile::GeomType;
use geozero::mvt::{Message, TagsBuilder, Tile, TileValue, tile};

pub use mercator::{InvalidTile, MAX_ZOOM, TileId, tile_size_m};

use mvt_geometry::MvtGeometry;
use outlines::Outline;
use road_lines::RoadLines;

use crate::road::class::RoadClass;
use crate::scenario::{RingShape, Scenario};

/// Tile coordinates per side, the MVT default.
pub const EXTENT: u32 = 4096;

/// Tile units drawn beyond each edge, so lines and outlines meet across
/// tiles without seams.
const BUFFER: f64 = 64.0;

/// Tiles kept before the store is emptied and refilled; a city at every
/// zoom a console uses is a few thousand.
const MAX_CACHED: usize = 16_384;

/// The first zoom at which a road class is drawn.
pub fn min_zoom(class: RoadClass) -> u8 {
    match class {
        RoadClass::Motorway | RoadClass::Trunk => 0,
        RoadClass::Primary => 7,
        RoadClass::Secondary => 9,
        RoadClass::Tertiary => 11,
        RoadClass::Minor => 13,
    }
}

/// The name a road class carries in the `roads` layer.
pub fn class_name(class: RoadClass) -> &'static str {
    match class {
        RoadClass::Motorway => "motorway",
        RoadClass::Trunk => "trunk",
        RoadClass::Primary => "primary",
        RoadClass::Secondary => "secondary",
        RoadClass::Tertiary => "tertiary",
        RoadClass::Minor => "minor",
    }
}

/// A point feature: a station or a checkpoint.
#[derive(Debug)]
struct Site {
    at: Coord<f64>,
    tags: Vec<(&'static str, TileValue)>,
}

/// Which part of the outlines a layer draws.
#[derive(Clone, Copy, Debug)]
enum Drawn {
    /// The areas, filled.
    Areas,
    /// The rings and lines, as lines.
    Lines,
}

/// Makes and keeps the tiles of one scenario.
#[derive(Debug)]
pub struct TileMaker {
    roads: RoadLines,
    zones: Vec<Outline>,
    rings: Vec<Outline>,
    stations: Vec<Site>,
    checkpoints: Vec<Site>,
    made: Mutex<HashMap<TileId, Arc<[u8]>>>,
}

impl TileMaker {
    /// Projects the scenario's roads, zones, rings, stations and
    /// checkpoints, ranks their vertices for simplification and indexes
    /// the roads.
    pub fn new(scenario: &Scenario) -> Self {
        let graph = scenario.router().graph();
        let nodes: Vec<Coord<f64>> = (0..graph.node_count() as u32)
            .map(|n| {
                let p = graph.position(n);
                mercator::project(Coord {
                    x: p.lon(),
                    y: p.lat(),
                })
            })
            .collect();
        let segments: Vec<[u32; 2]> = graph.segments().iter().map(|s| [s.a, s.b]).collect();
        let roads = RoadLines::new(&nodes, &segments, graph.segment_classes());

        let zones = scenario
            .zones()
            .iter()
            .map(|z| {
                Outline::area(
                    &z.geometry.map_coords(mercator::project),
                    vec![
                        ("id", TileValue::Str(z.id.to_string())),
                        ("name", TileValue::Str(z.name.clone())),
                    ],
                )
            })
            .collect();
        let rings = scenario
            .rings()
            .rings()
            .iter()
            .map(|r| {
                let tags = vec![
                    ("id", TileValue::Str(r.id.to_string())),
                    ("name", TileValue::Str(r.name.clone())),
                    ("level", TileValue::Uint(u64::from(r.level.number()))),
                ];
                match &r.shape {
                    RingShape::Area(a) => Outline::area(&a.map_coords(mercator::project), tags),
                    RingShape::Line(l) => Outline::lines(&l.map_coords(mercator::project), tags),
                }
            })
            .collect();
        let stations = scenario
            .stations()
            .iter()
            .map(|s| Site {
                at: mercator::project(Coord {
                    x: s.location.lon(),
                    y: s.location.lat(),
                }),
                tags: vec![
                    ("id", TileValue::Str(s.id.to_string())),
                    ("name", TileValue::Str(s.name.clone())),
                    ("kind", TileValue::Str(s.kind.to_string())),
                ],
            })
            .collect();
        let checkpoints = scenario
            .rings()
            .checkpoints()
            .iter()
            .map(|c| Site {
                at: mercator::project(Coord {
                    x: c.location.lon(),
                    y: c.location.lat(),
                }),
                tags: vec![
                    ("id", TileValue::Str(c.id.to_string())),
                    ("name", TileValue::Str(c.name.clone())),
                    ("kind", TileValue::Str(c.kind.to_string())),
                    ("ring", TileValue::Uint(u64::from(c.ring.number()))),
                    ("road", TileValue::Str(c.road.clone())),
                ],
            })
            .collect();
        Self {
            roads,
            zones,
            rings,
            stations,
            checkpoints,
            made: Mutex::new(HashMap::new()),
        }
    }

    /// The tile, made once and then kept.
    pub fn tile(&self, id: TileId) -> Arc<[u8]> {
        if let Some(bytes) = self.lock().get(&id) {
            return Arc::clone(bytes);
        }
        // Made outside the lock: two callers asking for the same new tile
        // at once both make it, and the second copy replaces the first.
        let bytes: Arc<[u8]> = self.make(id).into();
        let mut made = self.lock();
        if made.len() >= MAX_CACHED {
            made.clear();
        }
        made.insert(id, Arc::clone(&bytes));
        bytes
    }

    /// Tiles kept so far.
    pub fn cached(&self) -> usize {
        self.lock().len()
    }

    /// Makes the tile (encoded MVT), without the store.
    pub fn make(&self, id: TileId) -> Vec<u8> {
        let bounds = id.bounds();
        let pad = tile_size_m(id.z()) * BUFFER / f64::from(EXTENT);
        let padded = Rect::new(
            Coord {
                x: bounds.min().x - pad,
                y: bounds.min().y - pad,
            },
            Coord {
                x: bounds.max().x + pad,
                y: bounds.max().y + pad,
            },
        );
        // Detail finer than a pixel of the tile is not drawn.
        let pixel = tile_size_m(id.z()) / f64::from(EXTENT);
        let layers = [
            ("roads", self.road_features(id.z(), bounds, padded, pixel)),
            (
                "zones",
                outline_features(&self.zones, Drawn::Areas, bounds, padded, pixel),
            ),
            (
                "zone_borders",
                outline_features(&self.zones, Drawn::Lines, bounds, padded, pixel),
            ),
            (
                "rings",
                outline_features(&self.rings, Drawn::Lines, bounds, padded, pixel),
            ),
            ("stations", site_features(&self.stations, bounds, padded)),
            (
                "checkpoints",
                site_features(&self.checkpoints, bounds, padded),
            ),
        ];
        let tile = Tile {
            layers: layers
                .into_iter()
                .filter(|(_, (features, _))| !features.is_empty())
                .map(|(name, (features, tags))| {
                    let (keys, values) = tags.into_tags();
                    tile::Layer {
                        version: 2,
                        name: name.to_string(),
                        features,
                        keys,
                        values: values.into_iter().map(Into::into).collect(),
                        extent: Some(EXTENT),
                    }
                })
                .collect(),
        };
        tile.encode_to_vec()
    }

    /// One feature per road class drawn at this zoom: the class's lines
    /// near the tile, simplified to its pixel.
    fn road_features(
        &self,
        z: u8,
        bounds: Rect<f64>,
        padded: Rect<f64>,
        pixel: f64,
    ) -> (Vec<tile::Feature>, TagsBuilder) {
        let mut tags = TagsBuilder::new();
        let mut features = Vec::new();
        for class in RoadClass::ALL.iter().rev() {
            if min_zoom(*class) > z {
                continue;
            }
            let mut geometry = MvtGeometry::new(bounds, EXTENT);
            for stretch in self.roads.stretches(*class, padded, pixel) {
                geometry.line(self.roads.kept(stretch, pixel));
            }
            if let Some(mut feature) = geometry.into_feature(GeomType::Linestring) {
                let class = [("class", TileValue::Str(class_name(*class).to_string()))];
                tag(&mut feature, &class, &mut tags);
                features.push(feature);
            }
        }
        (features, tags)
    }
}

impl TileMaker {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TileId, Arc<[u8]>>> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Adds the tags to the feature, and to the layer's keys and values.
fn tag(feature: &mut tile::Feature, tags: &[(&'static str, TileValue)], layer: &mut TagsBuilder) {
    for (key, value) in tags {
        let (k, v) = layer.insert_ref(key, value.clone());
        feature.tags.extend([k, v]);
    }
}

/// Zones or rings in the tile: their areas or their lines, simplified to
/// the pixel and cut to the padded tile.
fn outline_features(
    outlines: &[Outline],
    drawn: Drawn,
    bounds: Rect<f64>,
    padded: Rect<f64>,
    pixel: f64,
) -> (Vec<tile::Feature>, TagsBuilder) {
    let mut tags = TagsBuilder::new();
    let features = outlines
        .iter()
        .filter(|o| o.meets(padded))
        .filter_map(|o| {
            let mut geometry = MvtGeometry::new(bounds, EXTENT);
            let kind = match drawn {
                Drawn::Areas => {
                    o.draw_area(padded, pixel, &mut geometry);
                    GeomType::Polygon
                }
                Drawn::Lines => {
                    o.draw_lines(padded, pixel, &mut geometry);
                    GeomType::Linestring
                }
            };
            let mut feature = geometry.into_feature(kind)?;
            tag(&mut feature, &o.tags, &mut tags);
            Some(feature)
        })
        .collect();
    (features, tags)
}

fn site_features(
    sites: &[Site],
    bounds: Rect<f64>,
    padded: Rect<f64>,
) -> (Vec<tile::Feature>, TagsBuilder) {
    let mut tags = TagsBuilder::new();
    let (min, max) = (padded.min(), padded.max());
    let features = sites
        .iter()
        .filter(|s| min.x <= s.at.x && s.at.x <= max.x && min.y <= s.at.y && s.at.y <= max.y)
        .filter_map(|s| {
            let mut geometry = MvtGeometry::new(bounds, EXTENT);
            geometry.point(s.at);
            let mut feature = geometry.into_feature(GeomType::Point)?;
            tag(&mut feature, &s.tags, &mut tags);
            Some(feature)
        })
        .collect();
    (features, tags)
}
