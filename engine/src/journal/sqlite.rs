//! The journal in SQLite (bundled, WAL mode, `synchronous=FULL`): a commit
//! returns only once the command is on disk, and a crash mid-write leaves
//! either the whole transaction or none of it.
//!
//! ```sql
//! -- who did what, when
//! SELECT seq, datetime(at_ms / 1000, 'unixepoch'), actor, kind, incident, unit FROM commands;
//! ```

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, params};

use crate::dispatch::Stamped;

/// The journal's schema version, kept in its `meta` table.
pub const JOURNAL_FORMAT: &str = "kuaifan-journal-1";

/// Why the journal could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// SQLite refused (a damaged file, a full disk, a file that is not a
    /// database).
    #[error("journal {path}: {error}")]
    Sqlite {
        /// The journal file.
        path: PathBuf,
        /// What SQLite said.
        error: rusqlite::Error,
    },
    /// A file from another program or another version.
    #[error("journal {path} is {found:?}, expected {JOURNAL_FORMAT:?}")]
    Format {
        /// The journal file.
        path: PathBuf,
        /// The format it declares.
        found: String,
    },
    /// An entry that cannot be read back.
    #[error("journal {path}: entry {seq} cannot be read: {reason}")]
    Entry {
        /// The journal file.
        path: PathBuf,
        /// Its sequence number.
        seq: i64,
        /// Why.
        reason: String,
    },
}

/// Says what SQLite would repair or start over without a word: an empty
/// file where a journal was expected, and a write-ahead log whose last
/// frame is cut short (SQLite keeps the commits before it).
fn warn_of_damage(path: &Path) {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        log::warn!(
            "journal {} is an empty file; starting a new journal in it",
            path.display()
        );
    }
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let Ok(bytes) = std::fs::read(&wal) else {
        return;
    };
    // The log's header (32 bytes) gives its page size; every frame after
    // it is a 24-byte header and one page.
    const HEADER: usize = 32;
    const FRAME_HEADER: usize = 24;
    if bytes.len() <= HEADER {
        return;
    }
    let page = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    let frames = bytes.len() - HEADER;
    let partial = frames % (FRAME_HEADER + page.max(1));
    if partial != 0 {
        log::warn!(
            "journal {}: its write-ahead log ends in a partial write ({partial} bytes), as a \
             crash during a commit leaves it; the commits before it are kept, that one is not",
            path.display()
        );
    }
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    connection: Connection,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and checks it.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let sql = |error| JournalError::Sqlite {
            path: path.to_path_buf(),
            error,
        };
        warn_of_damage(path);
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        // WAL keeps readers (sqlite3 auditing) out of the writer's way;
        // FULL syncs the WAL on every commit, so an acknowledged command
        // survives a power cut.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS commands (
                     seq INTEGER PRIMARY KEY,
                     at_ms INTEGER NOT NULL,
                     actor TEXT NOT NULL,
                     kind TEXT NOT NULL,
                     incident INTEGER,
                     unit TEXT,
                     body TEXT NOT NULL
                 );
                 INSERT OR IGNORE INTO meta (key, value) VALUES ('format', 'kuaifan-journal-1');",
            )
            .map_err(sql)?;
        let found: String = connection
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        if found != JOURNAL_FORMAT {
            return Err(JournalError::Format {
                path: path.to_path_buf(),
                found,
            });
        }
        let check: String = connection
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(sql)?;
        if check != "ok" {
            return Err(JournalError::Entry {
                path: path.to_path_buf(),
                seq: 0,
                reason: format!("the database is damaged: {check}"),
            });
        }
        Ok(Journal {
            path: path.to_path_buf(),
            connection,
        })
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends commands in one transaction; when this returns `Ok`, all of
    /// them are on disk.
    pub fn append(&mut self, commands: &[&Stamped]) -> Result<(), JournalError> {
        let sql = |error| JournalError::Sqlite {
            path: self.path.clone(),
            error,
        };
        let tx = self.connection.transaction().map_err(sql)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO commands (at_ms, actor, kind, incident, unit, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(sql)?;
            for c in commands {
                let body = serde_json::to_string(&c.command).map_err(|e| JournalError::Entry {
                    path: self.path.clone(),
                    seq: -1,
                    reason: e.to_string(),
                })?;
                insert
                    .execute(params![
                        c.at_ms,
                        c.actor,
                        c.command.kind(),
                        c.command.incident().map(|i| i.0 as i64),
                        c.command.unit(),
                        body
                    ])
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    /// Every command, in the order it was accepted.
    pub fn read_all(&self) -> Result<Vec<Stamped>, JournalError> {
        let sql = |error| JournalError::Sqlite {
            path: self.path.clone(),
            error,
        };
        let mut select = self
            .connection
            .prepare("SELECT seq, at_ms, actor, body FROM commands ORDER BY seq")
            .map_err(sql)?;
        let rows = select
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(sql)?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at_ms, actor, body) = row.map_err(sql)?;
            let command = serde_json::from_str(&body).map_err(|e| JournalError::Entry {
                path: self.path.clone(),
                seq,
                reason: e.to_string(),
            })?;
            out.push(Stamped {
                at_ms,
                actor,
                command,
            });
        }
        Ok(out)
    }

    /// How many commands it holds.
    pub fn len(&self) -> Result<u64, JournalError> {
        self.connection
            .query_row("SELECT COUNT(*) FROM commands", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(|error| JournalError::Sqlite {
                path: self.path.clone(),
                error,
            })
    }

    /// Whether it holds no command.
    pub fn is_empty(&self) -> Result<bool, JournalError> {
        self.len().map(|n| n == 0)
    }
}
