//! One chase: a suspect's flight against a containment run on the real
//! dispatch state, event by event on the simulated clock (to the
//! millisecond, so a sweep of hundreds of flights takes seconds).
//!
//! At the report (the escape plus the report delay) the incident is
//! reported and the containment started as `StartContainment` starts it:
//! the engine's own request, plan and orders (`containment_request`,
//! `plan_with`, `plan_orders`) in one command. Each unit ordered drives
//! from where it stands the fastest route to its crossing and reports its
//! arrival (`Arrived`, which marks the crossing staffed); a station team
//! turns out and drives; a staffed post checks after its activation
//! delay (both reported as `CrossingStaffed`). Each camera the car passed
//! is a sighting (`ReportSighting`, re-planned as the RPC re-plans) the
//! detection delay after the pass, or after the report for a pass before
//! it (the plate is searched once the call names it). The suspect is
//! caught at the first crossing they reach that is staffed by then (a
//! responder there at the same millisecond counts); passing the exit
//! unheld, they have left the city.

use kuaifan_engine::{
    Command, CommandError, ContainmentMode, CrossingOrder, CrossingResponder, DispatchState,
    IncidentId, PlanConfig, Priority, RouteQuery, Stamped, Verdict, World,
};

use std::sync::Arc;

use crate::drill::escape::{Flight, ring_of};

/// How a chase runs.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ChaseConfig {
    /// From the escape to the 110 call, seconds.
    pub report_delay_s: f64,
    /// Whether camera hits are reported as sightings.
    pub sightings: bool,
    /// From a camera's read to its sighting reaching the command center,
    /// seconds.
    pub detection_delay_s: f64,
}

impl Default for ChaseConfig {
    fn default() -> Self {
        Self {
            report_delay_s: 0.0,
            sightings: true,
            detection_delay_s: 30.0,
        }
    }
}

/// Where a chase ended.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChaseOutcome {
    /// The incident.
    pub incident: u64,
    /// When the call came (ms).
    pub report_ms: i64,
    /// Caught at this crossing (a site), if caught.
    pub caught_at: Option<usize>,
    /// Else out of the city through this crossing (the exit).
    pub escaped_at: Option<usize>,
    /// The ring of that crossing (1 to 3; the outermost it closes).
    pub ring: u8,
    /// When (ms).
    pub at_ms: i64,
    /// Responders ordered out, at the start and after sightings.
    pub orders: usize,
    /// Sightings reported.
    pub sightings: usize,
    /// What the plan at the start said: the innermost ring closed (1 to
    /// 3), if any.
    pub innermost_closed: Option<u8>,
    /// Crossings the start's plan held in time.
    pub held_at_start: usize,
    /// What the start's plan said of each ring, innermost first.
    pub rings_at_start: Vec<RingAtStart>,
    /// When no ring could be closed at the start: the outermost ring's
    /// crossings not held in time, for the neighbours to take over, each
    /// with its label and the suspect's earliest arrival (ms).
    pub for_neighbours: Vec<(String, i64)>,
    /// Commands the engine refused (none are expected).
    pub refused: Vec<String>,
}

/// One ring as the plan at the start saw it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RingAtStart {
    /// Its id in `rings.geojson` (`R1`, a county code, `R2`, `R3`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its crossings.
    pub crossings: usize,
    /// Held in time.
    pub held: usize,
    /// Too late: the suspect may pass before anyone gets there.
    pub too_late: usize,
    /// The suspect could have been there before the call.
    pub already_passed: usize,
    /// Every crossing held in time.
    pub closed: bool,
}

impl ChaseOutcome {
    /// Whether the suspect was caught.
    pub fn caught(&self) -> bool {
        self.caught_at.is_some()
    }
}

/// Something due at a time.
#[derive(Clone, Debug)]
enum Due {
    /// A unit at its crossing.
    Arrived(String),
    /// A team or a post at its crossing.
    Staffed(kuaifan_engine::LatLon),
    /// A camera's hit reaches the command center.
    Sighting(usize),
}

/// Where a chase's commands go: the dispatch state they change and the
/// route query they plan with. A chase run on its own applies them to the
/// state directly ([`OwnDesk`]); the day's drill sends them through its
/// own dispatcher, so that they are counted, journaled and sent to a live
/// server as every other command of the day.
pub trait Desk<'q> {
    /// The state, to read, and the query, to plan with.
    fn parts(&mut self) -> (&DispatchState, &mut RouteQuery<'q>);
    /// Applies `command` at `at_ms`; the engine's refusal as text.
    fn apply(&mut self, at_ms: i64, actor: &str, command: Command) -> Result<(), String>;
}

/// A chase run on its own state.
pub struct OwnDesk<'s, 'q> {
    /// The state the chase changes.
    pub state: &'s mut DispatchState,
    /// The query it plans with.
    pub query: &'s mut RouteQuery<'q>,
}

