//! What can be wrong with a scenario: one [`Problem`] per fault found, all
//! of a file's problems reported together, and the [`ScenarioError`] that
//! names the file.

use std::fmt;
use std::path::PathBuf;

use crate::road::profile::ProfileError;
use crate::route::NetworkError;

/// The kinds of things a scenario lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemKind {
    /// A zone of `zones.geojson`.
    Zone,
    /// A unit of `units.toml`.
    Unit,
    /// A station of `stations.geojson`.
    Station,
    /// A ring of `rings.geojson`.
    Ring,
    /// A checkpoint of `rings.geojson`.
    Checkpoint,
    /// A move-up post of the posts file.
    Post,
    /// A GeoJSON feature not yet known to be any of the others.
    Feature,
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ItemKind::Zone => "zone",
            ItemKind::Unit => "unit",
            ItemKind::Station => "station",
            ItemKind::Ring => "ring",
            ItemKind::Checkpoint => "checkpoint",
            ItemKind::Post => "post",
            ItemKind::Feature => "feature",
        })
    }
}

/// Where in a file a problem is: the item's kind, its position in the file
/// (0-based, as the array index of a GeoJSON feature or a TOML `[[unit]]`)
/// and its id when it has a readable one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// What it is.
    pub kind: ItemKind,
    /// Its 0-based position among the file's features or tables.
    pub index: usize,
    /// Its id, when one could be read.
    pub id: Option<String>,
}

impl Item {
    pub(crate) fn new(kind: ItemKind, index: usize, id: Option<&str>) -> Self {
        Self {
            kind,
            index,
            id: id.map(str::to_owned),
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let position = match self.kind {
            ItemKind::Unit => format!("unit[{}]", self.index),
            _ => format!("features[{}]", self.index),
        };
        match &self.id {
            Some(id) => write!(f, "{} {id} ({position})", self.kind),
            None => write!(f, "{} {position}", self.kind),
        }
    }
}

/// One thing wrong in a scenario file. Each displays as one line that names
/// the item and the offending value.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The file is not valid TOML or GeoJSON, or an item's structure is
    /// wrong (an unknown key, a missing field, a wrong type).
    #[error("{}{message}", at.as_ref().map(|i| format!("{i}: ")).unwrap_or_default())]
    Syntax {
        /// The item, when the fault is inside one.
        at: Option<Item>,
        /// The parser's description.
        message: String,
    },
    /// A geometry of the wrong type.
    #[error("{item}: geometry must be {expected}, found {found}")]
    GeometryType {
        /// The item.
        item: Item,
        /// What is allowed.
        expected: &'static str,
        /// What the file has.
        found: String,
    },
    /// A geometry of the right type that cannot be used: a bad coordinate,
    /// a ring too short, no area.
    #[error("{item}: {reason}")]
    BadGeometry {
        /// The item.
        item: Item,
        /// What is wrong with it.
        reason: String,
    },
    /// A required property or field is absent.
    #[error("{item}: missing `{field}`")]
    Missing {
        /// The item.
        item: Item,
        /// The property.
        field: &'static str,
    },
    /// A property or field has a value that is not allowed.
    #[error("{item}: `{field}` is {value}; expected {expected}")]
    BadValue {
        /// The item.
        item: Item,
        /// The property.
        field: &'static str,
        /// The value found, as written.
        value: String,
        /// What would be accepted.
        expected: String,
    },
    /// A setting of `scenario.toml` is out of range.
    #[error("`{key}` is {value}; expected {expected}")]
    Setting {
        /// The key, such as `targets.handle_s`.
        key: &'static str,
        /// The value found.
        value: String,
        /// What would be accepted.
        expected: String,
    },
    /// Two items of a kind share an id.
    #[error("duplicate {kind} id {id:?}: items {first} and {again}")]
    Duplicate {
        /// The kind of item.
        kind: ItemKind,
        /// The shared id.
        id: String,
        /// The 0-based position of the first.
        first: usize,
        /// The 0-based position of the repeat.
        again: usize,
    },
    /// Two zones cover the same ground.
    #[error("zones {a} and {b} overlap by {area_m2:.0} m²")]
    Overlap {
        /// The first zone's id.
        a: String,
        /// The second zone's id.
        b: String,
        /// The area they share.
        area_m2: f64,
    },
    /// A zone has an interior ring that no other zone fills.
    #[error(
        "zone {zone} has a hole of {area_m2:.0} m² near ({lat:.5}, {lon:.5}) that no zone covers"
    )]
    Hole {
        /// The zone's id.
        zone: String,
        /// Latitude of a point in the uncovered part.
        lat: f64,
        /// Longitude of that point.
        lon: f64,
        /// The uncovered area.
        area_m2: f64,
    },
    /// Ring 1's county-level areas do not tile ring 2, or ring 1 (the
    /// urban core) reaches outside ring 2.
    #[error("ring-1 areas: {reason}")]
    AreaTiling {
        /// What is wrong, with the ids, the area and where.
        reason: String,
    },
    /// Ground enclosed by zones but in none of them.
    #[error("gap of {area_m2:.0} m² between zones near ({lat:.5}, {lon:.5}): no zone covers it")]
    Gap {
        /// Latitude of a point in the gap.
        lat: f64,
        /// Longitude of that point.
        lon: f64,
        /// The gap's area.
        area_m2: f64,
    },
    /// A unit's home zone is not in the zones file.
    #[error("unit {unit}: home_zone {zone:?} is not a zone")]
    UnknownZone {
        /// The unit's id.
        unit: String,
        /// The zone named.
        zone: String,
    },
    /// A zone reaches far past the map: no incident there could be driven
    /// to, and its cells would be counted for nothing (most often a
    /// coordinate typed wrong).
    #[error(
        "zone {zone} reaches {distance_m:.0} m beyond the map's roads; at most {limit_m} m is allowed (is a coordinate wrong?)"
    )]
    ZoneBeyondMap {
        /// The zone's id.
        zone: String,
        /// Metres from the zone's farthest corner to the box around the roads.
        distance_m: f64,
        /// The most allowed (`ZONE_BEYOND_MAP_M`).
        limit_m: f64,
    },
    /// A unit's standby point is too far from any road to start a journey.
    #[error(
        "unit {unit}: standby point is {distance_m:.0} m from the nearest road; at most {limit_m} m is allowed"
    )]
    StandbyOffRoad {
        /// The unit's id.
        unit: String,
        /// Metres to the nearest road.
        distance_m: f64,
        /// `snap.standby_max_m` of the scenario.
        limit_m: f64,
    },
    /// A post names a station the stations file does not have.
    #[error("post {post}: station {station:?} is not a station")]
    UnknownStation {
        /// The post's id.
        post: String,
        /// The station named.
        station: String,
    },
    /// A post has the id of a unit: that id already names the unit's
    /// standby point as a post.
    #[error("post {post}: the id is a unit's, whose standby point is already the post {post}")]
    PostIdOfUnit {
        /// The post's id.
        post: String,
    },
    /// A post is too far from any road for a unit to wait there.
    #[error("post {post}: {distance_m:.0} m from the nearest road; at most {limit_m} m is allowed")]
    PostOffRoad {
        /// The post's id.
        post: String,
        /// Metres to the nearest road.
        distance_m: f64,
        /// `snap.standby_max_m` of the scenario.
        limit_m: f64,
    },
}

