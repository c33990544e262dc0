//! The car profile: which OSM ways a police car may drive, in which
//! direction, and how fast.

use std::collections::BTreeMap;

use crate::road::class::RoadClass;

/// Class speeds in km/h of the default profile (see the README).
const DEFAULT_SPEEDS: [(&str, f64); 15] = [
    ("motorway", 100.0),
    ("motorway_link", 60.0),
    ("trunk", 80.0),
    ("trunk_link", 50.0),
    ("primary", 60.0),
    ("primary_link", 40.0),
    ("secondary", 50.0),
    ("secondary_link", 35.0),
    ("tertiary", 40.0),
    ("tertiary_link", 30.0),
    ("unclassified", 30.0),
    ("residential", 25.0),
    ("living_street", 10.0),
    ("service", 15.0),
    ("road", 20.0),
];

/// Access values that close a way to cars in the default profile.
const DEFAULT_BLOCKED_ACCESS: [&str; 4] = ["no", "private", "agricultural", "forestry"];

/// The access keys, most specific first; the first one present decides.
const ACCESS_KEYS: [&str; 4] = ["motorcar", "motor_vehicle", "vehicle", "access"];

/// Speeds outside this range are typing errors, not roads.
const PLAUSIBLE_KMH: std::ops::RangeInclusive<f64> = 1.0..=300.0;

/// Which ways a car may use and how fast it drives on them.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    speeds: BTreeMap<String, f64>,
    blocked_access: Vec<String>,
}

/// The directions a way may be driven in, relative to its node order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Both ways.
    Both,
    /// Only in the order of the way's nodes.
    Forward,
    /// Only against the order of the way's nodes.
    Backward,
}

impl Direction {
    /// Whether the way may be driven in node order.
    pub fn forward(self) -> bool {
        matches!(self, Direction::Both | Direction::Forward)
    }

    /// Whether the way may be driven against node order.
    pub fn backward(self) -> bool {
        matches!(self, Direction::Both | Direction::Backward)
    }
}

/// How a routable way is driven: its speed and allowed directions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WayRule {
    /// Travel speed in km/h.
    pub speed_kmh: f64,
    /// Allowed directions.
    pub direction: Direction,
}

/// A profile file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The text is not valid TOML.
    #[error("profile is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// A key the profile does not know.
    #[error("profile: unknown key `{0}` (expected `speeds` or `blocked_access`)")]
    UnknownKey(String),
    /// A value of the wrong type or out of range.
    #[error("profile: `{key}` {problem}")]
    BadValue {
        /// The offending key, e.g. `speeds.residential`.
        key: String,
        /// What is wrong with its value.
        problem: String,
    },
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            speeds: DEFAULT_SPEEDS
                .iter()
                .map(|&(class, kmh)| (class.to_owned(), kmh))
                .collect(),
            blocked_access: DEFAULT_BLOCKED_ACCESS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

