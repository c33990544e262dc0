//! Prometheus metrics for operators, served at `/metrics` on the health
//! port (`kuaifan serve --health-listen`).
//!
//! Code anywhere in the engine records through the `metrics` facade (the
//! dispatch writer times its journal commits that way, without knowing who
//! listens); this module installs the process's recorder, the Prometheus
//! exporter of `metrics-exporter-prometheus`, and renders it. Three kinds
//! of figures:
//!
//! - per call, recorded as each call ends by [`MeteredRpc`], a layer in
//!   front of the dispatch service: its latency and gRPC status code;
//! - per commit, recorded by the writer: journal commit latency and batch
//!   size;
//! - the state (units, incidents, coverage, role), read from the current
//!   snapshot when Prometheus scrapes, so the hot path pays nothing for
//!   them.
//!
//! Metrics belong to the process: two servers in one process (tests) share
//! one recorder.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use metrics::{Histogram, counter, gauge, histogram};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tonic::body::Body;
use tonic::codegen::{Service, http};
use tonic::server::NamedService;

use crate::dispatch::commit_metrics::{BATCH_COMMANDS, COMMANDS_COMMITTED, COMMIT_SECONDS};
use crate::dispatch::{DispatchState, UnitStatus};
use crate::incident::Stage;

/// The latency of a call, by method and status code.
pub const RPC_SECONDS: &str = "kuaifan_rpc_duration_seconds";
/// Calls refused at once by the in-flight limit.
pub const SHED_CALLS: &str = "kuaifan_calls_shed_total";

/// Latency buckets, in seconds: a call takes a fraction of a millisecond
/// when all is well and seconds under a flood, so the buckets span both.
const SECONDS_BUCKETS: [f64; 17] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// Batch-size buckets, in commands, up to the writer's largest batch.
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// How often histograms are drained when nobody scrapes, so that their
/// samples do not pile up.
const UPKEEP: Duration = Duration::from_secs(5);

/// The process's exporter, installed on first use. `None` if another
/// recorder was installed first (a program embedding the engine with its
/// own); then `/metrics` says so.
pub fn exporter() -> Option<&'static PrometheusHandle> {
    static EXPORTER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    EXPORTER.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), &SECONDS_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(BATCH_COMMANDS.to_string()), &BATCH_BUCKETS)
        });
    let recorder = match builder {
        Ok(b) => b.build_recorder(),
        Err(e) => {
            log::error!("metrics: {e}");
            return None;
        }
    };
    let handle = recorder.handle();
    if let Err(e) = metrics::set_global_recorder(recorder) {
        log::warn!("metrics: another recorder is installed, /metrics stays empty: {e}");
        return None;
    }
    describe();
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("kuaifan-metrics".to_string())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        log::warn!("metrics: no upkeep thread ({e}); histograms are drained at each scrape only");
    }
    Some(handle)
}

/// The help text Prometheus shows beside each metric.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        RPC_SECONDS,
        metrics::Unit::Seconds,
        "Dispatch calls by method (rpc) and gRPC status code (code): latency from arrival \
         to the status; _count is the number of calls"
    );
    describe_counter!(
        SHED_CALLS,
        "Calls refused at once with RESOURCE_EXHAUSTED by the in-flight limit (--max-in-flight)"
    );
    describe_histogram!(
        COMMIT_SECONDS,
        metrics::Unit::Seconds,
        "Time to make one group-commit batch durable in the journal"
    );
    describe_histogram!(
        BATCH_COMMANDS,
        "Commands made durable together in one journal transaction"
    );
    describe_counter!(COMMANDS_COMMITTED, "Commands made durable since the start");
    describe_gauge!(
        "kuaifan_role",
        "1 for this node's role: single (one node, local journal), leader or standby"
    );
    describe_gauge!(
        "kuaifan_journal_behind_leader",
        "Journal batches (group commits) the leader has committed that this node has not \
         applied yet (0 on a leader or a single node)"
    );
    describe_gauge!(
        "kuaifan_lead_in_doubt",
        "1 while this node leads but etcd has not confirmed its lease for longer than the \
         lease's TTL (it takes no command then)"
    );
    describe_gauge!(
        "kuaifan_serving",
        "1 once the scenario is loaded and dispatch calls are answered"
    );
    describe_gauge!("kuaifan_units", "Units by status");
    describe_gauge!(
        "kuaifan_units_stale",
        "Units whose last position report is older than the stale limit (120 s)"
    );
    describe_gauge!(
        "kuaifan_incidents_open",
        "Incidents not yet closed, by stage"
    );
    describe_gauge!(
        "kuaifan_zoned_area_covered_ratio",
        "Share (0 to 1) of the zoned area the fastest dispatchable unit reaches by road within \
         the given seconds"
    );
    describe_gauge!("kuaifan_zoned_area_km2", "The zoned area, in km²");
}

