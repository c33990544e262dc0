//! The incidents of a simulated day: a non-homogeneous Poisson process with
//! a daily cycle (quietest at 04:00, busiest at 20:00), placed in the zones
//! in proportion to their incident rates, so the commercial centres get
//! the most calls.

use geo::BoundingRect;
use kuaifan_engine::{LatLon, Priority, Scenario};
use rand::{Rng, RngExt};

/// Seconds in a day.
pub const DAY_S: f64 = 86_400.0;

/// The hour the call rate peaks.
const PEAK_HOUR: f64 = 20.0;

/// How far the rate swings around its mean: from 0.45× at 04:00 to 1.55×
/// at 20:00, roughly the shape of a city's 110 calls.
const SWING: f64 = 0.55;

/// One call.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrival {
    /// Seconds from the start of the drill.
    pub at_s: f64,
    /// Where.
    pub location: LatLon,
    /// How urgent.
    pub priority: Priority,
    /// How long the first unit on scene stays before the case can close.
    pub on_scene_s: f64,
}

/// The share of calls of each priority.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriorityMix {
    /// P1 share.
    pub p1: f64,
    /// P2 share.
    pub p2: f64,
    /// P3 share.
    pub p3: f64,
}

impl Default for PriorityMix {
    fn default() -> Self {
        Self {
            p1: 0.05,
            p2: 0.35,
            p3: 0.60,
        }
    }
}

impl PriorityMix {
    fn draw(&self, rng: &mut impl Rng) -> Priority {
        let total = self.p1 + self.p2 + self.p3;
        let x = rng.random_range(0.0..total);
        if x < self.p1 {
            Priority::P1
        } else if x < self.p1 + self.p2 {
            Priority::P2
        } else {
            Priority::P3
        }
    }
}

/// The call rate at `t` seconds after midnight, relative to the mean.
pub fn daily_profile(t_s: f64) -> f64 {
    let hour = (t_s / 3600.0).rem_euclid(24.0);
    1.0 + SWING * (std::f64::consts::TAU * (hour - PEAK_HOUR) / 24.0).cos()
}

/// On-scene times: log-normal with this median and spread, the usual shape
/// of service times (most cases short, a long tail).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OnScene {
    /// Median, seconds.
    pub median_s: f64,
    /// Standard deviation of its logarithm.
    pub sigma: f64,
}

impl OnScene {
    fn draw(&self, rng: &mut impl Rng) -> f64 {
        log_normal(self.median_s, self.sigma, rng)
    }
}

/// A log-normal draw with this median and σ of its logarithm.
pub(crate) fn log_normal(median: f64, sigma: f64, rng: &mut impl Rng) -> f64 {
    // Box–Muller: one standard normal from two uniforms.
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median * (sigma * z).exp()
}

/// The calls of `hours` hours, `per_day` a day on average, in time order.
/// Each lies inside a zone and on the road network.
pub fn generate(
    scenario: &Scenario,
    hours: f64,
    per_day: f64,
    mix: &PriorityMix,
    on_scene: &OnScene,
    rng: &mut impl Rng,
) -> Vec<Arrival> {
    let zones = scenario.zones().as_slice();
    let weights: Vec<f64> = zones
        .iter()
        .map(|z| z.incident_rate_per_day.max(0.0))
        .collect();
    let total_weight: f64 = weights.iter().sum();
    let end_s = hours * 3600.0;
    let peak_rate = per_day / DAY_S * (1.0 + SWING);
    let mut arrivals = Vec::new();
    let mut t = 0.0;
    if total_weight <= 0.0 || peak_rate <= 0.0 {
        return arrivals;
    }
    loop {
        // Thinning: candidates at the peak rate, each kept with the ratio
        // of the rate at its time to the peak.
        let gap: f64 = -rng.random_range(f64::EPSILON..1.0_f64).ln() / peak_rate;
        t += gap;
        if t >= end_s {
            break;
        }
        if rng.random_range(0.0..1.0) > daily_profile(t) / (1.0 + SWING) {
            continue;
        }
        if let Some(location) = place_by_weights(scenario, &weights, total_weight, rng) {
            arrivals.push(Arrival {
                at_s: t,
                location,
                priority: mix.draw(rng),
                on_scene_s: on_scene.draw(rng),
            });
        }
    }
    arrivals
}

/// A call's place: a zone drawn by its incident rate, a point inside it
/// on the road network. `None` for a scenario without rates or when no
/// point of the zone drawn lies near a road.
pub fn place(scenario: &Scenario, rng: &mut impl Rng) -> Option<LatLon> {
    let weights: Vec<f64> = scenario
        .zones()
        .iter()
        .map(|z| z.incident_rate_per_day.max(0.0))
        .collect();
    let total: f64 = weights.iter().sum();
    (total > 0.0)
        .then(|| place_by_weights(scenario, &weights, total, rng))
        .flatten()
}

fn place_by_weights(
    scenario: &Scenario,
    weights: &[f64],
    total_weight: f64,
    rng: &mut impl Rng,
) -> Option<LatLon> {
    let zones = scenario.zones().as_slice();
    let snap = scenario.incident_snap();
    let mut pick = rng.random_range(0.0..total_weight);
    let mut zone = zones.first()?;
    for (z, w) in zones.iter().zip(weights) {
        zone = z;
        if pick < *w {
            break;
        }
        pick -= w;
    }
    let bounds = zone.geometry.bounding_rect()?;
    (0..200).find_map(|_| {
        let lon = rng.random_range(bounds.min().x..=bounds.max().x);
        let lat = rng.random_range(bounds.min().y..=bounds.max().y);
        let at = LatLon::new(lat, lon).ok()?;
        (zone.contains(at) && scenario.router().graph().snap(at, &snap).is_ok()).then_some(at)
    })
}
