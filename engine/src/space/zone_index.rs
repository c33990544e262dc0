//! Which zone holds a location, in one H3 cell lookup.
//!
//! The zones are covered with H3 cells at one resolution. A cell that lies
//! wholly inside one zone answers for every location in it; a cell that a
//! zone border (or the outer border) crosses keeps the short list of zones
//! that can hold any of its points, and a location there is tested against
//! those zones' polygons. A cell not in the table holds no point of any
//! zone.
//!
//! # Why a missing cell is outside every zone
//!
//! The table is filled by a flood over the cell grid, not by a tiler. It
//! starts from the cell of every vertex of every ring of every zone, and
//! classifies each cell it reaches by comparing the cell's outline (see
//! `cell_outline.rs`: every point H3 assigns to the cell lies within
//! 10⁻⁷ degrees of it) with the zones' border segments and a margin of
//! 10⁻⁶ degrees:
//!
//! - no border segment of any zone within the margin of the outline, and
//!   no zone holding the cell's centre: the outline grown by the margin is
//!   a connected set that no border crosses, so no zone holds any of its
//!   points. The cell is *outside*; it is not stored and the flood does not
//!   go past it;
//! - no border within the margin, and exactly one zone holding the centre:
//!   by the same argument that zone holds every point of the cell and no
//!   other zone holds any. The cell is *interior* to it;
//! - otherwise the cell is a *boundary* cell, and its candidates are the
//!   zones with a border within the margin or holding its centre. Any zone
//!   holding a point of the cell is among them (a zone without a border
//!   near the cell holds all of it or none of it, and then holds the centre
//!   or not), so testing the candidates in zone order finds the same zone
//!   as a scan of all zones.
//!
//! Interior and boundary cells send the flood on to their six neighbours
//! (cells that touch, even at a corner, are neighbours in H3). Now take a
//! zone point `p` in a cell `c`. The part of the zone's polygon holding `p`,
//! with its rings, is connected and has a ring vertex `v`, whose cell was a
//! seed. On a path from `v` to `p` inside that polygon part every point is
//! in the zone or on its border, so every cell the path crosses is interior
//! or boundary, never outside, and consecutive cells on it touch: the flood
//! walked from `v`'s cell to `c`. So every cell holding a point of a zone
//! is in the table, which is the claim.
//!
//! Where the lon/lat plane cannot draw a cell faithfully (across the
//! antimeridian, near a pole) the cell is compared by latitude alone: every
//! zone whose latitudes meet the cell's is a candidate. That is coarser but
//! just as safe.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use geo::{BoundingRect, Contains, Coord, Distance, Euclidean, Polygon};
use h3o::{CellIndex, LatLng, Resolution};
use rstar::primitives::{GeomWithData, Line, Rectangle};
use rstar::{AABB, Envelope, RTree};

use crate::geo::LatLon;
use crate::scenario::{Zone, Zones};
use crate::space::cell_outline::{self, Outline, TOLERANCE_DEG};

/// How close (degrees of the lon/lat plane, about 0.1 m) a zone border may
/// come to a cell's outline before the cell counts as crossed by it.
const MARGIN_DEG: f64 = 1e-6;

// The margin must swallow the outline's tolerance with room for rounding.
const _: () = assert!(MARGIN_DEG >= 2.0 * TOLERANCE_DEG);

/// Options of a [`ZoneIndex`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneIndexConfig {
    /// The H3 resolution of the cell table (9 by default: cells of about
    /// 0.105 km², 174 m from centre to corner). A finer resolution leaves
    /// fewer locations to the exact test and costs more memory.
    pub resolution: Resolution,
    /// The most cells the build may visit (interior, boundary and the
    /// outside ring around them; the first two are stored, at about 20
    /// bytes each). The default, 4,000,000, is about 400,000 km² at
    /// resolution 9.
    pub max_cells: usize,
}

impl Default for ZoneIndexConfig {
    fn default() -> Self {
        Self {
            resolution: Resolution::Nine,
            max_cells: 4_000_000,
        }
    }
}

