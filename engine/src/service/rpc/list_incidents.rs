//! `ListIncidents`: every incident, or the open ones.

use tonic::{Request, Response, Status};

use crate::service::dispatch::DispatchService;
use crate::service::{convert, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::ListIncidentsRequest>,
) -> Result<Response<proto::ListIncidentsResponse>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("list incidents")?;
    let live = service.live()?;
    let open_only = request.get_ref().open_only;
    let state = live.engine.snapshot();
    let incidents = state
        .incidents()
        .filter(|i| !open_only || i.is_open())
        .map(|i| convert::incident(&state, i))
        .collect();
    Ok(Response::new(proto::ListIncidentsResponse { incidents }))
}
