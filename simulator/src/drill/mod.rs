//! `kuaifan-sim drill`: a simulated day of calls against the dispatch
//! engine, run in-process on a simulated clock.

mod arrivals;
mod compare;
mod journal_sink;
mod live;
mod movement;
mod report;
mod run;
mod script;
mod summary;

pub use arrivals::{Arrival, DAY_S, OnScene, PriorityMix, daily_profile, generate};
pub use compare::{Arm, Comparison, MetricDifference, compare, compare_arms};
pub use journal_sink::{JournalSink, JournalSinkError};
pub use live::{LiveError, LiveLink, LiveReport};
pub use movement::Drive;
pub use report::html;
pub use run::{CoverageSample, DrillConfig, DrillOutcome, run, run_into_journal, run_live};
pub use script::{ScriptError, read as read_script};
pub use summary::{CoverageFigures, DrillSummary, FirstUnit, TierStats, ZoneStats};
