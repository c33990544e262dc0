//! Snapshots: a start loads the latest snapshot and replays only the
//! entries after it, and gets exactly the state the writer had then with
//! those entries applied; position fixes are journaled sampled; a
//! snapshot that cannot be read is passed over for the one before it; a
//! clean stop leaves a snapshot of everything.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kuaifan_engine::{
    AssignUnit, Command, DispatchEngine, DispatchState, EngineError, IncidentId, Journal,
    JournalPolicy, LatLon, Priority, RouteQuery, Stage, Stamped, Tier, UnitStatus, World,
    read_journal, read_journal_after,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use common::jincheng_world as world;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn at(lat: f64, lon: f64) -> LatLon {
    LatLon::new(lat, lon).expect("valid")
}

mod common;

/// Sensible and nonsensical commands; a position fix most often, as in a
/// city day. Now and then the stale sweep's `MarkStale` of the units
/// overdue at `now_ms` (or of a fresh unit, which is refused), a second
/// `OpenShift` (refused: the shift is open), and containments started,
/// sighted, staffed, intercepted and lifted.
fn random_command(
    rng: &mut ChaCha8Rng,
    step: i64,
    state: &DispatchState,
    now_ms: i64,
    query: &mut RouteQuery,
) -> Command {
    let units: Vec<String> = (0..state.units().len())
        .map(|s| state.unit_id(s).to_string())
        .collect();
    let incidents = state.incidents().count() as u64;
    let incident = IncidentId(rng.random_range(1..=incidents.max(1) + 1));
    let unit = units[rng.random_range(0..units.len())].clone();
    match rng.random_range(0..20) {
        // Containments are the rarest: a start sends most free units to
        // crossings, and a stream full of them would leave none to move up.
        19 => common::containment::command(rng, state, query, now_ms),
        14 => {
            let overdue = state.overdue_units(now_ms);
            let units = if overdue.is_empty() {
                vec![unit]
            } else {
                overdue.iter().map(|&s| units[s].clone()).collect()
            };
            Command::MarkStale { units }
        }
        15 if rng.random_range(0..10) == 0 => Command::OpenShift,
        0 | 1 => Command::ReportIncident {
            location: at(
                rng.random_range(35.44..35.54),
                rng.random_range(112.77..112.93),
            ),
            priority: [Priority::P1, Priority::P2, Priority::P3][rng.random_range(0..3)],
            category: "drill".to_string(),
            description: format!("step {step}"),
            caller_ref: String::new(),
        },
        2 | 3 => Command::Advance {
            incident,
            stage: Stage::ALL[rng.random_range(0..6)],
            note: String::new(),
        },
        4 => Command::Assign {
            incident,
            units: vec![AssignUnit {
                unit,
                tier: Tier::Handle,
                goal: None,
            }],
            note: String::new(),
            register: false,
        },
        5 => Command::Arrived { incident, unit },
        6 => Command::SetUnitStatus {
            unit,
            status: [UnitStatus::Available, UnitStatus::OutOfService][rng.random_range(0..2)],
            note: String::new(),
        },
        // Moves up, some refused (a busy unit, a post taken, a drive over
        // its limit, a unit held), and releases.
        16 | 17 => {
            let posts = state.world().scenario().posts();
            Command::AcceptMoveUp {
                unit,
                post: posts[rng.random_range(0..posts.len())].id.to_string(),
                drive_ms: rng.random_range(0..600_000),
                drive_limit_s: 480,
                hold_s: rng.random_range(0..30),
                note: String::new(),
            }
        }
        18 => Command::ReleaseMoveUp {
            unit,
            note: String::new(),
        },
        _ => Command::ReportPosition {
            unit,
            location: at(
                rng.random_range(35.44..35.54),
                rng.random_range(112.77..112.93),
            ),
            heading: Some(rng.random_range(0.0..360.0)),
        },
    }
}

