//! The Jincheng scenario compiled into kuaifan, so the program serves a
//! whole city on a fresh machine without fetching anything.

use std::borrow::Cow;
use std::path::PathBuf;

use crate::scenario::source::ScenarioSource;

/// How the embedded scenario is named in messages.
pub const EMBEDDED_JINCHENG: &str = "embedded:jincheng";

macro_rules! scenario_file {
    ($name:literal) => {
        (
            PathBuf::from($name),
            Cow::Borrowed(&include_bytes!(concat!("../../../data/jincheng/", $name))[..]),
        )
    };
}

/// The generated Jincheng scenario of `data/jincheng/` (see its README):
/// the default when no scenario directory is given.
pub fn jincheng() -> ScenarioSource {
    ScenarioSource::Memory {
        label: EMBEDDED_JINCHENG.to_string(),
        files: vec![
            scenario_file!("scenario.toml"),
            scenario_file!("jincheng.osm.pbf"),
            scenario_file!("zones.geojson"),
            scenario_file!("units.toml"),
            scenario_file!("stations.geojson"),
            scenario_file!("rings.geojson"),
            scenario_file!("posts.geojson"),
        ],
    }
}
