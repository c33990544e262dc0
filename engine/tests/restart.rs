//! Power cuts: the real `kuaifan serve` on a journal, several consoles
//! driving calls through their closed loop, SIGKILL at random moments,
//! and a restart on the same journal, round after round. Every
//! acknowledged incident, stage and assignment must be there after each
//! restart, and no call that was not acknowledged may be half there.
//!
//! Then the journal itself damaged: a truncated or corrupt tail starts
//! with the intact prefix and says how much it replayed, or refuses to
//! start and says why; it never starts empty without saying so.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self, Stage};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tonic::transport::Channel;

/// Consoles driving calls at once.
const CONSOLES: usize = 3;

/// Kills and restarts.
const ROUNDS: usize = 4;

/// The stale limit the rounds run under, seconds. No terminal reports
/// here, and a unit that has sent no fix since the shift began is stale
/// once the limit has passed (a restart continues the shift): under the
/// default 120 s, five starts on a busy machine would leave every unit
/// stale and `auto_assign` sending nobody, which is right, but not what
/// this test is about. `stale_units.rs` tests the rule.
const STALE_AFTER_S: &str = "86400";

/// What the consoles were told, per incident id.
#[derive(Debug, Default, Clone)]
struct Acknowledged {
    /// Reported with `auto_assign` (one group: report, register, assign).
    auto: bool,
    /// The furthest stage a reply showed.
    stage: i32,
    /// Every unit a reply showed assigned.
    units: BTreeSet<String>,
}

type Log = Arc<Mutex<BTreeMap<String, Acknowledged>>>;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn record(log: &Log, incident: &proto::Incident, auto: bool) {
    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
    let entry = log.entry(incident.id.clone()).or_default();
    entry.auto |= auto;
    entry.stage = entry.stage.max(incident.stage);
    entry.units.extend(incident.unit_ids.iter().cloned());
}