/// What the node is in a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// One node with its own journal.
    Single,
    /// The node that writes the shared journal.
    Leader,
    /// A node following the leader's journal.
    Standby,
}

impl Role {
    const ALL: [Role; 3] = [Role::Single, Role::Leader, Role::Standby];

    /// Its name, as the metrics and `/state` say it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Single => "single",
            Role::Leader => "leader",
            Role::Standby => "standby",
        }
    }
}

/// Sets the role gauges: 1 for `role`, 0 for the others.
pub fn set_role(role: Role, behind_leader: u64) {
    for r in Role::ALL {
        gauge!("kuaifan_role", "role" => r.name()).set(if r == role { 1.0 } else { 0.0 });
    }
    gauge!("kuaifan_journal_behind_leader").set(behind_leader as f64);
}

/// Sets the gauge of a leader whose lease is in doubt.
pub fn set_lead_in_doubt(in_doubt: bool) {
    gauge!("kuaifan_lead_in_doubt").set(if in_doubt { 1.0 } else { 0.0 });
}

/// Renders every metric, with the state gauges read from `state` (none
/// while the map loads).
pub fn scrape(state: Option<&DispatchState>, now_ms: i64) -> String {
    let Some(exporter) = exporter() else {
        return "# kuaifan: another metrics recorder is installed in this process\n".to_string();
    };
    gauge!("kuaifan_serving").set(if state.is_some() { 1.0 } else { 0.0 });
    if let Some(state) = state {
        record_state(state, now_ms);
    }
    exporter.render()
}

/// The state gauges. Every label value is set each time, to 0 when
/// nothing has it, so a series never sticks at its last non-zero value.
fn record_state(state: &DispatchState, now_ms: i64) {
    const STATUSES: [UnitStatus; 5] = [
        UnitStatus::Available,
        UnitStatus::Dispatched,
        UnitStatus::OnScene,
        UnitStatus::Returning,
        UnitStatus::OutOfService,
    ];
    const OPEN: [Stage; 5] = [
        Stage::Reported,
        Stage::Registered,
        Stage::Assigned,
        Stage::Handling,
        Stage::Feedback,
    ];
    let units = state.units();
    for status in STATUSES {
        let n = units.iter().filter(|u| u.status == status).count();
        gauge!("kuaifan_units", "status" => status.name()).set(n as f64);
    }
    let stale = (0..units.len())
        .filter(|&slot| state.is_stale_at(slot, now_ms))
        .count();
    gauge!("kuaifan_units_stale").set(stale as f64);
    let mut open = [0usize; OPEN.len()];
    for incident in state.incidents().filter(|i| i.is_open()) {
        if let Some(k) = OPEN.iter().position(|s| *s == incident.stage()) {
            open[k] += 1;
        }
    }
    for (stage, n) in OPEN.iter().zip(open) {
        gauge!("kuaifan_incidents_open", "stage" => stage.name()).set(n as f64);
    }
    if let Some(coverage) = state.coverage() {
        for (label, seconds) in [("60", 60), ("180", 180), ("300", 300)] {
            gauge!("kuaifan_zoned_area_covered_ratio", "within_s" => label)
                .set(coverage.share_within(seconds));
        }
        gauge!("kuaifan_zoned_area_km2").set(coverage.area_m2() / 1e6);
    }
}

/// Counts a call refused by the in-flight limit.
pub fn shed() {
    counter!(SHED_CALLS).increment(1);
}

/// The dispatch service's methods, as the `rpc` label names them.
const METHODS: [&str; 24] = [
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
    "WatchEvents",
    "Locate",
    "PlanContainment",
    "GetMoveUps",
    "AcceptMoveUp",
    "ReleaseMoveUp",
    "StartContainment",
    "ReportSighting",
    "MarkCrossingStaffed",
    "RecordInterception",
    "LiftContainment",
    "GetContainment",
    "GetHeatMap",
];

/// The gRPC status codes by number, as the `code` label names them.
const CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

const CANCELLED: usize = 1;
const UNKNOWN: usize = 2;

/// One histogram handle per method (and one for any other path) and code,
/// each registered on first use: after that, recording a call is a table
/// lookup and an append, with no allocation and no lock.
#[derive(Debug)]
struct RpcTable {
    handles: Vec<OnceLock<Histogram>>,
}

