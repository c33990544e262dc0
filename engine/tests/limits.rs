//! One caller must not starve dispatch (issue 17, §6): per-token limits
//! on streams and fixes, and dispatch commands ahead of position fixes in
//! the writer. Against the real `kuaifan serve` and the engine itself.

mod common;

use common::jincheng_world as world;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self};
use kuaifan_engine::{Command, DispatchEngine, LatLon, Priority, Stamped};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request};

const AUTH: &str = r#"
[[token]]
name = "dispatcher-1"
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

/// The issue's flood: connections, and streams on each.
const CONNECTIONS: usize = 16;
const STREAMS_PER_CONNECTION: usize = 256;

/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_320.0;

fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", value);
    request
}

/// One stream of U01's fixes, 200 m apart (each forces a coverage
/// recompute), about a thousand a second, until `stop`.
async fn flood(
    channel: Channel,
    home: proto::LatLng,
    stop: Arc<AtomicBool>,
) -> Result<proto::ReportPositionsResponse, tonic::Status> {
    let (send, fixes) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let mut k = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let north = if k.is_multiple_of(2) { 0.0 } else { 200.0 };
            let fix = proto::UnitPosition {
                unit_id: "U01".to_string(),
                position: Some(proto::LatLng {
                    lat: home.lat + north / M_PER_DEG,
                    lng: home.lng,
                }),
                time_ms: 0,
                heading_deg: 0.0,
                speed_mps: 10.0,
            };
            if send.send(fix).await.is_err() {
                return;
            }
            k += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let mut client = DispatchClient::new(channel);
    client
        .report_positions(with_token(ReceiverStream::new(fixes), TERMINAL))
        .await
        .map(tonic::Response::into_inner)
}

