//! Incidents and the six-step closed loop (六步闭环): reported, registered,
//! assigned, handling, feedback, closed.

mod record;
mod stage;

pub use record::{Assignment, Incident, IncidentId, Transition};
pub use stage::{Priority, Stage, Tier};
