//! Hot standbys: real `kuaifan serve --etcd` processes against a real
//! three-member etcd cluster. Two nodes hold the same state after the
//! leader's commands; the leader killed with SIGKILL under a client's
//! steady commands, round after round, the standby takes over and a
//! checker reads the client's history against the journal in etcd.
//!
//! Built with `--features etcd` (CI builds it); a machine without `etcd`
//! skips each test with one line, and CI fails instead.

mod common;

#[cfg(not(feature = "etcd"))]
#[test]
fn the_standby_tests_need_the_etcd_feature() {
    eprintln!(
        "SKIPPED standby_nodes: built without the etcd feature \
         (cargo test --release -p kuaifan-engine --features etcd --test standby_nodes)"
    );
}

#[cfg(feature = "etcd")]
mod with_etcd {
    use std::collections::HashMap;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use super::common::etcd::EtcdCluster;
    use super::common::server::ServerProcess;
    use kuaifan_engine::service::REPLAYED_HEADER;
    use kuaifan_engine::service::node_role::LEADER_HEADER;
    use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
    use kuaifan_engine::service::proto::{self};
    use kuaifan_engine::{
        EtcdConfig, EtcdJournal, EtcdStore, JournalStore, LocalCopy, StoredGroup,
    };
    use tonic::Code;
    use tonic::transport::Channel;

    const PREFIX: &str = "/kuaifan/standby-test";

    /// No snapshot in a test's run, so that the checker reads every entry.
    const NO_SNAPSHOTS: [&str; 4] = [
        "--snapshot-every",
        "10000000",
        "--snapshot-minutes",
        "100000",
    ];

    /// A node that never snapshots.
    fn node(cluster: &EtcdCluster, name: &str) -> ServerProcess {
        node_with(cluster, name, &NO_SNAPSHOTS)
    }

    /// Node a, once it leads, and node b following it.
    fn leader_and_standby(cluster: &EtcdCluster, extra: &[&str]) -> (ServerProcess, ServerProcess) {
        let mut a = node_with(cluster, "a", extra);
        a.wait_line("kuaifan: node a leads", Duration::from_secs(30))
            .expect("the first node takes the lead");
        (a, node_with(cluster, "b", extra))
    }

    /// Node `name`'s local copy of the journal.
    fn copy_path(cluster: &EtcdCluster, name: &str) -> std::path::PathBuf {
        cluster.dir().join(format!("{name}.journal"))
    }

    fn node_with(cluster: &EtcdCluster, name: &str, extra: &[&str]) -> ServerProcess {
        let endpoints = cluster.endpoint_list();
        let copy = copy_path(cluster, name).to_string_lossy().to_string();
        let mut args = vec![
            "--etcd",
            &endpoints,
            "--journal",
            &copy,
            "--node-name",
            name,
            "--etcd-prefix",
            PREFIX,
            "--health-listen",
            "127.0.0.1:0",
        ];
        if !extra.contains(&"--lease-seconds") {
            args.extend_from_slice(&["--lease-seconds", "3"]);
        }
        args.extend_from_slice(extra);
        let mut server = ServerProcess::start(&args);
        server.wait_ready();
        server
    }

