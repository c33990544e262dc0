//! `ListIncidents` pages and filters, against a real server on a journal
//! that archives closed cases at once: every filter, read page after page,
//! lists exactly the incidents a plain filter over every incident (each
//! read with `GetIncident`) keeps, live and archived alike, in order, each
//! once. A bad filter is INVALID_ARGUMENT naming its field.

mod common;

use std::path::PathBuf;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self, Priority, Stage};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tonic::transport::Channel;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Every page of `request`, `page_size` at a time: the ids in the order
/// listed.
async fn pages(
    client: &mut DispatchClient<Channel>,
    request: &proto::ListIncidentsRequest,
    page_size: u32,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page_token = String::new();
    for _ in 0..1000 {
        let page = client
            .list_incidents(proto::ListIncidentsRequest {
                page_size,
                page_token: page_token.clone(),
                ..request.clone()
            })
            .await
            .expect("lists")
            .into_inner();
        // 0 asks for the default page of 100.
        let limit = if page_size == 0 {
            100
        } else {
            page_size as usize
        };
        assert!(
            page.incidents.len() <= limit,
            "{} on a page of {limit}",
            page.incidents.len()
        );
        ids.extend(page.incidents.into_iter().map(|i| i.id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        page_token = page.next_page_token;
    }
    panic!("more than 1000 pages")
}

/// What a plain filter over every incident keeps, in `request`'s order.
fn expected(all: &[proto::Incident], request: &proto::ListIncidentsRequest) -> Vec<String> {
    let mut kept: Vec<&proto::Incident> = all
        .iter()
        .filter(|i| !request.open_only || i.stage != Stage::Closed as i32)
        .filter(|i| request.stages.is_empty() || request.stages.contains(&i.stage))
        .filter(|i| request.priorities.is_empty() || request.priorities.contains(&i.priority))
        .filter(|i| request.reported_from_ms == 0 || i.reported_at_ms >= request.reported_from_ms)
        .filter(|i| {
            request.reported_before_ms == 0 || i.reported_at_ms < request.reported_before_ms
        })
        .filter(|i| request.zone_ids.is_empty() || request.zone_ids.contains(&i.zone_id))
        .collect();
    kept.sort_by_key(|i| i.id.parse::<u64>().expect("a number"));
    if request.newest_first {
        kept.reverse();
    }
    kept.into_iter().map(|i| i.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_filter_page_by_page_lists_what_a_plain_filter_keeps() {
    let dir = scratch("list-incidents");
    let journal = dir.join("journal.sqlite");
    let journal_arg = journal.to_string_lossy().to_string();
    let server = ServerProcess::ready(&["--journal", &journal_arg, "--archive-after-minutes", "0"]);
    let mut client = DispatchClient::connect(server.url())
        .await
        .expect("connects");
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let mut ids = Vec::new();
    for n in 0..30 {
        let priority = [Priority::P1, Priority::P2, Priority::P3][rng.random_range(0..3)];
        // One in three taken to CLOSED (archived at once), one in three
        // registered and assigned, the rest left REPORTED.
        let fate = n % 3;
        let reply = client
            .report_incident(proto::ReportIncidentRequest {
                location: Some(proto::LatLng {
                    lat: rng.random_range(35.46..35.53),
                    lng: rng.random_range(112.80..112.90),
                }),
                priority: priority as i32,
                category: format!("case {n}"),
                auto_assign: fate != 2,
                ..Default::default()
            })
            .await
            .expect("reported")
            .into_inner();
        let incident = reply.incident.expect("an incident");
        if fate == 0 && incident.stage == Stage::Assigned as i32 {
            for to in [Stage::Handling, Stage::Feedback, Stage::Closed] {
                client
                    .advance_incident(proto::AdvanceIncidentRequest {
                        incident_id: incident.id.clone(),
                        to: to as i32,
                        ..Default::default()
                    })
                    .await
                    .expect("advanced");
            }
        }
        ids.push(incident.id);
        // Reports a few milliseconds apart, so that a time range splits them.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let mut all = Vec::new();
    for id in &ids {
        all.push(
            client
                .get_incident(proto::GetIncidentRequest { id: id.clone() })
                .await
                .expect("every incident is answered")
                .into_inner(),
        );
    }
    let closed = all
        .iter()
        .filter(|i| i.stage == Stage::Closed as i32)
        .count();
    assert!(closed >= 5, "only {closed} cases were closed");
    let archived: i64 = rusqlite::Connection::open(&journal)
        .expect("opens beside the server")
        .query_row("SELECT COUNT(*) FROM archived_incidents", [], |r| r.get(0))
        .expect("counts");
    assert_eq!(
        archived as usize, closed,
        "every closed case is in the archive"
    );

    let zones: Vec<String> = all
        .iter()
        .map(|i| i.zone_id.clone())
        .filter(|z| !z.is_empty())
        .take(2)
        .collect();
    let (from, before) = (all[9].reported_at_ms, all[20].reported_at_ms);
    assert!(from < before);
    let requests = [
        proto::ListIncidentsRequest::default(),
        proto::ListIncidentsRequest {
            newest_first: true,
            ..Default::default()
        },
        proto::ListIncidentsRequest {
            open_only: true,
            ..Default::default()
        },
        proto::ListIncidentsRequest {
            stages: vec![Stage::Closed as i32],
            ..Default::default()
        },
        proto::ListIncidentsRequest {
            stages: vec![Stage::Reported as i32, Stage::Assigned as i32],
            newest_first: true,
            ..Default::default()
        },
        proto::ListIncidentsRequest {
            priorities: vec![Priority::P1 as i32, Priority::P3 as i32],
            ..Default::default()
        },
        proto::ListIncidentsRequest {
            zone_ids: zones.clone(),
            ..Default::default()
        },
        proto::ListIncidentsRequest {
            reported_from_ms: from,
            reported_before_ms: before,
            ..Default::default()
        },
        proto::ListIncidentsRequest {
            reported_from_ms: from,
            stages: vec![Stage::Closed as i32],
            newest_first: true,
            ..Default::default()
        },
        proto::ListIncidentsRequest {
            reported_before_ms: before,
            zone_ids: zones,
            priorities: vec![Priority::P2 as i32],
            ..Default::default()
        },
    ];
    for request in &requests {
        let want = expected(&all, request);
        for page_size in [1, 4, 0] {
            let got = pages(&mut client, request, page_size).await;
            assert_eq!(got, want, "{request:?}, pages of {page_size}");
        }
    }
    assert_eq!(
        expected(&all, &proto::ListIncidentsRequest::default()).len(),
        30
    );

    // Bad filters, each named.
    let bad = [
        (
            proto::ListIncidentsRequest {
                page_size: 1001,
                ..Default::default()
            },
            "page_size",
        ),
        (
            proto::ListIncidentsRequest {
                page_token: "page 2".to_string(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            proto::ListIncidentsRequest {
                stages: vec![Stage::Closed as i32, 0],
                ..Default::default()
            },
            "stages[1]",
        ),
        (
            proto::ListIncidentsRequest {
                stages: vec![17],
                ..Default::default()
            },
            "stages[0]",
        ),
        (
            proto::ListIncidentsRequest {
                priorities: vec![9],
                ..Default::default()
            },
            "priorities[0]",
        ),
        (
            proto::ListIncidentsRequest {
                zone_ids: vec!["Z99".to_string()],
                ..Default::default()
            },
            "zone_ids[0]",
        ),
        (
            proto::ListIncidentsRequest {
                reported_from_ms: -5,
                ..Default::default()
            },
            "reported_from_ms",
        ),
        (
            proto::ListIncidentsRequest {
                reported_from_ms: 2000,
                reported_before_ms: 1000,
                ..Default::default()
            },
            "reported_before_ms",
        ),
    ];
    for (request, field) in bad {
        let refused = client
            .list_incidents(request.clone())
            .await
            .expect_err("a bad filter is refused");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{request:?}");
        assert!(
            refused.message().starts_with(field),
            "{request:?}: {:?} does not name {field}",
            refused.message()
        );
    }
    let (status, _) = server.terminate();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
