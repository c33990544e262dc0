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
}

impl UnitState {
    /// Whether its position is older than `stale_after_ms` at `now_ms`. A
    /// unit that has never reported counts from the start of the shift,
    /// i.e. is not stale: it is at its standby point.
    pub fn is_stale(&self, now_ms: i64, stale_after_ms: i64) -> bool {
        self.reported_ms
            .is_some_and(|at| now_ms.saturating_sub(at) > stale_after_ms)
    }
}
