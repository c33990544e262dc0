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
use crossbeam_channel::{Receiver, Sender, bounded};

use crate::dispatch::command::{CommandError, Stamped};
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

enum Message {
    Command {
        command: Stamped,
        reply: Sender<Result<Applied, EngineError>>,
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
            .send(Message::Command { command, reply })
            .map_err(|_| EngineError::Stopped)?;
        answer.recv().map_err(|_| EngineError::Stopped)?
    }
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
        let (requests, inbox) = bounded::<Message>(4096);
        let published = snapshot.clone();
        let writer = std::thread::Builder::new()
            .name("kuaifan-dispatch-writer".to_string())
            .spawn(move || write_loop(world, journal, published, inbox))
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
) {
    let mut query = RouteQuery::new(world.scenario().router());
    let mut stopping = false;
    while !stopping {
        let mut batch = Vec::new();
        match inbox.recv() {
            Ok(Message::Command { command, reply }) => batch.push((command, reply)),
            Ok(Message::Stop) | Err(_) => break,
        }
        while batch.len() < MAX_BATCH {
            match inbox.try_recv() {
                Ok(Message::Command { command, reply }) => batch.push((command, reply)),
                Ok(Message::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let mut next = DispatchState::clone(&snapshot.load());
        let results: Vec<Result<Applied, CommandError>> = batch
            .iter()
            .map(|(c, _)| next.apply(&mut query, c))
            .collect();
        let accepted: Vec<&Stamped> = batch
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|((c, _), _)| c)
            .collect();
        let saved = match journal.as_mut() {
            Some(j) if !accepted.is_empty() => j.append(&accepted),
            _ => Ok(()),
        };
        match saved {
            Ok(()) => {
                snapshot.store(Arc::new(next));
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    let _ = reply.send(result.map_err(EngineError::from));
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
                    let _ = reply.send(answer);
                }
            }
        }
    }
}
