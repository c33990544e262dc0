//! What each journal commit cost, recorded through the `metrics` facade
//! for whoever listens (the service exports it to Prometheus; without a
//! recorder the handles do nothing).

use std::time::Duration;

use metrics::{Counter, Histogram, counter, histogram};

/// The time one journal transaction took to commit.
pub const COMMIT_SECONDS: &str = "kuaifan_journal_commit_seconds";
/// The commands in one journal transaction.
pub const BATCH_COMMANDS: &str = "kuaifan_journal_batch_commands";
/// Commands made durable since the start.
pub const COMMANDS_COMMITTED: &str = "kuaifan_journal_commands_total";

/// The handles the writer records each commit into, looked up once when
/// it starts (after the service installed its recorder).
#[derive(Debug)]
pub(crate) struct CommitMetrics {
    seconds: Histogram,
    commands: Histogram,
    committed: Counter,
}

impl CommitMetrics {
    pub(crate) fn new() -> Self {
        Self {
            seconds: histogram!(COMMIT_SECONDS),
            commands: histogram!(BATCH_COMMANDS),
            committed: counter!(COMMANDS_COMMITTED),
        }
    }

    /// One journal transaction of `commands` commands, which took `took`.
    pub(crate) fn committed(&self, commands: usize, took: Duration) {
        self.seconds.record(took.as_secs_f64());
        self.commands.record(commands as f64);
        self.committed.increment(commands as u64);
    }
}
