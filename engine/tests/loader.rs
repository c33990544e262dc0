//! The loader and the graph on tiny hand-made maps, where every expected
//! number can be worked out by hand.

mod common;

use kuaifan_engine::{
    BuildError, Cost, Dijkstra, LatLon, OsmError, OsmRoads, PrepareConfig, Profile, RoadGraph,
    RouteQuery, Router, SnapConfig, SnapError, Snapped,
};

fn tiny() -> Router {
    common::router(&common::fixture("tiny.osm.pbf"))
}

fn at(router: &Router, lat: f64, lon: f64) -> Snapped {
    router
        .graph()
        .snap(LatLon::new(lat, lon).unwrap(), &SnapConfig::default())
        .unwrap()
}

/// The expected cost of driving `metres` at `kmh`, rounded as the engine rounds.
fn drive(metres: f64, kmh: f64) -> f64 {
    (metres / (kmh / 3.6) * 1000.0).round() / 1000.0
}

fn both(router: &Router, from: &Snapped, to: &Snapped) -> Cost {
    let fast = RouteQuery::new(router).one_to_one(from, to);
    assert_eq!(fast, Dijkstra::new(router.graph()).one_to_one(from, to));
    fast
}

#[test]
fn tiny_map_keeps_what_a_car_may_drive() {
    let router = tiny();
    let graph = router.graph();
    let report = graph.build_report();
    // 101-105, 107, 109, 110 and 112 are routable; 106 (private), 108
    // (footway) and 111 (reversible) are not.
    assert_eq!(report.ways, 9);
    // Nodes 1-9, the island 30-31 and the dead end 40; 998 is missing and 50
    // is only on the reversible way.
    assert_eq!(report.road_nodes, 12);
    assert_eq!(report.missing_node_refs, 1);
    assert_eq!(report.dropped_nodes, 3);
    assert_eq!(graph.node_count(), 9);
    // Two-way: 1-2, 2-3, 7-8, 8-9, 1-4, 4-7, 3-6, 6-9 (16 edges); one-way:
    // 4-5, 5-6, 8-5 (3 edges).
    assert_eq!(graph.edge_count(), 19);
}

#[test]
fn maxspeed_in_mph_sets_the_speed() {
    let router = tiny();
    // Node 1 to node 4 along the secondary road signed 30 mph.
    let cost = both(
        &router,
        &at(&router, 35.5000, 112.8500),
        &at(&router, 35.5010, 112.8500),
    );
    let metres = LatLon::new(35.5000, 112.85)
        .unwrap()
        .haversine_m(LatLon::new(35.5010, 112.85).unwrap());
    assert_eq!(cost.seconds(), drive(metres, 30.0 * 1.609344));
    assert!((cost.metres() - metres).abs() < 0.05);
}

#[test]
fn a_one_way_street_is_driven_only_its_way() {
    let router = tiny();
    let west = at(&router, 35.5010, 112.850375); // a quarter along 4 -> 5
    let east = at(&router, 35.5010, 112.851125); // three quarters along
    assert_eq!(west.segment, east.segment, "same segment");
    let with_the_flow = both(&router, &west, &east);
    let block = LatLon::new(35.501, 112.85)
        .unwrap()
        .haversine_m(LatLon::new(35.501, 112.8515).unwrap());
    assert!((with_the_flow.seconds() - drive(block / 2.0, 25.0)).abs() <= 0.001);
    // Against the flow the car must go round the block.
    let against = both(&router, &east, &west);
    assert!(
        against.seconds() > 3.0 * with_the_flow.seconds(),
        "{against:?} vs {with_the_flow:?}"
    );
    // oneway=-1 on the 5-8 way: only 8 -> 5.
    let north = at(&router, 35.5018, 112.8515);
    let south = at(&router, 35.5012, 112.8515);
    assert!(both(&router, &north, &south) < both(&router, &south, &north));
}

#[test]
fn closed_and_dropped_roads_attract_no_location() {
    let router = tiny();
    // Beside the private 2-5 road: it snaps to the primary road instead, 44 m away.
    let s = at(&router, 35.5004, 112.8515);
    assert!((s.distance_m - 44.5).abs() < 0.5, "{s:?}");
    // On the island street: the island is dropped, so the nearest kept road is far.
    let island = router
        .graph()
        .snap(
            LatLon::new(35.5032, 112.8562).unwrap(),
            &SnapConfig::default(),
        )
        .unwrap();
    assert!(island.distance_m > 200.0, "{island:?}");
    let err = router
        .graph()
        .snap(
            LatLon::new(35.5032, 112.8562).unwrap(),
            &SnapConfig { limit_m: 100.0 },
        )
        .unwrap_err();
    assert!(matches!(err, SnapError::OffNetwork { distance_m, .. } if distance_m > 200.0));
    assert!(err.to_string().starts_with("off_network: "), "{err}");
}