/// Why a [`ZoneIndex`] could not be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneIndexError {
    /// The zones need more cells than allowed at this resolution: a country
    /// rather than a city, or too fine a resolution.
    #[error(
        "the zones need {cells} or more cells at resolution {resolution}; at most {max_cells} are allowed"
    )]
    TooManyCells {
        /// Cells needed (an estimate from the area, or the count reached).
        cells: usize,
        /// The resolution asked for.
        resolution: Resolution,
        /// The limit in force ([`ZoneIndexConfig::max_cells`]).
        max_cells: usize,
    },
    /// More zones than the table's 31-bit zone numbers can name.
    #[error("{zones} zones; at most {} can be indexed", Slot::BOUNDARY - 1)]
    TooManyZones {
        /// How many zones were given.
        zones: usize,
    },
    /// A zone vertex H3 cannot place (not a finite coordinate).
    #[error("zone {zone}: vertex ({lon}, {lat}) (lon, lat) is not a finite coordinate")]
    BadVertex {
        /// The zone's id.
        zone: String,
        /// The vertex's longitude.
        lon: f64,
        /// The vertex's latitude.
        lat: f64,
    },
}

/// What a [`ZoneIndex`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneIndexStats {
    /// The cells' resolution.
    pub resolution: Resolution,
    /// Cells wholly inside one zone: answered by the table alone.
    pub interior_cells: usize,
    /// Cells a zone border crosses: answered by testing their candidates.
    pub boundary_cells: usize,
    /// Cells the build checked and found outside every zone (the ring
    /// around the zones; not stored).
    pub outside_cells: usize,
}

/// The zone a location is in, in constant time: an H3 cell table over the
/// zones, with an exact point-in-polygon test where a cell straddles a
/// border, and an R-tree of the zones' polygons for the exact answer.
///
/// Answers are positions in the [`Zones`] the index was built from, and
/// equal [`Zones::zone_at`] for every location (the first zone, in file
/// order, that holds it; `None` on a border or outside every zone).
///
/// ```
/// use kuaifan_engine::{LatLon, ZoneIndex, ZoneIndexConfig, Zones};
/// let text = r#"{"type": "FeatureCollection", "features": [
///   {"type": "Feature", "properties": {"id": "W"},
///    "geometry": {"type": "Polygon", "coordinates": [[[112.84, 35.49], [112.85, 35.49], [112.85, 35.51], [112.84, 35.51], [112.84, 35.49]]]}},
///   {"type": "Feature", "properties": {"id": "E"},
///    "geometry": {"type": "Polygon", "coordinates": [[[112.85, 35.49], [112.86, 35.49], [112.86, 35.51], [112.85, 35.51], [112.85, 35.49]]]}}]}"#;
/// let zones = Zones::from_geojson_str(text)?;
/// let index = ZoneIndex::build(&zones, &ZoneIndexConfig::default())?;
/// let at = LatLon::new(35.50, 112.8501)?;
/// assert_eq!(index.zone_at(at), Some(1));
/// assert_eq!(index.zone_at(at), index.zone_at_exact(at));
/// assert_eq!(index.zone_at(LatLon::new(35.60, 112.85)?), None);
/// assert!(index.stats().interior_cells > 0 && index.stats().boundary_cells > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ZoneIndex {
    zones: Vec<Zone>,
    parts: RTree<Part>,
    resolution: Resolution,
    cells: HashMap<CellIndex, Slot, BuildHasherDefault<CellHasher>>,
    /// The candidate zones of every boundary cell: a count, then the zones
    /// in zone order.
    candidates: Vec<u32>,
    stats: ZoneIndexStats,
    /// The box around all zones (degrees; none without zones): a location
    /// outside it is outside every zone, without computing its cell.
    bounds: Option<AABB<[f64; 2]>>,
}

/// One polygon of a zone, by its bounding box.
type Part = GeomWithData<Rectangle<[f64; 2]>, PartRef>;

#[derive(Clone, Copy, Debug, PartialEq)]
struct PartRef {
    zone: usize,
    polygon: usize,
}

