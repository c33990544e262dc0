//! `MarkCrossingStaffed`: a crossing's responder is there (for a unit, its
//! arrival: ON_SCENE at its crossing).

use tonic::{Request, Response, Status};

use crate::dispatch::Command;
use crate::service::containment_wire;
use crate::service::dispatch::DispatchService;
use crate::service::requests::{answer_to, replayed};
use crate::service::{convert, proto};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::MarkCrossingStaffedRequest>,
) -> Result<Response<proto::Containment>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("mark crossings staffed")?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "MarkCrossingStaffed", request_id, &r)?;
    let id = convert::incident_id(&r.incident_id, "incident_id")?;
    let site = containment_wire::site_of(live.world, &r.crossing_id, "crossing_id")?;
    if service.done_before(live, &call)?.is_some() {
        return Ok(replayed(containment_wire::reply(live, id, false)?));
    }
    let crossing = live.world.ring_crossings().sites()[site].at;
    let command = Command::CrossingStaffed {
        incident: id,
        crossing,
    };
    let outcome = service
        .submit_call(live, &call, vec![service.stamp(&caller.name, command)])
        .await?;
    let answer = containment_wire::reply(live, id, false)?;
    Ok(answer_to(&outcome, answer))
}
