//! `kuaifan-sim drill`: a simulated day of calls against the dispatch
//! engine, run in-process on a simulated clock.

mod arrivals;
mod chase;
mod compare;
mod containment_report;
mod containment_sweep;
mod day_suspects;
mod escape;
mod journal_sink;
mod live;
mod movement;
mod replay_2020;
mod report;
mod routine_calls;
mod run;
mod script;
mod summary;

pub use arrivals::{Arrival, DAY_S, OnScene, PriorityMix, daily_profile, generate, place};
pub use chase::{ChaseConfig, ChaseOutcome, RingAtStart, chase};
pub use compare::{Arm, Comparison, MetricDifference, compare, compare_arms};
pub use containment_report::containment_html;
pub use containment_sweep::{DEFAULT_DELAYS_MIN, Sweep, SweepConfig, SweepRow, draw_flight, sweep};
pub use day_suspects::{DaySuspect, SuspectsConfig};
pub use escape::{CameraHit, EscapeModel, Flight, Pass, ring_of};
pub use journal_sink::{JournalSink, JournalSinkError};
pub use live::{LiveError, LiveLink, LiveReport};
pub use movement::Drive;
pub use replay_2020::{Replay2020, replay_2020};
pub use report::html;
pub use routine_calls::{
    DEFAULT_P3_TARGET_S, RoutineFigures, RoutineResponder, StationResponse, Stations,
};
pub use run::{
    CoverageSample, DrillConfig, DrillOutcome, MoveUpTaken, START_MS, run, run_into_journal,
    run_live,
};
pub use script::{ScriptError, read as read_script};
pub use summary::{CoverageFigures, DrillSummary, FirstUnit, TierStats, ZoneStats};
