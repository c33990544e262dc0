//! One incident's record: where and what, its stage history, and the units
//! sent with their response times.

use serde::{Deserialize, Serialize};

use crate::geo::LatLon;
use crate::incident::stage::{Priority, Stage, Tier};

/// An incident's number, given in the order incidents are reported (so a
/// replayed journal gives every incident the same number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IncidentId(pub u64);

impl IncidentId {
    /// No incident has number 0 (they count from 1). In a group of
    /// commands submitted together, it names the incident the group
    /// reports (see `EngineHandle::submit_all_then`).
    pub const REPORTED: IncidentId = IncidentId(0);
}

impl std::fmt::Display for IncidentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A change of stage: when, by whom, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// The stage entered.
    pub stage: Stage,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Who made it (a dispatcher's login, a unit's terminal, `system`).
    pub actor: String,
    /// Free text.
    pub note: String,
}

/// A unit sent to an incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// Index of the unit in the scenario's unit list.
    pub unit: usize,
    /// The tier it was sent for.
    pub tier: Tier,
    /// The tier's target, seconds.
    pub target_s: u32,
    /// When it was assigned (ms since the epoch).
    pub assigned_ms: i64,
    /// When it reported arrival, if it has.
    pub arrived_ms: Option<i64>,
    /// Where it was sent: the incident, or a zone exit to hold.
    pub goal: LatLon,
    /// When it left the case before the case closed (its status set to
    /// AVAILABLE, RETURNING or OUT_OF_SERVICE: a breakdown, a unit freed
    /// by hand), if it did. A unit that left is no longer on the case.
    #[serde(default)]
    pub left_ms: Option<i64>,
}

impl Assignment {
    /// Whether the unit is still on the case: it has not left it. (Closing
    /// the case frees its units without marking them as having left.)
    pub fn is_on_case(&self) -> bool {
        self.left_ms.is_none()
    }

    /// Seconds from assignment to arrival, once arrived.
    pub fn response_s(&self) -> Option<f64> {
        self.arrived_ms
            .map(|a| (a - self.assigned_ms).max(0) as f64 / 1000.0)
    }

    /// Whether the unit arrived within its tier's target (None until it
    /// arrives).
    pub fn met_target(&self) -> Option<bool> {
        self.response_s().map(|s| s <= f64::from(self.target_s))
    }
}

/// An incident and everything that happened to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Its number.
    pub id: IncidentId,
    /// Where it is.
    pub location: LatLon,
    /// Its priority.
    pub priority: Priority,
    /// The patrol zone it lies in, if any (index into the scenario's zones).
    pub zone: Option<usize>,
    /// Kind of case, e.g. `robbery`.
    pub category: String,
    /// What the caller said.
    pub description: String,
    /// The caller's reference (a call number), if given.
    pub caller_ref: String,
    /// Every stage entered, in order; the last is the current stage.
    pub history: Vec<Transition>,
    /// Every unit sent, in the order they were assigned.
    pub assignments: Vec<Assignment>,
}

impl Incident {
    /// The current stage.
    pub fn stage(&self) -> Stage {
        self.history.last().map_or(Stage::Reported, |t| t.stage)
    }

    /// Whether the case is still open.
    pub fn is_open(&self) -> bool {
        self.stage() != Stage::Closed
    }

    /// Whether the case needs a unit: it is open, not yet at FEEDBACK, and
    /// no unit is on it, because none has been sent yet or because every
    /// unit sent has left it.
    pub fn needs_unit(&self) -> bool {
        self.stage() < Stage::Feedback && !self.assignments.iter().any(Assignment::is_on_case)
    }

    /// When it was reported (ms since the epoch).
    pub fn reported_ms(&self) -> i64 {
        self.history.first().map_or(0, |t| t.at_ms)
    }

    /// When it was closed, once it is.
    pub fn closed_ms(&self) -> Option<i64> {
        self.history
            .last()
            .filter(|t| t.stage == Stage::Closed)
            .map(|t| t.at_ms)
    }
}
