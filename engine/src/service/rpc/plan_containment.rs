//! `PlanContainment`: the what-if containment plan (三层查控圈) for a
//! suspect fleeing from an incident, or a lockdown (一键封控) of one ring,
//! over the dispatchable units and every station's teams as they stand.
//! Changes nothing.

use tonic::{Request, Response, Status};

use crate::containment::{
    ContainmentRing, Holder, Plan, PlanRequest, PlannedCrossing, Sighting, Suspect, Verdict,
    possible_area, ring1_for,
};
use crate::dispatch::World;
use crate::geo::LatLon;
use crate::road::snap::{SnapError, Snapped};
use crate::service::dispatch::{DispatchService, now_ms};
use crate::service::{convert, proto};

pub use crate::dispatch::{CLOCK_SLACK_MS, MAX_SPEED_FACTOR};

/// Answers one call.
pub(crate) async fn handle(
    service: &DispatchService,
    request: Request<proto::PlanContainmentRequest>,
) -> Result<Response<proto::ContainmentPlan>, Status> {
    let caller = service.caller(&request)?;
    caller.may_read("plan a containment")?;
    let live = service.live()?;
    let r = request.into_inner();
    let now = now_ms();
    let world = live.world;
    let request = checked_request(world, &r, now)?;
    let state = live.engine.snapshot();
    let prepared = world.prepared_rings();
    let (plan, area) = live.queries.with(|query| {
        let plan = state.plan_with(query, &request, None, true);
        let area = match request {
            PlanRequest::Suspect {
                suspect, now_ms, ..
            } if r.with_possible_area => {
                possible_area(prepared.node_cells(), query, &suspect, now_ms)
            }
            _ => Vec::new(),
        };
        (plan, area)
    });
    let mut wire = wire_plan(world, &state, &plan, now);
    wire.possible_area_cells = area.iter().map(|c| c.to_string()).collect();
    Ok(Response::new(wire))
}

/// The request, checked completely: every field that is wrong is named.
fn checked_request(
    world: &World,
    r: &proto::PlanContainmentRequest,
    now: i64,
) -> Result<PlanRequest, Status> {
    let now_ms = u64::try_from(now).unwrap_or(0);
    if !r.lockdown_ring.is_empty() {
        let ring = lockdown_ring(world, &r.lockdown_ring)?;
        return Ok(PlanRequest::Lockdown { ring, now_ms });
    }
    let at = convert::location(r.location.as_ref(), "location")?;
    let from = snapped(world, at, "location")?;
    let ring1 = ring1_for(world.scenario().rings(), at).ok_or_else(|| {
        Status::invalid_argument(format!(
            "location ({}, {}) is outside every ring-1 area (the urban core and the county-level areas)",
            at.lat(),
            at.lon()
        ))
    })?;
    let escape = escape_time(r.escape_time_ms, now, now)?;
    let speed_factor = speed_factor(r.speed_factor)?;
    let sighting = match &r.sighting {
        None => None,
        Some(s) => {
            let (seen_at, time_ms) = sighting(s, escape, now)?;
            Some(Sighting {
                at: snapped(world, seen_at, "sighting.location")?,
                time_ms: u64::try_from(time_ms).unwrap_or(0),
            })
        }
    };
    Ok(PlanRequest::Suspect {
        ring1,
        suspect: Suspect {
            from,
            escape_ms: u64::try_from(escape).unwrap_or(0),
            speed_factor,
            sighting,
        },
        now_ms,
    })
}

/// The ring of a lockdown, by its id.
pub(crate) fn lockdown_ring(world: &World, id: &str) -> Result<ContainmentRing, Status> {
    let outlines = world.ring_crossings().outlines();
    outlines
        .iter()
        .find(|o| o.id == id)
        .map(|o| o.ring)
        .ok_or_else(|| {
            let known: Vec<&str> = outlines.iter().map(|o| o.id.as_str()).collect();
            Status::invalid_argument(format!(
                "lockdown_ring is {id:?}: no such ring; expected one of {}",
                known.join(", ")
            ))
        })
}

/// An escape time: 0 means `default`; not negative, not in the future.
pub(crate) fn escape_time(wire: i64, default: i64, now: i64) -> Result<i64, Status> {
    match wire {
        0 => Ok(default.min(now)),
        t if t < 0 => Err(Status::invalid_argument(format!(
            "escape_time_ms is {t}: a time in ms since the Unix epoch is not negative"
        ))),
        t if t > now + CLOCK_SLACK_MS => Err(Status::invalid_argument(format!(
            "escape_time_ms is {t}, {} ms in the future: the suspect has not left yet",
            t - now
        ))),
        t => Ok(t.min(now)),
    }
}

