//! Coordinates on the WGS 84 ellipsoid and the distances between them.

use std::fmt;

/// Mean Earth radius in metres (IUGG), the one the road lengths are measured with.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A validated WGS 84 position: finite, latitude in [-90, 90], longitude in [-180, 180].
///
/// Built once at the boundary with [`LatLon::new`]; everything inside trusts it.
/// Read back from the journal through the same check.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawLatLon", into = "RawLatLon")]
pub struct LatLon {
    lat: f64,
    lon: f64,
}

/// Why a coordinate pair was refused.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("invalid coordinate ({lat}, {lon}): {reason}")]
pub struct InvalidLatLon {
    /// The latitude given.
    pub lat: f64,
    /// The longitude given.
    pub lon: f64,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The stored form of a [`LatLon`], checked when read.
#[derive(serde::Serialize, serde::Deserialize)]
struct RawLatLon {
    lat: f64,
    lon: f64,
}

impl TryFrom<RawLatLon> for LatLon {
    type Error = InvalidLatLon;
    fn try_from(raw: RawLatLon) -> Result<Self, InvalidLatLon> {
        LatLon::new(raw.lat, raw.lon)
    }
}

impl From<LatLon> for RawLatLon {
    fn from(p: LatLon) -> Self {
        RawLatLon {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

impl LatLon {
    /// Checks a latitude and longitude in degrees.
    ///
    /// ```
    /// use kuaifan_engine::LatLon;
    /// assert!(LatLon::new(35.50, 112.85).is_ok());
    /// assert!(LatLon::new(f64::NAN, 112.85).is_err());
    /// assert!(LatLon::new(35.50, 181.0).is_err());
    /// ```
    pub fn new(lat: f64, lon: f64) -> Result<Self, InvalidLatLon> {
        let reason = if !lat.is_finite() || !lon.is_finite() {
            "not a finite number"
        } else if !(-90.0..=90.0).contains(&lat) {
            "latitude outside [-90, 90]"
        } else if !(-180.0..=180.0).contains(&lon) {
            "longitude outside [-180, 180]"
        } else {
            return Ok(Self { lat, lon });
        };
        Err(InvalidLatLon { lat, lon, reason })
    }

    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Great-circle distance in metres (haversine, radius [`EARTH_RADIUS_M`]).
    pub fn haversine_m(self, other: LatLon) -> f64 {
        let (phi1, phi2) = (self.lat.to_radians(), other.lat.to_radians());
        let dphi = phi2 - phi1;
        let dlambda = (other.lon - self.lon).to_radians();
        let a =
            (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// The point at `t` (0 = self, 1 = other) on the straight line between two
    /// nearby points; road segments are short enough for this to be exact to
    /// well under a centimetre.
    pub(crate) fn lerp(self, other: LatLon, t: f64) -> LatLon {
        LatLon {
            lat: self.lat + (other.lat - self.lat) * t,
            lon: self.lon + (other.lon - self.lon) * t,
        }
    }
}

impl fmt::Display for LatLon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:.6}, {:.6})", self.lat, self.lon)
    }
}

/// A bounding box in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundingBox {
    /// Southern edge.
    pub min_lat: f64,
    /// Western edge.
    pub min_lon: f64,
    /// Northern edge.
    pub max_lat: f64,
    /// Eastern edge.
    pub max_lon: f64,
}

impl BoundingBox {
    /// The smallest box holding every point, or `None` when there are none.
    pub fn around(points: impl IntoIterator<Item = LatLon>) -> Option<Self> {
        points.into_iter().fold(None, |acc, p| {
            let b = acc.unwrap_or(BoundingBox {
                min_lat: p.lat,
                min_lon: p.lon,
                max_lat: p.lat,
                max_lon: p.lon,
            });
            Some(BoundingBox {
                min_lat: b.min_lat.min(p.lat),
                min_lon: b.min_lon.min(p.lon),
                max_lat: b.max_lat.max(p.lat),
                max_lon: b.max_lon.max(p.lon),
            })
        })
    }
}

/// An equirectangular projection to metres around one reference latitude.
///
/// Nearest-segment search needs a metric plane; over a city (a degree or two)
/// the scale error of this projection stays below a few per cent, and the
/// distance reported to users is recomputed with the haversine formula.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LocalProjection {
    metres_per_deg_lat: f64,
    metres_per_deg_lon: f64,
}

impl LocalProjection {
    pub(crate) fn around(reference_lat: f64) -> Self {
        let metres_per_deg_lat = EARTH_RADIUS_M.to_radians();
        Self {
            metres_per_deg_lat,
            metres_per_deg_lon: metres_per_deg_lat * reference_lat.to_radians().cos(),
        }
    }

    pub(crate) fn project(self, p: LatLon) -> [f64; 2] {
        self.project_lon_lat(p.lon, p.lat)
    }

    /// [`LocalProjection::project`] of a `geo` coordinate (x = longitude,
    /// y = latitude), with the same arithmetic, so a point projects to the
    /// same bits either way.
    pub(crate) fn project_lon_lat(self, lon: f64, lat: f64) -> [f64; 2] {
        [lon * self.metres_per_deg_lon, lat * self.metres_per_deg_lat]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_a_known_distance() {
        // Valletta City Gate to Mdina Gate, about 9.85 km apart.
        let valletta = LatLon::new(35.8961, 14.5116).unwrap();
        let mdina = LatLon::new(35.8860, 14.4030).unwrap();
        let d = valletta.haversine_m(mdina);
        assert!((d - 9_850.0).abs() < 150.0, "{d}");
        assert_eq!(valletta.haversine_m(valletta), 0.0);
    }

    #[test]
    fn one_degree_of_latitude_is_111_km() {
        let a = LatLon::new(0.0, 0.0).unwrap();
        let b = LatLon::new(1.0, 0.0).unwrap();
        assert!((a.haversine_m(b) - 111_195.08).abs() < 0.01);
    }

    #[test]
    fn rejects_bad_coordinates() {
        for (lat, lon) in [
            (f64::NAN, 0.0),
            (0.0, f64::INFINITY),
            (91.0, 0.0),
            (0.0, -180.5),
        ] {
            assert!(LatLon::new(lat, lon).is_err(), "{lat},{lon}");
        }
    }
}
