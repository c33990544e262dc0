//! The archive: a closed case leaves the live state once it has been
//! closed for the policy's time, into a table of the journal, in the same
//! transaction as the journal entry that says so. A start after archiving
//! (clean or as a crash leaves the file, from a snapshot or replaying
//! everything) neither brings the case back nor loses it; `GetIncident`
//! still answers it; nothing changes it any more. Pruning deletes old
//! sampled position fixes and nothing else.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::jincheng_world as world;
use common::server::ServerProcess;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::proto::{self, Stage as WireStage};
use kuaifan_engine::{
    AssignUnit, Command, CommandError, DispatchEngine, DispatchState, ENGINE_ACTOR, EngineError,
    EngineHandle, IncidentId, Journal, JournalPolicy, Priority, RouteQuery, Stage, Stamped, Tier,
    World, archived_incident, read_journal,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn copy_journal(from: &Path, to: &Path) {
    let _ = std::fs::remove_file(to);
    let db = rusqlite::Connection::open(from).expect("opens");
    db.execute("VACUUM INTO ?1", [to.to_str().expect("a UTF-8 path")])
        .expect("copies");
}

const T0: i64 = 1_700_000_000_000;

/// Closed cases leave the live state a minute after closing; snapshots
/// only when asked for (a clean stop).
fn policy() -> JournalPolicy {
    JournalPolicy {
        snapshot_every_entries: u64::MAX,
        snapshot_every: Duration::MAX,
        archive_after_ms: 60_000,
        ..JournalPolicy::default()
    }
}

fn submit(handle: &EngineHandle, at_ms: i64, command: Command) -> Result<(), EngineError> {
    handle
        .submit(Stamped {
            at_ms,
            actor: "dispatcher".to_string(),
            command,
        })
        .map(drop)
}

/// A case reported at `at_ms` near unit `unit`'s standby point, assigned
/// and taken to CLOSED one second a step; returns its number.
fn closed_case(handle: &EngineHandle, world: &World, unit: usize, at_ms: i64) -> IncidentId {
    let u = &world.scenario().units().as_slice()[unit];
    let applied = handle
        .submit(Stamped {
            at_ms,
            actor: "dispatcher".to_string(),
            command: Command::ReportIncident {
                location: u.standby.location,
                priority: Priority::P2,
                category: "theft".to_string(),
                description: format!("case near {}", u.id.as_str()),
                caller_ref: String::new(),
            },
        })
        .expect("reported");
    let id = applied.incident.expect("a number");
    let steps = [
        Command::Advance {
            incident: id,
            stage: Stage::Registered,
            note: String::new(),
        },
        Command::Assign {
            incident: id,
            units: vec![AssignUnit {
                unit: u.id.as_str().to_string(),
                tier: Tier::Handle,
                goal: None,
            }],
            note: String::new(),
            register: false,
        },
        Command::Advance {
            incident: id,
            stage: Stage::Handling,
            note: String::new(),
        },
        Command::Advance {
            incident: id,
            stage: Stage::Feedback,
            note: String::new(),
        },
        Command::Advance {
            incident: id,
            stage: Stage::Closed,
            note: "done".to_string(),
        },
    ];
    for (i, step) in steps.into_iter().enumerate() {
        submit(handle, at_ms + 1000 * (i as i64 + 1), step).expect("applied");
    }
    id
}

/// A position fix of unit `unit` at its standby point: what moves the
/// journal's clock in a quiet hour.
fn tick(handle: &EngineHandle, world: &World, unit: usize, at_ms: i64) {
    let u = &world.scenario().units().as_slice()[unit];
    submit(
        handle,
        at_ms,
        Command::ReportPosition {
            unit: u.id.as_str().to_string(),
            location: u.standby.location,
            heading: None,
        },
    )
    .expect("applied");
}

/// Moves the first free unit that can be moved up, from unit 6 on, to the
/// first posts-file post it may take, at `at_ms`; returns its slot and the
/// post's index.
fn move_up(handle: &EngineHandle, at_ms: i64) -> (usize, usize) {
    let state = handle.snapshot();
    let world = state.world().clone();
    let mut query = RouteQuery::new(world.scenario().router());
    let posts = world.scenario().posts();
    let units = state.units().len();
    let (slot, post, command) = (6..units)
        .flat_map(|slot| (units..posts.len()).map(move |post| (slot, post)))
        .find_map(|(slot, post)| {
            state
                .move_up_command(
                    &mut query,
                    state.unit_id(slot),
                    posts[post].id.as_str(),
                    "cover the gap",
                    at_ms,
                )
                .ok()
                .map(|command| (slot, post, command))
        })
        .expect("a unit that can move up to a post of the posts file");
    submit(handle, at_ms, command).expect("the move is accepted");
    (slot, post)
}

/// Whether unit `slot` stands by at `post`, moved at `moved_ms`.
fn assert_moved(state: &DispatchState, slot: usize, post: usize, moved_ms: i64) {
    let unit = &state.units()[slot];
    assert_eq!(unit.post, Some(post), "the unit's post");
    assert_eq!(unit.moved_ms, Some(moved_ms), "when it was moved");
    assert_eq!(state.post_of(slot), post);
}

#[test]
fn an_archived_case_stays_archived_and_readable_across_restarts() {
    let world = world();
    let dir = scratch("archive-restart");
    let path = dir.join("journal.sqlite");
    let engine = DispatchEngine::start_with(
        world.clone(),
        Some(Journal::open(&path).expect("opens")),
        policy(),
        Box::new(|_, _| {}),
    )
    .expect("starts");
    let handle = engine.handle();
    let first = closed_case(&handle, &world, 0, T0);
    let closed_at = T0 + 5000;
    let before = handle.snapshot().incident(first).expect("live").clone();
    // A free unit moved up to another post: its post and hold are live
    // state that archiving must leave as it is, in every start below.
    let (moved, post) = move_up(&handle, T0 + 6_000);
    // A second case closed later, and one left open.
    let second = closed_case(&handle, &world, 1, T0 + 50_000);
    let open = handle
        .submit(Stamped {
            at_ms: T0 + 51_000,
            actor: "dispatcher".to_string(),
            command: Command::ReportIncident {
                location: world.scenario().units().as_slice()[2].standby.location,
                priority: Priority::P3,
                category: "noise".to_string(),
                description: String::new(),
                caller_ref: String::new(),
            },
        })
        .expect("reported")
        .incident
        .expect("a number");

    // Not yet a minute after closing: still live. (Each tick is another
    // unit's first fix, so that every one is journaled.)
    tick(&handle, &world, 3, closed_at + 59_999);
    assert!(handle.snapshot().incident(first).is_some());
    // A minute after: archived, the later case not yet.
    tick(&handle, &world, 4, closed_at + 60_000);
    let state = handle.snapshot();
    assert!(state.incident(first).is_none(), "the first case left");
    assert!(state.is_archived(first));
    assert!(state.incident(second).is_some(), "the second is still live");
    assert!(!state.is_archived(second));
    assert!(state.incident(open).is_some_and(|i| i.is_open()));
    assert_moved(&state, moved, post, T0 + 6_000);

    let reader = Journal::open(&path)
        .expect("opens beside the writer")
        .archive_reader()
        .expect("an archive reader");
    let case = reader.case(first.0).expect("reads").expect("archived");
    assert_eq!(case.reported_ms, T0);
    assert_eq!(case.closed_ms, closed_at);
    assert_eq!(case.priority, "P2");
    assert_eq!(
        case.units,
        world.scenario().units().as_slice()[0].id.as_str()
    );
    assert_eq!(
        archived_incident(&path, &case).expect("decodes"),
        before,
        "the archive holds the whole case"
    );
    assert!(reader.case(second.0).expect("reads").is_none());

    // Nothing changes an archived case, and nobody but the engine archives.
    let refused = submit(
        &handle,
        closed_at + 61_000,
        Command::Arrived {
            incident: first,
            unit: world.scenario().units().as_slice()[0]
                .id
                .as_str()
                .to_string(),
        },
    )
    .expect_err("an archived case cannot change");
    assert!(
        matches!(refused, EngineError::Command(CommandError::Archived(id)) if id == first),
        "{refused}"
    );
    let refused = submit(
        &handle,
        closed_at + 61_000,
        Command::Archive { incident: second },
    )
    .expect_err("archiving is the engine's");
    assert!(
        matches!(
            refused,
            EngineError::Command(CommandError::EngineOnly("archive"))
        ),
        "{refused}"
    );
    assert!(handle.snapshot().incident(second).is_some());

    // The journal says who archived it, and when.
    let journal = Journal::open(&path).expect("opens");
    let entries = read_journal(&journal).expect("reads");
    let archives: Vec<&Stamped> = entries
        .iter()
        .filter(|e| matches!(e.command, Command::Archive { .. }))
        .collect();
    assert_eq!(archives.len(), 1, "one case archived");
    assert_eq!(archives[0].actor, ENGINE_ACTOR);
    assert_eq!(archives[0].at_ms, closed_at + 60_000);
    drop(journal);

    // A crash now: no snapshot in the file, so every entry is replayed.
    let live = handle.snapshot();
    let crashed = dir.join("crashed.sqlite");
    copy_journal(&path, &crashed);
    let restarted = DispatchEngine::start_with(
        world.clone(),
        Some(Journal::open(&crashed).expect("opens")),
        policy(),
        Box::new(|_, _| {}),
    )
    .expect("restarts");
    assert_eq!(restarted.snapshot_seq(), None);
    assert!(
        *restarted.handle().snapshot() == *live,
        "replaying the journal gives the live state, the archived case out of it"
    );
    assert_moved(&restarted.handle().snapshot(), moved, post, T0 + 6_000);
    drop(restarted);

    // The second case comes due after the restart, then a clean stop (a
    // snapshot) and a start from it.
    let second_closed = T0 + 55_000;
    tick(&handle, &world, 5, second_closed + 60_000);
    assert!(handle.snapshot().is_archived(second));
    let live = handle.snapshot();
    engine.shutdown();
    let restarted = DispatchEngine::start_with(
        world.clone(),
        Some(Journal::open(&path).expect("reopens")),
        policy(),
        Box::new(|_, _| {}),
    )
    .expect("restarts");
    assert!(
        restarted.snapshot_seq().is_some(),
        "from the stop's snapshot"
    );
    assert_eq!(restarted.replayed(), 0);
    let state = restarted.handle().snapshot();
    assert!(*state == *live, "the snapshot start is the live state");
    assert!(state.is_archived(first) && state.is_archived(second));
    assert!(
        state.incident(open).is_some(),
        "the open case is still live"
    );
    assert_moved(&state, moved, post, T0 + 6_000);
    let reader = Journal::open(&path)
        .expect("opens")
        .archive_reader()
        .expect("reader");
    assert_eq!(reader.len().expect("counts"), 2, "both cases, once each");
    drop(restarted);

    // The same journal replayed from its start, the snapshot unreadable:
    // the same state again.
    let db = rusqlite::Connection::open(&path).expect("opens");
    db.execute("UPDATE snapshots SET body = CAST('garbage' AS BLOB)", [])
        .expect("damages the snapshot");
    drop(db);
    let mut expected = DispatchState::new(
        world.clone(),
        &mut RouteQuery::new(world.scenario().router()),
    );
    let mut query = RouteQuery::new(world.scenario().router());
    for stamped in read_journal(&Journal::open(&path).expect("opens")).expect("reads") {
        expected.apply(&mut query, &stamped).expect("applies");
    }
    let restarted =
        DispatchEngine::start(world.clone(), Some(Journal::open(&path).expect("opens")))
            .expect("restarts");
    assert_eq!(restarted.snapshot_seq(), None);
    let replayed = restarted.handle().snapshot();
    assert!(*replayed == expected);
    assert!(replayed.is_archived(first) && replayed.is_archived(second));
    assert_moved(&replayed, moved, post, T0 + 6_000);
    assert_eq!(
        replayed.incidents().map(|i| i.id).collect::<Vec<_>>(),
        vec![open]
    );
    drop(restarted);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pruning_deletes_old_fixes_only_and_a_start_after_it_is_exact() {
    let world = world();
    let dir = scratch("archive-prune");
    let path = dir.join("journal.sqlite");
    let hour = 3_600_000;
    let policy = JournalPolicy {
        snapshot_every_entries: 200,
        snapshot_every: Duration::MAX,
        fix_interval_ms: 30_000,
        archive_after_ms: hour,
        keep_fixes_ms: 6 * hour,
    };
    let engine = DispatchEngine::start_with(
        world.clone(),
        Some(Journal::open(&path).expect("opens")),
        policy,
        Box::new(|_, _| {}),
    )
    .expect("starts");
    let handle = engine.handle();
    // Twelve hours: four units report every minute (each fix journaled),
    // a case every hour, each with a unit of its own.
    let mut cases = Vec::new();
    for minute in 0..12 * 60 {
        let at = T0 + minute * 60_000;
        if minute % 60 == 0 {
            cases.push(closed_case(&handle, &world, 4 + (minute / 60) as usize, at));
        }
        for unit in 0..4 {
            tick(&handle, &world, unit, at + 10_000 + unit as i64);
        }
    }
    let live = handle.snapshot();
    let now = T0 + 12 * hour;
    let journal = Journal::open(&path).expect("opens");
    let entries = read_journal(&journal).expect("reads");
    let oldest_fix = entries
        .iter()
        .filter(|e| matches!(e.command, Command::ReportPosition { .. }))
        .map(|e| e.at_ms)
        .min()
        .expect("fixes are kept");
    assert!(
        oldest_fix >= now - 6 * hour - 2 * hour,
        "fixes older than the retention (and a round's lag) are gone: the oldest is {} h old",
        (now - oldest_fix) / hour
    );
    assert!(journal.pruned_through().expect("reads") > 0);
    // Every other entry is kept: all twelve cases, each reported, taken
    // through its stages and archived.
    let reports = entries
        .iter()
        .filter(|e| matches!(e.command, Command::ReportIncident { .. }))
        .count();
    let advances = entries
        .iter()
        .filter(|e| matches!(e.command, Command::Advance { .. }))
        .count();
    let archived = entries
        .iter()
        .filter(|e| matches!(e.command, Command::Archive { .. }))
        .count();
    assert_eq!((reports, advances), (12, 12 * 4));
    assert!(archived >= 10, "{archived} of 12 cases archived");
    assert!(cases.iter().take(10).all(|&id| live.is_archived(id)));
    drop(journal);

    // A crash, then a start from the latest snapshot and the entries
    // after it: the live state (positions not journaled since aside).
    let crashed = dir.join("crashed.sqlite");
    copy_journal(&path, &crashed);
    let restarted =
        DispatchEngine::start(world.clone(), Some(Journal::open(&crashed).expect("opens")))
            .expect("restarts");
    let state = restarted.handle().snapshot();
    assert!(state.incidents().eq(live.incidents()));
    assert!(cases.iter().take(10).all(|&id| state.is_archived(id)));
    for (a, b) in state.units().iter().zip(live.units()) {
        assert_eq!((a.status, a.incident), (b.status, b.incident));
    }
    drop(restarted);
    engine.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// `GetIncident` answers a case from the archive, from a real server,
/// before and after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_incident_answers_an_archived_case() {
    let dir = scratch("archive-grpc");
    let journal = dir.join("journal.sqlite");
    let journal_arg = journal.to_string_lossy().to_string();
    let args = ["--journal", &journal_arg, "--archive-after-minutes", "0"];
    let server = ServerProcess::ready(&args);
    let mut client = DispatchClient::connect(server.url())
        .await
        .expect("connects");
    let reply = client
        .report_incident(proto::ReportIncidentRequest {
            location: Some(proto::LatLng {
                lat: 35.4975,
                lng: 112.8510,
            }),
            priority: proto::Priority::P2 as i32,
            category: "theft".to_string(),
            auto_assign: true,
            ..Default::default()
        })
        .await
        .expect("reported")
        .into_inner();
    let id = reply.incident.expect("an incident").id;
    let mut last = None;
    for to in [WireStage::Handling, WireStage::Feedback, WireStage::Closed] {
        let incident = client
            .advance_incident(proto::AdvanceIncidentRequest {
                incident_id: id.clone(),
                to: to as i32,
                ..Default::default()
            })
            .await
            .expect("advanced")
            .into_inner();
        last = Some(incident);
    }
    let closed = last.expect("closed");
    assert_eq!(closed.stage, WireStage::Closed as i32);
    // Archived at once (zero minutes): the live lists no longer hold it.
    let open = client
        .list_incidents(proto::ListIncidentsRequest {
            open_only: true,
            ..Default::default()
        })
        .await
        .expect("lists")
        .into_inner();
    assert!(open.incidents.iter().all(|i| i.id != id));
    let fetched = client
        .get_incident(proto::GetIncidentRequest { id: id.clone() })
        .await
        .expect("an archived case is still answered")
        .into_inner();
    assert_eq!(fetched, closed, "the archive answers the case as it was");
    let refused = client
        .advance_incident(proto::AdvanceIncidentRequest {
            incident_id: id.clone(),
            to: WireStage::Closed as i32,
            ..Default::default()
        })
        .await
        .expect_err("an archived case cannot change");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused.message().contains("archived"),
        "{}",
        refused.message()
    );
    let missing = client
        .get_incident(proto::GetIncidentRequest {
            id: "999".to_string(),
        })
        .await
        .expect_err("never reported");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let (status, _) = server.terminate();
    assert!(status.success());

    let server = ServerProcess::ready(&args);
    let mut client = DispatchClient::connect(server.url())
        .await
        .expect("connects");
    let fetched = client
        .get_incident(proto::GetIncidentRequest { id: id.clone() })
        .await
        .expect("answered after a restart")
        .into_inner();
    assert_eq!(fetched, closed);
    let (status, _) = server.terminate();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
