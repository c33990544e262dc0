//! The archive: closed cases that left the live state, one row each, with
//! the columns an auditor filters on and the engine's stored form of the
//! whole case (its history and assignments). A case enters the archive in
//! the same transaction as the journal entry that takes it out of the live
//! state, so a case is always in one or the other.
//!
//! ```sql
//! -- the closed cases of one zone in one day
//! SELECT incident, datetime(reported_ms / 1000, 'unixepoch'), priority, category, units
//! FROM archived_incidents
//! WHERE zone = 'Z15' AND reported_ms >= 1764547200000 AND reported_ms < 1764633600000;
//! ```
//!
//! Readers (`GetIncident`, `ListIncidents`) use an [`ArchiveReader`], a
//! read-only connection of its own: in WAL mode it never waits for the
//! writer, nor the writer for it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use crate::journal::sqlite::JournalError;

/// One closed case in the archive. Its field names are also the form it
/// takes in the replicated journal's batches (serde), which carry it to
/// every node's local copy.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArchivedCase {
    /// Its number.
    pub incident: u64,
    /// When it was reported (ms since the epoch).
    pub reported_ms: i64,
    /// When it was closed (ms since the epoch).
    pub closed_ms: i64,
    /// Its priority as the engine names it (`P1`).
    pub priority: String,
    /// The patrol zone's id, if it lies in one.
    pub zone: Option<String>,
    /// Kind of case.
    pub category: String,
    /// The units ever sent, space-separated, in the order they were sent.
    pub units: String,
    /// The engine's stored form of the case (JSON text).
    pub body: String,
}

/// Which archived cases to list, and in which order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseQuery {
    /// The last case of the previous page: this page continues after it
    /// in the query's order.
    pub after: Option<u64>,
    /// Highest number first; otherwise lowest first.
    pub newest_first: bool,
    /// Reported at or after this time (ms).
    pub reported_from_ms: Option<i64>,
    /// Reported before this time (ms).
    pub reported_before_ms: Option<i64>,
    /// In one of these zones; empty for any (a case outside every zone
    /// included).
    pub zones: Vec<String>,
    /// Of one of these priorities; empty for any.
    pub priorities: Vec<String>,
    /// At most this many.
    pub limit: usize,
}

/// The archive's table (idempotent).
pub(super) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS archived_incidents (
        incident INTEGER PRIMARY KEY,
        reported_ms INTEGER NOT NULL,
        closed_ms INTEGER NOT NULL,
        priority TEXT NOT NULL,
        zone TEXT,
        category TEXT NOT NULL,
        units TEXT NOT NULL,
        archived_seq INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS archived_incidents_reported ON archived_incidents (reported_ms);";

/// Writes a case into the archive inside the writer's transaction;
/// `seq` is the journal entry that archived it.
pub(super) fn insert(tx: &Transaction<'_>, seq: i64, case: &ArchivedCase) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO archived_incidents
             (incident, reported_ms, closed_ms, priority, zone, category, units, archived_seq, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    insert.execute(params![
        i64::try_from(case.incident).unwrap_or(i64::MAX),
        case.reported_ms,
        case.closed_ms,
        case.priority,
        case.zone,
        case.category,
        case.units,
        seq,
        case.body,
    ])?;
    Ok(())
}

/// A read-only view of a journal's archive, for readers on any thread.
#[derive(Debug)]
pub struct ArchiveReader {
    path: PathBuf,
    connection: Mutex<Connection>,
}

/// How long a read waits for a lock (only a checkpoint or a schema change
/// takes one that blocks readers).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const COLUMNS: &str = "incident, reported_ms, closed_ms, priority, zone, category, units, body";

impl ArchiveReader {
    /// Opens the archive of the journal at `path` (which must exist and
    /// be of this format: open it as a [`crate::journal::Journal`] first).
    pub fn open(path: &Path) -> Result<ArchiveReader, JournalError> {
        let sql = |error| JournalError::Sqlite {
            path: path.to_path_buf(),
            error,
        };
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        Ok(ArchiveReader {
            path: path.to_path_buf(),
            connection: Mutex::new(connection),
        })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> JournalError + '_ {
        |error| JournalError::Sqlite {
            path: self.path.clone(),
            error,
        }
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A reader that panicked left no transaction open: the connection
        // is still good.
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One archived case.
    pub fn case(&self, incident: u64) -> Result<Option<ArchivedCase>, JournalError> {
        let Ok(key) = i64::try_from(incident) else {
            return Ok(None);
        };
        let connection = self.connection();
        let mut select = connection
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM archived_incidents WHERE incident = ?1"
            ))
            .map_err(self.sql())?;
        select
            .query_row([key], read_case)
            .optional()
            .map_err(self.sql())
    }

    /// The archived cases `query` asks for, in its order.
    pub fn cases(&self, query: &CaseQuery) -> Result<Vec<ArchivedCase>, JournalError> {
        let mut conditions = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let Some(after) = query.after {
            conditions.push(if query.newest_first {
                "incident < ?"
            } else {
                "incident > ?"
            });
            values.push(Value::Integer(i64::try_from(after).unwrap_or(i64::MAX)));
        }
        if let Some(from) = query.reported_from_ms {
            conditions.push("reported_ms >= ?");
            values.push(Value::Integer(from));
        }
        if let Some(before) = query.reported_before_ms {
            conditions.push("reported_ms < ?");
            values.push(Value::Integer(before));
        }
        let any_of = |column: &str, items: &[String], values: &mut Vec<Value>| {
            values.extend(items.iter().cloned().map(Value::Text));
            format!("{column} IN ({})", vec!["?"; items.len()].join(", "))
        };
        let mut lists = Vec::new();
        if !query.zones.is_empty() {
            lists.push(any_of("zone", &query.zones, &mut values));
        }
        if !query.priorities.is_empty() {
            lists.push(any_of("priority", &query.priorities, &mut values));
        }
        let mut clauses: Vec<String> = conditions.into_iter().map(str::to_string).collect();
        clauses.extend(lists);
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        values.push(Value::Integer(
            i64::try_from(query.limit).unwrap_or(i64::MAX),
        ));
        let order = if query.newest_first { "DESC" } else { "ASC" };
        let connection = self.connection();
        let mut select = connection
            .prepare(&format!(
                "SELECT {COLUMNS} FROM archived_incidents {filter} ORDER BY incident {order} LIMIT ?"
            ))
            .map_err(self.sql())?;
        let rows = select
            .query_map(rusqlite::params_from_iter(values), read_case)
            .map_err(self.sql())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.sql())
    }

    /// How many cases the archive holds.
    pub fn len(&self) -> Result<u64, JournalError> {
        self.connection()
            .query_row("SELECT COUNT(*) FROM archived_incidents", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
            .map_err(self.sql())
    }

    /// Whether it holds no case.
    pub fn is_empty(&self) -> Result<bool, JournalError> {
        self.len().map(|n| n == 0)
    }
}

fn read_case(row: &rusqlite::Row<'_>) -> rusqlite::Result<ArchivedCase> {
    Ok(ArchivedCase {
        incident: row.get::<_, i64>(0)?.max(0) as u64,
        reported_ms: row.get(1)?,
        closed_ms: row.get(2)?,
        priority: row.get(3)?,
        zone: row.get(4)?,
        category: row.get(5)?,
        units: row.get(6)?,
        body: row.get(7)?,
    })
}
