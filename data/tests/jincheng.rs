//! The committed Jincheng scenario: reproducible, readable by standard OSM
//! tools, at city scale, and shaped like the real city.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use geo::{Area, BooleanOps, Coord, LineString, MultiPolygon, Polygon};
use kuaifan_engine::{
    LatLon, OsmRoads, PrepareConfig, Profile, RoadGraph, RouteQuery, Router, SnapConfig,
};
use osmpbf::{Element, ElementReader};
use serde_json::Value;

fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("jincheng")
}

fn map_path() -> PathBuf {
    scenario_dir().join("jincheng.osm.pbf")
}

/// A file under `../shared`, beside the repository (the real boundaries of
/// README, "Test data"). `None` when it is missing outside CI: the test is
/// skipped with one line on the terminal (written to stderr directly, past
/// the harness's capture); under CI (`CI=true`) a missing file fails.
fn shared(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    let missing = format!(
        "../shared/{relative} is missing (the public boundaries of README, \"Test data\", \
         at ../shared beside the repository)"
    );
    assert!(!in_ci(), "{missing}");
    skip(&missing);
    None
}

/// Whether the tests run under CI, where nothing may be skipped.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Says on the terminal that the running test is skipped and why (to
/// stderr directly: the harness captures `eprintln!`).
fn skip(why: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
}

fn json(name: &str) -> Value {
    let text = std::fs::read_to_string(scenario_dir().join(name)).expect("committed file");
    serde_json::from_str(&text).expect("valid JSON")
}

fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let roads = OsmRoads::read(&map_path(), &Profile::default()).expect("readable map");
        let graph = RoadGraph::build(roads).expect("routable map");
        Router::prepare(graph, &PrepareConfig::default())
    })
}

fn ring(coords: &Value) -> LineString<f64> {
    coords
        .as_array()
        .expect("ring")
        .iter()
        .map(|c| Coord {
            x: c[0].as_f64().expect("lon"),
            y: c[1].as_f64().expect("lat"),
        })
        .collect()
}

fn polygon(geometry: &Value) -> MultiPolygon<f64> {
    let polygon_of = |rings: &Value| {
        let rings = rings.as_array().expect("rings");
        Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
    };
    match geometry["type"].as_str() {
        Some("Polygon") => MultiPolygon(vec![polygon_of(&geometry["coordinates"])]),
        Some("MultiPolygon") => MultiPolygon(
            geometry["coordinates"]
                .as_array()
                .expect("polygons")
                .iter()
                .map(polygon_of)
                .collect(),
        ),
        other => panic!("not a polygon: {other:?}"),
    }
}

fn ring_feature(n: u64) -> Value {
    json("rings.geojson")["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| {
            f["properties"]["ring"].as_u64() == Some(n) && f["properties"]["checkpoint"].is_null()
        })
        .cloned()
        .expect("ring feature")
}

#[test]
fn the_generator_reproduces_the_committed_files_byte_for_byte() {
    let first = kuaifan_data::generate(kuaifan_data::DEFAULT_SEED).expect("generates");
    let second = kuaifan_data::generate(kuaifan_data::DEFAULT_SEED).expect("generates");
    assert_eq!(first.files.len(), 7);
    for ((name, a), (_, b)) in first.files.iter().zip(&second.files) {
        assert!(a == b, "{name}: two runs differ");
        let committed = std::fs::read(scenario_dir().join(name)).expect("committed file");
        assert!(
            &committed == a,
            "data/jincheng/{name} is not what the generator writes; run `cargo run --release -p kuaifan-data -- generate`"
        );
    }
    let other = kuaifan_data::generate(kuaifan_data::DEFAULT_SEED + 1).expect("generates");
    assert_ne!(other.files[0].1, first.files[0].1, "the seed must matter");
}

