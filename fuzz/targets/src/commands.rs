//! `commands`: an arbitrary sequence of engine commands, sensible and not,
//! applied to the dispatch state of the fixture scenario. After every
//! step:
//! - a refused command changed nothing;
//! - no unit is on two open incidents, and a unit's incident names it;
//! - no incident's stage moved backwards;
//! - the live coverage map equals one recomputed from scratch.
//!
//! At the end, the accepted commands go through a real journal file and
//! their replay into a fresh state equals the live one.

use std::collections::HashMap;
use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use kuaifan_engine::{
    AssignUnit, Command, CoverageMap, DispatchState, IncidentId, Journal, LatLon, Priority,
    RouteQuery, Stage, Stamped, Tier, UnitStatus, World, append_to_journal, read_journal,
};

use crate::fixture;

/// Steps of one input, at most: longer inputs find nothing new and slow
/// the fuzzer down.
const MAX_STEPS: usize = 256;

/// One step of an input. Indices wrap around what exists, with room for
/// ids that do not.
#[derive(Arbitrary, Debug)]
pub enum Step {
    /// A call; `place` picks a point near the map or anywhere on Earth.
    Report { place: Place, priority: u8 },
    /// A stage change, valid or not.
    Advance { incident: u8, stage: u8 },
    /// An assignment of up to a few units.
    Assign {
        incident: u8,
        units: Vec<(u8, u8, Option<Place>)>,
    },
    /// A unit's arrival.
    Arrived { incident: u8, unit: u8 },
    /// A unit's status set by hand.
    SetStatus { unit: u8, status: u8 },
    /// A position report, with any heading (NaN and infinities too).
    Position {
        unit: u8,
        place: Place,
        heading: Option<f64>,
    },
    /// Time passes.
    Wait { seconds: u16 },
    /// A move-up, accepted or not: the post index wraps past the posts,
    /// the drive may be over the limit.
    MoveUp {
        unit: u8,
        post: u8,
        drive_s: u16,
        hold_s: u16,
    },
    /// A release from a move-up.
    Release { unit: u8 },
}

/// A point: most on the fixture's streets, some far away.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Place {
    /// Within about a kilometre of the fixture's streets.
    Near(u16, u16),
    /// Anywhere.
    Anywhere(u16, u16),
}

