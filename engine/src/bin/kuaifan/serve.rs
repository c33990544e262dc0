//! `kuaifan serve`: the gRPC service for 110 consoles and unit terminals.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use kuaifan_engine::service::{
    CallerLimitsConfig, EtcdServe, ServeConfig, ServeError, Server, TlsFiles,
};
use kuaifan_engine::{JournalPolicy, Policy, ScenarioSource};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario directory; without it, the built-in Jincheng scenario.
    #[arg(long, value_name = "DIR")]
    scenario: Option<PathBuf>,
    /// Where to listen. Any address but loopback needs --tls-cert,
    /// --tls-key and --auth.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// The journal (SQLite): replayed on start, written before every
    /// acknowledgement. Without it nothing survives a restart. With
    /// --etcd, this node's local copy of the replicated journal.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// A prepared-graph cache: loaded when it was made from the same map
    /// and profile, (re)written when it was not, so that a restart skips
    /// preparing the road graph (most of a start without it).
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Tokens and roles (TOML); without it every caller is a dispatcher.
    #[arg(long, value_name = "FILE")]
    auth: Option<PathBuf>,
    /// TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The default policy: `coverage` (keep the city covered) or
    /// `closest`.
    #[arg(long, value_name = "POLICY", default_value = "coverage", value_parser = parse_policy)]
    policy: Policy,
    /// Calls running at once before new ones are refused with
    /// RESOURCE_EXHAUSTED [default: 64 per worker thread]
    #[arg(long, value_name = "N", value_parser = parse_limit)]
    max_in_flight: Option<usize>,
    /// A second port answering only gRPC health checks (plaintext), from a
    /// thread of its own: probes get an answer at once even while the
    /// main port sheds a flood.
    #[arg(long, value_name = "ADDR")]
    health_listen: Option<SocketAddr>,
    /// Seconds without a fix after which a unit is stale: it no longer
    /// counts as coverage, is never auto-assigned and ranks after fresh
    /// units, until it reports again. A unit that sends no fix counts from
    /// the start of the shift.
    #[arg(long, value_name = "SECONDS", default_value_t = 120, value_parser = parse_limit)]
    stale_after: usize,
    /// Streams (ReportPositions and WatchEvents together) one token may
    /// have open at once; more are refused with RESOURCE_EXHAUSTED. Only
    /// with --auth: without, every caller is the one anonymous dispatcher.
    #[arg(long, value_name = "N", default_value_t = CallerLimitsConfig::default().max_streams, value_parser = parse_limit)]
    max_streams_per_token: usize,
    /// Position fixes one token may send per second over all its streams
    /// (bursts of twice as many); more are dropped and counted. Only with
    /// --auth.
    #[arg(long, value_name = "N", default_value_t = CallerLimitsConfig::default().fixes_per_second as usize, value_parser = parse_limit)]
    max_fixes_per_second: usize,
    /// Threads answering calls (the journal writer has its own); 1 runs
    /// them all on one thread. The default is one per core.
    #[arg(long, value_name = "N", default_value_t = default_workers(), value_parser = parse_limit)]
    workers: usize,
    /// A snapshot of the whole state after this many journal entries, so
    /// that a start replays at most that many.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = parse_limit)]
    snapshot_every: usize,
    /// A snapshot when anything changed (positions too) and this many
    /// minutes passed since the last one.
    #[arg(long, value_name = "M", default_value_t = 5, value_parser = parse_limit)]
    snapshot_minutes: usize,
    /// A position fix that changes no status is journaled only when the
    /// unit's last journaled fix is at least this many seconds old.
    #[arg(long, value_name = "S", default_value_t = 30)]
    fix_journal_seconds: u32,
    /// A closed case leaves the live state for the journal's archive this
    /// many minutes after it was closed (`GetIncident` and
    /// `ListIncidents` still answer it from there).
    #[arg(long, value_name = "M", default_value_t = 60)]
    archive_after_minutes: u32,
    /// Journaled position fixes older than this many days are deleted
    /// (every other entry stays, the audit trail).
    #[arg(long, value_name = "D", default_value_t = 7, value_parser = parse_limit)]
    keep_fixes_days: usize,
    /// A deployment with hot standbys: the client URLs of the etcd
    /// cluster's members (http://10.0.0.1:2379,http://10.0.0.2:2379,…).
    /// The journal is then kept in etcd, and --journal is this node's
    /// local copy of it (its audit archive); the node follows the journal
    /// as a standby and takes the lead when none holds it. Needs a build
    /// with `--features etcd`.
    #[arg(
        long,
        value_name = "URL,URL,URL",
        value_delimiter = ',',
        requires_all = ["node_name", "journal"]
    )]
    etcd: Vec<String>,
    /// This node's name in the deployment (with --etcd), unique.
    #[arg(long, value_name = "NAME", requires = "etcd")]
    node_name: Option<String>,
    /// The gRPC address clients reach this node at, which standbys name to
    /// clients while it leads [default: the --listen address].
    #[arg(long, value_name = "HOST:PORT", requires = "etcd")]
    advertise: Option<String>,
    /// The deployment's key prefix in etcd: two deployments may share a
    /// cluster under two prefixes.
    #[arg(long, value_name = "PREFIX", default_value = kuaifan_engine::service::DEFAULT_ETCD_PREFIX)]
    etcd_prefix: String,
    /// The leader's lease in seconds: a leader that crashed or was cut off
    /// holds the lead this long before a standby takes it.
    #[arg(long, value_name = "S", default_value_t = kuaifan_engine::service::DEFAULT_LEASE.as_secs() as usize, value_parser = parse_limit)]
    lease_seconds: usize,
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

