//! The in-process drill: a simulated day against the real dispatch state,
//! one simulated second at a time, on one thread, so that a seed gives the
//! same day every time.
//!
//! Each second: calls due are reported and registered; the dispatcher
//! confirms each case's recommendation after the confirmation delay (or
//! retries every 10 s while no unit is free); every unit moves along its
//! plan and its terminal reports its position, as live terminals do at
//! 1 Hz. A unit responding leaves after the turnout delay, drives the
//! engine's fastest route at the profile's speeds and reports its arrival;
//! the case closes when the first unit on scene has spent the call's
//! on-scene time; its units then drive back to their standby points, wait
//! there a while, and patrol around them until sent again. Units holding
//! zone exits are released after a hold time (the ring closes the area
//! while the suspects are sought), not kept for the whole case.
//!
//! Routine (P3) calls go to the police stations by default
//! (`routine_calls.rs`): they take no rapid-response unit, and their
//! response is the first station's turnout and drive; with
//! [`RoutineResponder::Units`] they are dispatched as any other call.
//!
//! With `move_up`, the dispatcher also takes the engine's move-up advice
//! after every change to the free units (a dispatch, a case closing, a
//! ring released, a chase ended, a unit back at its post): each advised
//! unit drives to its post, which is its standby point (where it patrols
//! and returns to) until it is moved again.
//!
//! A P1 call with a fleeing suspect also starts a chase
//! (`day_suspects.rs`), run inside the day: each second, what fell due in
//! the chases since the last one is applied at its own millisecond, the
//! units they order drive to their crossings and hold them until the
//! containment is lifted.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use kuaifan_engine::{
    AssignUnit, Command, DispatchState, IncidentId, LatLon, Policy, Priority, RouteQuery, Snapped,
    Stage, Stamped, Tier, UnitStatus, World,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::drill::arrivals::{self, Arrival, OnScene, PriorityMix};
use crate::drill::chase::{Desk, UnitOrdered};
use crate::drill::day_suspects::{ChaseNews, DayChases, DaySuspect, FleeingCall, SuspectsConfig};
use crate::drill::journal_sink::JournalSink;
use crate::drill::live::{LiveError, LiveLink, LiveReport};
use crate::drill::movement::Drive;
use crate::drill::routine_calls::{
    DEFAULT_P3_TARGET_S, RoutineResponder, StationResponse, Stations,
};

/// How a drill runs.
#[derive(Clone, Debug, PartialEq)]
pub struct DrillConfig {
    /// The seed of the calls and of the units' patrols.
    pub seed: u64,
    /// Simulated hours.
    pub hours: f64,
    /// Calls a day on average; `None` for the zones' incident rates.
    pub calls_per_day: Option<f64>,
    /// The calls of a rehearsed drill, instead of a random day.
    pub script: Option<Vec<Arrival>>,
    /// The share of each priority.
    pub mix: PriorityMix,
    /// Seconds from a call to the dispatcher's confirmation.
    pub confirm_delay_s: f64,
    /// Seconds from confirmation to the unit rolling.
    pub turnout_s: f64,
    /// Time spent on scene.
    pub on_scene: OnScene,
    /// How units are chosen.
    pub policy: Policy,
    /// How far from its standby point a patrol goes, metres.
    pub patrol_radius_m: f64,
    /// Seconds a unit holds its exit after it gets there before it is
    /// released: the ring closes the area while the suspects are sought,
    /// not for the whole case.
    pub encircle_hold_s: f64,
    /// Seconds a unit waits at its standby point between patrols.
    pub standby_pause_s: f64,
    /// How often the coverage of the city is sampled, seconds.
    pub sample_every_s: f64,
    /// Whether the dispatcher accepts every move-up the engine advises.
    pub move_up: bool,
    /// Who answers routine (P3) calls.
    pub p3: RoutineResponder,
    /// The target for a P3 call's first response, seconds.
    pub p3_target_s: u32,
    /// Fleeing suspects among the P1 calls, chased in the day
    /// (`day_suspects.rs`); `None` for none.
    pub suspects: Option<SuspectsConfig>,
}