/// One border segment of a zone.
type Edge = GeomWithData<Line<[f64; 2]>, u32>;

/// What the table says about a cell, in 32 bits (so that a table entry,
/// cell and slot, is 16 bytes and more of the table stays in cache): below
/// [`Slot::BOUNDARY`], the zone that wholly holds the cell; with that bit
/// set, where the cell's candidate list starts in `candidates`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot(u32);

impl Slot {
    const BOUNDARY: u32 = 1 << 31;

    fn interior(zone: u32) -> Option<Slot> {
        (zone < Self::BOUNDARY).then_some(Slot(zone))
    }

    fn boundary(start: usize) -> Option<Slot> {
        u32::try_from(start)
            .ok()
            .filter(|&start| start < Self::BOUNDARY)
            .map(|start| Slot(start | Self::BOUNDARY))
    }
}

impl ZoneIndex {
    /// Builds the index: the R-tree of the zones' polygons, then the cell
    /// table by a flood from the zones' vertices (see the module docs for
    /// why it misses no zone). Takes milliseconds for a city's zones, under
    /// a second for a prefecture's counties.
    pub fn build(zones: &Zones, config: &ZoneIndexConfig) -> Result<ZoneIndex, ZoneIndexError> {
        let zones = zones.as_slice().to_vec();
        if zones.len() >= Slot::BOUNDARY as usize {
            return Err(ZoneIndexError::TooManyZones { zones: zones.len() });
        }
        let too_many = |cells| ZoneIndexError::TooManyCells {
            cells,
            resolution: config.resolution,
            max_cells: config.max_cells,
        };
        // Refuse at once what is hopeless, rather than after a long flood;
        // the float-to-int cast saturates.
        let estimate =
            (zones.iter().map(|z| z.area_m2).sum::<f64>() / config.resolution.area_m2()) as usize;
        if estimate > config.max_cells {
            return Err(too_many(estimate));
        }

        let parts = RTree::bulk_load(
            zones
                .iter()
                .enumerate()
                .flat_map(|(zone, z)| {
                    z.geometry
                        .0
                        .iter()
                        .enumerate()
                        .filter_map(move |(polygon, p)| {
                            let b = p.bounding_rect()?;
                            let rect = Rectangle::from_corners(
                                [b.min().x, b.min().y],
                                [b.max().x, b.max().y],
                            );
                            Some(GeomWithData::new(rect, PartRef { zone, polygon }))
                        })
                })
                .collect(),
        );
        let bounds = (parts.size() > 0).then(|| parts.root().envelope());
        let mut index = ZoneIndex {
            zones,
            parts,
            resolution: config.resolution,
            cells: HashMap::default(),
            candidates: Vec::new(),
            stats: ZoneIndexStats {
                resolution: config.resolution,
                interior_cells: 0,
                boundary_cells: 0,
                outside_cells: 0,
            },
            bounds,
        };
        let classifier = Classifier::new(&index);

        let mut seen = HashSet::new();
        let mut queue = VecDeque::new();
        for (zone, z) in index.zones.iter().enumerate() {
            let vertices = z
                .geometry
                .0
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .flat_map(|ring| ring.0.iter());
            for v in vertices {
                let at = LatLng::new(v.y, v.x).map_err(|_| ZoneIndexError::BadVertex {
                    zone: index.zones[zone].id.to_string(),
                    lon: v.x,
                    lat: v.y,
                })?;
                let cell = at.to_cell(config.resolution);
                if seen.insert(cell) {
                    queue.push_back(cell);
                }
            }
        }
        let mut cells = HashMap::default();
        let mut candidates = Vec::new();
        let mut stats = index.stats;
        while let Some(cell) = queue.pop_front() {
            let slot = match classifier.classify(cell) {
                Class::Outside => {
                    stats.outside_cells += 1;
                    continue;
                }
                Class::Interior(zone) => {
                    stats.interior_cells += 1;
                    Slot::interior(zone)
                }
                Class::Boundary(zones) => {
                    stats.boundary_cells += 1;
                    let slot = Slot::boundary(candidates.len());
                    // `build` checked that zone numbers, hence counts, fit.
                    candidates.push(zones.len() as u32);
                    candidates.extend(zones);
                    slot
                }
            };
            // Only reachable with two billion candidates, far past the
            // cell limit's memory; refused all the same.
            let Some(slot) = slot else {
                return Err(too_many(seen.len()));
            };
            cells.insert(cell, slot);
            for next in cell.grid_disk::<Vec<_>>(1) {
                if seen.insert(next) {
                    if seen.len() > config.max_cells {
                        return Err(too_many(seen.len()));
                    }
                    queue.push_back(next);
                }
            }
        }
        drop(classifier);
        cells.shrink_to_fit();
        candidates.shrink_to_fit();
        index.cells = cells;
        index.candidates = candidates;
        index.stats = stats;
        Ok(index)
    }

