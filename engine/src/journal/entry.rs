//! What the journal keeps, in its own terms: entries with audit columns
//! and an opaque body, grouped as they were applied.

use crate::journal::archive::ArchivedCase;

/// One accepted command: the audit columns an auditor queries, and the
/// body the engine replays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Who gave it.
    pub actor: String,
    /// A short name of its kind (`report_incident`, `assign`, …).
    pub kind: String,
    /// The incident it concerns, if any.
    pub incident: Option<u64>,
    /// The unit it concerns, if any.
    pub unit: Option<String>,
    /// The command itself, in the engine's stored form (JSON text).
    pub body: String,
}

/// The client request a group answered: its id (the client's) and a digest
/// of the request, which tells a retry from a different request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestTag {
    /// The client's request id.
    pub id: String,
    /// A digest of the request (hex).
    pub digest: String,
}

/// Entries applied together, all or none: what one call changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The client request it answered, if the client gave an id.
    pub request: Option<RequestTag>,
    /// Its entries, in order.
    pub entries: Vec<Entry>,
    /// The cases its entries move out of the live state into the archive,
    /// written in the same transaction.
    pub archived: Vec<ArchivedCase>,
}

/// A group read back, with each entry's sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredGroup {
    /// The client request it answered.
    pub request: Option<RequestTag>,
    /// Its entries with their sequence numbers, in order.
    pub entries: Vec<(i64, Entry)>,
    /// The cases it moved into the archive, where the store hands them
    /// back (the replicated journal does, for every node's local copy;
    /// SQLite keeps them in its archive table and leaves this empty).
    pub archived: Vec<ArchivedCase>,
}

impl StoredGroup {
    /// `groups` as a store numbers them, from `first_seq` on; groups with
    /// no entries are left out, as every store leaves them out.
    pub fn numbered(groups: &[Group], first_seq: i64) -> Vec<StoredGroup> {
        let mut seq = first_seq;
        groups
            .iter()
            .filter(|g| !g.entries.is_empty())
            .map(|g| StoredGroup {
                request: g.request.clone(),
                entries: g
                    .entries
                    .iter()
                    .map(|e| {
                        seq += 1;
                        (seq - 1, e.clone())
                    })
                    .collect(),
                archived: g.archived.clone(),
            })
            .collect()
    }

    /// The sequence number of its last entry.
    pub fn last_seq(&self) -> i64 {
        self.entries.last().map_or(0, |(seq, _)| *seq)
    }
}

/// A snapshot of the whole state as it stood after entry `through_seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The last entry it includes.
    pub through_seq: i64,
    /// When it was taken (ms since the epoch).
    pub at_ms: i64,
    /// The engine's stored form of its state.
    pub body: Vec<u8>,
}