impl Default for DrillConfig {
    fn default() -> Self {
        Self {
            seed: 356,
            hours: 24.0,
            calls_per_day: None,
            script: None,
            mix: PriorityMix::default(),
            confirm_delay_s: 20.0,
            turnout_s: 10.0,
            on_scene: OnScene {
                median_s: 900.0,
                sigma: 0.6,
            },
            policy: Policy::Coverage,
            patrol_radius_m: 800.0,
            encircle_hold_s: 600.0,
            standby_pause_s: 600.0,
            sample_every_s: 900.0,
            move_up: false,
            p3: RoutineResponder::Stations,
            p3_target_s: DEFAULT_P3_TARGET_S,
            suspects: Some(SuspectsConfig::default()),
        }
    }
}

/// Patrols drive at this fraction of the profile's speed.
const PATROL_SLOWDOWN: f64 = 2.0;

/// While no unit is free, a case is retried this often, seconds.
const RETRY_S: f64 = 10.0;

/// The drill's clock starts at this Unix time (2026-11-26 00:00 China
/// Standard Time), so stages and positions carry plausible timestamps.
pub const START_MS: i64 = 1_795_622_400_000;

/// What a unit is doing in the drill.
#[derive(Clone, Debug)]
enum Plan {
    /// At its standby point until then, then patrols.
    Parked { until_s: f64 },
    /// Patrolling around its standby point.
    Patrol(Drive),
    /// Sent to an incident for a tier: turning out, then driving.
    Responding(Drive, IncidentId, Tier),
    /// On scene until the case closes.
    OnScene(IncidentId),
    /// Holding a zone exit until then, then released.
    Holding { until_s: f64, incident: IncidentId },
    /// Driving back to its standby point.
    Returning(Drive),
    /// Driving to the post a move-up gave it; free all the way.
    MovingUp(Drive),
    /// Ordered by a chase to a crossing of the rings: driving there, then
    /// holding it until the containment is lifted.
    ToCrossing(Drive, IncidentId),
    /// Holding a crossing until the containment is lifted.
    AtCrossing(IncidentId),
}

/// A coverage sample.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CoverageSample {
    /// Seconds from the start.
    pub at_s: f64,
    /// Shares of the zoned area within 60, 180 and 300 s.
    pub within_60s: f64,
    /// See `within_60s`.
    pub within_180s: f64,
    /// See `within_60s`.
    pub within_300s: f64,
    /// Units that could be sent (AVAILABLE or RETURNING).
    pub free_units: usize,
}

/// Everything a drill produced, for the summary.
#[derive(Debug)]
pub struct DrillOutcome {
    /// The final dispatch state: every incident with its stages and
    /// assignments.
    pub state: DispatchState,
    /// The calls.
    pub arrivals: Vec<Arrival>,
    /// The coverage over the day.
    pub coverage: Vec<CoverageSample>,
    /// Seconds each unit spent sent, on scene or returning.
    pub busy_s: Vec<f64>,
    /// Commands applied and refused.
    pub commands: u64,
    /// Commands the engine refused (none are expected).
    pub refused: Vec<String>,
    /// Wall-clock seconds the drill took.
    pub wall_s: f64,
    /// Of which applying position reports (and the coverage upkeep they
    /// cause).
    pub positions_wall_s: f64,
    /// Of which the reports that recomputed a coverage row.
    pub refreshing_wall_s: f64,
    /// Coverage rows recomputed, and reports that needed none.
    pub coverage_refreshes: u64,
    /// See `coverage_refreshes`.
    pub coverage_skips: u64,
    /// Simulated seconds.
    pub simulated_s: f64,
    /// Metres every unit drove (responses, returns, patrols, move-ups).
    pub driven_m: f64,
    /// Of which driving to posts.
    pub move_up_driven_m: f64,
    /// Move-ups taken, in order.
    pub move_ups: Vec<MoveUpTaken>,
    /// P3 calls the stations answered instead of the units (none with
    /// [`RoutineResponder::Units`]).
    pub routine_calls: usize,
    /// How the stations answered them (a call no station reaches by road
    /// has none).
    pub station_responses: Vec<StationResponse>,
    /// The P1 calls' fleeing suspects and how their chases ended.
    pub suspects: Vec<DaySuspect>,
}

