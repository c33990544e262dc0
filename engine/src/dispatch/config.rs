//! The dispatch rules a city can tune.

use serde::{Deserialize, Serialize};

use crate::dispatch::requests::RequestWindow;
use crate::incident::Priority;

/// How units are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Policy {
    /// Plain closest-idle-unit for every tier.
    Closest,
    /// Among units that all meet a tier's target, send the one whose
    /// departure leaves the least of the city uncovered.
    #[default]
    Coverage,
}

/// Dispatch options, with Jincheng's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct DispatchConfig {
    /// A position older than this is stale: still recommended, but marked.
    pub stale_after_ms: i64,
    /// Support units wanted for P1 and P2 incidents.
    pub support_p1: usize,
    /// See `support_p1`.
    pub support_p2: usize,
    /// A returning unit within this distance of its standby point is
    /// available again.
    pub back_at_standby_m: f64,
    /// The default policy.
    pub policy: Policy,
    /// How long and how many client request ids are remembered.
    pub requests: RequestWindow,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            stale_after_ms: 120_000,
            support_p1: 2,
            support_p2: 1,
            back_at_standby_m: 100.0,
            policy: Policy::Coverage,
            requests: RequestWindow::default(),
        }
    }
}

impl DispatchConfig {
    /// How many support units a priority calls for.
    pub fn support_wanted(&self, priority: Priority) -> usize {
        match priority {
            Priority::P1 => self.support_p1,
            Priority::P2 => self.support_p2,
            Priority::P3 => 0,
        }
    }
}
