//! How ring 1's county-level areas fit ring 2: they tile it (no overlap, no
//! gap, nothing outside), and the urban core, ring 1 for an incident inside
//! it, lies inside ring 2 too. Without that, an incident could be in no
//! ring-1 area, or in two.
//!
//! The same sliver tolerance as for zones applies
//! ([`crate::scenario::topology`]): shared borders digitised twice leave
//! slivers of a few square metres.

use geo::{
    Area, BooleanOps, BoundingRect, Centroid, InteriorPoint, MultiPolygon, Point, unary_union,
};

use crate::geo::EARTH_RADIUS_M;

use crate::scenario::area::{multi_polygon_m2, polygon_m2};
use crate::scenario::problem::Problem;
use crate::scenario::rings::{Ring, RingLevel, RingShape};
use crate::scenario::topology::{self, SLIVER_TOLERANCE_FRACTION, SLIVER_TOLERANCE_M2, Shape};

fn tolerance(area_m2: f64) -> f64 {
    SLIVER_TOLERANCE_M2.max(SLIVER_TOLERANCE_FRACTION * area_m2)
}

/// The area of what a boolean operation left, in square metres, from its
/// planar area in degrees scaled at each part's latitude. The leftovers of
/// shared borders are slivers a few nanodegrees wide, for which the
/// geodesic area is numerically unstable (a sliver of 0.1 m² measured as
/// 0.14 km²); at city scale the planar figure is within a fraction of a
/// per cent.
fn leftover_m2(m: &MultiPolygon<f64>) -> f64 {
    let metres_per_degree = EARTH_RADIUS_M.to_radians();
    m.0.iter()
        .map(|p| {
            let lat = p.centroid().map_or(0.0, |c| c.y());
            p.unsigned_area() * metres_per_degree * metres_per_degree * lat.to_radians().cos()
        })
        .sum()
}

fn area_of(ring: &Ring) -> Option<&MultiPolygon<f64>> {
    match &ring.shape {
        RingShape::Area(a) => Some(a),
        RingShape::Line(_) => None,
    }
}

/// A point inside the largest part, as (lat, lon).
fn locate(m: &MultiPolygon<f64>) -> (f64, f64) {
    m.0.iter()
        .max_by(|a, b| polygon_m2(a).total_cmp(&polygon_m2(b)))
        .and_then(|p| p.interior_point())
        .map_or((f64::NAN, f64::NAN), |p: Point<f64>| (p.y(), p.x()))
}

fn tiling(reason: String) -> Problem {
    Problem::AreaTiling { reason }
}

/// Every way the areas fail to tile ring 2, and the core reaching outside
/// it. `rings` are the main rings (one per level), `areas` ring 1's
/// county-level areas.
pub(crate) fn check(rings: &[Ring], areas: &[Ring]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let city = rings
        .iter()
        .find(|r| r.level == RingLevel::CityBoundary)
        .and_then(area_of);
    let core = rings
        .iter()
        .find(|r| r.level == RingLevel::UrbanCore)
        .and_then(area_of);
    let Some(city) = city else {
        if !areas.is_empty() {
            problems.push(tiling(
                "the file has county-level areas but no ring 2 for them to tile".into(),
            ));
        }
        return problems;
    };
    let city_m2 = multi_polygon_m2(city);
    if let Some(core) = core {
        let outside = leftover_m2(&core.difference(city));
        if outside > tolerance(multi_polygon_m2(core)) {
            let (lat, lon) = locate(&core.difference(city));
            problems.push(tiling(format!(
                "the urban core (ring 1) reaches {outside:.0} m² outside ring 2, near ({lat:.5}, {lon:.5})"
            )));
        }
    }
    if areas.is_empty() {
        return problems;
    }

    let geometries: Vec<(&Ring, &MultiPolygon<f64>)> = areas
        .iter()
        .filter_map(|a| area_of(a).map(|g| (a, g)))
        .collect();
    let shapes: Vec<Shape<'_>> = geometries
        .iter()
        .map(|(a, g)| Shape {
            id: a.id.as_str(),
            geometry: g,
            area_m2: multi_polygon_m2(g),
            bounds: g.bounding_rect(),
        })
        .collect();
    for p in topology::check(&shapes) {
        problems.push(match p {
            Problem::Overlap { a, b, area_m2 } => {
                tiling(format!("{a} and {b} overlap by {area_m2:.0} m²"))
            }
            Problem::Hole {
                zone,
                lat,
                lon,
                area_m2,
            } => tiling(format!(
                "{zone} has a hole of {area_m2:.0} m² near ({lat:.5}, {lon:.5}) that no area fills"
            )),
            Problem::Gap { lat, lon, area_m2 } => tiling(format!(
                "a gap of {area_m2:.0} m² between areas near ({lat:.5}, {lon:.5})"
            )),
            other => other,
        });
    }
    for (area, geometry) in &geometries {
        let outside = geometry.difference(city);
        let outside_m2 = leftover_m2(&outside);
        if outside_m2 > tolerance(multi_polygon_m2(geometry)) {
            let (lat, lon) = locate(&outside);
            problems.push(tiling(format!(
                "{} reaches {outside_m2:.0} m² outside ring 2, near ({lat:.5}, {lon:.5})",
                area.id
            )));
        }
    }
    let union = unary_union(geometries.iter().map(|(_, g)| *g));
    let uncovered = city.difference(&union);
    let uncovered_m2 = leftover_m2(&uncovered);
    if uncovered_m2 > tolerance(city_m2) {
        let (lat, lon) = locate(&uncovered);
        problems.push(tiling(format!(
            "{uncovered_m2:.0} m² of ring 2 near ({lat:.5}, {lon:.5}) is in no area"
        )));
    }
    problems
}
