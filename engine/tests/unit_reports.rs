//! What unit terminals report, over gRPC to the real `kuaifan serve`: fix
//! times checked without overflow, fixes ordered by the writer, and a unit
//! leaving its case by its own status.

mod common;

use std::time::Duration;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self, event};
use tokio_stream::StreamExt;
use tonic::Request;
use tonic::transport::Channel;

type Client = DispatchClient<Channel>;

/// In the urban core of Jincheng, on a street.
const DOWNTOWN: (f64, f64) = (35.4950, 112.8450);

async fn client(server: &ServerProcess) -> Client {
    DispatchClient::connect(server.url())
        .await
        .expect("the server accepts connections")
}

fn at(lat: f64, lng: f64) -> Option<proto::LatLng> {
    Some(proto::LatLng { lat, lng })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", value);
    request
}

/// Regression (issue 17, §7): `time_ms = i64::MIN` overflowed `now -
/// time_ms` (a panic in a debug build, a negative age in a release one).
/// Every extreme time is a counted rejection with a message naming it, and
/// the stream goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_fix_times_are_counted_rejections_not_overflows() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    let units = c.list_units(proto::ListUnitsRequest {}).await.unwrap();
    let unit = units.into_inner().units[1].clone();
    let home = unit.position.expect("a position");
    let fix = |time_ms: i64| proto::UnitPosition {
        unit_id: unit.id.clone(),
        position: at(home.lat + 0.0004, home.lng),
        time_ms,
        heading_deg: 0.0,
        speed_mps: 5.0,
    };
    let reports = vec![
        fix(i64::MIN),
        fix(i64::MIN / 2),
        fix(i64::MAX),
        fix(-1),
        fix(0),
    ];
    let answer = c
        .report_positions(tokio_stream::iter(reports))
        .await
        .expect("the stream is not ended by bad times")
        .into_inner();
    assert_eq!(
        (answer.accepted, answer.rejected),
        (1, 4),
        "{:?}",
        answer.errors
    );
    assert!(
        answer.errors[0].contains("time_ms -9223372036854775808 is not the time of a fix"),
        "{:?}",
        answer.errors
    );
    // i64::MIN / 2 is a time, 146 million years ago: stale, with its age.
    assert!(
        answer.errors[1].contains("s old; positions older than 120 s are stale"),
        "{:?}",
        answer.errors
    );
    assert!(
        answer.errors[2].contains("ahead of the server's clock"),
        "{:?}",
        answer.errors
    );
    assert!(answer.errors[3].contains("s old"), "{:?}", answer.errors);
}

/// Regression (issue 17, §7): a fix timed ahead of the server (within the
/// 5 s allowed), then a fix timed 0 ("now"): the second is older, and was
/// taken because the check skipped time 0. Two streams for one unit raced
/// the same way. The writer orders every unit's fixes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fix_timed_now_never_replaces_one_timed_later() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    let units = c.list_units(proto::ListUnitsRequest {}).await.unwrap();
    let unit = units.into_inner().units[2].clone();
    let home = unit.position.expect("a position");
    let ahead = proto::UnitPosition {
        unit_id: unit.id.clone(),
        position: at(home.lat + 0.0008, home.lng),
        time_ms: now_ms() + 4_000,
        heading_deg: 0.0,
        speed_mps: 5.0,
    };
    let now = proto::UnitPosition {
        position: at(home.lat + 0.0004, home.lng),
        time_ms: 0,
        ..ahead.clone()
    };
    let answer = c
        .report_positions(tokio_stream::iter(vec![ahead, now]))
        .await
        .expect("the stream goes on")
        .into_inner();
    assert_eq!(
        (answer.accepted, answer.rejected),
        (1, 1),
        "{:?}",
        answer.errors
    );
    assert!(
        answer.errors[0].contains("older than its last report"),
        "{:?}",
        answer.errors
    );
    let units = c.list_units(proto::ListUnitsRequest {}).await.unwrap();
    let moved = units
        .into_inner()
        .units
        .into_iter()
        .find(|u| u.id == unit.id)
        .expect("the unit");
    let position = moved.position.expect("a position");
    assert!(
        (position.lat - (home.lat + 0.0008)).abs() < 1e-9,
        "the later fix stands: {position:?}"
    );
}

