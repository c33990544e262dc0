//! Keeping a node's local copy of the replicated journal (`--features
//! etcd`): every batch the node follows as a standby, and every batch it
//! appends as the leader, goes into its [`LocalCopy`] as well.
//!
//! The copy is the node's audit archive and the archive its reads of
//! closed cases answer from; it is not what the deployment's durability
//! rests on (etcd's majority is). So a write to it that fails is logged
//! and does not stop the node: the next write first copies what etcd
//! still holds after the copy's end, and what etcd no longer holds is
//! recorded as missing.

use std::path::Path;

use crate::dispatch::{Command, JournalPolicy};
use crate::journal::{ArchiveReader, EtcdStore, JournalError, LocalCopy, StoredGroup};

/// Batches copied between two rounds of pruning old position fixes.
const PRUNE_EVERY_BATCHES: u32 = 256;

/// Entries one round of pruning looks at, at most: the writer thread does
/// the copying and must not be held long.
const PRUNE_VISITS: usize = 20_000;

/// A node's copy and what keeping it needs.
#[derive(Debug)]
pub(crate) struct NodeCopy {
    copy: LocalCopy,
    /// A write failed: the next one first catches up from etcd.
    behind: bool,
    keep_fixes_ms: i64,
    since_prune: u32,
}

impl NodeCopy {
    /// Opens the copy of the deployment under `prefix` at `path`.
    pub(crate) fn open(
        path: &Path,
        prefix: &str,
        policy: &JournalPolicy,
    ) -> Result<NodeCopy, JournalError> {
        Ok(NodeCopy {
            copy: LocalCopy::open(path, prefix)?,
            behind: false,
            keep_fixes_ms: policy.keep_fixes_ms,
            since_prune: 0,
        })
    }

    /// A reader of the copy's archive of closed cases.
    pub(crate) fn archive_reader(&self) -> Result<ArchiveReader, JournalError> {
        self.copy.archive_reader()
    }

    /// Copies every group etcd holds after the copy's end (a start, or
    /// after a failed write). Where the cluster compacted some of them
    /// into its snapshot, the copy records them as missing.
    pub(crate) fn catch_up(&mut self, store: &EtcdStore) -> Result<(), String> {
        let mut groups = Vec::new();
        store
            .for_each_held_group_after(self.copy.last_seq(), &mut |group| {
                groups.push(group);
                Ok(())
            })
            .map_err(|e| format!("reading the journal to copy: {e}"))?;
        self.copy
            .copy(&groups)
            .map_err(|e| format!("copying the journal: {e}"))?;
        self.behind = false;
        Ok(())
    }

    /// Copies the groups of one batch, just followed or just appended to
    /// etcd; a failure is logged and mended by the next call.
    pub(crate) fn keep(&mut self, store: &EtcdStore, groups: &[StoredGroup]) {
        let copied = if self.behind {
            // The batch is in etcd already: catching up copies it too.
            self.catch_up(store)
        } else {
            self.copy.copy(groups).map(drop).map_err(|e| e.to_string())
        };
        if let Err(e) = copied {
            if !self.behind {
                log::error!(
                    "the local copy of the journal {} fell behind ({e}); it catches up from etcd \
                     at the next batch",
                    self.copy.path().display()
                );
            }
            self.behind = true;
            return;
        }
        self.since_prune += 1;
        if self.since_prune >= PRUNE_EVERY_BATCHES {
            self.since_prune = 0;
            self.prune(groups);
        }
    }

    /// One round of pruning old position fixes, on the journal's clock
    /// (the latest entry's time), as a single node prunes its journal.
    fn prune(&mut self, groups: &[StoredGroup]) {
        let Some(clock_ms) = groups
            .iter()
            .flat_map(|g| g.entries.iter().map(|(_, e)| e.at_ms))
            .max()
        else {
            return;
        };
        let before_ms = clock_ms.saturating_sub(self.keep_fixes_ms);
        match self
            .copy
            .prune_old(Command::REPORT_POSITION, before_ms, PRUNE_VISITS)
        {
            Ok(pruned) if pruned.deleted > 0 => log::info!(
                "journal copy {}: {} old position fixes pruned",
                self.copy.path().display(),
                pruned.deleted
            ),
            Ok(_) => {}
            Err(e) => log::error!("{e}; nothing pruned"),
        }
    }
}
