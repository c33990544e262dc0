//! Everything that changes dispatch state arrives as a command. Commands
//! are journaled before they are acknowledged and replayed on start, so
//! they carry everything needed to apply them again: the time, who gave
//! them, and ids rather than positions in memory.

use serde::{Deserialize, Serialize};

use crate::dispatch::containment_record::{ContainmentMode, CrossingOrder, CrossingOutlook};
use crate::dispatch::unit_state::UnitStatus;
use crate::geo::LatLon;
use crate::incident::{IncidentId, Priority, Stage, Tier};

/// One unit in an assignment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssignUnit {
    /// The unit's id, e.g. `U07`.
    pub unit: String,
    /// The tier it is sent for.
    pub tier: Tier,
    /// Where it should drive: a zone exit to hold, or `None` for the
    /// incident itself.
    pub goal: Option<LatLon>,
}

/// A state change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// A new incident (stage REPORTED).
    ReportIncident {
        /// Where.
        location: LatLon,
        /// How urgent.
        priority: Priority,
        /// Kind of case.
        category: String,
        /// What the caller said.
        description: String,
        /// The caller's reference.
        caller_ref: String,
    },
    /// Moves an incident to the next stage: REGISTERED, HANDLING (also
    /// reached when the first unit arrives), FEEDBACK or CLOSED. ASSIGNED
    /// is reached by [`Command::Assign`].
    Advance {
        /// Which incident.
        incident: IncidentId,
        /// The stage to enter; only the next one is accepted.
        stage: Stage,
        /// Why.
        note: String,
    },
    /// A dispatcher confirms units for an incident (the recommendation or
    /// an override). The first assignment moves a REGISTERED incident to
    /// ASSIGNED; later ones add reinforcements.
    Assign {
        /// Which incident.
        incident: IncidentId,
        /// The units and what each is for.
        units: Vec<AssignUnit>,
        /// Why.
        note: String,
        /// Register the case first if it is still REPORTED (a dispatcher
        /// confirming units for a fresh call): REGISTERED, then ASSIGNED,
        /// in one step. Decided when the command is applied, so that two
        /// consoles confirming the same fresh call are both accepted.
        /// Without it an assignment to a REPORTED case is refused.
        #[serde(default)]
        register: bool,
    },
    /// A unit reports it is on scene.
    Arrived {
        /// The incident.
        incident: IncidentId,
        /// The unit's id.
        unit: String,
    },
    /// A unit's status is set by hand (out of service, back in service).
    SetUnitStatus {
        /// The unit's id.
        unit: String,
        /// Its new status.
        status: UnitStatus,
        /// Why.
        note: String,
    },
    /// The shift begins: the engine started with nothing to replay, every
    /// unit at its standby point. A unit that sends no fix counts as heard
    /// of at this time, and turns stale once the stale limit has passed
    /// since. (Without it, the first command of the state begins the
    /// shift.)
    OpenShift,
    /// Units that have gone longer than the stale limit without a fix (or
    /// have sent none since the shift began) are marked stale, until their
    /// next fix. Listed units that are already stale, or not overdue at the
    /// command's time, are left as they are; if none is left to mark, the
    /// command is refused.
    MarkStale {
        /// The units' ids.
        units: Vec<String>,
    },
    /// A dispatcher accepts move-up advice (动中备勤): the unit stays
    /// dispatchable and its standby point becomes the post, until it is
    /// released or moved again. The drive and the budget are those the
    /// move was checked against when it was given (the drive measured from
    /// the unit's live position, which a replay after a crash may not
    /// have exactly), so a replay decides as the writer did.
    AcceptMoveUp {
        /// The unit's id.
        unit: String,
        /// The post's id (a unit's id for its standby point).
        post: String,
        /// The drive from where the unit was to the post, ms.
        drive_ms: u32,
        /// The budget's drive limit it was checked against, seconds.
        drive_limit_s: u32,
        /// The budget's hold time it was checked against, seconds: the
        /// unit may not be moved again sooner.
        hold_s: u32,
        /// Why.
        note: String,
    },
    /// Releases a unit from the post it was moved to: its standby point is
    /// its own again. The hold time of its last move still counts.
    ReleaseMoveUp {
        /// The unit's id.
        unit: String,
        /// Why.
        note: String,
    },
    /// A unit terminal's position report.
    ReportPosition {
        /// The unit's id.
        unit: String,
        /// Where it is.
        location: LatLon,
        /// Heading in degrees clockwise from north.
        heading: Option<f64>,
    },
    /// A containment (三层查控圈) starts for an incident: the units
    /// ordered become DISPATCHED to their crossings (ENCIRCLE assignments
    /// of the case, which is registered first if it was REPORTED), the
    /// station teams and staffed posts are recorded as ordered.
    StartContainment {
        /// The incident.
        incident: IncidentId,
        /// The suspect, or the ring of a lockdown.
        mode: ContainmentMode,
        /// Who holds which crossing, as the plan gave it.
        orders: Vec<CrossingOrder>,
        /// What the plan said of each crossing in play.
        outlook: Vec<CrossingOutlook>,
        /// Why.
        note: String,
    },
    /// The suspect was seen: the plan counts from here on, and the free
    /// responders the re-plan sent are ordered out.
    ReportSighting {
        /// The incident.
        incident: IncidentId,
        /// Where.
        location: LatLon,
        /// When (ms).
        time_ms: i64,
        /// Who saw them.
        source: String,
        /// The responders newly ordered.
        orders: Vec<CrossingOrder>,
        /// What the re-plan said of each crossing in play.
        outlook: Vec<CrossingOutlook>,
    },
    /// A crossing's responder is there. For a unit this is its arrival
    /// (ON_SCENE at its crossing), as a terminal's ON_SCENE is.
    CrossingStaffed {
        /// The incident.
        incident: IncidentId,
        /// The crossing.
        crossing: LatLon,
    },
    /// The suspect was caught.
    Intercepted {
        /// The incident.
        incident: IncidentId,
        /// Where.
        location: LatLon,
        /// The crossing, if at one.
        crossing: Option<LatLon>,
        /// What happened.
        note: String,
    },
    /// The containment ends: its units still on it are AVAILABLE again,
    /// its teams and posts stood down.
    LiftContainment {
        /// The incident.
        incident: IncidentId,
        /// Why.
        note: String,
    },
    /// A closed case leaves the live state for the journal's archive. The
    /// writer gives this command itself, once the case has been closed
    /// for `JournalPolicy::archive_after`; one submitted from outside is
    /// refused, since only the writer also writes the archive.
    Archive {
        /// Which incident.
        incident: IncidentId,
    },
}

