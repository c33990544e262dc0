//! The prepared-graph cache: a round trip answers exactly as before, and a
//! stale, damaged or truncated file is refused.

mod common;

use kuaifan_engine::{CacheError, RouteQuery, Router};

#[test]
fn a_saved_router_answers_like_the_original() {
    let router = common::router(&common::shared("osm/liechtenstein.osm.pbf"));
    let mut bytes = Vec::new();
    router.save(42, &mut bytes).unwrap();
    let loaded = Router::load(42, &mut bytes.as_slice()).unwrap();
    assert_eq!(loaded.graph().node_count(), router.graph().node_count());
    assert_eq!(
        loaded.graph().build_report().dropped_nodes,
        router.graph().build_report().dropped_nodes
    );
    let places = common::random_locations(&router, 400, 9);
    assert_eq!(
        common::random_locations(&loaded, 400, 9),
        places,
        "snapping is unchanged"
    );
    let (mut a, mut b) = (RouteQuery::new(&router), RouteQuery::new(&loaded));
    for pair in places.chunks(2) {
        assert_eq!(
            a.one_to_one(&pair[0], &pair[1]),
            b.one_to_one(&pair[0], &pair[1])
        );
        assert_eq!(a.route(&pair[0], &pair[1]), b.route(&pair[0], &pair[1]));
    }

    assert!(matches!(
        Router::load(43, &mut bytes.as_slice()),
        Err(CacheError::Stale)
    ));
    assert!(matches!(
        Router::load(42, &mut &b"short"[..]),
        Err(CacheError::WrongFormat)
    ));
    for cut in [bytes.len() / 3, bytes.len() - 1] {
        assert!(
            Router::load(42, &mut &bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    assert!(matches!(
        Router::load(42, &mut damaged.as_slice()),
        Err(CacheError::Corrupt(_))
    ));
}
