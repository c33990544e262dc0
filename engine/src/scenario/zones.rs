//! The patrol zones of a city: areas with an id, a name and an incident
//! rate, read from `zones.geojson`.

use std::collections::HashMap;

use geo::orient::{Direction, Orient};
use geo::{BoundingRect, Contains, MultiPolygon, Point, Rect};

use crate::geo::{BoundingBox, LatLon};
use crate::scenario::area::multi_polygon_m2;
use crate::scenario::features::{self, PropFault, Props};
use crate::scenario::ids::ZoneId;
use crate::scenario::problem::{Item, ItemKind, Problem, Problems};
use crate::scenario::topology::{self, Shape};

/// How far a zone may reach past the box around the map's roads: hills and
/// water at a city's edge, but not a coordinate typed wrong.
pub const ZONE_BEYOND_MAP_M: f64 = 10_000.0;

/// A problem for each zone that reaches more than [`ZONE_BEYOND_MAP_M`] past
/// `map`, the box around the roads.
pub(crate) fn beyond_map_problems(zones: &[Zone], map: BoundingBox) -> Vec<Problem> {
    let limit_m = ZONE_BEYOND_MAP_M;
    zones
        .iter()
        .filter_map(|zone| {
            let bounds = zone.bounds?;
            let (min, max) = (bounds.min(), bounds.max());
            let farthest = [
                (min.y, min.x),
                (min.y, max.x),
                (max.y, min.x),
                (max.y, max.x),
            ]
            .into_iter()
            .filter_map(|(lat, lon)| {
                let corner = LatLon::new(lat, lon).ok()?;
                let inside = LatLon::new(
                    lat.clamp(map.min_lat, map.max_lat),
                    lon.clamp(map.min_lon, map.max_lon),
                )
                .ok()?;
                Some(corner.haversine_m(inside))
            })
            .fold(0.0, f64::max);
            (farthest > limit_m).then(|| Problem::ZoneBeyondMap {
                zone: zone.id.to_string(),
                distance_m: farthest,
                limit_m,
            })
        })
        .collect()
}

/// A patrol zone.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    /// Its id (`properties.id`, else `properties.adcode`).
    pub id: ZoneId,
    /// Its name (`properties.name`, else the id).
    pub name: String,
    /// Expected incidents per day (`properties.incident_rate_per_day`, 0
    /// when absent).
    pub incident_rate_per_day: f64,
    /// Its area, in degrees (x = longitude, y = latitude), exterior rings
    /// counter-clockwise.
    pub geometry: MultiPolygon<f64>,
    /// Its area in square metres on the WGS 84 ellipsoid.
    pub area_m2: f64,
    bounds: Option<Rect<f64>>,
}

impl Zone {
    /// Whether a location is inside the zone (a point on its border is not).
    pub fn contains(&self, at: LatLon) -> bool {
        let p = Point::new(at.lon(), at.lat());
        self.bounds.is_some_and(|b| b.contains(&p)) && self.geometry.contains(&p)
    }
}

/// The zones of a scenario, checked: unique ids, areas that neither
/// overlap nor leave holes or gaps between them (see [`SLIVER_TOLERANCE_M2`]).
///
/// [`SLIVER_TOLERANCE_M2`]: crate::SLIVER_TOLERANCE_M2
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Zones {
    zones: Vec<Zone>,
    by_id: HashMap<String, usize>,
}

/// What a zones file gave, including the ids of zones that were refused, so
/// units can still be checked against them.
pub(crate) struct ZonesParse {
    pub(crate) zones: Vec<Zone>,
    pub(crate) ids: Vec<String>,
    pub(crate) problems: Vec<Problem>,
}

