//! The journal as an interface: what the engine needs of a store of
//! groups and snapshots, whichever keeps them. Two stores implement it:
//! [`Journal`](super::Journal) in SQLite (one node, the default) and, with
//! the `etcd` feature, `EtcdStore` in an etcd cluster (a leader and hot
//! standbys). Both number entries 1, 2, 3, … without gaps and hand back a
//! group exactly as it was appended.

use crate::journal::entry::{Group, Snapshot, StoredGroup};

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
        Ok(self.snapshots()?.into_iter().next())
    }
}
