//! A node of a deployment with hot standbys (`kuaifan serve --etcd …`,
//! cargo feature `etcd`).
//!
//! Every node starts as a standby: it loads the latest snapshot the
//! cluster holds, follows the journal's batches by watch and applies each
//! group to its own state, the same apply as a start's replay, so that its
//! reads are answered from the state the leader committed and a takeover
//! replays nothing. Once it holds the journal's end and no node leads, it
//! campaigns; the winner starts the writer on the state it followed,
//! appending to etcd.
//!
//! **A lease in doubt pauses the leader.** When etcd has not confirmed the
//! lease for longer than its TTL (an etcd election on a loaded machine can
//! take that long), the leader takes no command until etcd confirms it
//! again, which proves that no other node led in between.
//!
//! **A node that loses the lead exits.** When its lease is lost (etcd says
//! it is gone, or it stayed in doubt for a second TTL; the watchdog below
//! looks every 50 ms) or a write is refused by the fence, it logs why and
//! exits with status [`LOST_LEAD_EXIT`] before it
//! acknowledges anything more; its supervisor (systemd's
//! `Restart=always`, a Kubernetes pod) starts it again, as a standby.
//! Going back to standby in place would need the writer's state rolled
//! back to what the journal holds; a fresh start from the snapshot and the
//! batches after it is that, with nothing to get wrong.
//!
//! **Every node keeps a local copy** of the journal in SQLite
//! (`--journal`, see `node_copy.rs`): a standby copies each batch before
//! it applies it, the leader after etcd committed it. Closed cases leave
//! the live state for the copy's archive, as they leave a single node's
//! for its journal's, so a day's cases do not pile up in the state.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::dispatch::{Command, DispatchEngine, JournalPolicy, Stamped, StandbyEngine, World};
use crate::journal::etcd::{EtcdConfig, EtcdError, EtcdJournal, LeaseProbe, LeaseStanding};
use crate::journal::{EtcdStore, Group, JournalStore, Pruned, Snapshot, StoredGroup};
use crate::route::RouteQuery;
use crate::service::dispatch::{Live, now_ms};
use crate::service::events::{EVENT_BACKLOG, publisher};
use crate::service::node_copy::NodeCopy;
use crate::service::node_role::NodeRole;
use crate::service::queries::QueryPool;
use crate::service::server::{EtcdServe, ServeError};

/// The exit status of a node that lost the lead.
pub const LOST_LEAD_EXIT: i32 = 3;

/// The exit status of a standby whose followed journal does not apply to
/// its state (another scenario, a damaged batch): it must not lead.
pub const DIVERGED_EXIT: i32 = 2;

/// How long the follower waits for a batch before it looks at who leads.
const FOLLOW_TICK: Duration = Duration::from_millis(100);

/// How often a standby asks etcd who leads and where the journal ends.
const LOOK_EVERY: Duration = Duration::from_millis(150);

/// How often the leader's watchdog looks at its lease.
const WATCHDOG_TICK: Duration = Duration::from_millis(50);

/// How long to wait after a failed call to etcd before the next.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// The node's loop, running until [`NodeThread::stop`].
#[derive(Debug)]
pub(crate) struct NodeThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl NodeThread {
    /// Stops following or campaigning (a leader's writer is stopped by
    /// its engine's shutdown).
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("the node's thread panicked");
        }
    }
}

