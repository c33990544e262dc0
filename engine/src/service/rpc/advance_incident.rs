//! `AdvanceIncident`: moves an incident to its next stage.

use tonic::{Request, Response, Status};

use crate::dispatch::Command;
use crate::service::dispatch::DispatchService;
use crate::service::{convert, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::AdvanceIncidentRequest>,
) -> Result<Response<proto::Incident>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("advance incidents")?;
    let live = service.live()?;
    let r = request.into_inner();
    let id = convert::incident_id(&r.incident_id, "incident_id")?;
    let stage = convert::stage(r.to)?;
    let note = convert::text(&r.note, "note")?;
    let command = Command::Advance {
        incident: id,
        stage,
        note,
    };
    service.submit(live, &caller.name, command).await?;
    Ok(Response::new(service.incident_reply(live, id)?))
}
