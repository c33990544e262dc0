//! A load run's figures: what was asked, what was achieved, latency
//! percentiles, errors, as text for people and JSON for scripts.

use std::collections::BTreeMap;
use std::fmt;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::load::open_loop::Outcome;
use crate::load::terminals::TerminalTotals;

/// Latency percentiles in microseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Percentiles {
    /// Requests measured.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// The slowest.
    pub max_us: u64,
    /// The mean.
    pub mean_us: f64,
}

impl Percentiles {
    /// Of a histogram of microseconds.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        Percentiles {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: h.mean(),
        }
    }
}

/// One run at one rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadSummary {
    /// Requests per second asked for.
    pub target_rate: f64,
    /// Successful requests per second achieved.
    pub achieved_rate: f64,
    /// Seconds measured.
    pub duration_s: f64,
    /// Connections used.
    pub connections: usize,
    /// The request mix.
    pub mix: String,
    /// Requests sent.
    pub sent: u64,
    /// Requests answered with success.
    pub ok: u64,
    /// Failed requests per `kind: CODE`.
    pub errors: BTreeMap<String, u64>,
    /// Requests still unanswered at the end.
    pub unfinished: u64,
    /// Latency of successful requests, measured from when each was due.
    pub latency: Percentiles,
    /// The same per kind of request.
    pub by_kind: BTreeMap<String, Percentiles>,
    /// The unit terminals' position streams meanwhile.
    pub terminals: TerminalTotals,
}

impl LoadSummary {
    /// The figures of an outcome.
    pub fn new(
        target_rate: f64,
        connections: usize,
        mix: String,
        outcome: &Outcome,
        terminals: TerminalTotals,
    ) -> LoadSummary {
        let seconds = outcome.elapsed.as_secs_f64().max(1e-9);
        LoadSummary {
            target_rate,
            achieved_rate: outcome.ok() as f64 / seconds,
            duration_s: seconds,
            connections,
            mix,
            sent: outcome.sent,
            ok: outcome.ok(),
            errors: outcome.errors.clone(),
            unfinished: outcome.unfinished,
            latency: Percentiles::of(&outcome.all),
            by_kind: outcome
                .by_kind
                .iter()
                .map(|(k, h)| ((*k).to_string(), Percentiles::of(h)))
                .collect(),
            terminals,
        }
    }

    /// The share of requests that failed or went unanswered.
    pub fn error_share(&self) -> f64 {
        let failed: u64 = self.errors.values().sum::<u64>() + self.unfinished;
        failed as f64 / (self.sent.max(1)) as f64
    }
}

fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

impl fmt::Display for LoadSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "rate {:.0}/s asked, {:.0}/s answered over {:.1} s on {} connections ({})",
            self.target_rate, self.achieved_rate, self.duration_s, self.connections, self.mix
        )?;
        writeln!(
            f,
            "sent {}, ok {}, failed {}, unanswered {}",
            self.sent,
            self.ok,
            self.errors.values().sum::<u64>(),
            self.unfinished
        )?;
        for (what, n) in &self.errors {
            writeln!(f, "  {what}: {n}")?;
        }
        let l = &self.latency;
        writeln!(
            f,
            "latency p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            ms(l.p50_us),
            ms(l.p90_us),
            ms(l.p99_us),
            ms(l.p999_us),
            ms(l.max_us)
        )?;
        for (kind, p) in &self.by_kind {
            writeln!(
                f,
                "  {kind:<10} n={:<7} p50 {}  p99 {}  max {}",
                p.count,
                ms(p.p50_us),
                ms(p.p99_us),
                ms(p.max_us)
            )?;
        }
        write!(
            f,
            "terminals: {} streams, {} fixes accepted, {} rejected, {} streams failed",
            self.terminals.streams,
            self.terminals.accepted,
            self.terminals.rejected,
            self.terminals.failed_streams
        )
    }
}
