//! One writer, many readers.
//!
//! A single writer thread owns the dispatch state and the journal. Commands
//! reach it over a channel; it applies each to a copy of the current state,
//! writes the accepted ones to the journal in one transaction (group
//! commit: one disk sync for every command that arrived meanwhile), and
//! only then publishes the copy as the new snapshot and acknowledges.
//! Readers (recommendations, coverage, lists) take the current snapshot, an
//! `Arc` swapped atomically, and never wait for the writer.
//!
//! Position fixes wait in a queue of their own, and the writer takes
//! dispatch commands first: a flood of fixes (one terminal with many
//! streams, or a city's terminals after a network outage) fills only its
//! own queue, whose overflow is refused, and never delays a report or an
//! assignment by more than the batch being written.

use std::sync::Arc;
use std::thread::JoinHandle;

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::dispatch::command::{Command, CommandError, Stamped};
use crate::dispatch::commit_metrics::CommitMetrics;
use crate::dispatch::journal_policy::{FixSampler, JournalPolicy, SnapshotClock};
use crate::dispatch::requests::{ClientRequest, RequestRecord, Seen};
use crate::dispatch::state::{Applied, DispatchState};
use crate::dispatch::stored;
use crate::dispatch::world::World;
use crate::journal::{Group, Journal, JournalError, JournalStore, Snapshot, StoredGroup};
use crate::route::RouteQuery;

/// The most commands committed in one journal transaction.
const MAX_BATCH: usize = 512;

/// The most closed cases archived in one transaction, so that a backlog
/// (a start on a journal that archived nothing) never holds the writer
/// long; the rest follow after the next commits.
const MAX_ARCHIVED: usize = 64;

/// The most journal entries one round of pruning looks at (one round
/// follows every snapshot; a round of this size takes a few tens of
/// milliseconds).
const PRUNE_VISITS: usize = 20_000;

/// Who the journal says gave the commands the engine gives itself
/// (archiving a closed case).
pub const ENGINE_ACTOR: &str = "kuaifan";

/// Why a command was not acknowledged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The command was refused; nothing changed.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The command was valid but could not be made durable, so it was not
    /// applied. Shared: one failed transaction answers every command in it.
    #[error("not saved: {0}")]
    Journal(Arc<JournalError>),
    /// The engine has stopped.
    #[error("the dispatch engine has stopped")]
    Stopped,
    /// The writer's queue is full: commands arrive faster than they can
    /// be made durable. Nothing was queued; try again shortly.
    #[error("the dispatch engine is overloaded: {queued} commands are waiting to be saved")]
    Busy {
        /// Commands waiting.
        queued: usize,
    },
    /// No snapshot of the journal can be read, and the entries before the
    /// oldest are pruned, so the state cannot be rebuilt.
    #[error(
        "journal {path}: no snapshot can be read ({reason}), and the entries through {pruned_through} \
         were pruned, so the state cannot be rebuilt; restore the journal from a backup"
    )]
    Snapshot {
        /// The journal file.
        path: std::path::PathBuf,
        /// Why the snapshots cannot be read.
        reason: String,
        /// The last entry pruned.
        pruned_through: i64,
    },
    /// A journal entry no longer applies to this scenario.
    #[error("journal entry {index} (at {at_ms} ms, by {actor}) does not apply: {error}")]
    Replay {
        /// Its sequence number in the journal.
        index: i64,
        /// Its time.
        at_ms: i64,
        /// Who gave it.
        actor: String,
        /// Why it failed.
        error: CommandError,
    },
}

impl From<JournalError> for EngineError {
    fn from(error: JournalError) -> Self {
        EngineError::Journal(Arc::new(error))
    }
}

/// What became of an accepted group.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Applied now: what each command changed.
    Applied(Vec<Applied>),
    /// Its request id was applied before with the same request: nothing
    /// was applied again, and this is the record of the first time.
    Replayed(RequestRecord),
}

/// Called on the writer thread with the outcome of a group of commands.
type Reply = Box<dyn FnOnce(Result<Outcome, EngineError>) + Send>;

/// Called on the writer thread after every commit, with the new snapshot
/// and the commands it made durable, in journal order: how the service
/// tells watching consoles what changed, in the order it happened.
pub type CommitObserver = Box<dyn FnMut(&Arc<DispatchState>, &[(&Stamped, &Applied)]) + Send>;

/// How many commands may wait for the writer before new ones are refused
/// with [`EngineError::Busy`].
const QUEUE_CAPACITY: usize = 4096;

