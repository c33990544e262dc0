//! The `kuaifan.v1.Dispatch` service: each call is authorised, its request
//! checked at the edge (`convert`), then answered from the engine's
//! current snapshot (reads) or submitted to the engine and answered once
//! it is durable (changes).

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{Semaphore, SemaphorePermit, broadcast, mpsc, oneshot, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::dispatch::{
    Applied, AssignUnit, Command, DispatchState, EngineHandle, Policy, Recommendation, Stamped,
    UnitStatus, World,
};
use crate::geo::LatLon;
use crate::incident::{IncidentId, Priority, Stage, Tier};
use crate::service::auth::{Caller, Tokens};
use crate::service::proto::dispatch_server::Dispatch;
use crate::service::queries::QueryPool;
use crate::service::{convert, proto, status};

/// Position reports whose rejection reasons are sent back, at most.
const MAX_REPORTED_ERRORS: usize = 10;

/// A terminal's fix may be at most this far ahead of the server's clock.
const MAX_CLOCK_AHEAD_MS: i64 = 5_000;

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
}

/// The service. Cheap to clone: everything is shared.
#[derive(Clone, Debug)]
pub struct DispatchService {
    live: Arc<OnceLock<Arc<Live>>>,
    tokens: Option<Arc<Tokens>>,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    shutdown: watch::Receiver<bool>,
    policy: Policy,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

type EventStream = Pin<Box<dyn Stream<Item = Result<proto::Event, Status>> + Send>>;

impl DispatchService {
    /// A service that answers UNAVAILABLE until `live` is set; at most
    /// `max_in_flight` calls run at once, more are refused with
    /// RESOURCE_EXHAUSTED; streams end when `shutdown` turns true.
    pub fn new(
        live: Arc<OnceLock<Arc<Live>>>,
        tokens: Option<Arc<Tokens>>,
        max_in_flight: usize,
        shutdown: watch::Receiver<bool>,
        policy: Policy,
    ) -> Self {
        Self {
            live,
            tokens,
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            shutdown,
            policy,
        }
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        match &self.tokens {
            Some(tokens) => tokens.authenticate(request.metadata()),
            None => Ok(Caller::anonymous()),
        }
    }

    fn live(&self) -> Result<&Arc<Live>, Status> {
        self.live
            .get()
            .ok_or_else(|| Status::unavailable("the map is still loading; retry shortly"))
    }

    /// A slot among the calls running at once, or RESOURCE_EXHAUSTED.
    fn permit(&self) -> Result<SemaphorePermit<'_>, Status> {
        self.in_flight.try_acquire().map_err(|_| {
            Status::resource_exhausted(format!(
                "the server is at its limit of {} calls at once; retry shortly",
                self.max_in_flight
            ))
        })
    }

    /// Submits a command, stamped now, and waits until it is durable or
    /// refused.
    async fn submit(&self, live: &Live, actor: &str, command: Command) -> Result<Applied, Status> {
        let stamped = Stamped {
            at_ms: now_ms(),
            actor: actor.to_string(),
            command,
        };
        self.submit_stamped(live, stamped).await
    }

    async fn submit_stamped(&self, live: &Live, stamped: Stamped) -> Result<Applied, Status> {
        let (reply, answer) = oneshot::channel();
        live.engine
            .submit_then(stamped, move |result| {
                let _ = reply.send(result);
            })
            .map_err(|e| status::engine(&e))?;
        match answer.await {
            Ok(result) => result.map_err(|e| status::engine(&e)),
            Err(_) => Err(Status::unavailable("the dispatch engine stopped")),
        }
    }

