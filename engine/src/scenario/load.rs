//! A whole scenario: every file read and checked, the road network
//! prepared, and each unit's standby point placed on a road.

use std::path::{Path, PathBuf};

use crate::road::profile::Profile;
use crate::road::snap::{SnapConfig, SnapError, Snapped};
use crate::route::{NetworkPhase, NetworkStats, Router};
use crate::scenario::config::ScenarioConfig;
use crate::scenario::features;
use crate::scenario::posts::{Post, Posts};
use crate::scenario::problem::{Problem, Problems, ScenarioError};
use crate::scenario::rings::Rings;
use crate::scenario::source::{SCENARIO_FILE, ScenarioOverrides, ScenarioSource, read_file};
use crate::scenario::stations::Stations;
use crate::scenario::units::{Unit, UnitRefs, Units, home_zone_problems};
use crate::scenario::zones::{self, Zones};

/// A city's scenario, loaded and checked: its zones, units, stations, rings
/// and the prepared road network, with every unit's standby point on a road.
#[derive(Debug)]
pub struct Scenario {
    config: ScenarioConfig,
    zones: Zones,
    units: Units,
    stations: Stations,
    rings: Rings,
    router: Router,
    standby: Vec<Snapped>,
    /// The units' standby points, then the posts file's.
    posts: Vec<Post>,
    /// Each post on the road network, in the order of `posts`.
    post_points: Vec<Snapped>,
    network: NetworkStats,
}

impl Scenario {
    /// Loads the scenario in a directory (its `scenario.toml` and the files
    /// it names), with some files replaced by `overrides`.
    ///
    /// Every file is read and checked even when an earlier one fails, so the
    /// error lists all the problems of all the files at once.
    ///
    /// ```
    /// use kuaifan_engine::{Scenario, ScenarioOverrides};
    /// let scenario = Scenario::load("tests/fixtures/scenario/valid".as_ref(), &ScenarioOverrides::default())?;
    /// assert_eq!((scenario.zones().len(), scenario.units().len()), (2, 3));
    /// # Ok::<(), kuaifan_engine::ScenarioError>(())
    /// ```
    pub fn load(dir: &Path, overrides: &ScenarioOverrides) -> Result<Scenario, ScenarioError> {
        Self::from_source(&ScenarioSource::Dir(dir.to_owned()), overrides, &mut |_| {})
    }

