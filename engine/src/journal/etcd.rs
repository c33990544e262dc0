//! The replicated journal in etcd, for a hot standby (`--features etcd`).
//!
//! etcd (Raft, three or five members) holds who leads and what was
//! committed; kuaifan runs no consensus of its own. Under the cluster's
//! key prefix:
//!
//! ```text
//! {prefix}/leader                  the leader's name and address, on its lease
//! {prefix}/journal/{seq:020}       one group-commit batch each, seq 1, 2, 3, … without gaps
//! {prefix}/snapshot/latest         which snapshot is whole: its last seq, chunks, size, digest
//! {prefix}/snapshot/{seq:020}/{i}  its chunks, at most 1 MiB each
//! ```
//!
//! **The fence is in the write.** A node leads while the leader key it
//! created lives; the key is on its lease, which etcd deletes when the
//! node stops renewing it (crash, pause, partition). Every append is one
//! transaction that succeeds only if the leader key still has the create
//! revision this node's campaign gave it *and* the batch's sequence key
//! does not exist yet. A former leader, paused past its lease and resumed,
//! finds the key gone or another's: its write fails, it learns it lost
//! ([`EtcdError::Fenced`]), and it must never acknowledge again. Two
//! writers can never both append the same sequence number.
//!
//! **An unknown outcome is resolved by reading.** A transaction whose
//! answer is lost (the etcd member died mid-call) may or may not have
//! committed. The same append is simply tried again: if the first try
//! committed, the sequence key exists, and its value tells whether it is
//! this batch (success) or another writer's (fenced).
//!
//! **Standbys follow** with [`EtcdJournal::follow`]: the batches after a
//! sequence number, read at one revision, then a watch from the next
//! revision, in commit order. Old batches are deleted once a snapshot
//! holds them and etcd's history is compacted; a standby that wants a
//! batch gone into the snapshot gets [`EtcdError::BehindSnapshot`] and
//! reloads from [`EtcdJournal::snapshot`]. A lost watch (its member died)
//! is opened again on another member, from the next batch wanted.
//!
//! The calls are blocking: the dispatch writer is a plain thread. The
//! journal owns a small runtime for the etcd client and its lease
//! renewals.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions, PutOptions,
    Txn, TxnOp, TxnOpResponse, WatchOptions,
};
use sha2::{Digest, Sha256};

/// One journal batch as etcd holds it: its sequence number and its body.
pub type RawBatch = (u64, Vec<u8>);

/// The largest snapshot chunk: etcd refuses requests over 1.5 MiB by
/// default, and a chunk is one request.
pub const SNAPSHOT_CHUNK_BYTES: usize = 1 << 20;

/// How long one etcd call may take before it is given up (and, for an
/// append, tried again).
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// How long to wait before a call that failed on one etcd member is
/// tried again (on another, once the client has noticed).
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// Where the cluster is and who this node is.
#[derive(Clone, Debug)]
pub struct EtcdConfig {
    /// The etcd members' client URLs (`http://10.0.0.1:2379`, …).
    pub endpoints: Vec<String>,
    /// The key prefix of this deployment: two cities may share a cluster.
    pub prefix: String,
    /// This node's name, unique in the deployment.
    pub node: String,
    /// The address clients reach this node at, told to them when it leads.
    pub advertise: String,
    /// The leader's lease: how long a node that stopped renewing it (a
    /// crash, a pause, a partition) still holds the lead.
    pub lease: Duration,
}

/// Why an etcd journal call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EtcdError {
    /// etcd could not be reached or refused the call.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// A call took longer than its timeout.
    #[error("etcd did not answer within {0:?}")]
    Timeout(Duration),
    /// This node no longer leads: its write was refused. It must step down.
    #[error("this node no longer leads (the leader is {})", .leader.as_deref().unwrap_or("unknown"))]
    Fenced {
        /// Who leads now, if anyone does.
        leader: Option<String>,
    },
    /// etcd compacted the history a watch still needed (it lagged); the
    /// follower reads again from the next batch it wants.
    #[error("etcd compacted its history at revision {0} under a lagging watch")]
    Compacted(i64),
    /// The sequence number is taken by another batch while this node
    /// leads: the caller's idea of the next number is wrong.
    #[error("journal batch {seq} is already taken by another batch")]
    Taken {
        /// The number.
        seq: u64,
    },
    /// The batches a follower needed are gone: a snapshot holds them.
    /// Reload from the snapshot, then follow from its last batch.
    #[error("the journal's batches through {through} are in a snapshot now; reload from it")]
    BehindSnapshot {
        /// The snapshot's last batch.
        through: u64,
    },
    /// A standby won the lead before it applied the journal's end: it
    /// gave the lead up again, and should follow to the end first.
    #[error("won the lead having applied batch {applied}, but the journal ends at {end}")]
    Behind {
        /// The last batch it applied.
        applied: u64,
        /// The journal's last batch.
        end: u64,
    },
    /// A snapshot must hold the state at the journal's end.
    #[error("a snapshot through entry {through_seq} while the journal ends at {last_seq}")]
    SnapshotNotAtEnd {
        /// The snapshot's last entry.
        through_seq: i64,
        /// The journal's last entry.
        last_seq: i64,
    },
    /// A value in etcd that kuaifan did not write or cannot read.
    #[error("etcd key {key}: {reason}")]
    Damaged {
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The journal's runtime could not start.
    #[error("starting the etcd client's runtime: {0}")]
    Runtime(std::io::Error),
}

