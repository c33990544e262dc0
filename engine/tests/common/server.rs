//! The real `kuaifan serve` in a child process, for the tests that talk to
//! it as consoles do.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// How long a server gets to load the Jincheng map (about 3 s alone; more
/// when the tests run side by side).
const READY_WITHIN: Duration = Duration::from_secs(120);

/// A running `kuaifan serve`; killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where its health-only port listens, when `--health-listen` is given.
    pub health: Option<SocketAddr>,
    lines: Receiver<String>,
    ready: bool,
    /// The `kuaifan: ready` line, once it came.
    pub ready_line: String,
}

impl ServerProcess {
    /// Starts `kuaifan serve --listen 127.0.0.1:0` with `args` and waits
    /// until it listens (not until the map is loaded).
    pub fn start(args: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kuaifan"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the kuaifan binary starts");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(READY_WITHIN)
            .expect("the server prints where it listens");
        let addr = first
            .strip_prefix("kuaifan: listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        let health = args.contains(&"--health-listen").then(|| {
            // The map console's address comes between the two ports.
            let line = std::iter::from_fn(|| lines.recv_timeout(READY_WITHIN).ok())
                .find(|line| !line.starts_with("kuaifan: map console at "))
                .expect("the server prints its health port");
            line.strip_prefix("kuaifan: health checks also on ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("unexpected second line {line:?}"))
        });
        ServerProcess {
            child,
            addr,
            health,
            lines,
            ready: false,
            ready_line: String::new(),
        }
    }

    /// Starts a server and waits until its map is loaded.
    pub fn ready(args: &[&str]) -> ServerProcess {
        let mut server = ServerProcess::start(args);
        server.wait_ready();
        server
    }

    /// Waits for the `ready` line.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        while !self.ready {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .expect("the server loads its map in time");
            self.ready = line.starts_with("kuaifan: ready");
            if self.ready {
                self.ready_line = line;
            }
        }
    }

    /// Waits for a line that starts with `prefix` and returns it.
    pub fn wait_line(&mut self, prefix: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            if line.starts_with("kuaifan: ready") {
                self.ready = true;
            }
            if line.starts_with(prefix) {
                return Some(line);
            }
        }
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit; returns its status and what
    /// it printed after the signal.
    pub fn terminate(mut self) -> (ExitStatus, Vec<String>) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM was delivered");
        let status = self.child.wait().expect("the server exits");
        let said = self.lines.iter().collect();
        (status, said)
    }
}

impl ServerProcess {
    /// Sends a signal by name (`STOP`, `CONT`, …) with `kill`.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIG{name} was delivered");
    }

    /// Waits up to `within` for the process to end by itself; its exit
    /// status, or `None` if it still runs.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be waited for") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGKILL, as a power cut would stop it, and waits for the end.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
