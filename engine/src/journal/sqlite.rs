//! The journal in SQLite (bundled, WAL mode, `synchronous=FULL`): a commit
//! returns only once its groups are on disk, and a crash mid-write leaves
//! either the whole transaction or none of it.
//!
//! ```sql
//! -- who did what, when
//! SELECT seq, datetime(at_ms / 1000, 'unixepoch'), actor, kind, incident, unit, request_id FROM commands;
//! ```
//!
//! Beside the entries it keeps snapshots of the whole state
//! (`snapshots`), the closed cases that left the live state
//! (`archived_incidents`, see `archive.rs`) and, in `meta`, how far old
//! entries were pruned (`prune.rs`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::journal::archive::{self, ArchivedCase};
use crate::journal::entry::{Entry, Group, RequestTag, Snapshot, StoredGroup};

/// The journal's schema version, kept in its `meta` table. Format 3 adds
/// snapshots, the archive of closed cases and pruning to format 2, so a
/// build that knows only format 2 (which would replay a pruned journal
/// from its start) refuses it.
pub const JOURNAL_FORMAT: &str = "kuaifan-journal-3";

/// The version before groups, request ids and snapshots; opened and
/// brought up to date in place (each of its entries is a group of one).
const JOURNAL_FORMAT_1: &str = "kuaifan-journal-1";

/// Groups and request ids, no snapshots, archive or pruning: brought up
/// to date in place by adding the tables.
const JOURNAL_FORMAT_2: &str = "kuaifan-journal-2";

/// How long a commit waits for a write lock another connection holds (an
/// auditor's `sqlite3` in a write transaction) before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many snapshots are kept: the latest, and the one before it in case
/// the latest cannot be read.
const SNAPSHOTS_KEPT: i64 = 2;

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
    /// The file is damaged in a way SQLite would only find later.
    #[error("journal {path} is damaged: {reason}")]
    Damaged {
        /// The journal file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The replicated journal (etcd) refused, could not be reached, or
    /// this node no longer leads.
    #[error("the replicated journal: {0}")]
    Replicated(String),
    /// A node's local copy of a replicated journal, opened as a single
    /// node's journal: starting on it would fork the deployment's history.
    #[error(
        "journal {path} is a node's local copy of the replicated journal {of}: serve it with \
         --etcd as that deployment's node, or start a single node on a new journal file"
    )]
    CopyOfReplicated {
        /// The journal file.
        path: PathBuf,
        /// The deployment it copies (its etcd key prefix).
        of: String,
    },
    /// A journal file that cannot be this deployment's local copy: a
    /// single node's journal, or the copy of another deployment.
    #[error("journal {path} cannot be the local copy of {wanted}: {reason}")]
    NotThisCopy {
        /// The journal file.
        path: PathBuf,
        /// The deployment it was to copy.
        wanted: String,
        /// What it is instead.
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
    let Ok(wal_len) = std::fs::metadata(&wal).map(|m| m.len() as usize) else {
        return;
    };
    // The log's header (32 bytes) gives its page size; every frame after
    // it is a 24-byte header and one page. Only the header is read.
    const HEADER: usize = 32;
    const FRAME_HEADER: usize = 24;
    let mut header = [0u8; HEADER];
    let read = std::fs::File::open(&wal).and_then(|mut f| f.read_exact(&mut header));
    if read.is_err() || wal_len <= HEADER {
        return;
    }
    let page = u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize;
    let partial = (wal_len - HEADER) % (FRAME_HEADER + page.max(1));
    if partial != 0 {
        log::warn!(
            "journal {}: its write-ahead log ends in a partial write ({partial} bytes), as a \
             crash during a commit leaves it; the commits before it are kept, that one is not",
            path.display()
        );
    }
}