/// Who leads, as the leader key says.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Leader {
    /// The node's name.
    pub node: String,
    /// Where clients reach it.
    pub advertise: String,
}

/// The lead, held by this node while it lasts. Dropping it stops the
/// renewals (the lease then runs out); [`EtcdJournal::resign`] gives the
/// lead up at once.
#[derive(Debug)]
pub struct Leadership {
    lease: i64,
    /// The leader key's create revision: the fence every append compares.
    revision: i64,
    state: Arc<LeaseState>,
    ttl: Duration,
    renewer: tokio::task::JoinHandle<()>,
}

/// What a node may believe of its lease, by what etcd last confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseStanding {
    /// A renewal etcd confirmed was sent less than a TTL ago: the lease
    /// runs in etcd, and this node leads.
    Held,
    /// No renewal confirmed for more than a TTL, though etcd has not said
    /// the lease is gone: etcd is electing a new Raft leader, or is out of
    /// reach. The lease may have run out there and another node may lead,
    /// so the node takes nothing it cannot fence (commands, position
    /// reports) until a renewal is confirmed again. A confirmed renewal
    /// proves the lease never ran out, since etcd revokes a lease that
    /// runs out for good: the node then leads as before, and no other node
    /// can have led in between.
    InDoubt,
    /// etcd said the lease is gone, or it stayed in doubt for a second
    /// TTL ([`DOUBT_FOR_TTLS`]).
    Lost,
}

/// How many TTLs without a confirmed renewal a lease stays in doubt
/// before it is taken as lost. An etcd election takes one to two election
/// timeouts (1 to 2 s by default), which can outlast the rest of a 3 s
/// lease on a loaded machine; a lease unconfirmed for twice its TTL means
/// etcd has been out of reach far longer than an election, and the node
/// stepping down (its supervisor starts it again, as a standby) loses
/// nothing.
pub const DOUBT_FOR_TTLS: u32 = 2;

/// What the renewal task knows of the lease.
#[derive(Debug)]
struct LeaseState {
    /// Cleared once etcd said the lease is gone or the renewal gave up.
    alive: AtomicBool,
    /// When the last renewal that etcd confirmed was *sent*, in ms since
    /// `epoch`: the lease runs at least a TTL from then.
    renewed_ms: AtomicU64,
    epoch: Instant,
}

impl LeaseState {
    fn standing(&self, ttl: Duration) -> LeaseStanding {
        if !self.alive.load(Ordering::Acquire) {
            return LeaseStanding::Lost;
        }
        let unconfirmed = self.since_confirmed();
        if unconfirmed < ttl {
            LeaseStanding::Held
        } else if unconfirmed < ttl * DOUBT_FOR_TTLS {
            LeaseStanding::InDoubt
        } else {
            LeaseStanding::Lost
        }
    }

    /// How long since the last renewal etcd confirmed was sent.
    fn since_confirmed(&self) -> Duration {
        let renewed = Duration::from_millis(self.renewed_ms.load(Ordering::Acquire));
        self.epoch.elapsed().saturating_sub(renewed)
    }
}

impl Leadership {
    /// The leader key's create revision (the fence).
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The etcd lease the leader key is on.
    pub fn lease_id(&self) -> i64 {
        self.lease
    }

    /// Whether this node may believe it leads: its lease is
    /// [`LeaseStanding::Held`]. A node for which this turns false must
    /// stop taking what it cannot fence at once, before any write tells
    /// it; the fence in the write holds even when this is late (a paused
    /// process).
    pub fn is_held(&self) -> bool {
        self.standing() == LeaseStanding::Held
    }

