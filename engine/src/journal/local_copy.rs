//! A node's local copy of the replicated journal: the SQLite journal
//! format, kept on every node of a deployment with hot standbys as its
//! audit archive, and the archive of closed cases its `GetIncident` and
//! `ListIncidents` read.
//!
//! etcd holds the deployment's journal only back to the previous
//! snapshot; the copy holds its whole history (position fixes pruned as a
//! single node prunes them), entry for entry at the replicated numbers,
//! with the client request ids, and the closed cases in its
//! `archived_incidents` table. The same `sqlite3` queries an auditor runs
//! on a single node's journal run on it.
//!
//! A copy says what it copies (`copy_of` in `meta`, the deployment's etcd
//! key prefix), and a single node refuses to start on it: starting there
//! would fork the deployment's history. A node that joined after the
//! cluster compacted what it missed, or whose disk refused a write for a
//! while, has a hole; the copy records each one (`copy_missing` in
//! `meta`, `first-last,first-last`), so an audit knows where to look
//! instead (another node's copy).

use std::path::Path;

use crate::journal::archive::ArchiveReader;
use crate::journal::entry::StoredGroup;
use crate::journal::prune::{PruneRule, Pruned};
use crate::journal::sqlite::{Journal, JournalError};

/// The local copy of one deployment's replicated journal.
#[derive(Debug)]
pub struct LocalCopy {
    journal: Journal,
    of: String,
}

impl LocalCopy {
    /// Opens (or creates) the copy of the deployment `of` (its etcd key
    /// prefix) at `path`. A new or empty file becomes that copy; a single
    /// node's journal, or another deployment's copy, is refused.
    pub fn open(path: &Path, of: &str) -> Result<LocalCopy, JournalError> {
        let journal = Journal::open_file(path)?;
        let refuse = |reason: String| JournalError::NotThisCopy {
            path: path.to_path_buf(),
            wanted: of.to_string(),
            reason,
        };
        match journal.meta("copy_of")? {
            Some(found) if found == of => {}
            Some(found) => return Err(refuse(format!("it is the copy of {found}"))),
            None if journal.last_seq() > 0 => {
                return Err(refuse(format!(
                    "it is a single node's journal, through entry {}",
                    journal.last_seq()
                )));
            }
            None => journal.set_meta("copy_of", of)?,
        }
        Ok(LocalCopy {
            journal,
            of: of.to_string(),
        })
    }

    /// The deployment it copies.
    pub fn of(&self) -> &str {
        &self.of
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        self.journal.path()
    }

    /// The last entry copied (0 for none).
    pub fn last_seq(&self) -> i64 {
        self.journal.last_seq()
    }

    /// Copies groups as the replicated journal numbered them, in one
    /// transaction. Entries it holds already are skipped (a batch copied
    /// again after a restart); a start past the entry after its last is
    /// recorded as missing. Returns the last entry it holds.
    pub fn copy(&mut self, groups: &[StoredGroup]) -> Result<i64, JournalError> {
        let last = self.last_seq();
        // Groups come in order: those held already are a prefix.
        let new = &groups[groups.partition_point(|g| g.last_seq() <= last)..];
        let Some(first) = new.first().and_then(|g| g.entries.first()).map(|e| e.0) else {
            return Ok(last);
        };
        if first > last + 1 {
            self.note_missing(last + 1, first - 1)?;
        }
        self.journal.append_numbered(new)
    }

    /// Records that entries `first..=last` are not in the copy.
    fn note_missing(&mut self, first: i64, last: i64) -> Result<(), JournalError> {
        log::warn!(
            "journal copy {}: entries {first} to {last} of {} are not in it (the cluster \
             holds them only in its snapshot); another node's copy has them",
            self.path().display(),
            self.of
        );
        let mut missing = self.journal.meta("copy_missing")?.unwrap_or_default();
        if !missing.is_empty() {
            missing.push(',');
        }
        missing.push_str(&format!("{first}-{last}"));
        self.journal.set_meta("copy_missing", &missing)
    }

    /// The ranges of entries the copy does not hold, oldest first.
    pub fn missing(&self) -> Result<Vec<(i64, i64)>, JournalError> {
        let text = self.journal.meta("copy_missing")?.unwrap_or_default();
        let damaged = |range: &str| JournalError::Damaged {
            path: self.path().to_path_buf(),
            reason: format!("copy_missing holds {range:?}, not first-last"),
        };
        text.split(',')
            .filter(|r| !r.is_empty())
            .map(|range| {
                let (first, last) = range.split_once('-').ok_or_else(|| damaged(range))?;
                Ok((
                    first.parse().map_err(|_| damaged(range))?,
                    last.parse().map_err(|_| damaged(range))?,
                ))
            })
            .collect()
    }

    /// One round of pruning, as a single node prunes: entries of `kind`
    /// before `before_ms`, looking at no more than `visit_at_most`. Nothing
    /// replays from a copy, so every entry it holds may go.
    pub fn prune_old(
        &mut self,
        kind: &str,
        before_ms: i64,
        visit_at_most: usize,
    ) -> Result<Pruned, JournalError> {
        let rule = PruneRule {
            kind,
            through_seq: self.last_seq(),
            before_ms,
            visit_at_most,
        };
        self.journal.prune(&rule)
    }

    /// A read-only view of the copy's archive of closed cases.
    pub fn archive_reader(&self) -> Result<ArchiveReader, JournalError> {
        self.journal.archive_reader()
    }

    /// Calls `each` with every group the copy holds after entry
    /// `after_seq`, in order (without their archived cases, which are in
    /// the archive table).
    pub fn for_each_group_after(
        &self,
        after_seq: i64,
        each: impl FnMut(StoredGroup) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        self.journal.for_each_group_after(after_seq, each)
    }
}
