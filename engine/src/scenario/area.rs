//! Areas of polygons in degrees, in square metres on the WGS 84 ellipsoid.

use geo::{GeodesicArea, LineString, MultiPolygon, Polygon};

/// The area enclosed by one ring, whatever its winding. (The "unsigned"
/// geodesic area takes a clockwise ring to enclose the rest of the Earth;
/// the signed one only flips the sign, and no zone is half the planet.)
fn ring_m2(ring: &LineString<f64>) -> f64 {
    Polygon::new(ring.clone(), Vec::new())
        .geodesic_area_signed()
        .abs()
}

/// The area of a polygon: its exterior less its holes. Measured ring by ring
/// so that a file's winding order (GeoJSON files disagree) does not matter.
pub(crate) fn polygon_m2(p: &Polygon<f64>) -> f64 {
    let holes: f64 = p.interiors().iter().map(ring_m2).sum();
    (ring_m2(p.exterior()) - holes).max(0.0)
}

/// The area of the polygons, counted once each (parts are assumed not to
/// overlap, as for one zone's parts).
pub(crate) fn multi_polygon_m2(m: &MultiPolygon<f64>) -> f64 {
    m.0.iter().map(polygon_m2).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn a_square_kilometre_near_jincheng() {
        // 0.01° of latitude is 1,109 m here; 0.011° of longitude at 35.5° is 997 m.
        let p = polygon![(x: 112.85, y: 35.50), (x: 112.861, y: 35.50), (x: 112.861, y: 35.51), (x: 112.85, y: 35.51)];
        let m2 = polygon_m2(&p);
        assert!((m2 - 1_109.0 * 997.0).abs() / m2 < 0.01, "{m2}");
        // The same ring wound the other way has the same area.
        let mut reversed = p.exterior().clone();
        reversed.0.reverse();
        assert!((polygon_m2(&Polygon::new(reversed, vec![])) - m2).abs() < 1e-6);
    }
}