impl Profile {
    /// The default profile changed by a TOML document.
    ///
    /// `[speeds]` sets the km/h of a `highway` class (adding it when new; 0
    /// makes it unroutable); `blocked_access` replaces the list of access
    /// values that close a way.
    ///
    /// ```
    /// use kuaifan_engine::Profile;
    /// let p = Profile::from_toml("blocked_access = [\"no\"]\n[speeds]\ntrack = 15\nservice = 0\n")?;
    /// assert_eq!(p.class_speed_kmh("track"), Some(15.0));
    /// assert_eq!(p.class_speed_kmh("service"), None);
    /// # Ok::<(), kuaifan_engine::ProfileError>(())
    /// ```
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        let table: toml::Table = text.parse()?;
        let mut profile = Profile::default();
        for (key, value) in table {
            match key.as_str() {
                "speeds" => {
                    let speeds = value.as_table().ok_or_else(|| ProfileError::BadValue {
                        key: key.clone(),
                        problem: "must be a table of class = km/h".into(),
                    })?;
                    for (class, kmh) in speeds {
                        let key = format!("speeds.{class}");
                        let kmh = kmh
                            .as_float()
                            .or_else(|| kmh.as_integer().map(|i| i as f64))
                            .ok_or_else(|| ProfileError::BadValue {
                                key: key.clone(),
                                problem: format!("must be a number of km/h, not {kmh}"),
                            })?;
                        if kmh == 0.0 {
                            profile.speeds.remove(class);
                        } else if PLAUSIBLE_KMH.contains(&kmh) {
                            profile.speeds.insert(class.clone(), kmh);
                        } else {
                            return Err(ProfileError::BadValue {
                                key,
                                problem: format!("is {kmh} km/h; use 0 (not routable) or 1 to 300"),
                            });
                        }
                    }
                }
                "blocked_access" => {
                    let bad = || ProfileError::BadValue {
                        key: key.clone(),
                        problem: "must be an array of strings".into(),
                    };
                    let list = value.as_array().ok_or_else(bad)?;
                    profile.blocked_access = list
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
                        .collect::<Result<_, _>>()?;
                }
                _ => return Err(ProfileError::UnknownKey(key)),
            }
        }
        Ok(profile)
    }

    /// The speed of a `highway` class, or `None` when it is not routable.
    pub fn class_speed_kmh(&self, class: &str) -> Option<f64> {
        self.speeds.get(class).copied()
    }

    /// Decides from a way's tags whether a car may drive it, in which
    /// directions and how fast. `None` means the way is not part of the
    /// car network.
    ///
    /// ```
    /// use kuaifan_engine::{Direction, Profile};
    /// let p = Profile::default();
    /// let rule = p.evaluate([("highway", "primary"), ("oneway", "yes"), ("maxspeed", "30 mph")]).unwrap();
    /// assert_eq!(rule.direction, Direction::Forward);
    /// assert!((rule.speed_kmh - 48.28032).abs() < 1e-9);
    /// assert!(p.evaluate([("highway", "footway")]).is_none());
    /// ```
    pub fn evaluate<'t>(
        &self,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> Option<WayRule> {
        self.evaluate_classed(tags).map(|(rule, _)| rule)
    }

    /// [`Profile::evaluate`] with the way's [`RoadClass`], read from the
    /// same `highway` tag in the same pass over the tags.
    pub(crate) fn evaluate_classed<'t>(
        &self,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> Option<(WayRule, RoadClass)> {
        let mut highway = None;
        let mut maxspeed = None;
        let mut oneway = None;
        let mut junction = None;
        let mut access: [Option<&str>; ACCESS_KEYS.len()] = [None; ACCESS_KEYS.len()];
        for (key, value) in tags {
            match key {
                "highway" => highway = Some(value),
                "maxspeed" => maxspeed = Some(value),
                "oneway" => oneway = Some(value),
                "junction" => junction = Some(value),
                _ => {
                    if let Some(i) = ACCESS_KEYS.iter().position(|k| *k == key) {
                        access[i] = Some(value);
                    }
                }
            }
        }

        let highway = highway?;
        let class_speed = self.class_speed_kmh(highway)?;
        if let Some(decisive) = access.iter().flatten().next()
            && self.blocked_access.iter().any(|b| b == decisive)
        {
            return None;
        }
        let direction = match oneway {
            Some("yes" | "true" | "1") => Direction::Forward,
            Some("-1" | "reverse") => Direction::Backward,
            Some("no" | "false" | "0") => Direction::Both,
            Some("reversible" | "alternating") => return None,
            _ if matches!(highway, "motorway" | "motorway_link") => Direction::Forward,
            _ if matches!(junction, Some("roundabout" | "circular")) => Direction::Forward,
            _ => Direction::Both,
        };
        let speed_kmh = maxspeed.and_then(parse_maxspeed).unwrap_or(class_speed);
        Some((
            WayRule {
                speed_kmh,
                direction,
            },
            RoadClass::from_highway(highway),
        ))
    }
}

