//! The three containment rings of a city and their checkpoints, read from
//! `rings.geojson`: ring 1 the urban core, ring 2 the city boundary (both
//! areas), ring 3 the provincial border (a line). Ring 1 may also list the
//! county-level areas (区/县, `"area": "county"`), ring 1 for an incident
//! outside the core; they must tile ring 2 ([`crate::scenario`]'s
//! `ring_areas` checks how).

use std::fmt;

use geo::{MultiLineString, MultiPolygon};

use crate::geo::LatLon;
use crate::scenario::area::multi_polygon_m2;
use crate::scenario::features::{self, PropFault, Props};
use crate::scenario::ids::{CheckpointId, RingId};
use crate::scenario::kinds::CheckpointKind;
use crate::scenario::problem::{Item, ItemKind, Problem, Problems};
use crate::scenario::ring_areas;

/// Which ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RingLevel {
    /// Ring 1: around the urban core.
    UrbanCore = 1,
    /// Ring 2: the city boundary.
    CityBoundary = 2,
    /// Ring 3: the provincial border.
    ProvincialBorder = 3,
}

impl RingLevel {
    /// The ring's number, 1 to 3.
    pub fn number(self) -> u8 {
        self as u8
    }

    fn from_number(n: f64) -> Option<Self> {
        [
            RingLevel::UrbanCore,
            RingLevel::CityBoundary,
            RingLevel::ProvincialBorder,
        ]
        .into_iter()
        .find(|level| f64::from(level.number()) == n)
    }
}

impl fmt::Display for RingLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ring {}", self.number())
    }
}

/// The shape of a ring.
#[derive(Clone, Debug, PartialEq)]
pub enum RingShape {
    /// An enclosed area (rings 1 and 2).
    Area(MultiPolygon<f64>),
    /// A line (ring 3, a border).
    Line(MultiLineString<f64>),
}

/// Where a ring is closed: at every road crossing its outline (the
/// default), or only at its fixed checkpoints (`"crossings":
/// "checkpoints"`, for a city that closes only its planned 卡口).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClosedAt {
    /// Every road crossing the outline.
    #[default]
    Roads,
    /// The ring's fixed checkpoints only.
    Checkpoints,
}

/// A containment ring, or one of ring 1's county-level areas.
#[derive(Clone, Debug, PartialEq)]
pub struct Ring {
    /// Its id.
    pub id: RingId,
    /// Its name.
    pub name: String,
    /// Which ring it is.
    pub level: RingLevel,
    /// Its shape, in degrees (x = longitude, y = latitude).
    pub shape: RingShape,
    /// Where it is closed.
    pub closed_at: ClosedAt,
}

impl Ring {
    /// The enclosed area in square metres (none for a line).
    pub fn area_m2(&self) -> Option<f64> {
        match &self.shape {
            RingShape::Area(a) => Some(multi_polygon_m2(a)),
            RingShape::Line(_) => None,
        }
    }
}

/// A checkpoint on a ring, where roads are closed off.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Its id.
    pub id: CheckpointId,
    /// Its name.
    pub name: String,
    /// What stands there.
    pub kind: CheckpointKind,
    /// The ring it closes.
    pub ring: RingLevel,
    /// The road's reference, such as `G5512` (may be empty).
    pub road: String,
    /// Where it is.
    pub location: LatLon,
}

/// The rings and checkpoints of a scenario: at most one feature per ring,
/// unique ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rings {
    rings: Vec<Ring>,
    areas: Vec<Ring>,
    checkpoints: Vec<Checkpoint>,
}

