//! The contraction hierarchy against plain Dijkstra on real maps: every
//! answer must be equal, bit for bit.

mod common;

use kuaifan_engine::{Cost, Dijkstra, RouteQuery, Router, Snapped, SourceSet, TargetSet};

const PAIRS: usize = 1_000;

fn check_map(name: &str, seed: u64) {
    let Some(map) = common::shared(&format!("osm/{name}.osm.pbf")) else {
        return;
    };
    let router = common::router(&map);
    let locations = common::random_locations(&router, 2 * PAIRS, seed);
    let (sources, targets) = locations.split_at(PAIRS);
    let mut reference = Dijkstra::new(router.graph());
    let mut query = RouteQuery::new(&router);
    let mut reachable = 0;
    for (s, t) in sources.iter().zip(targets) {
        let expected = reference.one_to_one(s, t);
        assert_eq!(query.one_to_one(s, t), expected, "{name}: {s:?} -> {t:?}");
        reachable += usize::from(expected.is_reachable());
    }
    // The largest strongly connected component is kept, so every pair connects.
    assert_eq!(reachable, PAIRS, "{name}");

    check_many_to_one(&router, sources, targets, name);
    check_one_to_many(&router, sources, targets, name);
}

/// 39 units to an incident, as the dispatcher asks it.
fn check_many_to_one(router: &Router, sources: &[Snapped], targets: &[Snapped], name: &str) {
    let mut reference = Dijkstra::new(router.graph());
    let mut query = RouteQuery::new(router);
    let units = &sources[..39];
    let mut spaces = SourceSet::new();
    for (slot, u) in units.iter().enumerate() {
        spaces.set(slot, query.source_space(u));
    }
    for t in &targets[..100] {
        let expected = reference.many_to_one(units, t);
        assert_eq!(
            query.many_to_one(&spaces, t),
            expected.as_slice(),
            "{name}: to {t:?}"
        );
    }
}

/// One unit to 200 checkpoints.
fn check_one_to_many(router: &Router, sources: &[Snapped], targets: &[Snapped], name: &str) {
    let mut reference = Dijkstra::new(router.graph());
    let mut query = RouteQuery::new(router);
    let checkpoints = &targets[..200];
    let mut cached = TargetSet::new();
    for (slot, t) in checkpoints.iter().enumerate() {
        cached.set(slot, query.target_space(t));
    }
    for s in &sources[..50] {
        let expected = reference.one_to_many(s, checkpoints);
        assert_eq!(
            query.one_to_many(s, checkpoints),
            expected.as_slice(),
            "{name}: from {s:?}"
        );
        assert!(expected.iter().all(|c| *c != Cost::UNREACHABLE));
    }
}

#[test]
fn helsinki_matches_dijkstra() {
    check_map("helsinki", 1);
}

#[test]
fn liechtenstein_matches_dijkstra() {
    check_map("liechtenstein", 2);
}

#[test]
fn malta_matches_dijkstra() {
    check_map("malta", 3);
}