/// Issue 17, §6: 16 connections × 256 streams on one unit token while a
/// dispatcher reports incidents. Before, streams skipped every limit and
/// each fix queued for the writer ahead of dispatch: the queue filled and
/// `ReportIncident` got RESOURCE_EXHAUSTED. Every report is answered; the
/// token's streams beyond its limit are refused at once, naming the
/// limit; fixes beyond its rate are dropped and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_streams_on_one_unit_token_does_not_starve_dispatch() {
    let dir = std::env::temp_dir().join(format!("kuaifan-limits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let auth = dir.join("auth.toml");
    std::fs::write(&auth, AUTH).expect("writes");
    let server = ServerProcess::ready(&["--auth", auth.to_str().expect("utf-8")]);
    let mut dispatcher = DispatchClient::connect(server.url())
        .await
        .expect("connects");
    let units = dispatcher
        .list_units(with_token(proto::ListUnitsRequest {}, DISPATCHER))
        .await
        .expect("units")
        .into_inner()
        .units;
    let home = units[0].position.expect("U01 stands somewhere");

    let stop = Arc::new(AtomicBool::new(false));
    let mut streams = Vec::with_capacity(CONNECTIONS * STREAMS_PER_CONNECTION);
    for _ in 0..CONNECTIONS {
        let channel = Endpoint::from_shared(server.url())
            .expect("a URL")
            .connect()
            .await
            .expect("connects");
        for _ in 0..STREAMS_PER_CONNECTION {
            streams.push(tokio::spawn(flood(channel.clone(), home, stop.clone())));
        }
    }
    // Let the flood reach the server.
    tokio::time::sleep(Duration::from_secs(1)).await;

    // A dispatcher's calls meanwhile, one after another, each with a
    // deadline a console would give it.
    let mut answered = 0;
    let mut refused = Vec::new();
    for k in 0..20 {
        let mut request = with_token(
            proto::ReportIncidentRequest {
                location: Some(proto::LatLng {
                    lat: home.lat + 0.001 * f64::from(k % 5),
                    lng: home.lng,
                }),
                priority: proto::Priority::P3 as i32,
                category: "theft".to_string(),
                description: format!("call {k} during the flood"),
                request_id: format!("flood-call-{k}"),
                ..Default::default()
            },
            DISPATCHER,
        );
        request.set_timeout(Duration::from_secs(20));
        match dispatcher.report_incident(request).await {
            Ok(_) => answered += 1,
            Err(status) => refused.push(format!(
                "call {k}: {:?}: {}",
                status.code(),
                status.message()
            )),
        }
    }
    stop.store(true, Ordering::Relaxed);

    let (mut limited, mut open, mut rate_dropped, mut accepted) = (0, 0, 0u64, 0u64);
    let mut other = Vec::new();
    for stream in streams {
        match stream.await.expect("the stream task ends") {
            Ok(answer) => {
                open += 1;
                accepted += answer.accepted;
                if answer.errors.iter().any(|e| e.contains("fixes a second")) {
                    rate_dropped += answer.rejected;
                }
            }
            Err(status)
                if status.code() == Code::ResourceExhausted
                    && status.message().contains("streams open") =>
            {
                limited += 1;
            }
            Err(status) => other.push(format!("{:?}: {}", status.code(), status.message())),
        }
    }
    println!(
        "{answered} of 20 reports answered; streams: {open} open, {limited} refused at the \
         token's limit, {} other; fixes: {accepted} accepted, {rate_dropped} dropped over the rate",
        other.len()
    );
    assert!(
        refused.is_empty(),
        "reports refused during the flood: {refused:?}"
    );
    assert_eq!(answered, 20);
    // At most the token's 8 streams at once; the rest refused at once.
    assert!(open <= 8, "{open} streams were taken for one token");
    assert_eq!(
        limited + open,
        CONNECTIONS * STREAMS_PER_CONNECTION,
        "every stream is taken or refused at the limit: {other:?}"
    );
    assert!(
        rate_dropped > accepted,
        "the flood was not held to the token's rate: {accepted} accepted, {rate_dropped} dropped"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The writer takes dispatch commands ahead of position fixes: with a
/// thousand fixes waiting, a report queued after them is applied first.
/// (One queue in arrival order applied it last.)
#[test]
fn the_writer_takes_a_report_ahead_of_waiting_fixes() {
    let world = world();
    let engine = DispatchEngine::start(world.clone(), None).expect("starts");
    let handle = engine.handle();
    let order: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let stamped = |at_ms: i64, command: Command| Stamped {
        at_ms,
        actor: "test".to_string(),
        command,
    };
    // Hold the writer inside the answer to a first command, so that
    // everything below waits in its queues.
    let gate = Arc::new(Barrier::new(2));
    let held = gate.clone();
    let (entered, inside) = std::sync::mpsc::channel();
    let home = handle.snapshot().units()[0].location;
    handle
        .submit_then(
            stamped(
                1_000,
                Command::ReportPosition {
                    unit: "U01".to_string(),
                    location: home,
                    heading: None,
                },
            ),
            move |_| {
                let _ = entered.send(());
                held.wait();
            },
        )
        .expect("queued");
    inside.recv().expect("the writer answers the first fix");
    let fixes: i64 = 1000;
    let mut queued = 0;
    for k in 0..fixes {
        let north = if k % 2 == 0 { 0.0 } else { 200.0 };
        let location = LatLon::new(home.lat() + north / M_PER_DEG, home.lon()).expect("valid");
        let order = order.clone();
        let sent = handle.submit_then(
            stamped(
                2_000 + k,
                Command::ReportPosition {
                    unit: "U01".to_string(),
                    location,
                    heading: None,
                },
            ),
            move |_| order.lock().expect("order").push("fix".to_string()),
        );
        if sent.is_ok() {
            queued += 1;
        }
    }
    let report = order.clone();
    handle
        .submit_then(
            stamped(
                5_000,
                Command::ReportIncident {
                    location: home,
                    priority: Priority::P1,
                    category: "robbery".to_string(),
                    description: String::new(),
                    caller_ref: String::new(),
                },
            ),
            move |r| {
                assert!(r.is_ok(), "{r:?}");
                report.lock().expect("order").push("report".to_string());
            },
        )
        .expect("a report is queued whatever the fixes");
    gate.wait();
    engine.shutdown();
    let order = order.lock().expect("order");
    let at = order
        .iter()
        .position(|k| k == "report")
        .expect("the report was applied");
    assert_eq!(order.len(), queued + 1, "every queued fix was answered");
    assert!(queued > 500, "only {queued} fixes were queued");
    assert_eq!(
        at, 0,
        "the report was applied after {at} of the {queued} fixes queued before it"
    );
}
