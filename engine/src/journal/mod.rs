//! The journal: every accepted command, durable before it is acknowledged,
//! replayed on start, and snapshots of the whole state so that a start
//! replays only what followed the latest one. It doubles as the audit log
//! (who did what, when), readable with the `sqlite3` tool.
//!
//! The journal knows nothing of dispatch: it keeps groups of entries
//! (audit columns and an opaque body), the client request id a group
//! answered, and snapshot bodies. `dispatch::stored` says what the bodies
//! hold. Another store (etcd, for failover) implements the same shapes.

mod entry;
mod sqlite;

pub use entry::{Entry, Group, RequestTag, Snapshot, StoredGroup};
pub use sqlite::{JOURNAL_FORMAT, Journal, JournalError};