/// A speed factor: 0 means 1.0; otherwise in (0, 3].
pub(crate) fn speed_factor(wire: f64) -> Result<f64, Status> {
    match wire {
        0.0 => Ok(1.0),
        f if f.is_finite() && f > 0.0 && f <= MAX_SPEED_FACTOR => Ok(f),
        f => Err(Status::invalid_argument(format!(
            "speed_factor is {f}; expected more than 0 and at most {MAX_SPEED_FACTOR} (0 means 1.0)"
        ))),
    }
}

/// A sighting's place and time: at or after the escape, not in the
/// future.
pub(crate) fn sighting(
    s: &proto::Sighting,
    escape: i64,
    now: i64,
) -> Result<(LatLon, i64), Status> {
    let seen_at = convert::location(s.location.as_ref(), "sighting.location")?;
    if s.time_ms < escape {
        return Err(Status::invalid_argument(format!(
            "sighting.time_ms is {}, {} ms before the escape at {escape}",
            s.time_ms,
            escape - s.time_ms
        )));
    }
    if s.time_ms > now + CLOCK_SLACK_MS {
        return Err(Status::invalid_argument(format!(
            "sighting.time_ms is {}, {} ms in the future",
            s.time_ms,
            s.time_ms - now
        )));
    }
    Ok((seen_at, s.time_ms.min(now)))
}

pub(crate) fn snapped(world: &World, at: LatLon, field: &str) -> Result<Snapped, Status> {
    let scenario = world.scenario();
    scenario
        .router()
        .graph()
        .snap(at, &scenario.incident_snap())
        .map_err(
            |SnapError::OffNetwork {
                 distance_m,
                 limit_m,
             }| {
                Status::invalid_argument(format!(
                    "{field} ({}, {}) is {distance_m:.0} m from the nearest road; at most {limit_m:.0} m is accepted",
                    at.lat(),
                    at.lon()
                ))
            },
        )
}

/// A plan in its wire form, each crossing named and each holder by id.
pub(crate) fn wire_plan(
    world: &World,
    state: &crate::dispatch::DispatchState,
    plan: &Plan,
    now: i64,
) -> proto::ContainmentPlan {
    let crossings = world.ring_crossings();
    let rings = world.scenario().rings();
    let outline = |ring: ContainmentRing| crossings.outline(ring);
    let levels_of = |site: usize| -> Vec<u32> {
        let mut levels: Vec<u32> = plan
            .rings
            .iter()
            .filter(|r| r.crossings.iter().any(|c| c.site == site))
            .map(|r| u32::from(r.ring.level().number()))
            .collect();
        levels.dedup();
        levels
    };
    let crossing = |c: &PlannedCrossing| {
        let site = &crossings.sites()[c.site];
        let (holder_kind, holder_id, holder_arrival_ms) = match c.holder {
            None => (proto::ResponderKind::Unspecified, String::new(), 0),
            Some((holder, at)) => {
                let (kind, id) = match holder {
                    Holder::Unit(slot) => (
                        proto::ResponderKind::ResponderUnit,
                        state.unit_id(slot).to_owned(),
                    ),
                    Holder::StationTeam(i) => (
                        proto::ResponderKind::ResponderStationTeam,
                        world
                            .scenario()
                            .stations()
                            .iter()
                            .nth(i)
                            .map(|s| s.id.to_string())
                            .unwrap_or_default(),
                    ),
                    Holder::StaffedPost(k) => (
                        proto::ResponderKind::ResponderStaffedPost,
                        rings
                            .checkpoints()
                            .get(k)
                            .map(|c| c.id.to_string())
                            .unwrap_or_default(),
                    ),
                };
                (kind, id, i64::try_from(at).unwrap_or(i64::MAX))
            }
        };
        proto::ContainmentCrossing {
            location: Some(convert::lat_lng(site.at)),
            label: site.label(rings),
            road: site.road.clone(),
            road_ref: site.road_ref.clone(),
            road_class: site.class.as_str().to_owned(),
            checkpoint_id: site
                .checkpoint
                .and_then(|k| rings.checkpoints().get(k))
                .map(|c| c.id.to_string())
                .unwrap_or_default(),
            suspect_earliest_ms: c
                .suspect_ms
                .map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)),
            holder_kind: holder_kind as i32,
            holder_id,
            holder_arrival_ms,
            margin_ms: c.margin_ms().unwrap_or(0),
            verdict: verdict(c.verdict) as i32,
            rings: levels_of(c.site),
            crossing_id: crossing_id(c.site),
        }
    };
    proto::ContainmentPlan {
        rings: plan
            .rings
            .iter()
            .map(|r| {
                let o = outline(r.ring);
                proto::ContainmentRingPlan {
                    ring: u32::from(r.ring.level().number()),
                    id: o.map(|o| o.id.clone()).unwrap_or_default(),
                    name: o.map(|o| o.name.clone()).unwrap_or_default(),
                    closed: r.closed,
                    crossings: r.crossings.iter().map(crossing).collect(),
                }
            })
            .collect(),
        innermost_closed_ring_id: plan
            .innermost_closed
            .and_then(outline)
            .map(|o| o.id.clone())
            .unwrap_or_default(),
        latest_arrival_ms: plan
            .latest_arrival_ms
            .map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)),
        for_neighbours: plan
            .for_neighbours
            .iter()
            .filter_map(|&s| plan.sites().find(|c| c.site == s))
            .map(crossing)
            .collect(),
        summary: summary(world, plan, now),
        possible_area_cells: Vec::new(),
        planned_at_ms: now,
        reserve_cost: plan.reserve_cost.map(|cost| proto::ContainmentReserveCost {
            units_allowed: u32::try_from(cost.units_allowed).unwrap_or(u32::MAX),
            units_without: u32::try_from(cost.units_without).unwrap_or(u32::MAX),
            innermost_closed_ring_id_without: cost
                .innermost_closed_without
                .and_then(outline)
                .map(|o| o.id.clone())
                .unwrap_or_default(),
            held_without: u32::try_from(cost.held_without).unwrap_or(u32::MAX),
            latest_arrival_without_ms: cost
                .latest_arrival_without_ms
                .map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)),
        }),
    }
}

