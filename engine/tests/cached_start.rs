//! `kuaifan serve --cache FILE`: the first start prepares the road graph
//! and writes it to the file, the next loads it from there (a start in
//! seconds instead of the graph's preparation), and the two serve the
//! same answers.

mod common;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self, Priority};

/// Places in Jincheng's zones and around them, one per recommendation.
const PLACES: [(f64, f64); 4] = [
    (35.4905, 112.8515),
    (35.5210, 112.8420),
    (35.4700, 112.8800),
    (35.7970, 112.9230),
];

const FROM_CACHE: &str = "(graph from the cache)";

/// Every candidate of a P1 recommendation at each place, as unit, tier
/// and ETA rounded to a millisecond.
fn answers(server: &ServerProcess) -> Vec<Vec<(String, i32, i64)>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut c = DispatchClient::connect(server.url())
            .await
            .expect("the server answers");
        let mut all = Vec::new();
        for (lat, lng) in PLACES {
            let rec = c
                .recommend(proto::RecommendRequest {
                    location: Some(proto::LatLng { lat, lng }),
                    priority: Priority::P1 as i32,
                    ..Default::default()
                })
                .await
                .expect("a recommendation")
                .into_inner();
            all.push(
                rec.candidates
                    .iter()
                    .map(|c| (c.unit_id.clone(), c.tier, (c.eta_s * 1000.0).round() as i64))
                    .collect(),
            );
        }
        all
    })
}

#[test]
fn a_start_from_the_cache_serves_what_a_start_from_the_map_served() {
    let dir = std::env::temp_dir().join(format!("kuaifan-cached-start-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let cache = dir.join("jincheng.graph");
    let cache_arg = cache.to_str().expect("a UTF-8 path");

    let first = ServerProcess::ready(&["--cache", cache_arg]);
    assert!(
        !first.ready_line.contains(FROM_CACHE),
        "no cache yet, the graph is prepared: {}",
        first.ready_line
    );
    let prepared = answers(&first);
    let (status, _) = first.terminate();
    assert!(status.success(), "the first server stops cleanly: {status}");
    let written = std::fs::metadata(&cache).expect("the first start wrote the cache");
    assert!(
        written.len() > 1_000_000,
        "a whole graph: {} bytes",
        written.len()
    );

    let second = ServerProcess::ready(&["--cache", cache_arg]);
    assert!(
        second.ready_line.contains(FROM_CACHE),
        "the second start loads the graph: {}",
        second.ready_line
    );
    assert!(
        prepared.iter().all(|units| !units.is_empty()),
        "{prepared:?}"
    );
    assert_eq!(
        answers(&second),
        prepared,
        "the same answers from the cached graph"
    );
    drop(second);

    // A damaged cache is rebuilt from the map, never trusted.
    let mut bytes = std::fs::read(&cache).expect("the cache reads");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&cache, &bytes).expect("the cache is damaged");
    let third = ServerProcess::ready(&["--cache", cache_arg]);
    assert!(
        !third.ready_line.contains(FROM_CACHE),
        "a damaged cache is prepared again: {}",
        third.ready_line
    );
    assert_eq!(
        answers(&third),
        prepared,
        "the same answers after the rebuild"
    );
    drop(third);
    let _ = std::fs::remove_dir_all(&dir);
}
