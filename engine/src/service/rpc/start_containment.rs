//! `StartContainment`: the plan `PlanContainment` would make now for an
//! incident, carried out: its units sent to their crossings, its station
//! teams and staffed posts ordered, all in one journaled command.

use tonic::{Request, Response, Status};

use crate::dispatch::{Command, CommandError, ContainmentMode, EngineError};
use crate::incident::Stage;
use crate::service::containment_wire;
use crate::service::dispatch::{DispatchService, now_ms};
use crate::service::requests::{answer_to, replayed};
use crate::service::rpc::plan_containment::{escape_time, lockdown_ring, speed_factor};
use crate::service::{convert, proto, status};

/// How many times a start is planned again when a unit or team it chose
/// was taken meanwhile by another console.
const ATTEMPTS: usize = 3;

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::StartContainmentRequest>,
) -> Result<Response<proto::Containment>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("start containments")?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "StartContainment", request_id, &r)?;
    let id = convert::incident_id(&r.incident_id, "incident_id")?;
    let note = convert::text(&r.note, "note")?;
    if service.done_before(live, &call)?.is_some() {
        return Ok(replayed(containment_wire::reply(live, id, false)?));
    }
    let now = now_ms();
    let state = live.engine.snapshot();
    let incident = state
        .incident(id)
        .ok_or_else(|| status::command(&CommandError::UnknownIncident(id)))?;
    let mode = if r.lockdown_ring.is_empty() {
        ContainmentMode::Suspect {
            escape_ms: escape_time(r.escape_time_ms, incident.reported_ms(), now)?,
            speed_factor: speed_factor(r.speed_factor)?,
        }
    } else {
        lockdown_ring(live.world, &r.lockdown_ring)?;
        ContainmentMode::Lockdown {
            ring: r.lockdown_ring.clone(),
        }
    };
    if incident.stage() == Stage::Closed {
        return Err(Status::failed_precondition(format!(
            "incident {id} is closed; no containment can start for it"
        )));
    }
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        let state = live.engine.snapshot();
        if let Some(c) = state.containment(id).filter(|c| c.is_running()) {
            return Err(status::command(&CommandError::ContainmentRunning {
                incident: id,
                since_ms: c.started_ms,
            }));
        }
        let now = now_ms();
        let request = state
            .containment_request(id, &mode, None, now)
            .map_err(|e| status::command(&e))?;
        let plan = live
            .queries
            .with(|query| state.plan_with(query, &request, None, true));
        let (orders, outlook) = state.plan_orders(&plan, None);
        let command = Command::StartContainment {
            incident: id,
            mode: mode.clone(),
            orders,
            outlook,
            note: note.clone(),
        };
        match service
            .submit_call_for_engine_error(live, &call, vec![service.stamp(&caller.name, command)])
            .await
        {
            Ok(outcome) => break outcome,
            // A unit or a team taken meanwhile: plan again from the state
            // after it.
            Err(EngineError::Command(
                CommandError::UnitBusy { .. }
                | CommandError::UnitUnavailable { .. }
                | CommandError::ContainmentRefused { .. },
            )) if attempt < ATTEMPTS => continue,
            Err(e) => return Err(status::engine(&e)),
        }
    };
    let answer = containment_wire::reply(live, id, false)?;
    Ok(answer_to(&outcome, answer))
}