    /// The zone holding a location, as a position in the zones the index was
    /// built from: one cell lookup, plus a point-in-polygon test against a
    /// zone or two when the cell straddles a border.
    pub fn zone_at(&self, at: LatLon) -> Option<usize> {
        let p = [at.lon(), at.lat()];
        if !self.bounds.is_some_and(|b| b.contains_point(&p)) {
            return None;
        }
        // A LatLon is finite, so H3 always takes it; the exact test stands
        // in should that ever change.
        let Ok(ll) = LatLng::new(at.lat(), at.lon()) else {
            return self.zone_at_exact(at);
        };
        let Slot(slot) = *self.cells.get(&ll.to_cell(self.resolution))?;
        if slot < Slot::BOUNDARY {
            return Some(slot as usize);
        }
        let start = (slot & !Slot::BOUNDARY) as usize;
        let listed = self.candidates.get(start..).and_then(|rest| {
            let (&count, rest) = rest.split_first()?;
            rest.get(..count as usize)
        });
        let Some(candidates) = listed else {
            // The build writes every list whole.
            return self.zone_at_exact(at);
        };
        candidates
            .iter()
            .map(|&zone| zone as usize)
            .find(|&zone| self.zones.get(zone).is_some_and(|z| z.contains(at)))
    }

    /// The zone holding a location by the polygons alone: the R-tree finds
    /// the polygons whose box holds the location, each is tested, and the
    /// first zone in file order wins. The reference for [`ZoneIndex::zone_at`].
    pub fn zone_at_exact(&self, at: LatLon) -> Option<usize> {
        let p = Coord {
            x: at.lon(),
            y: at.lat(),
        };
        let mut best: Option<usize> = None;
        for part in self.parts.locate_all_at_point([p.x, p.y]) {
            let PartRef { zone, polygon } = part.data;
            if best.is_some_and(|b| b <= zone) {
                continue;
            }
            // A zone holds a point when one of its polygons does, as
            // `MultiPolygon::contains` has it.
            let holds = self
                .zones
                .get(zone)
                .and_then(|z| z.geometry.0.get(polygon))
                .is_some_and(|poly| poly.contains(&p));
            if holds {
                best = Some(zone);
            }
        }
        best
    }

    /// The zones, in the order of the [`Zones`] the index was built from.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// The resolution of the cell table.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// How many cells of each kind the table holds.
    pub fn stats(&self) -> ZoneIndexStats {
        self.stats
    }
}

impl fmt::Debug for ZoneIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The table has thousands of cells; the counts say what matters.
        f.debug_struct("ZoneIndex")
            .field("zones", &self.zones.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A cell's class while building.
enum Class {
    Outside,
    Interior(u32),
    Boundary(Vec<u32>),
}

/// The zones' borders and latitude ranges, for classifying cells.
struct Classifier<'a> {
    index: &'a ZoneIndex,
    edges: RTree<Edge>,
    /// Each zone's southern and northern limits, for cells that can only be
    /// compared by latitude.
    lat_ranges: Vec<(f64, f64)>,
}

