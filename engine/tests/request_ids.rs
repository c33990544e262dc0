//! Exactly-once commands: a command retried with its request id is applied
//! once and answered the same, even when the first call's answer was lost
//! to a deadline while the writer was slow; an id reused for a different
//! request is refused; the ids survive a SIGKILL. The real `kuaifan serve`
//! on a journal, real tonic clients.

mod common;

use std::time::Duration;

use common::server::ServerProcess;
use kuaifan_engine::service::REPLAYED_HEADER;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self};
use tonic::transport::Channel;
use tonic::{Code, Request};

type Client = DispatchClient<Channel>;

async fn client(server: &ServerProcess) -> Client {
    DispatchClient::connect(server.url())
        .await
        .expect("the server accepts connections")
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn report(id: &str, lat: f64, lng: f64) -> proto::ReportIncidentRequest {
    proto::ReportIncidentRequest {
        location: Some(proto::LatLng { lat, lng }),
        priority: proto::Priority::P1 as i32,
        category: "robbery".to_string(),
        description: "two men, one knife".to_string(),
        auto_assign: true,
        request_id: id.to_string(),
        ..Default::default()
    }
}

fn replayed<T>(response: &tonic::Response<T>) -> bool {
    response
        .metadata()
        .get(REPLAYED_HEADER)
        .is_some_and(|v| v == "true")
}

async fn incidents(c: &mut Client) -> Vec<proto::Incident> {
    c.list_incidents(proto::ListIncidentsRequest::default())
        .await
        .expect("lists")
        .into_inner()
        .incidents
}

async fn dispatched_units(c: &mut Client) -> Vec<String> {
    c.list_units(proto::ListUnitsRequest {})
        .await
        .expect("lists units")
        .into_inner()
        .units
        .into_iter()
        .filter(|u| u.status == proto::UnitStatus::Dispatched as i32)
        .map(|u| u.id)
        .collect()
}

/// The journal's write lock, held by another connection (as an auditor's
/// `sqlite3` in a write transaction would): the server's writer waits for
/// it, so its commits are as slow as the lock is long.
fn hold_write_lock(journal: &std::path::Path) -> rusqlite::Connection {
    let lock = rusqlite::Connection::open(journal).expect("opens the journal");
    lock.execute_batch("BEGIN IMMEDIATE")
        .expect("takes the write lock");
    lock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_retried_after_its_deadline_is_applied_once() {
    let dir = scratch("retry-deadline");
    let journal = dir.join("journal.sqlite");
    let server = ServerProcess::ready(&["--journal", journal.to_str().unwrap()]);
    let mut c = client(&server).await;

    let lock = hold_write_lock(&journal);
    let mut first = Request::new(report("call-0001", 35.4950, 112.8450));
    // Long enough that the call surely reaches the server on a busy
    // machine (a 1 ms timer can fire before it is sent, and then the
    // retry is rightly a first call), far too short for an answer while
    // the journal is locked.
    first.set_timeout(Duration::from_millis(200));
    let lost = c
        .report_incident(first)
        .await
        .expect_err("the answer cannot come within 200 ms while the journal is locked");
    // tonic's client says CANCELLED when its own timer fires first.
    assert!(
        matches!(lost.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{lost:?}"
    );

    // The console retries with the same id while the first call still
    // waits for the journal; then the lock is let go.
    let mut retrying = c.clone();
    let retry = tokio::spawn(async move {
        retrying
            .report_incident(report("call-0001", 35.4950, 112.8450))
            .await
    });
    tokio::time::sleep(Duration::from_millis(600)).await;
    lock.execute_batch("ROLLBACK").expect("lets the lock go");
    drop(lock);
    let answer = retry
        .await
        .expect("the retry ends")
        .expect("the retry is answered");
    assert!(
        replayed(&answer),
        "the retry is marked as the answer to a retry"
    );
    let incident = answer.into_inner().incident.expect("an incident");

    let listed = incidents(&mut c).await;
    assert_eq!(
        listed.len(),
        1,
        "one incident, not one per call: {listed:?}"
    );
    assert_eq!(
        listed[0].id, incident.id,
        "the retry names the incident recorded"
    );
    assert!(
        !incident.unit_ids.is_empty(),
        "the report was auto-assigned"
    );
    let mut sent = dispatched_units(&mut c).await;
    let mut assigned = listed[0].unit_ids.clone();
    sent.sort();
    assigned.sort();
    assert_eq!(
        sent, assigned,
        "one set of units is on its way, the incident's"
    );

    // A third try, long after: the same incident, the same units.
    let again = c
        .report_incident(report("call-0001", 35.4950, 112.8450))
        .await
        .expect("answered");
    assert!(replayed(&again));
    let again = again.into_inner().incident.expect("an incident");
    assert_eq!((again.id, again.unit_ids), (incident.id, incident.unit_ids));
    assert_eq!(incidents(&mut c).await.len(), 1);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_reused_for_a_different_request_is_refused_and_changes_nothing() {
    let server = ServerProcess::ready(&[]);
    let mut c = client(&server).await;
    let first = c
        .report_incident(report("console-7/42", 35.4950, 112.8450))
        .await
        .expect("reported");
    assert!(!replayed(&first));
    let units_before = dispatched_units(&mut c).await;

    // Another place under the same id.
    let other = c
        .report_incident(report("console-7/42", 35.5001, 112.8507))
        .await
        .expect_err("a different request under a used id");
    assert_eq!(other.code(), Code::InvalidArgument, "{other:?}");
    assert!(
        other.message().contains("console-7/42") && other.message().contains("different request"),
        "{}",
        other.message()
    );
    // Another RPC under the same id.
    let advance = c
        .advance_incident(proto::AdvanceIncidentRequest {
            incident_id: "1".to_string(),
            to: proto::Stage::Handling as i32,
            request_id: "console-7/42".to_string(),
            ..Default::default()
        })
        .await
        .expect_err("another RPC under a used id");
    assert_eq!(advance.code(), Code::InvalidArgument, "{advance:?}");
    assert_eq!(incidents(&mut c).await.len(), 1);
    assert_eq!(dispatched_units(&mut c).await, units_before);

    // An id too long, or with a control character, is refused as such.
    let long = c
        .report_incident(report(&"x".repeat(129), 35.4950, 112.8450))
        .await
        .expect_err("too long");
    assert_eq!(long.code(), Code::InvalidArgument);
    assert!(
        long.message().contains("request_id is 129 bytes"),
        "{}",
        long.message()
    );

    // Without an id, nothing is deduplicated: two calls, two incidents.
    for _ in 0..2 {
        let mut plain = report("", 35.4950, 112.8450);
        plain.auto_assign = false;
        c.report_incident(plain).await.expect("reported");
    }
    assert_eq!(incidents(&mut c).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_survive_a_sigkill() {
    let dir = scratch("retry-restart");
    let journal = dir.join("journal.sqlite");
    let path = journal.to_str().unwrap();
    let server = ServerProcess::ready(&["--journal", path]);
    let mut c = client(&server).await;
    let mut quiet = report("r-report", 35.4950, 112.8450);
    quiet.auto_assign = false;
    let incident = c
        .report_incident(quiet.clone())
        .await
        .expect("reported")
        .into_inner()
        .incident
        .expect("an incident");
    let confirm = proto::ConfirmAssignmentRequest {
        incident_id: incident.id.clone(),
        unit_ids: vec!["U18".to_string()],
        request_id: "r-confirm".to_string(),
        ..Default::default()
    };
    c.confirm_assignment(confirm.clone())
        .await
        .expect("confirmed");
    let arrive = proto::SetUnitStatusRequest {
        unit_id: "U18".to_string(),
        status: proto::UnitStatus::OnScene as i32,
        request_id: "r-arrive".to_string(),
        ..Default::default()
    };
    c.set_unit_status(arrive.clone()).await.expect("arrived");
    let feedback = proto::AdvanceIncidentRequest {
        incident_id: incident.id.clone(),
        to: proto::Stage::Feedback as i32,
        request_id: "r-feedback".to_string(),
        ..Default::default()
    };
    c.advance_incident(feedback.clone())
        .await
        .expect("advanced");
    let before = incidents(&mut c).await;
    server.kill();

    let restarted = ServerProcess::ready(&["--journal", path]);
    let mut c = client(&restarted).await;
    // Every retry is answered as the first call was, and changes nothing:
    // without the ids, the report would be a second incident, the
    // confirmation a busy unit, the arrival and the stage out of order.
    let report_again = c.report_incident(quiet).await.expect("the report's retry");
    assert!(replayed(&report_again));
    assert_eq!(
        report_again.into_inner().incident.map(|i| i.id),
        Some(incident.id.clone())
    );
    let confirm_again = c
        .confirm_assignment(confirm)
        .await
        .expect("the confirmation's retry");
    assert!(replayed(&confirm_again));
    let arrive_again = c
        .set_unit_status(arrive)
        .await
        .expect("the arrival's retry");
    assert!(replayed(&arrive_again));
    assert_eq!(
        arrive_again.into_inner().status,
        proto::UnitStatus::OnScene as i32
    );
    let feedback_again = c
        .advance_incident(feedback)
        .await
        .expect("the stage's retry");
    assert!(replayed(&feedback_again));
    assert_eq!(
        feedback_again.into_inner().stage,
        proto::Stage::Feedback as i32
    );
    assert_eq!(incidents(&mut c).await, before, "nothing changed");

    // And the journal names each call's id, for an auditor.
    drop(restarted);
    let db = rusqlite::Connection::open(&journal).expect("opens");
    let ids: Vec<String> = db
        .prepare("SELECT request_id FROM commands WHERE request_id IS NOT NULL GROUP BY request_id ORDER BY MIN(seq)")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect())
        })
        .expect("reads");
    assert_eq!(ids, ["r-report", "r-confirm", "r-arrive", "r-feedback"]);
    let _ = std::fs::remove_dir_all(&dir);
}