impl Rings {
    /// Reads and checks a rings GeoJSON text. A feature with a `checkpoint`
    /// property is a checkpoint (a Point with `name`, `kind`, `ring` and
    /// `road`); any other is a ring (`ring` 1 or 2 a Polygon or
    /// MultiPolygon, 3 a LineString or MultiLineString, with `id` and
    /// `name`, optionally `crossings`: `roads` or `checkpoints`), or, with
    /// `"area": "county"` and `ring` 1, a county-level area. The areas, if
    /// any, must tile ring 2 and ring 1 must lie inside ring 2. Every
    /// problem in the text is reported.
    pub fn from_geojson_str(text: &str) -> Result<Rings, Problems> {
        let features = features::collection(text)?;
        let mut problems = Vec::new();
        let mut rings: Vec<(usize, Ring)> = Vec::new();
        let mut areas: Vec<(usize, Ring)> = Vec::new();
        let mut checkpoints = Vec::new();
        let mut ring_ids = Vec::new();
        let mut checkpoint_ids = Vec::new();
        for (index, feature) in features.iter().enumerate() {
            let props = Props::of(feature);
            let before = problems.len();
            if props.has("checkpoint") {
                let id_text = props.code("checkpoint").ok().flatten();
                let item = Item::new(ItemKind::Checkpoint, index, id_text.as_deref());
                if let Some(id) = &id_text {
                    checkpoint_ids.push((index, id.clone()));
                }
                let checkpoint = read_checkpoint(&item, &props, feature, &mut problems);
                if let (Some(c), true) = (checkpoint, problems.len() == before) {
                    checkpoints.push(c);
                }
            } else {
                let id_text = props.code("id").ok().flatten();
                let item = Item::new(ItemKind::Ring, index, id_text.as_deref());
                if let Some(id) = &id_text {
                    ring_ids.push((index, id.clone()));
                }
                let ring = read_ring(&item, &props, feature, &mut problems);
                let county = is_county_area(&item, &props, ring.as_ref(), &mut problems);
                if let (Some(r), true) = (ring, problems.len() == before) {
                    if county {
                        areas.push((index, r));
                    } else {
                        rings.push((index, r));
                    }
                }
            }
        }
        problems.extend(features::duplicates(
            ItemKind::Ring,
            ring_ids.iter().map(|(i, id)| (*i, id.as_str())),
        ));
        problems.extend(features::duplicates(
            ItemKind::Checkpoint,
            checkpoint_ids.iter().map(|(i, id)| (*i, id.as_str())),
        ));
        for level in [
            RingLevel::UrbanCore,
            RingLevel::CityBoundary,
            RingLevel::ProvincialBorder,
        ] {
            let mut same = rings.iter().filter(|(_, r)| r.level == level);
            if let (Some((first, _)), Some((again, r))) = (same.next(), same.next()) {
                problems.push(Problem::BadValue {
                    item: Item::new(ItemKind::Ring, *again, Some(r.id.as_str())),
                    field: "ring",
                    value: level.number().to_string(),
                    expected: format!(
                        "one feature per ring; features[{first}] is already {level} (use a Multi geometry for several parts)"
                    ),
                });
            }
        }
        let rings: Vec<Ring> = rings.into_iter().map(|(_, r)| r).collect();
        let areas: Vec<Ring> = areas.into_iter().map(|(_, r)| r).collect();
        if problems.is_empty() {
            problems.extend(ring_areas::check(&rings, &areas));
        }
        Problems::check(problems)?;
        Ok(Rings {
            rings,
            areas,
            checkpoints,
        })
    }

    /// [`Rings::from_geojson_str`] on bytes that should be UTF-8.
    pub fn from_geojson_bytes(bytes: &[u8]) -> Result<Rings, Problems> {
        Self::from_geojson_str(features::utf8(bytes)?)
    }

    /// The rings, in file order.
    pub fn rings(&self) -> &[Ring] {
        &self.rings
    }

    /// The ring of a level, if the file has it.
    pub fn ring(&self, level: RingLevel) -> Option<&Ring> {
        self.rings.iter().find(|r| r.level == level)
    }

    /// Ring 1's county-level areas, in file order (empty if the file has
    /// none).
    pub fn areas(&self) -> &[Ring] {
        &self.areas
    }

    /// The checkpoints, in file order.
    pub fn checkpoints(&self) -> &[Checkpoint] {
        &self.checkpoints
    }

    /// The area inside the city boundary (ring 2) in square metres.
    pub fn city_area_m2(&self) -> Option<f64> {
        self.ring(RingLevel::CityBoundary).and_then(Ring::area_m2)
    }
}

fn ring_level(props: &Props<'_>) -> Result<RingLevel, PropFault> {
    let bad = |value: String| PropFault::Bad {
        field: "ring",
        value,
        expected: "1, 2 or 3",
    };
    match props.number("ring") {
        Ok(Some(n)) => RingLevel::from_number(n).ok_or_else(|| bad(n.to_string())),
        Ok(None) => Err(PropFault::Missing("ring")),
        Err(PropFault::Bad { value, .. }) => Err(bad(value)),
        Err(f) => Err(f),
    }
}