fn parse_policy(text: &str) -> Result<Policy, String> {
    match text {
        "coverage" => Ok(Policy::Coverage),
        "closest" => Ok(Policy::Closest),
        other => Err(format!(
            "{other:?} is not a policy: use coverage or closest"
        )),
    }
}

fn parse_limit(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{text:?} is not a positive whole number")),
    }
}

pub fn run(args: &Args) -> Result<()> {
    if !args.etcd.is_empty() && !cfg!(feature = "etcd") {
        anyhow::bail!(
            "--etcd needs a kuaifan built with the etcd feature: `cargo build --release \
             --features etcd` (it needs protoc: `apt-get install protobuf-compiler`)"
        );
    }
    let scenario = match &args.scenario {
        Some(dir) => ScenarioSource::Dir(dir.clone()),
        None => kuaifan_engine::jincheng(),
    };
    let mut config = ServeConfig::new(scenario);
    config.listen = args.listen;
    config.journal = args.journal.clone();
    config.cache = args.cache.clone();
    config.auth = args.auth.clone();
    config.policy = args.policy;
    config.max_in_flight = args
        .max_in_flight
        .unwrap_or_else(|| kuaifan_engine::service::default_max_in_flight(args.workers));
    config.health_listen = args.health_listen;
    config.journal_policy = JournalPolicy {
        snapshot_every_entries: args.snapshot_every as u64,
        snapshot_every: std::time::Duration::from_secs(args.snapshot_minutes as u64 * 60),
        fix_interval_ms: i64::from(args.fix_journal_seconds) * 1000,
        archive_after_ms: i64::from(args.archive_after_minutes) * 60_000,
        keep_fixes_ms: i64::try_from(args.keep_fixes_days)
            .unwrap_or(i64::MAX / 86_400_000)
            .saturating_mul(86_400_000),
    };
    config.stale_after = std::time::Duration::from_secs(args.stale_after as u64);
    // With --etcd, --journal is the node's local copy (clap requires it).
    if let (Some(node), Some(journal)) = (&args.node_name, &args.journal) {
        config.etcd = Some(EtcdServe {
            endpoints: args.etcd.clone(),
            node: node.clone(),
            prefix: args.etcd_prefix.clone(),
            advertise: args.advertise.clone(),
            lease: std::time::Duration::from_secs(args.lease_seconds as u64),
            journal: journal.clone(),
        });
        config.journal = None;
    }
    config.caller_limits = CallerLimitsConfig {
        max_streams: args.max_streams_per_token,
        fixes_per_second: u32::try_from(args.max_fixes_per_second).unwrap_or(u32::MAX),
    };
    config.tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let runtime = kuaifan_engine::service::runtime(args.workers, "kuaifan-serve")
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let tls = config.tls.is_some();
        let auth = config.auth.clone();
        let server = Server::bind(config).map_err(once)?;
        // Scripts and tests read this line for the port.
        println!(
            "kuaifan: listening on {} ({}, {})",
            server.local_addr(),
            if tls { "TLS" } else { "plaintext" },
            auth.map_or_else(
                || "no auth: every caller is a dispatcher".to_string(),
                |a| format!("tokens from {}", a.display())
            )
        );
        println!(
            "kuaifan: map console at {}://{}/",
            if tls { "https" } else { "http" },
            server.local_addr()
        );
        if let Some(health) = server.health_addr() {
            println!("kuaifan: health checks also on {health} (plaintext, health only)");
        }
        server
            .run(shutdown_signal(), |loaded| {
                println!(
                    "kuaifan: ready: {}, {} units, {} zones, {} road nodes{}; {} journal entries replayed{}",
                    loaded.scenario,
                    loaded.units,
                    loaded.zones,
                    loaded.nodes,
                    if loaded.graph_from_cache { " (graph from the cache)" } else { "" },
                    loaded.replayed,
                    loaded
                        .snapshot_seq
                        .map_or_else(String::new, |s| format!(" after the snapshot through entry {s}"))
                );
            })
            .await
            .map_err(once)?;
        println!("kuaifan: stopped; the journal is closed");
        Ok(())
    })
}

/// A server error as one message: its text already holds its causes, which
/// `{:#}` would print a second time.
fn once(error: ServeError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(e) => {
                    log::warn!("cannot watch for SIGTERM: {e}");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    log::info!("shutting down: finishing calls in flight");
}
