//! The journal's groups kept in etcd (`--features etcd`): the
//! [`JournalStore`] of a node in a deployment with hot standbys.
//!
//! Each [`append`](JournalStore::append) (one group-commit batch of the
//! writer) is one etcd batch of [`EtcdJournal`]: the groups and the
//! sequence number of their first entry, written in one transaction fenced
//! on this node's lead. A node that is refused by the fence steps down at
//! once: it drops its lead and every later append fails without reaching
//! etcd, so it never acknowledges after a takeover.
//!
//! A standby holds the same store without the lead; it follows the
//! batches ([`EtcdStore::follow`]) and hands each to
//! [`EtcdStore::apply_followed`], which says which groups it holds and
//! moves the store's end past them, so that a standby that wins the lead
//! appends right after what it applied.
//!
//! A snapshot is stored in etcd's chunks with its sequence number and
//! time before the body. Writing one deletes the batches the *previous*
//! snapshot holds: a standby a little behind still finds its next batch;
//! one further behind reloads from the snapshot.

use crate::journal::archive::ArchivedCase;
use crate::journal::entry::{Entry, Group, RequestTag, Snapshot, StoredGroup};
use crate::journal::etcd::{Campaign, EtcdError, EtcdJournal, Follower, Leader, Leadership};
use crate::journal::store::JournalStore;

/// One etcd batch: the groups of one append, numbered from `first_seq`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Batch {
    first_seq: i64,
    groups: Vec<BatchGroup>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BatchGroup {
    request: Option<(String, String)>,
    entries: Vec<BatchEntry>,
    /// The closed cases the group archived, for every node's local copy
    /// (absent from batches written before copies kept the archive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    archived: Vec<ArchivedCase>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BatchEntry {
    at_ms: i64,
    actor: String,
    kind: String,
    incident: Option<u64>,
    unit: Option<String>,
    body: String,
}

impl Batch {
    fn of(first_seq: i64, groups: &[Group]) -> Batch {
        Batch {
            first_seq,
            groups: groups
                .iter()
                .filter(|g| !g.entries.is_empty())
                .map(|g| BatchGroup {
                    request: g.request.as_ref().map(|r| (r.id.clone(), r.digest.clone())),
                    entries: g
                        .entries
                        .iter()
                        .map(|e| BatchEntry {
                            at_ms: e.at_ms,
                            actor: e.actor.clone(),
                            kind: e.kind.clone(),
                            incident: e.incident,
                            unit: e.unit.clone(),
                            body: e.body.clone(),
                        })
                        .collect(),
                    archived: g.archived.clone(),
                })
                .collect(),
        }
    }

    fn entries(&self) -> i64 {
        self.groups.iter().map(|g| g.entries.len() as i64).sum()
    }

    fn last_seq(&self) -> i64 {
        self.first_seq + self.entries() - 1
    }

    fn into_groups(self) -> Vec<StoredGroup> {
        let mut seq = self.first_seq;
        self.groups
            .into_iter()
            .map(|g| StoredGroup {
                request: g.request.map(|(id, digest)| RequestTag { id, digest }),
                entries: g
                    .entries
                    .into_iter()
                    .map(|e| {
                        let numbered = (
                            seq,
                            Entry {
                                at_ms: e.at_ms,
                                actor: e.actor,
                                kind: e.kind,
                                incident: e.incident,
                                unit: e.unit,
                                body: e.body,
                            },
                        );
                        seq += 1;
                        numbered
                    })
                    .collect(),
                archived: g.archived,
            })
            .collect()
    }
}

fn decode(seq: u64, body: &[u8]) -> Result<Batch, EtcdError> {
    serde_json::from_slice(body).map_err(|e| EtcdError::Damaged {
        key: format!("journal batch {seq}"),
        reason: format!("not a kuaifan batch: {e}"),
    })
}

/// The bytes before a snapshot's body: its last entry and its time.
const SNAPSHOT_HEADER: usize = 16;

fn encode_snapshot(snapshot: &Snapshot) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(SNAPSHOT_HEADER + snapshot.body.len());
    bytes.extend_from_slice(&snapshot.through_seq.to_le_bytes());
    bytes.extend_from_slice(&snapshot.at_ms.to_le_bytes());
    bytes.extend_from_slice(&snapshot.body);
    bytes
}

fn decode_snapshot(bytes: &[u8]) -> Result<Snapshot, EtcdError> {
    let word = |at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(i64::from_le_bytes)
    };
    match (word(0), word(8)) {
        (Some(through_seq), Some(at_ms)) => Ok(Snapshot {
            through_seq,
            at_ms,
            body: bytes[SNAPSHOT_HEADER..].to_vec(),
        }),
        _ => Err(EtcdError::Damaged {
            key: "snapshot".to_string(),
            reason: format!("{} bytes, shorter than its header", bytes.len()),
        }),
    }
}

