//! Fleeing suspects in the day's drill: a share of the P1 calls have a
//! suspect who fled by car before the call (the report delay, drawn from
//! a log-normal distribution), and the containment is started at the
//! call, with the fleet as the day has it then: units away on other calls
//! cannot be ordered, and every unit starts from where it is.
//!
//! Each chase runs as `kuaifan-sim drill --containment` runs one
//! (`chase.rs`: the engine's own StartContainment, sightings from the
//! fixed checkpoints' cameras, the catch at the first crossing staffed
//! before the suspect gets there), in the day itself, second by second
//! beside its other calls: the units a chase orders drive to their
//! crossings and hold them, out of the day's other calls, until the
//! chase ends (the catch, or the suspect past the city boundary), when
//! the containment is lifted and they drive back. A case whose scene is
//! cleared while its chase goes on frees its scene's units and stays open
//! until then. A chase still under way at the day's end is followed to
//! its end on a copy of the state: the day is over.

use kuaifan_engine::{Command, DispatchState, IncidentId, LatLon, RouteQuery};
use rand::{Rng, RngExt};

use crate::drill::arrivals::log_normal;
use crate::drill::chase::{ChaseConfig, ChaseOutcome, Desk, OwnDesk, RunningChase, UnitOrdered};
use crate::drill::escape::{EscapeModel, Flight};

/// Who flees, and how late the call comes.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SuspectsConfig {
    /// The share of P1 calls with a suspect fleeing by car.
    pub share: f64,
    /// How they flee.
    pub escape: EscapeModel,
    /// The median from the escape to the call, seconds.
    pub report_delay_median_s: f64,
    /// The spread of the report delay (σ of its logarithm).
    pub report_delay_sigma: f64,
    /// Whether the cameras' plate reads are reported as sightings.
    pub sightings: bool,
    /// From a camera's read to the command center, seconds.
    pub detection_delay_s: f64,
}

impl Default for SuspectsConfig {
    /// 30 % of P1 calls; the call a median 5 minutes after the escape,
    /// σ 1.0 (a tenth of them after 18 minutes, one in a hundred after
    /// 51: a victim tied up, as in 2020); sightings 30 s after the read.
    fn default() -> Self {
        Self {
            share: 0.3,
            escape: EscapeModel::default(),
            report_delay_median_s: 300.0,
            report_delay_sigma: 1.0,
            sightings: true,
            detection_delay_s: 30.0,
        }
    }
}

/// One suspect of the day.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DaySuspect {
    /// The call's index in the day's calls.
    pub call: usize,
    /// Seconds from the drill's start to the call.
    pub at_s: f64,
    /// From the escape to the call, seconds.
    pub report_delay_s: f64,
    /// Units free to be ordered at the call.
    pub free_units: usize,
    /// Rapid-response units the chase ordered to crossings, at the start
    /// and after sightings.
    pub units_ordered: usize,
    /// How the chase ended.
    pub outcome: ChaseOutcome,
}

impl SuspectsConfig {
    /// Whether this P1 call has a fleeing suspect, and if so how long
    /// after the escape it came.
    pub fn draw(&self, rng: &mut impl Rng) -> Option<f64> {
        if rng.random::<f64>() >= self.share {
            return None;
        }
        Some(log_normal(
            self.report_delay_median_s,
            self.report_delay_sigma,
            rng,
        ))
    }
}

/// A call with a fleeing suspect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FleeingCall {
    /// The call's index in the day's calls.
    pub call: usize,
    /// Seconds from the drill's start to the call.
    pub at_s: f64,
    /// The call's incident, reported and registered.
    pub incident: IncidentId,
    /// Where the suspect fled from.
    pub location: LatLon,
    /// The call's time (ms).
    pub now_ms: i64,
    /// From the escape to the call, seconds.
    pub report_delay_s: f64,
}

/// What the day's chases did in a stretch of time, for the day to follow:
/// the units they ordered out and the chases that ended (their
/// containments lifted, their units free).
#[derive(Debug, Default)]
pub struct ChaseNews {
    /// Units ordered to crossings.
    pub ordered: Vec<UnitOrdered>,
    /// The incidents whose chase ended.
    pub ended: Vec<IncidentId>,
}

/// The day's chases: those under way and those over.
pub struct DayChases {
    config: SuspectsConfig,
    running: Vec<(Begun, RunningChase)>,
    over: Vec<DaySuspect>,
}

