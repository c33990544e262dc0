//! kuaifan's simulator: drills and load against the dispatch engine.
//!
//! `drill` replays a simulated day of calls against the engine as a
//! library, on a simulated clock, deterministic for a seed.
//!
//! `load` is an open-loop load generator for a live `kuaifan serve`: a
//! fixed arrival rate whatever the answers, latencies measured from when
//! each request was due (corrected for coordinated omission), recorded in
//! HDR histograms.

#![deny(missing_docs)]

pub mod drill;
pub mod load;
