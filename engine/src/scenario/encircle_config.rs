//! `[encircle]` of `scenario.toml`: how much of the city an encirclement
//! may take, so that one violent incident does not leave every other call
//! without a unit.

use serde::Deserialize;

use crate::scenario::problem::{Problem, checked_count};

/// The budget of an ENCIRCLE recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncircleConfig {
    /// At most this many exits are held, the most important first (0
    /// recommends no encirclement).
    pub max_exits: usize,
    /// The encirclement never takes the last this many fresh free units
    /// of the city (counted after HANDLE and SUPPORT; stale units are not
    /// counted). A dispatcher who names
    /// units sends them anyway: the reserve binds the recommendation, not
    /// the dispatcher.
    pub reserve: usize,
}

impl Default for EncircleConfig {
    fn default() -> Self {
        Self {
            max_exits: 6,
            reserve: 8,
        }
    }
}

impl EncircleConfig {
    /// Every exit held with any free unit, no reserve kept: how kuaifan
    /// encircled before the budget, kept for comparisons in drills.
    pub const UNBOUNDED: EncircleConfig = EncircleConfig {
        max_exits: usize::MAX,
        reserve: 0,
    };
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEncircle {
    max_exits: Option<i64>,
    reserve: Option<i64>,
}

/// The largest values accepted: a zone has a few dozen exits at most, a
/// city a few thousand units.
const MAX_EXITS: i64 = 100;
pub(crate) const MAX_RESERVE: i64 = 10_000;

impl RawEncircle {
    /// The checked budget; each bad value is a problem and its default
    /// stands in.
    pub(crate) fn check(self, problems: &mut Vec<Problem>) -> EncircleConfig {
        let default = EncircleConfig::default();
        EncircleConfig {
            max_exits: checked_count(
                problems,
                "encircle.max_exits",
                self.max_exits,
                MAX_EXITS,
                default.max_exits,
            ),
            reserve: checked_count(
                problems,
                "encircle.reserve",
                self.reserve,
                MAX_RESERVE,
                default.reserve,
            ),
        }
    }
}