impl<'a> Classifier<'a> {
    fn new(index: &'a ZoneIndex) -> Self {
        let mut edges = Vec::new();
        let mut lat_ranges = Vec::with_capacity(index.zones.len());
        for (zone, z) in index.zones.iter().enumerate() {
            // `build` checked that zone numbers fit.
            let zone = zone as u32;
            let mut range = (f64::INFINITY, f64::NEG_INFINITY);
            for polygon in &z.geometry.0 {
                for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                    for line in ring.lines() {
                        let (a, b) = (line.start, line.end);
                        edges.push(GeomWithData::new(Line::new([a.x, a.y], [b.x, b.y]), zone));
                        range = (range.0.min(a.y), range.1.max(a.y));
                    }
                }
            }
            lat_ranges.push(range);
        }
        Self {
            index,
            edges: RTree::bulk_load(edges),
            lat_ranges,
        }
    }

    fn classify(&self, cell: CellIndex) -> Class {
        match cell_outline::outline(cell) {
            Outline::Planar(outline) => self.classify_planar(cell, &outline),
            Outline::LatBand { min_lat, max_lat } => {
                let (lo, hi) = (min_lat - MARGIN_DEG, max_lat + MARGIN_DEG);
                let zones: Vec<u32> = (0..)
                    .zip(&self.lat_ranges)
                    .filter(|(_, (south, north))| *north >= lo && *south <= hi)
                    .map(|(zone, _)| zone)
                    .collect();
                if zones.is_empty() {
                    Class::Outside
                } else {
                    Class::Boundary(zones)
                }
            }
        }
    }

    fn classify_planar(&self, cell: CellIndex, outline: &Polygon<f64>) -> Class {
        let Some(b) = outline.bounding_rect() else {
            // An outline always has vertices; were it empty, every zone
            // would be a candidate, which is safe.
            return Class::Boundary((0..self.lat_ranges.len() as u32).collect());
        };
        let envelope = AABB::from_corners(
            [b.min().x - MARGIN_DEG, b.min().y - MARGIN_DEG],
            [b.max().x + MARGIN_DEG, b.max().y + MARGIN_DEG],
        );
        let mut near: Vec<u32> = Vec::new();
        for edge in self.edges.locate_in_envelope_intersecting(envelope) {
            if near.contains(&edge.data) {
                continue;
            }
            let [ax, ay] = edge.geom().from;
            let [bx, by] = edge.geom().to;
            let line = geo::Line::new(Coord { x: ax, y: ay }, Coord { x: bx, y: by });
            if Euclidean.distance(&line, outline) <= MARGIN_DEG {
                near.push(edge.data);
            }
        }
        let centre = LatLng::from(cell);
        let centre = Coord {
            x: centre.lng(),
            y: centre.lat(),
        };
        let mut zones = near.clone();
        for part in self.index.parts.locate_all_at_point([centre.x, centre.y]) {
            let PartRef { zone, polygon } = part.data;
            let holds = self
                .index
                .zones
                .get(zone)
                .and_then(|z| z.geometry.0.get(polygon))
                .is_some_and(|poly| poly.contains(&centre));
            if holds {
                zones.push(zone as u32);
            }
        }
        zones.sort_unstable();
        zones.dedup();
        match zones.as_slice() {
            [] => Class::Outside,
            [zone] if near.is_empty() => Class::Interior(*zone),
            _ => Class::Boundary(zones),
        }
    }
}

/// Hashes a cell index in one multiplication. H3 indexes at one resolution
/// share their high bits and end in a run of ones, so the product's halves
/// are folded together to spread every bit over the low ones the table
/// uses; the default SipHash would cost several times more per lookup.
#[derive(Clone, Copy, Debug, Default)]
struct CellHasher(u64);

impl Hasher for CellHasher {
    fn write(&mut self, bytes: &[u8]) {
        // `CellIndex` hashes as one u64; this serves any other key.
        for &b in bytes {
            self.write_u64(self.0 ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let product = u128::from(n ^ self.0) * 0x9e37_79b9_7f4a_7c15;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
