//! The prepared-graph cache: a round trip answers exactly as before and
//! keeps every segment's road class and name and the map's places, and a
//! stale, damaged, truncated or older-format file is refused.

mod common;

use kuaifan_engine::{CacheError, Profile, RoadClass, RouteQuery, Router};

#[test]
fn a_saved_router_answers_like_the_original() {
    let Some(map) = common::shared("osm/liechtenstein.osm.pbf") else {
        return;
    };
    let router = common::router(&map);
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
    assert_eq!(
        loaded.graph().segment_classes(),
        router.graph().segment_classes(),
        "road classes are kept"
    );
    assert!(
        router
            .graph()
            .segment_classes()
            .contains(&RoadClass::Primary),
        "the map has classes to keep"
    );
    let (g, l) = (router.graph(), loaded.graph());
    assert_eq!(l.road_names(), g.road_names(), "the name table is kept");
    assert!(g.road_names().len() > 100, "the map has names to keep");
    for s in 0..g.segments().len() {
        assert_eq!(l.segment_road_id(s), g.segment_road_id(s), "segment {s}");
    }
    assert_eq!(l.places(), g.places(), "places are kept");
    assert!(!g.places().is_empty(), "the map has places to keep");
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

/// The cache format gained the road classes in version 2 and the names in
/// version 3; a version 2 file read with the new layout would shift every
/// later array, so it is refused for its version and rebuilt by
/// `from_pbf_cached`.
#[test]
fn a_cache_of_the_previous_format_is_refused_and_rebuilt() {
    let pbf = std::fs::read(common::fixture("tiny.osm.pbf")).unwrap();
    let profile = Profile::default();
    let fingerprint = Router::fingerprint(&pbf, &profile);
    let fresh = Router::from_pbf_cached(&pbf, &profile, None, &mut |_| {})
        .unwrap()
        .router;
    let mut bytes = Vec::new();
    fresh.save(fingerprint, &mut bytes).unwrap();
    // The version follows the 16-byte magic.
    let mut old = bytes.clone();
    old[16..20].copy_from_slice(&2u32.to_le_bytes());
    assert!(matches!(
        Router::load(fingerprint, &mut old.as_slice()),
        Err(CacheError::Version { found: 2 })
    ));

    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache-version-2.bin");
    std::fs::write(&path, &old).unwrap();
    let rebuilt = Router::from_pbf_cached(&pbf, &profile, Some(&path), &mut |_| {}).unwrap();
    assert!(!rebuilt.stats.from_cache, "the old file is not used");
    let reloaded = Router::from_pbf_cached(&pbf, &profile, Some(&path), &mut |_| {}).unwrap();
    assert!(
        reloaded.stats.from_cache,
        "the file was rewritten in the new format"
    );
    assert_eq!(
        reloaded.router.graph().segment_classes(),
        fresh.graph().segment_classes()
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_cache_with_an_unknown_road_class_is_corrupt() {
    let pbf = std::fs::read(common::fixture("tiny.osm.pbf")).unwrap();
    let router = Router::from_pbf_cached(&pbf, &Profile::default(), None, &mut |_| {})
        .unwrap()
        .router;
    let mut bytes = Vec::new();
    router.save(7, &mut bytes).unwrap();
    // The class section follows magic, version, fingerprint, the node
    // coordinates and the two segment arrays, each behind its length.
    let nodes = router.graph().node_count();
    let segments = router.graph().segments().len();
    let classes = 16 + 4 + 8 + (8 + 16 * nodes) + (8 + 8 * segments) + (8 + 16 * segments);
    assert_eq!(
        u64::from_le_bytes(bytes[classes..classes + 8].try_into().unwrap()),
        segments as u64
    );
    bytes[classes + 8] = 6;
    // Keep the checksum right, so only the class is wrong.
    let body = bytes.len() - 8;
    let checksum = fnv(&bytes[..body]);
    bytes[body..].copy_from_slice(&checksum.to_le_bytes());
    assert!(matches!(
        Router::load(7, &mut bytes.as_slice()),
        Err(CacheError::Corrupt("road class"))
    ));
}

#[test]
fn a_cache_whose_road_name_index_points_past_the_table_is_corrupt() {
    let pbf = std::fs::read(common::fixture("tiny.osm.pbf")).unwrap();
    let router = Router::from_pbf_cached(&pbf, &Profile::default(), None, &mut |_| {})
        .unwrap()
        .router;
    assert!(!router.graph().road_names().is_empty(), "tiny has 泽州路");
    let mut bytes = Vec::new();
    router.save(7, &mut bytes).unwrap();
    let nodes = router.graph().node_count();
    let segments = router.graph().segments().len();
    let length_at =
        |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
    // After the classes: the name strings' lengths, their bytes, then the
    // index of each segment.
    let classes = 16 + 4 + 8 + (8 + 16 * nodes) + (8 + 8 * segments) + (8 + 16 * segments);
    let lengths = classes + 8 + segments;
    let text = lengths + 8 + length_at(&bytes, lengths);
    let index = text + 8 + length_at(&bytes, text);
    assert_eq!(length_at(&bytes, index), 4 * segments);
    let past = router.graph().road_names().len() as u32 + 5;
    bytes[index + 8..index + 12].copy_from_slice(&past.to_le_bytes());
    let body = bytes.len() - 8;
    let checksum = fnv(&bytes[..body]);
    bytes[body..].copy_from_slice(&checksum.to_le_bytes());
    assert!(matches!(
        Router::load(7, &mut bytes.as_slice()),
        Err(CacheError::Corrupt("road name index"))
    ));
}

/// The cache's checksum: FNV-1a over little-endian 64-bit words, then the
/// tail bytes.
fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        hash =
            (hash ^ u64::from_le_bytes(c.try_into().unwrap())).wrapping_mul(0x0000_0100_0000_01b3);
    }
    for &b in chunks.remainder() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
