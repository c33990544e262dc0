//! `Recommend`: the what-if question, which units to send to a location.
//! Changes nothing.

use tonic::{Request, Response, Status};

use crate::service::dispatch::{DispatchService, now_ms};
use crate::service::{convert, move_ups, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::RecommendRequest>,
) -> Result<Response<proto::Recommendation>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("ask for recommendations")?;
    let live = service.live()?;
    let r = request.into_inner();
    let location = convert::location(r.location.as_ref(), "location")?;
    let priority = convert::priority(r.priority)?;
    let policy = convert::policy(r.policy, service.policy)?;
    let state = live.engine.snapshot();
    let mut rec =
        service.recommendation(live, &state, location, priority, policy, r.with_routes)?;
    if r.with_move_ups {
        let advice = live
            .queries
            .with(|query| move_ups::after_sending(&state, query, now_ms(), &rec));
        rec.move_ups_after = Some(advice);
    }
    Ok(Response::new(rec))
}