/// A consistent copy of a journal in use: what its committed
/// transactions hold, as a power cut would leave it.
fn copy_journal(from: &Path, to: &Path) {
    let _ = std::fs::remove_file(to);
    let db = rusqlite::Connection::open(from).expect("opens");
    db.execute("VACUUM INTO ?1", [to.to_str().expect("a UTF-8 path")])
        .expect("copies");
}

/// What a start on `journal` must give: the live state the snapshot it
/// starts from was taken of, with every entry after it applied.
fn reference(
    world: &Arc<World>,
    journal: &Journal,
    history: &[Arc<DispatchState>],
    seq: i64,
) -> DispatchState {
    let taken = history
        .iter()
        .find(|s| s.journal_seq() == seq)
        .unwrap_or_else(|| panic!("no live state at journal entry {seq}"));
    let mut state = DispatchState::clone(taken);
    let mut query = RouteQuery::new(world.scenario().router());
    for (i, stamped) in read_journal_after(journal, seq)
        .expect("reads")
        .iter()
        .enumerate()
    {
        state
            .apply(&mut query, stamped)
            .unwrap_or_else(|e| panic!("entry {} after the snapshot applies: {e}", i + 1));
    }
    state
}

/// Runs `steps` random commands, one at a time, keeping every published
/// state; calls `at_step` after each.
fn run(
    engine: &DispatchEngine,
    seed: u64,
    steps: i64,
    mut at_step: impl FnMut(i64, &[Arc<DispatchState>]),
) -> (Vec<Arc<DispatchState>>, usize) {
    let handle = engine.handle();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut history = vec![handle.snapshot()];
    let mut fixes = 0;
    let mut now_ms = 1_700_000_000_000;
    let world = handle.snapshot().world().clone();
    let mut query = RouteQuery::new(world.scenario().router());
    for step in 0..steps {
        // Half the commands are fixes, 100 ms apart: each unit reports
        // about every 8 s, more often than fixes are journaled. Now and
        // then the city falls quiet for longer than the stale limit, so
        // units go stale and come back.
        now_ms += if rng.random_range(0..150) == 0 {
            150_000
        } else {
            100
        };
        let command = random_command(&mut rng, step, &handle.snapshot(), now_ms, &mut query);
        fixes += usize::from(matches!(command, Command::ReportPosition { .. }));
        let _ = handle.submit(Stamped {
            at_ms: now_ms,
            actor: "drill".to_string(),
            command,
        });
        history.push(handle.snapshot());
        at_step(step, &history);
    }
    (history, fixes)
}

fn policy() -> JournalPolicy {
    JournalPolicy {
        snapshot_every_entries: 25,
        snapshot_every: Duration::from_secs(3600),
        fix_interval_ms: 30_000,
        // Steps are 100 ms apart: closed cases leave the live state
        // within the run, so restarts check the archive too.
        archive_after_ms: 20_000,
        ..JournalPolicy::default()
    }
}

