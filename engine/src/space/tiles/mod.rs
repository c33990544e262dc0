//! The map's vector tiles (Mapbox Vector Tile 2.1): the road network from
//! kuaifan's own graph, the patrol zones, the containment rings, police
//! stations and checkpoints, so a console draws the city with no map server
//! of its own.
//!
//! [`TileMaker::new`] projects everything once and joins each way's
//! segments back into lines, ranking every vertex by the tolerance up to
//! which Douglas–Peucker keeps it (`simplify.rs`), and indexes the lines
//! as short pieces in one R-tree per road class (`road_lines.rs`). A tile
//! opens only the classes drawn at its zoom (motorways from zoom 0, minor
//! roads from 13) and the pieces near it, and writes the vertices whose
//! rank exceeds its pixel straight into the tile (`mvt_lines.rs`): no
//! simplification per tile, and every tile draws the same simplified line,
//! so roads meet across tiles. Zones and rings are clipped to the tile and
//! its buffer and encoded with geozero. Tiles are kept once made: the map
//! does not change while serving.

mod mercator;
mod mvt_lines;
mod road_lines;
mod simplify;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use geo::{
    BooleanOps, Coord, Intersects, MapCoords, MultiLineString, MultiPolygon, Point, Rect, Simplify,
};
use geozero::ToMvt;
use geozero::mvt::{Message, TagsBuilder, Tile, TileValue, tile};

pub use mercator::{InvalidTile, MAX_ZOOM, TileId, tile_size_m};

use mvt_lines::MvtLines;
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

