//! Reading GeoJSON feature collections into checked geometries and
//! properties; shared by the zone, station and ring loaders, and usable on
//! any boundary file ([`polygon_features_from_geojson_str`]).

use geo::{Coord, LineString, MultiLineString, MultiPolygon, Polygon};
use geojson::{Feature, GeoJson, GeometryValue, Position};
use serde_json::{Map, Value};

use crate::geo::LatLon;
use crate::scenario::ids::InvalidId;
use crate::scenario::problem::{Item, ItemKind, Problem, Problems};

/// A feature of a GeoJSON file with an area geometry: a boundary.
#[derive(Clone, Debug, PartialEq)]
pub struct PolygonFeature {
    /// Its 0-based position in the collection.
    pub index: usize,
    /// `properties.id`, else `properties.adcode` (administrative boundary
    /// files carry a numeric code), as text.
    pub id: Option<String>,
    /// `properties.name`, when it is text.
    pub name: Option<String>,
    /// The area, in degrees (x = longitude, y = latitude).
    pub geometry: MultiPolygon<f64>,
}

/// Reads every feature of a GeoJSON FeatureCollection whose geometry must be
/// a Polygon or MultiPolygon, such as an administrative boundary file.
///
/// Every feature is checked; all problems are returned together.
///
/// ```
/// let text = r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
///   "properties": {"adcode": 140500, "name": "晋城市"},
///   "geometry": {"type": "Polygon", "coordinates": [[[112.8, 35.4], [112.9, 35.4], [112.9, 35.6], [112.8, 35.4]]]}}]}"#;
/// let features = kuaifan_engine::polygon_features_from_geojson_str(text)?;
/// assert_eq!(features[0].id.as_deref(), Some("140500"));
/// # Ok::<(), kuaifan_engine::Problems>(())
/// ```
pub fn polygon_features_from_geojson_str(text: &str) -> Result<Vec<PolygonFeature>, Problems> {
    let features = collection(text)?;
    let mut problems = Vec::new();
    let mut out = Vec::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        let props = Props::of(feature);
        let id = match props.id_or_adcode() {
            Ok(id) => id,
            Err(reason) => {
                problems.push(reason.into_problem(Item::new(ItemKind::Feature, index, None)));
                None
            }
        };
        let item = Item::new(ItemKind::Feature, index, id.as_deref());
        let name = props.text("name").ok().flatten();
        match area(&item, feature) {
            Ok(geometry) => out.push(PolygonFeature {
                index,
                id,
                name,
                geometry,
            }),
            Err(p) => problems.push(p),
        }
    }
    Problems::check(problems)?;
    Ok(out)
}

/// The features of a FeatureCollection, or the reason the text is not one.
pub(crate) fn collection(text: &str) -> Result<Vec<Feature>, Problems> {
    let syntax = |message: String| Problems::one(Problem::Syntax { at: None, message });
    let geojson: GeoJson = text
        .parse()
        .map_err(|e| syntax(format!("not valid GeoJSON: {e}")))?;
    match geojson {
        GeoJson::FeatureCollection(fc) => Ok(fc.features),
        GeoJson::Feature(_) => Err(syntax(
            "expected a FeatureCollection, found a single Feature".into(),
        )),
        GeoJson::Geometry(_) => Err(syntax(
            "expected a FeatureCollection, found a bare Geometry".into(),
        )),
    }
}

/// UTF-8 text of a file's bytes, or the problem.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, Problems> {
    std::str::from_utf8(bytes).map_err(|e| {
        Problems::one(Problem::Syntax {
            at: None,
            message: format!("not UTF-8 text: {e}"),
        })
    })
}

