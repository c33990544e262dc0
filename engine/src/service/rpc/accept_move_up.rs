//! `AcceptMoveUp` and `ReleaseMoveUp`: a dispatcher takes move-up advice
//! (the unit's standby point becomes the post) or undoes it.

use tonic::{Request, Response, Status};

use crate::dispatch::{Command, Outcome, Stamped};
use crate::service::dispatch::{DispatchService, Live, now_ms};
use crate::service::requests::replayed;
use crate::service::{convert, move_ups, proto, status};

/// Answers one `AcceptMoveUp`.
pub(crate) async fn accept(
    service: &DispatchService,
    request: Request<proto::AcceptMoveUpRequest>,
) -> Result<Response<proto::MoveUpResponse>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("move units up")?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "AcceptMoveUp", request_id, &r)?;
    required(&r.unit_id, "unit_id")?;
    required(&r.post_id, "post_id")?;
    let note = convert::text(&r.note, "note")?;
    if service.done_before(live, &call)?.is_some() {
        return Ok(replayed(answer(live, &r.unit_id)?));
    }
    // Checked completely here, against the snapshot, so that a refusal
    // names what was wrong before anything is queued; the writer checks
    // again against the state it applies the move to.
    let at_ms = now_ms();
    let state = live.engine.snapshot();
    let command = live
        .queries
        .with(|query| state.move_up_command(query, &r.unit_id, &r.post_id, &note, at_ms))
        .map_err(|e| status::move_up(&e))?;
    let stamped = Stamped {
        at_ms,
        actor: caller.name.clone(),
        command,
    };
    let outcome = service.submit_call(live, &call, vec![stamped]).await?;
    let reply = answer(live, &r.unit_id)?;
    Ok(match outcome {
        Outcome::Applied(_) => Response::new(reply),
        Outcome::Replayed(_) => replayed(reply),
    })
}

/// Answers one `ReleaseMoveUp`.
pub(crate) async fn release(
    service: &DispatchService,
    request: Request<proto::ReleaseMoveUpRequest>,
) -> Result<Response<proto::MoveUpResponse>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("release moved units")?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "ReleaseMoveUp", request_id, &r)?;
    required(&r.unit_id, "unit_id")?;
    let note = convert::text(&r.note, "note")?;
    if service.done_before(live, &call)?.is_some() {
        return Ok(replayed(answer(live, &r.unit_id)?));
    }
    let command = Command::ReleaseMoveUp {
        unit: r.unit_id.clone(),
        note,
    };
    let outcome = service
        .submit_call(live, &call, vec![service.stamp(&caller.name, command)])
        .await?;
    let reply = answer(live, &r.unit_id)?;
    Ok(match outcome {
        Outcome::Applied(_) => Response::new(reply),
        Outcome::Replayed(_) => replayed(reply),
    })
}

fn required(value: &str, field: &str) -> Result<(), Status> {
    if value.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is missing")));
    }
    Ok(())
}

/// The unit as it is now, and the advice now.
fn answer(live: &Live, unit: &str) -> Result<proto::MoveUpResponse, Status> {
    let state = live.engine.snapshot();
    let slot = state
        .unit_index(unit)
        .map_err(|_| Status::invalid_argument(format!("unit_id: no unit {unit:?}")))?;
    let now = now_ms();
    let advice = live
        .queries
        .with(|query| move_ups::advice(&state, query, now, &[]));
    Ok(proto::MoveUpResponse {
        unit: Some(convert::unit(&state, slot, now)),
        advice: Some(advice),
    })
}
