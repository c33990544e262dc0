//! `[move_up]` of `scenario.toml`: the budget move-up advice keeps to, so
//! that a dispatcher can live with it.

use serde::Deserialize;

use crate::scenario::problem::Problem;

/// How much move-up advice may ask of the fleet after each change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MoveUpConfig {
    /// At most this many moves per change (0 turns advice off).
    pub max_moves: usize,
    /// No move longer than this drive, seconds.
    pub drive_limit_s: u32,
    /// A unit moved is not moved again within this time, seconds.
    pub hold_s: u32,
    /// Each move must add at least this much to the expected coverage, as
    /// a share of the city's calls (0.005 is half a percentage point),
    /// counted as if every unit in reach were free (the gain divided by
    /// 1 − q): small gains do not churn the fleet, and the threshold does
    /// not rise as the city gets busier.
    pub min_gain: f64,
}

impl Default for MoveUpConfig {
    fn default() -> Self {
        Self {
            max_moves: 2,
            drive_limit_s: 480,
            hold_s: 900,
            min_gain: 0.005,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMoveUp {
    max_moves: Option<i64>,
    drive_limit_s: Option<i64>,
    hold_s: Option<i64>,
    min_gain: Option<f64>,
}

/// The most moves per change accepted: more is not advice a dispatcher can
/// follow between two calls.
const MAX_MOVES: i64 = 10;

impl RawMoveUp {
    /// The checked budget; each bad value is a problem and its default
    /// stands in.
    pub(crate) fn check(self, problems: &mut Vec<Problem>) -> MoveUpConfig {
        let default = MoveUpConfig::default();
        let mut bad = |key: &'static str, value: String, expected: &str| {
            problems.push(Problem::Setting {
                key,
                value,
                expected: expected.to_owned(),
            })
        };
        let max_moves = match self.max_moves {
            None => default.max_moves,
            Some(v) if (0..=MAX_MOVES).contains(&v) => v as usize,
            Some(v) => {
                bad(
                    "move_up.max_moves",
                    v.to_string(),
                    "0 (no advice) to 10 moves",
                );
                default.max_moves
            }
        };
        let mut seconds = |key, v: Option<i64>, low: i64, high: i64, fallback: u32| match v {
            None => fallback,
            Some(v) if (low..=high).contains(&v) => v as u32,
            Some(v) => {
                bad(key, v.to_string(), &format!("{low} to {high} seconds"));
                fallback
            }
        };
        let drive_limit_s = seconds(
            "move_up.drive_limit_s",
            self.drive_limit_s,
            1,
            3_600,
            default.drive_limit_s,
        );
        let hold_s = seconds("move_up.hold_s", self.hold_s, 0, 86_400, default.hold_s);
        let min_gain = match self.min_gain {
            None => default.min_gain,
            Some(v) if v.is_finite() && (0.0..=1.0).contains(&v) => v,
            Some(v) => {
                problems.push(Problem::Setting {
                    key: "move_up.min_gain",
                    value: v.to_string(),
                    expected: "a share of the calls from 0 to 1".to_owned(),
                });
                default.min_gain
            }
        };
        MoveUpConfig {
            max_moves,
            drive_limit_s,
            hold_s,
            min_gain,
        }
    }
}