/// What the day knew of a chase at its call, and the units it has ordered.
struct Begun {
    call: FleeingCall,
    free_units: usize,
    units_ordered: usize,
}

impl DayChases {
    /// No chases yet.
    pub fn new(config: SuspectsConfig) -> DayChases {
        DayChases {
            config,
            running: Vec::new(),
            over: Vec::new(),
        }
    }

    /// Whether `incident` has a chase under way.
    pub fn is_running(&self, incident: IncidentId) -> bool {
        self.running.iter().any(|(_, c)| c.incident() == incident)
    }

    /// Starts the chase of `call`'s suspect on the day's state; the units
    /// ordered out, none when no flight leads from there (off the rings'
    /// areas, no road out).
    pub fn start<'q>(
        &mut self,
        desk: &mut impl Desk<'q>,
        call: FleeingCall,
        rng: &mut impl Rng,
    ) -> Vec<UnitOrdered> {
        let (state, query) = desk.parts();
        let world = std::sync::Arc::clone(state.world());
        let free_units = state
            .units()
            .iter()
            .filter(|u| u.status.is_dispatchable())
            .count();
        let escape_ms = call.now_ms - (call.report_delay_s * 1000.0).round() as i64;
        let Some(flight) = Flight::draw(
            &world,
            query,
            call.location,
            escape_ms,
            &self.config.escape,
            rng,
        ) else {
            return Vec::new();
        };
        let config = ChaseConfig {
            report_delay_s: (call.now_ms - escape_ms) as f64 / 1000.0,
            sightings: self.config.sightings,
            detection_delay_s: self.config.detection_delay_s,
        };
        let mut chase = RunningChase::start(desk, flight, &config, Some(call.incident));
        let ordered = chase.take_units_ordered();
        let begun = Begun {
            call,
            free_units,
            units_ordered: ordered.len(),
        };
        self.running.push((begun, chase));
        ordered
    }

    /// Follows every chase under way to `until_ms`; a chase that ends has
    /// its containment lifted then.
    pub fn advance<'q>(&mut self, desk: &mut impl Desk<'q>, until_ms: i64) -> ChaseNews {
        let mut news = ChaseNews::default();
        let mut k = 0;
        while k < self.running.len() {
            let (begun, chase) = &mut self.running[k];
            chase.advance(desk, until_ms);
            let ordered = chase.take_units_ordered();
            begun.units_ordered += ordered.len();
            news.ordered.extend(ordered);
            if !chase.ended() {
                k += 1;
                continue;
            }
            let (begun, chase) = self.running.remove(k);
            let id = chase.incident();
            let mut outcome = chase.into_outcome();
            let running = desk
                .parts()
                .0
                .containment(id)
                .is_some_and(|c| c.is_running());
            if running {
                let note = if outcome.caught() {
                    "the suspect was stopped"
                } else {
                    "the suspect left the city"
                };
                let lift = Command::LiftContainment {
                    incident: id,
                    note: note.to_string(),
                };
                // At the chase's end, which is in this stretch (and not
                // before the call, for a suspect gone before it).
                let at_ms = outcome.at_ms.min(until_ms).max(outcome.report_ms);
                if let Err(e) = desk.apply(at_ms, "dispatcher", lift) {
                    outcome.refused.push(format!("{at_ms} ms: {e}"));
                }
            }
            news.ended.push(id);
            self.over.push(DaySuspect {
                call: begun.call.call,
                at_s: begun.call.at_s,
                report_delay_s: begun.call.report_delay_s,
                free_units: begun.free_units,
                units_ordered: begun.units_ordered,
                outcome,
            });
        }
        news
    }

    /// Follows the chases still under way at the day's end to their end,
    /// on a copy of `state` (the day is over: its state keeps their
    /// containments running, its journal has nothing after its end);
    /// every chase of the day, in the order of their calls.
    pub fn finish(mut self, state: &DispatchState, query: &mut RouteQuery<'_>) -> Vec<DaySuspect> {
        if !self.running.is_empty() {
            let mut after = state.clone();
            let mut desk = OwnDesk {
                state: &mut after,
                query,
            };
            self.advance(&mut desk, i64::MAX);
        }
        let mut over = self.over;
        over.sort_by_key(|s| s.call);
        over
    }
}
