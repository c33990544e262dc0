//! `[containment]` of `scenario.toml`: how much of the fleet a containment
//! (三层查控圈) may order out, so that the city still answers its 110 calls
//! while the rings are closed.

use serde::Deserialize;

use crate::scenario::encircle_config::MAX_RESERVE;
use crate::scenario::problem::{Problem, checked_count};

/// The budget of a containment plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainmentConfig {
    /// A plan never orders out the last this many fresh free units of the
    /// city (stale units are not counted); station teams and staffed
    /// posts are not limited. 0 lets a plan take every free unit.
    pub reserve: usize,
}

impl Default for ContainmentConfig {
    /// The same reserve as an encirclement's (`[encircle] reserve`): eight
    /// units, a fifth of Jincheng's 39, for the calls that keep coming.
    fn default() -> Self {
        Self { reserve: 8 }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContainment {
    reserve: Option<i64>,
}

impl RawContainment {
    /// The checked budget; a bad value is a problem and its default
    /// stands in.
    pub(crate) fn check(self, problems: &mut Vec<Problem>) -> ContainmentConfig {
        ContainmentConfig {
            reserve: checked_count(
                problems,
                "containment.reserve",
                self.reserve,
                MAX_RESERVE,
                ContainmentConfig::default().reserve,
            ),
        }
    }
}
