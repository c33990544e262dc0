//! The small scenario the targets run on: the engine's test fixture, a
//! 3 x 3 block of streets in Chengqu with two zones and three units. It
//! loads in milliseconds, so each fuzz input can start from a fresh state.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use kuaifan_engine::{DispatchConfig, Scenario, ScenarioOverrides, ScenarioSource, World};

/// The scenario's files by the names its `scenario.toml` uses.
pub const FILES: [(&str, &[u8]); 7] = [
    (
        "scenario.toml",
        include_bytes!("../../../engine/tests/fixtures/scenario/valid/scenario.toml"),
    ),
    (
        "../../tiny.osm.pbf",
        include_bytes!("../../../engine/tests/fixtures/tiny.osm.pbf"),
    ),
    (
        "zones.geojson",
        include_bytes!("../../../engine/tests/fixtures/scenario/valid/zones.geojson"),
    ),
    (
        "units.toml",
        include_bytes!("../../../engine/tests/fixtures/scenario/valid/units.toml"),
    ),
    (
        "stations.geojson",
        include_bytes!("../../../engine/tests/fixtures/scenario/valid/stations.geojson"),
    ),
    (
        "rings.geojson",
        include_bytes!("../../../engine/tests/fixtures/scenario/valid/rings.geojson"),
    ),
    (
        "posts.geojson",
        include_bytes!("../../../engine/tests/fixtures/scenario/valid/posts.geojson"),
    ),
];

/// The scenario's files, with `replaced` (if any) given other content.
pub fn source(replaced: Option<(&str, &[u8])>) -> ScenarioSource {
    let files = FILES
        .iter()
        .map(|&(name, bytes)| {
            let bytes = match replaced {
                Some((r, content)) if r == name => Cow::Owned(content.to_vec()),
                _ => Cow::Borrowed(bytes),
            };
            (PathBuf::from(name), bytes)
        })
        .collect();
    ScenarioSource::Memory {
        label: "fuzz:tiny".to_string(),
        files,
    }
}

/// The fixture's world, loaded once and kept for the process (the service
/// borrows it for `'static`).
pub fn world() -> &'static Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD.get_or_init(|| {
        let scenario =
            Scenario::from_source(&source(None), &ScenarioOverrides::default(), &mut |_| {})
                .unwrap_or_else(|e| panic!("the fixture scenario loads: {e}"));
        Arc::new(World::from_scenario(scenario, DispatchConfig::default()))
    })
}