/// A zone or ring drawn in a tile.
#[derive(Debug)]
struct Outline {
    area: Option<MultiPolygon<f64>>,
    lines: MultiLineString<f64>,
    bounds: Rect<f64>,
    tags: Vec<(&'static str, TileValue)>,
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
    /// checkpoints and indexes the roads.
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
                let area = z.geometry.map_coords(mercator::project);
                outline(
                    Some(area),
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
                    RingShape::Area(a) => outline(Some(a.map_coords(mercator::project)), tags),
                    RingShape::Line(l) => {
                        let lines = l.map_coords(mercator::project);
                        Outline {
                            bounds: bounds_of(lines.0.iter().flat_map(|l| l.0.iter())),
                            area: None,
                            lines,
                            tags,
                        }
                    }
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
        let mut encoder = Encoder::new(bounds);
        let layers = [
            (
                "roads",
                self.road_features(id.z(), padded, pixel, &mut encoder),
            ),
            (
                "zones",
                outline_features(&self.zones, padded, pixel, true, &mut encoder),
            ),
            (
                "zone_borders",
                outline_features(&self.zones, padded, pixel, false, &mut encoder),
            ),
            (
                "rings",
                outline_features(&self.rings, padded, pixel, false, &mut encoder),
            ),
            (
                "stations",
                site_features(&self.stations, padded, &mut encoder),
            ),
            (
                "checkpoints",
                site_features(&self.checkpoints, padded, &mut encoder),
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
        padded: Rect<f64>,
        pixel: f64,
        encoder: &mut Encoder,
    ) -> (Vec<tile::Feature>, TagsBuilder) {
        let mut tags = TagsBuilder::new();
        let mut features = Vec::new();
        for class in RoadClass::ALL.iter().rev() {
            if min_zoom(*class) > z {
                continue;
            }
            let mut lines = MvtLines::new(encoder.bounds, EXTENT);
            for stretch in self.roads.stretches(*class, padded, pixel) {
                lines.line(self.roads.kept(stretch, pixel));
            }
            let geometry = lines.into_geometry();
            if geometry.is_empty() {
                continue;
            }
            let mut feature = tile::Feature {
                r#type: Some(tile::GeomType::Linestring as i32),
                geometry,
                ..tile::Feature::default()
            };
            let (k, v) = tags.insert_ref("class", TileValue::Str(class_name(*class).to_string()));
            feature.tags.extend([k, v]);
            features.push(feature);
        }
        (features, tags)
    }
}

impl TileMaker {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TileId, Arc<[u8]>>> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Encodes features in one tile's coordinates.
#[derive(Debug)]
struct Encoder {
    bounds: Rect<f64>,
}

impl Encoder {
    fn new(bounds: Rect<f64>) -> Self {
        Self { bounds }
    }

    /// The geometry as a feature with its tags; none when nothing of it is
    /// left to draw.
    fn feature(
        &mut self,
        geometry: &geo::Geometry<f64>,
        tags: &[(&'static str, TileValue)],
        builder: &mut TagsBuilder,
    ) -> Option<tile::Feature> {
        let b = self.bounds;
        let mut feature = geometry
            .to_mvt(EXTENT, b.min().x, b.min().y, b.max().x, b.max().y)
            .ok()?;
        if feature.geometry.is_empty() {
            return None;
        }
        for (key, value) in tags {
            let (k, v) = builder.insert_ref(key, value.clone());
            feature.tags.extend([k, v]);
        }
        Some(feature)
    }
}

fn outline(area: Option<MultiPolygon<f64>>, tags: Vec<(&'static str, TileValue)>) -> Outline {
    let lines = MultiLineString::new(
        area.iter()
            .flat_map(|a| a.0.iter())
            .flat_map(|p| {
                std::iter::once(p.exterior().clone()).chain(p.interiors().iter().cloned())
            })
            .collect(),
    );
    Outline {
        bounds: bounds_of(lines.0.iter().flat_map(|l| l.0.iter())),
        area,
        lines,
        tags,
    }
}

fn bounds_of<'a>(coords: impl Iterator<Item = &'a Coord<f64>>) -> Rect<f64> {
    let (mut min, mut max) = (
        Coord {
            x: f64::INFINITY,
            y: f64::INFINITY,
        },
        Coord {
            x: f64::NEG_INFINITY,
            y: f64::NEG_INFINITY,
        },
    );
    for c in coords {
        min.x = min.x.min(c.x);
        min.y = min.y.min(c.y);
        max.x = max.x.max(c.x);
        max.y = max.y.max(c.y);
    }
    if min.x > max.x {
        return Rect::new(Coord { x: 0.0, y: 0.0 }, Coord { x: 0.0, y: 0.0 });
    }
    Rect::new(min, max)
}

fn overlaps(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// Zones or rings in the tile: their areas (`areas`) or their outlines,
/// clipped to the padded tile.
fn outline_features(
    outlines: &[Outline],
    padded: Rect<f64>,
    pixel: f64,
    areas: bool,
    encoder: &mut Encoder,
) -> (Vec<tile::Feature>, TagsBuilder) {
    let mut tags = TagsBuilder::new();
    let clip = padded.to_polygon();
    let features = outlines
        .iter()
        .filter(|o| overlaps(o.bounds, padded))
        .filter_map(|o| {
            let geometry: geo::Geometry<f64> = if areas {
                let area = o.area.as_ref()?;
                let clipped = area.intersection(&clip).simplify(pixel);
                if clipped.0.is_empty() {
                    return None;
                }
                clipped.into()
            } else {
                let clipped = clip.clip(&o.lines, false).simplify(pixel);
                if clipped.0.iter().all(|l| l.0.len() < 2) {
                    return None;
                }
                MultiLineString::new(clipped.0.into_iter().filter(|l| l.0.len() >= 2).collect())
                    .into()
            };
            encoder.feature(&geometry, &o.tags, &mut tags)
        })
        .collect();
    (features, tags)
}

fn site_features(
    sites: &[Site],
    padded: Rect<f64>,
    encoder: &mut Encoder,
) -> (Vec<tile::Feature>, TagsBuilder) {
    let mut tags = TagsBuilder::new();
    let features = sites
        .iter()
        .filter(|s| padded.intersects(&Point::from(s.at)))
        .filter_map(|s| encoder.feature(&Point::from(s.at).into(), &s.tags, &mut tags))
        .collect();
    (features, tags)
}
