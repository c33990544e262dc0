//! `LiftContainment`: a containment ends; its units still on it are
//! AVAILABLE again.

use tonic::{Request, Response, Status};

use crate::dispatch::Command;
use crate::service::containment_wire;
use crate::service::dispatch::DispatchService;
use crate::service::requests::{answer_to, replayed};
use crate::service::{convert, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::LiftContainmentRequest>,
) -> Result<Response<proto::Containment>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("lift containments")?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "LiftContainment", request_id, &r)?;
    let id = convert::incident_id(&r.incident_id, "incident_id")?;
    let note = convert::text(&r.note, "note")?;
    if service.done_before(live, &call)?.is_some() {
        return Ok(replayed(containment_wire::reply(live, id, false)?));
    }
    let command = Command::LiftContainment { incident: id, note };
    let outcome = service
        .submit_call(live, &call, vec![service.stamp(&caller.name, command)])
        .await?;
    let answer = containment_wire::reply(live, id, false)?;
    Ok(answer_to(&outcome, answer))
}
