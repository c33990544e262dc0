//! The live drill: the same simulated day, with every command the drill
//! applies also sent to a running `kuaifan serve` over gRPC, paced by the
//! wall clock (`speed` simulated seconds per real second), exactly as the
//! command centre's consoles and the units' terminals would send them.
//!
//! The drill keeps its own copy of the dispatch state, fed the same
//! commands, for its decisions and figures; at the end it reads the
//! server's incidents back and checks them against its copy, so a drill
//! is also a test that the server did what the engine does.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::{RetryPolicy, Servers, new_request_id, proto};
use kuaifan_engine::{Command, DispatchState, IncidentId};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

/// Opens a position stream on `channel`.
fn open_positions(
    runtime: &tokio::runtime::Runtime,
    servers: &Servers,
    channel: Channel,
) -> PositionStream {
    let (positions, fixes) = mpsc::channel(1024);
    let request = servers.request(ReceiverStream::new(fixes));
    let mut client = DispatchClient::new(channel);
    let answer = runtime.spawn(async move {
        client
            .report_positions(request)
            .await
            .map(tonic::Response::into_inner)
    });
    (positions, answer)
}

/// Incidents asked for in one `ListIncidents` page (the server's largest).
const LIST_PAGE: u32 = 1000;

/// Why a live drill could not run.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No runtime.
    #[error("cannot start the client runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// No server.
    #[error(transparent)]
    Connect(#[from] kuaifan_engine::service::ConnectError),
    /// The server refused the position stream.
    #[error("the server refused the position stream: {0}")]
    Stream(tonic::Status),
}

/// What the server made of the drill.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct LiveReport {
    /// Commands sent (position reports apart).
    pub calls: u64,
    /// Commands the server refused, with why (none are expected).
    pub refused: Vec<String>,
    /// Position reports the server accepted and rejected.
    pub positions_accepted: u64,
    /// See `positions_accepted`.
    pub positions_rejected: u64,
    /// Position streams that broke (their node died or stepped down) and
    /// were opened again on the node that led then.
    pub position_streams_broken: u64,
    /// Incidents the server holds at the end.
    pub server_incidents: usize,
    /// Of the drill's incidents, those the server holds at the same stage
    /// with the same units.
    pub matching: usize,
    /// Those it does not, with the difference.
    pub mismatches: Vec<String>,
}

/// The terminals' position stream: its sender and the call's answer.
type PositionStream = (
    mpsc::Sender<proto::UnitPosition>,
    tokio::task::JoinHandle<Result<proto::ReportPositionsResponse, tonic::Status>>,
);

/// A connection to the server for one drill.
#[derive(Debug)]
pub struct LiveLink {
    runtime: tokio::runtime::Runtime,
    /// The server, or every node of a deployment: commands follow the
    /// lead, and the position stream is opened again on the node that
    /// leads when it breaks.
    servers: Servers,
    stream: Option<PositionStream>,
    /// The drill's incident numbers to the server's ids.
    ids: HashMap<IncidentId, String>,
    started: Instant,
    speed: f64,
    report: LiveReport,
}

impl LiveLink {
    /// Connects to the node that leads and opens the terminals' position
    /// stream there. `speed` is simulated seconds per real second.
    pub fn connect(servers: Servers, speed: f64) -> Result<LiveLink, LiveError> {
        let runtime = kuaifan_engine::service::runtime(1, "kuaifan-sim-live")?;
        let channel = runtime.block_on(servers.find_leader())?;
        let stream = open_positions(&runtime, &servers, channel);
        Ok(LiveLink {
            runtime,
            servers,
            stream: Some(stream),
            ids: HashMap::new(),
            started: Instant::now(),
            speed: if speed > 0.0 { speed } else { 1.0 },
            report: LiveReport::default(),
        })
    }

    /// Waits until simulated second `t_s` is due on the wall clock.
    pub fn pace(&self, t_s: f64) {
        let due = self.started + Duration::from_secs_f64(t_s / self.speed);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }

    /// A command call with its own request id, sent again with the same
    /// id on UNAVAILABLE, DEADLINE_EXCEEDED or CANCELLED.
    fn command<M, R, F, Fut>(&self, message: M, send: F) -> Result<R, tonic::Status>
    where
        M: Clone,
        F: Fn(DispatchClient<Channel>, tonic::Request<M>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<R>, tonic::Status>>,
    {
        self.runtime
            .block_on(RetryPolicy::default().run_on(&self.servers, |channel| {
                send(
                    DispatchClient::new(channel),
                    self.servers.request(message.clone()),
                )
            }))
            .map(tonic::Response::into_inner)
    }

    /// Sends a fix on the position stream. A stream that ended (its node
    /// died or stepped down) is counted and opened again on the node that
    /// leads, and the fix sent there, as a terminal reconnects and resends.
    fn send_fix(&mut self, fix: proto::UnitPosition) {
        let Some((positions, _)) = &self.stream else {
            return;
        };
        let Err(unsent) = self.runtime.block_on(positions.send(fix)) else {
            return;
        };
        if let Some((_, ended)) = self.stream.take() {
            self.count_stream(ended);
        }
        let Ok(channel) = self.runtime.block_on(self.servers.find_leader()) else {
            return;
        };
        let stream = open_positions(&self.runtime, &self.servers, channel);
        let _ = self.runtime.block_on(stream.0.send(unsent.0));
        self.stream = Some(stream);
    }

    /// Adds what an ended position stream's answer says.
    fn count_stream(
        &mut self,
        ended: tokio::task::JoinHandle<Result<proto::ReportPositionsResponse, tonic::Status>>,
    ) -> Option<tonic::Status> {
        match self.runtime.block_on(ended) {
            Ok(Ok(answer)) => {
                self.report.positions_accepted += answer.accepted;
                self.report.positions_rejected += answer.rejected;
                None
            }
            Ok(Err(status)) => {
                self.report.position_streams_broken += 1;
                Some(status)
            }
            Err(e) => Some(tonic::Status::internal(e.to_string())),
        }
    }

    /// Sends a command the drill has just applied to its copy; `state` is
    /// that copy after it.
    pub fn send(&mut self, command: &Command, state: &DispatchState) {
        let server_id = |id: &IncidentId, ids: &HashMap<IncidentId, String>| {
            ids.get(id).cloned().unwrap_or_else(|| id.to_string())
        };
        let result: Result<(), tonic::Status> = match command {
            Command::ReportPosition { unit, location, .. } => {
                let fix = proto::UnitPosition {
                    unit_id: unit.clone(),
                    position: Some(proto::LatLng {
                        lat: location.lat(),
                        lng: location.lon(),
                    }),
                    ..Default::default()
                };
                self.send_fix(fix);
                return;
            }
            // The server opens its own shift, marks its own units stale and
            // archives its own closed cases, by its clock; the drill's copy
            // never does.
            Command::OpenShift | Command::MarkStale { .. } | Command::Archive { .. } => return,
            Command::ReportIncident {
                location,
                priority: p,
                category,
                description,
                caller_ref,
            } => {
                let request = proto::ReportIncidentRequest {
                    location: Some(proto::LatLng {
                        lat: location.lat(),
                        lng: location.lon(),
                    }),
                    priority: proto::Priority::from(*p) as i32,
                    category: category.clone(),
                    description: description.clone(),
                    caller_ref: caller_ref.clone(),
                    request_id: new_request_id(),
                    ..Default::default()
                };
                let answer = self.command(request, |mut client, request| async move {
                    client.report_incident(request).await
                });
                answer.map(|a| {
                    let local = state.incidents().next_back().map(|i| i.id);
                    if let (Some(local), Some(incident)) = (local, a.incident) {
                        self.ids.insert(local, incident.id);
                    }
                })
            }
            Command::Advance {
                incident,
                stage: s,
                note,
            } => {
                let request = proto::AdvanceIncidentRequest {
                    incident_id: server_id(incident, &self.ids),
                    to: proto::Stage::from(*s) as i32,
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                self.command(request, |mut client, request| async move {
                    client.advance_incident(request).await
                })
                .map(drop)
            }
            Command::Assign {
                incident,
                units,
                note,
                ..
            } => {
                // The tiers and goals the drill's dispatcher decided on,
                // as a console confirms what it was shown.
                let request = proto::ConfirmAssignmentRequest {
                    incident_id: server_id(incident, &self.ids),
                    note: note.clone(),
                    units: units
                        .iter()
                        .map(|u| proto::ConfirmedUnit {
                            unit_id: u.unit.clone(),
                            tier: proto::Tier::from(u.tier) as i32,
                            goal: u.goal.map(|g| proto::LatLng {
                                lat: g.lat(),
                                lng: g.lon(),
                            }),
                        })
                        .collect(),
                    request_id: new_request_id(),
                    ..Default::default()
                };
                self.command(request, |mut client, request| async move {
                    client.confirm_assignment(request).await
                })
                .map(drop)
            }
            Command::Arrived { unit, .. } => {
                let request = proto::SetUnitStatusRequest {
                    unit_id: unit.clone(),
                    status: proto::UnitStatus::OnScene as i32,
                    note: String::new(),
                    request_id: new_request_id(),
                };
                self.command(request, |mut client, request| async move {
                    client.set_unit_status(request).await
                })
                .map(drop)
            }
            Command::SetUnitStatus { unit, status, note } => {
                let request = proto::SetUnitStatusRequest {
                    unit_id: unit.clone(),
                    status: proto::UnitStatus::from(*status) as i32,
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                self.command(request, |mut client, request| async move {
                    client.set_unit_status(request).await
                })
                .map(drop)
            }
            // The server measures the drive again from its own copy of the
            // unit's position.
            Command::AcceptMoveUp {
                unit, post, note, ..
            } => {
                let request = proto::AcceptMoveUpRequest {
                    unit_id: unit.clone(),
                    post_id: post.clone(),
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                self.command(request, |mut client, request| async move {
                    client.accept_move_up(request).await
                })
                .map(drop)
            }
            Command::ReleaseMoveUp { unit, note } => {
                let request = proto::ReleaseMoveUpRequest {
                    unit_id: unit.clone(),
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                self.command(request, |mut client, request| async move {
                    client.release_move_up(request).await
                })
                .map(drop)
            }
            // A live drill runs no chases (`run_live`).
            Command::StartContainment { .. }
            | Command::ReportSighting { .. }
            | Command::CrossingStaffed { .. }
            | Command::Intercepted { .. }
            | Command::LiftContainment { .. } => return,
        };
        self.report.calls += 1;
        if let Err(status) = result {
            self.report.refused.push(format!(
                "{}: {:?}: {}",
                command.kind(),
                status.code(),
                status.message()
            ));
        }
    }

    /// Ends the position stream and checks the server's incidents against
    /// the drill's.
    pub fn finish(mut self, state: &DispatchState) -> Result<LiveReport, LiveError> {
        if let Some((positions, ended)) = self.stream.take() {
            drop(positions);
            if let Some(status) = self.count_stream(ended) {
                return Err(LiveError::Stream(status));
            }
        }
        // Every incident, live and archived, a full page at a time, from
        // the node that leads.
        let mut client = DispatchClient::new(self.runtime.block_on(self.servers.find_leader())?);
        let mut server: HashMap<String, proto::Incident> = HashMap::new();
        let mut page_token = String::new();
        loop {
            let listed = self
                .runtime
                .block_on(client.list_incidents(self.servers.request(
                    proto::ListIncidentsRequest {
                        page_size: LIST_PAGE,
                        page_token: page_token.clone(),
                        ..Default::default()
                    },
                )))
                .map_err(LiveError::Stream)?
                .into_inner();
            server.extend(listed.incidents.into_iter().map(|i| (i.id.clone(), i)));
            if listed.next_page_token.is_empty() {
                break;
            }
            page_token = listed.next_page_token;
        }
        self.report.server_incidents = server.len();
        for incident in state.incidents() {
            let id = self
                .ids
                .get(&incident.id)
                .cloned()
                .unwrap_or_else(|| incident.id.to_string());
            // Every unit ever sent, first sending first, as the server lists them.
            let mut units: Vec<String> = Vec::new();
            for a in &incident.assignments {
                let unit = state.unit_id(a.unit).to_string();
                if !units.contains(&unit) {
                    units.push(unit);
                }
            }
            // And each unit with the tier the drill's dispatcher confirmed.
            let tiers: Vec<(String, i32)> = incident
                .assignments
                .iter()
                .map(|a| {
                    (
                        state.unit_id(a.unit).to_string(),
                        proto::Tier::from(a.tier) as i32,
                    )
                })
                .collect();
            match server.get(&id) {
                Some(there)
                    if there.stage == proto::Stage::from(incident.stage()) as i32
                        && there.unit_ids == units
                        && there
                            .assignments
                            .iter()
                            .map(|a| (a.unit_id.clone(), a.tier))
                            .eq(tiers.iter().cloned()) =>
                {
                    self.report.matching += 1;
                }
                Some(there) => self.report.mismatches.push(format!(
                    "incident {id}: drill {} {:?}, server {} {:?}",
                    incident.stage(),
                    units,
                    proto::Stage::try_from(there.stage).map_or("?", |s| s.as_str_name()),
                    there.unit_ids
                )),
                None => self
                    .report
                    .mismatches
                    .push(format!("incident {id}: not on the server")),
            }
        }
        Ok(self.report)
    }
}