    fn recommend(
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

    fn incident_reply(&self, live: &Live, id: IncidentId) -> Result<proto::Incident, Status> {
        let state = live.engine.snapshot();
        state
            .incident(id)
            .map(|i| convert::incident(&state, i))
            .ok_or_else(|| Status::not_found(format!("no incident {id}")))
    }

    /// Registers a REPORTED incident, then assigns `units` to it.
    async fn register_and_assign(
        &self,
        live: &Live,
        actor: &str,
        id: IncidentId,
        units: Vec<AssignUnit>,
        note: String,
    ) -> Result<(), Status> {
        let state = live.engine.snapshot();
        let stage = state
            .incident(id)
            .map(|i| i.stage())
            .ok_or_else(|| Status::not_found(format!("no incident {id}")))?;
        // Checked before registering, so that a refused assignment leaves
        // the case REPORTED. (Another console could take a unit between
        // the two commands; the case is then registered, which is true.)
        state
            .check_units_for(id, &units)
            .map_err(|e| status::command(&e))?;
        if stage == Stage::Reported {
            let register = Command::Advance {
                incident: id,
                stage: Stage::Registered,
                note: "registered on assignment".to_string(),
            };
            self.submit(live, actor, register).await?;
        }
        let assign = Command::Assign {
            incident: id,
            units,
            note,
        };
        self.submit(live, actor, assign).await?;
        Ok(())
    }
}

/// Each candidate's road route from its unit to its goal.
fn routes(
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

/// The assignment of a recommendation's candidates.
fn assign_all(state: &DispatchState, rec: &Recommendation) -> Vec<AssignUnit> {
    rec.candidates
        .iter()
        .map(|c| AssignUnit {
            unit: state.unit_id(c.unit).to_string(),
            tier: c.tier,
            goal: (c.tier == Tier::Encircle).then_some(c.goal),
        })
        .collect()
}

#[tonic::async_trait]
impl Dispatch for DispatchService {
    async fn report_incident(
        &self,
        request: Request<proto::ReportIncidentRequest>,
    ) -> Result<Response<proto::ReportIncidentResponse>, Status> {
        let caller = self.caller(&request)?;
        caller.may_dispatch("report incidents")?;
        let live = self.live()?;
        let _permit = self.permit()?;
        let r = request.into_inner();
        let location = convert::location(r.location.as_ref(), "location")?;
        let priority = convert::priority(r.priority)?;
        let command = Command::ReportIncident {
            location,
            priority,
            category: convert::text(&r.category, "category")?,
            description: convert::text(&r.description, "description")?,
            caller_ref: convert::text(&r.caller_ref, "caller_ref")?,
        };
        // An incident no unit can drive to is refused before it is
        // recorded, with the distance, so the dispatcher can correct it.
        live.engine
            .snapshot()
            .snap(location, "the incident")
            .map_err(|e| status::command(&e))?;
        let applied = self.submit(live, &caller.name, command).await?;
        let id = applied
            .incident
            .ok_or_else(|| Status::internal("a report created no incident"))?;
        let state = live.engine.snapshot();
        let recommendation = live.queries.with(|query| {
            state
                .recommend(query, location, priority, now_ms(), self.policy)
                .map(|rec| {
                    let routes = r.with_routes.then(|| routes(&state, query, &rec));
                    (rec, routes)
                })
        });
        let recommendation = match recommendation {
            Ok(found) => Some(found),
            Err(e) => {
                log::warn!("incident {id}: no recommendation: {e}");
                None
            }
        };
        if r.auto_assign
            && let Some((rec, _)) = &recommendation
        {
            let units = assign_all(&state, rec);
            self.register_and_assign(live, &caller.name, id, units, "auto-assigned".to_string())
                .await
                .map_err(|e| {
                    Status::new(
                        e.code(),
                        format!(
                            "incident {id} is reported but not assigned: {}",
                            e.message()
                        ),
                    )
                })?;
        }
        Ok(Response::new(proto::ReportIncidentResponse {
            incident: Some(self.incident_reply(live, id)?),
            recommendation: recommendation
                .map(|(rec, routes)| convert::recommendation(&state, &rec, routes)),
        }))
    }

    async fn recommend(
        &self,
        request: Request<proto::RecommendRequest>,
    ) -> Result<Response<proto::Recommendation>, Status> {
        let caller = self.caller(&request)?;
        caller.may_read("ask for recommendations")?;
        let live = self.live()?;
        let _permit = self.permit()?;
        let r = request.into_inner();
        let location = convert::location(r.location.as_ref(), "location")?;
        let priority = convert::priority(r.priority)?;
        let policy = convert::policy(r.policy, self.policy)?;
        let state = live.engine.snapshot();
        let rec = self.recommend(live, &state, location, priority, policy, r.with_routes)?;
        Ok(Response::new(rec))
    }

    async fn confirm_assignment(
        &self,
        request: Request<proto::ConfirmAssignmentRequest>,
    ) -> Result<Response<proto::Incident>, Status> {
        let caller = self.caller(&request)?;
        caller.may_dispatch("assign units")?;
        let live = self.live()?;
        let _permit = self.permit()?;
        let r = request.into_inner();
        let id = convert::incident_id(&r.incident_id, "incident_id")?;
        let note = convert::text(&r.note, "note")?;
        if r.unit_ids.is_empty() {
            return Err(Status::invalid_argument("unit_ids lists no unit"));
        }
        let state = live.engine.snapshot();
        let incident = state
            .incident(id)
            .ok_or_else(|| Status::not_found(format!("no incident {id}")))?;
        if !incident.is_open() {
            return Err(Status::failed_precondition(format!(
                "incident {id} is closed; no unit can be assigned to it"
            )));
        }
        for unit in &r.unit_ids {
            convert::unit_slot(&state, unit, "unit_ids")?;
        }
        // Units the recommendation names keep its tier and goal (an exit
        // to hold); others are the dispatcher's choice: the first is the
        // handling unit if the case has none yet, the rest support.
        let recommended = live
            .queries
            .with(|query| {
                state.recommend(
                    query,
                    incident.location,
                    incident.priority,
                    now_ms(),
                    self.policy,
                )
            })
            .ok();
        let mut has_handle = incident.assignments.iter().any(|a| a.tier == Tier::Handle);
        let mut units = Vec::with_capacity(r.unit_ids.len());
        for unit in &r.unit_ids {
            let slot = convert::unit_slot(&state, unit, "unit_ids")?;
            let pick = recommended
                .as_ref()
                .and_then(|rec| rec.candidates.iter().find(|c| c.unit == slot));
            let (tier, goal) = match pick {
                Some(c) => (c.tier, (c.tier == Tier::Encircle).then_some(c.goal)),
                None if !has_handle => (Tier::Handle, None),
                None => (Tier::Support, None),
            };
            has_handle |= tier == Tier::Handle;
            units.push(AssignUnit {
                unit: unit.clone(),
                tier,
                goal,
            });
        }
        self.register_and_assign(live, &caller.name, id, units, note)
            .await?;
        Ok(Response::new(self.incident_reply(live, id)?))
    }

    async fn advance_incident(
        &self,
        request: Request<proto::AdvanceIncidentRequest>,
    ) -> Result<Response<proto::Incident>, Status> {
        let caller = self.caller(&request)?;
        caller.may_dispatch("advance incidents")?;
        let live = self.live()?;
        let _permit = self.permit()?;
        let r = request.into_inner();
        let id = convert::incident_id(&r.incident_id, "incident_id")?;
        let stage = convert::stage(r.to)?;
        let note = convert::text(&r.note, "note")?;
        let command = Command::Advance {
            incident: id,
            stage,
            note,
        };
        self.submit(live, &caller.name, command).await?;
        Ok(Response::new(self.incident_reply(live, id)?))
    }

    async fn get_incident(
        &self,
        request: Request<proto::GetIncidentRequest>,
    ) -> Result<Response<proto::Incident>, Status> {
        let caller = self.caller(&request)?;
        caller.may_read("read incidents")?;
        let live = self.live()?;
        let id = convert::incident_id(&request.get_ref().id, "id")?;
        Ok(Response::new(self.incident_reply(live, id)?))
    }

    async fn list_incidents(
        &self,
        request: Request<proto::ListIncidentsRequest>,
    ) -> Result<Response<proto::ListIncidentsResponse>, Status> {
        let caller = self.caller(&request)?;
        caller.may_read("list incidents")?;
        let live = self.live()?;
        let _permit = self.permit()?;
        let open_only = request.get_ref().open_only;
        let state = live.engine.snapshot();
        let incidents = state
            .incidents()
            .filter(|i| !open_only || i.is_open())
            .map(|i| convert::incident(&state, i))
            .collect();
        Ok(Response::new(proto::ListIncidentsResponse { incidents }))
    }

    async fn list_units(
        &self,
        request: Request<proto::ListUnitsRequest>,
    ) -> Result<Response<proto::ListUnitsResponse>, Status> {
        let caller = self.caller(&request)?;
        caller.may_read("list units")?;
        let live = self.live()?;
        let state = live.engine.snapshot();
        let now = now_ms();
        let units = (0..state.units().len())
            .map(|slot| convert::unit(&state, slot, now))
            .collect();
        Ok(Response::new(proto::ListUnitsResponse { units }))
    }

    async fn set_unit_status(
        &self,
        request: Request<proto::SetUnitStatusRequest>,
    ) -> Result<Response<proto::Unit>, Status> {
        let caller = self.caller(&request)?;
        let live = self.live()?;
        let _permit = self.permit()?;
        let r = request.into_inner();
        let state = live.engine.snapshot();
        let slot = convert::unit_slot(&state, &r.unit_id, "unit_id")?;
        caller.may_report_for(&r.unit_id)?;
        let status = convert::unit_status(r.status)?;
        let note = convert::text(&r.note, "note")?;
        let command = match status {
            // A unit on scene is an arrival at its incident.
            UnitStatus::OnScene => {
                let incident = state.units()[slot].incident.ok_or_else(|| {
                    Status::failed_precondition(format!(
                        "unit {} is not assigned to an incident, so it cannot be on scene",
                        r.unit_id
                    ))
                })?;
                Command::Arrived {
                    incident,
                    unit: r.unit_id.clone(),
                }
            }
            _ => Command::SetUnitStatus {
                unit: r.unit_id.clone(),
                status,
                note,
            },
        };
        self.submit(live, &caller.name, command).await?;
        let state = live.engine.snapshot();
        Ok(Response::new(convert::unit(&state, slot, now_ms())))
    }

    async fn report_positions(
        &self,
        request: Request<Streaming<proto::UnitPosition>>,
    ) -> Result<Response<proto::ReportPositionsResponse>, Status> {
        let caller = self.caller(&request)?;
        let live = self.live()?;
        let mut stream = request.into_inner();
        let mut shutdown = self.shutdown.clone();
        let mut answer = proto::ReportPositionsResponse::default();
        loop {
            let next = tokio::select! {
                next = stream.message() => next?,
                _ = shutdown.wait_for(|stop| *stop) => None,
            };
            let Some(position) = next else { break };
            // Reporting for another unit is a security matter, not a bad
            // fix: it ends the stream.
            if !position.unit_id.is_empty() {
                caller.may_report_for(&position.unit_id)?;
            }
            let outcome = match position_command(live, &caller, &position) {
                Ok(stamped) => self.submit_stamped(live, stamped).await.map(|_| ()),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => answer.accepted += 1,
                Err(e) if e.code() == tonic::Code::ResourceExhausted => return Err(e),
                Err(e) => {
                    answer.rejected += 1;
                    if answer.errors.len() < MAX_REPORTED_ERRORS {
                        answer
                            .errors
                            .push(format!("{}: {}", position.unit_id, e.message()));
                    }
                }
            }
        }
        Ok(Response::new(answer))
    }

    async fn list_zones(
        &self,
        request: Request<proto::ListZonesRequest>,
    ) -> Result<Response<proto::ListZonesResponse>, Status> {
        let caller = self.caller(&request)?;
        caller.may_read("list zones")?;
        let live = self.live()?;
        let zones = live
            .world
            .scenario()
            .zones()
            .iter()
            .map(convert::zone)
            .collect();
        Ok(Response::new(proto::ListZonesResponse { zones }))
    }

    async fn get_coverage(
        &self,
        request: Request<proto::GetCoverageRequest>,
    ) -> Result<Response<proto::Coverage>, Status> {
        let caller = self.caller(&request)?;
        caller.may_read("read coverage")?;
        let live = self.live()?;
        let _permit = self.permit()?;
        let state = live.engine.snapshot();
        Ok(Response::new(coverage(
            &state,
            request.get_ref().resolution,
        )?))
    }

    type WatchEventsStream = EventStream;

    async fn watch_events(
        &self,
        request: Request<proto::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let caller = self.caller(&request)?;
        caller.may_read("watch events")?;
        let live = self.live()?;
        let mut events = live.events.subscribe();
        let mut shutdown = self.shutdown.clone();
        let (out, stream) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    next = events.recv() => next,
                    _ = shutdown.wait_for(|stop| *stop) => break,
                };
                let item = match next {
                    Ok(event) => Ok(event),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        Err(Status::resource_exhausted(format!(
                            "this watcher fell {missed} events behind and was cut off; \
                             re-read the lists and watch again"
                        )))
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let last = item.is_err();
                if out.send(item).await.is_err() || last {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(stream))))
    }
}