/// Connects to the cluster, loads its latest snapshot into a standby and
/// starts the node's loop. The writer, once this node wins the lead, goes
/// into `engine` for the server's shutdown.
pub(crate) fn start(
    world: &'static Arc<World>,
    serve: &EtcdServe,
    advertise: String,
    policy: JournalPolicy,
    engine: Arc<Mutex<Option<DispatchEngine>>>,
) -> Result<(Arc<Live>, NodeThread, Option<i64>), ServeError> {
    let etcd = |e: EtcdError| ServeError::Etcd(e.to_string());
    let journal = EtcdJournal::connect(EtcdConfig {
        endpoints: serve.endpoints.clone(),
        prefix: serve.prefix.clone(),
        node: serve.node.clone(),
        advertise: advertise.clone(),
        lease: serve.lease,
    })
    .map_err(etcd)?;
    let mut store = EtcdStore::open(journal).map_err(etcd)?;
    let mut copy = NodeCopy::open(&serve.journal, &serve.prefix, &policy)?;
    // What the cluster committed while this node was away; a failure is
    // mended at the first batch followed.
    if let Err(e) = copy.catch_up(&store) {
        log::warn!("{e}; the local copy catches up at the first batch followed");
    }
    let snapshot = store.rewind().map_err(etcd)?;
    let (events, _) = tokio::sync::broadcast::channel(EVENT_BACKLOG);
    let observer = publisher(events.clone(), world.scenario().router());
    let standby = match &snapshot {
        Some(snapshot) => StandbyEngine::from_snapshot(Arc::clone(world), snapshot, observer)
            .map_err(|reason| {
                ServeError::Etcd(format!(
                    "the cluster's snapshot through entry {} does not fit this scenario: {reason}",
                    snapshot.through_seq
                ))
            })?,
        None => StandbyEngine::empty(Arc::clone(world), observer),
    };
    let role = Arc::new(NodeRole::standby());
    let live = Arc::new(Live {
        world,
        engine: standby.handle(),
        queries: QueryPool::new(world.scenario().router()),
        events,
        archive: Some(copy.archive_reader()?),
        role: Arc::clone(&role),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let node = Node {
        standby,
        store,
        copy,
        role,
        policy,
        advertise,
        name: serve.node.clone(),
        stop: Arc::clone(&stop),
        end: 0,
        leader: None,
    };
    let thread = std::thread::Builder::new()
        .name("kuaifan-node".to_string())
        .spawn(move || node.run(&engine))
        .map_err(|e| ServeError::Loader(format!("starting the node's thread: {e}")))?;
    Ok((
        live,
        NodeThread {
            stop,
            thread: Some(thread),
        },
        snapshot.map(|s| s.through_seq),
    ))
}

struct Node {
    standby: StandbyEngine,
    store: EtcdStore,
    copy: NodeCopy,
    role: Arc<NodeRole>,
    policy: JournalPolicy,
    advertise: String,
    name: String,
    stop: Arc<AtomicBool>,
    /// The journal's last batch when etcd was last asked.
    end: u64,
    /// The leader's address when etcd was last asked.
    leader: Option<String>,
}

impl Node {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn run(mut self, engine: &Mutex<Option<DispatchEngine>>) {
        let world = Arc::clone(self.standby.world());
        let mut query = RouteQuery::new(world.scenario().router());
        if !self.follow_until_elected(&mut query) {
            return;
        }
        let Node {
            standby,
            store,
            copy,
            role,
            policy,
            advertise,
            name,
            stop,
            ..
        } = self;
        let Some(probe) = store.lease_probe() else {
            log::error!("elected without a lease; exiting");
            std::process::exit(LOST_LEAD_EXIT);
        };
        role.leading(&advertise);
        let handle = standby.handle();
        let started = standby.lead(
            LeaderStore {
                store,
                copy,
                role: Arc::clone(&role),
            },
            policy,
        );
        // Scripts and tests read this line.
        println!(
            "kuaifan: node {name} leads, at {advertise}; the journal continues after entry {}",
            handle.snapshot().journal_seq()
        );
        if handle.snapshot().shift_start_ms().is_none()
            && let Err(e) = handle.submit(Stamped {
                at_ms: now_ms(),
                actor: "system".to_string(),
                command: Command::OpenShift,
            })
        {
            log::error!("opening the shift: {e}");
        }
        *engine.lock().unwrap_or_else(|e| e.into_inner()) = Some(started);
        watch_the_lease(&probe, &role, &stop);
    }

    /// Follows the journal until this node wins the lead (`true`) or is
    /// told to stop (`false`).
    fn follow_until_elected(&mut self, query: &mut RouteQuery) -> bool {
        let location = self.store.location();
        loop {
            if self.stopping() {
                return false;
            }
            let follower = match self.store.follow() {
                Ok(follower) => follower,
                Err(EtcdError::BehindSnapshot { .. }) => {
                    self.reload(query);
                    continue;
                }
                Err(e) => {
                    log::warn!("following the journal: {e}; trying again");
                    std::thread::sleep(RETRY_AFTER);
                    continue;
                }
            };
            let mut looked = Instant::now() - LOOK_EVERY;
            loop {
                if self.stopping() {
                    return false;
                }
                match follower.next(FOLLOW_TICK) {
                    Ok(Some((seq, body))) => self.apply(query, &location, seq, &body),
                    Ok(None) => {}
                    Err(EtcdError::BehindSnapshot { .. }) => {
                        self.reload(query);
                        break;
                    }
                    Err(e) => {
                        log::warn!("following the journal: {e}; following again");
                        std::thread::sleep(RETRY_AFTER);
                        break;
                    }
                }
                if looked.elapsed() >= LOOK_EVERY {
                    looked = Instant::now();
                    if self.look_and_campaign() {
                        return true;
                    }
                }
            }
        }
    }

    fn apply(&mut self, query: &mut RouteQuery, location: &std::path::Path, seq: u64, body: &[u8]) {
        let applied = self
            .store
            .apply_followed(seq, body)
            .map_err(|e| e.to_string())
            .and_then(|groups| {
                // Copied first: a case the state then archives is in the
                // copy's archive before a read can look for it.
                self.copy.keep(&self.store, &groups);
                self.standby
                    .apply(query, location, &groups)
                    .map_err(|e| e.to_string())
            });
        if applied.is_ok() {
            self.role.following(
                self.leader.clone(),
                self.end.saturating_sub(self.store.last_batch()),
            );
        }
        if let Err(e) = applied {
            log::error!(
                "journal batch {seq} does not apply to this node's state ({e}); \
                 exiting rather than follow a journal it cannot hold"
            );
            eprintln!("kuaifan: journal batch {seq} does not apply: {e}");
            std::process::exit(DIVERGED_EXIT);
        }
    }

    fn reload(&mut self, query: &mut RouteQuery) {
        match self.store.reload_snapshot() {
            Ok(Some(snapshot)) => match self.standby.reload(query, &snapshot) {
                Ok(()) => log::info!(
                    "fell behind the journal's compaction: reloaded the snapshot through entry {}",
                    snapshot.through_seq
                ),
                Err(reason) => {
                    log::error!("the cluster's snapshot cannot be loaded: {reason}; exiting");
                    std::process::exit(DIVERGED_EXIT);
                }
            },
            Ok(None) => log::warn!("told to reload a snapshot, and the cluster holds none"),
            Err(e) => {
                log::warn!("reloading the snapshot: {e}; trying again");
                std::thread::sleep(RETRY_AFTER);
            }
        }
    }

    /// Asks who leads and where the journal ends; campaigns when nobody
    /// leads and this node holds the end. `true` once it won.
    fn look_and_campaign(&mut self) -> bool {
        let looked = self
            .store
            .journal()
            .leader()
            .and_then(|leader| Ok((leader, self.store.end_batch()?)));
        let (leader, end) = match looked {
            Ok(looked) => looked,
            Err(e) => {
                log::warn!("asking etcd who leads: {e}");
                return false;
            }
        };
        let behind = end.saturating_sub(self.store.last_batch());
        self.end = end;
        self.leader = leader.as_ref().map(|l| l.advertise.clone());
        match leader {
            Some(leader) => {
                self.role.following(Some(leader.advertise), behind);
                false
            }
            None if behind > 0 => {
                self.role.following(None, behind);
                false
            }
            None => match self.store.campaign() {
                Ok(None) => true,
                Ok(Some(leader)) => {
                    self.role.following(Some(leader.advertise), behind);
                    false
                }
                Err(EtcdError::Behind { .. }) => false,
                Err(e) => {
                    log::warn!("campaigning for the lead: {e}");
                    false
                }
            },
        }
    }
}

/// The leader's watchdog: a lease in doubt stops the node taking
/// commands before any write would tell it, a lease confirmed again lets
/// it take them again, and a lost one ends the node.
fn watch_the_lease(probe: &LeaseProbe, role: &NodeRole, stop: &AtomicBool) {
    let mut doubt_since: Option<Instant> = None;
    while !stop.load(Ordering::Acquire) {
        std::thread::sleep(WATCHDOG_TICK);
        if stop.load(Ordering::Acquire) {
            return;
        }
        match (probe.standing(), doubt_since) {
            (LeaseStanding::Held, Some(since)) => {
                role.doubt(false);
                doubt_since = None;
                log::warn!(
                    "etcd confirmed the lease again after {:.1} s in doubt: this node still \
                     leads and takes commands again",
                    since.elapsed().as_secs_f64()
                );
            }
            (LeaseStanding::InDoubt, None) => {
                role.doubt(true);
                doubt_since = Some(Instant::now());
                log::warn!(
                    "etcd has not confirmed the lease for {:.1} s (an etcd election, or etcd out \
                     of reach): taking no command until it does",
                    probe.since_confirmed().as_secs_f64()
                );
            }
            (LeaseStanding::Lost, _) => {
                lost_lead(role, "its lease is no longer renewed");
            }
            _ => {}
        }
    }
}

/// Logs why this node no longer leads and exits: nothing after this is
/// acknowledged.
fn lost_lead(role: &NodeRole, why: &str) -> ! {
    role.lost_lead();
    log::error!(
        "this node no longer leads ({why}); exiting with status {LOST_LEAD_EXIT} without \
         acknowledging anything more: its supervisor starts it again as a standby"
    );
    eprintln!("kuaifan: this node no longer leads ({why}); exiting");
    std::process::exit(LOST_LEAD_EXIT);
}

/// The leader's store: etcd, with a refusal by the fence ending the node
/// and a clean stop giving the lead up at once; what etcd committed goes
/// into the local copy too.
struct LeaderStore {
    store: EtcdStore,
    copy: NodeCopy,
    role: Arc<NodeRole>,
}

impl LeaderStore {
    fn fenced<T>(&self, result: Result<T, EtcdError>) -> Result<T, EtcdError> {
        if let Err(EtcdError::Fenced { leader }) = &result {
            lost_lead(
                &self.role,
                &format!(
                    "a write was refused: the leader is {}",
                    leader.as_deref().unwrap_or("unknown")
                ),
            );
        }
        result
    }
}

impl Drop for LeaderStore {
    fn drop(&mut self) {
        if let Err(e) = self.store.resign() {
            log::warn!("giving up the lead: {e}; a standby takes over once the lease runs out");
        }
    }
}

impl JournalStore for LeaderStore {
    type Error = EtcdError;

    fn last_seq(&self) -> i64 {
        self.store.last_seq()
    }

    fn append(&mut self, groups: &[Group]) -> Result<i64, EtcdError> {
        let first = self.store.last_seq() + 1;
        let appended = self.store.append(groups);
        let last = self.fenced(appended)?;
        self.copy
            .keep(&self.store, &StoredGroup::numbered(groups, first));
        Ok(last)
    }

    fn for_each_group_after(
        &self,
        after_seq: i64,
        each: &mut dyn FnMut(StoredGroup) -> Result<(), EtcdError>,
    ) -> Result<(), EtcdError> {
        self.store.for_each_group_after(after_seq, each)
    }

    fn write_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), EtcdError> {
        let written = self.store.write_snapshot(snapshot);
        self.fenced(written)
    }

    fn latest_snapshot(&self) -> Result<Option<Snapshot>, EtcdError> {
        self.store.latest_snapshot()
    }

    fn location(&self) -> PathBuf {
        self.store.location()
    }

    /// Closed cases leave the state for the local copy's archive.
    fn keeps_archive(&self) -> bool {
        true
    }

    /// etcd compacts under its snapshots, and the local copy prunes its
    /// old position fixes as it copies.
    fn prune_old(&mut self, _: &str, _: i64, _: usize) -> Result<Pruned, EtcdError> {
        Ok(Pruned::default())
    }
}
