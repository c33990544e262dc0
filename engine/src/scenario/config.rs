//! `scenario.toml`: what a scenario is called, which files make it, and the
//! response-time targets it is held to.

use std::path::PathBuf;

use serde::Deserialize;

use crate::scenario::containment_config::{ContainmentConfig, RawContainment};
use crate::scenario::encircle_config::{EncircleConfig, RawEncircle};
use crate::scenario::features;
use crate::scenario::move_up_config::{MoveUpConfig, RawMoveUp};
use crate::scenario::problem::{Problem, Problems};

/// A scenario's description file, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioConfig {
    /// The city's name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The files, relative to the scenario's directory.
    pub files: ScenarioFiles,
    /// The response-time targets.
    pub targets: Targets,
    /// The snapping limits.
    pub snap: SnapLimits,
    /// The budget of move-up advice (`[move_up]`).
    pub move_up: MoveUpConfig,
    /// The budget of an encirclement (`[encircle]`).
    pub encircle: EncircleConfig,
    /// The budget of a containment (`[containment]`).
    pub containment: ContainmentConfig,
}

/// The files a scenario is made of, as named in `scenario.toml`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioFiles {
    /// The OpenStreetMap extract (`.osm.pbf`).
    pub map: PathBuf,
    /// The zones (GeoJSON).
    pub zones: PathBuf,
    /// The units (TOML).
    pub units: PathBuf,
    /// The police stations (GeoJSON).
    pub stations: PathBuf,
    /// The rings and checkpoints (GeoJSON).
    pub rings: PathBuf,
    /// A road profile (TOML) replacing parts of the default car profile.
    pub profile: Option<PathBuf>,
    /// The move-up posts (GeoJSON) beyond the units' standby points.
    pub posts: Option<PathBuf>,
}

/// The response-time targets in seconds: the first unit to arrive and
/// handle, support arriving, the area encircled (the 1-3-5 minute standard
/// by default). Positive and in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Targets {
    /// First unit on scene.
    pub handle_s: u32,
    /// Support on scene.
    pub support_s: u32,
    /// The area encircled.
    pub encircle_s: u32,
}

impl Targets {
    /// The three targets in order.
    pub fn as_array(self) -> [u32; 3] {
        [self.handle_s, self.support_s, self.encircle_s]
    }
}

impl Default for Targets {
    fn default() -> Self {
        Self {
            handle_s: 60,
            support_s: 180,
            encircle_s: 300,
        }
    }
}

/// How far from a road a location may be, in metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SnapLimits {
    /// An incident farther than this from every road is off the network.
    pub incident_max_m: f64,
    /// A unit's standby point farther than this from every road is an
    /// error in the scenario.
    pub standby_max_m: f64,
}

impl Default for SnapLimits {
    fn default() -> Self {
        Self {
            incident_max_m: 1_000.0,
            standby_max_m: 30.0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: String,
    #[serde(default)]
    description: String,
    map: PathBuf,
    zones: PathBuf,
    units: PathBuf,
    stations: PathBuf,
    rings: PathBuf,
    profile: Option<PathBuf>,
    posts: Option<PathBuf>,
    #[serde(default)]
    targets: Option<RawTargets>,
    #[serde(default)]
    snap: Option<RawSnap>,
    #[serde(default)]
    move_up: Option<RawMoveUp>,
    #[serde(default)]
    encircle: Option<RawEncircle>,
    containment: Option<RawContainment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    handle_s: i64,
    support_s: i64,
    encircle_s: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSnap {
    incident_max_m: f64,
    standby_max_m: f64,
}

/// The longest target accepted: an hour. Longer is not a response target.
const MAX_TARGET_S: i64 = 3_600;

impl ScenarioConfig {
    /// Reads and checks a `scenario.toml` text. Unknown keys are refused so
    /// that a misspelt one is not silently ignored.
    ///
    /// ```
    /// let text = r#"
    /// name = "Jincheng, Shanxi"
    /// map = "jincheng.osm.pbf"
    /// zones = "zones.geojson"
    /// units = "units.toml"
    /// stations = "stations.geojson"
    /// rings = "rings.geojson"
    /// [targets]
    /// handle_s = 60
    /// support_s = 180
    /// encircle_s = 300
    /// "#;
    /// let config = kuaifan_engine::ScenarioConfig::from_toml_str(text)?;
    /// assert_eq!(config.targets.as_array(), [60, 180, 300]);
    /// assert_eq!(config.snap.standby_max_m, 30.0);
    /// # Ok::<(), kuaifan_engine::Problems>(())
    /// ```
    pub fn from_toml_str(text: &str) -> Result<ScenarioConfig, Problems> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            Problems::one(Problem::Syntax {
                at: None,
                message: e.to_string().trim().to_owned(),
            })
        })?;
        let mut problems = Vec::new();
        let mut bad = |key: &'static str, value: String, expected: &str| {
            problems.push(Problem::Setting {
                key,
                value,
                expected: expected.to_owned(),
            })
        };

