//! Inputs shared by kuaifan's benchmarks: the real Malta map, the generated
//! Jincheng map of the default scenario, a grid-like city of 300k nodes,
//! random locations on them, and zone sets (Jincheng's patrol zones and its
//! real county boundaries).
#![deny(missing_docs)]

use std::path::PathBuf;
use std::sync::OnceLock;

use kuaifan_engine::{
    BoundingBox, Direction, LatLon, OsmRoads, PrepareConfig, Profile, RoadGraph, Router, Scenario,
    ScenarioOverrides, SnapConfig, Snapped, WayRule, Zones,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The fixed seed of every random input, so runs compare.
pub const SEED: u64 = 0x6b75_6169_6661_6e31;

/// Side of the generated grid: 548 × 548 = 300,304 nodes before the largest
/// strongly connected component is taken.
pub const GRID_SIDE: usize = 548;

/// The path of a shared map, beside the repository.
pub fn shared_map(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/osm")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing (../shared beside the repository)",
        path.display()
    );
    path
}

/// Malta (the largest real map shipped), read and prepared once per process.
pub fn malta() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let roads =
            OsmRoads::read(&shared_map("malta.osm.pbf"), &Profile::default()).expect("Malta reads");
        let graph = RoadGraph::build(roads).expect("Malta builds");
        Router::prepare(graph, &PrepareConfig::default())
    })
}

/// The default scenario's generated Jincheng map (336k nodes), read and
/// prepared once per process.
pub fn jincheng() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/jincheng/jincheng.osm.pbf");
        let roads = OsmRoads::read(&path, &Profile::default()).expect("Jincheng reads");
        let graph = RoadGraph::build(roads).expect("Jincheng builds");
        Router::prepare(graph, &PrepareConfig::default())
    })
}

/// The default scenario (the embedded Jincheng: 34 zones, 39 units),
/// loaded once per process.
pub fn jincheng_scenario() -> &'static Scenario {
    static SCENARIO: OnceLock<Scenario> = OnceLock::new();
    SCENARIO.get_or_init(|| {
        Scenario::from_source(
            &kuaifan_engine::jincheng(),
            &ScenarioOverrides::default(),
            &mut |_| {},
        )
        .expect("the embedded Jincheng scenario loads")
    })
}

/// The generated city, built and prepared once per process.
pub fn grid() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let graph = RoadGraph::build(grid_city(GRID_SIDE, SEED)).expect("the grid builds");
        Router::prepare(graph, &PrepareConfig::default())
    })
}

/// The benchmark maps with their names.
pub fn maps() -> [(&'static str, &'static Router); 3] {
    [
        ("malta", malta()),
        ("jincheng", jincheng()),
        ("grid300k", grid()),
    ]
}

/// A grid-like city of `side` × `side` intersections around Chengqu,
/// Jincheng: blocks of about 110 m with jittered corners, a primary arterial
/// every 6th street, secondary every 3rd, alternating one-way residential
/// streets, and 4 % of blocks closed so that some trips must go around.
pub fn grid_city(side: usize, seed: u64) -> OsmRoads {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut roads = OsmRoads::new();
    let id = |row: usize, col: usize| (row * side + col) as i64 + 1;
    for row in 0..side {
        for col in 0..side {
            let lat = 35.25 + row as f64 * 0.001 + rng.random_range(-0.0002..0.0002);
            let lon = 112.55 + col as f64 * 0.0012 + rng.random_range(-0.0002..0.0002);
            roads.add_node(
                id(row, col),
                LatLon::new(lat, lon).expect("inside Jincheng"),
            );
        }
    }
    let rule = |street: usize, rng: &mut ChaCha8Rng| {
        let (speed_kmh, direction) = if street.is_multiple_of(6) {
            (60.0, Direction::Both)
        } else if street.is_multiple_of(3) {
            (50.0, Direction::Both)
        } else if street % 4 == 1 {
            (25.0, Direction::Forward)
        } else if street % 4 == 3 {
            (25.0, Direction::Backward)
        } else {
            (25.0, Direction::Both)
        };
        // Some streets carry a lower posted limit.
        let speed_kmh = if rng.random_bool(0.1) {
            speed_kmh * 0.7
        } else {
            speed_kmh
        };
        WayRule {
            speed_kmh,
            direction,
        }
    };
    let mut way = 0i64;
    for row in 0..side {
        for col in 0..side {
            for (r2, c2, street) in [(row, col + 1, row), (row + 1, col, col)] {
                if r2 >= side || c2 >= side || (!street.is_multiple_of(3) && rng.random_bool(0.04))
                {
                    continue;
                }
                way += 1;
                let rule = rule(street, &mut rng);
                roads.add_way(way, vec![id(row, col), id(r2, c2)], rule);
            }
        }
    }
    roads
}

/// `count` random locations on a map's roads, from a fixed seed.
pub fn locations(router: &Router, count: usize, seed: u64) -> Vec<Snapped> {
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

/// Random query points inside a map's box (not necessarily near a road).
pub fn points(router: &Router, count: usize, seed: u64) -> Vec<LatLon> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let b = router.graph().bounding_box();
    (0..count)
        .map(|_| {
            LatLon::new(
                rng.random_range(b.min_lat..=b.max_lat),
                rng.random_range(b.min_lon..=b.max_lon),
            )
            .expect("inside the box")
        })
        .collect()
}

/// The default scenario's 34 patrol zones (`data/jincheng/zones.geojson`).
pub fn patrol_zones() -> Zones {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/jincheng/zones.geojson");
    let text = std::fs::read_to_string(&path).expect("data/jincheng/zones.geojson reads");
    Zones::from_geojson_str(&text).expect("the patrol zones load")
}

/// Jincheng's six real county boundaries, from `../shared/geo/`.
pub fn county_zones() -> Zones {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/geo/jincheng_counties.geojson");
    assert!(
        path.exists(),
        "{} is missing (../shared beside the repository)",
        path.display()
    );
    let text = std::fs::read_to_string(&path).expect("the county boundaries read");
    Zones::from_geojson_str(&text).expect("the county boundaries load")
}

/// Random locations in the box around a set of zones, from a fixed seed.
pub fn points_in_zones_box(zones: &Zones, count: usize, seed: u64) -> Vec<LatLon> {
    let vertices = zones.iter().flat_map(|z| {
        z.geometry
            .0
            .iter()
            .flat_map(|p| p.exterior().0.iter())
            .filter_map(|c| LatLon::new(c.y, c.x).ok())
    });
    let b = BoundingBox::around(vertices).expect("zones have vertices");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            LatLon::new(
                rng.random_range(b.min_lat..=b.max_lat),
                rng.random_range(b.min_lon..=b.max_lon),
            )
            .expect("inside the box")
        })
        .collect()
}
