//! `SetUnitStatus`: a unit's status set by hand or by its terminal; ON_SCENE
//! is its arrival at its incident.

use tonic::{Request, Response, Status};

use crate::dispatch::{Command, UnitStatus};
use crate::service::dispatch::{DispatchService, now_ms};
use crate::service::requests::{answer_to, replayed};
use crate::service::{convert, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::SetUnitStatusRequest>,
) -> Result<Response<proto::Unit>, Status> {
    let caller = service.caller(&request)?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let state = live.engine.snapshot();
    // The role first: a caller who may not set this status learns nothing
    // about which unit ids exist.
    caller.may_report_for(&r.unit_id)?;
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "SetUnitStatus", request_id, &r)?;
    let slot = convert::unit_slot(&state, &r.unit_id, "unit_id")?;
    let status = convert::unit_status(r.status)?;
    let note = convert::text(&r.note, "note")?;
    if service.done_before(live, &call)?.is_some() {
        return Ok(replayed(convert::unit(&state, slot, now_ms())));
    }
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
    let outcome = service
        .submit_call(live, &call, vec![service.stamp(&caller.name, command)])
        .await?;
    let state = live.engine.snapshot();
    let answer = convert::unit(&state, slot, now_ms());
    Ok(answer_to(&outcome, answer))
}
