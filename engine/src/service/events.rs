//! The event feed of `WatchEvents`: every committed change, in journal
//! order, as the incidents, units and coverage gaps it touched.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::dispatch::{Applied, CommitObserver, DispatchState, Stamped};
use crate::service::{convert, proto};

/// How many events a watcher may fall behind before it is cut off (and
/// told so), which bounds the memory a slow console can hold.
pub const EVENT_BACKLOG: usize = 4096;

/// A commit observer that publishes the events of each commit.
pub fn publisher(events: broadcast::Sender<proto::Event>) -> CommitObserver {
    Box::new(
        move |state: &Arc<DispatchState>, committed: &[(&Stamped, &Applied)]| {
            if events.receiver_count() == 0 {
                return;
            }
            for (stamped, applied) in committed {
                for event in events_of(state, stamped, applied) {
                    // No watcher is not an error.
                    let _ = events.send(event);
                }
            }
        },
    )
}

/// The events one command caused.
fn events_of(state: &DispatchState, stamped: &Stamped, applied: &Applied) -> Vec<proto::Event> {
    use proto::event::Kind;
    let time_ms = stamped.at_ms;
    let mut kinds = Vec::new();
    if let Some(incident) = applied.incident.and_then(|id| state.incident(id)) {
        kinds.push(Kind::Incident(convert::incident(state, incident)));
    }
    for &slot in &applied.units {
        kinds.push(Kind::Unit(convert::unit(state, slot, time_ms)));
    }
    let zones = state.world().scenario().zones().as_slice();
    let zone_id = |z: &usize| zones.get(*z).map(|z| z.id.as_str().to_string());
    kinds.extend(
        applied
            .gaps
            .entered
            .iter()
            .filter_map(zone_id)
            .map(Kind::CoverageGapZoneId),
    );
    kinds.extend(
        applied
            .gaps
            .cleared
            .iter()
            .filter_map(zone_id)
            .map(Kind::CoverageRestoredZoneId),
    );
    kinds
        .into_iter()
        .map(|kind| proto::Event {
            time_ms,
            kind: Some(kind),
        })
        .collect()
}
