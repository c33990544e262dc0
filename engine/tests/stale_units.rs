//! Stale and silent units over gRPC to the real `kuaifan serve` (issue 17,
//! §4): the server marks a unit stale once it has gone past the stale
//! limit without a fix, or without any since the shift began, as a
//! journaled command; such a unit is never auto-assigned, ranks after
//! every fresh unit, and no longer counts as coverage, until it reports.

mod common;

use std::time::Duration;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self, event};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

type Client = DispatchClient<Channel>;

/// The stale limit the server runs with: long enough for the set-up to
/// finish under load, short enough for a test.
const STALE_AFTER_S: u64 = 6;

async fn units(c: &mut Client) -> Vec<proto::Unit> {
    c.list_units(proto::ListUnitsRequest {})
        .await
        .expect("units")
        .into_inner()
        .units
}

/// The shares of the zoned area within 60, 180 and 300 s.
async fn covered(c: &mut Client) -> [f64; 3] {
    let map = c
        .get_coverage(proto::GetCoverageRequest { resolution: 0 })
        .await
        .expect("coverage")
        .into_inner();
    [map.within_60s, map.within_180s, map.within_300s]
}

/// Keeps `others` reporting where they stand, twice a second, until
/// aborted.
fn keep_fresh(url: String, others: Vec<proto::Unit>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Ok(mut c) = DispatchClient::connect(url).await else {
            return;
        };
        let (send, fixes) = tokio::sync::mpsc::channel(others.len());
        tokio::spawn(async move {
            loop {
                for u in &others {
                    let fix = proto::UnitPosition {
                        unit_id: u.id.clone(),
                        position: u.position,
                        time_ms: 0,
                        heading_deg: 0.0,
                        speed_mps: 0.0,
                    };
                    if send.send(fix).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        let _ = c
            .report_positions(tokio_stream::wrappers::ReceiverStream::new(fixes))
            .await;
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_unit_is_marked_stale_never_auto_assigned_and_no_coverage() {
    let dir = std::env::temp_dir().join(format!("kuaifan-stale-units-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let journal = dir.join("journal.sqlite");
    let _ = std::fs::remove_file(&journal);
    let limit = STALE_AFTER_S.to_string();
    let server = ServerProcess::ready(&[
        "--stale-after",
        &limit,
        "--journal",
        journal.to_str().expect("a UTF-8 path"),
    ]);
    let mut c = DispatchClient::connect(server.url())
        .await
        .expect("connects");
    let all = units(&mut c).await;
    let u01 = all[0].clone();
    let fresh = keep_fresh(server.url(), all[1..].to_vec());
    let mut events = c
        .watch_events(proto::WatchEventsRequest {})
        .await
        .expect("watching")
        .into_inner();

    // U01 has sent nothing since the shift began: past the limit it is
    // marked stale, and the change is an event like any other.
    let marked = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(Ok(e)) = events.next().await {
            if let Some(event::Kind::Unit(u)) = e.kind
                && u.id == u01.id
                && u.stale
            {
                return Some(u);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("U01 is marked stale");
    assert_eq!(marked.status, proto::UnitStatus::Available as i32);
    let listed = units(&mut c).await;
    assert!(listed[0].stale, "U01 is listed stale");
    assert!(
        listed[1..].iter().all(|u| !u.stale),
        "the units that report are fresh: {:?}",
        listed
            .iter()
            .filter(|u| u.stale)
            .map(|u| &u.id)
            .collect::<Vec<_>>()
    );

    // A call beside U01's standby point: U01 ranks last, and auto_assign
    // sends a fresh unit.
    let at = u01.position;
    let rec = c
        .recommend(proto::RecommendRequest {
            location: at,
            priority: proto::Priority::P2 as i32,
            with_routes: false,
            policy: 0,
            ..Default::default()
        })
        .await
        .expect("recommended")
        .into_inner();
    assert!(
        rec.candidates
            .iter()
            .all(|c| c.unit_id != u01.id && !c.stale),
        "{:?}",
        rec.candidates
    );
    let reported = c
        .report_incident(proto::ReportIncidentRequest {
            location: at,
            priority: proto::Priority::P3 as i32,
            category: "theft".to_string(),
            auto_assign: true,
            ..Default::default()
        })
        .await
        .expect("reported")
        .into_inner();
    let incident = reported.incident.expect("an incident");
    assert_eq!(incident.stage, proto::Stage::Assigned as i32);
    assert_eq!(incident.unit_ids.len(), 1, "{incident:?}");
    assert_ne!(
        incident.unit_ids[0], u01.id,
        "a stale unit is never auto-assigned"
    );

    // Read after the assignment, which took a unit out of the map too.
    let without_u01 = covered(&mut c).await;
    // U01 reports: fresh again, and it counts as coverage where only it
    // reached.
    let back = c
        .report_positions(tokio_stream::iter(vec![proto::UnitPosition {
            unit_id: u01.id.clone(),
            position: u01.position,
            time_ms: 0,
            heading_deg: 0.0,
            speed_mps: 0.0,
        }]))
        .await
        .expect("U01 reports")
        .into_inner();
    assert_eq!(back.accepted, 1, "{:?}", back.errors);
    let listed = units(&mut c).await;
    assert!(!listed[0].stale, "U01 is fresh again");
    let with_u01 = covered(&mut c).await;
    assert!(
        with_u01.iter().zip(&without_u01).all(|(w, wo)| w >= wo)
            && with_u01.iter().zip(&without_u01).any(|(w, wo)| w > wo),
        "U01 at its standby point covers what no other unit does: {without_u01:?} → {with_u01:?}"
    );
    fresh.abort();

    // The marking was journaled: a restart on the journal knows U01 was
    // stale and that the shift began before it, whatever the clock says.
    let (status, _) = server.terminate();
    assert!(status.success(), "{status:?}");
    let entries = kuaifan_engine::read_journal(
        &kuaifan_engine::Journal::open(&journal).expect("the journal opens"),
    )
    .expect("reads");
    let kinds: Vec<&str> = entries.iter().map(|e| e.command.kind()).collect();
    assert_eq!(kinds.first(), Some(&"open_shift"), "{kinds:?}");
    assert!(
        entries.iter().any(|e| matches!(
            &e.command,
            kuaifan_engine::Command::MarkStale { units } if units.contains(&u01.id)
        )),
        "{kinds:?}"
    );
    // A restart continues the shift the journal began.
    let restarted = ServerProcess::ready(&[
        "--stale-after",
        &limit,
        "--journal",
        journal.to_str().expect("a UTF-8 path"),
    ]);
    drop(restarted);
    let entries = kuaifan_engine::read_journal(
        &kuaifan_engine::Journal::open(&journal).expect("the journal opens"),
    )
    .expect("reads");
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.command.kind() == "open_shift")
            .count(),
        1,
        "a restart continues the shift"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
