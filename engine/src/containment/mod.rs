//! Three-ring containment (三层查控圈): closing the rings around a fleeing
//! suspect. The rings' crossings are static and found once, when a
//! scenario is loaded, with their cached search spaces
//! ([`PreparedRings`]). The plan ([`plan()`]) is a pure function of the
//! request and the responders' positions: the suspect's earliest arrival
//! at each crossing, each responder's, and the doctrinal assignment
//! ([`assign_responders`]), solved exactly. The suspect's possible area
//! ([`possible_area`]) is the H3 cells they could have reached by now.
//!
//! This module sits below dispatch: it reads the road network and the
//! scenario, and dispatch may use it, never the other way round.

mod area;
mod assign;
mod crossings;
mod plan;
mod prepared;
mod way_out;

pub use area::{NodeCells, possible_area, possible_area_reference};
pub use assign::{
    CrossingNeed, ResponderKind, ResponderSlot, RingAssignment, UNREACHABLE_MS, assign_responders,
    assign_responders_within,
};
pub use crossings::{CheckpointsConfig, ContainmentRing, CrossingSite, RingCrossings, RingOutline};
pub use plan::{
    FastTimes, FixedHolder, Holder, Origin, Plan, PlanConfig, PlanRequest, PlannedCrossing,
    PlannedRing, ReferenceTimes, ReserveCost, Responders, Sighting, SiteTimes, StationResponder,
    Suspect, UnitResponder, Verdict, is_staffed, plan, ring1_for,
};
pub use prepared::{AREA_RESOLUTION, PreparedRings, STATION_SNAP_M};