/// How many lone position fixes may wait for the writer, apart from the
/// commands, before new ones are refused with [`EngineError::Busy`]: a
/// second of every unit of a large city reporting.
const FIX_QUEUE_CAPACITY: usize = 1024;

enum Message {
    /// Commands applied together or not at all.
    Group {
        commands: Vec<Stamped>,
        request: Option<ClientRequest>,
        reply: Reply,
    },
    /// Finish what came before, close the journal, stop.
    Stop,
}

/// A handle to the engine; clone it for every thread or connection.
#[derive(Clone)]
pub struct EngineHandle {
    snapshot: Arc<ArcSwap<DispatchState>>,
    requests: Sender<Message>,
    /// Lone position fixes, taken after every waiting command.
    fixes: Sender<Message>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle").finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// The current state: immutable, consistent, never blocked by writes.
    pub fn snapshot(&self) -> Arc<DispatchState> {
        self.snapshot.load_full()
    }

    /// Applies a command; returns once it is durable (or refused).
    pub fn submit(&self, command: Stamped) -> Result<Applied, EngineError> {
        let (reply, answer) = bounded(1);
        let queue = if is_lone_fix(std::slice::from_ref(&command), None) {
            &self.fixes
        } else {
            &self.requests
        };
        queue
            .send(Message::Group {
                commands: vec![command],
                request: None,
                reply: Box::new(move |result| {
                    let _ = reply.send(result.map(applied_only));
                }),
            })
            .map_err(|_| EngineError::Stopped)?;
        answer.recv().map_err(|_| EngineError::Stopped)?.map(only)
    }

    /// As [`EngineHandle::submit_all_then`] for the commands of one client
    /// request: the writer looks `request` up before it applies anything.
    /// A request applied before (same caller, id and digest, within the
    /// window) is answered [`Outcome::Replayed`] and applies nothing; an
    /// id used before for another request is refused with
    /// [`CommandError::RequestIdReused`]; otherwise the group is applied
    /// and the request recorded with it, in the same journal transaction.
    /// The lookup is on the writer, so two retries racing apply once.
    pub fn submit_request_then(
        &self,
        commands: Vec<Stamped>,
        request: Option<ClientRequest>,
        done: impl FnOnce(Result<Outcome, EngineError>) + Send + 'static,
    ) -> Result<(), EngineError> {
        let queue = if is_lone_fix(&commands, request.as_ref()) {
            &self.fixes
        } else {
            &self.requests
        };
        let message = Message::Group {
            commands,
            request,
            reply: Box::new(done),
        };
        queue.try_send(message).map_err(|e| match e {
            TrySendError::Full(_) => EngineError::Busy {
                queued: queue.len(),
            },
            TrySendError::Disconnected(_) => EngineError::Stopped,
        })
    }

    /// Queues a command without waiting: `done` is called on the writer
    /// thread once it is durable or refused. When the queue is full the
    /// command is not queued and [`EngineError::Busy`] comes back at once,
    /// so that callers shed load instead of queueing without bound.
    pub fn submit_then(
        &self,
        command: Stamped,
        done: impl FnOnce(Result<Applied, EngineError>) + Send + 'static,
    ) -> Result<(), EngineError> {
        self.submit_all_then(vec![command], move |result| done(result.map(only)))
    }

    /// As [`EngineHandle::submit_then`] for a group of commands that are
    /// applied in order and made durable in one transaction, all of them
    /// or none: if one is refused, nothing of the group is kept, and its
    /// error is the answer. Later commands of a group that reports an
    /// incident name it [`IncidentId::REPORTED`], since its number is
    /// only known once it is applied; the journal holds the number.
    ///
    /// A crash therefore never leaves half of a group: a call registered
    /// and assigned in one group is, after a restart, either all there or
    /// not there.
    pub fn submit_all_then(
        &self,
        commands: Vec<Stamped>,
        done: impl FnOnce(Result<Vec<Applied>, EngineError>) + Send + 'static,
    ) -> Result<(), EngineError> {
        self.submit_request_then(commands, None, move |result| done(result.map(applied_only)))
    }
}

/// Whether a group is one position fix without a request id: it goes to
/// the queue of fixes, behind every command.
fn is_lone_fix(commands: &[Stamped], request: Option<&ClientRequest>) -> bool {
    matches!(
        (commands, request),
        (
            [Stamped {
                command: Command::ReportPosition { .. },
                ..
            }],
            None
        )
    )
}