/// Reads an OSM `maxspeed` value as km/h.
///
/// A plain number is km/h; `N mph` is miles per hour; `N km/h`, `N kmh` and
/// `N kph` are km/h. Anything else (`none`, `signals`, `CN:urban`, several
/// values) is `None`, so the class speed applies.
///
/// ```
/// use kuaifan_engine::parse_maxspeed;
/// assert_eq!(parse_maxspeed("50"), Some(50.0));
/// assert_eq!(parse_maxspeed("60 km/h"), Some(60.0));
/// assert_eq!(parse_maxspeed("20 mph"), Some(32.18688));
/// assert_eq!(parse_maxspeed("CN:urban"), None);
/// ```
pub fn parse_maxspeed(value: &str) -> Option<f64> {
    let value = value.trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let kmh = match unit.trim_start() {
        "" | "km/h" | "kmh" | "kph" => number,
        "mph" => number * 1.609344,
        _ => return None,
    };
    PLAUSIBLE_KMH.contains(&kmh).then_some(kmh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(tags: &[(&str, &str)]) -> Option<WayRule> {
        Profile::default().evaluate(tags.iter().copied())
    }

    #[test]
    fn class_speeds_are_the_documented_ones() {
        assert_eq!(
            rule(&[("highway", "residential")]).map(|r| r.speed_kmh),
            Some(25.0)
        );
        assert_eq!(
            rule(&[("highway", "motorway")]).map(|r| r.speed_kmh),
            Some(100.0)
        );
        assert_eq!(
            rule(&[("highway", "living_street")]).map(|r| r.speed_kmh),
            Some(10.0)
        );
        for not_a_road in [
            "footway",
            "track",
            "cycleway",
            "path",
            "steps",
            "construction",
            "proposed",
        ] {
            assert_eq!(rule(&[("highway", not_a_road)]), None, "{not_a_road}");
        }
        assert_eq!(rule(&[("name", "no highway tag")]), None);
    }

    #[test]
    fn maxspeed_forms() {
        assert_eq!(parse_maxspeed("40"), Some(40.0));
        assert_eq!(parse_maxspeed("40.5"), Some(40.5));
        assert_eq!(parse_maxspeed("40 kmh"), Some(40.0));
        assert_eq!(parse_maxspeed("40 kph"), Some(40.0));
        assert_eq!(parse_maxspeed("40km/h"), Some(40.0));
        assert_eq!(parse_maxspeed("30 mph"), Some(30.0 * 1.609344));
        for fallback in [
            "none", "signals", "CN:urban", "walk", "50;30", "", "0", "-5", "mph", "1e3",
        ] {
            assert_eq!(parse_maxspeed(fallback), None, "{fallback:?}");
        }
        let r = rule(&[("highway", "residential"), ("maxspeed", "RU:urban")]).unwrap();
        assert_eq!(r.speed_kmh, 25.0);
        let r = rule(&[("highway", "residential"), ("maxspeed", "40")]).unwrap();
        assert_eq!(
            r.speed_kmh, 40.0,
            "a parsed maxspeed replaces the class speed, even upwards"
        );
    }

    #[test]
    fn oneway_forms() {
        let dir = |tags: &[(&str, &str)]| rule(tags).map(|r| r.direction);
        for yes in ["yes", "true", "1"] {
            assert_eq!(
                dir(&[("highway", "primary"), ("oneway", yes)]),
                Some(Direction::Forward)
            );
        }
        for back in ["-1", "reverse"] {
            assert_eq!(
                dir(&[("highway", "primary"), ("oneway", back)]),
                Some(Direction::Backward)
            );
        }
        for no in ["no", "false", "0"] {
            assert_eq!(
                dir(&[("highway", "motorway"), ("oneway", no)]),
                Some(Direction::Both)
            );
        }
        for dropped in ["reversible", "alternating"] {
            assert_eq!(dir(&[("highway", "primary"), ("oneway", dropped)]), None);
        }
        assert_eq!(
            dir(&[("highway", "motorway_link")]),
            Some(Direction::Forward)
        );
        assert_eq!(
            dir(&[("highway", "primary"), ("junction", "roundabout")]),
            Some(Direction::Forward)
        );
        assert_eq!(
            dir(&[("highway", "primary"), ("junction", "circular")]),
            Some(Direction::Forward)
        );
        assert_eq!(
            dir(&[
                ("highway", "primary"),
                ("junction", "roundabout"),
                ("oneway", "no")
            ]),
            Some(Direction::Both)
        );
        assert_eq!(
            dir(&[("highway", "primary"), ("oneway", "unknown")]),
            Some(Direction::Both)
        );
    }

    #[test]
    fn the_most_specific_access_key_decides() {
        let ok = |tags: &[(&str, &str)]| rule(tags).is_some();
        assert!(!ok(&[("highway", "service"), ("access", "private")]));
        assert!(ok(&[
            ("highway", "service"),
            ("access", "private"),
            ("motorcar", "yes")
        ]));
        assert!(!ok(&[
            ("highway", "service"),
            ("access", "yes"),
            ("motor_vehicle", "no")
        ]));
        assert!(ok(&[
            ("highway", "service"),
            ("vehicle", "destination"),
            ("access", "no")
        ]));
        for blocked in ["no", "private", "agricultural", "forestry"] {
            assert!(!ok(&[("highway", "track2"), ("access", blocked)]));
            assert!(
                !ok(&[("highway", "residential"), ("vehicle", blocked)]),
                "{blocked}"
            );
        }
        assert!(ok(&[("highway", "residential"), ("access", "permissive")]));
    }

    #[test]
    fn the_class_comes_from_the_highway_tag() {
        let class = |tags: &[(&str, &str)]| {
            Profile::default()
                .evaluate_classed(tags.iter().copied())
                .map(|(_, c)| c)
        };
        assert_eq!(
            class(&[("highway", "primary_link"), ("maxspeed", "30")]),
            Some(RoadClass::Primary)
        );
        assert_eq!(class(&[("highway", "residential")]), Some(RoadClass::Minor));
        assert_eq!(class(&[("highway", "footway")]), None);
        let p = Profile::from_toml("[speeds]\ntrack = 15\n").unwrap();
        assert_eq!(
            p.evaluate_classed([("highway", "track")]).map(|(_, c)| c),
            Some(RoadClass::Minor)
        );
    }

    #[test]
    fn profile_file_overrides_the_defaults() {
        let p =
            Profile::from_toml("[speeds]\nresidential = 30.5\ntrack = 10\nservice = 0\n").unwrap();
        assert_eq!(p.class_speed_kmh("residential"), Some(30.5));
        assert_eq!(p.class_speed_kmh("track"), Some(10.0));
        assert_eq!(p.class_speed_kmh("service"), None);
        assert_eq!(p.class_speed_kmh("primary"), Some(60.0));
        let p = Profile::from_toml("blocked_access = [\"no\"]").unwrap();
        assert!(
            p.evaluate([("highway", "residential"), ("access", "private")])
                .is_some()
        );
    }

    #[test]
    fn profile_file_errors_name_the_key() {
        let err = |text: &str| Profile::from_toml(text).unwrap_err().to_string();
        assert!(err("[speeds]\nresidential = -3\n").contains("speeds.residential"));
        assert!(err("[speeds]\nresidential = \"fast\"\n").contains("speeds.residential"));
        assert!(err("speed = 3").contains("unknown key `speed`"));
        assert!(err("blocked_access = [1]").contains("blocked_access"));
        assert!(err("[speeds\n").contains("not valid TOML"));
    }
}