impl RpcTable {
    fn new() -> Self {
        Self {
            handles: (0..(METHODS.len() + 1) * CODES.len())
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    fn method(path: &str) -> usize {
        let name = path.rsplit('/').next().unwrap_or_default();
        METHODS
            .iter()
            .position(|m| *m == name)
            .unwrap_or(METHODS.len())
    }

    fn record(&self, method: usize, code: usize, took: Duration) {
        let code = code.min(CODES.len() - 1);
        let Some(slot) = self.handles.get(method * CODES.len() + code) else {
            return;
        };
        let rpc = METHODS.get(method).copied().unwrap_or("other");
        slot.get_or_init(|| histogram!(RPC_SECONDS, "rpc" => rpc, "code" => CODES[code]))
            .record(took.as_secs_f64());
    }
}

/// The status code a response carries in its headers (a call refused
/// before any answer: trailers only), if it does.
fn header_code(headers: &http::HeaderMap) -> Option<usize> {
    let code = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .parse::<usize>()
        .ok()?;
    // A number outside the standard codes is as good as none.
    Some(if code < CODES.len() { code } else { UNKNOWN })
}

/// A layer in front of the dispatch service that records each call's
/// latency and status code when it ends: at its trailers (or its status
/// in the headers, for a call refused at once); a call whose answer is
/// dropped unfinished (the client went away) counts as CANCELLED.
#[derive(Clone, Debug)]
pub struct MeteredRpc<S> {
    inner: S,
    table: Arc<RpcTable>,
}

impl<S> MeteredRpc<S> {
    /// Wraps `inner`. Install the exporter first ([`exporter`]): handles
    /// taken before it exists record nothing.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            table: Arc::new(RpcTable::new()),
        }
    }
}

type Answer<E> = Pin<Box<dyn Future<Output = Result<http::Response<Body>, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for MeteredRpc<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Answer<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let method = RpcTable::method(request.uri().path());
        let table = Arc::clone(&self.table);
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            if let Some(code) = header_code(response.headers()) {
                table.record(method, code, started.elapsed());
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            if http_body::Body::is_end_stream(&body) {
                // No status in the headers and no trailers to come.
                table.record(method, UNKNOWN, started.elapsed());
                return Ok(http::Response::from_parts(parts, body));
            }
            let body = MeteredBody {
                inner: body,
                call: Some(Call {
                    table,
                    method,
                    started,
                }),
            };
            Ok(http::Response::from_parts(parts, Body::new(body)))
        })
    }
}

impl<S: NamedService> NamedService for MeteredRpc<S> {
    const NAME: &'static str = S::NAME;
}

/// A call not yet recorded.
#[derive(Debug)]
struct Call {
    table: Arc<RpcTable>,
    method: usize,
    started: Instant,
}

impl Call {
    fn end(self, code: usize) {
        self.table.record(self.method, code, self.started.elapsed());
    }
}

/// A response body that records its call when its trailers pass.
#[derive(Debug)]
struct MeteredBody {
    inner: Body,
    call: Option<Call>,
}

impl http_body::Body for MeteredBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = header_code(trailers).unwrap_or(UNKNOWN);
                    if let Some(call) = self.call.take() {
                        call.end(code);
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(call) = self.call.take() {
                    call.end(UNKNOWN);
                }
            }
            Poll::Ready(None) => {
                // A body that ends without trailers carries no status.
                if let Some(call) = self.call.take() {
                    call.end(UNKNOWN);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.end(CANCELLED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_named_by_the_last_part_of_the_path() {
        assert_eq!(RpcTable::method("/kuaifan.v1.Dispatch/Recommend"), 1);
        assert_eq!(RpcTable::method("/kuaifan.v1.Dispatch/WatchEvents"), 11);
        assert_eq!(RpcTable::method("/kuaifan.v1.Dispatch/Nope"), METHODS.len());
        assert_eq!(RpcTable::method(""), METHODS.len());
    }

    /// Every RPC of the contract has a label of its own, so none is
    /// counted as `other` (the list is kept by hand beside the proto).
    #[test]
    fn every_rpc_of_the_contract_is_labelled() {
        let proto = include_str!("../../../proto/kuaifan/v1/dispatch.proto");
        let rpcs: Vec<&str> = proto
            .lines()
            .filter_map(|line| line.trim().strip_prefix("rpc "))
            .filter_map(|rest| rest.split('(').next())
            .map(str::trim)
            .collect();
        assert!(
            rpcs.len() >= 20,
            "read only {} rpcs from the proto",
            rpcs.len()
        );
        assert_eq!(rpcs, METHODS.to_vec());
    }

    #[test]
    fn the_status_code_is_read_from_headers_or_trailers() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(header_code(&headers), None);
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
        assert_eq!(
            header_code(&headers).map(|c| CODES[c]),
            Some("RESOURCE_EXHAUSTED")
        );
        headers.insert("grpc-status", http::HeaderValue::from_static("99"));
        assert_eq!(header_code(&headers).map(|c| CODES[c]), Some("UNKNOWN"));
        headers.insert("grpc-status", http::HeaderValue::from_static("x"));
        assert_eq!(header_code(&headers), None);
    }
}
