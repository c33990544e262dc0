//! `GetIncident`: one incident with its history and assignments.

use tonic::{Request, Response, Status};

use crate::service::dispatch::DispatchService;
use crate::service::{convert, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::GetIncidentRequest>,
) -> Result<Response<proto::Incident>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("read incidents")?;
    let live = service.live()?;
    let id = convert::incident_id(&request.get_ref().id, "id")?;
    Ok(Response::new(service.incident_reply(live, id)?))
}
