//! `Locate` over gRPC against the real `kuaifan serve`: results with their
//! zone and road distance, the same as the engine's own answer; bad queries
//! refused with a message; readers only.

mod common;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self, LocationKind};
use kuaifan_engine::{Gazetteer, OsmRoads, Profile, RoadGraph};
use tonic::{Code, Request};

const AUTH: &str = r#"
[[token]]
name = "wall-screen"
role = "observer"
token = "observer-token-0123456789"

[[token]]
name = "U01-terminal"
role = "unit"
unit = "U01"
token = "unit-token-U01-0123456789"
"#;

fn locate(query: &str, limit: u32, token: Option<&str>) -> Request<proto::LocateRequest> {
    let mut request = Request::new(proto::LocateRequest {
        query: query.to_string(),
        limit,
    });
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locate_answers_as_the_engine_does_with_zone_and_road_distance() {
    let server = ServerProcess::ready(&[]);
    let mut c = DispatchClient::connect(server.url()).await.unwrap();

    let found = c
        .locate(locate("书院街和学院路交叉口", 0, None))
        .await
        .unwrap()
        .into_inner()
        .results;
    let best = &found[0];
    assert_eq!(best.kind, LocationKind::Intersection as i32);
    assert_eq!(best.name, "书院街与学院路");
    assert_eq!(best.detail, "书院街/学院路");
    assert!(best.zone_id.starts_with('Z'), "{best:?}");
    assert!(
        best.road_distance_m < 1.0,
        "a crossing is on the road: {best:?}"
    );
    assert!(found.len() <= 10);

    // The same as the engine's answer on the same map (the scenario adds
    // its stations and checkpoints, which this query does not reach).
    let pbf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/jincheng/jincheng.osm.pbf"
    );
    let graph =
        RoadGraph::build(OsmRoads::read(pbf.as_ref(), &Profile::default()).unwrap()).unwrap();
    let engine = Gazetteer::build(&graph, &[]).locate("市人民医院", 5);
    let wire = c
        .locate(locate("市人民医院", 5, None))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(wire.len(), engine.len());
    for (w, e) in wire.iter().zip(&engine) {
        assert_eq!(w.name, e.name);
        let at = w.location.as_ref().unwrap();
        assert_eq!((at.lat, at.lng), (e.at.lat(), e.at.lon()));
        assert_eq!(w.distance, f64::from(e.distance));
    }
    assert_eq!(wire[0].kind, LocationKind::Place as i32);
    assert_eq!(wire[0].detail, "hospital");

    // A ring checkpoint comes from the scenario, not the map.
    let checkpoint = c
        .locate(locate("G207", 50, None))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(!checkpoint.is_empty());

    let coordinates = c
        .locate(locate("112.8450, 35.4950", 0, None))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(coordinates.len(), 1);
    assert_eq!(coordinates[0].kind, LocationKind::Coordinates as i32);
    let at = coordinates[0].location.as_ref().unwrap();
    assert_eq!((at.lat, at.lng), (35.495, 112.845));

    let nothing = c.locate(locate("鑫鑫鑫鑫鑫鑫", 0, None)).await.unwrap();
    assert!(nothing.into_inner().results.is_empty());

    for (query, wanted) in [
        ("   ", "query is empty"),
        (
            &"路".repeat(100),
            "query is 300 bytes long; at most 256 are accepted",
        ),
    ] {
        let status = c.locate(locate(query, 0, None)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with(wanted), "{}", status.message());
    }
    let count = |found: tonic::Response<proto::LocateResponse>| found.into_inner().results.len();
    let many = count(c.locate(locate("书院", 500, None)).await.unwrap());
    let fifty = count(c.locate(locate("书院", 50, None)).await.unwrap());
    assert!(
        many <= 50 && many == fifty,
        "a limit over 50 is 50: {many}, {fifty}"
    );
    assert_eq!(count(c.locate(locate("书院", 2, None)).await.unwrap()), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_may_locate_and_a_unit_terminal_may_not() {
    let dir = std::env::temp_dir().join(format!("kuaifan-locate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let auth = dir.join("auth.toml");
    std::fs::write(&auth, AUTH).unwrap();
    let server = ServerProcess::ready(&["--auth", auth.to_str().unwrap()]);
    let mut c = DispatchClient::connect(server.url()).await.unwrap();
    let found = c
        .locate(locate("书院街", 0, Some("observer-token-0123456789")))
        .await
        .unwrap();
    assert!(!found.into_inner().results.is_empty());
    let refused = c
        .locate(locate("书院街", 0, Some("unit-token-U01-0123456789")))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::PermissionDenied,
        "{}",
        refused.message()
    );
    let refused = c.locate(locate("书院街", 0, None)).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    std::fs::remove_dir_all(&dir).unwrap();
}
