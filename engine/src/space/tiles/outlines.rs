//! Zones and containment rings as tiles draw them: their rings ranked once
//! for simplification ([`RankedLine`]), and in each tile simplified to its
//! pixel, cut to the tile and its buffer and written. Simplifying the
//! whole outline before cutting it makes neighbouring tiles draw the same
//! outline, so it meets itself across tile edges.

use geo::{Coord, MultiLineString, MultiPolygon, Rect};
use geozero::mvt::TileValue;

use super::clip::{clip_line, clip_ring};
use super::mvt_geometry::MvtGeometry;
use super::simplify::RankedLine;

/// A zone or ring drawn in the tiles.
#[derive(Debug)]
pub struct Outline {
    /// Each polygon's exterior ring, then its holes.
    polygons: Vec<Vec<RankedLine>>,
    /// The lines of a ring drawn as lines rather than an area.
    lines: Vec<RankedLine>,
    bounds: Rect<f64>,
    /// The feature's tags.
    pub tags: Vec<(&'static str, TileValue)>,
}

impl Outline {
    /// An area (projected), drawn filled or by its rings.
    pub fn area(area: &MultiPolygon<f64>, tags: Vec<(&'static str, TileValue)>) -> Self {
        let polygons: Vec<Vec<RankedLine>> = area
            .0
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|ring| RankedLine::new(ring.0.clone()))
                    .collect()
            })
            .collect();
        Self::new(polygons, Vec::new(), tags)
    }

    /// Lines (projected), drawn as lines only.
    pub fn lines(lines: &MultiLineString<f64>, tags: Vec<(&'static str, TileValue)>) -> Self {
        let lines = lines
            .0
            .iter()
            .map(|l| RankedLine::new(l.0.clone()))
            .collect();
        Self::new(Vec::new(), lines, tags)
    }

    fn new(
        polygons: Vec<Vec<RankedLine>>,
        lines: Vec<RankedLine>,
        tags: Vec<(&'static str, TileValue)>,
    ) -> Self {
        let bounds = bounds_of(
            polygons
                .iter()
                .flatten()
                .chain(&lines)
                .flat_map(|l| l.coords()),
        );
        Self {
            polygons,
            lines,
            bounds,
            tags,
        }
    }

    /// Whether any of it may be in `area`.
    pub fn meets(&self, area: Rect<f64>) -> bool {
        let (a, b) = (self.bounds, area);
        a.min().x <= b.max().x
            && b.min().x <= a.max().x
            && a.min().y <= b.max().y
            && b.min().y <= a.max().y
    }

    /// The area filled, cut to `clip`, at `tolerance`; nothing for lines.
    pub fn draw_area(&self, clip: Rect<f64>, tolerance: f64, geometry: &mut MvtGeometry) {
        for polygon in &self.polygons {
            let rings: Vec<Vec<Coord<f64>>> = polygon
                .iter()
                .map(|ring| clip_ring(&simplified_ring(ring, tolerance), clip))
                .collect();
            geometry.polygon(&rings);
        }
    }

    /// Its rings and lines as lines, cut to `clip`, at `tolerance`.
    pub fn draw_lines(&self, clip: Rect<f64>, tolerance: f64, geometry: &mut MvtGeometry) {
        let rings = self
            .polygons
            .iter()
            .flatten()
            .map(|ring| simplified_ring(ring, tolerance));
        let lines = self
            .lines
            .iter()
            .map(|line| line.simplified(tolerance).collect());
        for line in rings.chain(lines) {
            for part in clip_line(line.into_iter(), clip) {
                geometry.line(part.into_iter());
            }
        }
    }
}

/// A ring at `tolerance`, or whole when so few vertices would be left
/// that it would no longer be a ring (as `geo::Simplify` keeps them).
fn simplified_ring(ring: &RankedLine, tolerance: f64) -> Vec<Coord<f64>> {
    let kept: Vec<Coord<f64>> = ring.simplified(tolerance).collect();
    if kept.len() < 4 {
        return ring.coords().to_vec();
    }
    kept
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
