//! Client request ids: how a retried command is applied once.
//!
//! A client gives each user action an id and sends it again with every
//! retry of that action. The writer looks the id up before it applies a
//! group: an id it has seen with the same request digest is answered from
//! its record and applies nothing; with another digest it is refused. The
//! records are part of the dispatch state, so the journal's replay and the
//! snapshots bring them back after a restart.
//!
//! The window is bounded twice: a record older than
//! [`RequestWindow::max_age_ms`] when the retry arrives (both times as the
//! journal has them, so replay decides the same) or not among the latest
//! [`RequestWindow::max_count`] records is forgotten, and a retry after
//! that is a new request.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::incident::IncidentId;

/// How long and how many request ids are remembered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestWindow {
    /// A record this much older than the retry is forgotten.
    pub max_age_ms: i64,
    /// Only the latest this many records are kept.
    pub max_count: u64,
}

impl Default for RequestWindow {
    /// 24 hours and 100,000 ids: a console that lost its connection
    /// mid-shift can still retry safely, and the records stay a few
    /// megabytes.
    fn default() -> Self {
        Self {
            max_age_ms: 24 * 3600 * 1000,
            max_count: 100_000,
        }
    }
}

/// The request id a group of commands answers, as the service gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRequest {
    /// Who sent it (the token's name): ids are the caller's own, so two
    /// consoles cannot collide or read each other's answers.
    pub actor: String,
    /// The client's id.
    pub id: String,
    /// A digest of the request, without its id (hex).
    pub digest: String,
}

/// What the engine remembers of an applied request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The request.
    pub request: ClientRequest,
    /// When it was applied.
    pub at_ms: i64,
    /// The incident it reported or changed, if any: how a retry is
    /// answered with the same incident.
    pub incident: Option<IncidentId>,
    /// Its place in the order records were made (from 0).
    pub order: u64,
}

/// What the window says about a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen<'a> {
    /// Not seen (or forgotten): apply it.
    New,
    /// Applied before: answer from the record, apply nothing.
    Done(&'a RequestRecord),
    /// The id was used for a different request.
    Conflict(&'a RequestRecord),
}

/// Records move from `recent` into the shared `settled` map in batches of
/// this many, so that cloning the state (once per writer batch) copies at
/// most this many records.
const SETTLE_EVERY: usize = 1024;

type Key = (String, String);

/// The recent request ids and their outcomes.
#[derive(Clone, Debug)]
pub struct RecentRequests {
    window: RequestWindow,
    /// Older records, shared between clones.
    settled: Arc<HashMap<Key, RequestRecord>>,
    /// The latest records, copied with the state.
    recent: HashMap<Key, RequestRecord>,
    /// The order the next record gets.
    next_order: u64,
    /// The newest record's time: settling forgets what is older than the
    /// window from here.
    newest_ms: i64,
}

impl RecentRequests {
    /// An empty window.
    pub fn new(window: RequestWindow) -> Self {
        Self {
            window,
            settled: Arc::default(),
            recent: HashMap::new(),
            next_order: 0,
            newest_ms: i64::MIN,
        }
    }

    /// The bounds in force.
    pub fn window(&self) -> RequestWindow {
        self.window
    }

    /// Whether a record is still in the window at `now_ms`.
    fn is_live(&self, record: &RequestRecord, now_ms: i64) -> bool {
        record.order + self.window.max_count >= self.next_order
            && now_ms.saturating_sub(record.at_ms) <= self.window.max_age_ms
    }

    /// Looks a request arriving at `now_ms` up: new, done before, or its
    /// id used for another request.
    pub fn seen(&self, request: &ClientRequest, now_ms: i64) -> Seen<'_> {
        let key = (request.actor.clone(), request.id.clone());
        let found = self.recent.get(&key).or_else(|| self.settled.get(&key));
        match found {
            Some(record) if self.is_live(record, now_ms) => {
                if record.request.digest == request.digest {
                    Seen::Done(record)
                } else {
                    Seen::Conflict(record)
                }
            }
            _ => Seen::New,
        }
    }

    /// Records an applied request.
    pub fn record(&mut self, request: ClientRequest, at_ms: i64, incident: Option<IncidentId>) {
        self.newest_ms = self.newest_ms.max(at_ms);
        let record = RequestRecord {
            request,
            at_ms,
            incident,
            order: self.next_order,
        };
        self.next_order += 1;
        let key = (record.request.actor.clone(), record.request.id.clone());
        self.recent.insert(key, record);
        if self.recent.len() >= SETTLE_EVERY {
            self.settle();
        }
    }

    /// Moves the recent records into the shared map and forgets those
    /// outside the window.
    fn settle(&mut self) {
        let mut settled: HashMap<Key, RequestRecord> = self
            .settled
            .iter()
            .filter(|(_, r)| self.is_live(r, self.newest_ms))
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        settled.extend(self.recent.drain());
        self.settled = Arc::new(settled);
    }

    /// The records still in the window as of the newest one, oldest
    /// first: what a snapshot keeps.
    pub fn live_records(&self) -> Vec<&RequestRecord> {
        let mut records: Vec<&RequestRecord> = self
            .settled
            .iter()
            .filter(|(k, _)| !self.recent.contains_key(*k))
            .map(|(_, r)| r)
            .chain(self.recent.values())
            .filter(|r| self.is_live(r, self.newest_ms))
            .collect();
        records.sort_by_key(|r| r.order);
        records
    }

    /// The order the next record gets, and the newest command time: with
    /// the live records, all a snapshot needs.
    pub fn clock(&self) -> (u64, i64) {
        (self.next_order, self.newest_ms)
    }

    /// The window rebuilt from a snapshot.
    pub fn restore(
        window: RequestWindow,
        records: Vec<RequestRecord>,
        next_order: u64,
        newest_ms: i64,
    ) -> Self {
        let settled = records
            .into_iter()
            .map(|r| ((r.request.actor.clone(), r.request.id.clone()), r))
            .collect();
        Self {
            window,
            settled: Arc::new(settled),
            recent: HashMap::new(),
            next_order,
            newest_ms,
        }
    }
}

