//! `requests`: arbitrary bytes decoded as the service's request messages,
//! each handled as the server would (authorisation, validation at the
//! edge, the engine call) on a fresh engine per input. Every answer is a
//! success or an error of a documented kind, and a refused call changes
//! nothing.
//!
//! An input is one byte for the caller (a dispatcher, an observer, the
//! terminal of unit U01, no token, a wrong token) and the policy, then
//! frames of one byte naming the call, two bytes (little-endian) of
//! length, and the message. `ReportPositions` takes its message as a raw
//! gRPC stream body, so tonic's framing is fuzzed too.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use kuaifan_engine::Policy;
use kuaifan_engine::service::proto::dispatch_server::Dispatch;
use kuaifan_engine::service::proto::{self};
use kuaifan_engine::service::{DispatchService, Live, Tokens};
use prost::Message;
use tokio::runtime::Runtime;
use tonic::{Code, Request, Status};

use crate::fixture;

/// The calls a frame may name, in the order of their selector byte (new
/// ones at the end, so the corpus keeps naming what it named).
pub const CALLS: [&str; 14] = [
    "ReportIncident",
    "Recommend",
    "ConfirmAssignment",
    "AdvanceIncident",
    "GetIncident",
    "ListIncidents",
    "ListUnits",
    "SetUnitStatus",
    "ReportPositions",
    "ListZones",
    "GetCoverage",
    "Locate",
    "PlanContainment",
    "GetHeatMap",
];

/// The tokens of the callers an input may be, in the order of its first
/// byte; the last two send no token and an unknown one.
const TOKENS: [Option<&str>; 5] = [
    Some("dispatcher-token-0123456789"),
    Some("observer-token-0123456789"),
    Some("unit-u01-token-0123456789"),
    None,
    Some("nobody-token-0123456789"),
];

const AUTH_FILE: &str = r#"
[[token]]
name = "desk-1"
role = "dispatcher"
token = "dispatcher-token-0123456789"

[[token]]
name = "wall"
role = "observer"
token = "observer-token-0123456789"

[[token]]
name = "u01-terminal"
role = "unit"
unit = "U01"
token = "unit-u01-token-0123456789"
"#;

/// Encodes calls as an input of this target (for seeds).
pub fn encode(caller: u8, calls: &[(usize, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![caller];
    for (call, message) in calls {
        out.push(*call as u8);
        out.extend_from_slice(&(message.len() as u16).to_le_bytes());
        out.extend_from_slice(message);
    }
    out
}

/// Frames a message as one message of a gRPC stream body.
pub fn grpc_frame(message: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// Runs one input.
pub fn run(data: &[u8]) {
    answer_all(data);
}

/// Runs one input and gives each call's name and outcome, in order.
pub fn answer_all(data: &[u8]) -> Vec<(&'static str, Result<(), Status>)> {
    let mut answers = Vec::new();
    let Some((&first, mut rest)) = data.split_first() else {
        return answers;
    };
    let token = TOKENS[usize::from(first) % TOKENS.len()];
    let policy = if first / 5 % 2 == 0 {
        Policy::Closest
    } else {
        Policy::Coverage
    };
    let (live, engine) =
        Live::start(fixture::world(), None).unwrap_or_else(|e| panic!("the engine starts: {e}"));
    let service = DispatchService::new(
        Arc::new(OnceLock::from(Arc::clone(&live))),
        Some(tokens()),
        tokio::sync::watch::channel(false).1,
        policy,
        kuaifan_engine::service::CallerLimitsConfig::default(),
    );
    while let Some((&call, after)) = rest.split_first() {
        let len = match after {
            [a, b, ..] => usize::from(u16::from_le_bytes([*a, *b])),
            _ => after.len(),
        };
        let body = after.get(2..).unwrap_or_default();
        let (message, next) = body.split_at(len.min(body.len()));
        rest = next;
        let call = usize::from(call) % CALLS.len();
        let before = live.engine.snapshot();
        let outcome = runtime().block_on(answer(&service, call, token, message));
        if let Err(status) = &outcome {
            check_documented(call, status);
            // A stream of positions may be refused after some were taken.
            if CALLS[call] != "ReportPositions" {
                assert!(
                    *live.engine.snapshot() == *before,
                    "{} refused ({status:?}) but changed the state",
                    CALLS[call]
                );
            }
        }
        answers.push((CALLS[call], outcome));
    }
    engine.shutdown();
    answers
}

fn tokens() -> Arc<Tokens> {
    static TOKENS: OnceLock<Arc<Tokens>> = OnceLock::new();
    TOKENS
        .get_or_init(|| {
            Arc::new(
                Tokens::parse(AUTH_FILE, "fuzz").unwrap_or_else(|e| panic!("the auth file: {e}")),
            )
        })
        .clone()
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("a runtime: {e}"))
    })
}

