//! Staleness changes with time passing, not only with commands: once a
//! second the server looks for units that have gone past the stale limit
//! without a fix and submits one `MarkStale` command naming them.
//!
//! The change is a journaled command like any other, stamped with the
//! time it was decided, so replay (and a standby node reading the same
//! journal) reaches the same state, and the coverage map and its gap
//! events follow it through the ordinary command path. Only a change is
//! submitted: a quiet second costs nothing in the journal.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::dispatch::{Command, EngineError, Stamped};
use crate::service::dispatch::{Live, now_ms};

/// How often the server looks: coverage follows a unit going silent
/// within this much of its stale limit.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The actor the journal names for the sweep's commands.
pub const ACTOR: &str = "system";

/// Runs until `stop` turns true.
pub async fn run(live: Arc<Live>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        // A standby's units are marked stale by the leader's journal.
        if !live.role.writes() {
            continue;
        }
        let now = now_ms();
        let state = live.engine.snapshot();
        let due = state.overdue_units(now);
        if due.is_empty() {
            continue;
        }
        let units = due.iter().map(|&s| state.unit_id(s).to_string()).collect();
        let command = Stamped {
            at_ms: now,
            actor: ACTOR.to_string(),
            command: Command::MarkStale { units },
        };
        let queued = live.engine.submit_then(command, |outcome| match outcome {
            Ok(applied) => log::info!("{} units marked stale", applied.units.len()),
            // A fix arrived meanwhile: nothing left to mark.
            Err(EngineError::Command(e)) => log::debug!("stale sweep: {e}"),
            Err(e) => log::warn!("stale sweep: {e}"),
        });
        if let Err(e) = queued {
            // Busy: the next tick tries again.
            log::warn!("stale sweep: {e}");
        }
    }
}
