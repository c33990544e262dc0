//! How zones fit together: no two overlap, no zone has a hole that no other
//! zone fills, and no ground enclosed by zones is left out of all of them.
//!
//! Real administrative boundaries are digitised independently on each side
//! and carry floating-point noise, so shared borders leave slivers of
//! overlap or gap a few square metres across. A sliver counts only above
//! [`SLIVER_TOLERANCE_M2`] or [`SLIVER_TOLERANCE_FRACTION`] of the smaller
//! zone, whichever is larger: far below one H3 resolution-9 cell
//! (105,000 m²), so nothing that matters for coverage is waved through.

use geo::{
    BooleanOps, BoundingRect, Contains, InteriorPoint, Intersects, MultiPolygon, Point, Polygon,
    Rect, unary_union,
};

use crate::scenario::area::{multi_polygon_m2, polygon_m2};
use crate::scenario::problem::Problem;

/// Overlaps, holes and gaps smaller than this many square metres are noise.
pub const SLIVER_TOLERANCE_M2: f64 = 1.0;

/// Overlaps smaller than this fraction of the smaller zone are noise; holes
/// and gaps use the fraction of the zoned area's largest zone.
pub const SLIVER_TOLERANCE_FRACTION: f64 = 1e-7;

/// A zone as the checks see it.
pub(crate) struct Shape<'a> {
    pub(crate) id: &'a str,
    pub(crate) geometry: &'a MultiPolygon<f64>,
    pub(crate) area_m2: f64,
    pub(crate) bounds: Option<Rect<f64>>,
}

fn tolerance(area_m2: f64) -> f64 {
    SLIVER_TOLERANCE_M2.max(SLIVER_TOLERANCE_FRACTION * area_m2)
}

fn boxes_meet(a: Option<Rect<f64>>, b: Option<Rect<f64>>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.intersects(&b))
}

/// A point inside the largest part, as (lat, lon).
fn locate(m: &MultiPolygon<f64>) -> (f64, f64) {
    let largest =
        m.0.iter()
            .max_by(|a, b| polygon_m2(a).total_cmp(&polygon_m2(b)));
    largest
        .and_then(|p| p.interior_point())
        .map_or((f64::NAN, f64::NAN), |p: Point<f64>| (p.y(), p.x()))
}

/// Every overlap, hole and gap among the zones, in zone order.
pub(crate) fn check(zones: &[Shape<'_>]) -> Vec<Problem> {
    let mut problems = Vec::new();
    overlaps(zones, &mut problems);
    let largest = zones.iter().map(|z| z.area_m2).fold(0.0, f64::max);
    holes(zones, largest, &mut problems);
    gaps(zones, largest, &mut problems);
    problems
}

fn overlaps(zones: &[Shape<'_>], problems: &mut Vec<Problem>) {
    for (i, a) in zones.iter().enumerate() {
        for b in &zones[i + 1..] {
            if !boxes_meet(a.bounds, b.bounds) {
                continue;
            }
            let shared = multi_polygon_m2(&a.geometry.intersection(b.geometry));
            if shared > tolerance(a.area_m2.min(b.area_m2)) {
                problems.push(Problem::Overlap {
                    a: a.id.to_owned(),
                    b: b.id.to_owned(),
                    area_m2: shared,
                });
            }
        }
    }
}

/// Each interior ring of a zone must be filled by other zones (an enclave,
/// as a city district inside its county); what they leave uncovered is a
/// hole in the zoning.
fn holes(zones: &[Shape<'_>], largest_m2: f64, problems: &mut Vec<Problem>) {
    for (i, zone) in zones.iter().enumerate() {
        for ring in zone.geometry.iter().flat_map(|p| p.interiors()) {
            let hole = Polygon::new(ring.clone(), Vec::new());
            let bounds = hole.bounding_rect();
            let others: Vec<&MultiPolygon<f64>> = zones
                .iter()
                .enumerate()
                .filter(|&(j, z)| j != i && boxes_meet(bounds, z.bounds))
                .map(|(_, z)| z.geometry)
                .collect();
            let filled = unary_union(others);
            let uncovered = MultiPolygon::new(vec![hole]).difference(&filled);
            let area_m2 = multi_polygon_m2(&uncovered);
            if area_m2 > tolerance(largest_m2) {
                let (lat, lon) = locate(&uncovered);
                problems.push(Problem::Hole {
                    zone: zone.id.to_owned(),
                    lat,
                    lon,
                    area_m2,
                });
            }
        }
    }
}

/// Holes in the union of all zones that are not inside one zone's own hole
/// (those were reported as holes of that zone).
fn gaps(zones: &[Shape<'_>], largest_m2: f64, problems: &mut Vec<Problem>) {
    let union = unary_union(zones.iter().map(|z| z.geometry));
    let zone_holes: Vec<Polygon<f64>> = zones
        .iter()
        .flat_map(|z| z.geometry.iter().flat_map(|p| p.interiors()))
        .map(|r| Polygon::new(r.clone(), Vec::new()))
        .collect();
    for ring in union.iter().flat_map(|p| p.interiors()) {
        let gap = MultiPolygon::new(vec![Polygon::new(ring.clone(), Vec::new())]);
        let area_m2 = multi_polygon_m2(&gap);
        if area_m2 <= tolerance(largest_m2) {
            continue;
        }
        let (lat, lon) = locate(&gap);
        let inside_a_zone_hole = zone_holes.iter().any(|h| h.contains(&Point::new(lon, lat)));
        if !inside_a_zone_hole {
            problems.push(Problem::Gap { lat, lon, area_m2 });
        }
    }
}
