//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::PathBuf;

use kuaifan_engine::{
    LatLon, OsmRoads, PrepareConfig, Profile, RoadGraph, Router, SnapConfig, Snapped,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A file under `../shared`, beside the repository. The shared maps are part
/// of every checkout's surroundings; a missing one is a broken setup, so the
/// test fails loudly rather than skipping.
pub fn shared(relative: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(relative);
    assert!(
        path.exists(),
        "{} is missing: the tests read the shared maps from ../shared beside the repository",
        path.display()
    );
    path
}

/// A committed fixture of this crate.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Loads and prepares a map with the default profile.
pub fn router(path: &std::path::Path) -> Router {
    let roads = OsmRoads::read(path, &Profile::default()).expect("readable map");
    let graph = RoadGraph::build(roads).expect("routable map");
    Router::prepare(graph, &PrepareConfig::default())
}

/// `count` random locations within the map's box that snap to a road, from a fixed seed.
pub fn random_locations(router: &Router, count: usize, seed: u64) -> Vec<Snapped> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let b = router.graph().bounding_box();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let at = LatLon::new(
            rng.random_range(b.min_lat..=b.max_lat),
            rng.random_range(b.min_lon..=b.max_lon),
        )
        .expect("inside the box");
        if let Ok(s) = router.graph().snap(at, &SnapConfig::default()) {
            out.push(s);
        }
    }
    out
}

pub mod server;