#[test]
fn a_start_from_a_snapshot_and_the_entries_after_it_is_exact() {
    let world = world();
    let dir = scratch("snapshot-restart");
    let path = dir.join("journal.sqlite");
    let engine = DispatchEngine::start_with(
        world.clone(),
        Some(Journal::open(&path).expect("opens")),
        policy(),
        Box::new(|_, _| {}),
    )
    .expect("starts");
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut restarts = 0;
    let (history, fixes) = run(&engine, 4040, 900, |step, history| {
        // A restart at random moments, on a copy of the journal as the disk
        // holds it then (what a power cut would leave).
        if rng.random_range(0..60) != 0 {
            return;
        }
        let copy = dir.join(format!("copy-{step}.sqlite"));
        copy_journal(&path, &copy);
        let journal = Journal::open(&copy).expect("the copy opens");
        let Some(latest) = journal
            .snapshots()
            .expect("reads")
            .first()
            .map(|s| s.through_seq)
        else {
            return;
        };
        let expected = reference(&world, &journal, history, latest);
        let tail = read_journal_after(&journal, latest).expect("reads").len();
        let restarted = DispatchEngine::start(world.clone(), Some(journal)).expect("restarts");
        assert_eq!(restarted.snapshot_seq(), Some(latest));
        assert_eq!(restarted.replayed(), tail);
        let restored = restarted.handle().snapshot();
        assert!(
            *restored == expected,
            "step {step}: the state from the snapshot through {latest} and {tail} entries differs"
        );
        // What a restart may lose is only positions not journaled since:
        // every incident, status and assignment is the live one.
        let live = history.last().expect("a state");
        assert!(
            restored.incidents().eq(live.incidents()),
            "step {step}: incidents differ"
        );
        // Staleness and the shift's start survive too: a fix that ends a
        // unit's staleness is always journaled.
        for (a, b) in restored.units().iter().zip(live.units()) {
            assert_eq!(
                (a.status, a.incident, a.stale, a.post, a.moved_ms, a.hold_s),
                (b.status, b.incident, b.stale, b.post, b.moved_ms, b.hold_s),
                "step {step}"
            );
        }
        assert_eq!(
            restored.shift_start_ms(),
            live.shift_start_ms(),
            "step {step}: the shift's start"
        );
        restarts += 1;
        drop(restarted);
        let _ = std::fs::remove_file(&copy);
    });
    assert!(restarts >= 5, "only {restarts} restarts were checked");
    let marked = history
        .windows(2)
        .filter(|w| {
            w[0].units()
                .iter()
                .zip(w[1].units())
                .any(|(a, b)| !a.stale && b.stale)
        })
        .count();
    assert!(marked >= 2, "units were marked stale only {marked} times");
    let revived = history
        .windows(2)
        .filter(|w| {
            w[0].units()
                .iter()
                .zip(w[1].units())
                .any(|(a, b)| a.stale && !b.stale)
        })
        .count();
    assert!(revived >= 2, "a stale unit came back only {revived} times");
    let moved = history.last().map_or(0, |s| {
        s.units().iter().filter(|u| u.moved_ms.is_some()).count()
    });
    assert!(moved >= 3, "only {moved} units were ever moved up");
    // The stream ran containments through their operations, so the
    // restarts compared them too.
    let end = history.last().expect("a state");
    let containments: Vec<_> = end.containments().collect();
    assert!(
        containments.len() >= 3,
        "{} containments",
        containments.len()
    );
    assert!(containments.iter().any(|c| !c.sightings.is_empty()));
    assert!(
        containments
            .iter()
            .flat_map(|c| &c.held)
            .any(|h| h.staffed_ms.is_some())
    );
    assert!(containments.iter().any(|c| !c.is_running()));
    assert!(containments.iter().any(|c| c.interception.is_some()));

    // A clean stop writes a snapshot of everything: the next start replays
    // nothing and is the live state exactly, the latest positions included.
    let live = history.last().expect("a state").clone();
    engine.shutdown();
    let journal = Journal::open(&path).expect("reopens");
    let entries = read_journal(&journal).expect("reads");
    let journaled_fixes = entries
        .iter()
        .filter(|e| matches!(e.command, Command::ReportPosition { .. }))
        .count();
    assert!(
        journaled_fixes * 2 < fixes,
        "{journaled_fixes} of {fixes} fixes were journaled; one per unit per 30 s is fewer"
    );
    let restarted = DispatchEngine::start(world.clone(), Some(journal)).expect("restarts");
    assert_eq!(restarted.replayed(), 0);
    assert!(
        *restarted.handle().snapshot() == *live,
        "a clean restart is exact"
    );
    drop(restarted);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreadable_snapshot_is_passed_over_for_the_one_before_it() {
    let world = world();
    let dir = scratch("snapshot-fallback");
    let path = dir.join("journal.sqlite");
    let engine = DispatchEngine::start_with(
        world.clone(),
        Some(Journal::open(&path).expect("opens")),
        policy(),
        Box::new(|_, _| {}),
    )
    .expect("starts");
    let (history, _) = run(&engine, 5050, 300, |_, _| {});
    // Stopped without a final snapshot: as a crash leaves it.
    let copy = dir.join("copy.sqlite");
    copy_journal(&path, &copy);
    engine.shutdown();

    let db = rusqlite::Connection::open(&copy).expect("opens");
    let kept: Vec<i64> = db
        .prepare("SELECT through_seq FROM snapshots ORDER BY through_seq DESC")
        .and_then(|mut s| s.query_map([], |r| r.get(0)).and_then(|r| r.collect()))
        .expect("reads");
    assert_eq!(
        kept.len(),
        2,
        "the latest snapshot and the one before it: {kept:?}"
    );
    db.execute(
        "UPDATE snapshots SET body = CAST('{\"format\": 1, \"units\": [' AS BLOB) WHERE through_seq = ?1",
        [kept[0]],
    )
    .expect("damages the latest");
    drop(db);
    let journal = Journal::open(&copy).expect("opens");
    let expected = reference(&world, &journal, &history, kept[1]);
    let restarted = DispatchEngine::start(world.clone(), Some(journal)).expect("starts");
    assert_eq!(
        restarted.snapshot_seq(),
        Some(kept[1]),
        "the one before is used"
    );
    assert!(*restarted.handle().snapshot() == expected);
    drop(restarted);

    // Neither readable, the journal whole: everything is replayed.
    let db = rusqlite::Connection::open(&copy).expect("opens");
    db.execute("UPDATE snapshots SET body = CAST('garbage' AS BLOB)", [])
        .expect("damages both");
    drop(db);
    let journal = Journal::open(&copy).expect("opens");
    let mut expected = DispatchState::new(
        world.clone(),
        &mut RouteQuery::new(world.scenario().router()),
    );
    let mut query = RouteQuery::new(world.scenario().router());
    for stamped in read_journal(&journal).expect("reads") {
        expected.apply(&mut query, &stamped).expect("applies");
    }
    let restarted = DispatchEngine::start(world.clone(), Some(journal)).expect("starts");
    assert_eq!(restarted.snapshot_seq(), None);
    assert!(*restarted.handle().snapshot() == expected);
    drop(restarted);

    // Neither readable and the start of the journal pruned: refused, with
    // the reason.
    let db = rusqlite::Connection::open(&copy).expect("opens");
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('pruned_through', '10')",
        [],
    )
    .expect("marks a prune");
    drop(db);
    let refused = DispatchEngine::start(world.clone(), Some(Journal::open(&copy).expect("opens")))
        .expect_err("no state can be rebuilt");
    assert!(matches!(refused, EngineError::Snapshot { .. }), "{refused}");
    let message = refused.to_string();
    assert!(
        message.contains("no snapshot can be read") && message.contains("pruned"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_burst_of_fixes_of_one_unit_is_journaled_once_per_interval() {
    let world = world();
    let dir = scratch("snapshot-burst");
    let path = dir.join("journal.sqlite");
    let engine = DispatchEngine::start_with(
        world.clone(),
        Some(Journal::open(&path).expect("opens")),
        policy(),
        Box::new(|_, _| {}),
    )
    .expect("starts");
    let handle = engine.handle();
    let unit = &world.scenario().units().as_slice()[0];
    let fix = |i: i64| Stamped {
        at_ms: 1_700_000_000_000 + i * 100,
        actor: unit.id.as_str().to_string(),
        command: Command::ReportPosition {
            unit: unit.id.as_str().to_string(),
            location: unit.standby.location,
            heading: None,
        },
    };
    // 2,000 fixes 100 ms apart (200 s), queued without waiting, so that
    // the writer takes many of them in one batch.
    for i in 0..2000 {
        if handle.submit_then(fix(i), |_| {}).is_err() {
            handle.submit(fix(i)).expect("applied");
        }
    }
    handle.submit(fix(2000)).expect("applied");
    engine.shutdown();
    let journaled = read_journal(&Journal::open(&path).expect("reopens"))
        .expect("reads")
        .iter()
        .filter(|e| matches!(e.command, Command::ReportPosition { .. }))
        .count();
    // One at the start, then one every 30 s of the 200: seven.
    assert_eq!(journaled, 7, "{journaled} of 2,001 fixes were journaled");
    let _ = std::fs::remove_dir_all(&dir);
}
