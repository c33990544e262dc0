//! Dispatch: deciding which units go where. So far, the exits of each
//! patrol zone, which units hold to encircle a violent incident's zone.

mod exits;

pub use exits::{Exit, ExitConfig, ZoneExits};
