//! `ReportPositions`: a unit terminal's stream of position fixes. A bad fix
//! is counted and the stream goes on; a fix for another unit ends it.

use tonic::{Request, Response, Status, Streaming};

use crate::dispatch::{Command, Stamped};
use crate::service::auth::Caller;
use crate::service::dispatch::{DispatchService, Live, now_ms};
use crate::service::{convert, proto};

/// Position reports whose rejection reasons are sent back, at most.
const MAX_REPORTED_ERRORS: usize = 10;

/// A terminal's fix may be at most this far ahead of the server's clock.
const MAX_CLOCK_AHEAD_MS: i64 = 5_000;

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<Streaming<proto::UnitPosition>>,
) -> Result<Response<proto::ReportPositionsResponse>, Status> {
    let caller = service.caller(&request)?;
    let live = service.live()?;
    // Held as long as the stream is open.
    let _slot = service
        .limits
        .open_stream(&caller, "another ReportPositions stream")?;
    let mut stream = request.into_inner();
    let mut shutdown = service.shutdown.clone();
    let mut answer = proto::ReportPositionsResponse::default();
    loop {
        let next = tokio::select! {
            next = stream.message() => next?,
            _ = shutdown.wait_for(|stop| *stop) => None,
        };
        let Some(position) = next else { break };
        // Reporting for another unit is a security matter, not a bad
        // fix: it ends the stream.
        if !position.unit_id.is_empty() {
            caller.may_report_for(&position.unit_id)?;
        }
        // Over the token's rate, a fix is dropped and counted, before it
        // costs the writer anything; the stream goes on.
        if let Err(e) = service.limits.take_fix(&caller) {
            answer.rejected += 1;
            if answer.errors.len() < MAX_REPORTED_ERRORS {
                answer
                    .errors
                    .push(format!("{}: {}", position.unit_id, e.message()));
            }
            continue;
        }
        let outcome = match position_command(live, &caller, &position) {
            Ok(stamped) => service.submit_stamped(live, stamped).await.map(|_| ()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => answer.accepted += 1,
            Err(e) if e.code() == tonic::Code::ResourceExhausted => return Err(e),
            Err(e) => {
                answer.rejected += 1;
                if answer.errors.len() < MAX_REPORTED_ERRORS {
                    answer
                        .errors
                        .push(format!("{}: {}", position.unit_id, e.message()));
                }
            }
        }
    }
    Ok(Response::new(answer))
}

/// The command for one position report, or why it is rejected.
fn position_command(
    live: &Live,
    caller: &Caller,
    position: &proto::UnitPosition,
) -> Result<Stamped, Status> {
    let state = live.engine.snapshot();
    convert::unit_slot(&state, &position.unit_id, "unit_id")?;
    let location = convert::location(position.position.as_ref(), "position")?;
    if !position.speed_mps.is_finite() || position.speed_mps < 0.0 {
        return Err(Status::invalid_argument(format!(
            "speed {} m/s is not a speed",
            position.speed_mps
        )));
    }
    let now = now_ms();
    // A fix timed 0 is "now". Any other time is checked against the
    // server's clock with checked arithmetic: a terminal may send any
    // i64, and i64::MIN is as far from now as a time can be. Whether it
    // is older than the unit's last report is decided by the writer,
    // which orders every unit's fixes (`CommandError::OlderFix`).
    let at_ms = if position.time_ms == 0 {
        now
    } else {
        let stale_ms = live.world.config().stale_after_ms;
        let age_ms = now.checked_sub(position.time_ms).ok_or_else(|| {
            Status::invalid_argument(format!(
                "time_ms {} is not the time of a fix: it is further from the server's clock \
                 than any time can be",
                position.time_ms
            ))
        })?;
        if age_ms < -MAX_CLOCK_AHEAD_MS {
            return Err(Status::invalid_argument(format!(
                "the fix is timed {} ms ahead of the server's clock (at most {MAX_CLOCK_AHEAD_MS} ms)",
                age_ms.unsigned_abs()
            )));
        }
        if age_ms > stale_ms {
            return Err(Status::invalid_argument(format!(
                "the fix is {} s old; positions older than {} s are stale",
                age_ms / 1000,
                stale_ms / 1000
            )));
        }
        position.time_ms
    };
    Ok(Stamped {
        at_ms,
        actor: caller.name.clone(),
        command: Command::ReportPosition {
            unit: position.unit_id.clone(),
            location,
            heading: Some(position.heading_deg),
        },
    })
}
