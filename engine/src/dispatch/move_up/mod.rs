//! Move-up advice (动中备勤): when the set of free units changes, which of
//! them should shift to which posts so that the city stays covered.
//!
//! Beside the coverage map and on its cells: free units count from their
//! coverage rows, posts from rows computed once ([`MoveUpLayout`]). A
//! moment's question is a [`MoveUpProblem`]; its answer, under the
//! scenario's budget ([`crate::MoveUpConfig`]), is a [`MoveUpPlan`]; the
//! dispatch state turns it into [`MoveUpAdvice`] with one line per move.

mod accept;
mod advice;
mod cell_set;
mod layout;
mod problem;
mod search;

pub use advice::{MoveUp, MoveUpAdvice};
pub use layout::{CellDemand, MoveUpLayout};
pub use problem::{FreeUnit, MoveUpProblem, Objective, PlannedMove};
pub use search::{EPSILON as MOVE_UP_EPSILON, MoveUpPlan, PlanStep};
