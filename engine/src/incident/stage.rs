//! The stages of an incident, its priority, and the response tiers.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The six steps every case runs, in order. A case only moves forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// The call is in: a location and a priority.
    Reported,
    /// A case record exists.
    Registered,
    /// A dispatcher confirmed the units to send.
    Assigned,
    /// The first unit is on scene.
    Handling,
    /// The result has been reported back.
    Feedback,
    /// Archived; its units are free again.
    Closed,
}

impl Stage {
    /// Every stage in order.
    pub const ALL: [Stage; 6] = [
        Stage::Reported,
        Stage::Registered,
        Stage::Assigned,
        Stage::Handling,
        Stage::Feedback,
        Stage::Closed,
    ];

    /// The stage after this one, if any.
    pub fn next(self) -> Option<Stage> {
        Stage::ALL.get(self as usize + 1).copied()
    }

    /// Upper-case name, as the journal and consoles show it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Reported => "REPORTED",
            Stage::Registered => "REGISTERED",
            Stage::Assigned => "ASSIGNED",
            Stage::Handling => "HANDLING",
            Stage::Feedback => "FEEDBACK",
            Stage::Closed => "CLOSED",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How urgent an incident is; it decides which tiers are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    /// Violent, in progress, suspects may flee: handle, support, encircle.
    P1,
    /// Urgent: handle and support.
    P2,
    /// Routine: handle only.
    P3,
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
        })
    }
}

/// The 1-3-5 minute standard's three tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tier {
    /// The first unit on scene, within 60 s by default.
    Handle,
    /// Support, within 180 s.
    Support,
    /// Encirclement of the zone's exits, within 300 s.
    Encircle,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Handle => "HANDLE",
            Tier::Support => "SUPPORT",
            Tier::Encircle => "ENCIRCLE",
        })
    }
}