/// A node's view of the journal in etcd: where it ends, and the lead if
/// this node holds it.
#[derive(Debug)]
pub struct EtcdStore {
    journal: EtcdJournal,
    leadership: Option<Leadership>,
    /// The last etcd batch this store wrote or applied.
    last_batch: u64,
    /// The last entry in it.
    last_seq: i64,
}

impl EtcdStore {
    /// Opens the store as a standby, at the journal's end as etcd has it
    /// now.
    pub fn open(journal: EtcdJournal) -> Result<EtcdStore, EtcdError> {
        let mut store = EtcdStore {
            journal,
            leadership: None,
            last_batch: 0,
            last_seq: 0,
        };
        store.read_end()?;
        Ok(store)
    }

    /// Loads the latest snapshot and moves the store's end to it: how a
    /// standby that fell behind a compaction (`BehindSnapshot`) starts
    /// again. The caller replaces its state with the snapshot's and
    /// follows from there.
    pub fn reload_snapshot(&mut self) -> Result<Option<Snapshot>, EtcdError> {
        let Some(stored) = self.journal.snapshot()? else {
            return Ok(None);
        };
        let snapshot = decode_snapshot(&stored.body)?;
        self.last_batch = stored.through;
        self.last_seq = snapshot.through_seq;
        Ok(Some(snapshot))
    }

    /// Reads where the journal ends: its last batch, or the snapshot when
    /// every batch is compacted away.
    fn read_end(&mut self) -> Result<(), EtcdError> {
        let last_batch = self.journal.last_seq()?;
        let (batches, _) = self.journal.read_after(last_batch.saturating_sub(1))?;
        let last_seq = match batches.last() {
            Some((seq, body)) => decode(*seq, body)?.last_seq(),
            None => self.latest_snapshot()?.map_or(0, |s| s.through_seq),
        };
        self.last_batch = last_batch;
        self.last_seq = last_seq;
        Ok(())
    }

    /// The connection to the cluster.
    pub fn journal(&self) -> &EtcdJournal {
        &self.journal
    }

    /// The last etcd batch written or applied.
    pub fn last_batch(&self) -> u64 {
        self.last_batch
    }

    /// Whether this node leads and may still believe it does.
    pub fn leads(&self) -> bool {
        self.leadership.as_ref().is_some_and(Leadership::is_held)
    }

    /// A watchdog's view of the lead, while this node holds it.
    pub fn lease_probe(&self) -> Option<crate::journal::etcd::LeaseProbe> {
        self.leadership.as_ref().map(Leadership::probe)
    }

    /// Moves the store's end back to the start of what etcd still holds:
    /// the latest snapshot (returned, for the caller's state) or, with
    /// none, the journal's first entry. A standby starting follows from
    /// here.
    pub fn rewind(&mut self) -> Result<Option<Snapshot>, EtcdError> {
        let snapshot = self.reload_snapshot()?;
        if snapshot.is_none() {
            self.last_batch = 0;
            self.last_seq = 0;
        }
        Ok(snapshot)
    }

    /// The journal's last batch as etcd has it now.
    pub fn end_batch(&self) -> Result<u64, EtcdError> {
        self.journal.last_seq()
    }

    /// Tries once to take the lead. A standby should campaign only once it
    /// has applied every batch it can read: on a win the store's end is
    /// read again, and an end past what it applied is
    /// [`EtcdError::Behind`] (the lead is given up again).
    pub fn campaign(&mut self) -> Result<Option<Leader>, EtcdError> {
        match self.journal.campaign()? {
            Campaign::Lost(leader) => Ok(Some(leader)),
            Campaign::Won(leadership) => {
                let applied = (self.last_batch, self.last_seq);
                if let Err(e) = self.read_end() {
                    let _ = self.journal.resign(leadership);
                    return Err(e);
                }
                if (self.last_batch, self.last_seq) != applied {
                    let _ = self.journal.resign(leadership);
                    return Err(EtcdError::Behind {
                        applied: applied.0,
                        end: self.last_batch,
                    });
                }
                self.leadership = Some(leadership);
                Ok(None)
            }
        }
    }

    /// Gives the lead up at once (a clean stop), so that a standby takes
    /// over without waiting for the lease.
    pub fn resign(&mut self) -> Result<(), EtcdError> {
        match self.leadership.take() {
            Some(leadership) => self.journal.resign(leadership),
            None => Ok(()),
        }
    }

    /// Follows the batches after the last one this store applied; each
    /// goes to [`apply_followed`](EtcdStore::apply_followed).
    pub fn follow(&self) -> Result<Follower, EtcdError> {
        self.journal.follow(self.last_batch)
    }

    /// The groups of a followed batch, in order; the store's end moves
    /// past them. A batch out of order is an error.
    pub fn apply_followed(&mut self, seq: u64, body: &[u8]) -> Result<Vec<StoredGroup>, EtcdError> {
        if seq != self.last_batch + 1 {
            return Err(EtcdError::Damaged {
                key: format!("journal batch {seq}"),
                reason: format!("followed after batch {}", self.last_batch),
            });
        }
        let batch = decode(seq, body)?;
        if batch.first_seq != self.last_seq + 1 {
            return Err(EtcdError::Damaged {
                key: format!("journal batch {seq}"),
                reason: format!(
                    "its first entry is {}, the entry before it {}",
                    batch.first_seq, self.last_seq
                ),
            });
        }
        self.last_batch = seq;
        self.last_seq = batch.last_seq();
        Ok(batch.into_groups())
    }

