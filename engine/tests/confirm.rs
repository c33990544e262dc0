//! Confirming assignments over gRPC to the real `kuaifan serve`: what the
//! dispatcher was shown is what is recorded, a confirmation that no longer
//! holds is refused with a fresh recommendation, and two consoles
//! confirming one fresh call are both accepted.

mod common;

use common::server::ServerProcess;
use kuaifan_engine::service::proto;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use tonic::transport::Channel;

type Client = DispatchClient<Channel>;

/// In the urban core of Jincheng, on a street.
const DOWNTOWN: (f64, f64) = (35.4950, 112.8450);

async fn client(server: &ServerProcess) -> Client {
    DispatchClient::connect(server.url())
        .await
        .expect("the server accepts connections")
}

fn at(lat: f64, lng: f64) -> Option<proto::LatLng> {
    Some(proto::LatLng { lat, lng })
}

fn report(priority: proto::Priority) -> proto::ReportIncidentRequest {
    proto::ReportIncidentRequest {
        location: at(DOWNTOWN.0, DOWNTOWN.1),
        priority: priority as i32,
        category: "robbery".to_string(),
        ..Default::default()
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Regression (issue 17, §7): whether to register a REPORTED case before
/// assigning was decided from a snapshot, so of two consoles confirming
/// units for the same fresh call at once, both asked to register it and
/// the second was refused. The writer decides now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consoles_confirming_one_fresh_call_are_both_accepted() {
    let dir = scratch("two-consoles");
    let journal = dir.join("journal.sqlite");
    // A journal makes every commit wait for the disk, which widens the
    // window in which both consoles see the case REPORTED.
    let server = ServerProcess::ready(&["--journal", journal.to_str().expect("utf-8")]);
    let (mut first, mut second) = (client(&server).await, client(&server).await);
    let units = first
        .list_units(proto::ListUnitsRequest {})
        .await
        .expect("units")
        .into_inner()
        .units;
    let mut refused = Vec::new();
    for round in 0..10 {
        let incident = first
            .report_incident(report(proto::Priority::P3))
            .await
            .expect("reported")
            .into_inner()
            .incident
            .expect("an incident");
        let confirm = |unit: &proto::Unit| proto::ConfirmAssignmentRequest {
            incident_id: incident.id.clone(),
            unit_ids: vec![unit.id.clone()],
            note: format!("round {round}"),
            ..Default::default()
        };
        let (a, b) = (confirm(&units[2 * round]), confirm(&units[2 * round + 1]));
        let (a, b) = tokio::join!(first.confirm_assignment(a), second.confirm_assignment(b));
        for answer in [a, b] {
            if let Err(status) = answer {
                refused.push(format!("round {round}: {status:?}"));
            }
        }
        let read = first
            .get_incident(proto::GetIncidentRequest {
                id: incident.id.clone(),
            })
            .await
            .expect("read")
            .into_inner();
        let stages: Vec<i32> = read.history.iter().map(|h| h.stage).collect();
        assert_eq!(
            stages,
            vec![
                proto::Stage::Reported as i32,
                proto::Stage::Registered as i32,
                proto::Stage::Assigned as i32
            ],
            "registered once, assigned once"
        );
    }
    assert!(
        refused.is_empty(),
        "valid assignments refused: {refused:#?}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
