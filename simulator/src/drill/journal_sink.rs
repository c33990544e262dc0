//! A drill written into a journal: every command the drill applies is
//! also submitted to a real dispatch engine on a journal file, with the
//! server's journal policy (sampled fixes, snapshots), so that a long drill
//! leaves the journal a server would have after as many days; `kuaifan
//! serve --journal FILE` then starts on it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kuaifan_engine::{
    DispatchEngine, EngineError, Journal, JournalError, JournalPolicy, Stamped, World,
};

/// Why the journal could not be written.
#[derive(Debug, thiserror::Error)]
pub enum JournalSinkError {
    /// It could not be opened.
    #[error(transparent)]
    Open(#[from] JournalError),
    /// The engine did not start or stopped.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The engine the drill's commands are journaled through.
#[derive(Debug)]
pub struct JournalSink {
    engine: Option<DispatchEngine>,
    refused: Arc<AtomicU64>,
}

impl JournalSink {
    /// Opens (or creates) the journal at `path` and starts an engine on it.
    /// The journal should be new: a drill's commands assume a fresh shift.
    pub fn open(world: &Arc<World>, path: &Path) -> Result<JournalSink, JournalSinkError> {
        let journal = Journal::open(path)?;
        let engine = DispatchEngine::start_with(
            Arc::clone(world),
            Some(journal),
            JournalPolicy::default(),
            Box::new(|_, _| {}),
        )?;
        Ok(JournalSink {
            engine: Some(engine),
            refused: Arc::default(),
        })
    }

    /// Submits a command the drill applied; waits only when the writer's
    /// queue is full. The writer applies commands in the order they are
    /// submitted, so its incident numbers are the drill's.
    pub fn send(&mut self, stamped: &Stamped) {
        let Some(engine) = &self.engine else { return };
        let handle = engine.handle();
        let refused = Arc::clone(&self.refused);
        let done = move |result: Result<_, EngineError>| {
            if result.is_err() {
                refused.fetch_add(1, Ordering::Relaxed);
            }
        };
        if let Err(EngineError::Busy { .. }) = handle.submit_then(stamped.clone(), done)
            && handle.submit(stamped.clone()).is_err()
        {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Stops the engine (a clean stop: its last snapshot is written) and
    /// says how many commands it refused (none are expected).
    pub fn finish(mut self) -> u64 {
        if let Some(engine) = self.engine.take() {
            engine.shutdown();
        }
        self.refused.load(Ordering::Relaxed)
    }
}