/// A crossing's id on the wire: its site's index, "X17".
pub(crate) fn crossing_id(site: usize) -> String {
    format!("X{site}")
}

pub(crate) fn verdict(v: Verdict) -> proto::CrossingVerdict {
    match v {
        Verdict::ClosedInTime => proto::CrossingVerdict::ClosedInTime,
        Verdict::TooLate => proto::CrossingVerdict::TooLate,
        Verdict::AlreadyPassed => proto::CrossingVerdict::AlreadyPassed,
        Verdict::Unheld => proto::CrossingVerdict::Unheld,
        Verdict::OutOfReach => proto::CrossingVerdict::OutOfReach,
    }
}

/// "in 4 min 10 s" or "5 min 2 s ago", from `now` (ms).
fn relative(at_ms: u64, now: i64) -> String {
    let d = i64::try_from(at_ms).unwrap_or(i64::MAX).saturating_sub(now) / 1000;
    let text = |s: i64| format!("{} min {} s", s / 60, s % 60);
    if d >= 0 {
        format!("in {}", text(d))
    } else {
        format!("{} ago", text(-d))
    }
}

/// The plan in one sentence, and what the reserve of units cost it.
fn summary(world: &World, plan: &Plan, now: i64) -> String {
    let crossings = world.ring_crossings();
    let name = |ring: ContainmentRing| {
        crossings
            .outline(ring)
            .map(|o| format!("ring {} ({})", ring.level().number(), o.name))
            .unwrap_or_default()
    };
    let Some(cost) = plan.reserve_cost else {
        return ring_summary(world, plan, now);
    };
    let without = match cost.innermost_closed_without {
        Some(ring) if plan.innermost_closed != Some(ring) => {
            format!("{} could be closed", name(ring))
        }
        _ => {
            let held = plan.sites().filter(|c| c.holder.is_some()).count();
            if cost.held_without > held {
                format!("{} crossings could be held in time", cost.held_without)
            } else {
                let sooner = cost
                    .latest_arrival_without_ms
                    .zip(plan.latest_arrival_ms)
                    .map_or(0, |(w, p)| p.saturating_sub(w) / 1000);
                format!("the last responder could be there {sooner} s sooner")
            }
        }
    };
    format!(
        "{}; {} units ordered out, to keep the city's reserve for 110 calls: with {} units {without}",
        ring_summary(world, plan, now),
        cost.units_allowed,
        cost.units_without
    )
}

/// The rings' part of the summary.
fn ring_summary(world: &World, plan: &Plan, now: i64) -> String {
    let crossings = world.ring_crossings();
    let rings = world.scenario().rings();
    let name = |ring: ContainmentRing| {
        crossings
            .outline(ring)
            .map(|o| format!("ring {} ({})", ring.level().number(), o.name))
            .unwrap_or_default()
    };
    let held = plan.sites().filter(|c| c.holder.is_some()).count();
    let all = plan.sites().count();
    let last = plan
        .latest_arrival_ms
        .map(|t| format!(", the last responder there {}", relative(t, now)))
        .unwrap_or_default();
    match plan.innermost_closed {
        Some(ring) => format!(
            "{} can be closed: {held} of {all} crossings held in time{last}",
            name(ring)
        ),
        None if plan.for_neighbours.is_empty() => {
            format!("no ring can be closed: {held} of {all} crossings held in time{last}")
        }
        None => {
            let asks: Vec<String> = plan
                .for_neighbours
                .iter()
                .filter_map(|&s| plan.sites().find(|c| c.site == s))
                .map(|c| {
                    let label = crossings.sites()[c.site].label(rings);
                    match c.suspect_ms {
                        Some(t) => format!("{label}: suspect possibly there {}", relative(t, now)),
                        None => label,
                    }
                })
                .collect();
            format!(
                "no ring can be closed in time ({held} of {all} crossings held); for the neighbouring cities: {}",
                asks.join("; ")
            )
        }
    }
}