/// The cheap check that replaces a scan of the whole file: the database
/// file is at least as long as its own header says. A file cut short
/// (a copy that stopped, a full disk during a checkpoint) fails it; SQLite
/// would otherwise only notice when it reads a missing page.
fn check_length(path: &Path) -> Result<(), String> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let length = file.metadata().map_or(0, |m| m.len());
    let mut header = [0u8; 100];
    if file.read_exact(&mut header).is_err() || !header.starts_with(b"SQLite format 3\0") {
        // Empty, or not a database: SQLite says which.
        return Ok(());
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    // The page count in the header is valid only when the "version valid
    // for" number matches the change counter.
    let (change_counter, pages, valid_for) = (be32(24), u64::from(be32(28)), be32(92));
    if valid_for == change_counter && length < pages * page_size {
        return Err(format!(
            "the file is {length} bytes long, but its header says {} ({pages} pages of \
             {page_size} bytes): it was cut short",
            pages * page_size
        ));
    }
    Ok(())
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    pub(super) path: PathBuf,
    pub(super) connection: Connection,
    /// The sequence number the next entry gets. Kept here, not left to
    /// SQLite, so that numbers never repeat once old entries are pruned.
    next_seq: i64,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and checks it cheaply: its
    /// format and that the file is as long as its header says. Entries are
    /// checked as they are read. A node's local copy of a replicated
    /// journal is refused ([`JournalError::CopyOfReplicated`]).
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let journal = Journal::open_file(path)?;
        match journal.meta("copy_of")? {
            Some(of) => Err(JournalError::CopyOfReplicated {
                path: path.to_path_buf(),
                of,
            }),
            None => Ok(journal),
        }
    }

    /// [`Journal::open`] without asking what the journal is a copy of.
    pub(super) fn open_file(path: &Path) -> Result<Journal, JournalError> {
        let sql = |error| JournalError::Sqlite {
            path: path.to_path_buf(),
            error,
        };
        warn_of_damage(path);
        check_length(path).map_err(|reason| JournalError::Damaged {
            path: path.to_path_buf(),
            reason,
        })?;
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
        connection.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT OR IGNORE INTO meta (key, value) VALUES ('format', 'kuaifan-journal-3');",
            )
            .map_err(sql)?;
        let found: String = connection
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        if found != JOURNAL_FORMAT && found != JOURNAL_FORMAT_2 && found != JOURNAL_FORMAT_1 {
            return Err(JournalError::Format {
                path: path.to_path_buf(),
                found,
            });
        }
        if found == JOURNAL_FORMAT_1 {
            upgrade_from_1(&connection).map_err(sql)?;
        }
        connection.execute_batch(SCHEMA).map_err(sql)?;
        connection.execute_batch(archive::SCHEMA).map_err(sql)?;
        if found != JOURNAL_FORMAT {
            connection
                .execute(
                    "UPDATE meta SET value = ?1 WHERE key = 'format'",
                    [JOURNAL_FORMAT],
                )
                .map_err(sql)?;
            log::info!(
                "journal {}: brought up to {JOURNAL_FORMAT} from {found}",
                path.display()
            );
        }
        let next_seq = connection
            .query_row(
                "SELECT MAX(COALESCE((SELECT MAX(seq) FROM commands), 0),
                            COALESCE((SELECT MAX(through_seq) FROM snapshots), 0),
                            COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'pruned_through'), 0)) + 1",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(sql)?;
        Ok(Journal {
            path: path.to_path_buf(),
            connection,
            next_seq,
        })
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> JournalError + '_ {
        |error| JournalError::Sqlite {
            path: self.path.clone(),
            error,
        }
    }

    /// The sequence number of the last entry written (0 for none).
    pub fn last_seq(&self) -> i64 {
        self.next_seq - 1
    }

    /// Appends groups in one transaction; when this returns `Ok`, all of
    /// them are on disk. Returns the last entry's sequence number.
    pub fn append(&mut self, groups: &[Group]) -> Result<i64, JournalError> {
        let first = self.next_seq;
        self.write_groups(
            groups.iter().map(|g| {
                (
                    g.request.as_ref(),
                    g.entries.iter().collect::<Vec<_>>(),
                    &g.archived[..],
                )
            }),
            first,
        )
    }

    /// Writes groups numbered elsewhere (a replicated journal's, into a
    /// node's local copy) in one transaction: each goes in at its own
    /// numbers, which must follow the last entry here, gaps allowed.
    /// Returns the last entry's sequence number.
    pub(super) fn append_numbered(&mut self, groups: &[StoredGroup]) -> Result<i64, JournalError> {
        let Some(first) = groups
            .iter()
            .find_map(|g| g.entries.first().map(|(s, _)| *s))
        else {
            return Ok(self.last_seq());
        };
        let mut expected = first;
        for group in groups {
            for (seq, _) in &group.entries {
                if *seq != expected || *seq < self.next_seq {
                    return Err(JournalError::Entry {
                        path: self.path.clone(),
                        seq: *seq,
                        reason: format!(
                            "copied out of order: entry {expected} was next, after entry {}",
                            self.last_seq()
                        ),
                    });
                }
                expected += 1;
            }
        }
        self.write_groups(
            groups.iter().map(|g| {
                (
                    g.request.as_ref(),
                    g.entries.iter().map(|(_, e)| e).collect::<Vec<_>>(),
                    &g.archived[..],
                )
            }),
            first,
        )
    }

    /// Writes groups (request, entries, archived cases) numbered from
    /// `first` in one transaction.
    fn write_groups<'a>(
        &mut self,
        groups: impl Iterator<Item = (Option<&'a RequestTag>, Vec<&'a Entry>, &'a [ArchivedCase])>,
        first: i64,
    ) -> Result<i64, JournalError> {
        let path = self.path.clone();
        let sql = |error| JournalError::Sqlite {
            path: path.clone(),
            error,
        };
        let mut seq = first;
        let tx = self.connection.transaction().map_err(sql)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO commands (seq, at_ms, actor, kind, incident, unit, body, grp, request_id, request_digest)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sql)?;
            for (request, entries, archived) in groups {
                let first = seq;
                for case in archived {
                    archive::insert(&tx, first, case).map_err(sql)?;
                }
                for e in entries {
                    insert
                        .execute(params![
                            seq,
                            e.at_ms,
                            e.actor,
                            e.kind,
                            e.incident.map(|i| i as i64),
                            e.unit,
                            e.body,
                            first,
                            request.map(|r| &r.id),
                            request.map(|r| &r.digest),
                        ])
                        .map_err(sql)?;
                    seq += 1;
                }
            }
        }
        tx.commit().map_err(sql)?;
        self.next_seq = self.next_seq.max(seq);
        Ok(self.last_seq())
    }

    /// A value of the `meta` table.
    pub(super) fn meta(&self, key: &str) -> Result<Option<String>, JournalError> {
        self.connection
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.sql())
    }

    /// Sets a value of the `meta` table.
    pub(super) fn set_meta(&self, key: &str, value: &str) -> Result<(), JournalError> {
        self.connection
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(drop)
            .map_err(self.sql())
    }

    /// Calls `each` with every group after entry `after_seq`, in order,
    /// reading one row at a time (a long journal is never held in memory).
    pub fn for_each_group_after<E>(
        &self,
        after_seq: i64,
        mut each: impl FnMut(StoredGroup) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<JournalError>,
    {
        let sql = self.sql();
        let mut select = self
            .connection
            .prepare(
                "SELECT seq, at_ms, actor, kind, incident, unit, body, grp, request_id, request_digest
                 FROM commands WHERE seq > ?1 ORDER BY seq",
            )
            .map_err(&sql)?;
        let mut rows = select.query([after_seq]).map_err(&sql)?;
        let mut current: Option<(i64, StoredGroup)> = None;
        while let Some(row) = rows.next().map_err(&sql)? {
            let (seq, group_of, entry, request) = read_row(row).map_err(&sql)?;
            // A format-1 entry (no group number) is a group of its own.
            let group_of = group_of.unwrap_or(seq);
            match &mut current {
                Some((open, group)) if *open == group_of => group.entries.push((seq, entry)),
                _ => {
                    if let Some((_, done)) = current.take() {
                        each(done)?;
                    }
                    current = Some((
                        group_of,
                        StoredGroup {
                            request,
                            entries: vec![(seq, entry)],
                            archived: Vec::new(),
                        },
                    ));
                }
            }
        }
        if let Some((_, done)) = current {
            each(done)?;
        }
        Ok(())
    }

    /// The last group written, if any: read at start even when a snapshot
    /// covers it, so that a damaged tail is found at once.
    pub fn last_group(&self) -> Result<Option<StoredGroup>, JournalError> {
        let sql = self.sql();
        let first: Option<i64> = self
            .connection
            .query_row(
                "SELECT COALESCE(grp, seq) FROM commands ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(&sql)?;
        let Some(first) = first else {
            return Ok(None);
        };
        let mut last = None;
        self.for_each_group_after(first - 1, |g| {
            last = Some(g);
            Ok::<(), JournalError>(())
        })?;
        Ok(last)
    }

    /// Writes a snapshot in one transaction, keeping the one before it.
    pub fn write_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), JournalError> {
        let path = self.path.clone();
        let sql = |error| JournalError::Sqlite {
            path: path.clone(),
            error,
        };
        let tx = self.connection.transaction().map_err(sql)?;
        tx.execute(
            "INSERT OR REPLACE INTO snapshots (through_seq, at_ms, body) VALUES (?1, ?2, ?3)",
            params![snapshot.through_seq, snapshot.at_ms, snapshot.body],
        )
        .map_err(sql)?;
        tx.execute(
            "DELETE FROM snapshots WHERE through_seq NOT IN
                 (SELECT through_seq FROM snapshots ORDER BY through_seq DESC LIMIT ?1)",
            [SNAPSHOTS_KEPT],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// The snapshots kept, latest first.
    pub fn snapshots(&self) -> Result<Vec<Snapshot>, JournalError> {
        let sql = self.sql();
        let mut select = self
            .connection
            .prepare("SELECT through_seq, at_ms, body FROM snapshots ORDER BY through_seq DESC")
            .map_err(&sql)?;
        let rows = select
            .query_map([], |r| {
                Ok(Snapshot {
                    through_seq: r.get(0)?,
                    at_ms: r.get(1)?,
                    body: r.get(2)?,
                })
            })
            .map_err(&sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(&sql)
    }

    /// The last entry pruned (0 when the journal still holds its start).
    pub fn pruned_through(&self) -> Result<i64, JournalError> {
        self.connection
            .query_row(
                "SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'pruned_through'), 0)",
                [],
                |r| r.get(0),
            )
            .map_err(self.sql())
    }

    /// How many entries it holds.
    pub fn len(&self) -> Result<u64, JournalError> {
        self.connection
            .query_row("SELECT COUNT(*) FROM commands", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(self.sql())
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> Result<bool, JournalError> {
        self.len().map(|n| n == 0)
    }
}

/// The tables of format 2 (idempotent).
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS commands (
        seq INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        incident INTEGER,
        unit TEXT,
        body TEXT NOT NULL,
        grp INTEGER,
        request_id TEXT,
        request_digest TEXT
    );
    CREATE TABLE IF NOT EXISTS snapshots (
        through_seq INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        body BLOB NOT NULL
    );";

/// Format 1 had one row per command and nothing else: each row becomes a
/// group of its own (its `grp` stays NULL).
fn upgrade_from_1(connection: &Connection) -> Result<(), rusqlite::Error> {
    connection.execute_batch(
        "BEGIN IMMEDIATE;
         ALTER TABLE commands ADD COLUMN grp INTEGER;
         ALTER TABLE commands ADD COLUMN request_id TEXT;
         ALTER TABLE commands ADD COLUMN request_digest TEXT;
         UPDATE meta SET value = 'kuaifan-journal-2' WHERE key = 'format';
         COMMIT;",
    )
}

impl Journal {
    /// A read-only view of this journal's archive of closed cases, for
    /// readers on other threads.
    pub fn archive_reader(&self) -> Result<archive::ArchiveReader, JournalError> {
        archive::ArchiveReader::open(&self.path)
    }
}

type Row = (i64, Option<i64>, Entry, Option<RequestTag>);

fn read_row(row: &rusqlite::Row<'_>) -> Result<Row, rusqlite::Error> {
    let request = match (
        row.get::<_, Option<String>>(8)?,
        row.get::<_, Option<String>>(9)?,
    ) {
        (Some(id), Some(digest)) => Some(RequestTag { id, digest }),
        _ => None,
    };
    Ok((
        row.get(0)?,
        row.get(7)?,
        Entry {
            at_ms: row.get(1)?,
            actor: row.get(2)?,
            kind: row.get(3)?,
            incident: row.get::<_, Option<i64>>(4)?.map(|i| i.max(0) as u64),
            unit: row.get(5)?,
            body: row.get(6)?,
        },
        request,
    ))
}
