//! The `kuaifan.v1.Dispatch` service and what its handlers share. Each
//! call (one file each in `rpc/`) is authorised, its request checked at
//! the edge (`convert`), then answered from the engine's current snapshot
//! (reads) or submitted to the engine and answered once it is durable
//! (changes).

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{broadcast, oneshot, watch};
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::dispatch::{
    Applied, Command, DispatchEngine, DispatchState, EngineError, EngineHandle, JournalPolicy,
    Policy, Recommendation, Stamped, World,
};
use crate::geo::LatLon;
use crate::incident::{IncidentId, Priority, Tier};
use crate::journal::{ArchiveReader, Journal};
use crate::service::auth::{Caller, Tokens};
use crate::service::caller_limits::{CallerLimits, CallerLimitsConfig};
use crate::service::events::{EVENT_BACKLOG, publisher};
use crate::service::node_role::NodeRole;
use crate::service::proto::dispatch_server::Dispatch;
use crate::service::queries::QueryPool;
use crate::service::{convert, proto, rpc, status};

/// What the service needs once the scenario is loaded.
#[derive(Debug)]
pub struct Live {
    /// The scenario and rules, for the life of the process.
    pub world: &'static World,
    /// The engine.
    pub engine: EngineHandle,
    /// Route query objects for recommendations.
    pub queries: QueryPool,
    /// The event feed.
    pub events: broadcast::Sender<proto::Event>,
    /// The journal's archive of closed cases that left the live state
    /// (none without a journal, where nothing is archived).
    pub archive: Option<ArchiveReader>,
    /// Whether this node takes commands (a single node or the leader) or
    /// follows the leader (a standby).
    pub role: Arc<NodeRole>,
}

impl Live {
    /// Starts the engine on `world`, replaying `journal`, with the event
    /// feed and the query pool the handlers share.
    pub fn start(
        world: &'static Arc<World>,
        journal: Option<Journal>,
    ) -> Result<(Arc<Live>, DispatchEngine), EngineError> {
        Self::start_with(world, journal, JournalPolicy::default())
    }

    /// As [`Live::start`], keeping the journal by `policy`.
    pub fn start_with(
        world: &'static Arc<World>,
        journal: Option<Journal>,
        policy: JournalPolicy,
    ) -> Result<(Arc<Live>, DispatchEngine), EngineError> {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        let archive = journal.as_ref().map(Journal::archive_reader).transpose()?;
        let engine = DispatchEngine::start_with(
            Arc::clone(world),
            journal,
            policy,
            publisher(events.clone(), world.scenario().router()),
        )?;
        let live = Arc::new(Live {
            world,
            engine: engine.handle(),
            queries: QueryPool::new(world.scenario().router()),
            events,
            archive,
            role: Arc::new(NodeRole::single()),
        });
        Ok((live, engine))
    }
}

/// The service. Cheap to clone: everything is shared.
#[derive(Clone, Debug)]
pub struct DispatchService {
    live: Arc<OnceLock<Arc<Live>>>,
    tokens: Option<Arc<Tokens>>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) policy: Policy,
    /// Streams and fixes per token.
    pub(crate) limits: Arc<CallerLimits>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) type EventStream = Pin<Box<dyn Stream<Item = Result<proto::Event, Status>> + Send>>;

impl DispatchService {
    /// A service that answers UNAVAILABLE until `live` is set; streams end
    /// when `shutdown` turns true. (The server limits the calls at once
    /// in front of it: `InFlightLimit`.)
    pub fn new(
        live: Arc<OnceLock<Arc<Live>>>,
        tokens: Option<Arc<Tokens>>,
        shutdown: watch::Receiver<bool>,
        policy: Policy,
        limits: CallerLimitsConfig,
    ) -> Self {
        let enforced = tokens.is_some();
        Self {
            live,
            tokens,
            shutdown,
            policy,
            limits: CallerLimits::new(limits, enforced),
        }
    }

