//! `pbf`: arbitrary bytes as an OpenStreetMap PBF file. The loader returns
//! an error or roads; roads become a graph or an error; a graph is
//! prepared for routing. Nothing panics, and memory stays within
//! [`allocation_bound`] (the harnesses enforce it with a capped allocator).

use std::sync::OnceLock;

use kuaifan_engine::{OsmRoads, PrepareConfig, Profile, RoadGraph, Router};

/// The most a PBF of `len` bytes may make the loader allocate at once.
///
/// A block may inflate to at most 32 MiB (osmpbf refuses more) and is
/// decoded on each of a few threads at a time, so a fixed allowance
/// covers the decoding; what is kept grows with the content, and zlib
/// inflates at most about 1,000 : 1, so each input byte may become a
/// few kilobytes of nodes and ways. A header that claims 2 GB is
/// believed only as far as the bytes behind it.
pub fn allocation_bound(len: usize) -> usize {
    const FIXED: usize = 256 << 20;
    const PER_INPUT_BYTE: usize = 4 << 10;
    FIXED.saturating_add(len.saturating_mul(PER_INPUT_BYTE))
}

/// Runs one input.
pub fn run(data: &[u8]) {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    let profile = PROFILE.get_or_init(Profile::default);
    let roads = match OsmRoads::from_pbf_bytes(data, profile) {
        Ok(roads) => roads,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "an error says what is wrong");
            return;
        }
    };
    let ways = roads.ways().len();
    let graph = match RoadGraph::build(roads) {
        Ok(graph) => graph,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "an error says what is wrong");
            return;
        }
    };
    assert!(ways > 0, "a graph was built from no ways");
    for node in 0..graph.node_count() as u32 {
        for (to, cost) in graph.out_edges(node) {
            assert!((to as usize) < graph.node_count(), "edge to a missing node");
            assert!(cost.seconds().is_finite() && cost.seconds() >= 0.0);
        }
    }
    let router = Router::prepare(graph, &PrepareConfig::default());
    assert!(router.graph().node_count() > 0);
}