/// A move-up the drill's dispatcher accepted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MoveUpTaken {
    /// Seconds from the start.
    pub at_s: f64,
    /// The unit's slot.
    pub unit: usize,
    /// The post (a position in the scenario's posts).
    pub post: usize,
    /// The drive the engine measured for it, seconds.
    pub drive_s: f64,
    /// Where the unit was when it was moved.
    pub from: LatLon,
    /// Where the post is.
    pub to: LatLon,
}

struct Sim<'w> {
    world: &'w World,
    /// The server a live drill also sends every command to.
    live: Option<LiveLink>,
    /// The journal a drill is also written into.
    journal: Option<JournalSink>,
    state: DispatchState,
    query: RouteQuery<'w>,
    config: DrillConfig,
    commands: u64,
    refused: Vec<String>,
}

/// The chases send their commands through the day's dispatcher, so that
/// they are counted, journaled and sent on as the day's own.
impl<'w> Desk<'w> for Sim<'w> {
    fn parts(&mut self) -> (&DispatchState, &mut RouteQuery<'w>) {
        (&self.state, &mut self.query)
    }

    fn apply(&mut self, at_ms: i64, actor: &str, command: Command) -> Result<(), String> {
        self.apply_at_ms(at_ms, actor, command)
    }
}

impl<'w> Sim<'w> {
    fn apply(&mut self, t_s: f64, actor: &str, command: Command) -> bool {
        let at_ms = START_MS + (t_s * 1000.0) as i64;
        match self.apply_at_ms(at_ms, actor, command) {
            Ok(()) => true,
            Err(e) => {
                self.refused.push(format!("{t_s:.0} s: {e}"));
                false
            }
        }
    }

