//! `kuaifan console` against the real server, as a dispatcher uses it:
//! an incident from report to close, the tables, `--json`, `watch`, and the
//! errors a dispatcher reads.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use common::server::ServerProcess;
use serde_json::Value;

fn console(server: &ServerProcess, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .arg("console")
        .args(["--addr", &server.url()])
        .args(args)
        .output()
        .expect("the console runs")
}

fn ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn json(output: &Output) -> Value {
    serde_json::from_str(ok(output).trim()).expect("one JSON object")
}

#[test]
fn a_dispatcher_runs_an_incident_from_report_to_close() {
    let server = ServerProcess::ready(&[]);
    let report = json(&console(
        &server,
        &[
            "--json",
            "report",
            "--lat",
            "35.4950",
            "--lng",
            "112.8450",
            "--priority",
            "P1",
            "--category",
            "robbery",
        ],
    ));
    let id = report["incident"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    assert_eq!(report["incident"]["stage"], "REPORTED");
    let handle = &report["recommendation"]["candidates"][0];
    assert_eq!(handle["tier"], "HANDLE");
    let unit = handle["unit_id"].as_str().expect("a unit").to_string();

    let confirmed = json(&console(&server, &["--json", "confirm", &id, &unit]));
    assert_eq!(confirmed["stage"], "ASSIGNED");
    let on_scene = json(&console(&server, &["--json", "status", &unit, "on-scene"]));
    assert_eq!(on_scene["status"], "ON_SCENE");
    for stage in ["feedback", "closed"] {
        ok(&console(
            &server,
            &["advance", &id, stage, "--note", "done"],
        ));
    }
    let closed = json(&console(&server, &["--json", "incident", &id]));
    assert_eq!(closed["stage"], "CLOSED");
    assert_eq!(closed["unit_ids"], serde_json::json!([unit]));
    let stages: Vec<&str> = closed["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "REPORTED",
            "REGISTERED",
            "ASSIGNED",
            "HANDLING",
            "FEEDBACK",
            "CLOSED"
        ]
    );
    assert_eq!(closed["assignments"][0]["met_target"], true);

    // The human forms.
    let table = ok(&console(&server, &["incident", &id]));
    assert!(
        table.contains(&format!("incident {id}  P1  CLOSED")),
        "{table}"
    );
    assert!(table.contains("arrived after"), "{table}");
    let units = ok(&console(&server, &["units"]));
    assert!(units.trim_end().ends_with("39 units"), "{units}");
    assert!(units.contains("RETURNING"), "{units}");
    let coverage = ok(&console(&server, &["coverage", "--worst", "3"]));
    assert!(coverage.contains("within 3 min"), "{coverage}");
    assert_eq!(coverage.lines().filter(|l| l.starts_with('Z')).count(), 3);
    let what_if = ok(&console(
        &server,
        &[
            "recommend",
            "--lat",
            "35.4950",
            "--lng",
            "112.8450",
            "--priority",
            "P2",
        ],
    ));
    assert!(what_if.starts_with("tier"), "{what_if}");
    assert!(
        what_if.contains("HANDLE") && what_if.contains("target 1:00"),
        "{what_if}"
    );
    let open = ok(&console(&server, &["incidents", "--open"]));
    assert!(open.contains("0 incidents"), "{open}");
    let closed = ok(&console(
        &server,
        &["incidents", "--stage", "closed", "--since-minutes", "10"],
    ));
    assert!(closed.trim_end().ends_with("\n1 incidents"), "{closed}");
    let reported = ok(&console(&server, &["incidents", "--stage", "reported"]));
    assert!(reported.contains("0 incidents"), "{reported}");
}

#[test]
fn refusals_are_shown_with_their_status_and_exit_one() {
    let server = ServerProcess::ready(&[]);
    let cases: [(&[&str], &str); 5] = [
        (
            &["confirm", "999", "U01"],
            "error: NOT_FOUND: no incident 999",
        ),
        (
            &["report", "--lat", "30", "--lng", "112", "--priority", "P2"],
            "error: OUT_OF_RANGE: the incident is",
        ),
        (
            &["status", "U01", "dispatched"],
            "error: INVALID_ARGUMENT: status DISPATCHED",
        ),
        (
            &["advance", "1", "handling"],
            "error: NOT_FOUND: no incident 1",
        ),
        (
            &["incidents", "--zone", "Z99"],
            "error: INVALID_ARGUMENT: zone_ids[0]: no zone \"Z99\"",
        ),
    ];
    for (args, expected) in cases {
        let output = console(&server, args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let output = console(
        &server,
        &["report", "--lat", "35", "--lng", "112", "--priority", "P5"],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("\"P5\" is not P1, P2 or P3"));
}

#[test]
fn no_server_or_no_ca_is_said_plainly() {
    let output = Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(["console", "--addr", "http://127.0.0.1:9", "units"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not reachable at http://127.0.0.1:9"),
        "{stderr}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(["console", "--addr", "https://127.0.0.1:9", "units"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--ca"), "{stderr}");
}

#[test]
fn watch_shows_what_another_console_does() {
    let server = ServerProcess::ready(&[]);
    let mut watch = Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(["console", "--addr", &server.url(), "--json", "watch"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("watch starts");
    let mut lines = BufReader::new(watch.stdout.take().expect("stdout")).lines();
    // The watch may connect after the report if it is slow to start, so
    // report until it sees one.
    let (send, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.by_ref().map_while(Result::ok) {
            let event: Value = serde_json::from_str(&line).expect("JSON events");
            if event["event"]["incident"].is_object() && send.send(event).is_err() {
                break;
            }
        }
    });
    let mut event = None;
    for _ in 0..30 {
        ok(&console(
            &server,
            &[
                "report",
                "--lat",
                "35.4950",
                "--lng",
                "112.8450",
                "--priority",
                "P3",
            ],
        ));
        if let Ok(e) = seen.recv_timeout(std::time::Duration::from_secs(1)) {
            event = Some(e);
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    let event = event.expect("the watch saw a report");
    assert_eq!(event["event"]["incident"]["stage"], "REPORTED");
    assert_eq!(event["event"]["incident"]["priority"], "P3");
    assert!(event["time_ms"].as_i64().unwrap() > 0);
}
