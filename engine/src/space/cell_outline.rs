//! An H3 cell drawn in the plane of longitude and latitude, the plane the
//! zone polygons live in, with a bound on how far the cell strays from the
//! drawing.
//!
//! An H3 cell's edges are great-circle arcs: straight lines in the
//! gnomonic projection of an icosahedron face, with an extra boundary
//! vertex where a cell crosses from one face to the next. A zone's edges
//! are straight lines in degrees (that is how `geo` tests containment). A
//! great-circle arc is curved in the lon/lat plane, so the cell's polygon
//! of vertices is not the cell; the arcs are split until every chord is
//! within [`TOLERANCE_DEG`] of its arc.
//!
//! The bound, for an arc of length `s` (radians) whose latitude stays below
//! `φ` in absolute value: along a great circle of azimuth `α` at latitude
//! `φ`, `dλ/ds = sin α / cos φ`, `dφ/ds = cos α` and (Clairaut)
//! `dα/ds = sin α tan φ`. The image curve `(λ, φ)` then has velocity `v`
//! and `|v × v'| = |sin α| sin φ (sin² α + 2 cos² α) / cos² φ`, while
//! `|v| ≥ |sin α| / cos φ`; its curvature times its squared speed,
//! `|v × v'| / |v|`, is at most `2 tan φ`. A curve of curvature `κ` strays
//! from its chord of length `L` by at most `κ L² / 8`, and `L ≤ |v| s`, so
//! the arc strays from its chord by at most `tan φ · s² / 4` (radians of
//! the plane). We use twice that, `tan φ · s² / 2`, for the second-order
//! terms this leaves out. `φ` is taken as the larger end latitude plus
//! `s`, since no point of the arc is farther than `s` from an end.
//!
//! Where the plane cannot hold the cell faithfully (a cell across the
//! antimeridian or around a pole, where longitudes wrap; a cell within a
//! degree of a pole, where the bound explodes) only the cell's range of
//! latitudes is trusted: [`Outline::LatBand`].

use geo::{Coord, LineString, Polygon};
use h3o::{CellIndex, LatLng};

/// How far, in degrees of the lon/lat plane, a point of a cell may lie from
/// its [`Outline::Planar`] polygon (about a centimetre).
pub(crate) const TOLERANCE_DEG: f64 = 1e-7;

/// A cell closer than this to the antimeridian (degrees of longitude) is
/// not drawn: a vertex exactly on it may be written as 180 or -180.
const ANTIMERIDIAN_GUARD_DEG: f64 = 1e-4;

/// Arcs reaching this close to a pole are not drawn: `tan φ` grows without
/// bound there.
const MAX_PLANAR_LAT_DEG: f64 = 89.0;

/// More pieces per arc than this and the cell is not drawn: only cells of
/// resolution 2 and coarser, or near a pole, need them, and a band is good
/// enough there.
const MAX_PIECES: usize = 1024;

/// A cell as the zone index sees it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outline {
    /// Every point of the cell lies within [`TOLERANCE_DEG`] of this
    /// polygon (degrees, x = longitude, y = latitude).
    Planar(Polygon<f64>),
    /// Every point of the cell has a latitude in this range (degrees); its
    /// longitudes are not trusted.
    LatBand {
        /// Southern limit.
        min_lat: f64,
        /// Northern limit.
        max_lat: f64,
    },
}

/// The outline of a cell.
pub(crate) fn outline(cell: CellIndex) -> Outline {
    let boundary = cell.boundary();
    planar(&boundary).map_or_else(|| lat_band(cell, &boundary), Outline::Planar)
}

fn planar(vertices: &[LatLng]) -> Option<Polygon<f64>> {
    if vertices.len() < 3 {
        return None;
    }
    let (min_lon, max_lon) = vertices
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v.lng()), hi.max(v.lng()))
        });
    // A cell spanning more than half the globe's longitudes crosses the
    // antimeridian or surrounds a pole; one touching ±180 may be written
    // on either side of it.
    if max_lon - min_lon > 180.0
        || min_lon.abs().max(max_lon.abs()) > 180.0 - ANTIMERIDIAN_GUARD_DEG
    {
        return None;
    }
    let max_lat = MAX_PLANAR_LAT_DEG.to_radians();
    let mut ring = Vec::with_capacity(vertices.len() + 1);
    for (i, &a) in vertices.iter().enumerate() {
        let b = vertices[(i + 1) % vertices.len()];
        let s = a.distance_rads(b);
        let phi = a.lat_radians().abs().max(b.lat_radians().abs()) + s;
        if phi >= max_lat {
            return None;
        }
        let deviation_deg = (phi.tan() * s * s / 2.0).to_degrees();
        let pieces = (deviation_deg / TOLERANCE_DEG).sqrt().ceil().max(1.0);
        if pieces > MAX_PIECES as f64 {
            return None;
        }
        let pieces = pieces as usize;
        ring.push(Coord {
            x: a.lng(),
            y: a.lat(),
        });
        for k in 1..pieces {
            ring.push(along(a, b, s, k as f64 / pieces as f64));
        }
    }
    Some(Polygon::new(LineString::new(ring), Vec::new()))
}

