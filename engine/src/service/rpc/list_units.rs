//! `ListUnits`: every unit's status and position.

use tonic::{Request, Response, Status};

use crate::service::dispatch::{DispatchService, now_ms};
use crate::service::{convert, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::ListUnitsRequest>,
) -> Result<Response<proto::ListUnitsResponse>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("list units")?;
    let live = service.live()?;
    let state = live.engine.snapshot();
    let now = now_ms();
    let units = (0..state.units().len())
        .map(|slot| convert::unit(&state, slot, now))
        .collect();
    Ok(Response::new(proto::ListUnitsResponse { units }))
}
