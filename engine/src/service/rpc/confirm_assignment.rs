//! `ConfirmAssignment`: sends units to an incident, registering a REPORTED
//! case first.
//!
//! Each unit is recorded with the tier and goal the request gives: what
//! the dispatcher was shown, copied from the recommendation's candidates.
//! Nothing is recomputed at confirm time, when units have moved on; so a
//! confirmation needs no memory of the recommendation on the server, and
//! holds across a restart or on another node. What is checked is whether
//! it still holds: a unit that can no longer be sent is refused, by the
//! writer, with a fresh recommendation for the case.

use tonic::{Request, Response, Status};

use crate::dispatch::{
    AssignUnit, Command, CommandError, DispatchState, EngineError, Outcome, World,
};
use crate::geo::LatLon;
use crate::incident::{Incident, IncidentId, Tier};
use crate::service::dispatch::{DispatchService, Live, now_ms};
use crate::service::refusal_details::failed_precondition_with;
use crate::service::requests::replayed;
use crate::service::{convert, proto, status};

/// How far a confirmed ENCIRCLE goal may be from the exit it names: the
/// recommendation's own coordinates match exactly; a console that rounds
/// them to six decimals (0.1 m) or so still finds its exit.
const EXIT_MATCH_M: f64 = 10.0;

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::ConfirmAssignmentRequest>,
) -> Result<Response<proto::Incident>, Status> {
    let caller = service.caller(&request)?;
    caller.may_dispatch("assign units")?;
    let live = service.live()?;
    let mut r = request.into_inner();
    let request_id = std::mem::take(&mut r.request_id);
    let call = service.command_call(&caller, "ConfirmAssignment", request_id, &r)?;
    let id = convert::incident_id(&r.incident_id, "incident_id")?;
    let note = convert::text(&r.note, "note")?;
    if service.done_before(live, &call)?.is_some() {
        return Ok(replayed(service.incident_reply(live, id)?));
    }
    let state = live.engine.snapshot();
    let incident = state
        .incident(id)
        .ok_or_else(|| Status::not_found(format!("no incident {id}")))?;
    if !incident.is_open() {
        return Err(Status::failed_precondition(format!(
            "incident {id} is closed; no unit can be assigned to it"
        )));
    }
    let units = match (r.units.is_empty(), r.unit_ids.is_empty()) {
        (true, true) => {
            return Err(Status::invalid_argument(
                "the confirmation lists no unit: give units (or unit_ids)",
            ));
        }
        (false, false) => {
            return Err(Status::invalid_argument(
                "give units (with their tiers and goals) or unit_ids, not both",
            ));
        }
        (false, true) => shown(&state, live.world, incident, &r.units)?,
        (true, false) => picked(&state, incident, &r.unit_ids)?,
    };
    let command = Command::Assign {
        incident: id,
        units,
        note,
        register: true,
    };
    let stamped = crate::dispatch::Stamped {
        at_ms: now_ms(),
        actor: caller.name.clone(),
        command,
    };
    match service
        .submit_call_for_engine_error(live, &call, vec![stamped])
        .await
    {
        Ok(Outcome::Applied(_)) => Ok(Response::new(service.incident_reply(live, id)?)),
        Ok(Outcome::Replayed(_)) => Ok(replayed(service.incident_reply(live, id)?)),
        Err(EngineError::Command(
            error @ (CommandError::UnitBusy { .. } | CommandError::UnitUnavailable { .. }),
        )) => Err(no_longer_holds(service, live, id, &error)),
        Err(error) => Err(status::engine(&error)),
    }
}

/// The units as the dispatcher was shown them, each checked: known, with
/// a tier, and an ENCIRCLE unit with an exit of the incident's zone.
fn shown(
    state: &DispatchState,
    world: &World,
    incident: &Incident,
    units: &[proto::ConfirmedUnit],
) -> Result<Vec<AssignUnit>, Status> {
    units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let field = format!("units[{i}] ({})", u.unit_id);
            convert::unit_slot(state, &u.unit_id, &format!("units[{i}].unit_id"))?;
            let tier = convert::tier(u.tier, &field)?;
            let goal = match tier {
                Tier::Encircle => Some(exit_goal(world, incident, u.goal.as_ref(), &field)?),
                Tier::Handle | Tier::Support => None,
            };
            Ok(AssignUnit {
                unit: u.unit_id.clone(),
                tier,
                goal,
            })
        })
        .collect()
}

/// The exit of the incident's zone a confirmed ENCIRCLE goal names.
fn exit_goal(
    world: &World,
    incident: &Incident,
    goal: Option<&proto::LatLng>,
    field: &str,
) -> Result<LatLon, Status> {
    let goal = convert::location(goal, &format!("{field}: the ENCIRCLE goal"))?;
    let Some(zone) = incident.zone else {
        return Err(Status::invalid_argument(format!(
            "{field}: incident {} lies in no patrol zone, so it has no exits to hold",
            incident.id
        )));
    };
    let nearest = world
        .exits(zone)
        .iter()
        .map(|e| (e.at.haversine_m(goal), e.at))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let zone_id = world
        .scenario()
        .zones()
        .as_slice()
        .get(zone)
        .map_or("?", |z| z.id.as_str());
    match nearest {
        Some((distance, exit)) if distance <= EXIT_MATCH_M => Ok(exit),
        Some((distance, _)) => Err(Status::invalid_argument(format!(
            "{field}: the ENCIRCLE goal {goal} is not an exit of zone {zone_id}: the nearest \
             is {distance:.0} m away (at most {EXIT_MATCH_M:.0} m)"
        ))),
        None => Err(Status::invalid_argument(format!(
            "{field}: zone {zone_id} has no exits to hold"
        ))),
    }
}

/// Units the dispatcher picked by id alone: the first handles if no
/// handling unit is on the case, the rest support; all drive to the
/// incident.
fn picked(
    state: &DispatchState,
    incident: &Incident,
    unit_ids: &[String],
) -> Result<Vec<AssignUnit>, Status> {
    let mut has_handle = incident
        .assignments
        .iter()
        .any(|a| a.tier == Tier::Handle && a.is_on_case());
    unit_ids
        .iter()
        .map(|unit| {
            convert::unit_slot(state, unit, "unit_ids")?;
            let tier = if has_handle {
                Tier::Support
            } else {
                Tier::Handle
            };
            has_handle = true;
            Ok(AssignUnit {
                unit: unit.clone(),
                tier,
                goal: None,
            })
        })
        .collect()
}

/// The refusal of a confirmation that no longer holds, with a fresh
/// recommendation for the case from the state that refused it.
fn no_longer_holds(
    service: &DispatchService,
    live: &Live,
    id: IncidentId,
    error: &CommandError,
) -> Status {
    let state = live.engine.snapshot();
    let Some(incident) = state.incident(id) else {
        return status::command(error);
    };
    match service.recommendation(
        live,
        &state,
        incident.location,
        incident.priority,
        service.policy,
        false,
    ) {
        Ok(fresh) => failed_precondition_with(
            format!(
                "{error}; nothing was assigned. The state changed since the recommendation: \
                 a fresh one is in this refusal's details"
            ),
            &fresh,
        ),
        // Nothing can be recommended now (every unit busy): the plain
        // refusal says why.
        Err(_) => status::command(error),
    }
}
