//! One writer, many readers.
//!
//! A single writer thread owns the dispatch state and the journal. Commands
//! reach it over a channel; it applies each to a copy of the current state,
//! writes the accepted ones to the journal in one transaction (group
//! commit: one disk sync for every command that arrived meanwhile), and
//! only then publishes the copy as the new snapshot and acknowledges.
//! Readers (recommendations, coverage, lists) take the current snapshot, an
//! `Arc` swapped atomically, and never wait for the writer.

use std::sync::Arc;
use std::thread::JoinHandle;

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::dispatch::command::{Command, CommandError, Stamped};
use crate::dispatch::state::{Applied, DispatchState};
use crate::dispatch::world::World;
use crate::journal::{Journal, JournalError};
use crate::route::RouteQuery;

/// The most commands committed in one journal transaction.
const MAX_BATCH: usize = 512;

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
    /// A journal entry no longer applies to this scenario.
    #[error("journal entry {index} (at {at_ms} ms, by {actor}) does not apply: {error}")]
    Replay {
        /// Its position in the journal, from 0.
        index: usize,
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

/// Called on the writer thread with the outcome of a group of commands.
type Reply = Box<dyn FnOnce(Result<Vec<Applied>, EngineError>) + Send>;

/// Called on the writer thread after every commit, with the new snapshot
/// and the commands it made durable, in journal order: how the service
/// tells watching consoles what changed, in the order it happened.
pub type CommitObserver = Box<dyn FnMut(&Arc<DispatchState>, &[(&Stamped, &Applied)]) + Send>;

/// How many commands may wait for the writer before new ones are refused
/// with [`EngineError::Busy`].
const QUEUE_CAPACITY: usize = 4096;

enum Message {
    /// Commands applied together or not at all.
    Group {
        commands: Vec<Stamped>,
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
        self.requests
            .send(Message::Group {
                commands: vec![command],
                reply: Box::new(move |result| {
                    let _ = reply.send(result);
                }),
            })
            .map_err(|_| EngineError::Stopped)?;
        answer.recv().map_err(|_| EngineError::Stopped)?.map(only)
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
        let message = Message::Group {
            commands,
            reply: Box::new(done),
        };
        self.requests.try_send(message).map_err(|e| match e {
            TrySendError::Full(_) => EngineError::Busy {
                queued: self.requests.len(),
            },
            TrySendError::Disconnected(_) => EngineError::Stopped,
        })
    }
}

/// The one outcome of a group of one command.
fn only(mut applied: Vec<Applied>) -> Applied {
    applied.swap_remove(0)
}

/// The running engine: its writer thread and a handle.
#[derive(Debug)]
pub struct DispatchEngine {
    handle: EngineHandle,
    writer: Option<JoinHandle<()>>,
    replayed: usize,
}

impl DispatchEngine {
    /// Starts from the journal's state (replaying every entry) or, without
    /// a journal, from the start of a shift.
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
        let mut query = RouteQuery::new(world.scenario().router());
        let mut state = DispatchState::new(world.clone(), &mut query);
        let history = match &journal {
            Some(j) => j.read_all()?,
            None => Vec::new(),
        };
        for (index, command) in history.iter().enumerate() {
            state
                .apply(&mut query, command)
                .map_err(|error| EngineError::Replay {
                    index,
                    at_ms: command.at_ms,
                    actor: command.actor.clone(),
                    error,
                })?;
        }
        let snapshot = Arc::new(ArcSwap::from_pointee(state));
        let (requests, inbox) = bounded::<Message>(QUEUE_CAPACITY);
        let published = snapshot.clone();
        let writer = std::thread::Builder::new()
            .name("kuaifan-dispatch-writer".to_string())
            .spawn(move || write_loop(world, journal, published, inbox, observer))
            .map_err(|_| EngineError::Stopped)?;
        Ok(DispatchEngine {
            handle: EngineHandle { snapshot, requests },
            writer: Some(writer),
            replayed: history.len(),
        })
    }

    /// A handle for submitting commands and reading snapshots.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// How many journal entries were replayed at start.
    pub fn replayed(&self) -> usize {
        self.replayed
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

fn write_loop(
    world: Arc<World>,
    mut journal: Option<Journal>,
    snapshot: Arc<ArcSwap<DispatchState>>,
    inbox: Receiver<Message>,
    mut observer: CommitObserver,
) {
    let mut query = RouteQuery::new(world.scenario().router());
    let mut stopping = false;
    while !stopping {
        let mut batch = Vec::new();
        match inbox.recv() {
            Ok(Message::Group { commands, reply }) => batch.push((commands, reply)),
            Ok(Message::Stop) | Err(_) => break,
        }
        let mut queued = batch[0].0.len();
        while queued < MAX_BATCH {
            match inbox.try_recv() {
                Ok(Message::Group { commands, reply }) => {
                    queued += commands.len();
                    batch.push((commands, reply));
                }
                Ok(Message::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let mut next = DispatchState::clone(&snapshot.load());
        let results: Vec<Result<Vec<Applied>, CommandError>> = batch
            .iter_mut()
            .map(|(commands, _)| apply_group(&mut next, &mut query, commands))
            .collect();
        let accepted: Vec<&Stamped> = batch
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .flat_map(|((commands, _), _)| commands)
            .collect();
        let saved = match journal.as_mut() {
            Some(j) if !accepted.is_empty() => j.append(&accepted),
            _ => Ok(()),
        };
        match saved {
            Ok(()) => {
                let next = Arc::new(next);
                snapshot.store(Arc::clone(&next));
                let committed: Vec<(&Stamped, &Applied)> = batch
                    .iter()
                    .zip(&results)
                    .filter_map(|((commands, _), r)| {
                        r.as_ref().ok().map(|a| commands.iter().zip(a))
                    })
                    .flatten()
                    .collect();
                if !committed.is_empty() {
                    observer(&next, &committed);
                }
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    reply(result.map_err(EngineError::from));
                }
            }
            Err(error) => {
                // Nothing of this batch is applied: the state stays what the
                // journal holds.
                log::error!("{error}");
                let error = Arc::new(error);
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    let answer = match result {
                        Ok(_) => Err(EngineError::Journal(Arc::clone(&error))),
                        Err(e) => Err(EngineError::Command(e)),
                    };
                    reply(answer);
                }
            }
        }
    }
}

/// Applies a group of commands to `state`, all or none, giving later
/// commands the number of the incident the group reported.
fn apply_group(
    state: &mut DispatchState,
    query: &mut RouteQuery,
    commands: &mut [Stamped],
) -> Result<Vec<Applied>, CommandError> {
    if let [command] = commands {
        return state.apply(query, command).map(|a| vec![a]);
    }
    let before = state.clone();
    let mut reported = None;
    let mut applied = Vec::with_capacity(commands.len());
    for stamped in commands.iter_mut() {
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
                return Err(e);
            }
        }
    }
    Ok(applied)
}