/// One console: calls in the urban core, half auto-assigned, half
/// confirmed from the recommendation, each taken to CLOSED. Returns how
/// many calls were acknowledged before the server went away.
async fn console(url: String, seed: u64, log: Log) -> usize {
    let Ok(mut client) = DispatchClient::connect(url).await else {
        return 0;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut acknowledged = 0;
    loop {
        let auto = rng.random_bool(0.5);
        let report = proto::ReportIncidentRequest {
            location: Some(proto::LatLng {
                lat: rng.random_range(35.485..35.505),
                lng: rng.random_range(112.835..112.855),
            }),
            priority: [proto::Priority::P2, proto::Priority::P3][rng.random_range(0..2)] as i32,
            category: if auto { "auto" } else { "confirm" }.to_string(),
            auto_assign: auto,
            ..Default::default()
        };
        let Ok(reply) = client.report_incident(report).await else {
            return acknowledged;
        };
        acknowledged += 1;
        let reply = reply.into_inner();
        let Some(incident) = reply.incident else {
            panic!("a report's reply has its incident")
        };
        record(&log, &incident, auto);
        let id = incident.id.clone();
        if !auto {
            let units: Vec<proto::ConfirmedUnit> = reply
                .recommendation
                .map(|r| {
                    r.candidates
                        .into_iter()
                        .map(|c| proto::ConfirmedUnit {
                            unit_id: c.unit_id,
                            tier: c.tier,
                            goal: c.goal,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let confirm = proto::ConfirmAssignmentRequest {
                incident_id: id.clone(),
                units,
                ..Default::default()
            };
            match client.confirm_assignment(confirm).await {
                Ok(incident) => {
                    acknowledged += 1;
                    record(&log, &incident.into_inner(), false);
                }
                // Another console took a recommended unit first: the case
                // stays REPORTED, as the refusal says.
                Err(e) if e.code() == tonic::Code::FailedPrecondition => continue,
                Err(_) => return acknowledged,
            }
        }
        for to in [Stage::Handling, Stage::Feedback, Stage::Closed] {
            let advance = proto::AdvanceIncidentRequest {
                incident_id: id.clone(),
                to: to as i32,
                note: String::new(),
                request_id: String::new(),
            };
            let Ok(incident) = client.advance_incident(advance).await else {
                return acknowledged;
            };
            acknowledged += 1;
            record(&log, &incident.into_inner(), auto);
        }
    }
}

/// Every incident, page after page.
async fn incidents(client: &mut DispatchClient<Channel>) -> Vec<proto::Incident> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_incidents(proto::ListIncidentsRequest {
                page_token,
                ..Default::default()
            })
            .await
            .expect("lists incidents")
            .into_inner();
        all.extend(page.incidents);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// Checks the restarted server against what was acknowledged; returns how
/// many incidents it holds that no console was told of.
async fn verify(client: &mut DispatchClient<Channel>, log: &Log, round: usize) -> usize {
    let held: BTreeMap<String, proto::Incident> = incidents(client)
        .await
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    let log = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for (id, told) in &log {
        let incident = held
            .get(id)
            .unwrap_or_else(|| panic!("round {round}: acknowledged incident {id} is gone"));
        assert!(
            incident.stage >= told.stage,
            "round {round}: incident {id} is at stage {} but stage {} was acknowledged",
            incident.stage,
            told.stage
        );
        let units: BTreeSet<String> = incident.unit_ids.iter().cloned().collect();
        assert!(
            told.units.is_subset(&units),
            "round {round}: incident {id} lost acknowledged units: {:?} of {:?}",
            told.units,
            units
        );
    }
    for (id, incident) in &held {
        let auto = incident.category == "auto";
        let assigned = !incident.unit_ids.is_empty();
        let stage = incident.stage;
        // A call is reported, registered and assigned by one group (auto),
        // or registered and assigned by one group (confirm): never a case
        // registered without its units, or an auto call without them.
        assert!(
            stage != Stage::Registered as i32,
            "round {round}: incident {id} is registered without its assignment"
        );
        if auto {
            assert!(
                assigned && stage >= Stage::Assigned as i32,
                "round {round}: auto-assigned call {id} is there without its units: {incident:?}"
            );
        }
        if stage >= Stage::Assigned as i32 {
            assert!(
                assigned,
                "round {round}: incident {id} is assigned to nobody"
            );
        }
    }
    held.keys().filter(|id| !log.contains_key(*id)).count()
}

/// Takes every open assigned incident to CLOSED, so that units held by a
/// call cut off by the kill are free for the next round.
async fn close_open(client: &mut DispatchClient<Channel>, log: &Log) {
    for incident in incidents(client).await {
        if incident.stage < Stage::Assigned as i32 {
            continue;
        }
        for to in [Stage::Handling, Stage::Feedback, Stage::Closed] {
            if incident.stage >= to as i32 {
                continue;
            }
            let advance = proto::AdvanceIncidentRequest {
                incident_id: incident.id.clone(),
                to: to as i32,
                note: "closed after the restart".to_string(),
                request_id: String::new(),
            };
            let reply = client.advance_incident(advance).await.expect("advances");
            record(log, &reply.into_inner(), incident.category == "auto");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_calls_survive_sigkill_and_none_is_half_applied() {
    let dir = scratch("sigkill");
    let journal = dir.join("journal.sqlite");
    let journal_arg = journal.to_string_lossy().to_string();
    let log: Log = Arc::default();
    let mut rng = ChaCha8Rng::seed_from_u64(110);
    let mut unacknowledged = 0;
    for round in 0..=ROUNDS {
        let server =
            ServerProcess::ready(&["--journal", &journal_arg, "--stale-after", STALE_AFTER_S]);
        let mut checker = DispatchClient::connect(server.url())
            .await
            .expect("connects");
        unacknowledged += verify(&mut checker, &log, round).await;
        close_open(&mut checker, &log).await;
        if round == ROUNDS {
            break;
        }
        let consoles: Vec<_> = (0..CONSOLES)
            .map(|c| {
                let seed = (round * CONSOLES + c) as u64;
                tokio::spawn(console(server.url(), seed, log.clone()))
            })
            .collect();
        let run_for = Duration::from_millis(rng.random_range(400..1500));
        tokio::time::sleep(run_for).await;
        server.kill();
        let mut acknowledged = 0;
        for console in consoles {
            acknowledged += console.await.expect("the console task ends");
        }
        println!("round {round}: killed after {run_for:?}, {acknowledged} calls acknowledged");
        assert!(
            acknowledged >= 10,
            "round {round}: only {acknowledged} calls were acknowledged in {run_for:?}"
        );
    }
    // Each console has at most one call in flight when the server dies.
    assert!(
        unacknowledged <= CONSOLES * ROUNDS,
        "{unacknowledged} incidents no console was told of"
    );
    let told = log.lock().unwrap_or_else(|e| e.into_inner()).len();
    println!(
        "{told} incidents acknowledged, all there after {ROUNDS} kills; \
         {unacknowledged} more applied whole but not acknowledged"
    );
    assert!(told >= 20, "only {told} incidents were acknowledged");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `kuaifan serve` on `journal` until it is ready or exits; returns
/// whether it became ready, and what it printed.
fn start_on(journal: &Path) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(["serve", "--listen", "127.0.0.1:0", "--journal"])
        .arg(journal)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let pid = output.id();
    // A server that starts keeps running: stop it once it says it is ready.
    let watcher = std::thread::spawn(move || {
        let mut output = output;
        let stdout = output.stdout.take().expect("stdout");
        let mut said = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            said.push_str(&line);
            said.push('\n');
            if line.starts_with("kuaifan: ready") {
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
            }
        }
        let mut stderr = String::new();
        if let Some(mut e) = output.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        let _ = output.wait();
        said.push_str(&stderr);
        said
    });
    let said = watcher.join().expect("the watcher ends");
    (said.contains("kuaifan: ready"), said)
}

fn replayed(said: &str) -> usize {
    said.lines()
        .find_map(|l| l.strip_prefix("kuaifan: ready: "))
        .and_then(|l| l.split("; ").nth(1))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no replay count in {said:?}"))
}

/// A journal left by a killed server (a copy as the kill left it, with
/// its write-ahead log), and how many entries it holds.
fn killed_journal(dir: &Path) -> (PathBuf, PathBuf, usize) {
    let journal = dir.join("journal.sqlite");
    let arg = journal.to_string_lossy().to_string();
    let server = ServerProcess::ready(&["--journal", &arg]);
    let url = server.url();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let log: Log = Arc::default();
        let console = tokio::spawn(console(url, 7, log));
        tokio::time::sleep(Duration::from_millis(800)).await;
        server.kill();
        console.await.expect("the console ends");
    });
    let as_killed = copy_journal(&journal, &dir.join("as-killed"));
    let (ready, said) = start_on(&journal);
    assert!(ready, "{said}");
    (journal, as_killed, replayed(&said))
}

fn copy_journal(from: &Path, to_dir: &Path) -> PathBuf {
    std::fs::create_dir_all(to_dir).expect("a directory");
    let to = to_dir.join("journal.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let source = PathBuf::from(format!("{}{suffix}", from.display()));
        if source.exists() {
            std::fs::copy(&source, format!("{}{suffix}", to.display())).expect("copies");
        }
    }
    to
}

#[test]
fn a_damaged_journal_starts_with_its_intact_prefix_or_refuses_clearly() {
    let dir = scratch("damaged-journal");
    let (journal, as_killed, entries) = killed_journal(&dir);
    assert!(entries >= 20, "only {entries} entries");

    // The write-ahead log torn in its last frame, as a crash in the middle
    // of a write leaves it: the commits before it are kept, and the server
    // says so.
    let torn = copy_journal(&as_killed, &dir.join("torn"));
    let wal = PathBuf::from(format!("{}-wal", torn.display()));
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(
        wal_len > 10_000,
        "the killed server left a write-ahead log of {wal_len} bytes"
    );
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .expect("opens");
    file.set_len(wal_len - 1000).expect("truncates");
    drop(file);
    let (ready, said) = start_on(&torn);
    assert!(ready, "{said}");
    let kept = replayed(&said);
    assert!(
        kept > 0 && kept <= entries,
        "{kept} of {entries} entries kept"
    );
    assert!(said.contains("ends in a partial write"), "{said}");

    // The database file cut short: refused, naming the file.
    let cut = copy_journal(&journal, &dir.join("cut"));
    let len = std::fs::metadata(&cut).expect("exists").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&cut)
        .expect("opens");
    file.set_len(len / 2).expect("truncates");
    drop(file);
    let _ = std::fs::remove_file(format!("{}-wal", cut.display()));
    let (ready, said) = start_on(&cut);
    assert!(!ready, "a journal cut in half started: {said}");
    assert!(
        said.contains("journal") && said.contains(&cut.display().to_string()),
        "the refusal names the journal: {said}"
    );

    // The last entry's body overwritten with garbage: refused, naming it.
    let corrupt = copy_journal(&journal, &dir.join("corrupt"));
    let db = rusqlite::Connection::open(&corrupt).expect("opens");
    let edited = db
        .execute(
            "UPDATE commands SET body = '{\"ReportIncident\": 7' WHERE seq = (SELECT MAX(seq) FROM commands)",
            [],
        )
        .expect("edits");
    assert_eq!(edited, 1);
    drop(db);
    let (ready, said) = start_on(&corrupt);
    assert!(!ready, "a journal with a garbage entry started: {said}");
    assert!(
        said.contains(&format!("entry {entries}")),
        "the refusal names the last entry ({entries}): {said}"
    );

    // Garbage where the file should be: refused.
    let garbage = dir.join("garbage.sqlite");
    std::fs::write(&garbage, vec![0x5a; 8192]).expect("writes");
    let (ready, said) = start_on(&garbage);
    assert!(!ready, "a garbage journal started: {said}");
    assert!(said.contains("not a database"), "{said}");

    // An empty file where a journal was: starts, and says it is new.
    let empty = dir.join("empty.sqlite");
    std::fs::write(&empty, b"").expect("writes");
    let (ready, said) = start_on(&empty);
    assert!(ready, "{said}");
    assert_eq!(replayed(&said), 0);
    assert!(said.contains("is an empty file"), "{said}");

    let _ = std::fs::remove_dir_all(&dir);
}