    /// Applies `command` at `at_ms`, and sends it to the live server and
    /// the journal, if the drill has them.
    fn apply_at_ms(&mut self, at_ms: i64, actor: &str, command: Command) -> Result<(), String> {
        self.commands += 1;
        let stamped = Stamped {
            at_ms,
            actor: actor.to_string(),
            command,
        };
        match self.state.apply(&mut self.query, &stamped) {
            Ok(_) => {
                if let Some(live) = self.live.as_mut() {
                    live.send(&stamped.command, &self.state);
                }
                if let Some(journal) = self.journal.as_mut() {
                    journal.send(&stamped);
                }
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Drives each unit a chase ordered out to its crossing.
    fn send_to_crossings(&mut self, plans: &mut [Plan], ordered: &[UnitOrdered]) {
        let sites = self.world.ring_crossings().sites();
        for order in ordered {
            let Ok(slot) = self.state.unit_index(&order.unit) else {
                continue;
            };
            let from = self.here(slot);
            let start_s = (order.at_ms - START_MS) as f64 / 1000.0;
            plans[slot] = match Drive::plan(
                &mut self.query,
                &from,
                &sites[order.site].location,
                start_s,
                1.0,
            ) {
                Some(drive) => Plan::ToCrossing(drive, order.incident),
                None => Plan::AtCrossing(order.incident),
            };
        }
    }

    fn refreshes(&self) -> u64 {
        self.state.coverage().map_or(0, |c| c.stats().refreshes)
    }

    /// Where the unit stands by: its post if a move-up gave it one, else
    /// its own standby point (post `slot`).
    fn standby(&self, slot: usize) -> Snapped {
        match self.state.post_of(slot) {
            own if own == slot => self.world.scenario().standby_points()[slot],
            post => self.world.scenario().post_points()[post],
        }
    }

    fn here(&self, slot: usize) -> Snapped {
        self.state.units()[slot].snapped
    }

    /// A patrol from where the unit is to a random road point near its
    /// standby point, or a pause where it is when none is found.
    fn patrol(&mut self, slot: usize, t_s: f64, rng: &mut ChaCha8Rng) -> Plan {
        let home = match self.state.post_of(slot) {
            own if own == slot => {
                self.world.scenario().units().as_slice()[slot]
                    .standby
                    .location
            }
            _ => self.standby(slot).point,
        };
        let r = self.config.patrol_radius_m;
        let north = rng.random_range(-r..r) / 111_320.0;
        let east = rng.random_range(-r..r) / (111_320.0 * home.lat().to_radians().cos());
        let snap = self.world.scenario().incident_snap();
        let target = kuaifan_engine::LatLon::new(home.lat() + north, home.lon() + east)
            .ok()
            .and_then(|at| self.world.scenario().router().graph().snap(at, &snap).ok());
        let from = self.here(slot);
        match target.and_then(|to| Drive::plan(&mut self.query, &from, &to, t_s, PATROL_SLOWDOWN)) {
            Some(drive) => Plan::Patrol(drive),
            None => Plan::Parked {
                until_s: t_s + self.config.standby_pause_s,
            },
        }
    }

    /// Takes the engine's move-up advice now, as a dispatcher accepting
    /// every move: each accepted unit drives to its post. Returns the
    /// moves taken.
    fn take_move_ups(&mut self, plans: &mut [Plan], t_s: f64) -> Vec<MoveUpTaken> {
        let now_ms = START_MS + (t_s * 1000.0) as i64;
        let advice = self.state.move_up_advice(&mut self.query, now_ms);
        let mut taken = Vec::new();
        for advised in &advice.moves {
            let unit = self.state.unit_id(advised.unit).to_string();
            let post = self.world.scenario().posts()[advised.post]
                .id
                .as_str()
                .to_string();
            let accept = self
                .state
                .move_up_command(&mut self.query, &unit, &post, "drill", now_ms);
            let Ok(accept) = accept else {
                continue;
            };
            let from = self.state.units()[advised.unit].location;
            if !self.apply(t_s, "dispatcher", accept) {
                continue;
            }
            taken.push(MoveUpTaken {
                at_s: t_s,
                unit: advised.unit,
                post: advised.post,
                drive_s: advised.drive.seconds(),
                from,
                to: self.world.scenario().post_points()[advised.post].point,
            });
            let slot = advised.unit;
            // A unit on its way home or patrolling turns for the post; it
            // stays free all the way.
            let (from, to) = (self.here(slot), self.standby(slot));
            plans[slot] = match Drive::plan(&mut self.query, &from, &to, t_s, 1.0) {
                Some(drive) => Plan::MovingUp(drive),
                None => Plan::Parked {
                    until_s: t_s + self.config.standby_pause_s,
                },
            };
        }
        taken
    }

    fn drive_home(&mut self, slot: usize, t_s: f64) -> Plan {
        let (from, to) = (self.here(slot), self.standby(slot));
        match Drive::plan(&mut self.query, &from, &to, t_s, 1.0) {
            Some(drive) => Plan::Returning(drive),
            None => Plan::Parked {
                until_s: t_s + self.config.standby_pause_s,
            },
        }
    }
}

/// A unit reaching its goal: it reports its arrival, and the first unit on
/// scene (not one holding an exit) starts the case's on-scene time.
fn arrive(
    sim: &mut Sim<'_>,
    closes: &mut BTreeMap<IncidentId, Option<f64>>,
    calls: &[Arrival],
    slot: usize,
    id: IncidentId,
    tier: Tier,
    t: f64,
) {
    if sim.state.units()[slot].status != UnitStatus::Dispatched {
        return;
    }
    let unit = sim.state.unit_id(slot).to_string();
    if !sim.apply(t, "terminal", Command::Arrived { incident: id, unit }) || tier == Tier::Encircle
    {
        return;
    }
    let call = sim
        .state
        .incident(id)
        .and_then(|i| i.caller_ref.strip_prefix("drill-"))
        .and_then(|n| n.parse::<usize>().ok());
    if let (Some(entry), Some(call)) = (closes.get_mut(&id), call)
        && entry.is_none()
    {
        *entry = Some(t + calls[call].on_scene_s);
    }
}

/// Runs a drill on `world`.
pub fn run(world: &Arc<World>, config: &DrillConfig) -> DrillOutcome {
    simulate(world, config, None, None).0
}

/// Runs a drill on `world`, writing every command into a journal through
/// a dispatch engine as a server would (`kuaifan-sim drill --journal`);
/// returns the drill and how many commands the engine refused.
pub fn run_into_journal(
    world: &Arc<World>,
    config: &DrillConfig,
    journal: JournalSink,
) -> (DrillOutcome, u64) {
    let (outcome, _, journal) = simulate(world, config, None, Some(journal));
    let refused = journal.map_or(0, JournalSink::finish);
    (outcome, refused)
}

/// Runs a drill on `world`, sending every command to a running server
/// too, paced by the wall clock; returns what the server made of it. A
/// live drill chases no suspects: a server plans a containment from its
/// own state (StartContainment takes no orders), so the drill's chase and
/// the server's would part at the first unit they choose differently.
pub fn run_live(
    world: &Arc<World>,
    config: &DrillConfig,
    link: LiveLink,
) -> Result<(DrillOutcome, LiveReport), LiveError> {
    let config = DrillConfig {
        suspects: None,
        ..config.clone()
    };
    let (outcome, link, _) = simulate(world, &config, Some(link), None);
    let report = match link {
        Some(link) => link.finish(&outcome.state)?,
        None => LiveReport::default(),
    };
    Ok((outcome, report))
}

fn simulate(
    world: &Arc<World>,
    config: &DrillConfig,
    live: Option<LiveLink>,
    journal: Option<JournalSink>,
) -> (DrillOutcome, Option<LiveLink>, Option<JournalSink>) {
    let started = Instant::now();
    let scenario = world.scenario();
    let mut call_rng = ChaCha8Rng::seed_from_u64(config.seed);
    let per_day = config.calls_per_day.unwrap_or_else(|| {
        scenario
            .zones()
            .iter()
            .map(|z| z.incident_rate_per_day)
            .sum()
    });
    let calls = match &config.script {
        Some(script) => script.clone(),
        None => arrivals::generate(
            scenario,
            config.hours,
            per_day,
            &config.mix,
            &config.on_scene,
            &mut call_rng,
        ),
    };
    // The units' patrols draw from their own stream, so that the calls
    // are the same whatever the policy: two policies on one seed are a
    // paired comparison.
    let mut patrol_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_0f7a_7e01);
    let mut query = RouteQuery::new(scenario.router());
    let state = DispatchState::new(Arc::clone(world), &mut query);
    let mut sim = Sim {
        world,
        live,
        journal,
        state,
        query,
        config: config.clone(),
        commands: 0,
        refused: Vec::new(),
    };
    let units = scenario.units().len();
    let mut plans: Vec<Plan> = (0..units)
        .map(|slot| Plan::Parked {
            until_s: (slot as f64 * 17.0) % config.standby_pause_s,
        })
        .collect();
    let mut busy_s = vec![0.0; units];
    let mut pending: VecDeque<(f64, IncidentId, usize)> = VecDeque::new();
    let mut closes: BTreeMap<IncidentId, Option<f64>> = BTreeMap::new();
    let mut next_call = 0;
    let mut coverage = Vec::new();
    let mut positions_wall_s = 0.0;
    let mut refreshing_wall_s = 0.0;
    let mut driven_m = 0.0;
    let mut move_up_driven_m = 0.0;
    let mut move_ups = Vec::new();
    let stations = (config.p3 == RoutineResponder::Stations).then(|| Stations::of(world));
    let mut routine_calls = 0;
    let mut station_responses = Vec::new();
    // Who flees draws from a stream of its own, so that the calls are the
    // same with or without suspects.
    let mut suspect_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0xf1ee_0000_5005);
    let mut chases = config.suspects.map(DayChases::new);
    // Cases whose scene was cleared while their chase went on: closed when
    // it ends.
    let mut held_open: BTreeSet<IncidentId> = BTreeSet::new();
    let end_s = (config.hours * 3600.0).ceil();
    let mut t = 0.0;
    while t <= end_s {
        if let Some(live) = &sim.live {
            live.pace(t);
        }
        // The free units change with a dispatch, a case closing, a ring
        // released, a chase ended or a unit back at its post: the moments
        // move-up advice is taken.
        let mut changed = false;
        // The chases under way, to this second: what fell due since the
        // last one, each at its own millisecond.
        if let Some(chases) = chases.as_mut() {
            let news = chases.advance(&mut sim, START_MS + (t * 1000.0) as i64);
            changed |= !news.ended.is_empty();
            follow_chases(&mut sim, &mut plans, &mut held_open, &news, t);
        }
        // Calls: reported by the call-taker, registered at once.
        while next_call < calls.len() && calls[next_call].at_s <= t {
            let call = &calls[next_call];
            if let Some(stations) = &stations
                && call.priority == Priority::P3
            {
                // The station's own officers answer it; the engine's units
                // are not told.
                routine_calls += 1;
                station_responses.extend(stations.answer(
                    &mut sim.query,
                    world,
                    next_call,
                    call.location,
                ));
                next_call += 1;
                continue;
            }
            let report = Command::ReportIncident {
                location: call.location,
                priority: call.priority,
                category: "drill".to_string(),
                description: String::new(),
                caller_ref: format!("drill-{next_call}"),
            };
            if sim.apply(t, "call-taker", report) {
                let id = sim
                    .state
                    .incidents()
                    .next_back()
                    .map(|i| i.id)
                    .unwrap_or(IncidentId(0));
                let register = Command::Advance {
                    incident: id,
                    stage: Stage::Registered,
                    note: String::new(),
                };
                sim.apply(t, "call-taker", register);
                pending.push_back((t + config.confirm_delay_s, id, next_call));
                closes.insert(id, None);
                if let Some(flee) = &config.suspects
                    && call.priority == Priority::P1
                    && let Some(delay_s) = flee.draw(&mut suspect_rng)
                    && let Some(chases) = chases.as_mut()
                {
                    let fleeing = FleeingCall {
                        call: next_call,
                        at_s: t,
                        incident: id,
                        location: call.location,
                        now_ms: START_MS + (t * 1000.0) as i64,
                        report_delay_s: delay_s,
                    };
                    let ordered = chases.start(&mut sim, fleeing, &mut suspect_rng);
                    changed |= !ordered.is_empty();
                    sim.send_to_crossings(&mut plans, &ordered);
                }
            }
            next_call += 1;
        }
        // The dispatcher confirms what the engine recommends.
        let mut waiting = VecDeque::new();
        while let Some((due, id, call)) = pending.pop_front() {
            if due > t {
                waiting.push_back((due, id, call));
                continue;
            }
            let c = &calls[call];
            let now_ms = START_MS + (t * 1000.0) as i64;
            let rec = sim.state.recommend(
                &mut sim.query,
                c.location,
                c.priority,
                now_ms,
                config.policy,
            );
            let Ok(rec) = rec else {
                waiting.push_back((t + RETRY_S, id, call));
                continue;
            };
            let units: Vec<AssignUnit> = rec
                .candidates
                .iter()
                .map(|cand| AssignUnit {
                    unit: sim.state.unit_id(cand.unit).to_string(),
                    tier: cand.tier,
                    goal: (cand.tier == Tier::Encircle).then_some(cand.goal),
                })
                .collect();
            let assign = Command::Assign {
                incident: id,
                units,
                note: String::new(),
                register: false,
            };
            if sim.apply(t, "dispatcher", assign) {
                changed = true;
                let snap = scenario.incident_snap();
                let scene = scenario.router().graph().snap(c.location, &snap).ok();
                for cand in &rec.candidates {
                    let goal = match cand.tier {
                        Tier::Encircle => scenario.router().graph().snap(cand.goal, &snap).ok(),
                        _ => scene,
                    };
                    let from = sim.here(cand.unit);
                    let drive = goal.and_then(|g| {
                        Drive::plan(&mut sim.query, &from, &g, t + config.turnout_s, 1.0)
                    });
                    if let Some(drive) = drive {
                        plans[cand.unit] = Plan::Responding(drive, id, cand.tier);
                    }
                }
            }
        }
        pending = waiting;

        // Cases whose on-scene time is over close; their units go home.
        let closing: Vec<IncidentId> = closes
            .iter()
            .filter(|(_, at)| at.is_some_and(|at| at <= t))
            .map(|(id, _)| *id)
            .collect();
        for id in closing {
            changed = true;
            closes.remove(&id);
            if chases.as_ref().is_some_and(|c| c.is_running(id)) {
                clear_scene(&mut sim, &mut plans, id, t);
                held_open.insert(id);
                continue;
            }
            for stage in [Stage::Feedback, Stage::Closed] {
                let advance = Command::Advance {
                    incident: id,
                    stage,
                    note: String::new(),
                };
                sim.apply(t, "dispatcher", advance);
            }
            for (slot, plan) in plans.iter_mut().enumerate() {
                let on_it = matches!(plan, Plan::OnScene(i) | Plan::Responding(_, i, _) | Plan::Holding { incident: i, .. } if *i == id);
                if on_it {
                    *plan = sim.drive_home(slot, t);
                }
            }
        }

        // Units move and report.
        let moving = Instant::now();
        for slot in 0..units {
            let plan = plans[slot].clone();
            let (position, next) = match plan {
                Plan::Parked { until_s } => {
                    let next = (until_s <= t).then(|| sim.patrol(slot, t, &mut patrol_rng));
                    (None, next)
                }
                Plan::Patrol(drive) => {
                    let next = (drive.end_s() <= t).then_some(Plan::Parked {
                        until_s: t + config.standby_pause_s / 4.0,
                    });
                    (Some(drive.position(t)), next)
                }
                Plan::Responding(drive, id, tier) => {
                    busy_s[slot] += 1.0;
                    let arrived = drive.end_s() <= t;
                    if arrived {
                        arrive(&mut sim, &mut closes, &calls, slot, id, tier, t);
                    }
                    let next = match tier {
                        Tier::Encircle => Plan::Holding {
                            until_s: t + config.encircle_hold_s,
                            incident: id,
                        },
                        _ => Plan::OnScene(id),
                    };
                    (Some(drive.position(t)), arrived.then_some(next))
                }
                Plan::OnScene(_) => {
                    busy_s[slot] += 1.0;
                    (None, None)
                }
                Plan::Holding { until_s, incident } => {
                    busy_s[slot] += 1.0;
                    let release = until_s <= t
                        && sim.state.units()[slot].incident == Some(incident)
                        && sim.apply(
                            t,
                            "dispatcher",
                            Command::SetUnitStatus {
                                unit: sim.state.unit_id(slot).to_string(),
                                status: UnitStatus::Returning,
                                note: "ring released".to_string(),
                            },
                        );
                    changed |= release;
                    (None, release.then(|| sim.drive_home(slot, t)))
                }
                Plan::Returning(drive) => {
                    busy_s[slot] += 1.0;
                    let home = drive.end_s() <= t;
                    // Back in service at its post: another moment for
                    // move-up advice (a unit that covered this post while
                    // it was away may now serve better elsewhere).
                    changed |= home;
                    let next = home.then_some(Plan::Parked {
                        until_s: t + config.standby_pause_s,
                    });
                    (Some(drive.position(t)), next)
                }
                Plan::MovingUp(drive) => {
                    let next = (drive.end_s() <= t).then_some(Plan::Parked {
                        until_s: t + config.standby_pause_s,
                    });
                    (Some(drive.position(t)), next)
                }
                // The chase reports the arrival, at its millisecond.
                Plan::ToCrossing(drive, id) => {
                    busy_s[slot] += 1.0;
                    let next = (drive.end_s() <= t).then_some(Plan::AtCrossing(id));
                    (Some(drive.position(t)), next)
                }
                Plan::AtCrossing(_) => {
                    busy_s[slot] += 1.0;
                    (None, None)
                }
            };
            let was = sim.state.units()[slot].location;
            let at = position.unwrap_or(was);
            // A second's straight step follows the road closely enough.
            let step_m = was.haversine_m(at);
            driven_m += step_m;
            if matches!(plans[slot], Plan::MovingUp(_)) {
                move_up_driven_m += step_m;
            }
            let report = Command::ReportPosition {
                unit: sim.state.unit_id(slot).to_string(),
                location: at,
                heading: None,
            };
            let refreshes = sim.refreshes();
            let reporting = Instant::now();
            sim.apply(t, "terminal", report);
            if sim.refreshes() > refreshes {
                refreshing_wall_s += reporting.elapsed().as_secs_f64();
            }
            if let Some(next) = next {
                plans[slot] = next;
            }
        }
        positions_wall_s += moving.elapsed().as_secs_f64();
        if config.move_up && changed {
            move_ups.extend(sim.take_move_ups(&mut plans, t));
        }

        if (t / config.sample_every_s).fract() == 0.0
            && let Some(map) = sim.state.coverage()
        {
            coverage.push(CoverageSample {
                at_s: t,
                within_60s: map.share_within(60),
                within_180s: map.share_within(180),
                within_300s: map.share_within(300),
                free_units: sim
                    .state
                    .units()
                    .iter()
                    .filter(|u| u.status.is_dispatchable())
                    .count(),
            });
        }
        t += 1.0;
    }
    // Chases under way at the day's end run to their end, with the fleet
    // as the day left it, on a copy.
    let suspects = chases.map_or_else(Vec::new, |c| c.finish(&sim.state, &mut sim.query));
    let stats = sim.state.coverage().map(|c| c.stats()).unwrap_or_default();
    let outcome = DrillOutcome {
        refreshing_wall_s,
        coverage_refreshes: stats.refreshes,
        coverage_skips: stats.skips,
        state: sim.state,
        arrivals: calls,
        coverage,
        busy_s,
        commands: sim.commands,
        refused: sim.refused,
        wall_s: started.elapsed().as_secs_f64(),
        positions_wall_s,
        simulated_s: end_s,
        driven_m,
        move_up_driven_m,
        move_ups,
        routine_calls,
        station_responses,
        suspects,
    };
    (outcome, sim.live, sim.journal)
}

/// What the chases did this second, followed in the day: each unit
/// ordered drives to its crossing; the units of a chase that ended drive
/// back, and its case closes if its scene was cleared already.
fn follow_chases(
    sim: &mut Sim<'_>,
    plans: &mut [Plan],
    held_open: &mut BTreeSet<IncidentId>,
    news: &ChaseNews,
    t: f64,
) {
    sim.send_to_crossings(plans, &news.ordered);
    for &id in &news.ended {
        for (slot, plan) in plans.iter_mut().enumerate() {
            if matches!(plan, Plan::ToCrossing(_, i) | Plan::AtCrossing(i) if *i == id) {
                *plan = sim.drive_home(slot, t);
            }
        }
        if held_open.remove(&id) {
            let close = Command::Advance {
                incident: id,
                stage: Stage::Closed,
                note: String::new(),
            };
            sim.apply(t, "dispatcher", close);
        }
    }
}

/// The scene of a case whose chase goes on is cleared: the scene's units
/// go back, the crossings stay held, and the case stays open (FEEDBACK)
/// until the containment is lifted.
fn clear_scene(sim: &mut Sim<'_>, plans: &mut [Plan], id: IncidentId, t: f64) {
    let feedback = Command::Advance {
        incident: id,
        stage: Stage::Feedback,
        note: "scene cleared; the containment goes on".to_string(),
    };
    sim.apply(t, "dispatcher", feedback);
    for (slot, plan) in plans.iter_mut().enumerate() {
        let on_scene = matches!(plan, Plan::OnScene(i) | Plan::Responding(_, i, _) | Plan::Holding { incident: i, .. } if *i == id);
        if !on_scene {
            continue;
        }
        if sim.state.units()[slot].incident == Some(id) {
            let free = Command::SetUnitStatus {
                unit: sim.state.unit_id(slot).to_string(),
                status: UnitStatus::Returning,
                note: "scene cleared".to_string(),
            };
            sim.apply(t, "dispatcher", free);
        }
        *plan = sim.drive_home(slot, t);
    }
}
