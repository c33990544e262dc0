//! A running containment (三层查控圈) as the dispatch state keeps it: the
//! incident it belongs to, the suspect (or the ring of a lockdown), the
//! sightings, who was ordered to which crossing and whether they are
//! there, the interception and the lift. Commands carry the orders the
//! plan gave when they were given, so a replay rebuilds exactly this
//! whatever the units' positions were then; the plan itself is made again
//! whenever it is read.
//!
//! Crossings are named by their place on the outline (a site's `at`):
//! the journal holds places rather than positions in a list, as it holds
//! unit ids rather than slots.

use serde::{Deserialize, Serialize};

use crate::containment::Verdict;
use crate::geo::LatLon;
use crate::incident::IncidentId;

/// Who holds a crossing, by id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CrossingResponder {
    /// A rapid-response unit (`U07`).
    Unit(String),
    /// One team of a station (`S03`).
    StationTeam(String),
    /// A staffed checkpoint at its own crossing (`CP41`).
    StaffedPost(String),
}

impl CrossingResponder {
    /// The unit's id, for a unit.
    pub fn unit(&self) -> Option<&str> {
        match self {
            CrossingResponder::Unit(id) => Some(id),
            _ => None,
        }
    }
}

/// One responder ordered to one crossing, as a plan gave it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossingOrder {
    /// The crossing (a site's place on the outline).
    pub crossing: LatLon,
    /// Who holds it.
    pub responder: CrossingResponder,
    /// When the plan had them there (ms).
    pub eta_ms: i64,
}

/// What a plan said of one crossing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossingOutlook {
    /// The crossing.
    pub crossing: LatLon,
    /// The suspect's earliest arrival there (ms); `None` in a lockdown or
    /// where no road leads.
    pub suspect_ms: Option<i64>,
    /// Its verdict.
    pub verdict: Verdict,
}

/// What a containment closes around.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ContainmentMode {
    /// A suspect fleeing by car from the incident.
    Suspect {
        /// When they left (ms).
        escape_ms: i64,
        /// Their speed as a multiple of the car profile's, in (0, 3].
        speed_factor: f64,
    },
    /// A lockdown (一键封控) of one ring, by its id in `rings.geojson`.
    Lockdown {
        /// `R1`, a county code, `R2` or `R3`.
        ring: String,
    },
}

/// A place and time the suspect was seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuspectSighting {
    /// Where.
    pub at: LatLon,
    /// When (ms).
    pub time_ms: i64,
    /// Who saw them: a camera, a unit (free text).
    pub source: String,
    /// When it was reported (ms).
    pub reported_ms: i64,
}

/// A crossing ordered held, and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldCrossing {
    /// The order.
    pub order: CrossingOrder,
    /// When it was given (ms).
    pub ordered_ms: i64,
    /// When its responder reported it held (ms).
    pub staffed_ms: Option<i64>,
}

/// The suspect caught.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interception {
    /// Where.
    pub at: LatLon,
    /// The crossing, if it was at one.
    pub crossing: Option<LatLon>,
    /// When (ms).
    pub at_ms: i64,
    /// Who recorded it.
    pub actor: String,
    /// What happened.
    pub note: String,
}

/// One incident's containment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Containment {
    /// The incident.
    pub incident: IncidentId,
    /// Around whom or what.
    pub mode: ContainmentMode,
    /// When it started (ms), and who started it.
    pub started_ms: i64,
    /// See `started_ms`.
    pub started_by: String,
    /// Every sighting, in the order reported.
    pub sightings: Vec<SuspectSighting>,
    /// Every order, in the order given.
    pub held: Vec<HeldCrossing>,
    /// What the latest plan (at the start or the latest sighting) said of
    /// each crossing in play.
    pub outlook: Vec<CrossingOutlook>,
    /// The suspect caught, if they were.
    pub interception: Option<Interception>,
    /// When it was lifted (ms): by a lift, or when its case was closed.
    pub lifted_ms: Option<i64>,
    /// Why it was lifted.
    #[serde(default)]
    pub lift_note: String,
}

impl Containment {
    /// Whether it is still running.
    pub fn is_running(&self) -> bool {
        self.lifted_ms.is_none()
    }

    /// The sighting the plan counts from: the latest by its time.
    pub fn latest_sighting(&self) -> Option<&SuspectSighting> {
        self.sightings.iter().max_by_key(|s| s.time_ms)
    }

    /// The order for a crossing, the latest if there were several.
    pub fn order_at(&self, crossing: LatLon) -> Option<&HeldCrossing> {
        self.held
            .iter()
            .rev()
            .find(|h| h.order.crossing == crossing)
    }

    /// The order a unit holds, if any.
    pub fn order_of_unit(&self, unit: &str) -> Option<&HeldCrossing> {
        self.held
            .iter()
            .rev()
            .find(|h| h.order.responder.unit() == Some(unit))
    }
}

/// What a containment command changed, for the event feed.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainmentChange {
    /// The incident.
    pub incident: IncidentId,
    /// What happened.
    pub kind: ContainmentChangeKind,
    /// Crossings newly ordered held.
    pub newly_needed: Vec<LatLon>,
    /// Crossings the suspect may now pass before anyone gets there that
    /// the plan before did not say so of.
    pub now_too_late: Vec<LatLon>,
    /// The crossing concerned (staffed, or where the suspect was caught).
    pub crossing: Option<LatLon>,
}

/// The kind of a containment change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainmentChangeKind {
    /// Started.
    Started,
    /// A sighting re-planned it.
    Sighting,
    /// A responder is at its crossing.
    Staffed,
    /// The suspect was caught.
    Intercepted,
    /// Lifted (also when its case was closed).
    Lifted,
}