impl<'q> Desk<'q> for OwnDesk<'_, 'q> {
    fn parts(&mut self) -> (&DispatchState, &mut RouteQuery<'q>) {
        (self.state, self.query)
    }

    fn apply(&mut self, at_ms: i64, actor: &str, command: Command) -> Result<(), String> {
        let stamped = Stamped {
            at_ms,
            actor: actor.to_string(),
            command,
        };
        self.state
            .apply(self.query, &stamped)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// A rapid-response unit a chase ordered to a crossing: the day's drill
/// drives it there.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitOrdered {
    /// The chase's incident.
    pub incident: IncidentId,
    /// When it was ordered (ms).
    pub at_ms: i64,
    /// The unit.
    pub unit: String,
    /// The crossing (a site).
    pub site: usize,
}

/// A chase under way: the containment started, its responders on their
/// way, the suspect's passes still ahead. It moves on only when told
/// ([`RunningChase::advance`]), so that a day's drill can run it beside
/// its other calls, second by second.
pub struct RunningChase {
    world: Arc<World>,
    flight: Flight,
    started: bool,
    due: Vec<(i64, Due)>,
    /// The next of the flight's passes.
    next_pass: usize,
    ended: bool,
    orders: usize,
    refused: Vec<String>,
    units_ordered: Vec<UnitOrdered>,
    outcome: ChaseOutcome,
}

impl RunningChase {
    /// Starts the chase of `flight`: the incident reported at the escape
    /// plus the report delay (or `incident`, reported already at that
    /// time, as a day's call is), the containment started then, the
    /// cameras' sightings scheduled.
    pub fn start<'q>(
        desk: &mut impl Desk<'q>,
        flight: Flight,
        config: &ChaseConfig,
        incident: Option<IncidentId>,
    ) -> RunningChase {
        let world = Arc::clone(desk.parts().0.world());
        let report_ms = flight.escape_ms + (config.report_delay_s * 1000.0).round() as i64;
        let outcome = ChaseOutcome {
            incident: 0,
            report_ms,
            caught_at: None,
            escaped_at: None,
            ring: 0,
            at_ms: flight.end_ms(),
            orders: 0,
            sightings: 0,
            innermost_closed: None,
            held_at_start: 0,
            rings_at_start: Vec::new(),
            for_neighbours: Vec::new(),
            refused: Vec::new(),
        };
        let mut chase = RunningChase {
            world,
            flight,
            started: false,
            due: Vec::new(),
            next_pass: 0,
            ended: false,
            orders: 0,
            refused: Vec::new(),
            units_ordered: Vec::new(),
            outcome,
        };
        let id = match incident {
            Some(id) => Some(id),
            None => {
                let report = Command::ReportIncident {
                    location: chase.flight.from_at,
                    priority: Priority::P1,
                    category: "robbery".to_string(),
                    description: "suspects fled by car".to_string(),
                    caller_ref: "drill-chase".to_string(),
                };
                chase.apply(desk, report_ms, "call-taker", report).then(|| {
                    desk.parts()
                        .0
                        .incidents()
                        .next_back()
                        .map_or(IncidentId(0), |i| i.id)
                })
            }
        };
        if let Some(id) = id {
            chase.outcome.incident = id.0;
            chase.started = chase.begin(desk, id, report_ms);
        }
        if chase.started && config.sightings {
            let detection_ms = (config.detection_delay_s * 1000.0).round() as i64;
            for (k, hit) in chase.flight.cameras.iter().enumerate() {
                if hit.at_ms <= chase.flight.end_ms() {
                    let known = hit.at_ms.max(report_ms) + detection_ms;
                    chase.due.push((known, Due::Sighting(k)));
                }
            }
        }
        chase
    }

    /// The chase's incident.
    pub fn incident(&self) -> IncidentId {
        IncidentId(self.outcome.incident)
    }

    /// Whether it is over: the suspect caught, or past the last crossing
    /// of the flight.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The units ordered to crossings since the last call.
    pub fn take_units_ordered(&mut self) -> Vec<UnitOrdered> {
        std::mem::take(&mut self.units_ordered)
    }

    /// How it ended (or stands).
    pub fn into_outcome(self) -> ChaseOutcome {
        let mut outcome = self.outcome;
        outcome.orders = self.orders;
        outcome.refused = self.refused;
        outcome
    }

