//! A unit's live state: where it is, what it is doing, for which incident.

use serde::{Deserialize, Serialize};

use crate::geo::LatLon;
use crate::incident::IncidentId;
use crate::road::snap::Snapped;

/// What a unit is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnitStatus {
    /// On patrol or on standby: can be sent.
    Available,
    /// Assigned and driving to its goal.
    Dispatched,
    /// Arrived at its incident.
    OnScene,
    /// Its incident is closed; driving back. Can be sent.
    Returning,
    /// Off duty, refuelling, broken down: never sent.
    OutOfService,
}

impl UnitStatus {
    /// Whether a dispatcher may be offered this unit.
    pub fn is_dispatchable(self) -> bool {
        matches!(self, UnitStatus::Available | UnitStatus::Returning)
    }

    /// Upper-case name, as consoles show it.
    pub fn name(self) -> &'static str {
        match self {
            UnitStatus::Available => "AVAILABLE",
            UnitStatus::Dispatched => "DISPATCHED",
            UnitStatus::OnScene => "ON_SCENE",
            UnitStatus::Returning => "RETURNING",
            UnitStatus::OutOfService => "OUT_OF_SERVICE",
        }
    }
}

impl std::fmt::Display for UnitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One unit, as the engine knows it now.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitState {
    /// Its last reported position.
    pub location: LatLon,
    /// That position on the road network.
    pub snapped: Snapped,
    /// Heading in degrees clockwise from north, if the terminal sends it.
    pub heading: Option<f64>,
    /// When the position was reported (ms since the epoch); `None` for the
    /// standby point the unit starts at.
    pub reported_ms: Option<i64>,
    /// What it is doing.
    pub status: UnitStatus,
    /// The open incident it is assigned to.
    pub incident: Option<IncidentId>,
    /// Marked stale by a [`Command::MarkStale`](crate::Command::MarkStale):
    /// it went longer than the stale limit without a fix (or has sent none
    /// since the shift began). Until its next fix it counts as no coverage,
    /// is never auto-assigned, and ranks after fresh units.
    pub stale: bool,
    /// The post it was moved to by an accepted move-up (a position in
    /// [`crate::Scenario::posts`]): its standby point until released or
    /// moved again. `None`: its own standby point.
    pub post: Option<usize>,
    /// When its last move-up was accepted: the hold time counts from it.
    pub moved_ms: Option<i64>,
    /// The hold time of that move, seconds, as it was accepted.
    pub hold_s: u32,
    /// Move-up advice counts it at its post rather than where it last
    /// reported: from an accepted move until it is next sent or taken out
    /// of service, it is driving there or patrolling around it.
    pub counts_at_post: bool,
}

impl UnitState {
    /// Until when its last move-up holds it at its post (ms), if it was
    /// moved.
    pub fn held_until_ms(&self) -> Option<i64> {
        self.moved_ms
            .map(|at| at.saturating_add(i64::from(self.hold_s) * 1000))
    }

    /// Whether it is off every case and may be sent.
    pub fn is_free(&self) -> bool {
        self.incident.is_none() && self.status.is_dispatchable()
    }

    /// When the engine last heard where the unit is: its last fix, or the
    /// start of the shift for a unit that has sent none (it was placed at
    /// its standby point then).
    pub fn heard_ms(&self, shift_start_ms: Option<i64>) -> Option<i64> {
        self.reported_ms.or(shift_start_ms)
    }

    /// Whether it is stale at `now_ms`: marked so, or more than
    /// `stale_after_ms` since it was last heard of. A unit that has never
    /// reported counts from the start of the shift.
    pub fn is_stale(&self, now_ms: i64, stale_after_ms: i64, shift_start_ms: Option<i64>) -> bool {
        self.stale || self.is_overdue(now_ms, stale_after_ms, shift_start_ms)
    }

    /// Whether more than `stale_after_ms` have passed since it was last
    /// heard of, at `now_ms`.
    pub fn is_overdue(
        &self,
        now_ms: i64,
        stale_after_ms: i64,
        shift_start_ms: Option<i64>,
    ) -> bool {
        self.heard_ms(shift_start_ms)
            .is_some_and(|at| now_ms.saturating_sub(at) > stale_after_ms)
    }

    /// Whether it counts in the live coverage map: dispatchable, and not
    /// marked stale.
    pub fn counts_as_coverage(&self) -> bool {
        self.status.is_dispatchable() && !self.stale
    }
}
