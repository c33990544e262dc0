//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use kuaifan_engine::{
    Command, DispatchConfig, DispatchState, LatLon, OsmRoads, PrepareConfig, Profile, RoadGraph,
    RouteQuery, Router, Scenario, ScenarioOverrides, SnapConfig, Snapped, Stamped, UnitStatus,
    World, jincheng,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A file under `../shared`, beside the repository: the real OSM extracts
/// and boundaries the tests compare against (README, "Test data").
///
/// `None` when it is missing outside CI: the test is skipped with one line
/// on the terminal saying what it skipped and where the data comes from,
/// so that a newcomer's fresh clone passes the test command. Under CI
/// (`CI=true`) the shared maps are part of the set-up, and a missing one
/// fails the test.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    let missing = format!(
        "../shared/{relative} is missing (the public OSM extracts and boundaries of README, \"Test data\", \
         at ../shared beside the repository)"
    );
    assert!(!in_ci(), "{missing}");
    skip(&missing);
    None
}

/// Whether the tests run under CI, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Says on the terminal that the running test is skipped and why. Written
/// to the process's stderr directly, not through `eprintln!`, which the
/// test harness captures and shows only for failures.
pub fn skip(why: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
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

pub mod browser;
pub mod containment;
pub mod etcd;
pub mod server;

/// The built-in Jincheng scenario under the default dispatch config,
/// loaded once per test binary and shared by its tests.
pub fn jincheng_world() -> Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD
        .get_or_init(|| {
            let scenario =
                Scenario::from_source(&jincheng(), &ScenarioOverrides::default(), &mut |_| {})
                    .expect("the built-in scenario loads");
            Arc::new(World::from_scenario(scenario, DispatchConfig::default()))
        })
        .clone()
}

/// A fresh state of `world` where only `free` units, chosen at random
/// from `rng`, can be sent: the others are set out of service at `at_ms`
/// (which opens the shift).
pub fn with_free_units(
    world: &Arc<World>,
    free: usize,
    at_ms: i64,
    rng: &mut ChaCha8Rng,
) -> DispatchState {
    let mut query = RouteQuery::new(world.scenario().router());
    let mut state = DispatchState::new(world.clone(), &mut query);
    let count = state.units().len();
    let mut slots: Vec<usize> = (0..count).collect();
    for k in 0..count {
        let j = rng.random_range(k..count);
        slots.swap(k, j);
    }
    for &slot in &slots[free.min(count)..] {
        let stamped = Stamped {
            at_ms,
            actor: "dispatcher-1".to_string(),
            command: Command::SetUnitStatus {
                unit: state.unit_id(slot).to_string(),
                status: UnitStatus::OutOfService,
                note: "test".to_string(),
            },
        };
        state
            .apply(&mut query, &stamped)
            .unwrap_or_else(|e| panic!("refused: {e}"));
    }
    state
}
