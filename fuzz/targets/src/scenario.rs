//! `scenario`: arbitrary text as one file of a scenario (its TOML, zones,
//! units, stations, rings or posts), the others the fixture's; or as a road
//! profile. The loader answers with the scenario or with problems that
//! name the file; a scenario that loads is usable for dispatch.

use std::sync::Arc;

use kuaifan_engine::{
    DispatchConfig, DispatchState, OsmRoads, Profile, RoadGraph, RouteQuery, Scenario,
    ScenarioError, ScenarioOverrides, World,
};

use crate::fixture;

/// The files an input may replace; the first byte chooses (posts came
/// last, so the older corpus keeps its meaning).
const REPLACEABLE: [&str; 7] = [
    "scenario.toml",
    "zones.geojson",
    "units.toml",
    "stations.geojson",
    "rings.geojson",
    "profile.toml",
    "posts.geojson",
];

/// Runs one input: the first byte picks the file, the rest is its content.
pub fn run(data: &[u8]) {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let file = REPLACEABLE[usize::from(pick) % REPLACEABLE.len()];
    if file == "profile.toml" {
        let Ok(text) = std::str::from_utf8(content) else {
            return;
        };
        match Profile::from_toml(text) {
            // A profile that parses is one the map can be read with.
            Ok(profile) => {
                if let Ok(roads) = OsmRoads::from_pbf_bytes(fixture::FILES[1].1, &profile) {
                    let _ = RoadGraph::build(roads);
                }
            }
            Err(e) => assert!(!e.to_string().is_empty(), "an error says what is wrong"),
        }
        return;
    }
    let source = fixture::source(Some((file, content)));
    match Scenario::from_source(&source, &ScenarioOverrides::default(), &mut |_| {}) {
        Ok(scenario) => {
            // Whatever loads must be fit to dispatch from.
            let world = Arc::new(World::from_scenario(scenario, DispatchConfig::default()));
            let mut query = RouteQuery::new(world.scenario().router());
            let state = DispatchState::new(world.clone(), &mut query);
            assert_eq!(state.units().len(), world.scenario().units().len());
        }
        Err(ScenarioError::Invalid { problems, .. }) => {
            assert!(!problems.is_empty(), "an invalid file lists its problems");
        }
        Err(e) => assert!(!e.to_string().is_empty(), "an error says what is wrong"),
    }
}
