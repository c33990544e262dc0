//! Bad input, as consoles, terminals and operators give it: the answer each
//! kind gets (status and message) and, where it is refused, proof that it
//! changed nothing. The real `kuaifan serve` on a free loopback port; most
//! tests serve the tiny scenario (it loads at once), the place far from
//! roads is in the built-in Jincheng scenario. README.md's "Bad input"
//! table names these tests.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::server::ServerProcess;
use kuaifan_engine::service::proto;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use prost::Message;
use prost::bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

type Client = DispatchClient<Channel>;

/// On a street of the tiny map, inside zone Z01.
const TINY_STREET: (f64, f64) = (35.5005, 112.8505);

/// In Jincheng's Taihang hills (Lingchuan county), inside the city
/// boundary, about 3.4 km from the nearest road of the generated map.
const JINCHENG_HILLS: (f64, f64) = (35.5100, 113.4400);

fn tiny_scenario() -> String {
    common::fixture("scenario/valid")
        .to_str()
        .expect("a UTF-8 path")
        .to_string()
}

/// `kuaifan serve` on the tiny scenario, ready, with `args`.
fn tiny_server(args: &[&str]) -> ServerProcess {
    let scenario = tiny_scenario();
    let mut all = vec!["--scenario", scenario.as_str()];
    all.extend_from_slice(args);
    ServerProcess::ready(&all)
}

async fn client(server: &ServerProcess) -> Client {
    DispatchClient::connect(server.url())
        .await
        .expect("the server accepts connections")
}

fn at(lat: f64, lng: f64) -> Option<proto::LatLng> {
    Some(proto::LatLng { lat, lng })
}

fn report_at(lat: f64, lng: f64) -> proto::ReportIncidentRequest {
    proto::ReportIncidentRequest {
        location: at(lat, lng),
        priority: proto::Priority::P2 as i32,
        category: "theft".to_string(),
        description: "a bicycle".to_string(),
        caller_ref: "110-0002".to_string(),
        ..Default::default()
    }
}

fn report() -> proto::ReportIncidentRequest {
    report_at(TINY_STREET.0, TINY_STREET.1)
}

fn advance(id: &str, to: i32) -> proto::AdvanceIncidentRequest {
    proto::AdvanceIncidentRequest {
        incident_id: id.to_string(),
        to,
        note: String::new(),
        request_id: String::new(),
    }
}

fn confirm(id: &str, units: &[&str]) -> proto::ConfirmAssignmentRequest {
    proto::ConfirmAssignmentRequest {
        incident_id: id.to_string(),
        unit_ids: units.iter().map(|u| u.to_string()).collect(),
        note: String::new(),
        ..Default::default()
    }
}

fn refusal<T: std::fmt::Debug>(result: Result<tonic::Response<T>, Status>) -> (Code, String) {
    let status = result.expect_err("the call is refused");
    (status.code(), status.message().to_string())
}

/// Asserts the code and that the message contains every one of `parts`.
fn assert_refused(what: &str, (code, message): &(Code, String), want: Code, parts: &[&str]) {
    assert_eq!(*code, want, "{what}: {message}");
    for part in parts {
        assert!(message.contains(part), "{what}: {message:?} lacks {part:?}");
    }
}

async fn report_one(c: &mut Client) -> String {
    c.report_incident(report())
        .await
        .expect("reported")
        .into_inner()
        .incident
        .expect("an incident")
        .id
}

async fn incidents(c: &mut Client) -> Vec<proto::Incident> {
    c.list_incidents(proto::ListIncidentsRequest {
        open_only: false,
        ..Default::default()
    })
    .await
    .expect("lists incidents")
    .into_inner()
    .incidents
}

async fn incident(c: &mut Client, id: &str) -> proto::Incident {
    c.get_incident(proto::GetIncidentRequest { id: id.to_string() })
        .await
        .expect("the incident")
        .into_inner()
}

async fn units(c: &mut Client) -> Vec<proto::Unit> {
    c.list_units(proto::ListUnitsRequest {})
        .await
        .expect("lists units")
        .into_inner()
        .units
}