/// What a group without a request id did (it is never replayed).
fn applied_only(outcome: Outcome) -> Vec<Applied> {
    match outcome {
        Outcome::Applied(applied) => applied,
        Outcome::Replayed(_) => Vec::new(),
    }
}

/// The one outcome of a group of one command.
fn only(mut applied: Vec<Applied>) -> Applied {
    if applied.is_empty() {
        return Applied::default();
    }
    applied.swap_remove(0)
}

/// The running engine: its writer thread and a handle.
#[derive(Debug)]
pub struct DispatchEngine {
    handle: EngineHandle,
    writer: Option<JoinHandle<()>>,
    replayed: usize,
    snapshot_seq: Option<i64>,
}

impl DispatchEngine {
    /// Starts from the journal's state (its latest readable snapshot and
    /// the entries after it) or, without a journal, from the start of a
    /// shift.
    pub fn start(
        world: Arc<World>,
        journal: Option<Journal>,
    ) -> Result<DispatchEngine, EngineError> {
        Self::start_observed(world, journal, Box::new(|_, _| {}))
    }

    /// As [`DispatchEngine::start`], calling `observer` after every commit.
    pub fn start_observed(
        world: Arc<World>,
        journal: Option<Journal>,
        observer: CommitObserver,
    ) -> Result<DispatchEngine, EngineError> {
        Self::start_with(world, journal, JournalPolicy::default(), observer)
    }

    /// As [`DispatchEngine::start_observed`], keeping the journal by
    /// `policy`.
    pub fn start_with(
        world: Arc<World>,
        journal: Option<Journal>,
        policy: JournalPolicy,
        observer: CommitObserver,
    ) -> Result<DispatchEngine, EngineError> {
        Self::start_on(world, journal, policy, observer)
    }

    /// As [`DispatchEngine::start_with`] on any store of the journal
    /// (SQLite, or etcd with the `etcd` feature): the state its latest
    /// readable snapshot and the entries after it hold, or without a store
    /// the start of a shift.
    pub fn start_on<S>(
        world: Arc<World>,
        journal: Option<S>,
        policy: JournalPolicy,
        observer: CommitObserver,
    ) -> Result<DispatchEngine, EngineError>
    where
        S: JournalStore + Send + 'static,
        JournalError: From<S::Error>,
    {
        let mut query = RouteQuery::new(world.scenario().router());
        let mut replayed = 0;
        let (mut state, snapshot_seq) = match &journal {
            Some(j) => restore(&world, &mut query, j)?,
            None => (DispatchState::new(world.clone(), &mut query), None),
        };
        if let Some(j) = &journal {
            let location = j.location();
            // The cheap check of the tail: the last group is read even when a
            // snapshot covers it, so a damaged end is found at start.
            if let Some(last) = j.last_group().map_err(JournalError::from)? {
                stored::group(&location, &last)?;
            }
            let mut failed = None;
            let read = j.for_each_group_after(snapshot_seq.unwrap_or(0), &mut |group| {
                // After a failure the rest is read past: the first
                // failure is the answer.
                if failed.is_none() {
                    replayed += group.entries.len();
                    if let Err(e) = replay_group(&mut state, &mut query, &location, &group) {
                        failed = Some(e);
                    }
                }
                Ok(())
            });
            if let Some(e) = failed {
                return Err(e);
            }
            read.map_err(JournalError::from)?;
        }
        let standby = StandbyEngine::new(world, state, observer);
        Ok(standby.start_writer(journal, policy, replayed, snapshot_seq))
    }

    /// A handle for submitting commands and reading snapshots.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// How many journal entries were replayed at start (those after the
    /// snapshot it started from).
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// The last journal entry of the snapshot it started from, if any.
    pub fn snapshot_seq(&self) -> Option<i64> {
        self.snapshot_seq
    }

    /// Stops accepting commands, lets the writer finish what it has, and
    /// closes the journal. Handles still held elsewhere get `Stopped`.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(writer) = self.writer.take() {
            // Handles held elsewhere keep the channel open, so the writer
            // is told to stop rather than waiting for the channel to close.
            let _ = self.handle.requests.send(Message::Stop);
            let _ = writer.join();
        }
    }
}

