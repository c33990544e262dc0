//! Three-ring containment (三层查控圈): closing the rings around a fleeing
//! suspect. The rings' crossings are static and found once, when a
//! scenario is loaded ([`RingCrossings`]).
//!
//! This module sits below dispatch: it reads the road network and the
//! scenario, and dispatch may use it, never the other way round.

mod crossings;

pub use crossings::{CheckpointsConfig, ContainmentRing, CrossingSite, RingCrossings, RingOutline};