    /// Loads a scenario from any source, telling `progress` what loading the
    /// road network is busy with.
    pub fn from_source(
        source: &ScenarioSource,
        overrides: &ScenarioOverrides,
        progress: &mut dyn FnMut(NetworkPhase),
    ) -> Result<Scenario, ScenarioError> {
        let config_name = Path::new(SCENARIO_FILE);
        let config = ScenarioConfig::from_toml_bytes(&source.read(config_name)?).map_err(|p| {
            ScenarioError::Invalid {
                file: source.locate(config_name),
                problems: p.into_vec(),
            }
        })?;
        let files = &config.files;
        let mut errors = Vec::new();
        let invalid = |file: &PathBuf, problems: Problems| ScenarioError::Invalid {
            file: file.clone(),
            problems: problems.into_vec(),
        };

        let (zones_file, zones) = read_file(source, overrides.zones.as_deref(), &files.zones);
        let zones = zones.and_then(|bytes| {
            features::utf8(&bytes)
                .and_then(Zones::parse)
                .map_err(|p| invalid(&zones_file, p))
        });
        let (units_file, units) = read_file(source, overrides.units.as_deref(), &files.units);
        let units = units.and_then(|bytes| {
            features::utf8(&bytes)
                .and_then(Units::parse)
                .map_err(|p| invalid(&units_file, p))
        });
        let (stations_file, stations) =
            read_file(source, overrides.stations.as_deref(), &files.stations);
        let stations = stations.and_then(|bytes| {
            Stations::from_geojson_bytes(&bytes).map_err(|p| invalid(&stations_file, p))
        });
        let (rings_file, rings) = read_file(source, overrides.rings.as_deref(), &files.rings);
        let rings = rings.and_then(|bytes| {
            Rings::from_geojson_bytes(&bytes).map_err(|p| invalid(&rings_file, p))
        });

        let posts_name = overrides.posts.as_deref().or(files.posts.as_deref());
        let (posts_file, posts) = match posts_name {
            None => (PathBuf::new(), Ok(Posts::default())),
            Some(name) => {
                let (file, bytes) = read_file(source, overrides.posts.as_deref(), name);
                let posts = bytes.and_then(|bytes| {
                    Posts::from_geojson_bytes(&bytes).map_err(|p| invalid(&file, p))
                });
                (file, posts)
            }
        };

        let profile = match overrides.profile.as_deref().or(files.profile.as_deref()) {
            None => Ok(Profile::default()),
            Some(name) => {
                let (file, bytes) = read_file(source, overrides.profile.as_deref(), name);
                bytes.and_then(|bytes| {
                    let text = features::utf8(&bytes).map_err(|p| invalid(&file, p))?;
                    Profile::from_toml(text).map_err(|error| ScenarioError::Profile {
                        file: file.clone(),
                        error,
                    })
                })
            }
        };
        let (map_file, map) = read_file(source, overrides.map.as_deref(), &files.map);
        // Without a profile the map cannot be read; the profile's error
        // alone is reported, as it says nothing about the map.
        let network = profile.as_ref().ok().map(|profile| {
            map.and_then(|bytes| {
                Router::from_pbf_cached(&bytes, profile, overrides.cache.as_deref(), progress)
                    .map_err(|error| ScenarioError::Map {
                        file: map_file.clone(),
                        error,
                    })
            })
        });

        // The units file is checked against the other files too: home zones
        // must exist and standby points must be on a road.
        let mut standby = Vec::new();
        let units = units.and_then(|mut parsed| {
            if let Ok(z) = &zones {
                parsed.problems.extend(home_zone_problems(
                    &parsed.refs,
                    z.ids.iter().map(String::as_str),
                ));
            }
            if let Some(Ok(net)) = &network {
                let limit_m = config.snap.standby_max_m;
                parsed
                    .problems
                    .extend(standby_problems(&net.router, &parsed.refs, limit_m));
                standby = snap_standby(&net.router, &parsed.units, limit_m);
            }
            Problems::check(parsed.problems).map_err(|p| invalid(&units_file, p))?;
            Ok(Units::from_checked(parsed.units))
        });
        let zones = zones.and_then(|mut parsed| {
            if let Some(Ok(net)) = &network {
                parsed.problems.extend(zones::beyond_map_problems(
                    &parsed.zones,
                    net.router.graph().bounding_box(),
                ));
            }
            Problems::check(parsed.problems).map_err(|p| invalid(&zones_file, p))?;
            Ok(Zones::from_checked(parsed.zones))
        });

        // Posts are checked against the units (their ids name the standby
        // points), the stations they name and the map.
        let mut post_points = Vec::new();
        let posts = posts.and_then(|posts| {
            let mut problems = Vec::new();
            if let Ok(units) = &units {
                problems.extend(
                    posts
                        .as_slice()
                        .iter()
                        .filter(|p| units.index_of(p.id.as_str()).is_some())
                        .map(|p| Problem::PostIdOfUnit {
                            post: p.id.to_string(),
                        }),
                );
            }
            if let Ok(stations) = &stations {
                problems.extend(posts.as_slice().iter().filter_map(|p| {
                    let station = p.station.as_ref()?;
                    (!stations.iter().any(|s| s.id == *station)).then(|| Problem::UnknownStation {
                        post: p.id.to_string(),
                        station: station.to_string(),
                    })
                }));
            }
            if let Some(Ok(net)) = &network {
                let config = SnapConfig {
                    limit_m: config.snap.standby_max_m,
                };
                for p in posts.as_slice() {
                    match net.router.graph().snap(p.location, &config) {
                        Ok(snapped) => post_points.push(snapped),
                        Err(SnapError::OffNetwork {
                            distance_m,
                            limit_m,
                        }) => problems.push(Problem::PostOffRoad {
                            post: p.id.to_string(),
                            distance_m,
                            limit_m,
                        }),
                    }
                }
            }
            Problems::check(problems).map_err(|p| invalid(&posts_file, p))?;
            Ok(posts)
        });

        let zones = zones.map_err(|e| errors.push(e)).ok();
        let units = units.map_err(|e| errors.push(e)).ok();
        let stations = stations.map_err(|e| errors.push(e)).ok();
        let rings = rings.map_err(|e| errors.push(e)).ok();
        let posts = posts.map_err(|e| errors.push(e)).ok();
        if let Err(e) = profile {
            errors.push(e);
        }
        let network = match network {
            Some(Ok(net)) => Some(net),
            Some(Err(e)) => {
                errors.push(e);
                None
            }
            None => None,
        };
        match (zones, units, stations, rings, posts, network) {
            (Some(zones), Some(units), Some(stations), Some(rings), Some(posts), Some(net))
                if errors.is_empty() =>
            {
                let posts = posts.with_standby_points(&units);
                let post_points = standby.iter().copied().chain(post_points).collect();
                Ok(Scenario {
                    config,
                    zones,
                    units,
                    stations,
                    rings,
                    router: net.router,
                    standby,
                    posts,
                    post_points,
                    network: net.stats,
                })
            }
            // Every part that is missing pushed its error.
            _ => Err(ScenarioError::combine(errors).unwrap_or(ScenarioError::Several(Vec::new()))),
        }
    }

