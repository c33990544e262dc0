//! The event feed of `WatchEvents`: every committed change, in journal
//! order, as the incidents, units, coverage gaps and containments it
//! touched, and the move-up advice after every commit that changed the
//! free units or their posts.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::dispatch::{Applied, Command, CommitObserver, DispatchState, Stamped, UnitStatus};
use crate::route::{RouteQuery, Router};
use crate::service::{containment_wire, convert, move_ups, proto};

/// How many events a watcher may fall behind before it is cut off (and
/// told so), which bounds the memory a slow console can hold.
pub const EVENT_BACKLOG: usize = 4096;

/// A commit observer that publishes the events of each commit, on
/// `router`'s network.
pub fn publisher(
    events: broadcast::Sender<proto::Event>,
    router: &'static Router,
) -> CommitObserver {
    // Made on the writer thread at the first advice, and kept.
    let mut query: Option<RouteQuery<'static>> = None;
    // What the advice depends on besides positions, as of the last commit;
    // `None` before the first, which is then judged by its commands.
    let mut last: Option<Vec<AdviceInput>> = None;
    Box::new(
        move |state: &Arc<DispatchState>, committed: &[(&Stamped, &Applied)]| {
            let now = advice_inputs(state);
            let changed = match &last {
                Some(before) => *before != now,
                None => committed
                    .iter()
                    .any(|(s, _)| may_change_free_units(&s.command)),
            };
            last = Some(now);
            if events.receiver_count() == 0 {
                return;
            }
            for (stamped, applied) in committed {
                for event in events_of(state, stamped, applied) {
                    // No watcher is not an error.
                    let _ = events.send(event);
                }
            }
            if changed && let Some((stamped, _)) = committed.last() {
                // On the writer thread, once per commit (not per command):
                // a few milliseconds, and only when the free units or
                // their posts changed, which is a dispatch or a status
                // change, not a position fix.
                let query = query.get_or_insert_with(|| RouteQuery::new(router));
                let advice = move_ups::advice(state, query, stamped.at_ms, &[]);
                let _ = events.send(proto::Event {
                    time_ms: stamped.at_ms,
                    kind: Some(proto::event::Kind::MoveUps(advice)),
                });
            }
        },
    )
}

/// One unit as move-up advice sees it, positions aside: free, out of
/// service (the busy fraction counts the units in service), marked stale
/// (no coverage until its next fix), and its post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AdviceInput {
    free: bool,
    out_of_service: bool,
    stale: bool,
    post: usize,
}

/// Whether a command can change the free units or their posts (a new
/// call, an arrival, a fix that leaves the status as it was, or the
/// archiving of a case whose units were freed when it closed cannot).
fn may_change_free_units(command: &Command) -> bool {
    !matches!(
        command,
        Command::ReportIncident { .. }
            | Command::Arrived { .. }
            | Command::ReportPosition { .. }
            | Command::Archive { .. }
    )
}

fn advice_inputs(state: &DispatchState) -> Vec<AdviceInput> {
    state
        .units()
        .iter()
        .enumerate()
        .map(|(slot, unit)| AdviceInput {
            free: unit.is_free(),
            out_of_service: unit.status == UnitStatus::OutOfService,
            stale: unit.stale,
            post: state.post_of(slot),
        })
        .collect()
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
    if let Some(change) = &applied.containment {
        kinds.push(Kind::Containment(containment_wire::event(state, change)));
    }
    kinds
        .into_iter()
        .map(|kind| proto::Event {
            time_ms,
            kind: Some(kind),
        })
        .collect()
}
