//! The police units of a city and where each waits, read from `units.toml`.

use std::collections::HashMap;

use serde::Deserialize;

use crate::geo::LatLon;
use crate::scenario::features;
use crate::scenario::ids::{UnitId, ZoneId};
use crate::scenario::kinds::{SiteKind, UnitKind};
use crate::scenario::problem::{Item, ItemKind, Problem, Problems};

/// The largest crew accepted: more is surely a typing error.
pub const MAX_CREW: u32 = 50;

/// A police unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// Its id.
    pub id: UnitId,
    /// Its radio call sign.
    pub call_sign: String,
    /// What it is.
    pub kind: UnitKind,
    /// Officers aboard, 1 to [`MAX_CREW`].
    pub crew: u32,
    /// The zone it is responsible for.
    pub home_zone: ZoneId,
    /// Where it waits when idle.
    pub standby: Standby,
}

/// A unit's standby point.
#[derive(Clone, Debug, PartialEq)]
pub struct Standby {
    /// The place's name.
    pub name: String,
    /// What kind of place it is.
    pub site: SiteKind,
    /// Where it is.
    pub location: LatLon,
}

/// The units of a scenario, with unique ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Units {
    units: Vec<Unit>,
    by_id: HashMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnit {
    id: String,
    call_sign: String,
    kind: String,
    crew: i64,
    home_zone: String,
    standby: RawStandby,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStandby {
    name: String,
    site: String,
    lat: f64,
    lon: f64,
}

/// What a units file gave: the units that are well formed, and every
/// problem found.
pub(crate) struct UnitsParse {
    pub(crate) units: Vec<Unit>,
    /// What the checks against other files need, for every unit that could
    /// be read at all, even one with a bad field: so that one run reports a
    /// unit's bad kind and its unknown home zone together.
    pub(crate) refs: Vec<UnitRefs>,
    pub(crate) problems: Vec<Problem>,
}

/// A unit's references to the zones and the map.
pub(crate) struct UnitRefs {
    pub(crate) id: String,
    pub(crate) home_zone: String,
    pub(crate) standby: Option<LatLon>,
}

impl Units {
    /// Reads and checks a units TOML text: an array of `[[unit]]` tables.
    /// Every problem in the text is reported; the home zones and standby
    /// roads are checked by [`crate::Scenario::load`], which knows the zones
    /// and the map.
    ///
    /// ```
    /// let text = r#"
    /// [[unit]]
    /// id = "U01"
    /// call_sign = "晋城快反01"
    /// kind = "patrol_car"
    /// crew = 3
    /// home_zone = "Z01"
    /// [unit.standby]
    /// name = "泽州路商业中心"
    /// site = "commercial_centre"
    /// lat = 35.5012
    /// lon = 112.8456
    /// "#;
    /// let units = kuaifan_engine::Units::from_toml_str(text)?;
    /// assert_eq!(units.get("U01").map(|u| u.crew), Some(3));
    /// # Ok::<(), kuaifan_engine::Problems>(())
    /// ```
    pub fn from_toml_str(text: &str) -> Result<Units, Problems> {
        let parsed = Self::parse(text)?;
        Problems::check(parsed.problems)?;
        Ok(Units::from_checked(parsed.units))
    }

    /// [`Units::from_toml_str`] on bytes that should be UTF-8.
    pub fn from_toml_bytes(bytes: &[u8]) -> Result<Units, Problems> {
        Self::from_toml_str(features::utf8(bytes)?)
    }

    pub(crate) fn parse(text: &str) -> Result<UnitsParse, Problems> {
        let syntax = |message: String| Problem::Syntax { at: None, message };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| Problems::one(syntax(format!("not valid TOML: {e}"))))?;
        let mut problems = Vec::new();
        let mut tables = Vec::new();
        for (key, value) in table {
            match (key.as_str(), value) {
                ("unit", toml::Value::Array(items)) => tables = items,
                ("unit", other) => problems.push(syntax(format!(
                    "`unit` must be an array of tables ([[unit]]), found a {}",
                    other.type_str()
                ))),
                (key, _) => problems.push(syntax(format!(
                    "unknown key `{key}`: the file holds only [[unit]] tables"
                ))),
            }
        }
        if tables.is_empty() && problems.is_empty() {
            problems.push(syntax("no units: the file has no [[unit]] table".into()));
        }

        let mut units = Vec::with_capacity(tables.len());
        let mut refs = Vec::with_capacity(tables.len());
        let mut ids = Vec::new();
        for (index, value) in tables.into_iter().enumerate() {
            let id_text = value
                .get("id")
                .and_then(toml::Value::as_str)
                .map(str::to_owned);
            let item = Item::new(ItemKind::Unit, index, id_text.as_deref());
            if let Some(id) = &id_text {
                ids.push((index, id.clone()));
            }
            let raw: RawUnit = match value.try_into() {
                Ok(raw) => raw,
                Err(e) => {
                    problems.push(Problem::Syntax {
                        at: Some(item),
                        message: e.message().trim().to_owned(),
                    });
                    continue;
                }
            };
            refs.push(UnitRefs {
                id: raw.id.clone(),
                home_zone: raw.home_zone.clone(),
                standby: LatLon::new(raw.standby.lat, raw.standby.lon).ok(),
            });
            let before = problems.len();
            if let Some(unit) = check(&item, raw, &mut problems)
                && problems.len() == before
            {
                units.push(unit);
            }
        }
        problems.extend(features::duplicates(
            ItemKind::Unit,
            ids.iter().map(|(i, id)| (*i, id.as_str())),
        ));
        Ok(UnitsParse {
            units,
            refs,
            problems,
        })
    }

    pub(crate) fn from_checked(units: Vec<Unit>) -> Units {
        let by_id = units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.as_str().to_owned(), i))
            .collect();
        Units { units, by_id }
    }

    /// The units, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Unit> {
        self.units.iter()
    }

    /// The units as a slice, in file order.
    pub fn as_slice(&self) -> &[Unit] {
        &self.units
    }

    /// How many units there are.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// The unit with an id.
    pub fn get(&self, id: &str) -> Option<&Unit> {
        self.index_of(id).map(|i| &self.units[i])
    }

    /// The position of the unit with an id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// An [`Problem::UnknownZone`] for each unit whose home zone is not
    /// among `zone_ids`.
    pub fn check_home_zones<'z>(
        &self,
        zone_ids: impl IntoIterator<Item = &'z str>,
    ) -> Vec<Problem> {
        let refs: Vec<_> = self
            .units
            .iter()
            .map(|u| UnitRefs {
                id: u.id.to_string(),
                home_zone: u.home_zone.to_string(),
                standby: Some(u.standby.location),
            })
            .collect();
        home_zone_problems(&refs, zone_ids)
    }
}

