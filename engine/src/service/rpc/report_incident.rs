//! `ReportIncident`: records a new incident (REPORTED) and answers with what
//! to send; with `auto_assign`, confirms the recommendation at once.

use tonic::{Request, Response, Status};

use crate::dispatch::{
    AssignUnit, Command, DispatchState, Outcome, Recommendation, RequestRecord, Stamped,
};
use crate::incident::{IncidentId, Tier};
use crate::service::dispatch::{DispatchService, Live, now_ms, routes};
use crate::service::requests::replayed;
use crate::service::{convert, move_ups, proto, status};

/// Groups refused because a recommended unit was taken meanwhile, before
/// the call is recorded unassigned.
const MAX_ASSIGN_ATTEMPTS: u32 = 3;

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::ReportIncidentRequest>,
) -> Result<Response<proto::ReportIncidentResponse>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("report incidents")?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "ReportIncident", request_id, &r)?;
    let location = convert::location(r.location.as_ref(), "location")?;
    let priority = convert::priority(r.priority)?;
    let command = Command::ReportIncident {
        location,
        priority,
        category: convert::text(&r.category, "category")?,
        description: convert::text(&r.description, "description")?,
        caller_ref: convert::text(&r.caller_ref, "caller_ref")?,
    };
    // An incident no unit can drive to is refused before it is
    // recorded, with the distance, so the dispatcher can correct it.
    live.engine
        .snapshot()
        .snap(location, "the incident")
        .map_err(|e| status::command(&e))?;
    if let Some(done) = service.done_before(live, &call)? {
        return answer_retry(service, live, &done);
    }
    let at_ms = now_ms();
    let stamped = |command| Stamped {
        at_ms,
        actor: caller.name.clone(),
        command,
    };
    // With auto_assign, the report, its registration and the assignment
    // are one group: a crash never leaves a call reported without the
    // units it was answered with. The recommendation does not depend on
    // the incident's record, so it is made first.
    let mut refused = 0;
    loop {
        let state = live.engine.snapshot();
        let recommendation = live.queries.with(|query| {
            state
                .recommend(query, location, priority, at_ms, service.policy)
                .map(|rec| {
                    let routes = r.with_routes.then(|| routes(&state, query, &rec));
                    (rec, routes)
                })
        });
        let recommendation = match recommendation {
            Ok(found) => Some(found),
            Err(e) => {
                log::warn!("call at {location}: no recommendation: {e}");
                None
            }
        };
        let mut commands = vec![stamped(command.clone())];
        // Stale units are never sent with nobody looking: without a fresh
        // unit the call is recorded unassigned, with the recommendation
        // (stale units flagged) for the dispatcher.
        let units = match &recommendation {
            Some((rec, _)) if r.auto_assign && refused < MAX_ASSIGN_ATTEMPTS => {
                assign_all(&state, rec)
            }
            _ => Vec::new(),
        };
        if !units.is_empty() {
            commands.push(stamped(Command::Assign {
                incident: IncidentId::REPORTED,
                units,
                note: "auto-assigned".to_string(),
                register: true,
            }));
        }
        let grouped = commands.len() > 1;
        let applied = match service.submit_call(live, &call, commands).await {
            Ok(Outcome::Applied(applied)) => applied,
            Ok(Outcome::Replayed(done)) => return answer_retry(service, live, &done),
            // Another console took a recommended unit meanwhile: recommend
            // again, and in the end record the call unassigned rather
            // than lose it.
            Err(e) if grouped && e.code() == tonic::Code::FailedPrecondition => {
                log::info!(
                    "call at {location}: auto-assignment refused ({}); again",
                    e.message()
                );
                refused += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let id = applied[0]
            .incident
            .ok_or_else(|| Status::internal("a report created no incident"))?;
        let recommendation = recommendation.map(|(rec, routes)| {
            let mut wire = convert::recommendation(&state, &rec, routes);
            if r.with_move_ups {
                let advice = live
                    .queries
                    .with(|query| move_ups::after_sending(&state, query, at_ms, &wire));
                wire.move_ups_after = Some(advice);
            }
            wire
        });
        return Ok(Response::new(proto::ReportIncidentResponse {
            incident: Some(service.incident_reply(live, id)?),
            recommendation,
        }));
    }
}

/// The answer to a retry of a report applied before: the same incident,
/// as it stands now, with the units it was given. No recommendation: the
/// one the first call answered with is not kept, and a fresh one would
/// not be what was assigned.
fn answer_retry(
    service: &DispatchService,
    live: &Live,
    done: &RequestRecord,
) -> Result<Response<proto::ReportIncidentResponse>, Status> {
    let id = done
        .incident
        .ok_or_else(|| Status::internal("a report recorded no incident"))?;
    Ok(replayed(proto::ReportIncidentResponse {
        incident: Some(service.incident_reply(live, id)?),
        recommendation: None,
    }))
}

/// The assignment of a recommendation's candidates that may be sent with
/// nobody looking: every one but the stale.
fn assign_all(state: &DispatchState, rec: &Recommendation) -> Vec<AssignUnit> {
    rec.auto_assignable()
        .map(|c| AssignUnit {
            unit: state.unit_id(c.unit).to_string(),
            tier: c.tier,
            goal: (c.tier == Tier::Encircle).then_some(c.goal),
        })
        .collect()
}