/// The point a fraction `t` of the way along the great-circle arc from `a`
/// to `b`, of length `s` radians (spherical linear interpolation).
fn along(a: LatLng, b: LatLng, s: f64, t: f64) -> Coord<f64> {
    let unit = |p: LatLng| {
        let (lat, lng) = (p.lat_radians(), p.lng_radians());
        [lat.cos() * lng.cos(), lat.cos() * lng.sin(), lat.sin()]
    };
    let (ua, ub) = (unit(a), unit(b));
    let (wa, wb) = (((1.0 - t) * s).sin() / s.sin(), (t * s).sin() / s.sin());
    let [x, y, z] = [0, 1, 2].map(|i| wa * ua[i] + wb * ub[i]);
    Coord {
        x: y.atan2(x).to_degrees(),
        y: z.atan2(x.hypot(y)).to_degrees(),
    }
}

/// The latitudes a cell can reach: its centre's, give or take twice the
/// farthest vertex's distance (a cell lies within the cap through its
/// farthest vertex; twice is for the cells bent across icosahedron faces).
fn lat_band(cell: CellIndex, vertices: &[LatLng]) -> Outline {
    let centre = LatLng::from(cell);
    let radius_deg = vertices
        .iter()
        .map(|v| centre.distance_rads(*v))
        .fold(0.0, f64::max)
        .to_degrees();
    Outline::LatBand {
        min_lat: (centre.lat() - 2.0 * radius_deg).max(-90.0),
        max_lat: (centre.lat() + 2.0 * radius_deg).min(90.0),
    }
}

#[cfg(test)]
mod tests {
    use geo::{Distance, Euclidean, Point};
    use h3o::Resolution;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    const SEED: u64 = 0x6b75_6169_6661_6e32;

    fn distance_deg(p: Coord<f64>, outline: &Polygon<f64>) -> f64 {
        Euclidean.distance(&Point(p), outline)
    }

    /// The one geometric assumption of the zone index: a point that H3 puts
    /// in a cell lies within the tolerance of the cell's outline. Checked
    /// for random points everywhere and for points on the cells' true
    /// (great-circle) edges, at every resolution.
    #[test]
    fn points_of_a_cell_lie_within_the_tolerance_of_its_outline() {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        for resolution in Resolution::range(Resolution::Zero, Resolution::Fifteen) {
            // Coarse cells have thousands of outline vertices: fewer of them.
            let samples = if resolution >= Resolution::Five {
                1_000
            } else {
                200
            };
            for _ in 0..samples {
                let lat = rng.random_range(-90.0..=90.0);
                let lng = rng.random_range(-180.0..=180.0);
                let p = LatLng::new(lat, lng).expect("finite");
                let cell = p.to_cell(resolution);
                match outline(cell) {
                    Outline::Planar(polygon) => {
                        let at = Coord { x: lng, y: lat };
                        let d = distance_deg(at, &polygon);
                        assert!(d <= TOLERANCE_DEG, "{cell} {lat},{lng}: {d}");
                        let vertices = cell.boundary();
                        for (i, &a) in vertices.iter().enumerate() {
                            let b = vertices[(i + 1) % vertices.len()];
                            let s = a.distance_rads(b);
                            for t in [0.1, 0.25, 0.5, 0.75, 0.9] {
                                let on_edge = along(a, b, s, t);
                                let d = Euclidean.distance(&Point(on_edge), polygon.exterior());
                                assert!(d <= TOLERANCE_DEG, "{cell} edge {i} at {t}: {d}");
                                // Just either side of the edge, H3 may pick
                                // this cell or its neighbour: the point is
                                // within the tolerance of whichever it is.
                                let nudges: &[f64] = if resolution >= Resolution::Five {
                                    &[-1e-9, 0.0, 1e-9]
                                } else {
                                    &[]
                                };
                                for nudge in nudges {
                                    let q = Coord {
                                        x: on_edge.x + (on_edge.x - lng) * nudge,
                                        y: on_edge.y + (on_edge.y - lat) * nudge,
                                    };
                                    let p = LatLng::new(q.y, q.x).expect("finite");
                                    let owner = p.to_cell(resolution);
                                    if let Outline::Planar(owner_outline) = outline(owner) {
                                        let d = distance_deg(q, &owner_outline);
                                        assert!(d <= TOLERANCE_DEG, "{owner} {q:?}: {d}");
                                    }
                                }
                            }
                        }
                    }
                    Outline::LatBand { min_lat, max_lat } => {
                        assert!((min_lat..=max_lat).contains(&lat), "{cell} {lat}");
                        // From resolution 5 on, only cells near a pole or
                        // the antimeridian are bands.
                        assert!(
                            resolution < Resolution::Five || lat.abs() > 80.0 || lng.abs() > 178.0,
                            "{cell} {lat},{lng}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn cells_across_the_antimeridian_or_at_a_pole_are_bands() {
        for (lat, lng) in [
            (10.0, 180.0),
            (10.0, -179.99999),
            (90.0, 0.0),
            (-89.5, 45.0),
        ] {
            let p = LatLng::new(lat, lng).expect("finite");
            let cell = p.to_cell(Resolution::Nine);
            assert!(
                matches!(outline(cell), Outline::LatBand { .. }),
                "{lat},{lng}"
            );
        }
    }

    #[test]
    fn long_arcs_are_split_and_short_ones_are_not() {
        let at = |res| {
            let p = LatLng::new(35.49, 112.85).expect("finite");
            match outline(p.to_cell(res)) {
                Outline::Planar(polygon) => polygon.exterior().0.len(),
                Outline::LatBand { .. } => 0,
            }
        };
        // Six vertices and the closing one.
        assert_eq!(at(Resolution::Nine), 7);
        assert!(at(Resolution::Seven) > 7 * 2);
    }
}
