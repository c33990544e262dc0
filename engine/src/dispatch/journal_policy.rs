//! What the writer keeps in the journal, and when it writes a snapshot:
//! the journal grows with incidents, not with position fixes, a start
//! replays only what followed the latest snapshot, and closed cases leave
//! the live state for the archive.
//!
//! Two of its times run on the journal's clock, the time of the latest
//! command (`archive_after_ms`, `keep_fixes_ms`), so that a drill on a
//! simulated clock keeps its journal as a server on the wall clock would;
//! the snapshot interval is wall time, since it bounds what a crash loses.

use std::time::{Duration, Instant};

/// How the journal is kept small and the start fast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalPolicy {
    /// A snapshot is written once this many entries were journaled since
    /// the last one (10,000 by default: a start replays at most that many).
    pub snapshot_every_entries: u64,
    /// A snapshot is written when anything changed (a position included)
    /// and this long has passed since the last one (5 minutes by default:
    /// the latest positions a restart gets back are at most this old, or
    /// the fix interval, whichever is newer).
    pub snapshot_every: Duration,
    /// A position fix that changes no unit's status is journaled only when
    /// the unit's last journaled fix is at least this old (30 s by
    /// default). Fixes in between change the live state (and reach the
    /// next snapshot) but are not journaled.
    pub fix_interval_ms: i64,
    /// A closed case leaves the live state for the journal's archive this
    /// long after it was closed (1 hour by default); `GetIncident` and
    /// `ListIncidents` read it there. Without a journal nothing is
    /// archived.
    pub archive_after_ms: i64,
    /// Journaled position fixes older than this (7 days by default) and
    /// covered by both snapshots kept are deleted; every other entry stays.
    pub keep_fixes_ms: i64,
}

impl Default for JournalPolicy {
    fn default() -> Self {
        Self {
            snapshot_every_entries: 10_000,
            snapshot_every: Duration::from_secs(300),
            fix_interval_ms: 30_000,
            archive_after_ms: 3_600_000,
            keep_fixes_ms: 7 * 24 * 3_600_000,
        }
    }
}

/// Which position fixes are journaled: one per unit per interval, and every
/// one that changed a status.
#[derive(Debug)]
pub(crate) struct FixSampler {
    interval_ms: i64,
    /// The time of each unit's last journaled fix, by slot.
    last: Vec<Option<i64>>,
}

impl FixSampler {
    pub(crate) fn new(interval_ms: i64, units: usize) -> Self {
        Self {
            interval_ms,
            last: vec![None; units],
        }
    }

    /// Whether a fix of unit `slot` at `at_ms` is journaled; `changed_status`
    /// when it made the unit's status change (a returning unit back at its
    /// standby point) or made a unit marked stale fresh again, which replay
    /// needs.
    pub(crate) fn keep(&self, slot: usize, at_ms: i64, changed_status: bool) -> bool {
        changed_status
            || self
                .last
                .get(slot)
                .copied()
                .flatten()
                .is_none_or(|last| at_ms.saturating_sub(last) >= self.interval_ms || at_ms < last)
    }

    /// Notes that a fix was journaled.
    pub(crate) fn kept(&mut self, slot: usize, at_ms: i64) {
        if let Some(last) = self.last.get_mut(slot) {
            *last = Some(at_ms);
        }
    }
}

/// When the next snapshot is due.
#[derive(Debug)]
pub(crate) struct SnapshotClock {
    policy: JournalPolicy,
    entries: u64,
    changed: bool,
    since: Instant,
}

impl SnapshotClock {
    pub(crate) fn new(policy: JournalPolicy) -> Self {
        Self {
            policy,
            entries: 0,
            changed: false,
            since: Instant::now(),
        }
    }

    /// Notes a commit of `entries` journal entries that changed the state.
    pub(crate) fn committed(&mut self, entries: u64) {
        self.entries += entries;
        self.changed = true;
    }

    /// Whether a snapshot is due now.
    pub(crate) fn due(&self) -> bool {
        self.entries >= self.policy.snapshot_every_entries
            || (self.changed && self.since.elapsed() >= self.policy.snapshot_every)
    }

    /// Whether anything changed since the last snapshot.
    pub(crate) fn changed(&self) -> bool {
        self.changed
    }

    /// Notes that a snapshot was written.
    pub(crate) fn written(&mut self) {
        self.entries = 0;
        self.changed = false;
        self.since = Instant::now();
    }
}
