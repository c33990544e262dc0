//! `kuaifan-sim drill --containment`: does the containment catch the
//! suspect, and how does the report delay change it? One flight per seed
//! (a P1 robbery placed as the drill places calls, a suspect drawn by the
//! escape model), each chased from the same dispatch state (every unit
//! at its standby point, every team at its station) once per report
//! delay, with and without sightings: paired, so a row differs from
//! another only by the delay or the cameras.

use std::sync::Arc;

use kuaifan_engine::{DispatchState, RouteQuery, World};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::drill::arrivals::place;
use crate::drill::chase::{ChaseConfig, ChaseOutcome, chase};
use crate::drill::escape::{EscapeModel, Flight};

/// The report delays the sweep tries by default, minutes.
pub const DEFAULT_DELAYS_MIN: [f64; 6] = [0.0, 5.0, 15.0, 30.0, 60.0, 90.0];

/// Every suspect leaves at this Unix time (2026-11-26 08:00 China
/// Standard Time).
const ESCAPE_MS: i64 = 1_795_651_200_000;

/// How a sweep runs.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SweepConfig {
    /// One flight per seed.
    pub seeds: Vec<u64>,
    /// Report delays, minutes.
    pub delays_min: Vec<f64>,
    /// How suspects flee.
    pub escape: EscapeModel,
    /// From a camera's read to the command center, seconds.
    pub detection_delay_s: f64,
}

/// One row: a report delay, with or without sightings, over every flight.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SweepRow {
    /// The report delay, minutes.
    pub delay_min: f64,
    /// Whether camera hits were reported.
    pub sightings: bool,
    /// Flights chased.
    pub flights: usize,
    /// Suspects caught.
    pub caught: usize,
    /// Caught at ring 1, 2 and 3 (a crossing counts for the outermost
    /// ring it closes).
    pub caught_by_ring: [usize; 3],
    /// Escaped through ring 2 (into Shanxi) and ring 3 (into Henan).
    pub escaped_by_ring: [usize; 3],
    /// The median from the call to the catch, seconds.
    pub median_to_catch_s: Option<f64>,
    /// Commands the engine refused over the row (none are expected).
    pub refused: usize,
}

impl SweepRow {
    /// The share caught.
    pub fn share(&self) -> f64 {
        self.caught as f64 / self.flights.max(1) as f64
    }
}

/// A sweep's figures.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Sweep {
    /// How it ran.
    pub config: SweepConfig,
    /// Flights drawn (seeds whose incident could not flee are skipped).
    pub flights: usize,
    /// Of which on a detour.
    pub detours: usize,
    /// Of which heading into Henan.
    pub to_henan: usize,
    /// Fixed checkpoints whose cameras read plates.
    pub cameras: usize,
    /// One row per delay, without sightings then with, for each delay.
    pub rows: Vec<SweepRow>,
    /// Every chase, in row order then seed order.
    #[serde(skip)]
    pub chases: Vec<Vec<ChaseOutcome>>,
}

/// The flight of `seed`: a P1 incident placed by the zones' incident
/// rates, its suspect drawn by `model`.
pub fn draw_flight(
    world: &World,
    query: &mut RouteQuery<'_>,
    seed: u64,
    model: &EscapeModel,
) -> Option<Flight> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let from = place(world.scenario(), &mut rng)?;
    Flight::draw(world, query, from, ESCAPE_MS, model, &mut rng)
}

/// Runs the sweep.
pub fn sweep(world: &Arc<World>, config: &SweepConfig) -> Sweep {
    let mut query = RouteQuery::new(world.scenario().router());
    let base = DispatchState::new(Arc::clone(world), &mut query);
    let flights: Vec<Flight> = config
        .seeds
        .iter()
        .filter_map(|&seed| draw_flight(world, &mut query, seed, &config.escape))
        .collect();
    let border = world
        .ring_crossings()
        .outline(kuaifan_engine::ContainmentRing::Border);
    let to_henan = flights
        .iter()
        .filter(|f| border.is_some_and(|b| b.sites.contains(&f.exit)))
        .count();
    let mut rows = Vec::new();
    let mut chases = Vec::new();
    for &delay_min in &config.delays_min {
        for sightings in [false, true] {
            let chase_config = ChaseConfig {
                report_delay_s: delay_min * 60.0,
                sightings,
                detection_delay_s: config.detection_delay_s,
            };
            let outcomes: Vec<ChaseOutcome> = flights
                .iter()
                .map(|f| {
                    let mut state = base.clone();
                    chase(&mut state, &mut query, f, &chase_config)
                })
                .collect();
            rows.push(row(delay_min, sightings, &outcomes));
            chases.push(outcomes);
        }
    }
    Sweep {
        config: config.clone(),
        flights: flights.len(),
        detours: flights.iter().filter(|f| f.detour.is_some()).count(),
        to_henan,
        cameras: world.scenario().rings().checkpoints().len(),
        rows,
        chases,
    }
}

/// The figures of `outcomes`: caught and escaped by ring, the median to
/// the catch.
pub(crate) fn row(delay_min: f64, sightings: bool, outcomes: &[ChaseOutcome]) -> SweepRow {
    let mut caught_by_ring = [0; 3];
    let mut escaped_by_ring = [0; 3];
    let mut to_catch: Vec<f64> = Vec::new();
    for o in outcomes {
        let ring = usize::from(o.ring.clamp(1, 3)) - 1;
        if o.caught() {
            caught_by_ring[ring] += 1;
            to_catch.push((o.at_ms - o.report_ms) as f64 / 1000.0);
        } else {
            escaped_by_ring[ring] += 1;
        }
    }
    to_catch.sort_by(f64::total_cmp);
    let median_to_catch_s = match to_catch.len() {
        0 => None,
        n if n % 2 == 1 => Some(to_catch[n / 2]),
        n => Some((to_catch[n / 2 - 1] + to_catch[n / 2]) / 2.0),
    };
    SweepRow {
        delay_min,
        sightings,
        flights: outcomes.len(),
        caught: caught_by_ring.iter().sum(),
        caught_by_ring,
        escaped_by_ring,
        median_to_catch_s,
        refused: outcomes.iter().map(|o| o.refused.len()).sum(),
    }
}

impl std::fmt::Display for Sweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "containment drill: {} flights ({} into Henan, {} on a detour), every unit at its standby point; \
             cameras at the {} fixed checkpoints, {} s detection delay",
            self.flights, self.to_henan, self.detours, self.cameras, self.config.detection_delay_s
        )?;
        writeln!(
            f,
            "{:>9}  {:>9}  {:>8}  {:>6}  {:>6}  {:>6}  {:>16}  {:>13}",
            "delay",
            "sightings",
            "caught",
            "ring 1",
            "ring 2",
            "ring 3",
            "median to catch",
            "escaped 2 / 3"
        )?;
        for r in &self.rows {
            let median = r.median_to_catch_s.map_or("-".to_string(), |s| {
                format!("{} min {:02} s", (s / 60.0).floor(), (s % 60.0).floor())
            });
            writeln!(
                f,
                "{:>5} min  {:>9}  {:>7.0}%  {:>6}  {:>6}  {:>6}  {:>16}  {:>6} / {}",
                r.delay_min,
                if r.sightings { "yes" } else { "no" },
                100.0 * r.share(),
                r.caught_by_ring[0],
                r.caught_by_ring[1],
                r.caught_by_ring[2],
                median,
                r.escaped_by_ring[1],
                r.escaped_by_ring[2],
            )?;
        }
        let refused: usize = self.rows.iter().map(|r| r.refused).sum();
        write!(f, "the engine refused {refused} commands")
    }
}
