//! `ReportIncident`: records a new incident (REPORTED) and answers with what
//! to send; with `auto_assign`, confirms the recommendation at once.

use tonic::{Request, Response, Status};

use crate::dispatch::{AssignUnit, Command, DispatchState, Recommendation};
use crate::incident::Tier;
use crate::service::dispatch::{DispatchService, now_ms, routes};
use crate::service::{convert, proto, status};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::ReportIncidentRequest>,
) -> Result<Response<proto::ReportIncidentResponse>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("report incidents")?;
    let live = service.live()?;
    let _permit = service.permit()?;
    let r = request.into_inner();
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
    let applied = service.submit(live, &caller.name, command).await?;
    let id = applied
        .incident
        .ok_or_else(|| Status::internal("a report created no incident"))?;
    let state = live.engine.snapshot();
    let recommendation = live.queries.with(|query| {
        state
            .recommend(query, location, priority, now_ms(), service.policy)
            .map(|rec| {
                let routes = r.with_routes.then(|| routes(&state, query, &rec));
                (rec, routes)
            })
    });
    let recommendation = match recommendation {
        Ok(found) => Some(found),
        Err(e) => {
            log::warn!("incident {id}: no recommendation: {e}");
            None
        }
    };
    if r.auto_assign
        && let Some((rec, _)) = &recommendation
    {
        let units = assign_all(&state, rec);
        service
            .register_and_assign(live, &caller.name, id, units, "auto-assigned".to_string())
            .await
            .map_err(|e| {
                Status::new(
                    e.code(),
                    format!(
                        "incident {id} is reported but not assigned: {}",
                        e.message()
                    ),
                )
            })?;
    }
    Ok(Response::new(proto::ReportIncidentResponse {
        incident: Some(service.incident_reply(live, id)?),
        recommendation: recommendation
            .map(|(rec, routes)| convert::recommendation(&state, &rec, routes)),
    }))
}

/// The assignment of a recommendation's candidates.
fn assign_all(state: &DispatchState, rec: &Recommendation) -> Vec<AssignUnit> {
    rec.candidates
        .iter()
        .map(|c| AssignUnit {
            unit: state.unit_id(c.unit).to_string(),
            tier: c.tier,
            goal: (c.tier == Tier::Encircle).then_some(c.goal),
        })
        .collect()
}