    /// Follows the chase to `until_ms`: the responders' arrivals and the
    /// sightings due by then, in time order, and the suspect's passes, each
    /// after what was due by its time; the suspect is caught at the first
    /// crossing staffed by then.
    pub fn advance<'q>(&mut self, desk: &mut impl Desk<'q>, until_ms: i64) {
        let id = self.incident();
        while !self.ended {
            let Some(&pass) = self.flight.passes.get(self.next_pass) else {
                self.ended = true;
                break;
            };
            if pass.at_ms > until_ms {
                break;
            }
            self.run_due(desk, id, pass.at_ms);
            self.next_pass += 1;
            let site = &self.world.ring_crossings().sites()[pass.site];
            let state = desk.parts().0;
            let held = self.started
                && state.containment(id).is_some_and(|c| {
                    c.order_at(site.at).is_some_and(|h| {
                        state.is_current(id, h) && h.staffed_ms.is_some_and(|s| s <= pass.at_ms)
                    })
                });
            if held {
                let caught = Command::Intercepted {
                    incident: id,
                    location: site.at,
                    crossing: Some(site.at),
                    note: "stopped at the crossing".to_string(),
                };
                self.apply(desk, pass.at_ms, "dispatcher", caught);
                self.outcome.caught_at = Some(pass.site);
                self.outcome.ring = ring_of(&self.world, self.flight.ring1, pass.site);
                self.outcome.at_ms = pass.at_ms;
                self.ended = true;
                break;
            }
            if pass.site == self.flight.exit {
                self.outcome.escaped_at = Some(pass.site);
                self.outcome.ring = ring_of(&self.world, self.flight.ring1, pass.site);
                self.outcome.at_ms = pass.at_ms;
            }
        }
        if !self.ended {
            self.run_due(desk, id, until_ms);
        }
    }

    /// Applies what is due at or before `until_ms`, earliest first.
    fn run_due<'q>(&mut self, desk: &mut impl Desk<'q>, id: IncidentId, until_ms: i64) {
        while let Some((t, due)) = self.next_due(until_ms) {
            match due {
                Due::Arrived(unit) => {
                    self.apply(desk, t, "terminal", Command::Arrived { incident: id, unit });
                }
                Due::Staffed(crossing) => {
                    let staffed = Command::CrossingStaffed {
                        incident: id,
                        crossing,
                    };
                    self.apply(desk, t, "dispatcher", staffed);
                }
                Due::Sighting(k) => {
                    if self.sight(desk, id, k, t) {
                        self.outcome.sightings += 1;
                    }
                }
            }
        }
    }

    fn apply<'q>(
        &mut self,
        desk: &mut impl Desk<'q>,
        at_ms: i64,
        actor: &str,
        command: Command,
    ) -> bool {
        match desk.apply(at_ms, actor, command) {
            Ok(()) => true,
            Err(e) => {
                self.refused.push(format!("{at_ms} ms: {e}"));
                false
            }
        }
    }

    /// Each responder ordered at `now_ms` reaches its crossing: a unit
    /// drives from where it stands, a team turns out and drives from its
    /// station, a post checks after its activation delay.
    fn schedule<'q>(&mut self, desk: &mut impl Desk<'q>, orders: &[CrossingOrder], now_ms: i64) {
        let world = Arc::clone(&self.world);
        let scenario = world.scenario();
        let sites = world.ring_crossings().sites();
        let (state, query) = desk.parts();
        for order in orders {
            self.orders += 1;
            let Some(s) = state.crossing_site(order.crossing) else {
                continue;
            };
            let site = &sites[s];
            let due = match &order.responder {
                CrossingResponder::Unit(id) => {
                    let Ok(slot) = state.unit_index(id) else {
                        continue;
                    };
                    let from = state.units()[slot].snapped;
                    let cost = query.one_to_one(&from, &site.location);
                    self.units_ordered.push(UnitOrdered {
                        incident: IncidentId(self.outcome.incident),
                        at_ms: now_ms,
                        unit: id.clone(),
                        site: s,
                    });
                    cost.is_reachable()
                        .then(|| (now_ms + i64::from(cost.time_ms()), Due::Arrived(id.clone())))
                }
                CrossingResponder::StationTeam(id) => {
                    let stations = scenario.stations();
                    let Some(i) = stations.iter().position(|s| s.id.as_str() == id) else {
                        continue;
                    };
                    let Some(space) = world.prepared_rings().station_space(i) else {
                        continue;
                    };
                    let turnout_ms =
                        i64::from(stations.iter().nth(i).map_or(0, |s| s.turnout_s)) * 1000;
                    let from = *space.location();
                    let cost = query.one_to_one(&from, &site.location);
                    cost.is_reachable().then(|| {
                        (
                            now_ms + turnout_ms + i64::from(cost.time_ms()),
                            Due::Staffed(order.crossing),
                        )
                    })
                }
                CrossingResponder::StaffedPost(_) => Some((
                    now_ms + PlanConfig::default().activation_ms as i64,
                    Due::Staffed(order.crossing),
                )),
            };
            if let Some(due) = due {
                self.due.push(due);
            }
        }
    }

    /// The next thing due at or before `until_ms`, earliest first.
    fn next_due(&mut self, until_ms: i64) -> Option<(i64, Due)> {
        let (i, _) = self
            .due
            .iter()
            .enumerate()
            .filter(|(_, (t, _))| *t <= until_ms)
            .min_by_key(|(i, (t, _))| (*t, *i))?;
        Some(self.due.remove(i))
    }
}

