//! Pruning: entries of one kind (the engine's sampled position fixes)
//! that a snapshot covers and that are older than the retention are
//! deleted, a bounded number at a time, so that the file stops growing
//! with them; every other entry stays, the audit trail.
//!
//! Two marks in `meta` say how far it went: `prune_cursor`, the last
//! entry looked at (the next round starts after it), and
//! `pruned_through`, the last entry deleted. Once that is above 0 the
//! journal no longer holds its whole history, so a start that can read no
//! snapshot refuses rather than replay from the start.

use rusqlite::{OptionalExtension, params};

use crate::journal::sqlite::{Journal, JournalError};

/// What one round of pruning did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Entries looked at.
    pub visited: u64,
    /// Entries deleted.
    pub deleted: u64,
}

/// Which entries a round may delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneRule<'a> {
    /// Their kind (the audit column).
    pub kind: &'a str,
    /// None after this entry: the oldest snapshot kept, so that a start
    /// from either snapshot replays only entries that are still there.
    pub through_seq: i64,
    /// None at or after this time (ms): the retention.
    pub before_ms: i64,
    /// Look at no more than this many entries in one round, so that the
    /// writer is never held long.
    pub visit_at_most: usize,
}

impl Journal {
    /// One round of pruning by `rule`, in one transaction. Entries are
    /// looked at in order from where the last round stopped, and the round
    /// stops at the first entry it may not pass: one after `through_seq`
    /// or at or after `before_ms`.
    pub fn prune(&mut self, rule: &PruneRule<'_>) -> Result<Pruned, JournalError> {
        let path = self.path.clone();
        let sql = |error| JournalError::Sqlite {
            path: path.clone(),
            error,
        };
        let tx = self.connection.transaction().map_err(sql)?;
        let cursor = meta_mark(&tx, "prune_cursor").map_err(sql)?;
        let mut last_visited = cursor;
        let mut doomed = Vec::new();
        let mut visited = 0u64;
        {
            let mut select = tx
                .prepare_cached(
                    "SELECT seq, at_ms, kind FROM commands WHERE seq > ?1 AND seq <= ?2
                     ORDER BY seq LIMIT ?3",
                )
                .map_err(sql)?;
            let limit = i64::try_from(rule.visit_at_most).unwrap_or(i64::MAX);
            let mut rows = select
                .query(params![cursor, rule.through_seq, limit])
                .map_err(sql)?;
            while let Some(row) = rows.next().map_err(sql)? {
                let (seq, at_ms, kind): (i64, i64, String) = (
                    row.get(0).map_err(sql)?,
                    row.get(1).map_err(sql)?,
                    row.get(2).map_err(sql)?,
                );
                if at_ms >= rule.before_ms {
                    break;
                }
                visited += 1;
                last_visited = seq;
                if kind == rule.kind {
                    doomed.push(seq);
                }
            }
        }
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM commands WHERE seq = ?1")
                .map_err(sql)?;
            for seq in &doomed {
                delete.execute([seq]).map_err(sql)?;
            }
        }
        if last_visited > cursor {
            set_meta_mark(&tx, "prune_cursor", last_visited).map_err(sql)?;
        }
        if let Some(&last) = doomed.last() {
            set_meta_mark(&tx, "pruned_through", last).map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(Pruned {
            visited,
            deleted: doomed.len() as u64,
        })
    }

    /// The last entry of the oldest snapshot kept (0 when there is none):
    /// pruning stops there.
    pub fn oldest_snapshot_seq(&self) -> Result<i64, JournalError> {
        self.connection
            .query_row(
                "SELECT COALESCE(MIN(through_seq), 0) FROM snapshots",
                [],
                |r| r.get(0),
            )
            .map_err(|error| JournalError::Sqlite {
                path: self.path.clone(),
                error,
            })
    }
}

fn meta_mark(tx: &rusqlite::Transaction<'_>, key: &str) -> rusqlite::Result<i64> {
    tx.query_row(
        "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1",
        [key],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|v| v.unwrap_or(0))
}

fn set_meta_mark(tx: &rusqlite::Transaction<'_>, key: &str, value: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value.to_string()],
    )
    .map(drop)
}
