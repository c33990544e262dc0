//! `GetMoveUps`: the move-up advice now. Changes nothing.

use tonic::{Request, Response, Status};

use crate::service::dispatch::{DispatchService, now_ms};
use crate::service::{move_ups, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::GetMoveUpsRequest>,
) -> Result<Response<proto::MoveUpAdvice>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("read move-up advice")?;
    let live = service.live()?;
    let state = live.engine.snapshot();
    let advice = live
        .queries
        .with(|query| move_ups::advice(&state, query, now_ms(), &[]));
    Ok(Response::new(advice))
}