    pub(crate) fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        match &self.tokens {
            Some(tokens) => tokens.authenticate(request.metadata()),
            None => Ok(Caller::anonymous()),
        }
    }

    pub(crate) fn live(&self) -> Result<&Arc<Live>, Status> {
        self.live
            .get()
            .ok_or_else(|| Status::unavailable("the map is still loading; retry shortly"))
    }

    /// A command stamped now, by `actor`.
    pub(crate) fn stamp(&self, actor: &str, command: Command) -> Stamped {
        Stamped {
            at_ms: now_ms(),
            actor: actor.to_string(),
            command,
        }
    }

    pub(crate) async fn submit_stamped(
        &self,
        live: &Live,
        stamped: Stamped,
    ) -> Result<Applied, Status> {
        let mut applied = self.submit_all(live, vec![stamped]).await?;
        Ok(applied.swap_remove(0))
    }

    /// Submits commands to be applied together or not at all (see
    /// `EngineHandle::submit_all_then`) and waits until they are durable
    /// or refused.
    pub(crate) async fn submit_all(
        &self,
        live: &Live,
        commands: Vec<Stamped>,
    ) -> Result<Vec<Applied>, Status> {
        live.role.check_writes()?;
        let (reply, answer) = oneshot::channel();
        live.engine
            .submit_all_then(commands, move |result| {
                let _ = reply.send(result);
            })
            .map_err(|e| status::engine(&e))?;
        match answer.await {
            Ok(result) => result.map_err(|e| status::engine(&e)),
            Err(_) => Err(Status::unavailable("the dispatch engine stopped")),
        }
    }

    pub(crate) fn recommendation(
        &self,
        live: &Live,
        state: &DispatchState,
        at: LatLon,
        priority: Priority,
        policy: Policy,
        with_routes: bool,
    ) -> Result<proto::Recommendation, Status> {
        live.queries.with(|query| {
            let rec = state
                .recommend(query, at, priority, now_ms(), policy)
                .map_err(|e| status::recommend(&e))?;
            let routes = with_routes.then(|| routes(state, query, &rec));
            Ok(convert::recommendation(state, &rec, routes))
        })
    }

    pub(crate) fn incident_reply(
        &self,
        live: &Live,
        id: IncidentId,
    ) -> Result<proto::Incident, Status> {
        let state = live.engine.snapshot();
        if let Some(incident) = state.incident(id) {
            return Ok(convert::incident(&state, incident));
        }
        if state.is_archived(id) {
            return archived_reply(live, &state, id);
        }
        Err(Status::not_found(format!("no incident {id}")))
    }
}

/// Each candidate's road route from its unit to its goal.
pub(crate) fn routes(
    state: &DispatchState,
    query: &mut crate::route::RouteQuery<'_>,
    rec: &Recommendation,
) -> Vec<Vec<LatLon>> {
    let world = state.world();
    let exits = rec.zone.map_or(&[][..], |z| world.exits(z));
    let incident = state.snap(rec.location, "the incident").ok();
    rec.candidates
        .iter()
        .map(|c| {
            let goal = match c.tier {
                Tier::Encircle => exits.iter().find(|e| e.at == c.goal).map(|e| e.snapped),
                _ => incident,
            };
            let from = state.units().get(c.unit).map(|u| u.snapped);
            match (from, goal) {
                (Some(from), Some(goal)) => query
                    .route(&from, &goal)
                    .map(|r| r.polyline)
                    .unwrap_or_default(),
                _ => Vec::new(),
            }
        })
        .collect()
}

#[tonic::async_trait]
#[tonic::async_trait]
impl Dispatch for DispatchService {
    async fn report_incident(
        &self,
        request: Request<proto::ReportIncidentRequest>,
    ) -> Result<Response<proto::ReportIncidentResponse>, Status> {
        rpc::report_incident::handle(self, request).await
    }

    async fn recommend(
        &self,
        request: Request<proto::RecommendRequest>,
    ) -> Result<Response<proto::Recommendation>, Status> {
        rpc::recommend::handle(self, request).await
    }

    async fn confirm_assignment(
        &self,
        request: Request<proto::ConfirmAssignmentRequest>,
    ) -> Result<Response<proto::Incident>, Status> {
        rpc::confirm_assignment::handle(self, request).await
    }

    async fn advance_incident(
        &self,
        request: Request<proto::AdvanceIncidentRequest>,
    ) -> Result<Response<proto::Incident>, Status> {
        rpc::advance_incident::handle(self, request).await
    }

    async fn get_incident(
        &self,
        request: Request<proto::GetIncidentRequest>,
    ) -> Result<Response<proto::Incident>, Status> {
        rpc::get_incident::handle(self, request).await
    }

    async fn list_incidents(
        &self,
        request: Request<proto::ListIncidentsRequest>,
    ) -> Result<Response<proto::ListIncidentsResponse>, Status> {
        rpc::list_incidents::handle(self, request).await
    }

    async fn list_units(
        &self,
        request: Request<proto::ListUnitsRequest>,
    ) -> Result<Response<proto::ListUnitsResponse>, Status> {
        rpc::list_units::handle(self, request).await
    }

