//! An open-loop driver: requests leave on a fixed schedule whether or not
//! earlier ones have been answered, so a slow server builds a queue that
//! the latencies show, as real consoles would feel it.
//!
//! Each latency is measured from when the request was due to leave, not
//! from when it actually left: if the driver itself falls behind (the
//! machine is busy), the wait counts too. This is the correction for
//! coordinated omission that closed-loop benchmarks lack. The schedule is
//! kept by a thread of its own sleeping to each departure (the OS timer is
//! good to tens of microseconds; tokio's to a millisecond, which would be
//! most of a fast call's latency).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use std::time::Instant;

/// The longest latency recorded; longer ones are clamped to it.
pub const MAX_LATENCY: Duration = Duration::from_secs(60);

/// One answered request: what kind it was and, if it failed, why (the
/// gRPC code's name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The kind of request, e.g. `recommend`.
    pub kind: &'static str,
    /// The error's code, if any.
    pub error: Option<String>,
}

/// Latencies and errors of one run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Latencies of successful requests, in microseconds, over all kinds.
    pub all: Histogram<u64>,
    /// The same per kind.
    pub by_kind: BTreeMap<&'static str, Histogram<u64>>,
    /// Failed requests per `kind: CODE`.
    pub errors: BTreeMap<String, u64>,
    /// Requests sent.
    pub sent: u64,
    /// Requests still unanswered when the run gave up waiting.
    pub unfinished: u64,
    /// From the first request due to the last answer.
    pub elapsed: Duration,
}

impl Outcome {
    /// Successful requests.
    pub fn ok(&self) -> u64 {
        self.all.len()
    }

    /// Failed requests.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }
}

fn histogram() -> Histogram<u64> {
    // Three significant figures from 1 µs to a minute: under 100 kB.
    Histogram::new_with_bounds(1, MAX_LATENCY.as_micros() as u64, 3)
        .expect("constant bounds are valid")
}

#[derive(Default)]
struct Tally {
    all: Option<Histogram<u64>>,
    by_kind: BTreeMap<&'static str, Histogram<u64>>,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, sample: Sample, latency: Duration) {
        match sample.error {
            Some(code) => {
                *self
                    .errors
                    .entry(format!("{}: {code}", sample.kind))
                    .or_default() += 1
            }
            None => {
                let micros = (latency.as_micros() as u64).clamp(1, MAX_LATENCY.as_micros() as u64);
                self.all
                    .get_or_insert_with(histogram)
                    .saturating_record(micros);
                self.by_kind
                    .entry(sample.kind)
                    .or_insert_with(histogram)
                    .saturating_record(micros);
            }
        }
    }
}

/// Sends `rate` requests a second for `duration`, each made by
/// `call(i)` and run on the current tokio runtime, then waits up to
/// `drain` for the last answers.
pub async fn drive<F, Fut>(rate: f64, duration: Duration, drain: Duration, mut call: F) -> Outcome
where
    F: FnMut(u64) -> Fut + Send + 'static,
    Fut: Future<Output = Sample> + Send + 'static,
{
    let tally = Arc::new(Mutex::new(Tally::default()));
    let total = (rate * duration.as_secs_f64()).round().max(0.0) as u64;
    let runtime = tokio::runtime::Handle::current();
    let (done, mut answers) = tokio::sync::mpsc::unbounded_channel::<()>();
    let start = Instant::now();
    let schedule = {
        let tally = Arc::clone(&tally);
        std::thread::Builder::new()
            .name("load-schedule".to_string())
            .spawn(move || {
                for i in 0..total {
                    let due = start + Duration::from_secs_f64(i as f64 / rate);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    let request = call(i);
                    let (tally, done) = (Arc::clone(&tally), done.clone());
                    runtime.spawn(async move {
                        let sample = request.await;
                        let latency = due.elapsed();
                        tally
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .record(sample, latency);
                        let _ = done.send(());
                    });
                }
            })
    };
    let mut answered = 0;
    let sent = match schedule {
        Ok(thread) => {
            // The schedule thread only sleeps and spawns; joining it on a
            // blocking thread keeps the runtime free meanwhile.
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if joined.is_ok() { total } else { 0 }
        }
        Err(e) => {
            log::error!("cannot start the schedule thread: {e}");
            0
        }
    };
    let _ = tokio::time::timeout(drain, async {
        while answered < sent && answers.recv().await.is_some() {
            answered += 1;
        }
    })
    .await;
    let elapsed = start.elapsed();
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    Outcome {
        all: tally.all.unwrap_or_else(histogram),
        by_kind: tally.by_kind,
        errors: tally.errors,
        sent,
        unfinished: sent - answered,
        elapsed,
    }
}