    /// What this node may believe of its lease now.
    pub fn standing(&self) -> LeaseStanding {
        self.state.standing(self.ttl)
    }

    /// A handle that tells, from any thread, what the node may believe of
    /// its lease ([`Leadership::standing`]), while the writer owns the
    /// lead itself.
    pub fn probe(&self) -> LeaseProbe {
        LeaseProbe {
            state: Arc::clone(&self.state),
            ttl: self.ttl,
        }
    }
}

/// [`Leadership::standing`] for a watchdog on another thread.
#[derive(Clone, Debug)]
pub struct LeaseProbe {
    state: Arc<LeaseState>,
    ttl: Duration,
}

impl LeaseProbe {
    /// As [`Leadership::standing`].
    pub fn standing(&self) -> LeaseStanding {
        self.state.standing(self.ttl)
    }

    /// How long since the last renewal etcd confirmed was sent.
    pub fn since_confirmed(&self) -> Duration {
        self.state.since_confirmed()
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// The outcome of one campaign.
#[derive(Debug)]
pub enum Campaign {
    /// This node leads now.
    Won(Leadership),
    /// Another node leads.
    Lost(Leader),
}

/// The latest whole snapshot, as [`EtcdJournal::snapshot`] reads it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// The last batch it includes.
    pub through: u64,
    /// Its body.
    pub body: Vec<u8>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct SnapshotHead {
    through: u64,
    chunks: usize,
    bytes: usize,
    sha256: String,
}

/// A connection to the cluster, for one node.
pub struct EtcdJournal {
    runtime: tokio::runtime::Runtime,
    client: Client,
    config: EtcdConfig,
}

impl std::fmt::Debug for EtcdJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdJournal")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EtcdJournal {
    /// Connects to the cluster (any one member answering is enough).
    pub fn connect(config: EtcdConfig) -> Result<EtcdJournal, EtcdError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kuaifan-etcd")
            .enable_all()
            .build()
            .map_err(EtcdError::Runtime)?;
        let options = ConnectOptions::new()
            .with_connect_timeout(CALL_TIMEOUT)
            .with_timeout(CALL_TIMEOUT)
            .with_keep_alive(Duration::from_secs(1), CALL_TIMEOUT)
            // A member cut off from the Raft leader refuses at once
            // rather than serve a stale read or hang.
            .with_require_leader(true);
        let client = runtime.block_on(timed(Client::connect(
            config.endpoints.clone(),
            Some(options),
        )))??;
        Ok(EtcdJournal {
            runtime,
            client,
            config,
        })
    }

    /// The deployment's configuration.
    pub fn config(&self) -> &EtcdConfig {
        &self.config
    }

    fn key(&self, rest: &str) -> String {
        format!("{}/{rest}", self.config.prefix)
    }

    fn leader_key(&self) -> String {
        self.key("leader")
    }

    fn batch_key(&self, seq: u64) -> String {
        self.key(&format!("journal/{seq:020}"))
    }

    fn batch_prefix(&self) -> String {
        self.key("journal/")
    }

