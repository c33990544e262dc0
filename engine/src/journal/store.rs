//! The journal as an interface: what the engine needs of a store of
//! groups and snapshots, whichever keeps them. Two stores implement it:
//! [`Journal`](super::Journal) in SQLite (one node, the default) and, with
//! the `etcd` feature, `EtcdStore` in an etcd cluster (a leader and hot
//! standbys). Both number entries 1, 2, 3, … without gaps and hand back a
//! group exactly as it was appended.

use std::path::PathBuf;

use crate::journal::entry::{Group, Snapshot, StoredGroup};
use crate::journal::prune::{PruneRule, Pruned};

/// A durable, ordered store of groups of entries and of snapshots.
pub trait JournalStore {
    /// Why a call failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The sequence number of the last entry written (0 for none).
    fn last_seq(&self) -> i64;

    /// Appends groups, all or none; when this returns `Ok` they are
    /// durable (on disk, or committed by a majority of the cluster).
    /// Returns the last entry's sequence number.
    fn append(&mut self, groups: &[Group]) -> Result<i64, Self::Error>;

    /// Calls `each` with every group after entry `after_seq`, in order.
    fn for_each_group_after(
        &self,
        after_seq: i64,
        each: &mut dyn FnMut(StoredGroup) -> Result<(), Self::Error>,
    ) -> Result<(), Self::Error>;

    /// Stores a snapshot of the state as it stood after the last entry
    /// (`snapshot.through_seq` is [`last_seq`](JournalStore::last_seq)).
    fn write_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), Self::Error>;

    /// The latest snapshot that reads back whole, if any.
    fn latest_snapshot(&self) -> Result<Option<Snapshot>, Self::Error>;

    /// Where the store is, for messages: a file, or a cluster's prefix.
    fn location(&self) -> PathBuf;

    /// The snapshots kept, newest first: a start falls back on an older
    /// one when the newest cannot be read.
    fn snapshots(&self) -> Result<Vec<Snapshot>, Self::Error> {
        Ok(self.latest_snapshot()?.into_iter().collect())
    }

    /// The last entry deleted from the store's start (0: it holds its
    /// whole history), so that a start with no readable snapshot refuses
    /// rather than replay a history with a hole.
    fn pruned_through(&self) -> Result<i64, Self::Error> {
        Ok(0)
    }

    /// The last group, read back, so that a start checks a damaged end at
    /// once even when a snapshot covers it (`None` where the store checks
    /// its own writes whole, as etcd's transactions are).
    fn last_group(&self) -> Result<Option<StoredGroup>, Self::Error> {
        Ok(None)
    }

    /// Whether the store keeps the archive rows of a group
    /// ([`Group::archived`]); the writer archives closed cases only into a
    /// store that keeps them, and elsewhere they stay in the live state.
    fn keeps_archive(&self) -> bool {
        false
    }

    /// One round of pruning after a snapshot: entries of `kind` before
    /// `before_ms` that every snapshot kept covers, looking at no more than
    /// `visit_at_most`. A store that bounds itself otherwise (etcd compacts
    /// the batches under its snapshot) prunes nothing here.
    fn prune_old(
        &mut self,
        kind: &str,
        before_ms: i64,
        visit_at_most: usize,
    ) -> Result<Pruned, Self::Error> {
        let _ = (kind, before_ms, visit_at_most);
        Ok(Pruned::default())
    }
}

/// The SQLite journal is the store of a single node.
impl JournalStore for super::Journal {
    type Error = super::JournalError;

    fn last_seq(&self) -> i64 {
        super::Journal::last_seq(self)
    }

    fn append(&mut self, groups: &[Group]) -> Result<i64, Self::Error> {
        super::Journal::append(self, groups)
    }

    fn for_each_group_after(
        &self,
        after_seq: i64,
        each: &mut dyn FnMut(StoredGroup) -> Result<(), Self::Error>,
    ) -> Result<(), Self::Error> {
        super::Journal::for_each_group_after(self, after_seq, each)
    }

    fn write_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), Self::Error> {
        super::Journal::write_snapshot(self, snapshot)
    }

    fn latest_snapshot(&self) -> Result<Option<Snapshot>, Self::Error> {
        Ok(super::Journal::snapshots(self)?.into_iter().next())
    }

    fn location(&self) -> PathBuf {
        self.path().to_path_buf()
    }

    fn snapshots(&self) -> Result<Vec<Snapshot>, Self::Error> {
        super::Journal::snapshots(self)
    }

    fn pruned_through(&self) -> Result<i64, Self::Error> {
        super::Journal::pruned_through(self)
    }

    fn last_group(&self) -> Result<Option<StoredGroup>, Self::Error> {
        super::Journal::last_group(self)
    }

    fn keeps_archive(&self) -> bool {
        true
    }

    fn prune_old(
        &mut self,
        kind: &str,
        before_ms: i64,
        visit_at_most: usize,
    ) -> Result<Pruned, Self::Error> {
        let rule = PruneRule {
            kind,
            through_seq: self.oldest_snapshot_seq()?,
            before_ms,
            visit_at_most,
        };
        super::Journal::prune(self, &rule)
    }
}
