//! A containment in its wire form, and what its command RPCs share: the
//! crossing ids, the reply (the containment with the plan of its ordered
//! responders as they stand now), and its events.

use tonic::Status;

use crate::containment::possible_area;
use crate::dispatch::{
    Containment, ContainmentChange, ContainmentChangeKind, ContainmentMode, CrossingOutlook,
    CrossingResponder, DispatchState, World,
};
use crate::geo::LatLon;
use crate::incident::IncidentId;
use crate::service::dispatch::{Live, now_ms};
use crate::service::rpc::plan_containment::{crossing_id, verdict, wire_plan};
use crate::service::{convert, proto};

/// A crossing's site index from its wire id ("X17").
pub(crate) fn site_of(world: &World, wire: &str, field: &str) -> Result<usize, Status> {
    if wire.is_empty() {
        return Err(Status::invalid_argument(format!("{field} is missing")));
    }
    let sites = world.ring_crossings().sites().len();
    wire.strip_prefix('X')
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&s| s < sites)
        .ok_or_else(|| {
            Status::invalid_argument(format!(
                "{field} is {wire:?}: no such crossing; crossings are X0 to X{}",
                sites.saturating_sub(1)
            ))
        })
}

/// A crossing named as in a plan, with what a plan said of it.
fn crossing(
    world: &World,
    state: &DispatchState,
    at: LatLon,
    outlook: Option<&CrossingOutlook>,
) -> proto::ContainmentCrossing {
    let rings = world.scenario().rings();
    let Some(site) = state.crossing_site(at) else {
        return proto::ContainmentCrossing {
            location: Some(convert::lat_lng(at)),
            ..Default::default()
        };
    };
    let s = &world.ring_crossings().sites()[site];
    let levels: Vec<u32> = world
        .ring_crossings()
        .outlines()
        .iter()
        .filter(|o| o.sites.contains(&site))
        .map(|o| u32::from(o.ring.level().number()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    proto::ContainmentCrossing {
        location: Some(convert::lat_lng(s.at)),
        label: s.label(rings),
        road: s.road.clone(),
        road_ref: s.road_ref.clone(),
        road_class: s.class.as_str().to_owned(),
        checkpoint_id: s
            .checkpoint
            .and_then(|k| rings.checkpoints().get(k))
            .map(|c| c.id.to_string())
            .unwrap_or_default(),
        suspect_earliest_ms: outlook.and_then(|o| o.suspect_ms).unwrap_or(0),
        verdict: outlook.map_or(0, |o| verdict(o.verdict) as i32),
        rings: levels,
        crossing_id: crossing_id(site),
        ..Default::default()
    }
}

fn outlook_of(c: &Containment, at: LatLon) -> Option<&CrossingOutlook> {
    c.outlook.iter().find(|o| o.crossing == at)
}

/// A containment on the wire, with `plan` if given.
pub(crate) fn containment(
    world: &World,
    state: &DispatchState,
    c: &Containment,
    plan: Option<proto::ContainmentPlan>,
) -> proto::Containment {
    let (escape_time_ms, speed_factor, lockdown_ring) = match &c.mode {
        ContainmentMode::Suspect {
            escape_ms,
            speed_factor,
        } => (*escape_ms, *speed_factor, String::new()),
        ContainmentMode::Lockdown { ring } => (0, 0.0, ring.clone()),
    };
    let state_kind = match (c.is_running(), &c.interception) {
        (false, _) => proto::ContainmentState::Lifted,
        (true, Some(_)) => proto::ContainmentState::Intercepted,
        (true, None) => proto::ContainmentState::Running,
    };
    let orders = c
        .held
        .iter()
        .map(|h| {
            let (kind, id) = match &h.order.responder {
                CrossingResponder::Unit(u) => (proto::ResponderKind::ResponderUnit, u.clone()),
                CrossingResponder::StationTeam(s) => {
                    (proto::ResponderKind::ResponderStationTeam, s.clone())
                }
                CrossingResponder::StaffedPost(p) => {
                    (proto::ResponderKind::ResponderStaffedPost, p.clone())
                }
            };
            proto::CrossingOrder {
                crossing: Some(crossing(
                    world,
                    state,
                    h.order.crossing,
                    outlook_of(c, h.order.crossing),
                )),
                responder_kind: kind as i32,
                responder_id: id,
                ordered_at_ms: h.ordered_ms,
                eta_ms: h.order.eta_ms,
                staffed_at_ms: h.staffed_ms.unwrap_or(0),
                left: c.is_running() && !state.is_current(c.incident, h),
            }
        })
        .collect();
    proto::Containment {
        incident_id: c.incident.to_string(),
        state: state_kind as i32,
        escape_time_ms,
        speed_factor,
        lockdown_ring,
        started_at_ms: c.started_ms,
        started_by: c.started_by.clone(),
        sightings: c
            .sightings
            .iter()
            .map(|s| proto::SuspectSighting {
                location: Some(convert::lat_lng(s.at)),
                time_ms: s.time_ms,
                source: s.source.clone(),
                reported_at_ms: s.reported_ms,
            })
            .collect(),
        orders,
        interception: c.interception.as_ref().map(|i| proto::Interception {
            location: Some(convert::lat_lng(i.at)),
            crossing_id: i
                .crossing
                .and_then(|at| state.crossing_site(at))
                .map(crossing_id)
                .unwrap_or_default(),
            at_ms: i.at_ms,
            actor: i.actor.clone(),
            note: i.note.clone(),
        }),
        lifted_at_ms: c.lifted_ms.unwrap_or(0),
        lift_note: c.lift_note.clone(),
        plan,
    }
}

/// The answer of every containment RPC: incident `id`'s containment as it
/// stands, with the plan of its ordered responders now (and the possible
/// area if asked).
pub(crate) fn reply(
    live: &Live,
    id: IncidentId,
    with_area: bool,
) -> Result<proto::Containment, Status> {
    let state = live.engine.snapshot();
    let world = live.world;
    let c = state
        .containment(id)
        .ok_or_else(|| Status::not_found(format!("incident {id} has no containment")))?;
    let now = now_ms();
    let sighting = c.latest_sighting().map(|s| (s.at, s.time_ms));
    let plan = match state.containment_request(id, &c.mode, sighting, now) {
        Ok(request) => Some(live.queries.with(|query| {
            let plan = state.plan_with(query, &request, c.is_running().then_some(c), false);
            let mut wire = wire_plan(world, &state, &plan, now);
            if let crate::containment::PlanRequest::Suspect {
                suspect, now_ms, ..
            } = request
                && with_area
            {
                let area =
                    possible_area(world.prepared_rings().node_cells(), query, &suspect, now_ms);
                wire.possible_area_cells = area.iter().map(|c| c.to_string()).collect();
            }
            wire
        })),
        Err(e) => {
            log::warn!("containment of incident {id}: no plan: {e}");
            None
        }
    };
    Ok(containment(world, &state, c, plan))
}

/// The event of a containment change.
pub(crate) fn event(state: &DispatchState, change: &ContainmentChange) -> proto::ContainmentEvent {
    let world = state.world();
    let c = state.containment(change.incident);
    let outlook = |at: LatLon| c.and_then(|c| outlook_of(c, at));
    let kind = match change.kind {
        ContainmentChangeKind::Started => proto::ContainmentEventKind::Started,
        ContainmentChangeKind::Sighting => proto::ContainmentEventKind::Sighting,
        ContainmentChangeKind::Staffed => proto::ContainmentEventKind::CrossingStaffed,
        ContainmentChangeKind::Intercepted => proto::ContainmentEventKind::Intercepted,
        ContainmentChangeKind::Lifted => proto::ContainmentEventKind::Lifted,
    };
    proto::ContainmentEvent {
        kind: kind as i32,
        incident_id: change.incident.to_string(),
        newly_needed: change
            .newly_needed
            .iter()
            .map(|&at| crossing(world, state, at, outlook(at)))
            .collect(),
        now_too_late: change
            .now_too_late
            .iter()
            .map(|&at| crossing(world, state, at, outlook(at)))
            .collect(),
        crossing_id: change
            .crossing
            .and_then(|at| state.crossing_site(at))
            .map(crossing_id)
            .unwrap_or_default(),
        containment: c.map(|c| containment(world, state, c, None)),
    }
}