impl PartialEq for RecentRequests {
    /// Equal when they remember the same requests with the same outcomes;
    /// how the records are split between the two maps does not matter.
    fn eq(&self, other: &Self) -> bool {
        self.clock() == other.clock() && self.live_records() == other.live_records()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str, digest: &str) -> ClientRequest {
        ClientRequest {
            actor: "console".to_string(),
            id: id.to_string(),
            digest: digest.to_string(),
        }
    }

    #[test]
    fn a_retry_is_done_a_different_request_conflicts_and_the_window_forgets() {
        let window = RequestWindow {
            max_age_ms: 1000,
            max_count: 3,
        };
        let mut recent = RecentRequests::new(window);
        assert_eq!(recent.seen(&request("a", "1"), 0), Seen::New);
        recent.record(request("a", "1"), 0, Some(IncidentId(7)));
        assert!(
            matches!(recent.seen(&request("a", "1"), 1000), Seen::Done(r) if r.incident == Some(IncidentId(7)))
        );
        assert!(matches!(
            recent.seen(&request("a", "2"), 5),
            Seen::Conflict(_)
        ));
        // Another caller's id of the same spelling is another request.
        let mut other = request("a", "2");
        other.actor = "wall".to_string();
        assert_eq!(recent.seen(&other, 5), Seen::New);
        // Too old.
        assert_eq!(recent.seen(&request("a", "1"), 1001), Seen::New);
        // Too many: only the latest three are kept.
        for (i, id) in ["b", "c", "d", "e"].iter().enumerate() {
            recent.record(request(id, "x"), 10 + i as i64, None);
        }
        assert_eq!(recent.seen(&request("b", "x"), 20), Seen::New);
        assert!(matches!(recent.seen(&request("c", "x"), 20), Seen::Done(_)));
        assert_eq!(recent.live_records().len(), 3);
    }

    #[test]
    fn settling_and_restoring_keep_what_is_remembered() {
        let mut live = RecentRequests::new(RequestWindow {
            max_age_ms: i64::MAX,
            max_count: 1500,
        });
        for i in 0..3000 {
            live.record(request(&format!("r{i}"), "d"), i, None);
        }
        let (next, newest) = live.clock();
        let restored = RecentRequests::restore(
            live.window(),
            live.live_records().into_iter().cloned().collect(),
            next,
            newest,
        );
        assert!(restored == live);
        assert_eq!(restored.live_records().len(), 1500);
        assert_eq!(restored.seen(&request("r1499", "d"), 3000), Seen::New);
        assert!(matches!(
            restored.seen(&request("r1500", "d"), 3000),
            Seen::Done(_)
        ));
    }
}