impl Command {
    /// The kind of a position fix, as the journal's audit column names it.
    pub const REPORT_POSITION: &'static str = "report_position";

    /// Whether only the engine itself gives this command (the writer
    /// refuses it from outside).
    pub fn engine_only(&self) -> bool {
        matches!(self, Command::Archive { .. })
    }

    /// A short name of the command's kind, for the journal's audit columns.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::ReportIncident { .. } => "report_incident",
            Command::Advance { .. } => "advance",
            Command::Assign { .. } => "assign",
            Command::Arrived { .. } => "arrived",
            Command::SetUnitStatus { .. } => "set_unit_status",
            Command::ReportPosition { .. } => Self::REPORT_POSITION,
            Command::OpenShift => "open_shift",
            Command::MarkStale { .. } => "mark_stale",
            Command::AcceptMoveUp { .. } => "accept_move_up",
            Command::ReleaseMoveUp { .. } => "release_move_up",
            Command::StartContainment { .. } => "start_containment",
            Command::ReportSighting { .. } => "report_sighting",
            Command::CrossingStaffed { .. } => "crossing_staffed",
            Command::Intercepted { .. } => "intercepted",
            Command::LiftContainment { .. } => "lift_containment",
            Command::Archive { .. } => "archive",
        }
    }

    /// The incident it concerns, if any.
    pub fn incident(&self) -> Option<IncidentId> {
        match self {
            Command::Advance { incident, .. }
            | Command::Assign { incident, .. }
            | Command::Arrived { incident, .. }
            | Command::StartContainment { incident, .. }
            | Command::ReportSighting { incident, .. }
            | Command::CrossingStaffed { incident, .. }
            | Command::Intercepted { incident, .. }
            | Command::LiftContainment { incident, .. }
            | Command::Archive { incident } => Some(*incident),
            _ => None,
        }
    }

    /// Gives a command that names [`IncidentId::REPORTED`] the number of
    /// the incident its group reported.
    pub(crate) fn name_reported(&mut self, id: IncidentId) {
        match self {
            Command::Advance { incident, .. }
            | Command::Assign { incident, .. }
            | Command::Arrived { incident, .. }
                if *incident == IncidentId::REPORTED =>
            {
                *incident = id;
            }
            _ => {}
        }
    }

    /// The unit it concerns, if it concerns one.
    pub fn unit(&self) -> Option<&str> {
        match self {
            Command::Arrived { unit, .. }
            | Command::SetUnitStatus { unit, .. }
            | Command::ReportPosition { unit, .. }
            | Command::AcceptMoveUp { unit, .. }
            | Command::ReleaseMoveUp { unit, .. } => Some(unit),
            _ => None,
        }
    }
}