impl Drop for DispatchEngine {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Applies one group read from the journal to `state`, as the writer
/// applied it: how a start replays and how a standby follows.
fn replay_group(
    state: &mut DispatchState,
    query: &mut RouteQuery,
    location: &std::path::Path,
    group: &StoredGroup,
) -> Result<Vec<(Stamped, Applied)>, EngineError> {
    let (mut commands, request) = stored::group(location, group)?;
    let first = group.entries.first().map_or(0, |(seq, _)| *seq);
    match apply_request(state, query, &mut commands, request.as_ref()) {
        Ok(Outcome::Applied(applied)) => {
            state.set_journal_seq(group.last_seq());
            Ok(commands.into_iter().zip(applied).collect())
        }
        Ok(Outcome::Replayed(_)) => Err(EngineError::Replay {
            index: first,
            at_ms: commands.first().map_or(0, |c| c.at_ms),
            actor: commands
                .first()
                .map(|c| c.actor.clone())
                .unwrap_or_default(),
            error: CommandError::RequestIdReused {
                id: request.map(|r| r.id).unwrap_or_default(),
                at_ms: 0,
            },
        }),
        Err((offset, error)) => {
            let command = &commands[offset.min(commands.len().saturating_sub(1))];
            Err(EngineError::Replay {
                index: first + offset as i64,
                at_ms: command.at_ms,
                actor: command.actor.clone(),
                error,
            })
        }
    }
}

/// The engine without its writer: the dispatch state and the handle that
/// reads it, kept up to date from the journal another node writes (a hot
/// standby), until [`StandbyEngine::start_writer`] makes this node the writer
/// with the same handle and state, nothing replayed again.
///
/// Commands must not be submitted to a standby's handle: nothing takes
/// them until the writer starts (the service refuses them before they
/// reach it).
pub struct StandbyEngine {
    world: Arc<World>,
    handle: EngineHandle,
    inboxes: Inboxes,
    observer: CommitObserver,
}

impl std::fmt::Debug for StandbyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandbyEngine")
            .field("journal_seq", &self.handle.snapshot().journal_seq())
            .finish_non_exhaustive()
    }
}

impl StandbyEngine {
    /// A standby holding `state`; `observer` hears every group it
    /// follows, as it hears every commit once this node writes.
    pub fn new(world: Arc<World>, state: DispatchState, observer: CommitObserver) -> StandbyEngine {
        let snapshot = Arc::new(ArcSwap::from_pointee(state));
        let (requests, commands) = bounded::<Message>(QUEUE_CAPACITY);
        let (fixes, fix_inbox) = bounded::<Message>(FIX_QUEUE_CAPACITY);
        StandbyEngine {
            world,
            handle: EngineHandle {
                snapshot,
                requests,
                fixes,
            },
            inboxes: Inboxes {
                commands,
                fixes: fix_inbox,
            },
            observer,
        }
    }

    /// A standby at the start of a shift (an empty journal).
    pub fn empty(world: Arc<World>, observer: CommitObserver) -> StandbyEngine {
        let mut query = RouteQuery::new(world.scenario().router());
        let state = DispatchState::new(Arc::clone(&world), &mut query);
        StandbyEngine::new(world, state, observer)
    }

    /// A standby holding the state of a snapshot's body (through entry
    /// `through_seq`).
    pub fn from_snapshot(
        world: Arc<World>,
        snapshot: &Snapshot,
        observer: CommitObserver,
    ) -> Result<StandbyEngine, String> {
        let mut query = RouteQuery::new(world.scenario().router());
        let mut state =
            DispatchState::from_snapshot(Arc::clone(&world), &mut query, &snapshot.body)?;
        state.set_journal_seq(snapshot.through_seq);
        Ok(StandbyEngine::new(world, state, observer))
    }

    /// The scenario and rules.
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// The handle that reads the state (and, once the writer starts,
    /// submits to it).
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Applies groups the writer committed (read back from the journal)
    /// and publishes the state after them. All or none: on an error the
    /// state stays as it was.
    pub fn apply(
        &mut self,
        query: &mut RouteQuery,
        location: &std::path::Path,
        groups: &[StoredGroup],
    ) -> Result<(), EngineError> {
        if groups.is_empty() {
            return Ok(());
        }
        let mut next = DispatchState::clone(&self.handle.snapshot.load());
        let mut applied = Vec::new();
        for group in groups {
            applied.extend(replay_group(&mut next, query, location, group)?);
        }
        let next = Arc::new(next);
        self.handle.snapshot.store(Arc::clone(&next));
        let committed: Vec<(&Stamped, &Applied)> = applied.iter().map(|(s, a)| (s, a)).collect();
        if !committed.is_empty() {
            (self.observer)(&next, &committed);
        }
        Ok(())
    }

