//! Interoperability: the Python example client of `proto/clients/python`
//! (grpcio, stubs generated from our proto at run time) runs an incident
//! through the closed loop against the real server.
//!
//! The interpreter is `$KUAIFAN_PYTHON` (default `python3`). Without grpcio
//! and grpcio-tools the test says SKIPPED, except under CI, which installs
//! them (`.ci/run`) and requires it.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::server::ServerProcess;
use kuaifan_engine::service::proto;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;

fn python() -> String {
    std::env::var("KUAIFAN_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn has_grpc(python: &str) -> bool {
    Command::new(python)
        .args(["-c", "import grpc, grpc_tools"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_python_example_client_runs_the_closed_loop() {
    let python = python();
    if !has_grpc(&python) {
        assert!(
            !common::in_ci(),
            "{python} cannot import grpc and grpc_tools; CI installs them in .ci/run"
        );
        common::skip(&format!(
            "{python} has no grpcio/grpcio-tools (set KUAIFAN_PYTHON)"
        ));
        return;
    }
    let server = ServerProcess::ready(&[]);
    let client =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto/clients/python/kuaifan_client.py");
    // A node that is down comes first, as a console lists every node of a
    // deployment: the client passes it over.
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let output = Command::new(&python)
        .arg(&client)
        .args(["--addr", &format!("{down},{}", server.addr)])
        .output()
        .expect("the Python client runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{down} is not reachable; trying the next node")),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "closed loop: REPORTED -> REGISTERED -> ASSIGNED -> HANDLING -> FEEDBACK -> CLOSED"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("containment: ring"), "{stdout}");
    assert!(stdout.contains("move-ups: "), "{stdout}");
    assert!(stdout.contains("containment started: "), "{stdout}");
    assert!(stdout.contains("sighting: "), "{stdout}");
    assert!(stdout.contains("containment lifted: "), "{stdout}");
    assert!(stdout.trim_end().ends_with("ok"), "{stdout}");

    // What the Python console did is what a Rust console reads back.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let incident = runtime.block_on(async {
        let mut client = DispatchClient::connect(server.url())
            .await
            .expect("connects");
        client
            .get_incident(proto::GetIncidentRequest {
                id: "1".to_string(),
            })
            .await
            .expect("the Python client's incident")
            .into_inner()
    });
    // A move the Python console accepted is the unit's post, as a Rust
    // console lists it.
    let accepted = stdout.lines().find_map(|l| {
        let rest = l.strip_prefix("accepted: ")?;
        let (unit, post) = rest.split_once(" stands by at ")?;
        Some((unit.to_string(), post.to_string()))
    });
    let advised = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("move-ups: ")?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .expect("the count of moves advised");
    assert_eq!(accepted.is_some(), advised > 0, "{stdout}");
    if let Some((unit, post)) = accepted {
        let units = runtime.block_on(async {
            let mut client = DispatchClient::connect(server.url())
                .await
                .expect("connects");
            client
                .list_units(proto::ListUnitsRequest {})
                .await
                .expect("the units")
                .into_inner()
                .units
        });
        let listed = units.iter().find(|u| u.id == unit).expect("the unit moved");
        assert_eq!(listed.post_id, post);
        assert!(listed.moved_at_ms > 0 && listed.move_held_until_ms > listed.moved_at_ms);
    }
    assert_eq!(incident.stage, proto::Stage::Closed as i32);
    assert_eq!(incident.priority, proto::Priority::P1 as i32);
    assert_eq!(incident.category, "robbery");
    assert_eq!(incident.unit_ids.len(), 1);

    // The containment it ran is the server's: started, sighted, lifted.
    let containment = runtime.block_on(async {
        let mut client = DispatchClient::connect(server.url())
            .await
            .expect("connects");
        let robbery = client
            .list_incidents(proto::ListIncidentsRequest::default())
            .await
            .expect("lists")
            .into_inner()
            .incidents
            .into_iter()
            .rfind(|i| i.description == "fled by car")
            .expect("the second robbery");
        client
            .get_containment(proto::GetContainmentRequest {
                incident_id: robbery.id,
                with_possible_area: false,
            })
            .await
            .expect("its containment")
            .into_inner()
    });
    assert_eq!(containment.state, proto::ContainmentState::Lifted as i32);
    assert_eq!(containment.sightings.len(), 1);
    assert_eq!(containment.sightings[0].source, "ANPR camera");
    assert!(!containment.orders.is_empty());
    assert!(
        stdout.contains(&format!("HANDLE   {}", incident.unit_ids[0])),
        "the unit confirmed is the one recommended: {stdout}"
    );
}