pub(crate) fn home_zone_problems<'z>(
    units: &[UnitRefs],
    zone_ids: impl IntoIterator<Item = &'z str>,
) -> Vec<Problem> {
    let known: std::collections::HashSet<&str> = zone_ids.into_iter().collect();
    units
        .iter()
        .filter(|u| !known.contains(u.home_zone.as_str()))
        .map(|u| Problem::UnknownZone {
            unit: u.id.clone(),
            zone: u.home_zone.clone(),
        })
        .collect()
}

impl<'a> IntoIterator for &'a Units {
    type Item = &'a Unit;
    type IntoIter = std::slice::Iter<'a, Unit>;
    fn into_iter(self) -> Self::IntoIter {
        self.units.iter()
    }
}

/// Checks each field of a well-formed table, pushing one problem per bad
/// field; the unit when all are good.
fn check(item: &Item, raw: RawUnit, problems: &mut Vec<Problem>) -> Option<Unit> {
    let bad = |field: &'static str, value: String, expected: String| Problem::BadValue {
        item: item.clone(),
        field,
        value,
        expected,
    };
    let id = UnitId::new(raw.id)
        .map_err(|e| {
            problems.push(bad(
                "id",
                format!("{:?}", e.value),
                format!("an id ({})", e.reason),
            ))
        })
        .ok();
    let kind = raw
        .kind
        .parse::<UnitKind>()
        .map_err(|e| {
            problems.push(bad(
                "kind",
                format!("{:?}", e.value),
                format!("one of {}", e.expected.join(" | ")),
            ))
        })
        .ok();
    let crew = u32::try_from(raw.crew)
        .ok()
        .filter(|c| (1..=MAX_CREW).contains(c))
        .or_else(|| {
            problems.push(bad(
                "crew",
                raw.crew.to_string(),
                format!("1 to {MAX_CREW} officers"),
            ));
            None
        });
    let home_zone = ZoneId::new(raw.home_zone)
        .map_err(|e| {
            problems.push(bad(
                "home_zone",
                format!("{:?}", e.value),
                format!("a zone id ({})", e.reason),
            ))
        })
        .ok();
    let site = raw
        .standby
        .site
        .parse::<SiteKind>()
        .map_err(|e| {
            problems.push(bad(
                "standby.site",
                format!("{:?}", e.value),
                format!("one of {}", e.expected.join(" | ")),
            ))
        })
        .ok();
    let location = LatLon::new(raw.standby.lat, raw.standby.lon)
        .map_err(|e| {
            problems.push(bad(
                "standby",
                format!("lat = {}, lon = {}", e.lat, e.lon),
                format!("a valid position ({})", e.reason),
            ))
        })
        .ok();
    if raw.call_sign.trim().is_empty() {
        problems.push(bad(
            "call_sign",
            format!("{:?}", raw.call_sign),
            "a call sign".into(),
        ));
    }
    Some(Unit {
        id: id?,
        call_sign: raw.call_sign,
        kind: kind?,
        crew: crew?,
        home_zone: home_zone?,
        standby: Standby {
            name: raw.standby.name,
            site: site?,
            location: location?,
        },
    })
}
