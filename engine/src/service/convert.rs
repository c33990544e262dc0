//! Between the wire and the engine: every request field is checked here,
//! once, and every engine value is turned into its wire form here, so the
//! rest of the service speaks only engine types.

use tonic::Status;

use crate::dispatch::{DispatchState, Recommendation, UnitStatus};
use crate::geo::LatLon;
use crate::incident::{Incident, IncidentId, Priority, Stage, Tier};
use crate::service::proto;

/// The longest free text accepted in a request field (category,
/// description, notes), in bytes: a dispatcher's note, not a document.
pub const MAX_TEXT_BYTES: usize = 4096;

/// A request's location, checked: present, finite, in range.
pub fn location(wire: Option<&proto::LatLng>, field: &str) -> Result<LatLon, Status> {
    let wire = wire.ok_or_else(|| Status::invalid_argument(format!("{field} is missing")))?;
    LatLon::new(wire.lat, wire.lng).map_err(|e| {
        Status::invalid_argument(format!(
            "{field} ({}, {}) is not a coordinate: {}",
            wire.lat, wire.lng, e.reason
        ))
    })
}

/// A free-text field, checked for length.
pub fn text(value: &str, field: &str) -> Result<String, Status> {
    if value.len() > MAX_TEXT_BYTES {
        return Err(Status::invalid_argument(format!(
            "{field} is {} bytes long; at most {MAX_TEXT_BYTES} are accepted",
            value.len()
        )));
    }
    Ok(value.to_string())
}

/// A priority, which must be given.
pub fn priority(wire: i32) -> Result<Priority, Status> {
    match proto::Priority::try_from(wire) {
        Ok(proto::Priority::P1) => Ok(Priority::P1),
        Ok(proto::Priority::P2) => Ok(Priority::P2),
        Ok(proto::Priority::P3) => Ok(Priority::P3),
        Ok(proto::Priority::Unspecified) => Err(Status::invalid_argument(
            "priority is missing: give P1, P2 or P3",
        )),
        Err(_) => Err(Status::invalid_argument(format!(
            "priority {wire} is not one of P1 (1), P2 (2), P3 (3)"
        ))),
    }
}

/// A stage to advance to, which must be given.
pub fn stage(wire: i32) -> Result<Stage, Status> {
    let stage = match proto::Stage::try_from(wire) {
        Ok(proto::Stage::Reported) => Stage::Reported,
        Ok(proto::Stage::Registered) => Stage::Registered,
        Ok(proto::Stage::Assigned) => Stage::Assigned,
        Ok(proto::Stage::Handling) => Stage::Handling,
        Ok(proto::Stage::Feedback) => Stage::Feedback,
        Ok(proto::Stage::Closed) => Stage::Closed,
        Ok(proto::Stage::Unspecified) => {
            return Err(Status::invalid_argument(
                "the stage to advance to is missing",
            ));
        }
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "stage {wire} is not one of REPORTED (1) to CLOSED (6)"
            )));
        }
    };
    Ok(stage)
}

/// A tier, which must be given; `field` names where it was read.
pub fn tier(wire: i32, field: &str) -> Result<Tier, Status> {
    match proto::Tier::try_from(wire) {
        Ok(proto::Tier::Handle) => Ok(Tier::Handle),
        Ok(proto::Tier::Support) => Ok(Tier::Support),
        Ok(proto::Tier::Encircle) => Ok(Tier::Encircle),
        Ok(proto::Tier::Unspecified) => Err(Status::invalid_argument(format!(
            "{field}: the tier is missing: give HANDLE, SUPPORT or ENCIRCLE"
        ))),
        Err(_) => Err(Status::invalid_argument(format!(
            "{field}: tier {wire} is not one of HANDLE (1), SUPPORT (2), ENCIRCLE (3)"
        ))),
    }
}

/// A unit status, which must be given.
pub fn unit_status(wire: i32) -> Result<UnitStatus, Status> {
    match proto::UnitStatus::try_from(wire) {
        Ok(proto::UnitStatus::Available) => Ok(UnitStatus::Available),
        Ok(proto::UnitStatus::Dispatched) => Ok(UnitStatus::Dispatched),
        Ok(proto::UnitStatus::OnScene) => Ok(UnitStatus::OnScene),
        Ok(proto::UnitStatus::Returning) => Ok(UnitStatus::Returning),
        Ok(proto::UnitStatus::OutOfService) => Ok(UnitStatus::OutOfService),
        Ok(proto::UnitStatus::Unspecified) => {
            Err(Status::invalid_argument("the unit status is missing"))
        }
        Err(_) => Err(Status::invalid_argument(format!(
            "unit status {wire} is not one of AVAILABLE (1) to OUT_OF_SERVICE (5)"
        ))),
    }
}