/// The command for one position report, or why it is rejected.
fn position_command(
    live: &Live,
    caller: &Caller,
    position: &proto::UnitPosition,
) -> Result<Stamped, Status> {
    let state = live.engine.snapshot();
    let slot = convert::unit_slot(&state, &position.unit_id, "unit_id")?;
    let location = convert::location(position.position.as_ref(), "position")?;
    if !position.speed_mps.is_finite() || position.speed_mps < 0.0 {
        return Err(Status::invalid_argument(format!(
            "speed {} m/s is not a speed",
            position.speed_mps
        )));
    }
    let now = now_ms();
    let at_ms = if position.time_ms == 0 {
        now
    } else {
        let stale_ms = live.world.config().stale_after_ms;
        if position.time_ms > now + MAX_CLOCK_AHEAD_MS {
            return Err(Status::invalid_argument(format!(
                "the fix is timed {} ms ahead of the server's clock",
                position.time_ms - now
            )));
        }
        if position.time_ms < now - stale_ms {
            return Err(Status::invalid_argument(format!(
                "the fix is {} s old; positions older than {} s are stale",
                (now - position.time_ms) / 1000,
                stale_ms / 1000
            )));
        }
        if state.units()[slot]
            .reported_ms
            .is_some_and(|last| position.time_ms < last)
        {
            return Err(Status::invalid_argument(
                "the fix is older than the unit's last report",
            ));
        }
        position.time_ms
    };
    Ok(Stamped {
        at_ms,
        actor: caller.name.clone(),
        command: Command::ReportPosition {
            unit: position.unit_id.clone(),
            location,
            heading: Some(position.heading_deg),
        },
    })
}