fn read_ring(
    item: &Item,
    props: &Props<'_>,
    feature: &geojson::Feature,
    problems: &mut Vec<Problem>,
) -> Option<Ring> {
    let mut fault = |f: PropFault| problems.push(f.into_problem(item.clone()));
    let id = match props.code("id") {
        Ok(Some(text)) => RingId::new(text)
            .map_err(|e| {
                fault(PropFault::Bad {
                    field: "id",
                    value: format!("{:?}", e.value),
                    expected: "a ring id",
                })
            })
            .ok(),
        Ok(None) => {
            fault(PropFault::Missing("id"));
            None
        }
        Err(f) => {
            fault(f);
            None
        }
    };
    let name = props.required_text("name").map_err(&mut fault).ok();
    let level = ring_level(props).map_err(&mut fault).ok();
    let closed_at = match props.text("crossings") {
        Ok(None) => Some(ClosedAt::Roads),
        Ok(Some(word)) => match word.as_str() {
            "roads" => Some(ClosedAt::Roads),
            "checkpoints" => Some(ClosedAt::Checkpoints),
            _ => {
                fault(PropFault::Bad {
                    field: "crossings",
                    value: format!("{word:?}"),
                    expected: "roads | checkpoints",
                });
                None
            }
        },
        Err(f) => {
            fault(f);
            None
        }
    };
    let shape = match level {
        Some(RingLevel::UrbanCore | RingLevel::CityBoundary) => features::area(item, feature)
            .map(RingShape::Area)
            .map_err(|p| problems.push(p))
            .ok(),
        Some(RingLevel::ProvincialBorder) => features::lines(item, feature)
            .map(RingShape::Line)
            .map_err(|p| problems.push(p))
            .ok(),
        None => None,
    };
    Some(Ring {
        id: id?,
        name: name?,
        level: level?,
        shape: shape?,
        closed_at: closed_at?,
    })
}

/// Whether a ring feature is one of ring 1's county-level areas
/// (`"area": "county"`), reporting a bad `area`.
fn is_county_area(
    item: &Item,
    props: &Props<'_>,
    ring: Option<&Ring>,
    problems: &mut Vec<Problem>,
) -> bool {
    let bad = |value: String, expected: &str| Problem::BadValue {
        item: item.clone(),
        field: "area",
        value,
        expected: expected.into(),
    };
    match props.text("area") {
        Ok(None) => false,
        Ok(Some(word)) if word == "county" => match ring.map(|r| r.level) {
            Some(RingLevel::UrbanCore) | None => true,
            Some(level) => {
                problems.push(bad(
                    format!("{word:?}"),
                    &format!("no `area` on {level}: only ring 1 has county-level areas"),
                ));
                false
            }
        },
        Ok(Some(word)) => {
            problems.push(bad(format!("{word:?}"), "county"));
            false
        }
        Err(f) => {
            problems.push(f.into_problem(item.clone()));
            false
        }
    }
}

fn read_checkpoint(
    item: &Item,
    props: &Props<'_>,
    feature: &geojson::Feature,
    problems: &mut Vec<Problem>,
) -> Option<Checkpoint> {
    let mut fault = |f: PropFault| problems.push(f.into_problem(item.clone()));
    let id = match props.code("checkpoint") {
        Ok(Some(text)) => CheckpointId::new(text)
            .map_err(|e| {
                fault(PropFault::Bad {
                    field: "checkpoint",
                    value: format!("{:?}", e.value),
                    expected: "a checkpoint id",
                })
            })
            .ok(),
        Ok(_) => None,
        Err(f) => {
            fault(f);
            None
        }
    };
    let name = props.required_text("name").map_err(&mut fault).ok();
    let kind = match props.required_text("kind") {
        Ok(word) => word
            .parse::<CheckpointKind>()
            .map_err(|e| {
                fault(PropFault::Bad {
                    field: "kind",
                    value: format!("{:?}", e.value),
                    expected: "toll_station | border_post | checkpoint",
                })
            })
            .ok(),
        Err(f) => {
            fault(f);
            None
        }
    };
    let ring = ring_level(props).map_err(&mut fault).ok();
    // A checkpoint off a numbered road (a township lane) has no reference.
    let road = props
        .text("road")
        .map_err(&mut fault)
        .ok()
        .map(Option::unwrap_or_default);
    let location = features::point(item, feature)
        .map_err(|p| problems.push(p))
        .ok();
    Some(Checkpoint {
        id: id?,
        name: name?,
        kind: kind?,
        ring: ring?,
        road: road?,
        location: location?,
    })
}