/// All problems found in one text, from the file parsers such as
/// [`crate::Zones::from_geojson_str`]; never empty.
#[derive(Clone, Debug, PartialEq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// `Ok(())` for no problems, else the list.
    pub(crate) fn check(problems: Vec<Problem>) -> Result<(), Problems> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Problems(problems))
        }
    }

    pub(crate) fn one(problem: Problem) -> Self {
        Problems(vec![problem])
    }

    /// The problems, in file order.
    pub fn as_slice(&self) -> &[Problem] {
        &self.0
    }

    /// The problems, in file order.
    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Why a scenario could not be loaded.
///
/// Each message is whole: the underlying error is part of it rather than a
/// `source()`, so a chain printer does not repeat it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// A file could not be read (most often: it does not exist).
    #[error("cannot read {}: {error}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The reason.
        error: std::io::Error,
    },
    /// A file was read and has problems; every one found is listed.
    #[error("{}: {} problem{}:\n  {}", file.display(), problems.len(), if problems.len() == 1 { "" } else { "s" }, Lines(problems))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// What is wrong with it, in file order.
        problems: Vec<Problem>,
    },
    /// The road profile could not be used.
    #[error("profile {}: {error}", file.display())]
    Profile {
        /// The profile file.
        file: PathBuf,
        /// The reason.
        error: ProfileError,
    },
    /// The map gave no road network.
    #[error("map {}: {error}", file.display())]
    Map {
        /// The map file.
        file: PathBuf,
        /// The reason.
        error: NetworkError,
    },
    /// More than one file failed; each is listed.
    #[error("{} files have problems:\n{}", .0.len(), Blocks(.0))]
    Several(Vec<ScenarioError>),
}

impl ScenarioError {
    /// Every problem of every invalid file, with the file it is in.
    pub fn problems(&self) -> Vec<(&PathBuf, &Problem)> {
        match self {
            ScenarioError::Invalid { file, problems } => {
                problems.iter().map(|p| (file, p)).collect()
            }
            ScenarioError::Several(all) => all.iter().flat_map(ScenarioError::problems).collect(),
            _ => Vec::new(),
        }
    }

    /// One error for a list of them: itself when alone.
    pub(crate) fn combine(mut errors: Vec<ScenarioError>) -> Option<ScenarioError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(ScenarioError::Several(errors)),
        }
    }
}

/// Problems one per indented line.
struct Lines<'a>(&'a [Problem]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n  ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Errors one after the other.
struct Blocks<'a>(&'a [ScenarioError]);

impl fmt::Display for Blocks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A count setting of `scenario.toml` (`key`, at most `high`): its value,
/// or `fallback` when it is absent or out of range (a problem then).
pub(crate) fn checked_count(
    problems: &mut Vec<Problem>,
    key: &'static str,
    value: Option<i64>,
    high: i64,
    fallback: usize,
) -> usize {
    match value {
        None => fallback,
        Some(v) if (0..=high).contains(&v) => v as usize,
        Some(v) => {
            problems.push(Problem::Setting {
                key,
                value: v.to_string(),
                expected: format!("0 to {high}"),
            });
            fallback
        }
    }
}