/// The coverage map at `resolution` (0: the map's own).
fn coverage(state: &DispatchState, resolution: u32) -> Result<proto::Coverage, Status> {
    let map = state
        .coverage()
        .ok_or_else(|| Status::failed_precondition("this scenario has no coverage map"))?;
    let own = map.config().resolution;
    let resolution = match resolution {
        0 => own,
        r => {
            let wanted = u8::try_from(r)
                .ok()
                .and_then(|r| h3o::Resolution::try_from(r).ok())
                .ok_or_else(|| {
                    Status::invalid_argument(format!("resolution {r} is not an H3 resolution"))
                })?;
            if wanted > own {
                return Err(Status::invalid_argument(format!(
                    "resolution {r} is finer than the coverage map's {}",
                    u8::from(own)
                )));
            }
            wanted
        }
    };
    // A coarser cell shows the worst of its finer cells: every part of it
    // is reached at least that soon.
    let mut cells: BTreeMap<u64, (f64, Option<usize>)> = BTreeMap::new();
    for (i, cell) in map.cells().iter().enumerate() {
        let key = cell.cell.parent(resolution).unwrap_or(cell.cell);
        let (eta, slot) = map
            .best(i)
            .filter(|r| r.eta.is_reachable())
            .map_or((f64::INFINITY, None), |r| (r.eta.seconds(), Some(r.slot)));
        let entry = cells.entry(u64::from(key)).or_insert((eta, slot));
        if eta > entry.0 {
            *entry = (eta, slot);
        }
    }
    let support_s = state.world().target_s(Tier::Support);
    let gaps = map.gaps(support_s);
    let zones = state
        .world()
        .scenario()
        .zones()
        .iter()
        .enumerate()
        .map(|(z, zone)| proto::ZoneCoverage {
            zone_id: zone.id.as_str().to_string(),
            name: zone.name.clone(),
            within_60s: map.zone_share_within(z, 60).unwrap_or(0.0),
            within_180s: map.zone_share_within(z, 180).unwrap_or(0.0),
            within_300s: map.zone_share_within(z, 300).unwrap_or(0.0),
            gap: gaps.contains(&z),
        })
        .collect();
    Ok(proto::Coverage {
        cells: cells
            .into_iter()
            .map(|(h3, (eta, slot))| proto::CellCoverage {
                h3,
                best_eta_s: eta,
                best_unit_id: slot.map_or_else(String::new, |s| state.unit_id(s).to_string()),
            })
            .collect(),
        within_60s: map.share_within(60),
        within_180s: map.share_within(180),
        within_300s: map.share_within(300),
        resolution: u32::from(u8::from(resolution)),
        zones,
    })
}
