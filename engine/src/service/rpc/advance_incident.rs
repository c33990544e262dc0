//! `AdvanceIncident`: moves an incident to its next stage.

use tonic::{Request, Response, Status};

use crate::dispatch::Command;
use crate::service::dispatch::DispatchService;
use crate::service::requests::{answer_to, replayed};
use crate::service::{convert, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::AdvanceIncidentRequest>,
) -> Result<Response<proto::Incident>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("advance incidents")?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "AdvanceIncident", request_id, &r)?;
    let id = convert::incident_id(&r.incident_id, "incident_id")?;
    let stage = convert::stage(r.to)?;
    let note = convert::text(&r.note, "note")?;
    if service.done_before(live, &call)?.is_some() {
        return Ok(replayed(service.incident_reply(live, id)?));
    }
    let command = Command::Advance {
        incident: id,
        stage,
        note,
    };
    let outcome = service
        .submit_call(live, &call, vec![service.stamp(&caller.name, command)])
        .await?;
    let answer = service.incident_reply(live, id)?;
    Ok(answer_to(&outcome, answer))
}