    fn run<T>(
        &self,
        call: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, EtcdError> {
        Ok(self.runtime.block_on(timed(call))??)
    }

    /// Who leads now, if anyone.
    pub fn leader(&self) -> Result<Option<Leader>, EtcdError> {
        let mut client = self.client.clone();
        let key = self.leader_key();
        let got = self.run(async move { client.get(key, None).await })?;
        got.kvs()
            .first()
            .map(|kv| parse_leader(&self.leader_key(), kv.value()))
            .transpose()
    }

    /// Tries once to take the lead: creates the leader key on a new lease
    /// if no node holds it. The winner's lease is renewed in the
    /// background (every third of its TTL) until the lead is dropped or
    /// lost.
    pub fn campaign(&self) -> Result<Campaign, EtcdError> {
        let ttl_s = self.config.lease.as_secs().max(1) as i64;
        let mut client = self.client.clone();
        let lease = self.run(async move { client.lease_grant(ttl_s, None).await })?;
        let lease_id = lease.id();
        let granted_at = Instant::now();
        let me = Leader {
            node: self.config.node.clone(),
            advertise: self.config.advertise.clone(),
        };
        let value = serde_json::to_vec(&me).map_err(|e| EtcdError::Damaged {
            key: self.leader_key(),
            reason: e.to_string(),
        })?;
        let key = self.leader_key();
        let txn = Txn::new()
            .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(
                key.clone(),
                value,
                Some(PutOptions::new().with_lease(lease_id)),
            )])
            .or_else([TxnOp::get(key.clone(), None)]);
        let mut client = self.client.clone();
        let answer = self.run(async move { client.txn(txn).await })?;
        if !answer.succeeded() {
            let mut client = self.client.clone();
            let _ = self.run(async move { client.lease_revoke(lease_id).await });
            let held = answer.op_responses().into_iter().find_map(|r| match r {
                TxnOpResponse::Get(g) => g.kvs().first().map(|kv| kv.value().to_vec()),
                _ => None,
            });
            return match held {
                Some(value) => Ok(Campaign::Lost(parse_leader(&key, &value)?)),
                // The holder's lease ran out between the compare and now.
                None => self.campaign(),
            };
        }
        let revision = answer.header().map_or(0, |h| h.revision());
        let state = Arc::new(LeaseState {
            alive: AtomicBool::new(true),
            renewed_ms: AtomicU64::new(0),
            epoch: granted_at,
        });
        let renewer = self.runtime.spawn(renew(
            self.client.clone(),
            lease_id,
            self.config.lease,
            Arc::clone(&state),
        ));
        Ok(Campaign::Won(Leadership {
            lease: lease_id,
            revision,
            state,
            ttl: self.config.lease,
            renewer,
        }))
    }

    /// Gives the lead up at once (a clean shutdown): the leader key goes
    /// with the lease, and a standby may take over without waiting for it
    /// to run out.
    pub fn resign(&self, leadership: Leadership) -> Result<(), EtcdError> {
        leadership.renewer.abort();
        let lease = leadership.lease;
        let mut client = self.client.clone();
        self.run(async move { client.lease_revoke(lease).await })
            .map(drop)
    }

    /// The fence: the leader key still has the revision this node's
    /// campaign created it at.
    fn fence(&self, leadership: &Leadership) -> Compare {
        Compare::create_revision(self.leader_key(), CompareOp::Equal, leadership.revision)
    }

    /// Appends batch `seq` (the one after the last), fenced: it succeeds
    /// only while this node leads and `seq` is free. Returns the etcd
    /// revision it committed at. A lost answer is tried again; an append
    /// that turns out to have committed the first time is a success.
    pub fn append(
        &self,
        leadership: &Leadership,
        seq: u64,
        batch: &[u8],
    ) -> Result<i64, EtcdError> {
        let key = self.batch_key(seq);
        // Tried until it is decided, for as long as the lead is not lost:
        // through an etcd election the lease is in doubt and the fence
        // decides; if etcd stays out of reach, the lease is lost and the
        // node steps down unacknowledged.
        loop {
            if leadership.standing() == LeaseStanding::Lost {
                return Err(EtcdError::Fenced {
                    leader: self.leader().ok().flatten().map(|l| l.node),
                });
            }
            let txn = Txn::new()
                .when([
                    self.fence(leadership),
                    Compare::create_revision(key.clone(), CompareOp::Equal, 0),
                ])
                .and_then([TxnOp::put(key.clone(), batch.to_vec(), None)])
                .or_else([
                    TxnOp::get(self.leader_key(), None),
                    TxnOp::get(key.clone(), None),
                ]);
            let mut client = self.client.clone();
            match self.run(async move { client.txn(txn).await }) {
                Ok(answer) if answer.succeeded() => {
                    return Ok(answer.header().map_or(0, |h| h.revision()));
                }
                Ok(answer) => {
                    let mut found = answer.op_responses().into_iter().map(|r| match r {
                        TxnOpResponse::Get(g) => g.kvs().first().map(|kv| {
                            (kv.value().to_vec(), kv.create_revision(), kv.mod_revision())
                        }),
                        _ => None,
                    });
                    let leader = found.next().flatten();
                    let existing = found.next().flatten();
                    let still_ours = leader.as_ref().is_some_and(|l| l.1 == leadership.revision);
                    if still_ours && let Some((value, _, revision)) = &existing {
                        // Our own earlier try committed: the batch is there.
                        if value == batch {
                            return Ok(*revision);
                        }
                        return Err(EtcdError::Taken { seq });
                    }
                    let leader = leader.and_then(|(v, _, _)| parse_leader(&key, &v).ok());
                    return Err(EtcdError::Fenced {
                        leader: leader.map(|l| l.node),
                    });
                }
                Err(e) => {
                    log::warn!("appending journal batch {seq}: {e}; trying again");
                    std::thread::sleep(RETRY_AFTER);
                }
            }
        }
    }

    /// The batches after `seq` in order, read at one revision, and that
    /// revision. Read in pages ([`read_range`]): a standby restarted
    /// behind a busy hour finds more than one answer may carry.
    pub fn read_after(&self, seq: u64) -> Result<(Vec<RawBatch>, i64), EtcdError> {
        let from = self.batch_key(seq + 1);
        let end = prefix_end(&self.batch_prefix());
        let mut client = self.client.clone();
        let (kvs, revision) = self
            .runtime
            .block_on(async move { read_range(&mut client, from.into_bytes(), end).await })?;
        let mut batches = Vec::with_capacity(kvs.len());
        for kv in &kvs {
            batches.push((self.parse_seq(kv.key())?, kv.value().to_vec()));
        }
        Ok((batches, revision))
    }

    /// The last batch's sequence number: 0 for an empty journal, else the
    /// highest of the batches and the snapshot's last batch.
    pub fn last_seq(&self) -> Result<u64, EtcdError> {
        let prefix = self.batch_prefix();
        let mut client = self.client.clone();
        let got = self.run(async move {
            client
                .get(
                    prefix,
                    Some(
                        GetOptions::new()
                            .with_prefix()
                            .with_keys_only()
                            .with_sort(
                                etcd_client::SortTarget::Key,
                                etcd_client::SortOrder::Descend,
                            )
                            .with_limit(1),
                    ),
                )
                .await
        })?;
        let last = got
            .kvs()
            .first()
            .map(|kv| self.parse_seq(kv.key()))
            .transpose()?
            .unwrap_or(0);
        let snapshot = self.snapshot_head()?.map_or(0, |h| h.through);
        Ok(last.max(snapshot))
    }

    fn parse_seq(&self, key: &[u8]) -> Result<u64, EtcdError> {
        let text = String::from_utf8_lossy(key);
        text.strip_prefix(&self.batch_prefix())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| EtcdError::Damaged {
                key: text.to_string(),
                reason: "not a journal batch key".to_string(),
            })
    }

    /// Follows the journal from the batch after `seq`: the batches there
    /// now, then each one as it commits, in order, on the returned
    /// channel. A lost watch (its etcd member died) is opened again on
    /// another member from the last batch received. The channel ends with
    /// [`EtcdError::BehindSnapshot`] when the batches wanted are gone into
    /// a snapshot, and with [`EtcdError::Damaged`] on a gap.
    pub fn follow(&self, seq: u64) -> Result<Follower, EtcdError> {
        let keys = Keys {
            prefix: self.config.prefix.clone(),
        };
        // Refuse at once a start the snapshot has overtaken.
        let head = self.snapshot_head()?;
        if let Some(head) = head.filter(|h| h.through > seq) {
            return Err(EtcdError::BehindSnapshot {
                through: head.through,
            });
        }
        let (send, receive) = mpsc::channel();
        let task = self
            .runtime
            .spawn(follow_batches(self.client.clone(), keys, seq + 1, send));
        Ok(Follower {
            batches: receive,
            task,
        })
    }

    /// The last batch the latest whole snapshot holds, if there is one.
    pub fn snapshot_through(&self) -> Result<Option<u64>, EtcdError> {
        Ok(self.snapshot_head()?.map(|h| h.through))
    }

    fn snapshot_head(&self) -> Result<Option<SnapshotHead>, EtcdError> {
        let key = self.key("snapshot/latest");
        let mut client = self.client.clone();
        let got = self.run(async move { client.get(key, None).await })?;
        got.kvs()
            .first()
            .map(|kv| {
                serde_json::from_slice(kv.value()).map_err(|e| EtcdError::Damaged {
                    key: self.key("snapshot/latest"),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// Stores a snapshot of the state through batch `through`, in chunks
    /// of at most [`SNAPSHOT_CHUNK_BYTES`], each write fenced; the
    /// snapshot counts only once its head names it, written last. Older
    /// snapshots' chunks are then deleted.
    pub fn put_snapshot(
        &self,
        leadership: &Leadership,
        through: u64,
        body: &[u8],
    ) -> Result<(), EtcdError> {
        let chunks: Vec<&[u8]> = if body.is_empty() {
            vec![&[][..]]
        } else {
            body.chunks(SNAPSHOT_CHUNK_BYTES).collect()
        };
        for (i, chunk) in chunks.iter().enumerate() {
            let key = self.key(&format!("snapshot/{through:020}/{i:06}"));
            self.fenced(leadership, vec![TxnOp::put(key, chunk.to_vec(), None)])?;
        }
        let head = SnapshotHead {
            through,
            chunks: chunks.len(),
            bytes: body.len(),
            sha256: hex(&Sha256::digest(body)),
        };
        let head = serde_json::to_vec(&head).map_err(|e| EtcdError::Damaged {
            key: self.key("snapshot/latest"),
            reason: e.to_string(),
        })?;
        self.fenced(
            leadership,
            vec![TxnOp::put(self.key("snapshot/latest"), head, None)],
        )?;
        // Chunks of older snapshots: every snapshot key sorting before
        // this one's.
        let from = self.key("snapshot/0");
        let to = self.key(&format!("snapshot/{through:020}"));
        self.fenced(
            leadership,
            vec![TxnOp::delete(
                from,
                Some(DeleteOptions::new().with_range(to)),
            )],
        )
        .map(drop)
    }

    /// The latest whole snapshot, checked against its digest.
    pub fn snapshot(&self) -> Result<Option<StoredSnapshot>, EtcdError> {
        let Some(head) = self.snapshot_head()? else {
            return Ok(None);
        };
        let prefix = self.key(&format!("snapshot/{:020}/", head.through));
        let mut client = self.client.clone();
        let (from, end) = (prefix.clone().into_bytes(), prefix_end(&prefix));
        // In pages: a snapshot of more than four chunks does not fit one
        // answer.
        let (chunks, _) = self
            .runtime
            .block_on(async move { read_range(&mut client, from, end).await })?;
        let mut body = Vec::with_capacity(head.bytes);
        for kv in &chunks {
            body.extend_from_slice(kv.value());
        }
        let damaged = |reason: String| EtcdError::Damaged {
            key: prefix.clone(),
            reason,
        };
        if chunks.len() != head.chunks || body.len() != head.bytes {
            return Err(damaged(format!(
                "{} chunks of {} bytes, the head says {} of {}",
                chunks.len(),
                body.len(),
                head.chunks,
                head.bytes
            )));
        }
        if hex(&Sha256::digest(&body)) != head.sha256 {
            return Err(damaged("its digest does not match".to_string()));
        }
        Ok(Some(StoredSnapshot {
            through: head.through,
            body,
        }))
    }

    /// Deletes the batches up to `through` (a snapshot holds them) and
    /// compacts etcd's history to now, so the cluster's store stays small.
    /// A follower whose watch starts before then reloads the snapshot.
    pub fn compact_through(&self, leadership: &Leadership, through: u64) -> Result<(), EtcdError> {
        let from = self.batch_prefix();
        let to = self.batch_key(through + 1);
        let revision = self.fenced(
            leadership,
            vec![TxnOp::delete(
                from,
                Some(DeleteOptions::new().with_range(to)),
            )],
        )?;
        let mut client = self.client.clone();
        self.run(async move { client.compact(revision, None).await })
            .map(drop)
    }

    /// Runs `ops` in one transaction fenced on this node's lead; the
    /// revision it committed at.
    fn fenced(&self, leadership: &Leadership, ops: Vec<TxnOp>) -> Result<i64, EtcdError> {
        let txn = Txn::new()
            .when([self.fence(leadership)])
            .and_then(ops)
            .or_else([TxnOp::get(self.leader_key(), None)]);
        let mut client = self.client.clone();
        let answer = self.run(async move { client.txn(txn).await })?;
        if answer.succeeded() {
            return Ok(answer.header().map_or(0, |h| h.revision()));
        }
        let leader = answer.op_responses().into_iter().find_map(|r| match r {
            TxnOpResponse::Get(g) => g
                .kvs()
                .first()
                .and_then(|kv| parse_leader(&self.leader_key(), kv.value()).ok()),
            _ => None,
        });
        Err(EtcdError::Fenced {
            leader: leader.map(|l| l.node),
        })
    }
}

/// Batches as they commit, from [`EtcdJournal::follow`].
#[derive(Debug)]
pub struct Follower {
    batches: mpsc::Receiver<Result<RawBatch, EtcdError>>,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    /// The next batch, waiting up to `timeout`; `Ok(None)` when none came.
    pub fn next(&self, timeout: Duration) -> Result<Option<RawBatch>, EtcdError> {
        match self.batches.recv_timeout(timeout) {
            Ok(batch) => batch.map(Some),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(EtcdError::Damaged {
                key: "watch".to_string(),
                reason: "the watch ended".to_string(),
            }),
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The key layout, for the follower's task.
#[derive(Debug)]
struct Keys {
    prefix: String,
}

impl Keys {
    fn batch(&self, seq: u64) -> String {
        format!("{}/journal/{seq:020}", self.prefix)
    }

    fn batches(&self) -> String {
        format!("{}/journal/", self.prefix)
    }

    fn snapshot_head(&self) -> String {
        format!("{}/snapshot/latest", self.prefix)
    }

    fn seq(&self, key: &[u8]) -> Result<u64, EtcdError> {
        let text = String::from_utf8_lossy(key);
        text.strip_prefix(&self.batches())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| EtcdError::Damaged {
                key: text.to_string(),
                reason: "not a journal batch key".to_string(),
            })
    }
}

type Batches = mpsc::Sender<Result<RawBatch, EtcdError>>;

/// The follower's task: read what is there from `next` on, watch for
/// the rest; when the watch is lost, start again from the next batch
/// wanted. Ends on an error only the caller can resolve, or when the
/// receiver is gone.
async fn follow_batches(mut client: Client, keys: Keys, mut next: u64, send: Batches) {
    loop {
        match follow_once(&mut client, &keys, &mut next, &send).await {
            Ok(()) => return,
            Err(e @ (EtcdError::BehindSnapshot { .. } | EtcdError::Damaged { .. })) => {
                let _ = send.send(Err(e));
                return;
            }
            Err(e) => {
                log::warn!("following the journal from batch {next}: {e}; watching again");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

/// One read and one watch; `Ok` when the receiver is gone.
async fn follow_once(
    client: &mut Client,
    keys: &Keys,
    next: &mut u64,
    send: &Batches,
) -> Result<(), EtcdError> {
    let (kvs, revision) = read_range(
        client,
        keys.batch(*next).into_bytes(),
        prefix_end(&keys.batches()),
    )
    .await?;
    if let Some(first) = kvs.first()
        && keys.seq(first.key())? != *next
    {
        // The batches from `next` on were deleted: a snapshot has them.
        let head = timed(client.get(keys.snapshot_head(), None)).await??;
        let through = head
            .kvs()
            .first()
            .and_then(|kv| serde_json::from_slice::<SnapshotHead>(kv.value()).ok())
            .map_or(0, |h| h.through);
        if through >= *next {
            return Err(EtcdError::BehindSnapshot { through });
        }
        return Err(EtcdError::Damaged {
            key: keys.batch(keys.seq(first.key())?),
            reason: format!("a gap in the journal: batch {} is missing", *next),
        });
    }
    for kv in &kvs {
        if pass(keys, kv, next, send)?.is_none() {
            return Ok(());
        }
    }
    let options = WatchOptions::new()
        .with_prefix()
        .with_start_revision(revision + 1);
    let mut stream = timed(client.watch(keys.batches(), Some(options))).await??;
    loop {
        let Some(message) = stream.message().await? else {
            return Err(EtcdError::Timeout(CALL_TIMEOUT));
        };
        if message.compact_revision() > 0 {
            // History compacted under a watch that lagged: read again.
            return Err(EtcdError::Compacted(message.compact_revision()));
        }
        if message.canceled() {
            return Err(EtcdError::Damaged {
                key: keys.batches(),
                reason: format!("the watch was cancelled: {}", message.cancel_reason()),
            });
        }
        for event in message.events() {
            // Deletions are compactions of batches a snapshot holds.
            if event.event_type() != EventType::Put {
                continue;
            }
            let Some(kv) = event.kv() else { continue };
            if pass(keys, kv, next, send)?.is_none() {
                return Ok(());
            }
        }
    }
}

/// Keys read in one answer at first. etcd refuses a put over 1.5 MiB, so
/// a batch or a snapshot chunk fits any answer, but the client refuses an
/// answer over 4 MiB ("decoded message length too large"): one read of a
/// whole backlog failed there, every time, and a standby restarted behind
/// a busy period could never catch up. A page refused for its size is
/// read again half as long, down to one key.
const PAGE_KEYS: i64 = 256;

/// The keys from `from` up to `end` (exclusive), in order, read in pages
/// at the revision of the first, so the whole is one consistent view; and
/// that revision.
async fn read_range(
    client: &mut Client,
    from: Vec<u8>,
    end: Vec<u8>,
) -> Result<(Vec<etcd_client::KeyValue>, i64), EtcdError> {
    let mut kvs: Vec<etcd_client::KeyValue> = Vec::new();
    let mut revision = 0;
    let mut page = PAGE_KEYS;
    let mut start = from;
    loop {
        let mut options = GetOptions::new().with_range(end.clone()).with_limit(page);
        if revision > 0 {
            options = options.with_revision(revision);
        }
        let mut got = match timed(client.get(start.clone(), Some(options))).await? {
            Ok(got) => got,
            Err(etcd_client::Error::GRpcStatus(status))
                if status.code() == tonic::Code::OutOfRange && page > 1 =>
            {
                page = (page / 2).max(1);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if revision == 0 {
            revision = got.header().map_or(0, |h| h.revision());
        }
        let more = got.more();
        let page_kvs = got.take_kvs();
        let Some(last) = page_kvs.last() else {
            return Ok((kvs, revision));
        };
        // The next page starts just after the last key read.
        start = last.key().to_vec();
        start.push(0);
        kvs.extend(page_kvs);
        if !more {
            return Ok((kvs, revision));
        }
    }
}

/// Sends one batch on if it is the next; `None` when nobody listens.
fn pass(
    keys: &Keys,
    kv: &etcd_client::KeyValue,
    next: &mut u64,
    send: &Batches,
) -> Result<Option<()>, EtcdError> {
    let seq = keys.seq(kv.key())?;
    if seq < *next {
        // Seen before the watch was opened again.
        return Ok(Some(()));
    }
    if seq != *next {
        return Err(EtcdError::Damaged {
            key: keys.batch(seq),
            reason: format!("batch {seq} follows {}: a gap in the journal", *next - 1),
        });
    }
    *next += 1;
    Ok(send.send(Ok((seq, kv.value().to_vec()))).ok())
}

/// Renews a lease every sixth of its TTL, each renewal given as long to
/// be confirmed. A renewal stream lost with its etcd member, or one whose
/// answer is late, is opened again (on another member, once the client
/// has noticed) after a short wait, and tried until a renewal is
/// confirmed; the lease is marked lost when etcd says it is gone, or when
/// it has been in doubt for as long as [`LeaseStanding`] allows.
///
/// Why so often: the death of the etcd member that is Raft leader stops
/// every renewal until the members left have elected another (1 to 2 s
/// with a 1 s election timeout). The fresher the last confirmed renewal
/// when the member died, the less of that the lease spends in doubt.
async fn renew(mut client: Client, lease: i64, ttl: Duration, state: Arc<LeaseState>) {
    let every = ttl / 6;
    let given_up = |state: &LeaseState| {
        if state.standing(ttl) == LeaseStanding::Lost {
            state.alive.store(false, Ordering::Release);
            true
        } else {
            false
        }
    };
    loop {
        if given_up(&state) {
            return;
        }
        let Ok(Ok((mut keeper, mut answers))) =
            tokio::time::timeout(every, client.lease_keep_alive(lease)).await
        else {
            tokio::time::sleep(RETRY_AFTER).await;
            continue;
        };
        loop {
            let sent = state.epoch.elapsed();
            if keeper.keep_alive().await.is_err() {
                break;
            }
            match tokio::time::timeout(every, answers.message()).await {
                Ok(Ok(Some(answer))) if answer.ttl() > 0 => {
                    let ms = u64::try_from(sent.as_millis()).unwrap_or(u64::MAX);
                    state.renewed_ms.fetch_max(ms, Ordering::AcqRel);
                }
                Ok(Ok(Some(_))) => {
                    // etcd says the lease is gone.
                    state.alive.store(false, Ordering::Release);
                    return;
                }
                _ => break,
            }
            if given_up(&state) {
                return;
            }
            tokio::time::sleep(every).await;
        }
        tokio::time::sleep(RETRY_AFTER).await;
    }
}

async fn timed<T>(call: impl Future<Output = T>) -> Result<T, EtcdError> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| EtcdError::Timeout(CALL_TIMEOUT))
}

fn parse_leader(key: &str, value: &[u8]) -> Result<Leader, EtcdError> {
    serde_json::from_slice(value).map_err(|e| EtcdError::Damaged {
        key: key.to_string(),
        reason: format!("not a kuaifan leader record: {e}"),
    })
}

/// The key just after every key with `prefix`, for a range.
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_ends_just_after_its_keys() {
        assert_eq!(prefix_end("a/journal/"), b"a/journal0".to_vec());
        assert_eq!(prefix_end(""), vec![0]);
    }
}