const AUTH: &str = r#"
[[token]]
name = "desk-1"
role = "dispatcher"
token = "dispatcher-token-0123456789"

[[token]]
name = "U01-terminal"
role = "unit"
unit = "U01"
token = "unit-token-U01-0123456789"
"#;

const DISPATCHER: &str = "dispatcher-token-0123456789";
const TERMINAL: &str = "unit-token-U01-0123456789";

/// Regression (issue 17, §7): a unit setting itself AVAILABLE, RETURNING
/// or OUT_OF_SERVICE from its own terminal left its case silently: no
/// incident event, and the case still counted it. The case records when
/// the unit left, says it needs a unit, and watchers are told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_leaving_its_case_by_its_terminal_shows_on_the_case() {
    let dir = std::env::temp_dir().join(format!("kuaifan-leaving-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let auth = dir.join("auth.toml");
    std::fs::write(&auth, AUTH).expect("writes");
    let server = ServerProcess::ready(&["--auth", auth.to_str().expect("utf-8")]);
    let mut c = client(&server).await;
    for (status, incident_no) in [
        (proto::UnitStatus::OutOfService, 0),
        (proto::UnitStatus::Returning, 1),
        (proto::UnitStatus::Available, 2),
    ] {
        let report = proto::ReportIncidentRequest {
            location: at(DOWNTOWN.0, DOWNTOWN.1),
            priority: proto::Priority::P3 as i32,
            category: "theft".to_string(),
            ..Default::default()
        };
        let incident = c
            .report_incident(with_token(report, DISPATCHER))
            .await
            .expect("reported")
            .into_inner()
            .incident
            .expect("an incident");
        let confirm = proto::ConfirmAssignmentRequest {
            incident_id: incident.id.clone(),
            unit_ids: vec!["U01".to_string()],
            note: String::new(),
            ..Default::default()
        };
        c.confirm_assignment(with_token(confirm, DISPATCHER))
            .await
            .expect("U01 is sent");
        let mut events = c
            .watch_events(with_token(proto::WatchEventsRequest {}, DISPATCHER))
            .await
            .expect("watching")
            .into_inner();
        let leave = proto::SetUnitStatusRequest {
            unit_id: "U01".to_string(),
            status: status as i32,
            note: "called away".to_string(),
            ..Default::default()
        };
        c.set_unit_status(with_token(leave, TERMINAL))
            .await
            .expect("the terminal sets its own status");
        let seen = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(Ok(e)) = events.next().await {
                if let Some(event::Kind::Incident(i)) = e.kind
                    && i.id == incident.id
                {
                    return Some(i);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("{status:?}: no event for incident {}", incident.id));
        assert!(
            seen.assignments[0].left_at_ms > 0,
            "{status:?}: the case records that U01 left: {seen:?}"
        );
        assert!(seen.needs_unit, "{status:?}: the case needs a unit again");
        assert_eq!(seen.stage, proto::Stage::Assigned as i32);
        let read = c
            .get_incident(with_token(
                proto::GetIncidentRequest {
                    id: incident.id.clone(),
                },
                DISPATCHER,
            ))
            .await
            .expect("read")
            .into_inner();
        assert_eq!(read, seen, "{status:?} (incident {incident_no})");
        // Back in service for the next round.
        let back = proto::SetUnitStatusRequest {
            unit_id: "U01".to_string(),
            status: proto::UnitStatus::Available as i32,
            ..Default::default()
        };
        c.set_unit_status(with_token(back, TERMINAL))
            .await
            .expect("available");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