/// Milliseconds since the Unix epoch now (0 if the clock is before it).
pub(crate) fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A command with when and by whom it was given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamped {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Who gave it: a dispatcher's login, a unit terminal, `system`.
    pub actor: String,
    /// What to do.
    pub command: Command,
}

/// Why a command was refused. Nothing of a refused command is applied.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No incident has this number.
    #[error("no incident {0}")]
    UnknownIncident(IncidentId),
    /// No unit has this id.
    #[error("no unit {0:?}")]
    UnknownUnit(String),
    /// The stage change is not the next step of the closed loop.
    #[error("incident {incident} is {from}; it cannot go to {to}: {reason}")]
    OutOfOrder {
        /// The incident.
        incident: IncidentId,
        /// Its stage.
        from: crate::incident::Stage,
        /// The stage asked for.
        to: crate::incident::Stage,
        /// What is allowed instead.
        reason: &'static str,
    },
    /// The unit is already on another open incident.
    #[error("unit {unit} is already assigned to incident {incident}")]
    UnitBusy {
        /// The unit's id.
        unit: String,
        /// Its incident.
        incident: IncidentId,
    },
    /// The unit cannot be sent in its present status.
    #[error("unit {unit} is {status} and cannot be assigned")]
    UnitUnavailable {
        /// The unit's id.
        unit: String,
        /// Its status.
        status: UnitStatus,
    },
    /// The unit was not sent to this incident.
    #[error("unit {unit} is not assigned to incident {incident}")]
    NotAssigned {
        /// The unit's id.
        unit: String,
        /// The incident.
        incident: IncidentId,
    },
    /// An assignment listed no unit, or one unit twice.
    #[error("assignment to incident {incident}: {reason}")]
    BadAssignment {
        /// The incident.
        incident: IncidentId,
        /// What is wrong.
        reason: String,
    },
    /// A status that only the assignment flow may set.
    #[error("status {0} is set by assignments and arrivals, not by hand")]
    StatusNotSettable(UnitStatus),
    /// A location too far from any road.
    #[error("{what} is {distance_m:.0} m from the nearest road (at most {limit_m:.0} m)")]
    OffNetwork {
        /// What was located.
        what: &'static str,
        /// How far it is.
        distance_m: f64,
        /// The limit.
        limit_m: f64,
    },
    /// A heading outside [0, 360) or not a number.
    #[error("heading {0} is not in [0, 360)")]
    BadHeading(f64),
    /// The case was closed and has left the live state for the archive;
    /// nothing can change it any more.
    #[error("incident {0} is closed and archived; a closed case cannot change")]
    Archived(IncidentId),
    /// Only closed cases leave the live state.
    #[error("incident {0} is still open; only a closed case is archived")]
    StillOpen(IncidentId),
    /// A command only the engine itself gives.
    #[error("{0} commands are given by the dispatch engine itself, not submitted")]
    EngineOnly(&'static str),
    /// A client request id given before to a different request.
    #[error(
        "request id {id:?} was used at {at_ms} ms for a different request; give each action an id of its own"
    )]
    RequestIdReused {
        /// The id.
        id: String,
        /// When the request that has it was applied.
        at_ms: i64,
    },
    /// A move-up that cannot be accepted or released.
    #[error(transparent)]
    MoveUp(#[from] MoveUpRefusal),
    /// The incident has a containment running already.
    #[error("incident {incident} has a containment running since {since_ms} ms; lift it first")]
    ContainmentRunning {
        /// The incident.
        incident: IncidentId,
        /// When it started.
        since_ms: i64,
    },
    /// The incident has no containment running.
    #[error("incident {0} has no containment running")]
    NoContainment(IncidentId),
    /// A containment command that is wrong in itself: an unknown
    /// crossing, station or checkpoint, a time out of order, a speed
    /// factor out of range.
    #[error("containment of incident {incident}: {reason}")]
    BadContainment {
        /// The incident.
        incident: IncidentId,
        /// What is wrong.
        reason: String,
    },
    /// A containment command the containment's state does not allow now:
    /// a station with no team left, a crossing held already, a sighting
    /// after the interception.
    #[error("containment of incident {incident}: {reason}")]
    ContainmentRefused {
        /// The incident.
        incident: IncidentId,
        /// Why.
        reason: String,
    },
    /// A position fix older than one the unit has already reported: it
    /// would move the unit back to where it was.
    #[error(
        "the fix of unit {unit} is timed {at_ms}, older than its last report at {last_ms}; \
         an older fix never replaces a newer one"
    )]
    OlderFix {
        /// The unit's id.
        unit: String,
        /// The fix's time.
        at_ms: i64,
        /// The time of the unit's last report.
        last_ms: i64,
    },
    /// The shift was opened already.
    #[error("the shift is open already, since {0} ms")]
    ShiftOpen(i64),
    /// None of the units a `MarkStale` lists can be marked: each is stale
    /// already or was heard of within the stale limit.
    #[error(
        "no unit listed is overdue at {at_ms} ms: each is stale already or reported within {limit_s} s"
    )]
    NothingStale {
        /// The command's time.
        at_ms: i64,
        /// The stale limit, seconds.
        limit_s: i64,
    },
    /// A `MarkStale` listing one unit twice.
    #[error("unit {0} is listed twice")]
    ListedTwice(String),
}