#[test]
fn route_polyline_runs_from_foot_point_to_foot_point() {
    let router = tiny();
    let from = at(&router, 35.5001, 112.8505);
    let to = at(&router, 35.5019, 112.8525);
    let route = RouteQuery::new(&router).route(&from, &to).unwrap();
    assert_eq!(route.cost, both(&router, &from, &to));
    assert_eq!(route.polyline.first(), Some(&from.point));
    assert_eq!(route.polyline.last(), Some(&to.point));
    assert_eq!(route.polyline.len(), route.nodes.len() + 2);
    let length: f64 = route
        .polyline
        .windows(2)
        .map(|w| w[0].haversine_m(w[1]))
        .sum();
    assert!(
        (length - route.cost.metres()).abs() < 0.5,
        "{length} vs {:?}",
        route.cost
    );
}

fn way(tags: &[(&str, &str)]) -> kuaifan_engine::WayRule {
    Profile::default()
        .evaluate(tags.iter().copied())
        .expect("routable")
}

/// A roundabout of four nodes with one two-way spur: going "backwards"
/// round it takes three quarters of the ring.
#[test]
fn a_roundabout_is_driven_one_way() {
    let mut roads = OsmRoads::new();
    let ring = [
        (1, 35.5000, 112.8500),
        (2, 35.5003, 112.8504),
        (3, 35.5006, 112.8500),
        (4, 35.5003, 112.8496),
    ];
    for &(id, lat, lon) in &ring {
        roads.add_node(id, LatLon::new(lat, lon).unwrap());
    }
    roads.add_node(5, LatLon::new(35.4990, 112.8500).unwrap());
    roads.add_way(
        1,
        vec![1, 2, 3, 4, 1],
        way(&[("highway", "primary"), ("junction", "roundabout")]),
    );
    roads.add_way(2, vec![5, 1], way(&[("highway", "primary")]));
    let graph = RoadGraph::build(roads).unwrap();
    assert_eq!((graph.node_count(), graph.edge_count()), (5, 6));
    let router = Router::prepare(graph, &PrepareConfig::default());
    let near = |lat, lon| at(&router, lat, lon);
    let (a, b) = (near(35.50015, 112.8502), near(35.50045, 112.8502)); // on 1-2, on 2-3
    assert!(both(&router, &b, &a).seconds() > 2.0 * both(&router, &a, &b).seconds());
}

#[test]
fn an_empty_or_roadless_map_is_a_clear_error() {
    let roadless =
        OsmRoads::read(&common::fixture("no_roads.osm.pbf"), &Profile::default()).unwrap();
    let err = RoadGraph::build(roadless).unwrap_err();
    assert!(matches!(err, BuildError::NoRoutableRoad { .. }));
    assert!(err.to_string().contains("no routable road"), "{err}");
}

#[test]
fn a_truncated_or_missing_pbf_is_a_clear_error() {
    let bytes = std::fs::read(common::fixture("tiny.osm.pbf")).unwrap();
    for cut in [1, 3, 20, bytes.len() / 2, bytes.len() - 1] {
        let err = OsmRoads::from_pbf_bytes(&bytes[..cut], &Profile::default()).unwrap_err();
        assert!(
            matches!(err, OsmError::Pbf { .. } | OsmError::Truncated { .. }),
            "cut at {cut}: {err}"
        );
    }
    let err = OsmRoads::read("/nonexistent/map.osm.pbf".as_ref(), &Profile::default()).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/map.osm.pbf"),
        "{err}"
    );
    let garbage = b"this is not a protocol buffer at all, just text".repeat(3);
    assert!(OsmRoads::from_pbf_bytes(&garbage, &Profile::default()).is_err());
}

#[test]
fn a_profile_file_changes_what_is_routable() {
    let profile = Profile::from_toml("blocked_access = [\"no\"]").unwrap();
    let roads = OsmRoads::read(&common::fixture("tiny.osm.pbf"), &profile).unwrap();
    // The private service road 2-5 is now open: one more way, two more edges.
    let graph = RoadGraph::build(roads).unwrap();
    assert_eq!((graph.build_report().ways, graph.edge_count()), (10, 21));
}

/// A `Snapped` made by hand for a segment the graph does not have is
/// unreachable, not a crash.
#[test]
fn a_foreign_snapped_location_is_unreachable() {
    let router = tiny();
    let real = at(&router, 35.5001, 112.8505);
    let bogus = Snapped {
        segment: 1_000_000,
        ..real
    };
    let mut query = RouteQuery::new(&router);
    assert_eq!(query.one_to_one(&real, &bogus), Cost::UNREACHABLE);
    assert_eq!(query.one_to_one(&bogus, &real), Cost::UNREACHABLE);
    assert_eq!(
        Dijkstra::new(router.graph()).one_to_one(&bogus, &real),
        Cost::UNREACHABLE
    );
    assert!(query.route(&real, &bogus).is_none());
}