    /// `GET path` on a health port: the status code and the body.
    fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(addr).expect("the health port accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: kuaifan\r\nConnection: close\r\n\r\n"
        )
        .expect("the request is sent");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    fn state(server: &ServerProcess) -> serde_json::Value {
        let health = server.health.expect("a health port");
        let (status, body) = get(health, "/state");
        assert_eq!(status, 200, "/state answers: {body}");
        // The body is chunked by HTTP/1.1: the JSON is the line that opens
        // with a brace.
        let json = body
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("no JSON in {body:?}"));
        serde_json::from_str(json).expect("/state is JSON")
    }

    /// Waits until `node` answers `/leader` with 200 (a lease in doubt is
    /// confirmed by the first renewal after etcd is back), failing at once
    /// if it exited.
    fn wait_leads(node: &mut ServerProcess, what: &str) {
        let health = node.health.expect("a health port");
        wait_for(what, Duration::from_secs(15), || {
            if let Some(exit) = node.wait_exit(Duration::ZERO) {
                panic!("{what}: the node exited instead: {exit:?}");
            }
            get(health, "/leader").0 == 200
        });
    }

    fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + within;
        while !done() {
            assert!(Instant::now() < deadline, "{what} within {within:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn report(id: &str, n: usize) -> proto::ReportIncidentRequest {
        proto::ReportIncidentRequest {
            location: Some(proto::LatLng {
                lat: 35.49 + (n % 50) as f64 * 0.001,
                lng: 112.85 + (n % 37) as f64 * 0.001,
            }),
            priority: proto::Priority::P3 as i32,
            category: "noise".to_string(),
            description: format!("call {n}"),
            auto_assign: false,
            request_id: id.to_string(),
            ..Default::default()
        }
    }

    async fn client(addr: SocketAddr) -> DispatchClient<Channel> {
        DispatchClient::connect(format!("http://{addr}"))
            .await
            .expect("the node accepts connections")
    }

    /// The groups node `name`'s local copy holds (read while it runs:
    /// SQLite's WAL lets a reader in beside the node's writes).
    fn copied_groups(cluster: &EtcdCluster, name: &str) -> Vec<StoredGroup> {
        let copy = LocalCopy::open(&copy_path(cluster, name), PREFIX).expect("the copy opens");
        let mut groups = Vec::new();
        copy.for_each_group_after(0, |g| {
            groups.push(g);
            Ok(())
        })
        .expect("the copy reads back");
        groups
    }

    /// The groups the journal in etcd holds, without their archived cases
    /// (a copy keeps those in its archive table).
    fn etcd_groups(cluster: &EtcdCluster) -> Vec<StoredGroup> {
        let mut groups = Vec::new();
        checker_store(cluster)
            .for_each_group_after(0, &mut |mut g| {
                g.archived.clear();
                groups.push(g);
                Ok(())
            })
            .expect("the journal reads back");
        groups
    }

    fn checker_store(cluster: &EtcdCluster) -> EtcdStore {
        let journal = EtcdJournal::connect(EtcdConfig {
            endpoints: cluster.endpoints(),
            prefix: PREFIX.to_string(),
            node: "checker".to_string(),
            advertise: "checker:0".to_string(),
            lease: Duration::from_secs(3),
        })
        .expect("the checker reaches etcd");
        EtcdStore::open(journal).expect("the journal opens")
    }

    /// Every group's request id in the journal in etcd, and whether the
    /// entries run 1, 2, 3, … without a gap.
    fn journal_request_ids(cluster: &EtcdCluster) -> (Vec<String>, i64) {
        let store = checker_store(cluster);
        let mut ids = Vec::new();
        let mut next = 1;
        store
            .for_each_group_after(0, &mut |group| {
                for (seq, _) in &group.entries {
                    assert_eq!(*seq, next, "the journal's entries run without a gap");
                    next += 1;
                }
                ids.extend(group.request.map(|r| r.id));
                Ok(())
            })
            .expect("the journal reads back");
        assert_eq!(
            next - 1,
            store.last_seq(),
            "every entry up to the end was read"
        );
        (ids, next - 1)
    }

    #[test]
    fn a_standby_follows_the_leader_to_the_same_state() {
        let Some(cluster) = EtcdCluster::start("standby-digest") else {
            return;
        };
        let (a, b) = leader_and_standby(&cluster, &NO_SNAPSHOTS);
        a.health.expect("a health port");
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async {
            let mut leader = client(a.addr).await;
            for n in 0..1000 {
                leader
                    .report_incident(report(&format!("digest-{n}"), n))
                    .await
                    .unwrap_or_else(|e| panic!("command {n} on the leader: {e}"));
            }
            // A command on the standby is refused, naming the leader.
            let mut standby = client(b.addr).await;
            let refused = standby
                .report_incident(report("on-the-standby", 0))
                .await
                .expect_err("the standby refuses commands");
            assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
            let named = refused
                .metadata()
                .get(LEADER_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            assert_eq!(named, Some(a.addr.to_string()), "{refused:?}");
            // Reads are answered from the state it followed.
            let leader_seq = state(&a)["journal_seq"].as_i64().expect("a sequence");
            wait_for("the standby catches up", Duration::from_secs(30), || {
                state(&b)["journal_seq"].as_i64() == Some(leader_seq)
            });
            let listed = standby
                .list_incidents(proto::ListIncidentsRequest {
                    page_size: 1000,
                    ..Default::default()
                })
                .await
                .expect("the standby lists incidents")
                .into_inner()
                .incidents;
            assert_eq!(listed.len(), 1000, "the standby reads every incident");
        });
        let (on_a, on_b) = (state(&a), state(&b));
        assert_eq!(on_a["role"], "leader");
        assert_eq!(on_b["role"], "standby");
        assert_eq!(on_a["journal_seq"], on_b["journal_seq"]);
        assert_eq!(
            on_a["state_sha256"], on_b["state_sha256"],
            "the standby's state is the leader's: {on_a} {on_b}"
        );
        // A load balancer tells them apart; both are ready.
        let (ha, hb) = (a.health.expect("port"), b.health.expect("port"));
        assert_eq!(get(ha, "/leader").0, 200);
        assert_eq!(get(hb, "/leader").0, 503);
        assert_eq!(get(ha, "/ready").0, 200);
        wait_for(
            "the standby says it is ready",
            Duration::from_secs(10),
            || get(hb, "/ready").0 == 200,
        );
        let (ids, _) = journal_request_ids(&cluster);
        assert_eq!(ids.len(), 1000, "one group per command in the journal");
        // Each node's local copy holds the journal entry for entry.
        let replicated = etcd_groups(&cluster);
        assert_eq!(
            copied_groups(&cluster, "a"),
            replicated,
            "the leader's copy"
        );
        wait_for(
            "the standby's copy holds the journal",
            Duration::from_secs(10),
            || copied_groups(&cluster, "b") == replicated,
        );
    }

    #[test]
    fn every_node_archives_closed_cases_into_its_local_copy() {
        let Some(cluster) = EtcdCluster::start("standby-archive") else {
            return;
        };
        let mut extra = NO_SNAPSHOTS.to_vec();
        extra.extend(["--archive-after-minutes", "0"]);
        let (a, b) = leader_and_standby(&cluster, &extra);
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let (ids, closed) = runtime.block_on(async {
            let mut leader = client(a.addr).await;
            let mut ids = Vec::new();
            let mut closed = Vec::new();
            for n in 0..5 {
                // Dispatched at once, so that it can be handled and closed.
                let mut call = report(&format!("archive-{n}"), n);
                call.auto_assign = true;
                let reported = leader
                    .report_incident(call)
                    .await
                    .expect("reported")
                    .into_inner();
                let id = reported.incident.expect("an incident").id;
                let mut last = None;
                for to in [
                    proto::Stage::Handling,
                    proto::Stage::Feedback,
                    proto::Stage::Closed,
                ] {
                    last = Some(
                        leader
                            .advance_incident(proto::AdvanceIncidentRequest {
                                incident_id: id.clone(),
                                to: to as i32,
                                ..Default::default()
                            })
                            .await
                            .expect("advanced")
                            .into_inner(),
                    );
                }
                ids.push(id);
                closed.push(last.expect("closed"));
            }
            // A command after the closings: the writer archives them
            // before it, at once (zero minutes).
            leader
                .report_incident(report("after-the-closings", 99))
                .await
                .expect("reported");
            (ids, closed)
        });
        let archived_in = |name: &str| -> Vec<u64> {
            let db = rusqlite::Connection::open(copy_path(&cluster, name)).expect("opens");
            let mut select = db
                .prepare("SELECT incident FROM archived_incidents ORDER BY incident")
                .expect("the copy has an archive");
            select
                .query_map([], |r| r.get::<_, i64>(0))
                .expect("reads")
                .map(|r| r.expect("a row") as u64)
                .collect()
        };
        let numbers: Vec<u64> = ids
            .iter()
            .map(|id| {
                id.trim_start_matches(|c: char| !c.is_ascii_digit())
                    .parse()
                    .expect("a number")
            })
            .collect();
        wait_for(
            "the leader archives the closed cases",
            Duration::from_secs(30),
            || archived_in("a") == numbers,
        );
        wait_for(
            "the standby's copy archives them too",
            Duration::from_secs(30),
            || archived_in("b") == numbers,
        );
        // Both answer a closed case from their archive, as it was closed;
        // it has left the live state (the lists of open cases).
        let answers = |addr: SocketAddr| {
            runtime.block_on(async {
                let mut node = client(addr).await;
                let mut got = Vec::new();
                for id in &ids {
                    got.push(
                        node.get_incident(proto::GetIncidentRequest { id: id.clone() })
                            .await
                            .unwrap_or_else(|e| panic!("{id} on {addr}: {e}"))
                            .into_inner(),
                    );
                }
                got
            })
        };
        assert_eq!(answers(a.addr), closed, "the leader answers from its copy");
        assert_eq!(answers(b.addr), closed, "the standby answers from its copy");
        assert_same_state(&a, &b);
        // After a takeover the new leader still has them.
        a.kill();
        wait_for("b takes the lead", Duration::from_secs(30), || {
            state(&b)["role"] == "leader"
        });
        assert_eq!(
            answers(b.addr),
            closed,
            "the new leader answers from its copy"
        );
    }

    /// What the client saw of one request id.
    #[derive(Debug, Default, Clone)]
    struct History {
        invoked: u32,
        failed: u32,
        ok_at: Option<Instant>,
        incident: Option<String>,
    }

    type Histories = Arc<Mutex<Vec<(String, History)>>>;

    /// The client: a command every 20 ms to the node it believes leads,
    /// each retried with its request id on UNAVAILABLE or a broken
    /// connection (on the node the refusal names, else the next) until it
    /// is acknowledged.
    async fn send_steadily(
        nodes: Arc<Mutex<Vec<SocketAddr>>>,
        history: Histories,
        stop: Arc<AtomicBool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut target: Option<SocketAddr> = None;
        let mut n = 0;
        while !stop.load(Ordering::Acquire) {
            tick.tick().await;
            let id = format!("steady-{n}");
            let slot = {
                let mut h = history.lock().unwrap();
                h.push((id.clone(), History::default()));
                h.len() - 1
            };
            let mut turn = 0;
            loop {
                let addr = match target {
                    Some(addr) => addr,
                    None => {
                        let known = nodes.lock().unwrap().clone();
                        turn += 1;
                        known[turn % known.len()]
                    }
                };
                history.lock().unwrap()[slot].1.invoked += 1;
                let sent = async {
                    let mut c = DispatchClient::connect(format!("http://{addr}"))
                        .await
                        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
                    c.report_incident(report(&id, n)).await
                };
                match tokio::time::timeout(Duration::from_secs(5), sent).await {
                    Ok(Ok(answer)) => {
                        let mut h = history.lock().unwrap();
                        h[slot].1.ok_at = Some(Instant::now());
                        h[slot].1.incident = answer.into_inner().incident.map(|i| i.id);
                        target = Some(addr);
                        break;
                    }
                    // UNAVAILABLE from a standby, or the connection of a
                    // killed node (reset, cancelled): not acknowledged.
                    Ok(Err(status))
                        if matches!(
                            status.code(),
                            Code::Unavailable | Code::Unknown | Code::Cancelled
                        ) =>
                    {
                        history.lock().unwrap()[slot].1.failed += 1;
                        target = status
                            .metadata()
                            .get(LEADER_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Ok(Err(status)) => panic!("{id} refused: {status:?}"),
                    // No answer within 5 s (a paused node): try the next.
                    Err(_) => {
                        history.lock().unwrap()[slot].1.failed += 1;
                        target = None;
                    }
                }
                if stop.load(Ordering::Acquire)
                    && history.lock().unwrap()[slot].1.ok_at.is_none()
                    && turn > 200
                {
                    return;
                }
            }
            n += 1;
        }
    }

    /// The steady client, running on the test's runtime, and what it saw.
    struct Steady {
        nodes: Arc<Mutex<Vec<SocketAddr>>>,
        history: Histories,
        stop: Arc<AtomicBool>,
        sender: tokio::task::JoinHandle<()>,
    }

    /// What the checker found.
    struct Checked {
        acked: usize,
        retried: usize,
        entries: i64,
    }

    impl Steady {
        fn start(runtime: &tokio::runtime::Runtime, nodes: &[SocketAddr]) -> Steady {
            let nodes = Arc::new(Mutex::new(nodes.to_vec()));
            let history = Arc::new(Mutex::new(Vec::new()));
            let stop = Arc::new(AtomicBool::new(false));
            let sender = runtime.spawn(send_steadily(
                Arc::clone(&nodes),
                Arc::clone(&history),
                Arc::clone(&stop),
            ));
            Steady {
                nodes,
                history,
                stop,
                sender,
            }
        }

        /// The nodes it turns to when it does not know who leads.
        fn set_nodes(&self, nodes: &[SocketAddr]) {
            self.nodes.lock().unwrap().clone_from(&nodes.to_vec());
        }

        /// The last command acknowledged so far.
        fn last_acked(&self) -> (String, History) {
            self.history
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find(|(_, h)| h.ok_at.is_some())
                .cloned()
                .expect("commands were acknowledged")
        }

        /// Waits for the first command acknowledged after `since`; how
        /// long after `since` that was.
        fn first_ack_after(&self, since: Instant) -> Duration {
            let first = || {
                self.history
                    .lock()
                    .unwrap()
                    .iter()
                    .filter_map(|(_, h)| h.ok_at)
                    .filter(|t| *t > since)
                    .min()
            };
            wait_for(
                "a write acknowledged after the failure",
                Duration::from_secs(60),
                || first().is_some(),
            );
            first().expect("an acknowledgement") - since
        }

        /// Stops the client and reads its history against the journal in
        /// etcd: every acknowledged command is there, and nothing is there
        /// twice.
        fn stop_and_check(
            self,
            runtime: &tokio::runtime::Runtime,
            cluster: &EtcdCluster,
        ) -> Checked {
            std::thread::sleep(Duration::from_secs(1));
            self.stop.store(true, Ordering::Release);
            runtime.block_on(self.sender).expect("the client ends");
            let history = self.history.lock().unwrap().clone();
            let (ids, entries) = journal_request_ids(cluster);
            let mut in_journal: HashMap<&str, usize> = HashMap::new();
            for id in &ids {
                *in_journal.entry(id.as_str()).or_default() += 1;
            }
            let twice: Vec<_> = in_journal.iter().filter(|(_, n)| **n > 1).collect();
            assert!(twice.is_empty(), "applied more than once: {twice:?}");
            let acked: Vec<&(String, History)> =
                history.iter().filter(|(_, h)| h.ok_at.is_some()).collect();
            let lost: Vec<&str> = acked
                .iter()
                .filter(|(id, _)| !in_journal.contains_key(id.as_str()))
                .map(|(id, _)| id.as_str())
                .collect();
            assert!(
                lost.is_empty(),
                "acknowledged and not in the journal: {lost:?}"
            );
            Checked {
                acked: acked.len(),
                retried: acked.iter().filter(|(_, h)| h.failed > 0).count(),
                entries,
            }
        }
    }

    /// The median and the worst of some durations.
    fn median_and_worst(times: &[Duration]) -> (Duration, Duration) {
        let mut sorted = times.to_vec();
        sorted.sort();
        (sorted[sorted.len() / 2], sorted[sorted.len() - 1])
    }

    /// Waits until two nodes hold the same journal position and asserts
    /// that they hold the same state there.
    fn assert_same_state(one: &ServerProcess, two: &ServerProcess) {
        wait_for("the standby catches up", Duration::from_secs(30), || {
            state(one)["journal_seq"] == state(two)["journal_seq"]
        });
        let (one, two) = (state(one), state(two));
        assert_eq!(
            one["state_sha256"], two["state_sha256"],
            "the same journal position, the same state: {one} {two}"
        );
    }

    #[test]
    fn the_standby_takes_over_from_a_killed_leader_and_loses_nothing() {
        let Some(cluster) = EtcdCluster::start("standby-failover") else {
            return;
        };
        let rounds: usize = std::env::var("KUAIFAN_FAILOVER_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(10);
        let (a, b) = leader_and_standby(&cluster, &NO_SNAPSHOTS);
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let steady = Steady::start(&runtime, &[a.addr, b.addr]);
        let mut servers: HashMap<&str, ServerProcess> = HashMap::from([("a", a), ("b", b)]);
        let mut leader = "a";
        let mut failovers = Vec::new();
        for round in 0..rounds {
            let standby = if leader == "a" { "b" } else { "a" };
            // Traffic on this leader for a while.
            std::thread::sleep(Duration::from_secs(2));
            let acked_before = steady.last_acked();
            let killed = servers.remove(leader).expect("the leader runs");
            killed.kill();
            let killed_at = Instant::now();
            let mut follower = servers.remove(standby).expect("the standby runs");
            follower
                .wait_line(
                    &format!("kuaifan: node {standby} leads"),
                    Duration::from_secs(60),
                )
                .unwrap_or_else(|| panic!("round {round}: {standby} takes the lead"));
            failovers.push(steady.first_ack_after(killed_at));
            // The last command the old leader acknowledged, retried on the
            // new one, is answered from the record.
            runtime.block_on(async {
                let mut c = client(follower.addr).await;
                let (id, seen) = &acked_before;
                let n: usize = id
                    .trim_start_matches("steady-")
                    .parse()
                    .expect("a numbered id");
                let answer = c
                    .report_incident(report(id, n))
                    .await
                    .unwrap_or_else(|e| panic!("{id} retried on the new leader: {e}"));
                assert_eq!(
                    answer.metadata().get(REPLAYED_HEADER).map(|v| v.as_bytes()),
                    Some(&b"true"[..]),
                    "{id} retried after the takeover is answered from the record"
                );
                assert_eq!(answer.into_inner().incident.map(|i| i.id), seen.incident);
            });
            // The killed node comes back as a standby.
            let restarted = node(&cluster, leader);
            steady.set_nodes(&[follower.addr, restarted.addr]);
            // Loading the map and catching up with a journal that grows at
            // 50 commands a second: seconds on a quiet machine, a minute or
            // more on a loaded one (CI's machines are shared).
            wait_for(
                &format!("round {round}: the restarted node is ready"),
                Duration::from_secs(180),
                || get(restarted.health.expect("port"), "/ready").0 == 200,
            );
            assert_eq!(get(restarted.health.expect("port"), "/leader").0, 503);
            servers.insert(standby, follower);
            servers.insert(leader, restarted);
            leader = standby;
        }
        let checked = steady.stop_and_check(&runtime, &cluster);
        let (median, worst) = median_and_worst(&failovers);
        eprintln!(
            "failover: {rounds} rounds; from SIGKILL to the first acknowledged write median \
             {median:?}, worst {worst:?}; {} commands acknowledged ({} after a retry), 0 lost, \
             0 in the journal twice; {} journal entries",
            checked.acked, checked.retried, checked.entries,
        );
        assert_same_state(&servers["a"], &servers["b"]);
    }

    #[test]
    fn a_leader_paused_past_its_lease_is_fenced_and_steps_down() {
        let Some(cluster) = EtcdCluster::start("standby-paused") else {
            return;
        };
        let (mut a, mut b) = leader_and_standby(&cluster, &NO_SNAPSHOTS);
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let steady = Steady::start(&runtime, &[a.addr, b.addr]);
        std::thread::sleep(Duration::from_secs(2));
        // A pause longer than the 3 s lease (a stalled VM, a long GC, a
        // debugger): the node does not know it stopped.
        a.signal("STOP");
        let paused_at = Instant::now();
        b.wait_line("kuaifan: node b leads", Duration::from_secs(60))
            .expect("the standby takes the lead from the paused leader");
        let took_over = paused_at.elapsed();
        // The client's call to the paused node waits out its 5 s timeout
        // before it tries the other: that, not the takeover, is most of
        // this figure.
        let failover = steady.first_ack_after(paused_at);
        // A console that still believes the paused node leads sends it a
        // command; the call waits in its socket until the node resumes.
        let old_leader = a.addr;
        let to_the_old_leader = runtime.spawn(async move {
            let mut c = DispatchClient::connect(format!("http://{old_leader}"))
                .await
                .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
            c.report_incident(report("sent-to-the-paused-leader", 7))
                .await
        });
        std::thread::sleep(Duration::from_secs(1));
        a.signal("CONT");
        let answer = runtime
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(30), to_the_old_leader).await
            })
            .expect("the old leader's answer comes")
            .expect("the call ends");
        assert!(
            answer.is_err(),
            "the old leader acknowledged a command after losing the lead: {answer:?}"
        );
        let exit = a
            .wait_exit(Duration::from_secs(30))
            .expect("the old leader steps down");
        assert_eq!(
            exit.code(),
            Some(3),
            "a node that lost the lead exits with status 3: {exit:?}"
        );
        let checked = steady.stop_and_check(&runtime, &cluster);
        let (ids, _) = journal_request_ids(&cluster);
        assert!(
            !ids.iter().any(|id| id == "sent-to-the-paused-leader"),
            "the command sent to the old leader is not in the journal"
        );
        // Nothing of the old leader's is in the journal after the takeover:
        // a node started now, replaying the whole journal from etcd, holds
        // exactly the state the new leader holds.
        let c = node(&cluster, "c");
        assert_same_state(&b, &c);
        eprintln!(
            "paused leader: from SIGSTOP to the standby's lead {took_over:?}, to the client's \
             first write there {failover:?}; the old leader's call refused and it exited with \
             status 3 on SIGCONT; {} commands acknowledged ({} after a retry), 0 lost, 0 twice",
            checked.acked, checked.retried
        );
    }

    #[test]
    fn writes_go_on_through_the_death_of_etcds_raft_leader() {
        let Some(mut cluster) = EtcdCluster::start("standby-raft-leader") else {
            return;
        };
        let (mut a, b) = leader_and_standby(&cluster, &NO_SNAPSHOTS);
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let steady = Steady::start(&runtime, &[a.addr, b.addr]);
        let mut resumed = Vec::new();
        for round in 0..3 {
            std::thread::sleep(Duration::from_secs(2));
            let member = cluster.raft_leader().expect("etcd has a Raft leader");
            cluster.kill(member);
            let killed_at = Instant::now();
            resumed.push(steady.first_ack_after(killed_at));
            cluster.restart(member);
            cluster.wait_healthy();
            wait_leads(
                &mut a,
                &format!("round {round}: the same node leads through etcd's election"),
            );
        }
        let checked = steady.stop_and_check(&runtime, &cluster);
        let (median, worst) = median_and_worst(&resumed);
        eprintln!(
            "etcd Raft leader killed 3 times: writes resumed after median {median:?}, worst \
             {worst:?}; {} commands acknowledged ({} after a retry), 0 lost, 0 twice",
            checked.acked, checked.retried
        );
        assert_same_state(&a, &b);
    }

    #[test]
    fn the_leader_waits_out_an_etcd_outage_longer_than_its_lease() {
        let Some(mut cluster) = EtcdCluster::start("standby-outage") else {
            return;
        };
        // A 5 s lease: the outage below outlasts it, and etcd is back well
        // within the second TTL, after which the lease would be lost.
        let mut extra = NO_SNAPSHOTS.to_vec();
        extra.extend_from_slice(&["--lease-seconds", "5"]);
        let (mut a, b) = leader_and_standby(&cluster, &extra);
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let steady = Steady::start(&runtime, &[a.addr, b.addr]);
        std::thread::sleep(Duration::from_secs(2));
        // Two of three members down: etcd has no quorum, so no renewal,
        // append or election goes through.
        cluster.kill(1);
        cluster.kill(2);
        let lost_quorum = Instant::now();
        wait_for(
            "the leader's lease in doubt",
            Duration::from_secs(15),
            || {
                if let Some(exit) = a.wait_exit(Duration::ZERO) {
                    panic!("the leader exited instead of waiting: {exit:?}");
                }
                state(&a)["lead_in_doubt"] == true
            },
        );
        let in_doubt_after = lost_quorum.elapsed();
        assert_eq!(
            get(a.health.expect("port"), "/leader").0,
            503,
            "a leader in doubt takes no command"
        );
        assert_eq!(get(b.health.expect("port"), "/leader").0, 503);
        cluster.restart(1);
        cluster.restart(2);
        let back = Instant::now();
        let resumed = steady.first_ack_after(back);
        wait_leads(&mut a, "the leader takes commands again");
        assert_eq!(state(&a)["lead_in_doubt"], false);
        assert_eq!(state(&b)["role"], "standby");
        let checked = steady.stop_and_check(&runtime, &cluster);
        assert_same_state(&a, &b);
        eprintln!(
            "etcd quorum lost: the leader's 5 s lease in doubt after {in_doubt_after:?}; writes \
             resumed {resumed:?} after the members were started again, on the same leader; {} \
             commands acknowledged ({} after a retry), 0 lost, 0 twice",
            checked.acked, checked.retried
        );
    }

    #[test]
    fn a_node_restarted_after_a_compaction_rejoins_from_the_snapshot() {
        let Some(cluster) = EtcdCluster::start("standby-compacted") else {
            return;
        };
        // A snapshot every 200 entries: each one compacts the batches the
        // one before it holds.
        let often = ["--snapshot-every", "200", "--snapshot-minutes", "100000"];
        let (a, b) = leader_and_standby(&cluster, &often);
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let send = |from: usize, to: usize| {
            runtime.block_on(async {
                let mut leader = client(a.addr).await;
                for n in from..to {
                    leader
                        .report_incident(report(&format!("compacted-{n}"), n))
                        .await
                        .unwrap_or_else(|e| panic!("command {n}: {e}"));
                }
            });
        };
        send(0, 100);
        assert_same_state(&a, &b);
        // The standby goes down; meanwhile the journal it stopped at is
        // compacted away under two snapshots.
        let stopped_at = state(&b)["journal_seq"].as_i64().expect("a position");
        b.kill();
        send(100, 1000);
        let first_batch =
            cluster.etcdctl(&["get", "--keys-only", &format!("{PREFIX}/journal/{:020}", 1)]);
        assert!(
            String::from_utf8_lossy(&first_batch.stdout)
                .trim()
                .is_empty(),
            "the first batch is compacted away"
        );
        let b = node_with(&cluster, "b", &often);
        let through: i64 = b
            .ready_line
            .rsplit("after the snapshot through entry ")
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("the restart loads a snapshot: {}", b.ready_line));
        assert!(
            through > stopped_at,
            "the snapshot ({through}) is past where the node stopped ({stopped_at})"
        );
        assert_same_state(&a, &b);
        let listed = runtime.block_on(async {
            client(b.addr)
                .await
                .list_incidents(proto::ListIncidentsRequest {
                    page_size: 1000,
                    ..Default::default()
                })
                .await
                .expect("the rejoined standby lists incidents")
                .into_inner()
                .incidents
                .len()
        });
        assert_eq!(listed, 1000, "the rejoined standby reads every incident");
        assert_eq!(get(b.health.expect("port"), "/leader").0, 503);
        // The leader's copy holds the whole history, entry for entry; the
        // rejoined node's records what the compaction took while it was
        // down, and holds everything else.
        let seqs = |groups: Vec<StoredGroup>| -> Vec<i64> {
            groups
                .iter()
                .flat_map(|g| g.entries.iter().map(|(s, _)| *s))
                .collect()
        };
        let end = state(&a)["journal_seq"].as_i64().expect("a position");
        assert_eq!(
            seqs(copied_groups(&cluster, "a")),
            (1..=end).collect::<Vec<_>>()
        );
        wait_for("b's copy reaches the end", Duration::from_secs(10), || {
            seqs(copied_groups(&cluster, "b")).last() == Some(&end)
        });
        let copy = LocalCopy::open(&copy_path(&cluster, "b"), PREFIX).expect("the copy opens");
        let missing = copy.missing().expect("reads");
        assert_eq!(missing.len(), 1, "{missing:?}");
        let (first, last) = missing[0];
        assert_eq!(first, stopped_at + 1, "{missing:?}");
        let held = seqs(copied_groups(&cluster, "b"));
        let expected: Vec<i64> = (1..=end).filter(|s| *s < first || *s > last).collect();
        assert_eq!(held, expected);
    }

    /// `kuaifan console` with `args` after `--addr LIST --json`.
    fn console(list: &str, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_kuaifan"))
            .args(["console", "--addr", list, "--json"])
            .args(args)
            .output()
            .expect("the console runs")
    }

    const REPORT: [&str; 9] = [
        "report",
        "--lat",
        "35.4950",
        "--lng",
        "112.8450",
        "--priority",
        "P3",
        "--category",
        "disturbance",
    ];

    #[test]
    fn consoles_given_every_node_find_the_leader_and_follow_a_takeover() {
        let Some(cluster) = EtcdCluster::start("standby-clients") else {
            return;
        };
        let (a, mut b) = leader_and_standby(&cluster, &NO_SNAPSHOTS);
        // The standby first: its refusal names the leader, and the command
        // is answered there.
        let list = format!("{},{}", b.url(), a.url());
        let output = console(&list, &REPORT);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answer: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("the answer is JSON");
        assert_eq!(answer["incident"]["stage"], "REPORTED", "{answer}");

        // The Python client, given the standby first, does the same.
        let python = std::env::var("KUAIFAN_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let has_grpc = std::process::Command::new(&python)
            .args(["-c", "import grpc, grpc_tools"])
            .output()
            .is_ok_and(|o| o.status.success());
        if has_grpc {
            let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../proto/clients/python/kuaifan_client.py");
            let output = std::process::Command::new(&python)
                .arg(script)
                .args(["--addr", &format!("{},{}", b.addr, a.addr)])
                .output()
                .expect("the Python client runs");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(
                stdout.contains(&format!(
                    "(ReportIncident: {}: UNAVAILABLE; next {})",
                    b.addr, a.addr
                )),
                "the Python client follows the standby's refusal to the leader: {stdout}"
            );
        } else {
            assert!(
                !super::common::in_ci(),
                "{python} cannot import grpc and grpc_tools; CI installs them"
            );
            super::common::skip(&format!("the Python half: {python} has no grpcio"));
        }

        // The leader dies; a report sent at once, leader first, waits out
        // the takeover and is answered by the new leader, once.
        let dead = a.url();
        a.kill();
        let list = format!("{dead},{}", b.url());
        let output = console(&list, &REPORT);
        assert!(
            output.status.success(),
            "a report sent as the leader died is answered: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        b.wait_line("kuaifan: node b leads", Duration::from_secs(30))
            .expect("the standby took over");
        let listed = console(&b.url(), &["incidents", "--limit", "1000"]);
        assert!(listed.status.success());
        let text = String::from_utf8_lossy(&listed.stdout);
        let reports = text.matches("\"disturbance\"").count();
        assert_eq!(
            reports, 2,
            "both consoles' reports are on the new leader, once each: {text}"
        );
    }
}