    async fn set_unit_status(
        &self,
        request: Request<proto::SetUnitStatusRequest>,
    ) -> Result<Response<proto::Unit>, Status> {
        rpc::set_unit_status::handle(self, request).await
    }

    async fn report_positions(
        &self,
        request: Request<Streaming<proto::UnitPosition>>,
    ) -> Result<Response<proto::ReportPositionsResponse>, Status> {
        rpc::report_positions::handle(self, request).await
    }

    async fn list_zones(
        &self,
        request: Request<proto::ListZonesRequest>,
    ) -> Result<Response<proto::ListZonesResponse>, Status> {
        rpc::list_zones::handle(self, request).await
    }

    async fn get_coverage(
        &self,
        request: Request<proto::GetCoverageRequest>,
    ) -> Result<Response<proto::Coverage>, Status> {
        rpc::get_coverage::handle(self, request).await
    }

    type WatchEventsStream = EventStream;

    async fn watch_events(
        &self,
        request: Request<proto::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        rpc::watch_events::handle(self, request).await
    }

    async fn locate(
        &self,
        request: Request<proto::LocateRequest>,
    ) -> Result<Response<proto::LocateResponse>, Status> {
        rpc::locate::handle(self, request).await
    }

    async fn plan_containment(
        &self,
        request: Request<proto::PlanContainmentRequest>,
    ) -> Result<Response<proto::ContainmentPlan>, Status> {
        rpc::plan_containment::handle(self, request).await
    }

    async fn get_move_ups(
        &self,
        request: Request<proto::GetMoveUpsRequest>,
    ) -> Result<Response<proto::MoveUpAdvice>, Status> {
        rpc::get_move_ups::handle(self, request).await
    }

    async fn accept_move_up(
        &self,
        request: Request<proto::AcceptMoveUpRequest>,
    ) -> Result<Response<proto::MoveUpResponse>, Status> {
        rpc::accept_move_up::accept(self, request).await
    }

    async fn release_move_up(
        &self,
        request: Request<proto::ReleaseMoveUpRequest>,
    ) -> Result<Response<proto::MoveUpResponse>, Status> {
        rpc::accept_move_up::release(self, request).await
    }
    async fn start_containment(
        &self,
        request: Request<proto::StartContainmentRequest>,
    ) -> Result<Response<proto::Containment>, Status> {
        rpc::start_containment::handle(self, request).await
    }

    async fn report_sighting(
        &self,
        request: Request<proto::ReportSightingRequest>,
    ) -> Result<Response<proto::Containment>, Status> {
        rpc::report_sighting::handle(self, request).await
    }

    async fn mark_crossing_staffed(
        &self,
        request: Request<proto::MarkCrossingStaffedRequest>,
    ) -> Result<Response<proto::Containment>, Status> {
        rpc::mark_crossing_staffed::handle(self, request).await
    }

    async fn record_interception(
        &self,
        request: Request<proto::RecordInterceptionRequest>,
    ) -> Result<Response<proto::Containment>, Status> {
        rpc::record_interception::handle(self, request).await
    }

    async fn lift_containment(
        &self,
        request: Request<proto::LiftContainmentRequest>,
    ) -> Result<Response<proto::Containment>, Status> {
        rpc::lift_containment::handle(self, request).await
    }

    async fn get_containment(
        &self,
        request: Request<proto::GetContainmentRequest>,
    ) -> Result<Response<proto::Containment>, Status> {
        rpc::get_containment::handle(self, request).await
    }

    async fn get_heat_map(
        &self,
        request: Request<proto::GetHeatMapRequest>,
    ) -> Result<Response<proto::IncidentHeatMap>, Status> {
        rpc::get_heat_map::handle(self, request).await
    }
}

/// A closed case from the archive (a read by key on the archive's own
/// connection, which never waits for the writer).
fn archived_reply(
    live: &Live,
    state: &DispatchState,
    id: IncidentId,
) -> Result<proto::Incident, Status> {
    let unreadable = |why: String| {
        log::error!("incident {id}: {why}");
        Status::internal(format!(
            "incident {id} is archived but cannot be read: {why}"
        ))
    };
    let Some(archive) = &live.archive else {
        return Err(Status::not_found(format!("no incident {id}")));
    };
    let case = archive
        .case(id.0)
        .map_err(|e| unreadable(e.to_string()))?
        .ok_or_else(|| unreadable("it is not in the archive".to_string()))?;
    let incident = crate::dispatch::archived_incident(archive.path(), &case)
        .map_err(|e| unreadable(e.to_string()))?;
    Ok(convert::incident(state, &incident))
}