    /// Replaces the state with a snapshot's (a standby that fell behind a
    /// compaction of the journal).
    pub fn reload(&mut self, query: &mut RouteQuery, snapshot: &Snapshot) -> Result<(), String> {
        let mut state =
            DispatchState::from_snapshot(Arc::clone(&self.world), query, &snapshot.body)?;
        state.set_journal_seq(snapshot.through_seq);
        self.handle.snapshot.store(Arc::new(state));
        Ok(())
    }

    /// Makes this node the writer: commands submitted to the handle are
    /// applied to the state as it stands and written to `journal`.
    pub fn lead<S>(self, journal: S, policy: JournalPolicy) -> DispatchEngine
    where
        S: JournalStore + Send + 'static,
        JournalError: From<S::Error>,
    {
        self.start_writer(Some(journal), policy, 0, None)
    }

    fn start_writer<S>(
        self,
        journal: Option<S>,
        policy: JournalPolicy,
        replayed: usize,
        snapshot_seq: Option<i64>,
    ) -> DispatchEngine
    where
        S: JournalStore + Send + 'static,
        JournalError: From<S::Error>,
    {
        let StandbyEngine {
            world,
            handle,
            inboxes,
            observer,
        } = self;
        let published = Arc::clone(&handle.snapshot);
        let writer = std::thread::Builder::new()
            .name("kuaifan-dispatch-writer".to_string())
            .spawn(move || write_loop(world, journal, policy, published, inboxes, observer));
        let writer = match writer {
            Ok(writer) => Some(writer),
            Err(e) => {
                // Every command then answers Stopped.
                log::error!("the dispatch writer could not start: {e}");
                None
            }
        };
        DispatchEngine {
            handle,
            writer,
            replayed,
            snapshot_seq,
        }
    }
}

/// The state the journal's latest readable snapshot holds, and its last
/// entry; a snapshot that cannot be read is passed over for the one
/// before it, with a warning. With none readable, the journal is replayed
/// from its start if it still holds its start, and refused if not.
fn restore<S>(
    world: &Arc<World>,
    query: &mut RouteQuery,
    journal: &S,
) -> Result<(DispatchState, Option<i64>), EngineError>
where
    S: JournalStore,
    JournalError: From<S::Error>,
{
    let mut reasons = Vec::new();
    let location = journal.location();
    for snapshot in journal.snapshots().map_err(JournalError::from)? {
        match DispatchState::from_snapshot(Arc::clone(world), query, &snapshot.body) {
            Ok(mut state) => {
                state.set_journal_seq(snapshot.through_seq);
                return Ok((state, Some(snapshot.through_seq)));
            }
            Err(reason) => {
                log::warn!(
                    "journal {}: the snapshot through entry {} cannot be read ({reason}); \
                     trying the one before it",
                    location.display(),
                    snapshot.through_seq
                );
                reasons.push(format!("through entry {}: {reason}", snapshot.through_seq));
            }
        }
    }
    let pruned_through = journal.pruned_through().map_err(JournalError::from)?;
    if pruned_through > 0 {
        return Err(EngineError::Snapshot {
            path: location.clone(),
            reason: if reasons.is_empty() {
                "there is none".to_string()
            } else {
                reasons.join("; ")
            },
            pruned_through,
        });
    }
    if !reasons.is_empty() {
        log::warn!(
            "journal {}: no snapshot can be read; replaying every entry",
            location.display()
        );
    }
    Ok((DispatchState::new(Arc::clone(world), query), None))
}

/// Writes a snapshot of `state` (which includes every journaled entry);
/// a failure is logged and costs only a longer start.
fn write_snapshot<S>(journal: &mut S, state: &DispatchState, clock: &mut SnapshotClock)
where
    S: JournalStore,
{
    let started = std::time::Instant::now();
    let body = match state.snapshot_body() {
        Ok(body) => body,
        Err(e) => {
            log::error!("a snapshot could not be made: {e}");
            return;
        }
    };
    let snapshot = Snapshot {
        through_seq: journal.last_seq(),
        at_ms: crate::dispatch::command::wall_clock_ms(),
        body,
    };
    match journal.write_snapshot(&snapshot) {
        Ok(()) => {
            clock.written();
            log::info!(
                "journal {}: snapshot through entry {} ({} bytes) in {:?}",
                journal.location().display(),
                snapshot.through_seq,
                snapshot.body.len(),
                started.elapsed()
            );
        }
        Err(e) => log::error!("{e}; the journal is complete without it"),
    }
}

/// The writer's two queues: commands, and lone position fixes.
struct Inboxes {
    commands: Receiver<Message>,
    fixes: Receiver<Message>,
}

