//! A real three-member etcd cluster for the failover tests: Debian's
//! `etcd` on loopback ports of its own, its data in a temporary directory,
//! each member stopped by its pid.
//!
//! Outside CI a machine without `etcd` skips these tests with one line;
//! under CI (`CI=true`) a missing `etcd` fails them.

#![allow(dead_code, reason = "each test file uses a part of the helpers")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a cluster gets to elect its first Raft leader.
const HEALTHY_WITHIN: Duration = Duration::from_secs(60);

/// One etcd member.
struct Member {
    name: String,
    client: String,
    peer: String,
    data: PathBuf,
    child: Option<Child>,
}

/// A running cluster; every member is killed and the data removed when
/// it is dropped.
pub struct EtcdCluster {
    members: Vec<Member>,
    dir: PathBuf,
    token: String,
}

/// Whether `etcd` is installed; if it is not, says so in one line (and
/// fails under CI).
fn installed(test: &str) -> bool {
    let found = Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let why = "etcd is not installed (apt-get install etcd-server etcd-client)";
        if super::in_ci() {
            panic!("{test}: {why}; CI must run the failover tests");
        }
        super::skip(why);
    }
    found
}

/// A free loopback port (free when asked; the member binds it at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl EtcdCluster {
    /// Starts three members and waits until the cluster is healthy;
    /// `None` (after one line saying why) when `etcd` is not installed
    /// outside CI.
    pub fn start(test: &str) -> Option<EtcdCluster> {
        if !installed(test) {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("kuaifan-etcd-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let members = (0..3)
            .map(|i| Member {
                name: format!("m{i}"),
                client: format!("http://127.0.0.1:{}", free_port()),
                peer: format!("http://127.0.0.1:{}", free_port()),
                data: dir.join(format!("m{i}")),
                child: None,
            })
            .collect();
        let mut cluster = EtcdCluster {
            members,
            dir,
            token: format!("kuaifan-{test}-{}", std::process::id()),
        };
        for i in 0..3 {
            cluster.spawn(i);
        }
        cluster.wait_healthy();
        Some(cluster)
    }

    fn spawn(&mut self, i: usize) {
        let initial: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer))
            .collect();
        let m = &self.members[i];
        let log =
            std::fs::File::create(self.dir.join(format!("{}.log", m.name))).expect("a log file");
        let child = Command::new("etcd")
            .args(["--name", &m.name])
            .arg("--data-dir")
            .arg(&m.data)
            .args(["--listen-client-urls", &m.client])
            .args(["--advertise-client-urls", &m.client])
            .args(["--listen-peer-urls", &m.peer])
            .args(["--initial-advertise-peer-urls", &m.peer])
            .args(["--initial-cluster", &initial.join(",")])
            .args(["--initial-cluster-token", &self.token])
            .args(["--initial-cluster-state", "new"])
            // Raft's defaults (100 ms heartbeats, a 1 s election timeout)
            // are for a LAN; loopback is one.
            .args(["--heartbeat-interval", "100", "--election-timeout", "1000"])
            .args(["--logger", "zap", "--log-level", "warn"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("etcd starts");
        self.members[i].child = Some(child);
    }

    /// Every member's client URL, as `--etcd` takes them.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client.clone()).collect()
    }

    /// The members' client URLs joined with commas.
    pub fn endpoint_list(&self) -> String {
        self.endpoints().join(",")
    }

    /// Where the cluster keeps its data and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `etcdctl` against the running members.
    pub fn etcdctl(&self, args: &[&str]) -> std::process::Output {
        let running: Vec<String> = self
            .members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| m.client.clone())
            .collect();
        Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", running.join(",")))
            .args(["--command-timeout", "5s"])
            .args(args)
            .output()
            .expect("etcdctl runs")
    }

    /// Waits until every running member answers and one is Raft leader.
    pub fn wait_healthy(&self) {
        let deadline = Instant::now() + HEALTHY_WITHIN;
        loop {
            if self.raft_leader().is_some() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the etcd cluster in {} is not healthy within {HEALTHY_WITHIN:?}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The member that is Raft leader now, by index, if the running
    /// members agree on one.
    pub fn raft_leader(&self) -> Option<usize> {
        let out = self.etcdctl(&["endpoint", "status", "-w", "json"]);
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let status: serde_json::Value = serde_json::from_str(&text).ok()?;
        let mut leader = None;
        for s in status.as_array()? {
            let member = s["Status"]["header"]["member_id"].as_u64()?;
            let of = s["Status"]["leader"].as_u64()?;
            if of == 0 {
                return None;
            }
            if member == of {
                let url = s["Endpoint"].as_str()?;
                leader = self.members.iter().position(|m| m.client == url);
            }
        }
        leader
    }

    /// SIGKILL to member `i`, by its pid, and wait for it to end.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data, as a restarted machine would.
    pub fn restart(&mut self, i: usize) {
        assert!(self.members[i].child.is_none(), "member {i} is running");
        self.spawn(i);
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
