//! `kuaifan dispatch`: the dispatch engine over standard input and output,
//! one JSON command per line in, one acknowledgement per line out, each
//! written only once the command is in the journal. Scripts, drills and
//! the crash test drive it; consoles use the gRPC service.
//!
//! In: `{"at_ms": 1700000000000, "actor": "dispatcher-1", "command": {"ReportIncident": {...}}}`
//! Out: `{"incident":3,"ok":true,"units":["U05"]}` or `{"error":"...","ok":false}`.
//! At the end of the input it prints the state it reached as one JSON line.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use kuaifan_engine::{
    DispatchConfig, DispatchEngine, DispatchState, Journal, JournalPolicy, Scenario,
    ScenarioOverrides, ScenarioSource, Stamped, World,
};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario directory; without it, the built-in Jincheng scenario.
    #[arg(long, value_name = "DIR")]
    scenario: Option<PathBuf>,
    /// The journal (SQLite): replayed on start, appended to before every
    /// acknowledgement. Without it nothing is kept.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<()> {
    let source = match &args.scenario {
        Some(dir) => ScenarioSource::Dir(dir.clone()),
        None => kuaifan_engine::jincheng(),
    };
    let scenario = Scenario::from_source(&source, &ScenarioOverrides::default(), &mut |_| {})
        .context("loading the scenario")?;
    let world = Arc::new(World::from_scenario(scenario, DispatchConfig::default()));
    let journal = args
        .journal
        .as_ref()
        .map(|p| Journal::open(p))
        .transpose()
        .context("opening the journal")?;
    // Every acknowledged line is in the journal, position fixes too: this
    // tool's answers promise it, and its input is not a terminal's stream.
    // Nor are they pruned.
    let policy = JournalPolicy {
        fix_interval_ms: 0,
        keep_fixes_ms: i64::MAX,
        ..JournalPolicy::default()
    };
    let engine = DispatchEngine::start_with(world, journal, policy, Box::new(|_, _| {}))
        .context("replaying the journal")?;
    log::info!(
        "replayed {} journal entries; reading commands",
        engine.replayed()
    );
    let handle = engine.handle();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.context("reading standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Stamped>(&line) {
            Err(e) => {
                json!({ "ok": false, "error": format!("line {}: not a command: {e}", n + 1) })
            }
            Ok(command) => match handle.submit(command) {
                Ok(applied) => {
                    let snapshot = handle.snapshot();
                    let units: Vec<&str> =
                        applied.units.iter().map(|&u| snapshot.unit_id(u)).collect();
                    json!({ "ok": true, "incident": applied.incident.map(|i| i.0), "units": units })
                }
                Err(e) => json!({ "ok": false, "error": e.to_string() }),
            },
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    let state = handle.snapshot();
    let journal_len = args
        .journal
        .as_ref()
        .map(|p| Journal::open(p).and_then(|j| j.len()))
        .transpose()?;
    writeln!(out, "{}", summary(&state, journal_len))?;
    engine.shutdown();
    Ok(())
}

/// The state as consoles and tests read it.
fn summary(state: &DispatchState, journal_len: Option<u64>) -> serde_json::Value {
    let units: Vec<_> = state
        .units()
        .iter()
        .enumerate()
        .map(|(slot, u)| {
            json!({
                "id": state.unit_id(slot),
                "status": u.status.name(),
                "incident": u.incident.map(|i| i.0),
                "lat": u.location.lat(),
                "lon": u.location.lon(),
            })
        })
        .collect();
    let incidents: Vec<_> = state
        .incidents()
        .map(|i| {
            json!({
                "id": i.id.0,
                "stage": i.stage().name(),
                "priority": i.priority.to_string(),
                "stages": i.history.iter().map(|t| json!({"stage": t.stage.name(), "at_ms": t.at_ms, "actor": t.actor})).collect::<Vec<_>>(),
                "assigned": i.assignments.iter().map(|a| json!({"unit": state.unit_id(a.unit), "tier": a.tier.to_string(), "arrived_ms": a.arrived_ms})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let containments: Vec<_> = state
        .containments()
        .map(|c| {
            json!({
                "incident": c.incident.0,
                "running": c.is_running(),
                "held": c.held.iter().map(|h| json!({
                    "lat": h.order.crossing.lat(),
                    "lon": h.order.crossing.lon(),
                    "eta_ms": h.order.eta_ms,
                    "staffed_ms": h.staffed_ms,
                })).collect::<Vec<_>>(),
                "sightings": c.sightings.len(),
                "intercepted_ms": c.interception.as_ref().map(|i| i.at_ms),
                "lifted_ms": c.lifted_ms,
            })
        })
        .collect();
    json!({ "state": { "journal": journal_len, "units": units, "incidents": incidents, "containments": containments } })
}
