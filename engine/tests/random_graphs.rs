//! Property test: on random small road networks, every fast query equals
//! plain Dijkstra (one-to-one, routes, many-to-one, one-to-many against
//! ad-hoc and cached targets, one-to-all).

use kuaifan_engine::{
    Dijkstra, Direction, LatLon, OsmRoads, PrepareConfig, RoadGraph, RouteQuery, Router,
    SnapConfig, SourceSet, TargetSet, WayRule,
};
use proptest::prelude::*;

const BOX: f64 = 0.01;

type Way = (Vec<usize>, f64, u8);

fn network(nodes: &[(f64, f64)], ways: &[Way]) -> OsmRoads {
    let mut roads = OsmRoads::new();
    for (i, &(dlat, dlon)) in nodes.iter().enumerate() {
        roads.add_node(i as i64, LatLon::new(35.5 + dlat, 112.85 + dlon).unwrap());
    }
    for (i, (refs, speed_kmh, dir)) in ways.iter().enumerate() {
        let direction =
            [Direction::Both, Direction::Forward, Direction::Backward][*dir as usize % 3];
        let refs = refs.iter().map(|&r| (r % nodes.len()) as i64).collect();
        roads.add_way(
            i as i64,
            refs,
            WayRule {
                speed_kmh: *speed_kmh,
                direction,
            },
        );
    }
    roads
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn fast_queries_equal_dijkstra(
        nodes in prop::collection::vec((0.0..BOX, 0.0..BOX), 3..30),
        ways in prop::collection::vec((prop::collection::vec(0..30usize, 2..5), 5.0..120.0f64, 0..3u8), 1..60),
        places in prop::collection::vec((0.0..BOX, 0.0..BOX), 2..12),
    ) {
        let graph = RoadGraph::build(network(&nodes, &ways));
        // Networks with no part drivable both ways are rejected (and counted:
        // proptest fails if too many cases are).
        prop_assume!(graph.is_ok());
        let Ok(graph) = graph else { unreachable!() };
        let router = Router::prepare(graph, &PrepareConfig::default());
        let anywhere = SnapConfig { limit_m: f64::INFINITY };
        let places: Vec<_> = places
            .iter()
            .map(|&(dlat, dlon)| router.graph().snap(LatLon::new(35.5 + dlat, 112.85 + dlon).unwrap(), &anywhere).unwrap())
            .collect();
        let mut reference = Dijkstra::new(router.graph());
        let mut query = RouteQuery::new(&router);
        for from in &places {
            for to in &places {
                let expected = reference.one_to_one(from, to);
                prop_assert!(expected.is_reachable());
                prop_assert_eq!(query.one_to_one(from, to), expected);
                prop_assert_eq!(query.route(from, to).map(|r| r.cost), Some(expected));
            }
        }
        let mut sources = SourceSet::new();
        let mut targets = TargetSet::new();
        for (slot, p) in places.iter().enumerate() {
            sources.set(slot, query.source_space(p));
            targets.set(slot, query.target_space(p));
        }
        for p in &places {
            let expected = reference.many_to_one(&places, p);
            prop_assert_eq!(query.many_to_one(&sources, p), expected.as_slice());
            let expected = reference.one_to_many(p, &places);
            prop_assert_eq!(query.one_to_many(p, &places), expected.as_slice());
            prop_assert_eq!(query.one_to_targets(p, &targets), expected.as_slice());
            let cached = query.source_space(p);
            prop_assert_eq!(query.space_to_targets(&cached, &targets), expected.as_slice());
            // The sweep down the hierarchy settles every node as Dijkstra does.
            let all = reference.one_to_all(p).to_vec();
            prop_assert_eq!(query.one_to_all(p), all.as_slice());
        }
    }
}
