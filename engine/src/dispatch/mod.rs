//! Dispatch: unit state, the recommendation under the 1-3-5 minute
//! standard, how commands change state, and the live picture a dispatcher
//! decides from (coverage and incident heat).

mod bottleneck;
mod command;
pub(crate) mod commit_metrics;
mod config;
mod containment;
mod containment_commands;
mod containment_record;
mod coverage;
mod departures;
mod encircle;
mod engine;
mod exits;
mod heat_map;
mod journal_policy;
mod move_up;
mod recommend;
mod requests;
mod snapshot;
mod state;
mod stored;
mod unit_state;
mod world;

pub use bottleneck::{NO_ROUTE, bottleneck_assignment};
pub use command::{AssignUnit, Command, CommandError, MoveUpField, MoveUpRefusal, Stamped};
pub use config::{DispatchConfig, Policy};
pub use containment_commands::{CLOCK_SLACK_MS, MAX_SPEED_FACTOR};
pub use containment_record::{
    Containment, ContainmentChange, ContainmentChangeKind, ContainmentMode, CrossingOrder,
    CrossingOutlook, CrossingResponder, HeldCrossing, Interception, SuspectSighting,
};
pub use coverage::{CoverageMap, CoverageMapError, GapChange, Reach, Refresh, UpdateStats};
pub use departures::Departures;
pub use encircle::{Unheld, UnheldExit};
pub use engine::{
    CommitObserver, DispatchEngine, ENGINE_ACTOR, EngineError, EngineHandle, Outcome, StandbyEngine,
};
pub use exits::{Exit, ExitConfig, ZoneExits};
pub use heat_map::{HeatMap, HeatMapConfig, HeatMapError};
pub use journal_policy::JournalPolicy;
pub use move_up::{
    CellDemand, FreeUnit, MOVE_UP_EPSILON, MoveUp, MoveUpAdvice, MoveUpLayout, MoveUpPlan,
    MoveUpProblem, Objective, PlanStep, PlannedMove,
};
pub use recommend::{Candidate, DepartureLoss, RecommendError, Recommendation, TierOutcome};
pub use requests::{ClientRequest, RecentRequests, RequestRecord, RequestWindow, Seen};
pub use state::{Applied, DispatchState};
pub use stored::{append_to_journal, archived_incident, read_journal, read_journal_after};
pub use unit_state::{UnitState, UnitStatus};
pub use world::{ExitTarget, World};