        let targets = match raw.targets {
            None => Targets::default(),
            Some(t) => {
                let mut seconds = |field, v: i64| match u32::try_from(v) {
                    Ok(s) if (1..=MAX_TARGET_S).contains(&v) => s,
                    _ => {
                        bad(field, v.to_string(), "1 to 3600 seconds");
                        1
                    }
                };
                let targets = Targets {
                    handle_s: seconds("targets.handle_s", t.handle_s),
                    support_s: seconds("targets.support_s", t.support_s),
                    encircle_s: seconds("targets.encircle_s", t.encircle_s),
                };
                if !(targets.handle_s <= targets.support_s
                    && targets.support_s <= targets.encircle_s)
                {
                    bad(
                        "targets",
                        format!("{:?}", targets.as_array()),
                        "handle_s <= support_s <= encircle_s",
                    );
                }
                targets
            }
        };
        let snap = match raw.snap {
            None => SnapLimits::default(),
            Some(s) => {
                for (field, v) in [
                    ("snap.incident_max_m", s.incident_max_m),
                    ("snap.standby_max_m", s.standby_max_m),
                ] {
                    if !(v.is_finite() && v > 0.0 && v <= 100_000.0) {
                        bad(
                            field,
                            v.to_string(),
                            "a positive number of metres, at most 100000",
                        );
                    }
                }
                SnapLimits {
                    incident_max_m: s.incident_max_m,
                    standby_max_m: s.standby_max_m,
                }
            }
        };
        for (field, path) in [
            ("map", &raw.map),
            ("zones", &raw.zones),
            ("units", &raw.units),
            ("stations", &raw.stations),
            ("rings", &raw.rings),
        ]
        .into_iter()
        .chain(raw.profile.as_ref().map(|p| ("profile", p)))
        .chain(raw.posts.as_ref().map(|p| ("posts", p)))
        {
            if path.as_os_str().is_empty() {
                bad(field, "empty".into(), "a file name");
            }
        }
        let move_up = match raw.move_up {
            None => MoveUpConfig::default(),
            Some(m) => m.check(&mut problems),
        };
        let encircle = match raw.encircle {
            None => EncircleConfig::default(),
            Some(e) => e.check(&mut problems),
        };
        let containment = match raw.containment {
            None => ContainmentConfig::default(),
            Some(c) => c.check(&mut problems),
        };
        Problems::check(problems)?;
        Ok(ScenarioConfig {
            name: raw.name,
            description: raw.description,
            files: ScenarioFiles {
                map: raw.map,
                zones: raw.zones,
                units: raw.units,
                stations: raw.stations,
                rings: raw.rings,
                profile: raw.profile,
                posts: raw.posts,
            },
            targets,
            snap,
            move_up,
            encircle,
            containment,
        })
    }

    /// [`ScenarioConfig::from_toml_str`] on bytes that should be UTF-8.
    pub fn from_toml_bytes(bytes: &[u8]) -> Result<ScenarioConfig, Problems> {
        Self::from_toml_str(features::utf8(bytes)?)
    }
}
