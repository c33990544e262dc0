//! A city's scenario: the files that describe its zones, units, stations
//! and containment rings, read and checked, with its road network.
//!
//! Each file has its own parser that works on text, so a file can be
//! checked alone ([`Zones::from_geojson_str`], [`Units::from_toml_str`],
//! [`Rings::from_geojson_str`], ...); [`Scenario::load`] reads them all,
//! checks them against each other and the map, and reports every problem
//! of every file at once.

mod area;
mod cells;
mod config;
mod containment_config;
mod embedded;
mod encircle_config;
mod features;
mod ids;
mod kinds;
mod load;
mod move_up_config;
mod posts;
mod problem;
mod ring_areas;
mod rings;
mod source;
mod standby_coverage;
mod stations;
mod topology;
mod units;
mod zones;

pub use cells::ZoneCell;
pub use config::{ScenarioConfig, ScenarioFiles, SnapLimits, Targets};
pub use containment_config::ContainmentConfig;
pub use embedded::{EMBEDDED_JINCHENG, jincheng};
pub use encircle_config::EncircleConfig;
pub use features::{PolygonFeature, polygon_features_from_geojson_str};
pub use ids::{CheckpointId, InvalidId, MAX_ID_LEN, PostId, RingId, StationId, UnitId, ZoneId};
pub use kinds::{
    CheckpointKind, MAX_TEAMS, MAX_TURNOUT_S, PostKind, SiteKind, StationKind, UnitKind,
    UnknownKind,
};
pub use load::Scenario;
pub use move_up_config::MoveUpConfig;
pub use posts::{Post, Posts};
pub use problem::{Item, ItemKind, Problem, Problems, ScenarioError};
pub use rings::{Checkpoint, ClosedAt, Ring, RingLevel, RingShape, Rings};
pub use source::{SCENARIO_FILE, ScenarioOverrides, ScenarioSource};
pub use standby_coverage::{
    AreaCoverage, CellEta, CoverageConfig, CoverageError, MAX_CELLS, StandbyCoverage, ZoneCoverage,
};
pub use stations::{Station, Stations};
pub use topology::{SLIVER_TOLERANCE_FRACTION, SLIVER_TOLERANCE_M2};
pub use units::{MAX_CREW, Standby, Unit, Units};
pub use zones::{ZONE_BEYOND_MAP_M, Zone, Zones};
