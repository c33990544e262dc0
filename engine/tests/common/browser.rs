//! A real browser for the map console's tests: Debian's `chromium`,
//! headless, started by the test in a process group of its own, and a
//! `node` driver script from `engine/web/test` (playwright-core) that
//! works the page over the DevTools protocol. The test owns both
//! processes: dropping them kills that group and that driver, nothing else.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `engine/web`, where the page's sources, packages and driver scripts are.
pub fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Chromium, node and playwright-core, or what is missing and how to get it.
pub fn find() -> Result<PathBuf, String> {
    let chromium = std::env::var_os("KUAIFAN_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !chromium.exists() {
        return Err(format!(
            "{} is missing (apt-get install chromium fonts-wqy-zenhei, or set KUAIFAN_CHROMIUM)",
            chromium.display()
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Err("node is missing (apt-get install nodejs npm)".to_string());
    }
    if !web_dir().join("node_modules/playwright-core").exists() {
        return Err("engine/web/node_modules is missing (run npm ci in engine/web)".to_string());
    }
    Ok(chromium)
}

/// A headless Chromium the test started, with its DevTools endpoint.
pub struct Chromium {
    child: Child,
    /// `ws://127.0.0.1:PORT/devtools/browser/…`.
    pub endpoint: String,
    profile: PathBuf,
}

/// How long Chromium gets to say where its DevTools listen.
const LAUNCH_WITHIN: Duration = Duration::from_secs(60);

impl Chromium {
    /// Starts Chromium with a fresh profile under `target/` and waits for
    /// its DevTools endpoint.
    pub fn launch(path: &Path) -> Chromium {
        static LAUNCHED: AtomicUsize = AtomicUsize::new(0);
        let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../target/console-browser/{}-{}",
            std::process::id(),
            LAUNCHED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&profile).expect("a profile directory under target/");
        let mut child = Command::new(path)
            .args([
                "--headless",
                "--no-sandbox",
                // WebGL in software: MapLibre needs it, and CI has no GPU.
                "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader",
                "--remote-debugging-port=0",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", path.display()));
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let (send, lines) = channel();
        // Keeps reading to the end, so Chromium never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        let deadline = Instant::now() + LAUNCH_WITHIN;
        let mut said = Vec::new();
        let endpoint = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(ws) = line.strip_prefix("DevTools listening on ") {
                        break ws.trim().to_string();
                    }
                    said.push(line);
                }
                Err(e) => {
                    let _ = Command::new("kill")
                        .args(["-KILL", "--", &format!("-{}", child.id())])
                        .status();
                    let _ = child.wait();
                    panic!(
                        "Chromium gave no DevTools endpoint within {LAUNCH_WITHIN:?} ({e:?}); it said:\n{}",
                        said.join("\n")
                    );
                }
            }
        };
        Chromium {
            child,
            endpoint,
            profile,
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // The browser and the processes it forked (renderers, GPU, zygote)
        // share the group the test made for it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A driver script working a page, and the lines it prints.
pub struct Driver {
    child: Child,
    input: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Everything it said, for failure messages.
    pub said: Vec<String>,
}

impl Driver {
    /// Runs `node engine/web/test/SCRIPT args…`.
    pub fn start(script: &str, args: &[&str]) -> Driver {
        let mut child = Command::new("node")
            .current_dir(web_dir())
            .arg(format!("test/{script}"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node starts");
        let input = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Driver {
            child,
            input,
            lines,
            said: Vec::new(),
        }
    }

    /// The driver's next `KEY json` line for `key`, within `within`;
    /// panics with what it said on its FAILED, its exit or the timeout.
    pub fn expect(&mut self, key: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "the browser driver said nothing of {key} within {within:?}; it said:\n{}",
                    self.said.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string());
                    panic!(
                        "the browser driver ended ({status:?}) before {key}; it said:\n{}",
                        self.said.join("\n")
                    )
                }
            };
            self.said.push(line.clone());
            let (k, v) = line.split_once(' ').unwrap_or((&line, "null"));
            if k == "FAILED" {
                panic!(
                    "in the browser: {v}\nthe driver said before:\n{}",
                    self.said.join("\n")
                );
            }
            if k == key {
                return serde_json::from_str(v).unwrap_or_else(|e| panic!("{line}: {e}"));
            }
        }
    }

    /// Sends the driver one JSON line.
    pub fn send(&mut self, value: &Value) {
        let input = self.input.as_mut().expect("the driver's input is open");
        writeln!(input, "{value}").expect("the driver reads its input");
    }

    /// Closes its input and waits (at most `within`) for it to exit.
    pub fn finish(mut self, within: Duration) -> ExitStatus {
        self.input.take();
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("the driver's status") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the browser driver did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
