//! The journal: every accepted command, durable before it is acknowledged,
//! replayed on start. It doubles as the audit log (who did what, when),
//! readable with the `sqlite3` tool.

mod sqlite;

pub use sqlite::{JOURNAL_FORMAT, Journal, JournalError};