/// A property that could not be used; becomes a [`Problem`] once the item
/// is known.
#[derive(Debug)]
pub(crate) enum PropFault {
    Missing(&'static str),
    Bad {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl PropFault {
    pub(crate) fn into_problem(self, item: Item) -> Problem {
        match self {
            PropFault::Missing(field) => Problem::Missing { item, field },
            PropFault::Bad {
                field,
                value,
                expected,
            } => Problem::BadValue {
                item,
                field,
                value,
                expected: expected.to_owned(),
            },
        }
    }
}

/// A feature's properties (none is the same as empty).
pub(crate) struct Props<'f>(Option<&'f Map<String, Value>>);

impl<'f> Props<'f> {
    pub(crate) fn of(feature: &'f Feature) -> Self {
        Props(feature.properties.as_ref())
    }

    fn get(&self, key: &str) -> Option<&'f Value> {
        self.0.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// A text property, absent when missing.
    pub(crate) fn text(&self, field: &'static str) -> Result<Option<String>, PropFault> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(PropFault::Bad {
                field,
                value: other.to_string(),
                expected: "text",
            }),
        }
    }

    /// A text property that must be there.
    pub(crate) fn required_text(&self, field: &'static str) -> Result<String, PropFault> {
        self.text(field)?.ok_or(PropFault::Missing(field))
    }

    /// A number, absent when missing.
    pub(crate) fn number(&self, field: &'static str) -> Result<Option<f64>, PropFault> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| PropFault::Bad {
                field,
                value: n.to_string(),
                expected: "a number",
            }),
            Some(other) => Err(PropFault::Bad {
                field,
                value: other.to_string(),
                expected: "a number",
            }),
        }
    }

    /// An id: text, or a whole number written as digits (administrative
    /// codes are often numbers).
    pub(crate) fn code(&self, field: &'static str) -> Result<Option<String>, PropFault> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
            Some(other) => Err(PropFault::Bad {
                field,
                value: other.to_string(),
                expected: "text or a whole number",
            }),
        }
    }

    /// The feature's `id` made into an id type by `make`; its text is noted
    /// with the feature's `index` in `ids`, for the duplicate check.
    pub(crate) fn id<T>(
        &self,
        make: impl FnOnce(String) -> Result<T, InvalidId>,
        expected: &'static str,
        index: usize,
        ids: &mut Vec<(usize, String)>,
    ) -> Result<T, PropFault> {
        let text = self.code("id")?.ok_or(PropFault::Missing("id"))?;
        ids.push((index, text.clone()));
        make(text).map_err(|e| PropFault::Bad {
            field: "id",
            value: format!("{:?}", e.value),
            expected,
        })
    }

    /// `id`, else `adcode`.
    pub(crate) fn id_or_adcode(&self) -> Result<Option<String>, PropFault> {
        match self.code("id")? {
            Some(id) => Ok(Some(id)),
            None => self.code("adcode"),
        }
    }

    /// Whether the property is present (and not null).
    pub(crate) fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }
}

/// The name of a geometry type, for messages.
pub(crate) fn type_name(feature: &Feature) -> &'static str {
    match feature.geometry.as_ref().map(|g| &g.value) {
        None => "no geometry",
        Some(GeometryValue::Point { .. }) => "Point",
        Some(GeometryValue::MultiPoint { .. }) => "MultiPoint",
        Some(GeometryValue::LineString { .. }) => "LineString",
        Some(GeometryValue::MultiLineString { .. }) => "MultiLineString",
        Some(GeometryValue::Polygon { .. }) => "Polygon",
        Some(GeometryValue::MultiPolygon { .. }) => "MultiPolygon",
        Some(GeometryValue::GeometryCollection { .. }) => "GeometryCollection",
    }
}

fn coord(item: &Item, p: &Position) -> Result<Coord<f64>, Problem> {
    let bad = |reason: String| Problem::BadGeometry {
        item: item.clone(),
        reason,
    };
    let (lon, lat) = match p.as_slice() {
        [lon, lat, ..] => (*lon, *lat),
        other => {
            return Err(bad(format!(
                "a position needs [lon, lat], found {} number{}",
                other.len(),
                if other.len() == 1 { "" } else { "s" }
            )));
        }
    };
    LatLon::new(lat, lon)
        .map(|_| Coord { x: lon, y: lat })
        .map_err(|e| {
            bad(format!(
                "coordinate [{lon}, {lat}] (lon, lat): {}",
                e.reason
            ))
        })
}