impl Zones {
    /// Reads and checks a zones GeoJSON text: a FeatureCollection of Polygon
    /// or MultiPolygon features with properties `id` (or `adcode`), `name`
    /// and `incident_rate_per_day`. Every problem in the text is reported.
    ///
    /// ```
    /// use kuaifan_engine::{LatLon, Zones};
    /// let text = r#"{"type": "FeatureCollection", "features": [
    ///   {"type": "Feature", "properties": {"id": "Z01", "incident_rate_per_day": 4.5},
    ///    "geometry": {"type": "Polygon", "coordinates": [[[112.84, 35.49], [112.85, 35.49], [112.85, 35.51], [112.84, 35.51], [112.84, 35.49]]]}}]}"#;
    /// let zones = Zones::from_geojson_str(text)?;
    /// let z = zones.zone_at(LatLon::new(35.50, 112.845)?).unwrap();
    /// assert_eq!((z.id.as_str(), z.name.as_str(), z.incident_rate_per_day), ("Z01", "Z01", 4.5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_geojson_str(text: &str) -> Result<Zones, Problems> {
        let parsed = Self::parse(text)?;
        Problems::check(parsed.problems)?;
        Ok(Zones::from_checked(parsed.zones))
    }

    /// [`Zones::from_geojson_str`] on bytes that should be UTF-8.
    pub fn from_geojson_bytes(bytes: &[u8]) -> Result<Zones, Problems> {
        Self::from_geojson_str(features::utf8(bytes)?)
    }

    pub(crate) fn parse(text: &str) -> Result<ZonesParse, Problems> {
        let features = features::collection(text)?;
        let mut problems = Vec::new();
        let mut zones = Vec::with_capacity(features.len());
        let mut ids = Vec::new();
        for (index, feature) in features.iter().enumerate() {
            let props = Props::of(feature);
            let raw_id = props.id_or_adcode();
            let id_text = raw_id.as_ref().ok().and_then(|id| id.as_deref());
            let item = Item::new(ItemKind::Zone, index, id_text);
            let mut faults = Vec::new();
            let id = match raw_id {
                Ok(Some(text)) => match ZoneId::new(text) {
                    Ok(id) => {
                        ids.push((index, id.as_str().to_owned()));
                        Some(id)
                    }
                    Err(e) => {
                        faults.push(Problem::BadValue {
                            item: item.clone(),
                            field: "id",
                            value: format!("{:?}", e.value),
                            expected: format!("an id ({})", e.reason),
                        });
                        None
                    }
                },
                Ok(None) => {
                    faults.push(PropFault::Missing("id").into_problem(item.clone()));
                    None
                }
                Err(f) => {
                    faults.push(f.into_problem(item.clone()));
                    None
                }
            };
            let name = props.text("name").unwrap_or_else(|f| {
                faults.push(f.into_problem(item.clone()));
                None
            });
            let rate = match props.number("incident_rate_per_day") {
                Ok(Some(r)) if r.is_finite() && r >= 0.0 => r,
                Ok(Some(r)) => {
                    faults.push(Problem::BadValue {
                        item: item.clone(),
                        field: "incident_rate_per_day",
                        value: r.to_string(),
                        expected: "a number of incidents per day, 0 or more".into(),
                    });
                    0.0
                }
                Ok(None) => 0.0,
                Err(f) => {
                    faults.push(f.into_problem(item.clone()));
                    0.0
                }
            };
            let geometry = match features::area(&item, feature) {
                Ok(g) => {
                    // One winding for all, so that unions and areas do not
                    // depend on how the file wound its rings.
                    let g = g.orient(Direction::Default);
                    let area_m2 = multi_polygon_m2(&g);
                    if area_m2 > 0.0 {
                        Some((g, area_m2))
                    } else {
                        faults.push(Problem::BadGeometry {
                            item: item.clone(),
                            reason: "the area is empty".into(),
                        });
                        None
                    }
                }
                Err(p) => {
                    faults.push(p);
                    None
                }
            };
            if let (Some(id), Some((geometry, area_m2)), true) = (id, geometry, faults.is_empty()) {
                zones.push(Zone {
                    name: name.unwrap_or_else(|| id.as_str().to_owned()),
                    id,
                    incident_rate_per_day: rate,
                    bounds: geometry.bounding_rect(),
                    geometry,
                    area_m2,
                });
            }
            problems.extend(faults);
        }
        if features.is_empty() {
            problems.push(Problem::Syntax {
                at: None,
                message: "no zones: the FeatureCollection is empty".into(),
            });
        }
        problems.extend(features::duplicates(
            ItemKind::Zone,
            ids.iter().map(|(i, id)| (*i, id.as_str())),
        ));
        // Overlaps between duplicates would only repeat the duplicate.
        let mut seen = std::collections::HashSet::new();
        let shapes: Vec<Shape<'_>> = zones
            .iter()
            .filter(|z| seen.insert(z.id.as_str()))
            .map(|z| Shape {
                id: z.id.as_str(),
                geometry: &z.geometry,
                area_m2: z.area_m2,
                bounds: z.bounds,
            })
            .collect();
        problems.extend(topology::check(&shapes));
        Ok(ZonesParse {
            zones,
            ids: ids.into_iter().map(|(_, id)| id).collect(),
            problems,
        })
    }

    /// Zones already checked, with unique ids.
    pub(crate) fn from_checked(zones: Vec<Zone>) -> Zones {
        let by_id = zones
            .iter()
            .enumerate()
            .map(|(i, z)| (z.id.as_str().to_owned(), i))
            .collect();
        Zones { zones, by_id }
    }

    /// The zones, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Zone> {
        self.zones.iter()
    }

    /// The zones as a slice, in file order.
    pub fn as_slice(&self) -> &[Zone] {
        &self.zones
    }

    /// How many zones there are.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The zone with an id.
    pub fn get(&self, id: &str) -> Option<&Zone> {
        self.index_of(id).map(|i| &self.zones[i])
    }

    /// The position of the zone with an id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The zone a location is in, if any (zones do not overlap, so there is
    /// at most one).
    pub fn zone_at(&self, at: LatLon) -> Option<&Zone> {
        self.zones.iter().find(|z| z.contains(at))
    }

    /// The total area of the zones in square metres.
    pub fn area_m2(&self) -> f64 {
        self.zones.iter().map(|z| z.area_m2).sum()
    }
}

impl<'a> IntoIterator for &'a Zones {
    type Item = &'a Zone;
    type IntoIter = std::slice::Iter<'a, Zone>;
    fn into_iter(self) -> Self::IntoIter {
        self.zones.iter()
    }
}
