//! `StartContainment`: the plan `PlanContainment` would make now for an
//! incident, carried out: its units sent to their crossings, its station
//! teams and staffed posts ordered, all in one journaled command.

use tonic::{Request, Response, Status};

use crate::dispatch::{CommandError, ContainmentMode};
use crate::incident::Stage;
use crate::service::containment_wire;
use crate::service::dispatch::{DispatchService, now_ms};
use crate::service::requests::{answer_to, replayed};
use crate::service::rpc::plan_containment::{escape_time, lockdown_ring, speed_factor};
use crate::service::{convert, proto, status};

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
    let outcome = service
        .submit_planned(live, &call, &caller.name, |state| {
            if let Some(c) = state.containment(id).filter(|c| c.is_running()) {
                return Err(status::command(&CommandError::ContainmentRunning {
                    incident: id,
                    since_ms: c.started_ms,
                }));
            }
            live.queries
                .with(|query| {
                    state.start_containment_command(query, id, &mode, now_ms(), note.clone())
                })
                .map(|(command, _)| command)
                .map_err(|e| status::command(&e))
        })
        .await?;
    let answer = containment_wire::reply(live, id, false)?;
    Ok(answer_to(&outcome, answer))
}
