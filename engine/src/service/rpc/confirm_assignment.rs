//! `ConfirmAssignment`: sends units to an incident, registering a REPORTED
//! case first.

use tonic::{Request, Response, Status};

use crate::dispatch::AssignUnit;
use crate::incident::Tier;
use crate::service::dispatch::{DispatchService, now_ms};
use crate::service::requests::replayed;
use crate::service::{convert, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::ConfirmAssignmentRequest>,
) -> Result<Response<proto::Incident>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("assign units")?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "ConfirmAssignment", request_id, &r)?;
    let id = convert::incident_id(&r.incident_id, "incident_id")?;
    let note = convert::text(&r.note, "note")?;
    if r.unit_ids.is_empty() {
        return Err(Status::invalid_argument("unit_ids lists no unit"));
    }
    if service.done_before(live, &call)?.is_some() {
        return Ok(replayed(service.incident_reply(live, id)?));
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
                service.policy,
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
    let outcome = service
        .register_and_assign(live, &call, &caller.name, id, units, note)
        .await?;
    let answer = service.incident_reply(live, id)?;
    Ok(match outcome {
        crate::dispatch::Outcome::Applied(_) => Response::new(answer),
        crate::dispatch::Outcome::Replayed(_) => replayed(answer),
    })
}