/// A policy; unspecified means the server's own.
pub fn policy(
    wire: i32,
    default: crate::dispatch::Policy,
) -> Result<crate::dispatch::Policy, Status> {
    match proto::Policy::try_from(wire) {
        Ok(proto::Policy::Unspecified) => Ok(default),
        Ok(proto::Policy::Closest) => Ok(crate::dispatch::Policy::Closest),
        Ok(proto::Policy::Coverage) => Ok(crate::dispatch::Policy::Coverage),
        Err(_) => Err(Status::invalid_argument(format!(
            "policy {wire} is not one of CLOSEST (1), COVERAGE (2)"
        ))),
    }
}

/// An incident id as consoles write it: its number.
pub fn incident_id(wire: &str, field: &str) -> Result<IncidentId, Status> {
    if wire.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is missing")));
    }
    wire.trim()
        .parse::<u64>()
        .map(IncidentId)
        .map_err(|_| Status::not_found(format!("no incident {wire:?}")))
}

/// A unit id that the scenario knows, as its slot.
pub fn unit_slot(state: &DispatchState, wire: &str, field: &str) -> Result<usize, Status> {
    if wire.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is missing")));
    }
    state
        .unit_index(wire)
        .map_err(|_| Status::not_found(format!("no unit {wire:?}")))
}

/// The wire form of a coordinate.
pub fn lat_lng(at: LatLon) -> proto::LatLng {
    proto::LatLng {
        lat: at.lat(),
        lng: at.lon(),
    }
}

impl From<Priority> for proto::Priority {
    fn from(p: Priority) -> Self {
        match p {
            Priority::P1 => proto::Priority::P1,
            Priority::P2 => proto::Priority::P2,
            Priority::P3 => proto::Priority::P3,
        }
    }
}

impl From<Stage> for proto::Stage {
    fn from(s: Stage) -> Self {
        match s {
            Stage::Reported => proto::Stage::Reported,
            Stage::Registered => proto::Stage::Registered,
            Stage::Assigned => proto::Stage::Assigned,
            Stage::Handling => proto::Stage::Handling,
            Stage::Feedback => proto::Stage::Feedback,
            Stage::Closed => proto::Stage::Closed,
        }
    }
}

impl From<Tier> for proto::Tier {
    fn from(t: Tier) -> Self {
        match t {
            Tier::Handle => proto::Tier::Handle,
            Tier::Support => proto::Tier::Support,
            Tier::Encircle => proto::Tier::Encircle,
        }
    }
}

impl From<UnitStatus> for proto::UnitStatus {
    fn from(s: UnitStatus) -> Self {
        match s {
            UnitStatus::Available => proto::UnitStatus::Available,
            UnitStatus::Dispatched => proto::UnitStatus::Dispatched,
            UnitStatus::OnScene => proto::UnitStatus::OnScene,
            UnitStatus::Returning => proto::UnitStatus::Returning,
            UnitStatus::OutOfService => proto::UnitStatus::OutOfService,
        }
    }
}

fn zone_id(state: &DispatchState, zone: Option<usize>) -> String {
    zone.and_then(|z| state.world().scenario().zones().as_slice().get(z))
        .map_or_else(String::new, |z| z.id.as_str().to_string())
}

/// The wire form of an incident.
pub fn incident(state: &DispatchState, incident: &Incident) -> proto::Incident {
    let mut unit_ids: Vec<String> = Vec::new();
    for a in &incident.assignments {
        let id = state.unit_id(a.unit);
        if !unit_ids.iter().any(|u| u == id) {
            unit_ids.push(id.to_string());
        }
    }
    proto::Incident {
        id: incident.id.to_string(),
        location: Some(lat_lng(incident.location)),
        priority: proto::Priority::from(incident.priority) as i32,
        stage: proto::Stage::from(incident.stage()) as i32,
        unit_ids,
        zone_id: zone_id(state, incident.zone),
        reported_at_ms: incident.reported_ms(),
        category: incident.category.clone(),
        description: incident.description.clone(),
        caller_ref: incident.caller_ref.clone(),
        history: incident
            .history
            .iter()
            .map(|t| proto::StageChange {
                stage: proto::Stage::from(t.stage) as i32,
                at_ms: t.at_ms,
                actor: t.actor.clone(),
                note: t.note.clone(),
            })
            .collect(),
        assignments: incident
            .assignments
            .iter()
            .map(|a| proto::Assignment {
                unit_id: state.unit_id(a.unit).to_string(),
                tier: proto::Tier::from(a.tier) as i32,
                target_s: f64::from(a.target_s),
                assigned_at_ms: a.assigned_ms,
                arrived_at_ms: a.arrived_ms.unwrap_or(0),
                goal: Some(lat_lng(a.goal)),
                response_s: a.response_s().unwrap_or(0.0),
                met_target: a.met_target().unwrap_or(false),
                left_at_ms: a.left_ms.unwrap_or(0),
            })
            .collect(),
        needs_unit: incident.needs_unit(),
    }
}