impl Inboxes {
    /// The next message, waiting for one: a command whenever one waits.
    /// `None` once every handle is gone.
    fn next(&self) -> Option<Message> {
        if let Ok(m) = self.commands.try_recv() {
            return Some(m);
        }
        crossbeam_channel::select_biased! {
            recv(self.commands) -> m => m.ok().or_else(|| self.fixes.recv().ok()),
            recv(self.fixes) -> m => m.ok().or_else(|| self.commands.recv().ok()),
        }
    }

    /// Every fix waiting, at a stop: the commands before the stop are
    /// taken already, and the fixes before it are answered too.
    fn drain_fixes(&self, batch: &mut Batch) {
        while let Ok(Message::Group {
            commands,
            request,
            reply,
        }) = self.fixes.try_recv()
        {
            batch.push((commands, request, reply));
        }
    }

    /// A message already waiting, commands first.
    fn waiting(&self) -> Option<Message> {
        self.commands
            .try_recv()
            .or_else(|_| self.fixes.try_recv())
            .ok()
    }
}

/// Moves the closed cases that are due (closed `archive_after_ms` before
/// the journal's clock) from `state` to the archive: each becomes an
/// [`Command::Archive`] entry of the engine's, applied to `state`, and a
/// group holding it and the case's archive row, which the caller commits
/// in the same transaction as the rest of its batch (or not at all, and
/// then the cases stay live).
fn archive_due(
    state: &mut DispatchState,
    query: &mut RouteQuery,
    policy: &JournalPolicy,
    clock_ms: i64,
) -> Vec<(Stamped, Applied, Group)> {
    if clock_ms == i64::MIN {
        return Vec::new();
    }
    let due = state.closed_by(clock_ms.saturating_sub(policy.archive_after_ms));
    let mut archived = Vec::new();
    for id in due.into_iter().take(MAX_ARCHIVED) {
        let stamped = Stamped {
            at_ms: clock_ms,
            actor: ENGINE_ACTOR.to_string(),
            command: Command::Archive { incident: id },
        };
        let parts = state
            .incident(id)
            .ok_or_else(|| format!("incident {id} is not in the live state"))
            .and_then(|i| stored::archived_case(state, i).map_err(|e| e.to_string()))
            .and_then(|case| {
                stored::entry(&stamped)
                    .map(|entry| (case, entry))
                    .map_err(|e| e.to_string())
            });
        let (case, entry) = match parts {
            Ok(parts) => parts,
            Err(e) => {
                log::error!("incident {id} cannot be archived: {e}");
                continue;
            }
        };
        match state.apply(query, &stamped) {
            Ok(applied) => {
                let group = Group {
                    request: None,
                    entries: vec![entry],
                    archived: vec![case],
                };
                archived.push((stamped, applied, group));
            }
            Err(e) => log::error!("incident {id} cannot be archived: {e}"),
        }
    }
    archived
}

/// One round of pruning after a snapshot: the sampled position fixes
/// older than the retention (on the journal's clock) and covered by both
/// snapshots kept. A failure is logged; the entries stay.
fn prune<S: JournalStore>(journal: &mut S, policy: &JournalPolicy, clock_ms: i64) {
    if clock_ms == i64::MIN {
        return;
    }
    let started = std::time::Instant::now();
    match journal.prune_old(
        Command::REPORT_POSITION,
        clock_ms.saturating_sub(policy.keep_fixes_ms),
        PRUNE_VISITS,
    ) {
        Ok(pruned) if pruned.deleted > 0 => log::info!(
            "journal {}: {} old position fixes pruned ({} entries looked at) in {:?}",
            journal.location().display(),
            pruned.deleted,
            pruned.visited,
            started.elapsed()
        ),
        Ok(_) => {}
        Err(e) => log::error!("{e}; nothing pruned"),
    }
}

