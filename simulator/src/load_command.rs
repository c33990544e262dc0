//! `kuaifan-sim load`: the command line over [`kuaifan_sim::load`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use kuaifan_engine::service::Servers;
use kuaifan_sim::load::{Load, LoadConfig, Mix, find_max};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server: `http://host:port`, or `https://` with --ca. With hot
    /// standbys, every node's, separated by commas: the run goes to the
    /// node that leads.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Bearer token (a dispatcher's, for reports).
    #[arg(long, env = "KUAIFAN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// CA certificate (PEM) to trust for https.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Requests per second, sent on schedule whatever the answers.
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Seconds sent before measuring.
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Connections the requests are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Request mix as kind=weight: recommend, report, positions, coverage,
    /// health (the transport floor).
    #[arg(long, default_value = "recommend=1")]
    mix: Mix,
    /// Unit terminals streaming positions meanwhile.
    #[arg(long, default_value_t = 39)]
    terminals: usize,
    /// Fixes per second per terminal.
    #[arg(long, default_value_t = 1.0)]
    terminal_hz: f64,
    /// Seed of the locations and the mix.
    #[arg(long, default_value_t = 356)]
    seed: u64,
    /// Step the rate up from --rate until p99 passes --p99-ms; report the
    /// highest rate that held.
    #[arg(long)]
    find_max: bool,
    /// The p99 bound for --find-max, milliseconds.
    #[arg(long, default_value_t = 1.0)]
    p99_ms: f64,
    /// Rate factor between --find-max steps.
    #[arg(long, default_value_t = 1.25)]
    step: f64,
    /// The highest rate --find-max tries.
    #[arg(long, default_value_t = 100_000.0)]
    max_rate: f64,
    /// Client threads. One disturbs a server on the same small machine
    /// least; give more when the client cannot keep the rate.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Also write the figures as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn seconds(s: f64, what: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("{what} {s} is not a number of seconds"))
}

pub fn run(args: &Args) -> Result<()> {
    if args.workers == 0 {
        anyhow::bail!("--workers must be at least 1");
    }
    let config = LoadConfig {
        servers: Servers::parse(&args.addr, args.token.clone(), args.ca.clone())?.endpoints(),
        rate: args.rate,
        duration: seconds(args.duration, "--duration")?,
        warmup: seconds(args.warmup, "--warmup")?,
        connections: args.connections,
        mix: args.mix.clone(),
        terminals: args.terminals,
        terminal_hz: args.terminal_hz,
        seed: args.seed,
    };
    let runtime = kuaifan_engine::service::runtime(args.workers, "kuaifan-sim")
        .context("starting the runtime")?;
    let report = runtime.block_on(async {
        let load = Load::connect(config).await?;
        if args.find_max {
            let bound = seconds(args.p99_ms / 1000.0, "--p99-ms")?;
            let steps = find_max(&load, args.rate, args.step, args.max_rate, bound).await;
            for step in &steps {
                println!(
                    "{}\n{}\n",
                    step.summary,
                    if step.held { "held" } else { "did not hold" }
                );
            }
            let best = steps
                .iter()
                .filter(|s| s.held)
                .map(|s| s.summary.target_rate)
                .next_back();
            match best {
                Some(rate) => println!(
                    "highest rate held with p99 <= {} ms: {rate:.0} requests/s",
                    args.p99_ms
                ),
                None => println!("no rate held with p99 <= {} ms", args.p99_ms),
            }
            anyhow::Ok(
                json!({ "p99_bound_ms": args.p99_ms, "highest_rate_held": best, "steps": steps }),
            )
        } else {
            let summary = load.run_at(args.rate).await;
            println!("{summary}");
            anyhow::Ok(serde_json::to_value(&summary)?)
        }
    })?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
