//! Kill -9 in the middle of a stream of commands: after a restart on the
//! same journal, every acknowledged command is there, and the one in
//! flight is either wholly applied or not at all.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command as Process, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kuaifan_engine::{
    AssignUnit, Command, DispatchConfig, DispatchState, IncidentId, LatLon, Priority, RouteQuery,
    Scenario, ScenarioOverrides, Stage, Stamped, Tier, UnitStatus, World, jincheng,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

mod common;

struct Server {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

fn start(journal: &Path) -> Server {
    let mut child = Process::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(["dispatch", "--journal"])
        .arg(journal)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let input = child.stdin.take().expect("stdin");
    let output = BufReader::new(child.stdout.take().expect("stdout"));
    Server {
        child,
        input,
        output,
    }
}

/// The state a journal holds, as the binary reports it with no input.
fn probe(journal: &Path) -> Value {
    let out = Process::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(["dispatch", "--journal"])
        .arg(journal)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str::<Value>(text.lines().last().expect("a state line")).expect("JSON")["state"].clone()
}

/// The same view of an in-process state.
fn view(state: &DispatchState) -> Value {
    json!({
        "units": state.units().iter().enumerate().map(|(s, u)| json!([state.unit_id(s), u.status.name(), u.incident.map(|i| i.0)])).collect::<Vec<_>>(),
        "incidents": state.incidents().map(|i| json!([i.id.0, i.stage().name(), i.assignments.iter().map(|a| state.unit_id(a.unit)).collect::<Vec<_>>()])).collect::<Vec<_>>(),
        "containments": state.containments().map(|c| json!([c.incident.0, c.is_running(), c.held.iter().map(|h| json!([h.order.crossing.lat(), h.order.crossing.lon(), h.staffed_ms])).collect::<Vec<_>>(), c.sightings.len(), c.interception.as_ref().map(|i| i.at_ms), c.lifted_ms])).collect::<Vec<_>>(),
    })
}

fn view_of_probe(state: &Value) -> Value {
    json!({
        "units": state["units"].as_array().expect("units").iter().map(|u| json!([u["id"], u["status"], u["incident"]])).collect::<Vec<_>>(),
        "incidents": state["incidents"].as_array().expect("incidents").iter().map(|i| json!([i["id"], i["stage"], i["assigned"].as_array().expect("assigned").iter().map(|a| a["unit"].clone()).collect::<Vec<_>>()])).collect::<Vec<_>>(),
        "containments": state["containments"].as_array().expect("containments").iter().map(|c| json!([c["incident"], c["running"], c["held"].as_array().expect("held").iter().map(|h| json!([h["lat"], h["lon"], h["staffed_ms"]])).collect::<Vec<_>>(), c["sightings"], c["intercepted_ms"], c["lifted_ms"]])).collect::<Vec<_>>(),
    })
}

fn next_command(
    rng: &mut ChaCha8Rng,
    model: &DispatchState,
    query: &mut RouteQuery,
    units: &[String],
    step: i64,
) -> Stamped {
    let at_ms = 1_700_000_000_000 + step * 1000;
    let incidents = model.incidents().count() as u64;
    let incident = IncidentId(rng.random_range(1..=incidents.max(1)));
    let unit = units[rng.random_range(0..units.len())].clone();
    let next_stage = model
        .incident(incident)
        .and_then(|i| i.stage().next())
        .unwrap_or(Stage::Registered);
    let command = match rng.random_range(0..12) {
        10 | 11 => common::containment::command(rng, model, query, at_ms),
        0 | 1 => Command::ReportIncident {
            location: LatLon::new(
                rng.random_range(35.44..35.54),
                rng.random_range(112.77..112.93),
            )
            .expect("valid"),
            priority: [Priority::P1, Priority::P2, Priority::P3][rng.random_range(0..3)],
            category: "drill".to_string(),
            description: format!("step {step}"),
            caller_ref: String::new(),
        },
        2 | 3 => Command::Advance {
            incident,
            stage: next_stage,
            note: String::new(),
        },
        4 | 5 => Command::Assign {
            incident,
            units: vec![AssignUnit {
                unit,
                tier: Tier::Handle,
                goal: None,
            }],
            note: String::new(),
            register: false,
        },
        6 => Command::Arrived { incident, unit },
        7 => Command::SetUnitStatus {
            unit,
            status: UnitStatus::Available,
            note: String::new(),
        },
        _ => Command::ReportPosition {
            unit,
            location: LatLon::new(
                rng.random_range(35.44..35.54),
                rng.random_range(112.77..112.93),
            )
            .expect("valid"),
            heading: None,
        },
    };
    Stamped {
        at_ms,
        actor: "crash-test".to_string(),
        command,
    }
}

#[test]
fn acknowledged_commands_survive_kill_9() {
    let dir = std::env::temp_dir().join(format!("kuaifan-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let journal = dir.join("journal.sqlite");
    let scenario = Scenario::from_source(&jincheng(), &ScenarioOverrides::default(), &mut |_| {})
        .expect("loads");
    let world = Arc::new(World::from_scenario(scenario, DispatchConfig::default()));
    let units: Vec<String> = world
        .scenario()
        .units()
        .iter()
        .map(|u| u.id.as_str().to_string())
        .collect();
    let mut query = RouteQuery::new(world.scenario().router());
    let mut model = DispatchState::new(world.clone(), &mut query);
    let mut plans = RouteQuery::new(world.scenario().router());
    let mut journaled = 0u64;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut step = 0i64;
    for round in 0..4 {
        let mut server = start(&journal);
        let kill_at = rng.random_range(5..40);
        let mut pending = None;
        for i in 0..40 {
            let command = next_command(&mut rng, &model, &mut plans, &units, step);
            step += 1;
            let line = serde_json::to_string(&command).expect("JSON");
            writeln!(server.input, "{line}").expect("write");
            server.input.flush().expect("flush");
            if i == kill_at {
                // Kill while this command may be half-way to the disk.
                std::thread::sleep(Duration::from_micros(rng.random_range(0..3000)));
                pending = Some(command);
                break;
            }
            let mut ack = String::new();
            server
                .output
                .read_line(&mut ack)
                .expect("an acknowledgement");
            let ack: Value = serde_json::from_str(&ack).expect("JSON ack");
            let in_model = model.apply(&mut query, &command);
            assert_eq!(
                ack["ok"].as_bool(),
                Some(in_model.is_ok()),
                "round {round}, step {i}: {ack} vs {in_model:?}"
            );
            if in_model.is_ok() {
                journaled += 1;
            }
        }
        server.child.kill().expect("SIGKILL");
        let _ = server.child.wait();

        let state = probe(&journal);
        let found = state["journal"].as_u64().expect("journal length");
        if let Some(command) = pending
            && found == journaled + 1
        {
            model
                .apply(&mut query, &command)
                .expect("the command in flight was valid");
            journaled += 1;
        }
        assert_eq!(
            found, journaled,
            "round {round}: the journal lost or invented a command"
        );
        assert_eq!(
            view_of_probe(&state),
            view(&model),
            "round {round}: restarted state differs"
        );
    }
    assert!(
        model.incidents().count() >= 3,
        "the stream created incidents"
    );
    assert!(
        model.containments().count() >= 2,
        "the stream started containments"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
