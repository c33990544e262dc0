//! Dispatch: unit state, the recommendation under the 1-3-5 minute
//! standard, and how commands change state.

mod bottleneck;
mod command;
mod config;
mod engine;
mod exits;
mod recommend;
mod state;
mod unit_state;
mod world;

pub use bottleneck::{NO_ROUTE, bottleneck_assignment};
pub use command::{AssignUnit, Command, CommandError, Stamped};
pub use config::{DispatchConfig, Policy};
pub use engine::{DispatchEngine, EngineError, EngineHandle};
pub use exits::{Exit, ExitConfig, ZoneExits};
pub use recommend::{Candidate, RecommendError, Recommendation, TierOutcome};
pub use state::{Applied, DispatchState};
pub use unit_state::{UnitState, UnitStatus};
pub use world::{ExitTarget, World};
