//! `ReportSighting`: the suspect seen; the containment's plan counts from
//! the latest sighting, is made again over the responders already ordered
//! and the free ones, and the free responders it needs are ordered out.

use tonic::{Request, Response, Status};

use crate::dispatch::{CommandError, ContainmentMode};
use crate::service::containment_wire;
use crate::service::dispatch::{DispatchService, now_ms};
use crate::service::requests::{answer_to, replayed};
use crate::service::rpc::plan_containment::{sighting, snapped};
use crate::service::{convert, proto, status};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::ReportSightingRequest>,
) -> Result<Response<proto::Containment>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("report sightings")?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "ReportSighting", request_id, &r)?;
    let id = convert::incident_id(&r.incident_id, "incident_id")?;
    let source = convert::text(&r.source, "source")?;
    let seen = r
        .sighting
        .as_ref()
        .ok_or_else(|| Status::invalid_argument("sighting is missing"))?;
    convert::location(seen.location.as_ref(), "sighting.location")?;
    if service.done_before(live, &call)?.is_some() {
        return Ok(replayed(containment_wire::reply(live, id, false)?));
    }
    let outcome = service
        .submit_planned(live, &call, &caller.name, |state| {
            state
                .incident(id)
                .ok_or_else(|| status::command(&CommandError::UnknownIncident(id)))?;
            let running = state
                .containment(id)
                .filter(|c| c.is_running())
                .ok_or_else(|| status::command(&CommandError::NoContainment(id)))?;
            let ContainmentMode::Suspect { escape_ms, .. } = running.mode else {
                return Err(Status::failed_precondition(format!(
                    "the containment of incident {id} is a lockdown: it has no suspect to sight"
                )));
            };
            let now = now_ms();
            let (at, time_ms) = sighting(seen, escape_ms, now)?;
            snapped(live.world, at, "sighting.location")?;
            live.queries
                .with(|query| state.sighting_command(query, id, (at, time_ms), now, source.clone()))
                .map(|(command, _)| command)
                .map_err(|e| status::command(&e))
        })
        .await?;
    let answer = containment_wire::reply(live, id, false)?;
    Ok(answer_to(&outcome, answer))
}