fn ring(item: &Item, positions: &[Position]) -> Result<LineString<f64>, Problem> {
    let mut coords = positions
        .iter()
        .map(|p| coord(item, p))
        .collect::<Result<Vec<_>, _>>()?;
    // GeoJSON rings repeat their first position at the end; a file that
    // forgets to is still unambiguous, so close it rather than refuse it.
    if let (Some(first), Some(last)) = (coords.first().copied(), coords.last())
        && first != *last
    {
        coords.push(first);
    }
    if coords.len() < 4 {
        return Err(Problem::BadGeometry {
            item: item.clone(),
            reason: format!(
                "a polygon ring needs at least 3 distinct positions, found {}",
                positions.len()
            ),
        });
    }
    Ok(LineString::new(coords))
}

fn polygon(item: &Item, rings: &[Vec<Position>]) -> Result<Polygon<f64>, Problem> {
    let Some((exterior, interiors)) = rings.split_first() else {
        return Err(Problem::BadGeometry {
            item: item.clone(),
            reason: "a polygon with no ring".into(),
        });
    };
    Ok(Polygon::new(
        ring(item, exterior)?,
        interiors
            .iter()
            .map(|r| ring(item, r))
            .collect::<Result<_, _>>()?,
    ))
}

/// A Polygon or MultiPolygon geometry.
pub(crate) fn area(item: &Item, feature: &Feature) -> Result<MultiPolygon<f64>, Problem> {
    let polygons = match feature.geometry.as_ref().map(|g| &g.value) {
        Some(GeometryValue::Polygon { coordinates }) => vec![polygon(item, coordinates)?],
        Some(GeometryValue::MultiPolygon { coordinates }) => coordinates
            .iter()
            .map(|p| polygon(item, p))
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(Problem::GeometryType {
                item: item.clone(),
                expected: "Polygon or MultiPolygon",
                found: type_name(feature).into(),
            });
        }
    };
    if polygons.is_empty() {
        return Err(Problem::BadGeometry {
            item: item.clone(),
            reason: "a MultiPolygon with no polygon".into(),
        });
    }
    Ok(MultiPolygon::new(polygons))
}

/// A LineString or MultiLineString geometry.
pub(crate) fn lines(item: &Item, feature: &Feature) -> Result<MultiLineString<f64>, Problem> {
    let line = |positions: &[Position]| -> Result<LineString<f64>, Problem> {
        let coords = positions
            .iter()
            .map(|p| coord(item, p))
            .collect::<Result<Vec<_>, _>>()?;
        if coords.len() < 2 {
            return Err(Problem::BadGeometry {
                item: item.clone(),
                reason: format!("a line needs at least 2 positions, found {}", coords.len()),
            });
        }
        Ok(LineString::new(coords))
    };
    let lines = match feature.geometry.as_ref().map(|g| &g.value) {
        Some(GeometryValue::LineString { coordinates }) => vec![line(coordinates)?],
        Some(GeometryValue::MultiLineString { coordinates }) => coordinates
            .iter()
            .map(|l| line(l))
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(Problem::GeometryType {
                item: item.clone(),
                expected: "LineString or MultiLineString",
                found: type_name(feature).into(),
            });
        }
    };
    if lines.is_empty() {
        return Err(Problem::BadGeometry {
            item: item.clone(),
            reason: "a MultiLineString with no line".into(),
        });
    }
    Ok(MultiLineString::new(lines))
}

/// A Point geometry.
pub(crate) fn point(item: &Item, feature: &Feature) -> Result<LatLon, Problem> {
    match feature.geometry.as_ref().map(|g| &g.value) {
        Some(GeometryValue::Point { coordinates }) => {
            let c = coord(item, coordinates)?;
            LatLon::new(c.y, c.x).map_err(|e| Problem::BadGeometry {
                item: item.clone(),
                reason: e.to_string(),
            })
        }
        _ => Err(Problem::GeometryType {
            item: item.clone(),
            expected: "Point",
            found: type_name(feature).into(),
        }),
    }
}

/// A `Duplicate` problem for every id seen before, in order.
pub(crate) fn duplicates<'a>(
    kind: ItemKind,
    ids: impl IntoIterator<Item = (usize, &'a str)>,
) -> Vec<Problem> {
    let mut first = std::collections::HashMap::new();
    let mut problems = Vec::new();
    for (index, id) in ids {
        if let Some(&earlier) = first.get(id) {
            problems.push(Problem::Duplicate {
                kind,
                id: id.to_owned(),
                first: earlier,
                again: index,
            });
        } else {
            first.insert(id, index);
        }
    }
    problems
}