#[test]
fn osmium_reads_the_map_and_agrees_on_its_contents() {
    let output = match Command::new("osmium")
        .args(["fileinfo", "--extended", "--json", "--no-progress"])
        .arg(map_path())
        .output()
    {
        Ok(output) => output,
        // CI installs osmium-tool, so there a missing tool is a failure; on
        // a developer's machine the rest of the suite still runs.
        Err(e) if !in_ci() => {
            skip(&format!(
                "osmium-tool is not installed ({e}); `apt-get install osmium-tool` to run this check"
            ));
            return;
        }
        Err(e) => {
            panic!("osmium-tool is needed for this test (Debian: apt-get install osmium-tool): {e}")
        }
    };
    assert!(
        output.status.success(),
        "osmium fileinfo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let info: Value = serde_json::from_slice(&output.stdout).expect("osmium prints JSON");
    let summary = kuaifan_data::generate(kuaifan_data::DEFAULT_SEED)
        .expect("generates")
        .summary;
    assert_eq!(
        info["data"]["count"]["nodes"].as_u64(),
        Some(summary.nodes as u64)
    );
    assert_eq!(
        info["data"]["count"]["ways"].as_u64(),
        Some(summary.ways as u64)
    );
    assert_eq!(info["data"]["objects_ordered"].as_bool(), Some(true));
    let refs = Command::new("osmium")
        .args(["check-refs", "--no-progress"])
        .arg(map_path())
        .output()
        .expect("osmium runs");
    assert!(
        refs.status.success(),
        "a way refers to a missing node: {}",
        String::from_utf8_lossy(&refs.stderr)
    );
}

#[test]
fn the_map_is_at_city_scale_and_almost_all_connected() {
    let size = std::fs::metadata(map_path()).expect("map").len();
    assert!(size < 15 << 20, "{size} bytes");
    let report = router().graph().build_report();
    let nodes = router().graph().node_count();
    assert!(
        (200_000..=500_000).contains(&nodes),
        "{nodes} routable nodes"
    );
    assert!(
        report.dropped_nodes * 1000 < report.road_nodes,
        "{report:?}"
    );
}

/// Ways by highway class, with their node positions, read straight from the
/// PBF.
fn highway_lines() -> Vec<(String, String, Vec<Coord<f64>>)> {
    let mut nodes: HashMap<i64, Coord<f64>> = HashMap::new();
    let mut ways = Vec::new();
    ElementReader::from_path(map_path())
        .expect("map")
        .for_each(|e| match e {
            Element::DenseNode(n) => {
                nodes.insert(
                    n.id(),
                    Coord {
                        x: n.lon(),
                        y: n.lat(),
                    },
                );
            }
            Element::Node(n) => {
                nodes.insert(
                    n.id(),
                    Coord {
                        x: n.lon(),
                        y: n.lat(),
                    },
                );
            }
            Element::Way(w) => {
                let tags: HashMap<&str, &str> = w.tags().collect();
                if let Some(h) = tags.get("highway") {
                    let reference = tags.get("ref").copied().unwrap_or("").to_string();
                    ways.push((h.to_string(), reference, w.refs().collect::<Vec<i64>>()));
                }
            }
            _ => {}
        })
        .expect("readable");
    ways.into_iter()
        .map(|(h, r, refs)| (h, r, refs.iter().map(|id| nodes[id]).collect()))
        .collect()
}

fn crosses(line: &[Coord<f64>], border: &[Coord<f64>]) -> bool {
    use geo::Intersects;
    let a = LineString::from(line.to_vec());
    let b = LineString::from(border.to_vec());
    a.intersects(&b)
}

#[test]
fn roads_cross_the_henan_border_and_the_city_boundary() {
    let border = ring(&ring_feature(3)["geometry"]["coordinates"]).0;
    let city = polygon(&ring_feature(2)["geometry"]);
    let boundary = city.0[0].exterior().0.clone();
    let lines = highway_lines();
    let mut expressways: Vec<&str> = Vec::new();
    let mut others = 0;
    let mut other_cities = 0;
    for (highway, reference, line) in &lines {
        let henan = crosses(line, &border);
        match highway.as_str() {
            "motorway" if henan => expressways.push(reference),
            "trunk" | "primary" | "secondary" if henan => others += 1,
            "trunk" | "primary" | "secondary" if crosses(line, &boundary) => other_cities += 1,
            _ => {}
        }
    }
    expressways.sort_unstable();
    expressways.dedup();
    assert!(
        expressways.len() >= 2,
        "expressways into Henan: {expressways:?}"
    );
    assert!(others >= 4, "{others} other roads into Henan");
    assert!(
        other_cities >= 3,
        "{other_cities} roads toward Changzhi, Linfen, Yuncheng"
    );
}

#[test]
fn expressway_interchanges_are_at_least_ten_kilometres_apart() {
    let rings = json("rings.geojson");
    let mut tolls: HashMap<String, Vec<LatLon>> = HashMap::new();
    for f in rings["features"].as_array().expect("features") {
        if f["properties"]["kind"] == "toll_station" {
            let c = &f["geometry"]["coordinates"];
            let at = LatLon::new(c[1].as_f64().expect("lat"), c[0].as_f64().expect("lon"))
                .expect("valid");
            tolls
                .entry(f["properties"]["road"].as_str().expect("road").to_string())
                .or_default()
                .push(at);
        }
    }
    assert!(tolls.len() >= 3, "{tolls:?}");
    for (road, stations) in &tolls {
        for (i, a) in stations.iter().enumerate() {
            for b in &stations[i + 1..] {
                // Toll plazas sit 250 m off the carriageways.
                assert!(
                    a.haversine_m(*b) > 9_500.0,
                    "{road}: toll stations {a:?} and {b:?} too close"
                );
            }
        }
    }
}

#[test]
fn the_drawn_outline_matches_the_real_boundary() {
    let Some(shared) = shared("geo/shanxi_cities.geojson") else {
        return;
    };
    let text =
        std::fs::read_to_string(&shared).unwrap_or_else(|e| panic!("{}: {e}", shared.display()));
    let cities: Value = serde_json::from_str(&text).expect("JSON");
    let real = cities["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["adcode"].as_u64() == Some(140500))
        .map(|f| polygon(&f["geometry"]))
        .expect("Jincheng in the file");
    let drawn = polygon(&ring_feature(2)["geometry"]);
    let iou = drawn.intersection(&real).unsigned_area() / drawn.union(&real).unsigned_area();
    assert!(iou > 0.9, "intersection over union {iou:.3}");
}

#[test]
fn the_zones_tile_the_urban_core() {
    let zones = json("zones.geojson");
    let features = zones["features"].as_array().expect("features");
    let ids: Vec<&str> = features
        .iter()
        .map(|f| f["properties"]["id"].as_str().expect("id"))
        .collect();
    let expected: Vec<String> = (1..=34).map(|k| format!("Z{k:02}")).collect();
    assert_eq!(ids, expected);
    let polygons: Vec<MultiPolygon<f64>> =
        features.iter().map(|f| polygon(&f["geometry"])).collect();
    let sum: f64 = polygons.iter().map(|p| p.unsigned_area()).sum();
    let union = polygons
        .iter()
        .skip(1)
        .fold(polygons[0].clone(), |acc, p| acc.union(p));
    let core = polygon(&ring_feature(1)["geometry"]);
    let core_area = core.unsigned_area();
    assert!(
        (sum - core_area).abs() < core_area * 1e-6,
        "zones overlap: {sum} vs {core_area}"
    );
    assert!(
        (union.unsigned_area() - core_area).abs() < core_area * 1e-6,
        "zones leave gaps"
    );
    // 150–250 km² (1° of latitude is 111.2 km; of longitude, 90.6 km here).
    let km2 = core_area * 111.2 * 90.6;
    assert!((150.0..=250.0).contains(&km2), "{km2} km²");
    let rates: f64 = features
        .iter()
        .map(|f| {
            f["properties"]["incident_rate_per_day"]
                .as_f64()
                .expect("rate")
        })
        .sum();
    assert!((rates - 600.0).abs() < 1.0, "{rates}");
}

#[test]
fn every_standby_point_is_within_30_m_of_a_road() {
    let text = std::fs::read_to_string(scenario_dir().join("units.toml")).expect("units");
    let units: toml::Table = toml::from_str(&text).expect("TOML");
    let units = units["unit"].as_array().expect("units");
    assert_eq!(units.len(), 39);
    let snap = SnapConfig::default();
    for unit in units {
        let standby = &unit["standby"];
        let at = LatLon::new(
            standby["lat"].as_float().expect("lat"),
            standby["lon"].as_float().expect("lon"),
        )
        .expect("valid");
        let snapped = router().graph().snap(at, &snap).expect("snaps");
        assert!(
            snapped.distance_m <= 30.0,
            "{}: {} m from a road",
            unit["id"],
            snapped.distance_m
        );
    }
}

/// The river, the railway and the blocked superblocks make the road
/// distance between two points in the core often much longer than the
/// straight line.
#[test]
fn straight_line_distance_is_a_poor_guide_in_the_core() {
    let router = router();
    let snap = SnapConfig::default();
    let mut query = RouteQuery::new(router);
    let mut ratios = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    while ratios.len() < 400 {
        let mut point =
            || LatLon::new(35.44 + 0.10 * next(), 112.77 + 0.16 * next()).expect("valid");
        let (a, b) = (point(), point());
        if a.haversine_m(b) < 1000.0 {
            continue;
        }
        let (Ok(from), Ok(to)) = (router.graph().snap(a, &snap), router.graph().snap(b, &snap))
        else {
            continue;
        };
        let cost = query.one_to_one(&from, &to);
        ratios.push(cost.metres() / a.haversine_m(b));
    }
    ratios.sort_by(f64::total_cmp);
    let p90 = ratios[ratios.len() * 9 / 10];
    let over = ratios.iter().filter(|&&r| r > 1.6).count();
    assert!(p90 > 1.4, "90th percentile detour {p90:.2}");
    assert!(
        over * 50 >= ratios.len(),
        "{over} of {} pairs over 1.6×",
        ratios.len()
    );
}

#[test]
fn the_drawn_counties_match_the_real_outlines_and_tile_the_city() {
    let Some(path) = shared("geo/jincheng_counties.geojson") else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("readable");
    let real: Value = serde_json::from_str(&text).expect("JSON");
    let real: HashMap<String, MultiPolygon<f64>> = real["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            (
                f["properties"]["name"].as_str().expect("name").to_owned(),
                polygon(&f["geometry"]),
            )
        })
        .collect();
    let rings = json("rings.geojson");
    let drawn: Vec<(String, MultiPolygon<f64>)> = rings["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["area"].as_str() == Some("county"))
        .map(|f| {
            (
                f["properties"]["name"].as_str().expect("name").to_owned(),
                polygon(&f["geometry"]),
            )
        })
        .collect();
    assert_eq!(drawn.len(), 6);
    for (name, county) in &drawn {
        let truth = real
            .get(name)
            .unwrap_or_else(|| panic!("{name} in the real file"));
        let iou = county.intersection(truth).unsigned_area() / county.union(truth).unsigned_area();
        assert!(iou > 0.85, "{name}: intersection over union {iou:.3}");
    }
    // Together they are ring 2, to float noise (the engine checks the
    // same when it loads the file).
    let city = polygon(&ring_feature(2)["geometry"]);
    let total: f64 = drawn.iter().map(|(_, c)| c.unsigned_area()).sum();
    assert!((total - city.unsigned_area()).abs() < 1e-9 * city.unsigned_area());
}
