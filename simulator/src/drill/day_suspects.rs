//! Fleeing suspects in the day's drill: a share of the P1 calls have a
//! suspect who fled by car before the call (the report delay, drawn from
//! a log-normal distribution), and the containment is started at the
//! call, with the fleet as the day has it then: units away on other calls
//! cannot be ordered, and every unit starts from where it is.
//!
//! Each chase runs as `kuaifan-sim drill --containment` runs one
//! (`chase.rs`: the engine's own StartContainment, sightings from the
//! fixed checkpoints' cameras, the catch at the first crossing staffed
//! before the suspect gets there), on a copy of the day's state taken at
//! the call. The copy is the limit of this model, and why it is kept: the
//! units a chase orders are not taken from the rest of the day, so a
//! chase does not change the day's other figures (the same seed gives the
//! same day with or without suspects), and a unit sent to the incident
//! itself may also hold a crossing in its chase.

use kuaifan_engine::{DispatchState, LatLon, RouteQuery};
use rand::{Rng, RngExt};

use crate::drill::arrivals::log_normal;
use crate::drill::chase::{ChaseConfig, ChaseOutcome, chase};
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

    /// The chase of a suspect who fled from `location` `report_delay_s`
    /// before a call at `now_ms`, on a copy of `state`; `None` when no
    /// flight leads from there (off the rings' areas, no road out).
    pub fn chase_from(
        &self,
        state: &DispatchState,
        query: &mut RouteQuery<'_>,
        location: LatLon,
        now_ms: i64,
        report_delay_s: f64,
        rng: &mut impl Rng,
    ) -> Option<ChaseOutcome> {
        let world = std::sync::Arc::clone(state.world());
        let escape_ms = now_ms - (report_delay_s * 1000.0).round() as i64;
        let flight = Flight::draw(&world, query, location, escape_ms, &self.escape, rng)?;
        let config = ChaseConfig {
            report_delay_s: (now_ms - escape_ms) as f64 / 1000.0,
            sightings: self.sightings,
            detection_delay_s: self.detection_delay_s,
        };
        let mut copy = state.clone();
        Some(chase(&mut copy, query, &flight, &config))
    }
}
