//! The journal: every accepted command, durable before it is acknowledged,
//! replayed on start, and snapshots of the whole state so that a start
//! replays only what followed the latest one. It doubles as the audit log
//! (who did what, when), readable with the `sqlite3` tool.
//!
//! The journal knows nothing of dispatch: it keeps groups of entries
//! (audit columns and an opaque body), the client request id a group
//! answered, and snapshot bodies. `dispatch::stored` says what the bodies
//! hold. Two stores implement [`JournalStore`]: `Journal` in SQLite, and
//! (cargo feature `etcd`, for failover) `EtcdStore` over `EtcdJournal`.

mod entry;
#[cfg(feature = "etcd")]
pub(crate) mod etcd;
#[cfg(feature = "etcd")]
mod etcd_store;
mod sqlite;
mod store;

pub use entry::{Entry, Group, RequestTag, Snapshot, StoredGroup};
#[cfg(feature = "etcd")]
pub use etcd_store::EtcdStore;
pub use sqlite::{JOURNAL_FORMAT, Journal, JournalError};
pub use store::JournalStore;
