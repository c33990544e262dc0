//! `Recommend`: the what-if question, which units to send to a location.
//! Changes nothing.

use tonic::{Request, Response, Status};

use crate::service::dispatch::DispatchService;
use crate::service::{convert, proto};

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
    let rec = service.recommendation(live, &state, location, priority, policy, r.with_routes)?;
    Ok(Response::new(rec))
}