fn write_loop<S>(
    world: Arc<World>,
    mut journal: Option<S>,
    policy: JournalPolicy,
    snapshot: Arc<ArcSwap<DispatchState>>,
    inbox: Inboxes,
    mut observer: CommitObserver,
) where
    S: JournalStore,
    JournalError: From<S::Error>,
{
    let mut query = RouteQuery::new(world.scenario().router());
    let metrics = CommitMetrics::new();
    let mut sampler = FixSampler::new(policy.fix_interval_ms, world.scenario().units().len());
    let mut clock = SnapshotClock::new(policy);
    // The journal's clock: the latest time a command carried. Archiving
    // and pruning run on it, so that a drill on a simulated clock keeps its
    // journal as a server on the wall clock does.
    let mut clock_ms = i64::MIN;
    let mut stopping = false;
    while !stopping {
        let mut batch = Vec::new();
        match inbox.next() {
            Some(Message::Group {
                commands,
                request,
                reply,
            }) => batch.push((commands, request, reply)),
            Some(Message::Stop) => {
                // Fixes queued before the stop are still answered.
                stopping = true;
                inbox.drain_fixes(&mut batch);
                if batch.is_empty() {
                    break;
                }
            }
            None => break,
        }
        let mut queued = batch.iter().map(|b| b.0.len()).sum::<usize>();
        while queued < MAX_BATCH && !stopping {
            match inbox.waiting() {
                Some(Message::Group {
                    commands,
                    request,
                    reply,
                }) => {
                    queued += commands.len();
                    batch.push((commands, request, reply));
                }
                Some(Message::Stop) => {
                    stopping = true;
                    inbox.drain_fixes(&mut batch);
                    break;
                }
                None => break,
            }
        }
        let mut next = DispatchState::clone(&snapshot.load());
        clock_ms = batch
            .iter()
            .flat_map(|(commands, _, _)| commands)
            .filter(|c| !c.command.engine_only())
            .fold(clock_ms, |t, c| t.max(c.at_ms));
        // The cases due leave the live state first, in this batch's
        // transaction: a command of the batch on one of them is refused
        // as on any archived case.
        let archived = match &journal {
            Some(j) if j.keeps_archive() => archive_due(&mut next, &mut query, &policy, clock_ms),
            _ => Vec::new(),
        };
        // Each group's outcome, and whether it is journaled: a lone position
        // fix is only when the sampler keeps it.
        let results: Vec<(Result<Outcome, CommandError>, bool)> = batch
            .iter_mut()
            .map(|(commands, request, _)| {
                if let Some(c) = commands.iter().find(|c| c.command.engine_only()) {
                    return (Err(CommandError::EngineOnly(c.command.kind())), false);
                }
                let fix = lone_fix(&next, commands, request.as_ref());
                let result = apply_request(&mut next, &mut query, commands, request.as_ref())
                    .map_err(|(_, e)| e);
                let keep = match fix {
                    Some((slot, at_ms, status, stale)) if result.is_ok() => {
                        // A status changed, or a unit marked stale is fresh
                        // again: replay needs the fix.
                        let changed = next
                            .units()
                            .get(slot)
                            .is_some_and(|u| u.status != status || u.stale != stale);
                        // Noted at once, not after the commit: a batch
                        // may hold many fixes of one unit.
                        let keep = sampler.keep(slot, at_ms, changed);
                        if keep {
                            sampler.kept(slot, at_ms);
                        }
                        keep
                    }
                    _ => true,
                };
                (result, keep)
            })
            .collect();
        let committing = std::time::Instant::now();
        let changed = !archived.is_empty()
            || results
                .iter()
                .any(|(r, _)| matches!(r, Ok(Outcome::Applied(_))));
        let saved = match journal.as_mut() {
            Some(j) => to_journal(&batch, &results).and_then(|batch_groups| {
                let mut groups: Vec<Group> = archived.iter().map(|(_, _, g)| g.clone()).collect();
                groups.extend(batch_groups);
                let entries: usize = groups.iter().map(|g| g.entries.len()).sum();
                if groups.is_empty() {
                    Ok(0)
                } else {
                    j.append(&groups)
                        .map(|last| {
                            next.set_journal_seq(last);
                            entries as u64
                        })
                        .map_err(JournalError::from)
                }
            }),
            None => Ok(0),
        };
        if let Ok(entries) = saved
            && entries > 0
        {
            metrics.committed(entries as usize, committing.elapsed());
        }
        let results: Vec<Result<Outcome, CommandError>> =
            results.into_iter().map(|(r, _)| r).collect();
        match saved {
            Ok(entries) => {
                if changed {
                    clock.committed(entries);
                }
                let next = Arc::new(next);
                snapshot.store(Arc::clone(&next));
                let committed: Vec<(&Stamped, &Applied)> = archived
                    .iter()
                    .map(|(s, a, _)| (s, a))
                    .chain(
                        batch
                            .iter()
                            .zip(&results)
                            .filter_map(|((commands, _, _), r)| match r {
                                Ok(Outcome::Applied(a)) => Some(commands.iter().zip(a)),
                                _ => None,
                            })
                            .flatten(),
                    )
                    .collect();
                if !committed.is_empty() {
                    observer(&next, &committed);
                }
                for ((_, _, reply), result) in batch.into_iter().zip(results) {
                    reply(result.map_err(EngineError::from));
                }
                if let Some(j) = journal.as_mut()
                    && clock.due()
                {
                    write_snapshot(j, &next, &mut clock);
                    prune(j, &policy, clock_ms);
                }
            }
            Err(error) => {
                // Nothing of this batch is applied: the state stays what the
                // journal holds.
                log::error!("{error}");
                let error = Arc::new(error);
                for ((_, _, reply), result) in batch.into_iter().zip(results) {
                    let answer = match result {
                        Ok(_) => Err(EngineError::Journal(Arc::clone(&error))),
                        Err(e) => Err(EngineError::Command(e)),
                    };
                    reply(answer);
                }
            }
        }
    }
    // A clean stop leaves a snapshot of everything, the latest positions
    // included, so the next start replays nothing.
    if let Some(j) = journal.as_mut()
        && clock.changed()
    {
        write_snapshot(j, &snapshot.load(), &mut clock);
    }
}

