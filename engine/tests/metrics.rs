//! The Prometheus metrics on the health port, scraped from the real
//! `kuaifan serve` over plain HTTP/1.1 as Prometheus scrapes: the figures
//! move with the calls made, and agree with what the server says over
//! gRPC.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self};
use tonic::Code;

/// In the urban core of Jincheng, on a street.
const DOWNTOWN: (f64, f64) = (35.4950, 112.8450);

/// One HTTP/1.1 request, read to the end; the status line's code, the
/// headers (lower-case names) and the body.
fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, HashMap<String, String>, String) {
    let mut stream = TcpStream::connect(addr).expect("the health port accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("an HTTP answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers, then a body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP/1.1 status line: {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// Every sample of a Prometheus text exposition, by its series as written
/// (`name{label="value",…}`).
fn scrape(addr: SocketAddr) -> HashMap<String, f64> {
    let (status, headers, body) = http(addr, "GET", "/metrics");
    assert_eq!(status, 200, "{body}");
    assert!(
        headers
            .get("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{headers:?}"
    );
    assert!(
        headers.contains_key("content-length"),
        "a plain body, not chunked: {headers:?}"
    );
    let mut samples = HashMap::new();
    for line in body.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("a sample line: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("a number in {line:?}"));
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "{series} appears once"
        );
    }
    samples
}

fn get(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

fn calls(samples: &HashMap<String, f64>, rpc: &str, code: &str) -> f64 {
    get(
        samples,
        &format!("kuaifan_rpc_duration_seconds_count{{rpc=\"{rpc}\",code=\"{code}\"}}"),
    )
}

fn report(priority: proto::Priority) -> proto::ReportIncidentRequest {
    proto::ReportIncidentRequest {
        location: Some(proto::LatLng {
            lat: DOWNTOWN.0,
            lng: DOWNTOWN.1,
        }),
        priority: priority as i32,
        category: "robbery".to_string(),
        description: "metrics".to_string(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_over_http_and_move_with_the_calls() {
    let dir = std::env::temp_dir().join(format!("kuaifan-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let journal = dir.join("journal.sqlite");
    let mut server = ServerProcess::start(&[
        "--health-listen",
        "127.0.0.1:0",
        "--journal",
        journal.to_str().unwrap(),
        "--max-in-flight",
        "2",
    ]);
    let health = server.health.expect("a health port");
    // The port answers while the map loads; the role is known at once.
    let loading = scrape(health);
    assert_eq!(get(&loading, "kuaifan_role{role=\"single\"}"), 1.0);
    assert_eq!(get(&loading, "kuaifan_role{role=\"leader\"}"), 0.0);
    server.wait_ready();

    let before = scrape(health);
    assert_eq!(get(&before, "kuaifan_serving"), 1.0);
    assert_eq!(get(&before, "kuaifan_units{status=\"AVAILABLE\"}"), 39.0);
    assert_eq!(
        get(&before, "kuaifan_incidents_open{stage=\"REPORTED\"}"),
        0.0
    );
    // The first start on an empty journal opens the shift: one command.
    assert_eq!(get(&before, "kuaifan_journal_commands_total"), 1.0);
    assert!(get(&before, "kuaifan_zoned_area_km2") > 100.0);

    let mut c = DispatchClient::connect(server.url()).await.unwrap();
    // Three reports one after another, then one confirmed.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = c
            .report_incident(report(proto::Priority::P2))
            .await
            .unwrap();
        ids.push(r.into_inner().incident.expect("the incident").id);
    }
    let missing = c
        .get_incident(proto::GetIncidentRequest {
            id: "999".to_string(),
        })
        .await
        .expect_err("no incident 999");
    assert_eq!(missing.code(), Code::NotFound);
    c.confirm_assignment(proto::ConfirmAssignmentRequest {
        incident_id: ids[0].clone(),
        unit_ids: vec!["U18".to_string()],
        ..Default::default()
    })
    .await
    .unwrap();
    // A burst past the limit of 2 calls at once: some are shed.
    let burst: Vec<_> = (0..64)
        .map(|_| {
            let mut c = c.clone();
            tokio::spawn(async move { c.report_incident(report(proto::Priority::P3)).await })
        })
        .collect();
    let (mut accepted, mut shed) = (0.0, 0.0);
    for call in burst {
        match call.await.unwrap() {
            Ok(_) => accepted += 1.0,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                shed += 1.0;
            }
        }
    }
    assert!(shed > 0.0, "the burst met the limit");
    let coverage = c
        .get_coverage(proto::GetCoverageRequest::default())
        .await
        .unwrap()
        .into_inner();

    let after = scrape(health);
    assert_eq!(
        calls(&after, "ReportIncident", "OK") - calls(&before, "ReportIncident", "OK"),
        3.0 + accepted
    );
    assert_eq!(calls(&after, "ReportIncident", "RESOURCE_EXHAUSTED"), shed);
    assert_eq!(get(&after, "kuaifan_calls_shed_total"), shed);
    assert_eq!(calls(&after, "GetIncident", "NOT_FOUND"), 1.0);
    assert_eq!(calls(&after, "ConfirmAssignment", "OK"), 1.0);
    assert_eq!(calls(&after, "GetCoverage", "OK"), 1.0);

    // Each report is one command; so is the confirmation, which
    // registers the case as it assigns.
    let commands = 3.0 + accepted + 1.0;
    let since = |name: &str| get(&after, name) - get(&before, name);
    assert_eq!(since("kuaifan_journal_commands_total"), commands);
    assert_eq!(since("kuaifan_journal_batch_commands_sum"), commands);
    let commits = since("kuaifan_journal_commit_seconds_count");
    assert!(commits >= 1.0 && commits <= commands, "{commits} commits");
    let commits = get(&after, "kuaifan_journal_commit_seconds_count");
    assert_eq!(get(&after, "kuaifan_journal_batch_commands_count"), commits);
    assert!(get(&after, "kuaifan_journal_commit_seconds_sum") > 0.0);

    // Histogram buckets count up to the whole.
    let series = "kuaifan_rpc_duration_seconds_bucket{rpc=\"ReportIncident\",code=\"OK\",le=";
    let mut buckets: Vec<(f64, f64)> = after
        .iter()
        .filter_map(|(k, v)| {
            let le = k
                .strip_prefix(series)?
                .trim_end_matches("\"}")
                .trim_matches('"');
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, *v))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.len() > 10, "{buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
    assert_eq!(
        buckets.last().map(|b| b.1),
        Some(calls(&after, "ReportIncident", "OK"))
    );

    // The state: the same as the server says over gRPC.
    assert_eq!(get(&after, "kuaifan_units{status=\"DISPATCHED\"}"), 1.0);
    assert_eq!(get(&after, "kuaifan_units{status=\"AVAILABLE\"}"), 38.0);
    assert_eq!(
        get(&after, "kuaifan_incidents_open{stage=\"REPORTED\"}"),
        2.0 + accepted
    );
    assert_eq!(
        get(&after, "kuaifan_incidents_open{stage=\"ASSIGNED\"}"),
        1.0
    );
    let within_180 = coverage.within_180s;
    let scraped = get(&after, "kuaifan_zoned_area_covered_ratio{within_s=\"180\"}");
    assert!(
        (scraped - within_180).abs() < 1e-9,
        "{scraped} scraped, {within_180} over gRPC"
    );

    // Anything else over HTTP/1.1 is refused plainly.
    assert_eq!(http(health, "POST", "/metrics").0, 405);
    assert_eq!(http(health, "GET", "/").0, 404);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
