//! The journal: every accepted command, durable before it is acknowledged,
//! replayed on start, and snapshots of the whole state so that a start
//! replays only what followed the latest one. It doubles as the audit log
//! (who did what, when), readable with the `sqlite3` tool, and keeps the
//! archive of closed cases that left the live state.
//!
//! The journal knows nothing of dispatch: it keeps groups of entries
//! (audit columns and an opaque body), the client request id a group
//! answered, snapshot bodies and archived cases (filter columns and an
//! opaque body). `dispatch::stored` says what the bodies hold. Two stores
//! implement [`JournalStore`]: `Journal` in SQLite, and (cargo feature
//! `etcd`, for failover) `EtcdStore` over `EtcdJournal`, beside which
//! every node keeps a [`LocalCopy`] in SQLite, its audit archive.

mod archive;
mod entry;
#[cfg(feature = "etcd")]
pub(crate) mod etcd;
#[cfg(feature = "etcd")]
mod etcd_store;
mod local_copy;
mod prune;
mod sqlite;
mod store;

pub use archive::{ArchiveReader, ArchivedCase, CaseQuery};
pub use entry::{Entry, Group, RequestTag, Snapshot, StoredGroup};
#[cfg(feature = "etcd")]
pub use etcd_store::EtcdStore;
pub use local_copy::LocalCopy;
pub use prune::{PruneRule, Pruned};
pub use sqlite::{JOURNAL_FORMAT, Journal, JournalError};
pub use store::JournalStore;