type Batch = Vec<(Vec<Stamped>, Option<ClientRequest>, Reply)>;

/// A group that is one position fix without a request id: its unit's slot,
/// time, status before it, and whether it was marked stale.
fn lone_fix(
    state: &DispatchState,
    commands: &[Stamped],
    request: Option<&ClientRequest>,
) -> Option<(usize, i64, crate::dispatch::unit_state::UnitStatus, bool)> {
    match (commands, request) {
        ([stamped], None) => match &stamped.command {
            Command::ReportPosition { unit, .. } => {
                let slot = state.unit_index(unit).ok()?;
                let before = &state.units()[slot];
                Some((slot, stamped.at_ms, before.status, before.stale))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The groups of a batch that were applied, as the journal keeps them.
fn to_journal(
    batch: &Batch,
    results: &[(Result<Outcome, CommandError>, bool)],
) -> Result<Vec<Group>, JournalError> {
    let mut groups = Vec::new();
    for ((commands, request, _), (result, keep)) in batch.iter().zip(results) {
        if let (Ok(Outcome::Applied(_)), true) = (result, keep) {
            groups.push(Group {
                request: request.as_ref().map(stored::tag),
                entries: commands
                    .iter()
                    .map(stored::entry)
                    .collect::<Result<_, _>>()?,
                archived: Vec::new(),
            });
        }
    }
    Ok(groups)
}

/// Applies the group of one client request: answered from its record if
/// it was applied before, refused if its id was used for another request,
/// else applied (all or none) and recorded. An error names the offset of
/// the command refused.
fn apply_request(
    state: &mut DispatchState,
    query: &mut RouteQuery,
    commands: &mut [Stamped],
    request: Option<&ClientRequest>,
) -> Result<Outcome, (usize, CommandError)> {
    let at_ms = commands.first().map_or(0, |c| c.at_ms);
    if let Some(request) = request {
        match state.requests().seen(request, at_ms) {
            Seen::New => {}
            Seen::Done(record) => return Ok(Outcome::Replayed(record.clone())),
            Seen::Conflict(record) => {
                return Err((
                    0,
                    CommandError::RequestIdReused {
                        id: request.id.clone(),
                        at_ms: record.at_ms,
                    },
                ));
            }
        }
    }
    let applied = apply_group(state, query, commands)?;
    if let Some(request) = request {
        let incident = applied.iter().find_map(|a| a.incident);
        state
            .requests_mut()
            .record(request.clone(), at_ms, incident);
    }
    Ok(Outcome::Applied(applied))
}

/// Applies a group of commands to `state`, all or none, giving later
/// commands the number of the incident the group reported.
fn apply_group(
    state: &mut DispatchState,
    query: &mut RouteQuery,
    commands: &mut [Stamped],
) -> Result<Vec<Applied>, (usize, CommandError)> {
    if let [command] = commands {
        return state
            .apply(query, command)
            .map(|a| vec![a])
            .map_err(|e| (0, e));
    }
    let before = state.clone();
    let mut reported = None;
    let mut applied = Vec::with_capacity(commands.len());
    for (offset, stamped) in commands.iter_mut().enumerate() {
        if let Some(id) = reported {
            stamped.command.name_reported(id);
        }
        match state.apply(query, stamped) {
            Ok(a) => {
                if matches!(stamped.command, Command::ReportIncident { .. }) {
                    reported = a.incident;
                }
                applied.push(a);
            }
            Err(e) => {
                *state = before;
                return Err((offset, e));
            }
        }
    }
    Ok(applied)
}