/// The codes the service documents for refusals; anything else (INTERNAL,
/// UNKNOWN) is a finding.
fn check_documented(call: usize, status: &Status) {
    let documented = matches!(
        status.code(),
        Code::InvalidArgument
            | Code::NotFound
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::PermissionDenied
            | Code::Unauthenticated
    );
    // tonic itself answers a message that is not protobuf, and a stream
    // whose framing is broken (cut inside a frame, a bad compression flag),
    // with INTERNAL, before the service reads it.
    let undecodable = status.code() == Code::Internal
        && [
            "failed to decode",
            "Unexpected EOF decoding stream",
            "protocol error:",
        ]
        .iter()
        .any(|tonic| status.message().starts_with(tonic));
    assert!(
        documented || undecodable,
        "{} answered an undocumented {status:?}",
        CALLS[call]
    );
    assert!(!status.message().is_empty(), "a refusal says why");
}

fn request<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token
        && let Ok(value) = format!("Bearer {token}").parse()
    {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// Decodes `bytes` as `T` the way tonic would, refusing what is not one.
fn decode<T: Message + Default>(bytes: &[u8]) -> Result<T, Status> {
    T::decode(bytes)
        .map_err(|e| Status::internal(format!("failed to decode Protobuf message: {e}")))
}

async fn answer(
    service: &DispatchService,
    call: usize,
    token: Option<&str>,
    message: &[u8],
) -> Result<(), Status> {
    match CALLS[call] {
        "ReportIncident" => {
            let r = request(decode::<proto::ReportIncidentRequest>(message)?, token);
            service.report_incident(r).await.map(drop)
        }
        "Recommend" => {
            let r = request(decode::<proto::RecommendRequest>(message)?, token);
            service.recommend(r).await.map(drop)
        }
        "ConfirmAssignment" => {
            let r = request(decode::<proto::ConfirmAssignmentRequest>(message)?, token);
            service.confirm_assignment(r).await.map(drop)
        }
        "AdvanceIncident" => {
            let r = request(decode::<proto::AdvanceIncidentRequest>(message)?, token);
            service.advance_incident(r).await.map(drop)
        }
        "GetIncident" => {
            let r = request(decode::<proto::GetIncidentRequest>(message)?, token);
            service.get_incident(r).await.map(drop)
        }
        "ListIncidents" => {
            let r = request(decode::<proto::ListIncidentsRequest>(message)?, token);
            service.list_incidents(r).await.map(drop)
        }
        "ListUnits" => {
            let r = request(decode::<proto::ListUnitsRequest>(message)?, token);
            service.list_units(r).await.map(drop)
        }
        "SetUnitStatus" => {
            let r = request(decode::<proto::SetUnitStatusRequest>(message)?, token);
            service.set_unit_status(r).await.map(drop)
        }
        "ReportPositions" => {
            let body = http_body_util::Full::new(Bytes::copy_from_slice(message));
            let stream = tonic::Streaming::new_request(
                tonic_prost::ProstDecoder::<proto::UnitPosition>::default(),
                body,
                None,
                Some(kuaifan_engine::service::MAX_REQUEST_BYTES),
            );
            service
                .report_positions(request(stream, token))
                .await
                .map(drop)
        }
        "ListZones" => {
            let r = request(decode::<proto::ListZonesRequest>(message)?, token);
            service.list_zones(r).await.map(drop)
        }
        "GetCoverage" => {
            let r = request(decode::<proto::GetCoverageRequest>(message)?, token);
            service.get_coverage(r).await.map(drop)
        }
        "Locate" => {
            let r = request(decode::<proto::LocateRequest>(message)?, token);
            service.locate(r).await.map(drop)
        }
        "PlanContainment" => {
            let r = request(decode::<proto::PlanContainmentRequest>(message)?, token);
            service.plan_containment(r).await.map(drop)
        }
        _ => {
            let r = request(decode::<proto::GetHeatMapRequest>(message)?, token);
            service.get_heat_map(r).await.map(drop)
        }
    }
}
