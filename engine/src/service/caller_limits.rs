//! Per-token limits, so that one caller cannot starve dispatch: streams
//! open at once (`ReportPositions`, `WatchEvents`) and position fixes per
//! second, counted by the token's name.
//!
//! A unit terminal needs one stream and about a fix a second; a console
//! one or two event streams. A stream over the limit is refused at once
//! with RESOURCE_EXHAUSTED naming the limit; a fix over the rate is
//! dropped and counted in the stream's answer, and the stream goes on, so
//! a terminal that bursts after a tunnel loses fixes, not its stream.
//! Without an auth file every caller is the same anonymous dispatcher on
//! the loopback (a development set-up): no per-token limit applies, and
//! the server-wide limits do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tonic::Status;

use crate::service::auth::Caller;

/// The limits, per token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallerLimitsConfig {
    /// Streams (`ReportPositions` and `WatchEvents` together) one token may
    /// have open at once.
    pub max_streams: usize,
    /// Position fixes one token may send per second, on all its streams
    /// together; up to this many more in a burst.
    pub fixes_per_second: u32,
}

impl Default for CallerLimitsConfig {
    fn default() -> Self {
        Self {
            max_streams: 8,
            fixes_per_second: 10,
        }
    }
}

/// What one token is using.
#[derive(Debug)]
struct Usage {
    streams: usize,
    /// Fixes it may still send now (a token bucket).
    allowance: f64,
    refilled: Instant,
}

/// The per-token counters, shared by every call.
#[derive(Debug)]
pub(crate) struct CallerLimits {
    config: CallerLimitsConfig,
    /// Whether callers have tokens; without, nothing is limited here.
    enforced: bool,
    usage: Mutex<HashMap<String, Usage>>,
}

/// A stream's place in its token's allowance, given back when dropped.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    limits: Option<(Arc<CallerLimits>, String)>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Some((limits, name)) = self.limits.take() {
            let mut usage = limits.lock();
            if let Some(u) = usage.get_mut(&name) {
                u.streams = u.streams.saturating_sub(1);
            }
        }
    }
}

impl CallerLimits {
    pub(crate) fn new(config: CallerLimitsConfig, enforced: bool) -> Arc<Self> {
        Arc::new(Self {
            config,
            enforced,
            usage: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Usage>> {
        // The counters stay consistent whatever panicked while holding
        // the lock: each change is one assignment.
        self.usage.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn usage<'a>(&self, usage: &'a mut HashMap<String, Usage>, name: &str) -> &'a mut Usage {
        usage.entry(name.to_string()).or_insert_with(|| Usage {
            streams: 0,
            allowance: f64::from(self.config.fixes_per_second) * 2.0,
            refilled: Instant::now(),
        })
    }

    /// A place for one more stream of `caller`, or RESOURCE_EXHAUSTED when
    /// it has as many open as it may.
    pub(crate) fn open_stream(
        self: &Arc<Self>,
        caller: &Caller,
        what: &str,
    ) -> Result<StreamSlot, Status> {
        if !self.enforced {
            return Ok(StreamSlot { limits: None });
        }
        let mut usage = self.lock();
        let u = self.usage(&mut usage, &caller.name);
        if u.streams >= self.config.max_streams {
            return Err(Status::resource_exhausted(format!(
                "{} has {} streams open, the most one token may have \
                 (--max-streams-per-token); close one before opening {what}",
                caller.name, u.streams
            )));
        }
        u.streams += 1;
        Ok(StreamSlot {
            limits: Some((Arc::clone(self), caller.name.clone())),
        })
    }

    /// Whether `caller` may send one more fix now; a refusal says why.
    pub(crate) fn take_fix(&self, caller: &Caller) -> Result<(), Status> {
        if !self.enforced {
            return Ok(());
        }
        let rate = f64::from(self.config.fixes_per_second);
        let mut usage = self.lock();
        let u = self.usage(&mut usage, &caller.name);
        let now = Instant::now();
        let elapsed = now.duration_since(u.refilled).as_secs_f64();
        u.allowance = (u.allowance + elapsed * rate).min(rate * 2.0);
        u.refilled = now;
        if u.allowance < 1.0 {
            return Err(Status::resource_exhausted(format!(
                "{} sends more than {} fixes a second (--max-fixes-per-second); \
                 this fix was dropped",
                caller.name, self.config.fixes_per_second
            )));
        }
        u.allowance -= 1.0;
        Ok(())
    }
}