/// The wire form of a unit at `now_ms`.
pub fn unit(state: &DispatchState, slot: usize, now_ms: i64) -> proto::Unit {
    let scenario = state.world().scenario();
    let fixed = &scenario.units().as_slice()[slot];
    let live = &state.units()[slot];
    let post = scenario.posts().get(state.post_of(slot));
    proto::Unit {
        id: fixed.id.as_str().to_string(),
        call_sign: fixed.call_sign.clone(),
        kind: fixed.kind.as_str().to_string(),
        home_zone_id: fixed.home_zone.as_str().to_string(),
        status: proto::UnitStatus::from(live.status) as i32,
        position: Some(lat_lng(live.location)),
        position_time_ms: live.reported_ms.unwrap_or(0),
        incident_id: live.incident.map_or_else(String::new, |i| i.to_string()),
        stale: state.is_stale_at(slot, now_ms),
        post_id: post.map(|p| p.id.as_str().to_string()).unwrap_or_default(),
        post_name: post.map(|p| p.name.clone()).unwrap_or_default(),
        moved_at_ms: live.post.and(live.moved_ms).unwrap_or(0),
        move_held_until_ms: live.held_until_ms().unwrap_or(0),
    }
}

/// The wire form of a recommendation; `routes[i]`, when given, is the
/// polyline of candidate `i`.
pub fn recommendation(
    state: &DispatchState,
    rec: &Recommendation,
    routes: Option<Vec<Vec<LatLon>>>,
) -> proto::Recommendation {
    let units = state.world().scenario().units().as_slice();
    let mut routes = routes.map(Vec::into_iter);
    proto::Recommendation {
        candidates: rec
            .candidates
            .iter()
            .map(|c| proto::Candidate {
                unit_id: state.unit_id(c.unit).to_string(),
                tier: proto::Tier::from(c.tier) as i32,
                eta_s: c.eta.seconds(),
                distance_m: c.eta.metres(),
                meets_target: c.meets_target,
                goal: Some(lat_lng(c.goal)),
                reason: c.reason.clone(),
                route: routes
                    .as_mut()
                    .and_then(Iterator::next)
                    .unwrap_or_default()
                    .into_iter()
                    .map(lat_lng)
                    .collect(),
                stale: c.stale,
                call_sign: units
                    .get(c.unit)
                    .map_or_else(String::new, |u| u.call_sign.clone()),
            })
            .collect(),
        tiers: rec
            .tiers
            .iter()
            .map(|t| proto::TierOutcome {
                tier: proto::Tier::from(t.tier) as i32,
                target_s: f64::from(t.target_s),
                met: t.met,
                wanted: u32::try_from(t.wanted).unwrap_or(u32::MAX),
                assigned: u32::try_from(t.assigned).unwrap_or(u32::MAX),
            })
            .collect(),
        zone_id: zone_id(state, rec.zone),
        snap_distance_m: rec.snap_distance_m,
        uncovered_exits: rec.uncovered_exits.iter().copied().map(lat_lng).collect(),
        unheld_exits: rec.unheld_exits.iter().map(unheld_exit).collect(),
        departure_uncovered_km2: rec.departure_loss_m2 / 1e6,
        move_ups_after: None,
    }
}

/// The wire form of an exit left unheld.
fn unheld_exit(u: &crate::dispatch::UnheldExit) -> proto::UnheldExit {
    use crate::dispatch::Unheld;
    let why = match u.why {
        Unheld::ExitLimit { .. } => proto::UnheldReason::ExitLimit,
        Unheld::Reserve { .. } => proto::UnheldReason::Reserve,
        Unheld::Unreachable => proto::UnheldReason::Unreachable,
        Unheld::NoUnitLeft => proto::UnheldReason::NoUnitLeft,
    };
    proto::UnheldExit {
        at: Some(lat_lng(u.at)),
        exit_number: u32::try_from(u.exit + 1).unwrap_or(u32::MAX),
        rank: u32::from(u.rank),
        why: why as i32,
        reason: u.reason.clone(),
    }
}

/// The wire form of a zone.
pub fn zone(zone: &crate::scenario::Zone) -> proto::Zone {
    use geo::Area;
    let outline = zone
        .geometry
        .0
        .iter()
        .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
        .map(|largest| {
            largest
                .exterior()
                .coords()
                .filter_map(|c| LatLon::new(c.y, c.x).ok())
                .map(lat_lng)
                .collect()
        })
        .unwrap_or_default();
    proto::Zone {
        id: zone.id.as_str().to_string(),
        name: zone.name.clone(),
        outline,
        incident_rate_per_day: zone.incident_rate_per_day,
        area_km2: zone.area_m2 / 1e6,
    }
}