/// Which part of a move-up a refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveUpField {
    /// The unit.
    Unit,
    /// The post.
    Post,
}

/// Why a move-up was refused. Nothing changes.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MoveUpRefusal {
    /// No unit has this id.
    #[error("no unit {0:?}")]
    UnknownUnit(String),
    /// No post has this id.
    #[error(
        "no post {0:?} (posts are the units' ids for their standby points and the posts file's ids)"
    )]
    UnknownPost(String),
    /// The unit is not free: on a case, or out of service.
    #[error(
        "unit {unit} is {status} and not free to move up; only AVAILABLE or RETURNING units off a case are moved"
    )]
    NotFree {
        /// The unit's id.
        unit: String,
        /// Its status.
        status: UnitStatus,
    },
    /// The unit was moved within the hold time.
    #[error(
        "unit {unit} was moved at {moved_ms} ms and is held there until {until_ms} ms (hold {hold_s} s)"
    )]
    Held {
        /// The unit's id.
        unit: String,
        /// When its last move was accepted.
        moved_ms: i64,
        /// When it may move again.
        until_ms: i64,
        /// The hold time.
        hold_s: u32,
    },
    /// The drive to the post is longer than the budget allows.
    #[error(
        "the drive of unit {unit} to post {post} is {drive_s:.0} s, over the drive limit of {limit_s} s"
    )]
    TooFar {
        /// The unit's id.
        unit: String,
        /// The post's id.
        post: String,
        /// The drive, seconds; infinite when no road leads there.
        drive_s: f64,
        /// The limit.
        limit_s: u32,
    },
    /// Another free unit stands by at the post.
    #[error("post {post} is taken: free unit {by} stands by there")]
    PostTaken {
        /// The post's id.
        post: String,
        /// The unit standing by there.
        by: String,
    },
    /// The unit already stands by at the post.
    #[error("unit {unit} already stands by at post {post}")]
    AlreadyThere {
        /// The unit's id.
        unit: String,
        /// The post's id.
        post: String,
    },
    /// A release of a unit that was not moved.
    #[error("unit {0} stands by at its own standby point; there is no move to release")]
    NotMoved(String),
}

impl MoveUpRefusal {
    /// The part of the request it is about.
    pub fn field(&self) -> MoveUpField {
        match self {
            MoveUpRefusal::UnknownPost(_)
            | MoveUpRefusal::TooFar { .. }
            | MoveUpRefusal::PostTaken { .. }
            | MoveUpRefusal::AlreadyThere { .. } => MoveUpField::Post,
            MoveUpRefusal::UnknownUnit(_)
            | MoveUpRefusal::NotFree { .. }
            | MoveUpRefusal::Held { .. }
            | MoveUpRefusal::NotMoved(_) => MoveUpField::Unit,
        }
    }
}