    /// Calls `each` with every group after entry `after_seq` that etcd
    /// still holds: where a snapshot took the first of them with their
    /// batches, from the first it holds (a local copy notes the gap).
    pub fn for_each_held_group_after(
        &self,
        after_seq: i64,
        each: &mut dyn FnMut(StoredGroup) -> Result<(), EtcdError>,
    ) -> Result<(), EtcdError> {
        self.walk_after(after_seq, false, each)
    }

    /// The groups after `after_seq` in the batches etcd holds; `whole`
    /// refuses a start a snapshot took ([`EtcdError::BehindSnapshot`]).
    fn walk_after(
        &self,
        after_seq: i64,
        whole: bool,
        each: &mut dyn FnMut(StoredGroup) -> Result<(), EtcdError>,
    ) -> Result<(), EtcdError> {
        let (batches, _) = self.journal.read_after(0)?;
        let mut expected = None;
        for (seq, body) in batches {
            let batch = decode(seq, &body)?;
            if whole && expected.is_none() && batch.first_seq > after_seq + 1 {
                // The entries wanted went into a snapshot with their batches.
                return Err(EtcdError::BehindSnapshot { through: seq - 1 });
            }
            if expected.is_some_and(|e| e != batch.first_seq) {
                return Err(EtcdError::Damaged {
                    key: format!("journal batch {seq}"),
                    reason: "a gap in the entries before it".to_string(),
                });
            }
            expected = Some(batch.last_seq() + 1);
            for group in batch.into_groups() {
                if group.last_seq() > after_seq {
                    each(group)?;
                }
            }
        }
        Ok(())
    }

    fn lead(&self) -> Result<&Leadership, EtcdError> {
        match &self.leadership {
            Some(leadership) => Ok(leadership),
            None => Err(EtcdError::Fenced {
                leader: self.journal.leader().ok().flatten().map(|l| l.node),
            }),
        }
    }

    /// Drops the lead when etcd said it is gone.
    fn step_down_on<T>(&mut self, result: Result<T, EtcdError>) -> Result<T, EtcdError> {
        if let Err(EtcdError::Fenced { leader }) = &result {
            log::warn!(
                "this node no longer leads (the leader is {}); stepping down",
                leader.as_deref().unwrap_or("unknown")
            );
            self.leadership = None;
        }
        result
    }
}

impl From<EtcdError> for crate::journal::JournalError {
    fn from(error: EtcdError) -> Self {
        crate::journal::JournalError::Replicated(error.to_string())
    }
}

impl JournalStore for EtcdStore {
    type Error = EtcdError;

    fn location(&self) -> std::path::PathBuf {
        let config = self.journal.config();
        std::path::PathBuf::from(format!("etcd:{}", config.prefix))
    }

    fn last_seq(&self) -> i64 {
        self.last_seq
    }

    fn append(&mut self, groups: &[Group]) -> Result<i64, EtcdError> {
        let batch = Batch::of(self.last_seq + 1, groups);
        if batch.groups.is_empty() {
            return Ok(self.last_seq);
        }
        let body = serde_json::to_vec(&batch).map_err(|e| EtcdError::Damaged {
            key: format!("journal batch {}", self.last_batch + 1),
            reason: e.to_string(),
        })?;
        let seq = self.last_batch + 1;
        let written = self
            .lead()
            .and_then(|lead| self.journal.append(lead, seq, &body));
        self.step_down_on(written)?;
        self.last_batch = seq;
        self.last_seq = batch.last_seq();
        Ok(self.last_seq)
    }

    fn for_each_group_after(
        &self,
        after_seq: i64,
        each: &mut dyn FnMut(StoredGroup) -> Result<(), EtcdError>,
    ) -> Result<(), EtcdError> {
        self.walk_after(after_seq, true, each)
    }

    fn write_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), EtcdError> {
        if snapshot.through_seq != self.last_seq {
            return Err(EtcdError::SnapshotNotAtEnd {
                through_seq: snapshot.through_seq,
                last_seq: self.last_seq,
            });
        }
        let previous = self.journal.snapshot_through()?;
        let through = self.last_batch;
        let written = self.lead().and_then(|lead| {
            self.journal
                .put_snapshot(lead, through, &encode_snapshot(snapshot))?;
            match previous {
                Some(previous) if previous > 0 => self.journal.compact_through(lead, previous),
                _ => Ok(()),
            }
        });
        self.step_down_on(written)
    }

    fn latest_snapshot(&self) -> Result<Option<Snapshot>, EtcdError> {
        self.journal
            .snapshot()?
            .map(|stored| decode_snapshot(&stored.body))
            .transpose()
    }
}