async fn unit(c: &mut Client, id: &str) -> proto::Unit {
    units(c)
        .await
        .into_iter()
        .find(|u| u.id == id)
        .unwrap_or_else(|| panic!("no unit {id}"))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// The distance in a message `... is N m from the nearest road ...`.
fn metres_from_road(message: &str) -> f64 {
    message
        .split(" m from the nearest road")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no distance in {message:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_in_jincheng_far_from_every_road_is_out_of_range_and_records_nothing() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    let (lat, lng) = JINCHENG_HILLS;
    let before = units(&mut c).await;

    let reported = refusal(c.report_incident(report_at(lat, lng)).await);
    assert_refused(
        "report in the hills",
        &reported,
        Code::OutOfRange,
        &[
            "the incident is ",
            "m from the nearest road (at most 1000 m)",
        ],
    );
    let metres = metres_from_road(&reported.1);
    assert!((1000.0..10_000.0).contains(&metres), "{metres} m");

    let asked = refusal(
        c.recommend(proto::RecommendRequest {
            location: at(lat, lng),
            priority: proto::Priority::P1 as i32,
            with_routes: false,
            policy: 0,
            ..Default::default()
        })
        .await,
    );
    assert_refused(
        "recommend in the hills",
        &asked,
        Code::OutOfRange,
        &["m from the nearest road"],
    );

    // A terminal's fix there is rejected; the stream goes on.
    let first = before[0].clone();
    let fix = proto::UnitPosition {
        unit_id: first.id.clone(),
        position: at(lat, lng),
        ..Default::default()
    };
    let answer = c
        .report_positions(tokio_stream::iter(vec![fix]))
        .await
        .expect("the stream is answered")
        .into_inner();
    assert_eq!((answer.accepted, answer.rejected), (0, 1), "{answer:?}");
    assert!(
        answer.errors[0].contains("m from the nearest road"),
        "{answer:?}"
    );

    assert!(incidents(&mut c).await.is_empty(), "nothing was recorded");
    assert_eq!(units(&mut c).await, before, "no unit moved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_only_go_forward_one_at_a_time_and_a_refused_step_changes_nothing() {
    let server = tiny_server(&[]);
    let mut c = client(&server).await;
    let id = c
        .report_incident(report())
        .await
        .expect("reported")
        .into_inner()
        .incident
        .expect("an incident")
        .id;
    c.advance_incident(advance(&id, proto::Stage::Registered as i32))
        .await
        .expect("registered");
    let registered = incident(&mut c, &id).await;

    let cases = [
        (
            "back to REPORTED",
            proto::Stage::Reported as i32,
            Code::FailedPrecondition,
            "is REGISTERED; it cannot go to REPORTED: stages only move forward",
        ),
        (
            "REGISTERED again",
            proto::Stage::Registered as i32,
            Code::FailedPrecondition,
            "stages only move forward",
        ),
        (
            "skipping to FEEDBACK",
            proto::Stage::Feedback as i32,
            Code::FailedPrecondition,
            "stages are taken one at a time",
        ),
        (
            "ASSIGNED by hand",
            proto::Stage::Assigned as i32,
            Code::FailedPrecondition,
            "becomes ASSIGNED when units are assigned",
        ),
        (
            "stage 9",
            9,
            Code::InvalidArgument,
            "stage 9 is not one of REPORTED (1) to CLOSED (6)",
        ),
    ];
    for (what, to, code, text) in cases {
        let refused = refusal(c.advance_incident(advance(&id, to)).await);
        assert_refused(what, &refused, code, &[text]);
        assert_eq!(incident(&mut c, &id).await, registered, "{what} changed it");
    }
    let unknown = refusal(
        c.advance_incident(advance("999", proto::Stage::Registered as i32))
            .await,
    );
    assert_refused(
        "unknown incident",
        &unknown,
        Code::NotFound,
        &["no incident 999"],
    );

    // Closed is the end: going back is refused too.
    c.confirm_assignment(confirm(&id, &["U01"]))
        .await
        .expect("assigned");
    for to in [
        proto::Stage::Handling,
        proto::Stage::Feedback,
        proto::Stage::Closed,
    ] {
        c.advance_incident(advance(&id, to as i32))
            .await
            .expect("advances");
    }
    let closed = incident(&mut c, &id).await;
    let reopened = refusal(
        c.advance_incident(advance(&id, proto::Stage::Feedback as i32))
            .await,
    );
    assert_refused(
        "reopening",
        &reopened,
        Code::FailedPrecondition,
        &["is CLOSED; it cannot go to FEEDBACK: the case is closed"],
    );
    assert_eq!(incident(&mut c, &id).await, closed);
    assert_eq!(incidents(&mut c).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignments_of_unknown_busy_doubled_or_out_of_service_units_are_refused_and_change_nothing()
 {
    let server = tiny_server(&[]);
    let mut c = client(&server).await;
    let first = report_one(&mut c).await;
    let second = report_one(&mut c).await;
    c.confirm_assignment(confirm(&first, &["U01"]))
        .await
        .expect("U01 goes to the first");
    c.set_unit_status(proto::SetUnitStatusRequest {
        unit_id: "U03".to_string(),
        status: proto::UnitStatus::OutOfService as i32,
        note: "flat tyre".to_string(),
        request_id: String::new(),
    })
    .await
    .expect("U03 is out of service");
    let before_units = units(&mut c).await;
    let before_first = incident(&mut c, &first).await;
    let before_second = incident(&mut c, &second).await;
    assert_eq!(before_second.stage, proto::Stage::Reported as i32);

    let busy = format!("unit U01 is already assigned to incident {first}");
    // What, the incident, the units, and the answer.
    type Case<'a> = (&'a str, &'a str, &'a [&'a str], Code, &'a str);
    let cases: [Case; 6] = [
        (
            "unknown incident",
            "999",
            &["U02"],
            Code::NotFound,
            "no incident 999",
        ),
        (
            "unknown unit",
            &second,
            &["U999"],
            Code::NotFound,
            "no unit \"U999\"",
        ),
        (
            "no unit listed",
            &second,
            &[],
            Code::InvalidArgument,
            "lists no unit",
        ),
        (
            "one unit twice",
            &second,
            &["U02", "U02"],
            Code::InvalidArgument,
            "unit U02 listed twice",
        ),
        (
            "a unit on another incident",
            &second,
            &["U02", "U01"],
            Code::FailedPrecondition,
            &busy,
        ),
        (
            "a unit out of service",
            &second,
            &["U03"],
            Code::FailedPrecondition,
            "unit U03 is OUT_OF_SERVICE and cannot be assigned",
        ),
    ];
    for (what, id, unit_ids, code, text) in cases {
        let refused = refusal(c.confirm_assignment(confirm(id, unit_ids)).await);
        assert_refused(what, &refused, code, &[text]);
        // Not even the registration that comes first is kept.
        assert_eq!(incident(&mut c, &second).await, before_second, "{what}");
        assert_eq!(incident(&mut c, &first).await, before_first, "{what}");
        assert_eq!(units(&mut c).await, before_units, "{what}");
    }
    assert_eq!(incidents(&mut c).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_status_missing_or_unknown_is_invalid_and_changes_nothing() {
    let server = tiny_server(&[]);
    let mut c = client(&server).await;
    let before = units(&mut c).await;
    let set = |status: i32| proto::SetUnitStatusRequest {
        unit_id: "U02".to_string(),
        status,
        note: String::new(),
        request_id: String::new(),
    };
    let missing = refusal(c.set_unit_status(set(0)).await);
    assert_refused(
        "status 0",
        &missing,
        Code::InvalidArgument,
        &["the unit status is missing"],
    );
    let unknown = refusal(c.set_unit_status(set(9)).await);
    assert_refused(
        "status 9",
        &unknown,
        Code::InvalidArgument,
        &["unit status 9 is not one of AVAILABLE (1) to OUT_OF_SERVICE (5)"],
    );
    assert_eq!(units(&mut c).await, before, "no unit changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_over_4096_bytes_and_messages_over_1_mib_are_refused_at_the_boundary() {
    let server = tiny_server(&[]);
    let mut c = client(&server).await;
    let with_description = |text: String| {
        let mut r = report();
        r.description = text;
        r
    };
    // Bytes, not characters: 1,365 three-byte characters are 4,095 bytes.
    c.report_incident(with_description("x".repeat(4096)))
        .await
        .expect("4,096 bytes are accepted");
    c.report_incident(with_description("警".repeat(1365)))
        .await
        .expect("4,095 bytes are accepted");
    assert_eq!(incidents(&mut c).await.len(), 2);

    let over = refusal(c.report_incident(with_description("x".repeat(4097))).await);
    assert_refused(
        "4,097 bytes",
        &over,
        Code::InvalidArgument,
        &["description is 4097 bytes long; at most 4096 are accepted"],
    );
    let wide = refusal(c.report_incident(with_description("警".repeat(1366))).await);
    assert_refused(
        "1,366 characters",
        &wide,
        Code::InvalidArgument,
        &["description is 4098 bytes long"],
    );
    let mut note = advance("1", proto::Stage::Registered as i32);
    note.note = "x".repeat(5000);
    let long_note = refusal(c.advance_incident(note).await);
    assert_refused(
        "a long note",
        &long_note,
        Code::InvalidArgument,
        &["note is 5000 bytes long"],
    );

    // Just under 1 MiB the message is read and its field refused; just
    // over, it is refused unread.
    let under = with_description("x".repeat((1 << 20) - 100));
    assert!(under.encoded_len() < 1 << 20);
    let under = refusal(c.report_incident(under).await);
    assert_refused(
        "just under 1 MiB",
        &under,
        Code::InvalidArgument,
        &["description is 1048476 bytes long"],
    );
    let over = with_description("x".repeat(1 << 20));
    assert!(over.encoded_len() > 1 << 20);
    let over = refusal(c.report_incident(over).await);
    assert_refused(
        "just over 1 MiB",
        &over,
        Code::OutOfRange,
        &["too large", "1048576"],
    );
    assert_eq!(
        incidents(&mut c).await.len(),
        2,
        "no refused report is kept"
    );
    assert_eq!(
        incident(&mut c, "1").await.stage,
        proto::Stage::Reported as i32
    );
}

/// Sends and receives message bodies as they are, so a test can send
/// bytes that are not a valid protobuf message.
#[derive(Clone, Copy, Debug, Default)]
struct RawCodec;

#[derive(Clone, Copy, Debug, Default)]
struct Raw;

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let len = src.remaining();
        Ok(Some(src.copy_to_bytes(len).to_vec()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

async fn raw_unary(server: &ServerProcess, method: &'static str, body: Vec<u8>) -> (Code, String) {
    let channel = Channel::from_shared(server.url())
        .expect("a URL")
        .connect()
        .await
        .expect("connects");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = PathAndQuery::from_static(method);
    refusal(grpc.unary(Request::new(body), path, RawCodec).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_protobuf_message_is_refused_unread_and_changes_nothing() {
    let server = tiny_server(&[]);
    let mut c = client(&server).await;
    let valid = report().encode_to_vec();
    let mut bad_utf8 = valid.clone();
    // Field 3 (category), a string, holding bytes that are not UTF-8.
    bad_utf8.extend_from_slice(&[0x1a, 0x02, 0xff, 0xfe]);
    let cases = [
        (
            "cut short",
            valid[..valid.len() - 3].to_vec(),
            "ReportIncidentRequest.caller_ref: buffer underflow",
        ),
        (
            "a field longer than the message",
            vec![0x0a, 0x20, 0x09],
            "ReportIncidentRequest.location: buffer underflow",
        ),
        (
            "a string that is not UTF-8",
            bad_utf8,
            "ReportIncidentRequest.category: invalid string value: data is not UTF-8 encoded",
        ),
        (
            "a varint field sent as bytes",
            vec![0x12, 0x01, 0x01],
            "ReportIncidentRequest.priority: invalid wire type",
        ),
        ("noise", vec![0xff; 12], "invalid varint"),
    ];
    for (what, body, why) in cases {
        let refused = raw_unary(&server, "/kuaifan.v1.Dispatch/ReportIncident", body).await;
        // tonic answers before the service sees the call, with the status
        // the gRPC status code guide gives a request it cannot parse.
        assert_refused(
            what,
            &refused,
            Code::Internal,
            &["failed to decode Protobuf message: ", why],
        );
    }
    let get = raw_unary(
        &server,
        "/kuaifan.v1.Dispatch/GetIncident",
        vec![0x0a, 0x02, 0xc3, 0x28],
    )
    .await;
    assert_refused(
        "an id that is not UTF-8",
        &get,
        Code::Internal,
        &["failed to decode Protobuf message: GetIncidentRequest.id: invalid string value"],
    );
    assert!(incidents(&mut c).await.is_empty(), "nothing was recorded");

    // In a stream of fixes, the malformed one ends the stream; the fixes
    // before it are kept.
    let home = unit(&mut c, "U02").await;
    let moved = proto::UnitPosition {
        unit_id: "U02".to_string(),
        position: at(35.5030, 112.8530),
        ..Default::default()
    };
    let frames = vec![moved.encode_to_vec(), vec![0x0a, 0x7f, 0x55]];
    let channel = Channel::from_shared(server.url())
        .expect("a URL")
        .connect()
        .await
        .expect("connects");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let stream = refusal(
        grpc.client_streaming(
            Request::new(tokio_stream::iter(frames)),
            PathAndQuery::from_static("/kuaifan.v1.Dispatch/ReportPositions"),
            RawCodec,
        )
        .await,
    );
    assert_refused(
        "a malformed fix",
        &stream,
        Code::Internal,
        &["failed to decode Protobuf message"],
    );
    let after = unit(&mut c, "U02").await;
    assert_ne!(after.position, home.position, "the fix before it was kept");
    assert_eq!(units(&mut c).await.len(), 3, "the server carries on");
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

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-bad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn with_authorization<T>(message: T, value: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = value.parse().expect("ascii");
    request.metadata_mut().insert("authorization", value);
    request
}

fn with_token<T>(message: T, token: &str) -> Request<T> {
    with_authorization(message, &format!("Bearer {token}"))
}

/// Every unit, as the dispatcher of a guarded server reads them.
async fn guarded_units(c: &mut Client) -> Vec<proto::Unit> {
    c.list_units(with_token(proto::ListUnitsRequest {}, DISPATCHER))
        .await
        .expect("the dispatcher reads")
        .into_inner()
        .units
}

async fn guarded_unit(c: &mut Client, id: &str) -> proto::Unit {
    guarded_units(c)
        .await
        .into_iter()
        .find(|u| u.id == id)
        .unwrap_or_else(|| panic!("no unit {id}"))
}

/// A tiny server with the auth file above.
fn guarded_server(dir: &Path) -> ServerProcess {
    let auth = dir.join("auth.toml");
    std::fs::write(&auth, AUTH).expect("writes the auth file");
    tiny_server(&["--auth", auth.to_str().expect("a UTF-8 path")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_wrong_or_malformed_token_is_unauthenticated_and_changes_nothing() {
    let dir = scratch("tokens");
    let server = guarded_server(&dir);
    let mut c = client(&server).await;
    let before = guarded_units(&mut c).await;

    let none = refusal(c.report_incident(report()).await);
    assert_refused(
        "no token",
        &none,
        Code::Unauthenticated,
        &["no `authorization: Bearer <token>` metadata"],
    );
    let wrong = refusal(
        c.report_incident(with_token(report(), "wrong-token-0123456789"))
            .await,
    );
    assert_refused(
        "a wrong token",
        &wrong,
        Code::Unauthenticated,
        &["the token is not valid"],
    );
    let basic = refusal(
        c.report_incident(with_authorization(report(), "Basic ZGVzazoxMjM0"))
            .await,
    );
    assert_refused(
        "not a bearer token",
        &basic,
        Code::Unauthenticated,
        &["is not `Bearer <token>`"],
    );
    let reads = refusal(c.list_units(proto::ListUnitsRequest {}).await);
    assert_refused("a read", &reads, Code::Unauthenticated, &["authorization"]);
    let fix = proto::UnitPosition {
        unit_id: "U01".to_string(),
        position: at(35.5030, 112.8530),
        ..Default::default()
    };
    let stream = refusal(c.report_positions(tokio_stream::iter(vec![fix])).await);
    assert_refused(
        "a stream",
        &stream,
        Code::Unauthenticated,
        &["authorization"],
    );

    let listed = c
        .list_incidents(with_token(
            proto::ListIncidentsRequest {
                open_only: false,
                ..Default::default()
            },
            DISPATCHER,
        ))
        .await
        .expect("the dispatcher reads")
        .into_inner();
    assert!(listed.incidents.is_empty(), "nothing was recorded");
    assert_eq!(guarded_units(&mut c).await, before, "no unit changed");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_terminal_reporting_for_another_unit_is_denied_and_that_unit_is_untouched() {
    let dir = scratch("spoof");
    let server = guarded_server(&dir);
    let mut c = client(&server).await;
    let u01 = guarded_unit(&mut c, "U01").await;
    let u02 = guarded_unit(&mut c, "U02").await;
    let fix = |unit: &str| proto::UnitPosition {
        unit_id: unit.to_string(),
        position: at(35.5030, 112.8530),
        time_ms: now_ms(),
        ..Default::default()
    };

    let spoof = refusal(
        c.report_positions(with_token(tokio_stream::iter(vec![fix("U02")]), TERMINAL))
            .await,
    );
    assert_refused(
        "a fix for U02",
        &spoof,
        Code::PermissionDenied,
        &["U01-terminal is the terminal of unit U01; it may not report for unit U02"],
    );
    assert_eq!(guarded_unit(&mut c, "U02").await, u02, "U02 untouched");
    assert_eq!(guarded_unit(&mut c, "U01").await, u01, "U01 untouched");

    let status = refusal(
        c.set_unit_status(with_token(
            proto::SetUnitStatusRequest {
                unit_id: "U02".to_string(),
                status: proto::UnitStatus::OutOfService as i32,
                note: String::new(),
                request_id: String::new(),
            },
            TERMINAL,
        ))
        .await,
    );
    assert_refused(
        "a status for U02",
        &status,
        Code::PermissionDenied,
        &["may not report for unit U02"],
    );
    assert_eq!(guarded_unit(&mut c, "U02").await, u02, "U02 untouched");

    // The spoofed fix ends the stream; its own fixes before it are kept.
    let answer = refusal(
        c.report_positions(with_token(
            tokio_stream::iter(vec![fix("U01"), fix("U02")]),
            TERMINAL,
        ))
        .await,
    );
    assert_refused(
        "own fix, then U02's",
        &answer,
        Code::PermissionDenied,
        &["may not report for unit U02"],
    );
    assert_eq!(guarded_unit(&mut c, "U02").await, u02, "U02 untouched");
    assert_ne!(
        guarded_unit(&mut c, "U01").await.position,
        u01.position,
        "U01's own fix was kept"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixes_with_a_bad_speed_or_a_stale_time_are_rejected_and_the_stream_goes_on() {
    let server = tiny_server(&[]);
    let mut c = client(&server).await;
    let home = unit(&mut c, "U02").await;
    let now = now_ms();
    let fix = |speed_mps: f64, time_ms: i64| proto::UnitPosition {
        unit_id: "U02".to_string(),
        position: at(35.5030, 112.8530),
        time_ms,
        heading_deg: 90.0,
        speed_mps,
    };
    let answer = c
        .report_positions(tokio_stream::iter(vec![
            fix(-1.0, 0),
            fix(f64::NAN, 0),
            fix(8.0, now - 200_000),
            fix(8.0, 0),
        ]))
        .await
        .expect("the stream is not ended by bad fixes")
        .into_inner();
    assert_eq!(
        (answer.accepted, answer.rejected),
        (1, 3),
        "{:?}",
        answer.errors
    );
    let joined = answer.errors.join("\n");
    for reason in [
        "U02: speed -1 m/s is not a speed",
        "U02: speed NaN m/s is not a speed",
        "old; positions older than 120 s are stale",
    ] {
        assert!(joined.contains(reason), "{reason:?} missing from {joined}");
    }
    let moved = unit(&mut c, "U02").await;
    assert_ne!(moved.position, home.position, "the good fix was taken");

    // Rejected fixes alone change nothing.
    let answer = c
        .report_positions(tokio_stream::iter(vec![fix(-1.0, 0), fix(8.0, 1)]))
        .await
        .expect("answered")
        .into_inner();
    assert_eq!((answer.accepted, answer.rejected), (0, 2), "{answer:?}");
    assert_eq!(unit(&mut c, "U02").await, moved);
}

/// Runs `kuaifan` with `args` until it exits (at most two minutes).
fn run_to_exit(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("waits").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kuaifan {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("its output")
}

/// The tiny scenario in `dir`, with its map and zones files replaced.
fn scenario_with(dir: &Path, map: &[u8], zones: &Path) -> String {
    let valid = common::fixture("scenario/valid");
    for file in ["units.toml", "stations.geojson", "rings.geojson"] {
        std::fs::copy(valid.join(file), dir.join(file)).expect("copies");
    }
    std::fs::copy(zones, dir.join("zones.geojson")).expect("copies");
    std::fs::write(dir.join("map.osm.pbf"), map).expect("writes");
    let toml = std::fs::read_to_string(valid.join("scenario.toml"))
        .expect("reads")
        .replace("../../tiny.osm.pbf", "map.osm.pbf");
    std::fs::write(dir.join("scenario.toml"), toml).expect("writes");
    dir.to_str().expect("a UTF-8 path").to_string()
}

#[test]
fn a_scenario_with_a_truncated_map_or_overlapping_zones_stops_the_server_with_the_problem() {
    let dir = scratch("scenarios");
    let map = std::fs::read(common::fixture("tiny.osm.pbf")).expect("reads");
    let valid_zones = common::fixture("scenario/valid/zones.geojson");
    let overlapping = common::fixture("scenario/invalid/zones_overlap.geojson");
    let truncated = scenario_with(
        &std::fs::create_dir_all(dir.join("truncated"))
            .map(|()| dir.join("truncated"))
            .expect("a directory"),
        &map[..map.len() * 2 / 3],
        &valid_zones,
    );
    let overlap = scenario_with(
        &std::fs::create_dir_all(dir.join("overlap"))
            .map(|()| dir.join("overlap"))
            .expect("a directory"),
        &map,
        &overlapping,
    );
    let cases = [
        (truncated, &["map.osm.pbf", "PBF"][..]),
        (overlap, &["zones Z01 and Z02 overlap by"][..]),
    ];
    for (scenario, parts) in cases {
        for command in ["serve", "scenario-info"] {
            let mut args = vec![command, "--scenario", scenario.as_str()];
            if command == "serve" {
                args.extend(["--listen", "127.0.0.1:0"]);
            }
            let out = run_to_exit(&args);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{command} {scenario}: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(!stdout.contains("kuaifan: ready"), "{stdout}");
            for part in parts {
                assert!(
                    stderr.contains(part),
                    "{command} {scenario}: {part:?} not in {stderr}"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn accept(unit: &str, post: &str) -> proto::AcceptMoveUpRequest {
    proto::AcceptMoveUpRequest {
        unit_id: unit.to_string(),
        post_id: post.to_string(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_ups_of_unknown_busy_held_or_too_far_units_are_invalid_and_change_nothing() {
    // The tiny scenario, and a copy of it whose drive limit is 1 s.
    let dir = scratch("move-up-bad-input");
    let valid = common::fixture("scenario/valid");
    for file in [
        "units.toml",
        "stations.geojson",
        "rings.geojson",
        "zones.geojson",
        "posts.geojson",
    ] {
        std::fs::copy(valid.join(file), dir.join(file)).expect("copies");
    }
    let map = common::fixture("tiny.osm.pbf");
    let toml = std::fs::read_to_string(valid.join("scenario.toml"))
        .expect("reads")
        .replace("../../tiny.osm.pbf", map.to_str().expect("a UTF-8 path"))
        .replace("drive_limit_s = 480", "drive_limit_s = 1");
    std::fs::write(dir.join("scenario.toml"), toml).expect("writes");
    let near = ServerProcess::ready(&["--scenario", dir.to_str().expect("a UTF-8 path")]);
    let mut n = client(&near).await;

    let server = tiny_server(&[]);
    let mut c = client(&server).await;
    let first = report_one(&mut c).await;
    c.confirm_assignment(confirm(&first, &["U01"]))
        .await
        .expect("U01 goes to the call");
    c.accept_move_up(accept("U02", "P01"))
        .await
        .expect("U02 moves to P01");
    let before = units(&mut c).await;

    // What, the server, the request, and what the message says.
    type Case<'a> = (&'a str, bool, proto::AcceptMoveUpRequest, &'a str);
    let cases: [Case; 9] = [
        ("no unit", false, accept("", "P01"), "unit_id is missing"),
        ("no post", false, accept("U03", ""), "post_id is missing"),
        (
            "unknown unit",
            false,
            accept("U99", "P01"),
            "unit_id: no unit \"U99\"",
        ),
        (
            "unknown post",
            false,
            accept("U03", "P99"),
            "post_id: no post \"P99\"",
        ),
        (
            "a unit on a call",
            false,
            accept("U01", "P02"),
            "unit_id: unit U01 is DISPATCHED and not free to move up",
        ),
        (
            "a unit within its hold time",
            false,
            accept("U02", "P02"),
            "unit_id: unit U02 was moved at",
        ),
        (
            "a post another free unit stands by at",
            false,
            accept("U03", "P01"),
            "post_id: post P01 is taken: free unit U02 stands by there",
        ),
        (
            "the unit's own post",
            false,
            accept("U03", "U03"),
            "post_id: unit U03 already stands by at post U03",
        ),
        (
            "a drive over the limit",
            true,
            accept("U03", "P02"),
            "over the drive limit of 1 s",
        ),
    ];
    for (what, on_near, request, text) in cases {
        let (client, server_units) = if on_near {
            (&mut n, None)
        } else {
            (&mut c, Some(&before))
        };
        let refused = refusal(client.accept_move_up(request).await);
        assert_refused(what, &refused, Code::InvalidArgument, &[text]);
        if let Some(before) = server_units {
            assert_eq!(&units(client).await, before, "{what}");
        }
    }
    let near_units = units(&mut n).await;
    assert!(
        near_units
            .iter()
            .all(|u| u.moved_at_ms == 0 && u.post_id == u.id)
    );
    let release = |unit: &str| proto::ReleaseMoveUpRequest {
        unit_id: unit.to_string(),
        ..Default::default()
    };
    let refused = refusal(c.release_move_up(release("U03")).await);
    assert_refused(
        "releasing a unit that was not moved",
        &refused,
        Code::InvalidArgument,
        &["unit_id: unit U03 stands by at its own standby point"],
    );
    let refused = refusal(c.release_move_up(release("U99")).await);
    assert_refused(
        "releasing an unknown unit",
        &refused,
        Code::InvalidArgument,
        &["unit_id: no unit \"U99\""],
    );
    assert_eq!(units(&mut c).await, before, "no release changed anything");
    let _ = std::fs::remove_dir_all(&dir);
}
/// The urban core of Jincheng, on 凤台街.
const JINCHENG_CORE: (f64, f64) = (35.4950, 112.8450);

async fn containment_of(c: &mut Client, id: &str) -> Result<proto::Containment, Status> {
    c.get_containment(proto::GetContainmentRequest {
        incident_id: id.to_string(),
        with_possible_area: false,
    })
    .await
    .map(|r| {
        let mut c = r.into_inner();
        // Made again at each read, from the clock.
        c.plan = None;
        c
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containment_commands_with_a_bad_field_or_out_of_turn_are_refused_and_change_nothing() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    let (lat, lng) = JINCHENG_CORE;
    let reported = |c: &mut Client| {
        let mut c = c.clone();
        async move {
            c.report_incident(proto::ReportIncidentRequest {
                priority: proto::Priority::P1 as i32,
                ..report_at(lat, lng)
            })
            .await
            .expect("reported")
            .into_inner()
            .incident
            .expect("an incident")
            .id
        }
    };
    let id = reported(&mut c).await;
    let quiet = reported(&mut c).await;
    let now = now_ms();
    let start = proto::StartContainmentRequest {
        incident_id: id.clone(),
        escape_time_ms: now - 600_000,
        ..Default::default()
    };
    let units_before = units(&mut c).await;
    let starts: Vec<(proto::StartContainmentRequest, Code, &str)> = vec![
        (
            proto::StartContainmentRequest {
                incident_id: String::new(),
                ..start.clone()
            },
            Code::InvalidArgument,
            "incident_id is missing",
        ),
        (
            proto::StartContainmentRequest {
                incident_id: "999".to_string(),
                ..start.clone()
            },
            Code::NotFound,
            "no incident 999",
        ),
        (
            proto::StartContainmentRequest {
                escape_time_ms: now + 3_600_000,
                ..start.clone()
            },
            Code::InvalidArgument,
            "escape_time_ms is ",
        ),
        (
            proto::StartContainmentRequest {
                speed_factor: 3.5,
                ..start.clone()
            },
            Code::InvalidArgument,
            "speed_factor is 3.5; expected more than 0 and at most 3",
        ),
        (
            proto::StartContainmentRequest {
                speed_factor: -1.0,
                ..start.clone()
            },
            Code::InvalidArgument,
            "speed_factor is -1",
        ),
        (
            proto::StartContainmentRequest {
                lockdown_ring: "R9".to_string(),
                ..start.clone()
            },
            Code::InvalidArgument,
            "lockdown_ring is \"R9\": no such ring",
        ),
    ];
    for (request, code, wanted) in starts {
        let refused = refusal(c.start_containment(request.clone()).await);
        assert_refused(&format!("{request:?}"), &refused, code, &[wanted]);
        if code == Code::InvalidArgument && wanted.starts_with("escape") {
            assert!(refused.1.contains("in the future"), "{}", refused.1);
        }
    }
    assert_eq!(
        containment_of(&mut c, &id).await.unwrap_err().code(),
        Code::NotFound,
        "nothing started"
    );
    assert_eq!(units(&mut c).await, units_before, "no unit was sent");

    // Nothing to lift, sight or staff before a start.
    let lift = refusal(
        c.lift_containment(proto::LiftContainmentRequest {
            incident_id: id.clone(),
            ..Default::default()
        })
        .await,
    );
    assert_refused(
        "lifting none",
        &lift,
        Code::FailedPrecondition,
        &["incident ", " has no containment running"],
    );
    let seen = |time_ms: i64| proto::ReportSightingRequest {
        incident_id: id.clone(),
        sighting: Some(proto::Sighting {
            location: at(lat, lng),
            time_ms,
        }),
        ..Default::default()
    };
    assert_refused(
        "a sighting with no containment",
        &refusal(c.report_sighting(seen(now - 1000)).await),
        Code::FailedPrecondition,
        &["has no containment running"],
    );

    let running = c
        .start_containment(start.clone())
        .await
        .expect("starts")
        .into_inner();
    let running_now = containment_of(&mut c, &id).await.expect("running");
    let units_now = units(&mut c).await;
    assert_refused(
        "a second start",
        &refusal(c.start_containment(start.clone()).await),
        Code::FailedPrecondition,
        &["has a containment running since"],
    );
    let sightings: Vec<(proto::ReportSightingRequest, Code, &str)> = vec![
        (
            proto::ReportSightingRequest {
                sighting: None,
                ..seen(now)
            },
            Code::InvalidArgument,
            "sighting is missing",
        ),
        (
            proto::ReportSightingRequest {
                sighting: Some(proto::Sighting {
                    location: None,
                    time_ms: now,
                }),
                ..seen(now)
            },
            Code::InvalidArgument,
            "sighting.location is missing",
        ),
        (
            seen(start.escape_time_ms - 60_000),
            Code::InvalidArgument,
            "ms before the escape at",
        ),
        (
            seen(now + 3_600_000),
            Code::InvalidArgument,
            "in the future",
        ),
        (
            proto::ReportSightingRequest {
                incident_id: quiet.clone(),
                ..seen(now)
            },
            Code::FailedPrecondition,
            "has no containment running",
        ),
    ];
    for (request, code, wanted) in sightings {
        let refused = refusal(c.report_sighting(request.clone()).await);
        assert_refused(&format!("{request:?}"), &refused, code, &[wanted]);
        if wanted == "in the future" || wanted.contains("before the escape") {
            assert!(
                refused.1.starts_with("sighting.time_ms is "),
                "{}",
                refused.1
            );
        }
    }
    let held: std::collections::HashSet<String> = running
        .orders
        .iter()
        .filter_map(|o| o.crossing.as_ref().map(|x| x.crossing_id.clone()))
        .collect();
    let unheld = running
        .plan
        .as_ref()
        .expect("a plan")
        .rings
        .iter()
        .flat_map(|r| &r.crossings)
        .map(|x| x.crossing_id.clone())
        .find(|x| !held.contains(x))
        .expect("a crossing nobody was sent to");
    let staffed = |crossing: &str| proto::MarkCrossingStaffedRequest {
        incident_id: id.clone(),
        crossing_id: crossing.to_string(),
        request_id: String::new(),
    };
    assert_refused(
        "an unknown crossing",
        &refusal(c.mark_crossing_staffed(staffed("X99999")).await),
        Code::InvalidArgument,
        &["crossing_id is \"X99999\": no such crossing"],
    );
    assert_refused(
        "a crossing nobody holds",
        &refusal(c.mark_crossing_staffed(staffed(&unheld)).await),
        Code::FailedPrecondition,
        &["nobody holds crossing"],
    );
    assert_refused(
        "an interception nowhere",
        &refusal(
            c.record_interception(proto::RecordInterceptionRequest {
                incident_id: id.clone(),
                ..Default::default()
            })
            .await,
        ),
        Code::InvalidArgument,
        &["location is missing"],
    );
    assert_refused(
        "no containment to read",
        &refusal(
            c.get_containment(proto::GetContainmentRequest {
                incident_id: quiet.clone(),
                with_possible_area: false,
            })
            .await,
        ),
        Code::NotFound,
        &["has no containment"],
    );
    assert_eq!(
        containment_of(&mut c, &id).await.expect("running"),
        running_now,
        "the refusals changed nothing"
    );
    assert_eq!(units(&mut c).await, units_now, "no unit was sent or freed");
}