impl Place {
    fn at(self) -> LatLon {
        let (lat, lon) = match self {
            Place::Near(a, b) => (
                35.495 + f64::from(a) / f64::from(u16::MAX) * 0.015,
                112.843 + f64::from(b) / f64::from(u16::MAX) * 0.015,
            ),
            Place::Anywhere(a, b) => (
                -90.0 + f64::from(a) / f64::from(u16::MAX) * 180.0,
                -180.0 + f64::from(b) / f64::from(u16::MAX) * 360.0,
            ),
        };
        LatLon::new(lat, lon).unwrap_or_else(|e| panic!("a place in range: {e}"))
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    apply_all(data);
}

/// Runs one input; gives how many commands were accepted and refused.
pub fn apply_all(data: &[u8]) -> (usize, usize) {
    let mut bytes = Unstructured::new(data);
    let mut steps = Vec::new();
    while !bytes.is_empty() && steps.len() < MAX_STEPS {
        match bytes.arbitrary::<Step>() {
            Ok(step) => steps.push(step),
            Err(_) => break,
        }
    }
    let mut refused = 0;
    let world = fixture::world();
    let mut query = RouteQuery::new(world.scenario().router());
    let mut state = DispatchState::new(Arc::clone(world), &mut query);
    let mut stages: HashMap<IncidentId, Stage> = HashMap::new();
    let mut accepted = Vec::new();
    // The empty map every check recomputes from: building it (tiling the
    // zones) is most of a step's time, and it holds no unit yet.
    let blank = state.coverage().map(|map| {
        CoverageMap::new(world.scenario(), map.config())
            .unwrap_or_else(|e| panic!("the fixture has coverage: {e}"))
    });
    let mut now_ms = 1_700_000_000_000_i64;
    for (index, step) in steps.iter().enumerate() {
        let Some(command) = command(&state, step, &mut now_ms) else {
            continue;
        };
        let stamped = Stamped {
            at_ms: now_ms,
            actor: "fuzz".to_string(),
            command,
        };
        let before = state.clone();
        match state.apply(&mut query, &stamped) {
            Ok(_) => accepted.push(stamped),
            Err(e) => {
                refused += 1;
                assert!(
                    state == before,
                    "step {index}: {:?} was refused ({e}) but changed the state",
                    stamped.command
                );
                assert!(!e.to_string().is_empty());
            }
        }
        check_units(&state, index);
        check_stages(&state, &mut stages, index);
        check_coverage(world, &state, blank.as_ref(), &mut query, index);
    }
    check_replay(world, &state, &accepted);
    (accepted.len(), refused)
}

fn command(state: &DispatchState, step: &Step, now_ms: &mut i64) -> Option<Command> {
    let unit = |i: u8| {
        let units = state.units().len();
        // One index past the units names one that does not exist.
        match usize::from(i) % (units + 1) {
            slot if slot < units => state.unit_id(slot).to_string(),
            _ => "U99".to_string(),
        }
    };
    // Incident 0 never exists; one past the last does not yet.
    let incident = |i: u8| IncidentId(u64::from(i) % (state.incidents().count() as u64 + 2));
    Some(match step {
        Step::Report { place, priority } => Command::ReportIncident {
            location: place.at(),
            priority: [Priority::P1, Priority::P2, Priority::P3][usize::from(*priority) % 3],
            category: "fuzz".to_string(),
            description: String::new(),
            caller_ref: String::new(),
        },
        Step::Advance { incident: i, stage } => Command::Advance {
            incident: incident(*i),
            stage: Stage::ALL[usize::from(*stage) % Stage::ALL.len()],
            note: String::new(),
        },
        Step::Assign { incident: i, units } => Command::Assign {
            incident: incident(*i),
            units: units
                .iter()
                .take(8)
                .map(|&(u, tier, goal)| AssignUnit {
                    unit: unit(u),
                    tier: [Tier::Handle, Tier::Support, Tier::Encircle][usize::from(tier) % 3],
                    goal: goal.map(Place::at),
                })
                .collect(),
            note: String::new(),
            // The high half of the incident byte asks to register a fresh
            // case on assignment.
            register: *i >= 128,
        },
        Step::Arrived {
            incident: i,
            unit: u,
        } => Command::Arrived {
            incident: incident(*i),
            unit: unit(*u),
        },
        Step::SetStatus { unit: u, status } => Command::SetUnitStatus {
            unit: unit(*u),
            status: [
                UnitStatus::Available,
                UnitStatus::Dispatched,
                UnitStatus::OnScene,
                UnitStatus::Returning,
                UnitStatus::OutOfService,
            ][usize::from(*status) % 5],
            note: String::new(),
        },
        Step::Position {
            unit: u,
            place,
            heading,
        } => Command::ReportPosition {
            unit: unit(*u),
            location: place.at(),
            heading: *heading,
        },
        Step::Wait { seconds } => {
            *now_ms += i64::from(*seconds) * 1000;
            return None;
        }
        Step::MoveUp {
            unit: u,
            post,
            drive_s,
            hold_s,
        } => {
            let posts = state.world().scenario().posts();
            Command::AcceptMoveUp {
                unit: unit(*u),
                post: posts
                    .get(usize::from(*post) % (posts.len() + 1))
                    .map_or_else(|| "P99".to_string(), |p| p.id.to_string()),
                drive_ms: u32::from(*drive_s) * 1000,
                drive_limit_s: 480,
                hold_s: u32::from(*hold_s),
                note: String::new(),
            }
        }
        Step::Release { unit: u } => Command::ReleaseMoveUp {
            unit: unit(*u),
            note: String::new(),
        },
    })
}

/// Each unit is on at most one incident, an open one that lists it, and
/// only while it is dispatched or on scene.
fn check_units(state: &DispatchState, index: usize) {
    for (slot, unit) in state.units().iter().enumerate() {
        let Some(id) = unit.incident else {
            continue;
        };
        let incident = state
            .incident(id)
            .unwrap_or_else(|| panic!("step {index}: unit {slot} is on missing incident {id:?}"));
        assert!(
            incident.is_open(),
            "step {index}: unit {slot} is still on closed incident {id:?}"
        );
        assert!(
            incident.assignments.iter().any(|a| a.unit == slot),
            "step {index}: unit {slot} is on incident {id:?}, which does not list it"
        );
        assert!(
            matches!(unit.status, UnitStatus::Dispatched | UnitStatus::OnScene),
            "step {index}: unit {slot} is on incident {id:?} but {:?}",
            unit.status
        );
    }
}

/// Stages only move forward, one step at a time through the history.
fn check_stages(state: &DispatchState, seen: &mut HashMap<IncidentId, Stage>, index: usize) {
    for incident in state.incidents() {
        let stage = incident.stage();
        if let Some(before) = seen.insert(incident.id, stage) {
            assert!(
                stage >= before,
                "step {index}: incident {:?} went from {before:?} back to {stage:?}",
                incident.id
            );
        }
        for pair in incident.history.windows(2) {
            assert!(
                pair[0].stage < pair[1].stage,
                "step {index}: incident {:?} history is out of order",
                incident.id
            );
        }
    }
}

/// The live coverage map equals one computed from scratch from where the
/// map holds each unit, and the map holds each unit as dispatchable
/// exactly when it is.
fn check_coverage(
    world: &World,
    state: &DispatchState,
    blank: Option<&CoverageMap>,
    query: &mut RouteQuery,
    index: usize,
) {
    let (Some(map), Some(blank)) = (state.coverage(), blank) else {
        assert!(
            state.coverage().is_none(),
            "step {index}: a coverage map appeared"
        );
        return;
    };
    let positions: Vec<_> = (0..map.slots())
        .map(|slot| {
            assert_eq!(
                map.is_dispatchable(slot),
                state.units()[slot].status.is_dispatchable(),
                "step {index}: the map's view of unit {slot} is stale"
            );
            (slot, map.unit_at(slot).copied())
        })
        .collect();
    let mut reference = blank.clone();
    reference
        .recompute_all(query, &positions)
        .unwrap_or_else(|e| panic!("recomputes: {e}"));
    for slot in 0..map.slots() {
        assert_eq!(
            map.row(slot),
            reference.row(slot),
            "step {index}: row {slot}"
        );
    }
    for cell in 0..map.cells().len() {
        assert_eq!(
            map.best(cell),
            reference.best(cell),
            "step {index}: cell {cell}"
        );
        assert_eq!(
            map.second_best(cell),
            reference.second_best(cell),
            "step {index}: second of cell {cell}"
        );
    }
    for seconds in world.scenario().config().targets.as_array() {
        assert_eq!(
            map.gaps(seconds),
            reference.gaps(seconds),
            "step {index}: gaps"
        );
        for slot in 0..map.slots() {
            assert_eq!(
                map.loss_without(slot, seconds),
                reference.loss_without(slot, seconds),
                "step {index}: loss without {slot}"
            );
        }
    }
}

/// The accepted commands, written to a journal file and read back, replay
/// into exactly the live state.
fn check_replay(world: &Arc<World>, live: &DispatchState, accepted: &[Stamped]) {
    // In memory where the system has it: a fuzzer runs this thousands of
    // times a second, and the disk syncs are not what is tested here.
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("kuaifan-fuzz-commands-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join("journal.sqlite");
    let _ = std::fs::remove_file(&path);
    let history = {
        let mut journal = Journal::open(&path).unwrap_or_else(|e| panic!("opens: {e}"));
        append_to_journal(&mut journal, &accepted.iter().collect::<Vec<_>>())
            .unwrap_or_else(|e| panic!("appends: {e}"));
        read_journal(&journal).unwrap_or_else(|e| panic!("reads: {e}"))
    };
    let _ = std::fs::remove_file(&path);
    assert_eq!(history, accepted, "the journal gives back what was written");
    let mut query = RouteQuery::new(world.scenario().router());
    let mut replayed = DispatchState::new(Arc::clone(world), &mut query);
    for (index, stamped) in history.iter().enumerate() {
        replayed
            .apply(&mut query, stamped)
            .unwrap_or_else(|e| panic!("entry {index} ({:?}) replays: {e}", stamped.command));
    }
    assert!(
        replayed == *live,
        "the replayed state differs from the live one"
    );
}
