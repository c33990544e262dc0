//! `GetContainment`: an incident's containment, with the plan of its
//! ordered responders as they stand now.

use tonic::{Request, Response, Status};

use crate::dispatch::CommandError;
use crate::service::containment_wire;
use crate::service::dispatch::DispatchService;
use crate::service::{convert, proto, status};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::GetContainmentRequest>,
) -> Result<Response<proto::Containment>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("read containments")?;
    let live = service.live()?;
    let r = request.into_inner();
    let id = convert::incident_id(&r.incident_id, "incident_id")?;
    if live.engine.snapshot().incident(id).is_none() {
        return Err(status::command(&CommandError::UnknownIncident(id)));
    }
    Ok(Response::new(containment_wire::reply(
        live,
        id,
        r.with_possible_area,
    )?))
}