    /// The description file's content.
    pub fn config(&self) -> &ScenarioConfig {
        &self.config
    }

    /// The zones.
    pub fn zones(&self) -> &Zones {
        &self.zones
    }

    /// The units.
    pub fn units(&self) -> &Units {
        &self.units
    }

    /// The police stations.
    pub fn stations(&self) -> &Stations {
        &self.stations
    }

    /// The rings and their checkpoints.
    pub fn rings(&self) -> &Rings {
        &self.rings
    }

    /// The prepared road network.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Each unit's standby point on the road network, in the order of
    /// [`Scenario::units`].
    pub fn standby_points(&self) -> &[Snapped] {
        &self.standby
    }

    /// The move-up posts: every unit's standby point first (post `i` is
    /// unit `i`'s, with the unit's id), then the posts file's.
    pub fn posts(&self) -> &[Post] {
        &self.posts
    }

    /// Each post on the road network, in the order of [`Scenario::posts`].
    pub fn post_points(&self) -> &[Snapped] {
        &self.post_points
    }

    /// The position of a post by id.
    pub fn post_index(&self, id: &str) -> Option<usize> {
        self.posts.iter().position(|p| p.id.as_str() == id)
    }

    /// How the road network was obtained.
    pub fn network_stats(&self) -> NetworkStats {
        self.network
    }

    /// The snapping options for incidents: `snap.incident_max_m`.
    pub fn incident_snap(&self) -> SnapConfig {
        SnapConfig {
            limit_m: self.config.snap.incident_max_m,
        }
    }
}

/// One problem for each unit whose standby point is farther than `limit_m`
/// from every road.
fn standby_problems(router: &Router, units: &[UnitRefs], limit_m: f64) -> Vec<Problem> {
    let config = SnapConfig { limit_m };
    units
        .iter()
        .filter_map(|u| {
            let at = u.standby?;
            match router.graph().snap(at, &config) {
                Ok(_) => None,
                Err(SnapError::OffNetwork { distance_m, .. }) => Some(Problem::StandbyOffRoad {
                    unit: u.id.clone(),
                    distance_m,
                    limit_m,
                }),
            }
        })
        .collect()
}

/// Each unit's standby point on the road network; the units whose point is
/// too far were reported by [`standby_problems`], so these are kept only
/// when there are none.
fn snap_standby(router: &Router, units: &[Unit], limit_m: f64) -> Vec<Snapped> {
    let config = SnapConfig { limit_m };
    units
        .iter()
        .filter_map(|u| router.graph().snap(u.standby.location, &config).ok())
        .collect()
}
