//! The load generator: its open-loop driver against synthetic delays
//! whose latencies are known, and a short run against a real server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kuaifan_engine::service::Endpoint;
use kuaifan_sim::load::{Load, LoadConfig, Mix, Sample, drive};

fn ok(kind: &'static str) -> Sample {
    Sample { kind, error: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_sent_and_no_latency_is_below_the_delay() {
    let delay = Duration::from_millis(5);
    let outcome = drive(
        200.0,
        Duration::from_secs(1),
        Duration::from_secs(10),
        move |_| async move {
            tokio::time::sleep(delay).await;
            ok("sleep")
        },
    )
    .await;
    assert_eq!(outcome.sent, 200);
    assert_eq!(outcome.ok(), 200);
    assert_eq!(outcome.unfinished, 0);
    // A sleep never ends early, so no latency is below it.
    assert!(
        outcome.all.min() >= delay.as_micros() as u64,
        "{}",
        outcome.all.min()
    );
    assert_eq!(outcome.by_kind["sleep"].len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_behind_a_slow_server_shows_in_the_latencies() {
    // A server that answers one request at a time in 20 ms, sent 100 a
    // second: it falls behind by 10 ms per request. Request i cannot end
    // before (i + 1) * 20 ms and was due at i * 10 ms, so it waited at
    // least 10 i + 20 ms. A closed-loop client would have seen 20 ms for
    // every one; measured from when each was due, the median is at least
    // half a second and the slowest over a second.
    let server = Arc::new(tokio::sync::Mutex::new(()));
    let outcome = drive(
        100.0,
        Duration::from_secs(1),
        Duration::from_secs(30),
        move |_| {
            let server = Arc::clone(&server);
            async move {
                let _busy = server.lock().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                ok("slow")
            }
        },
    )
    .await;
    assert_eq!(outcome.ok(), 100);
    assert!(
        outcome.all.value_at_quantile(0.5) >= 500_000,
        "{}",
        outcome.all.value_at_quantile(0.5)
    );
    assert!(outcome.all.max() >= 1_000_000, "{}", outcome.all.max());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_counted_by_kind_and_code_not_timed() {
    let outcome = drive(
        100.0,
        Duration::from_millis(500),
        Duration::from_secs(10),
        |i| async move {
            Sample {
                kind: "mixed",
                error: (i % 5 == 0).then(|| "ResourceExhausted".to_string()),
            }
        },
    )
    .await;
    assert_eq!(outcome.sent, 50);
    assert_eq!(outcome.errors["mixed: ResourceExhausted"], 10);
    assert_eq!(outcome.ok(), 40);
}

#[test]
fn mixes_parse_and_refuse_what_they_cannot_send() {
    let mix: Mix = "recommend=85, report=5,positions=5,coverage=5"
        .parse()
        .unwrap();
    assert_eq!(
        mix.to_string(),
        "recommend=85,report=5,positions=5,coverage=5"
    );
    for (bad, why) in [
        ("recommend", "is not kind=weight"),
        ("launch=3", "is not one of"),
        ("recommend=-1", "is not a weight"),
        ("recommend=1,recommend=2", "given twice"),
        ("recommend=0", "no kind has a positive weight"),
    ] {
        let error = bad.parse::<Mix>().unwrap_err().to_string();
        assert!(error.contains(why), "{bad}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_against_a_real_server_answers_every_kind() {
    let server = common::serve_jincheng().await;
    let addr = server.addr;

    let load = Load::connect(LoadConfig {
        servers: vec![Endpoint {
            addr: format!("http://{addr}"),
            token: None,
            ca: None,
        }],
        rate: 100.0,
        duration: Duration::from_secs(2),
        warmup: Duration::ZERO,
        connections: 2,
        mix: "recommend=4,report=1,positions=1,coverage=1,health=1"
            .parse()
            .unwrap(),
        terminals: 5,
        terminal_hz: 4.0,
        seed: 7,
    })
    .await
    .expect("connects");
    let summary = load.run_at(100.0).await;
    assert_eq!(summary.sent, 200);
    assert_eq!(summary.ok, 200, "{:?}", summary.errors);
    for kind in ["recommend", "report", "positions", "coverage", "health"] {
        assert!(summary.by_kind[kind].count > 0, "{kind} was sent");
    }
    assert_eq!(summary.terminals.streams, 5);
    assert!(summary.terminals.accepted >= 5, "{:?}", summary.terminals);
    assert_eq!(summary.terminals.rejected, 0);
    assert!(summary.latency.p50_us > 0 && summary.latency.p50_us <= summary.latency.p99_us);

    let _ = server.stop.send(());
    server.task.await.expect("joins").expect("stops cleanly");
}