/// Runs `flight` against a containment on `state`: reports the incident
/// at the escape plus the report delay, starts the containment, and
/// follows the chase to the catch or the escape. The state is left as the
/// chase leaves it, the containment still running (the caller lifts it).
pub fn chase(
    state: &mut DispatchState,
    query: &mut RouteQuery<'_>,
    flight: &Flight,
    config: &ChaseConfig,
) -> ChaseOutcome {
    let mut desk = OwnDesk { state, query };
    let mut running = RunningChase::start(&mut desk, flight.clone(), config, None);
    running.advance(&mut desk, i64::MAX);
    running.into_outcome()
}

impl RunningChase {
    /// The containment started at the report, as `StartContainment`
    /// starts it.
    fn begin<'q>(&mut self, desk: &mut impl Desk<'q>, id: IncidentId, now_ms: i64) -> bool {
        let mode = ContainmentMode::Suspect {
            escape_ms: self.flight.escape_ms,
            speed_factor: self.flight.speed_factor,
        };
        let (state, query) = desk.parts();
        let started = state.start_containment_command(
            query,
            id,
            &mode,
            now_ms,
            "drill: suspects fled by car".to_string(),
        );
        let (command, plan) = match started {
            Ok(planned) => planned,
            Err(e) => {
                self.refused.push(format!("{now_ms} ms: {e}"));
                return false;
            }
        };
        let outcome = &mut self.outcome;
        outcome.innermost_closed = plan.innermost_closed.map(|r| match r.level() {
            kuaifan_engine::RingLevel::UrbanCore => 1,
            kuaifan_engine::RingLevel::CityBoundary => 2,
            kuaifan_engine::RingLevel::ProvincialBorder => 3,
        });
        outcome.held_at_start = plan.sites().filter(|c| c.holder.is_some()).count();
        let crossings = self.world.ring_crossings();
        outcome.rings_at_start = plan
            .rings
            .iter()
            .map(|r| {
                let count = |v: Verdict| r.crossings.iter().filter(|c| c.verdict == v).count();
                let outline = crossings.outline(r.ring);
                RingAtStart {
                    id: outline.map_or_else(String::new, |o| o.id.clone()),
                    name: outline.map_or_else(String::new, |o| o.name.clone()),
                    crossings: r.crossings.len(),
                    held: count(Verdict::ClosedInTime),
                    too_late: count(Verdict::TooLate),
                    already_passed: count(Verdict::AlreadyPassed),
                    closed: r.closed,
                }
            })
            .collect();
        outcome.for_neighbours = plan
            .for_neighbours
            .iter()
            .map(|&s| {
                let suspect_ms = plan
                    .sites()
                    .find(|c| c.site == s)
                    .and_then(|c| c.suspect_ms)
                    .map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX));
                let label = crossings.sites()[s].label(self.world.scenario().rings());
                (label, suspect_ms)
            })
            .collect();
        let orders = ordered(&command);
        if !self.apply(desk, now_ms, "dispatcher", command) {
            return false;
        }
        self.schedule(desk, &orders, now_ms);
        true
    }

    /// Camera hit `k` reported at `now_ms`, re-planned as `ReportSighting`
    /// re-plans: from the latest sighting by time, over the responders
    /// already ordered and the free ones.
    fn sight<'q>(
        &mut self,
        desk: &mut impl Desk<'q>,
        id: IncidentId,
        k: usize,
        now_ms: i64,
    ) -> bool {
        let hit = self.flight.cameras[k];
        let checkpoint = &self.world.scenario().rings().checkpoints()[hit.checkpoint];
        let source = format!("{} ANPR", checkpoint.id.as_str());
        let (state, query) = desk.parts();
        let planned = state.sighting_command(query, id, (hit.at, hit.at_ms), now_ms, source);
        let command = match planned {
            Ok((command, _)) => command,
            // No containment running any more (lifted, or the suspect caught).
            Err(CommandError::NoContainment(_)) => return false,
            Err(e) => {
                self.refused.push(format!("{now_ms} ms: {e}"));
                return false;
            }
        };
        let orders = ordered(&command);
        if !self.apply(desk, now_ms, "dispatcher", command) {
            return false;
        }
        self.schedule(desk, &orders, now_ms);
        true
    }
}

/// The orders a containment command carries.
fn ordered(command: &Command) -> Vec<CrossingOrder> {
    match command {
        Command::StartContainment { orders, .. } | Command::ReportSighting { orders, .. } => {
            orders.clone()
        }
        _ => Vec::new(),
    }
}
