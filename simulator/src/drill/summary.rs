//! What a drill shows: response times per tier and priority against the
//! 1-3-5 minute targets, per zone, the units' utilisation and the coverage
//! over the day. Response times count from the dispatcher's confirmation
//! to the unit's arrival, as the standard's targets do; the call-to-arrival
//! time is given beside it.

use serde::Serialize;

use kuaifan_engine::{Priority, Tier};

use crate::drill::containment_sweep::{SweepRow, row};
use crate::drill::routine_calls::{RoutineFigures, RoutineResponder};
use crate::drill::run::{CoverageSample, DrillConfig, DrillOutcome};

/// One tier's responses.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierStats {
    /// HANDLE, SUPPORT or ENCIRCLE.
    pub tier: String,
    /// Its target, seconds.
    pub target_s: u32,
    /// Units sent for it.
    pub sent: usize,
    /// Units that arrived.
    pub arrived: usize,
    /// Share of the arrivals within the target.
    pub within_target: f64,
    /// Median response, seconds.
    pub p50_s: f64,
    /// 90th percentile, seconds.
    pub p90_s: f64,
}

/// The first unit on scene, per priority.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FirstUnit {
    /// P1, P2 or P3.
    pub priority: String,
    /// Incidents of this priority.
    pub incidents: usize,
    /// Share of them whose first unit arrived within 60 s of confirmation
    /// (an incident no unit reached counts as not).
    pub within_60s: f64,
    /// The same within 180 s.
    pub within_180s: f64,
    /// The same within 300 s.
    pub within_300s: f64,
    /// Median response of the first unit, seconds.
    pub p50_s: f64,
    /// Median from the call to the first arrival, seconds.
    pub call_to_scene_p50_s: f64,
}

/// One zone's incidents.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZoneStats {
    /// The zone.
    pub zone_id: String,
    /// Its incidents.
    pub incidents: usize,
    /// Share whose handling unit arrived within its target.
    pub handle_within_target: f64,
}

/// The zoned area within a target of a free unit, over the day's samples.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CoverageFigures {
    /// The mean share.
    pub mean: f64,
    /// The 5th percentile: the city is worse covered than this 5 % of
    /// the day.
    pub p5: f64,
    /// The lowest sample.
    pub min: f64,
}

/// A drill's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DrillSummary {
    /// The seed.
    pub seed: u64,
    /// Simulated hours.
    pub hours: f64,
    /// `coverage` or `closest`.
    pub policy: String,
    /// Calls.
    pub incidents: usize,
    /// Of which closed by the end.
    pub closed: usize,
    /// Commands applied, position reports included.
    pub commands: u64,
    /// Commands the engine refused (none are expected; each is a finding).
    pub refused: Vec<String>,
    /// Per tier.
    pub tiers: Vec<TierStats>,
    /// The first unit, per priority.
    pub first_unit: Vec<FirstUnit>,
    /// Per zone.
    pub zones: Vec<ZoneStats>,
    /// Mean share of the time a unit was sent, on scene or returning.
    pub mean_utilisation: f64,
    /// Per unit, in scenario order.
    pub utilisation: Vec<f64>,
    /// The coverage over the day.
    pub coverage: Vec<CoverageSample>,
    /// Kilometres all units drove (responses, returns, patrols, move-ups).
    pub driven_km: f64,
    /// Move-ups taken, and the kilometres driven to posts.
    pub move_ups: u64,
    /// See `move_ups`.
    pub move_up_km: f64,
    /// The routine (P3) calls the stations answered, when they did (the
    /// `first_unit` rows then have no P3).
    pub routine: Option<RoutineFigures>,
    /// The P1 calls' fleeing suspects, when the drill has them.
    pub suspects: Option<DayChases>,
}

/// How the day's fleeing suspects fared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DayChases {
    /// The P1 calls of the day.
    pub p1_calls: usize,
    /// The chases: caught and escaped by ring, the median to the catch.
    pub chases: SweepRow,
    /// The median report delay, seconds.
    pub report_delay_p50_s: f64,
    /// The longest, seconds.
    pub report_delay_max_s: f64,
    /// The median of the units free at the calls.
    pub free_units_p50: f64,
    /// Rapid-response units the chases ordered to crossings, in all: taken
    /// from the day's other calls until their chase ended.
    pub units_ordered: usize,
}

/// The `q` quantile of sorted values (nearest rank), 0 when empty.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn share(count: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        count as f64 / of as f64
    }
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

impl DrillSummary {
    /// The figures of a drill.
    pub fn new(config: &DrillConfig, outcome: &DrillOutcome) -> DrillSummary {
        let state = &outcome.state;
        let world = state.world();
        let incidents: Vec<_> = state.incidents().collect();
        // A unit a containment sends to a crossing of the rings goes for
        // the ENCIRCLE tier too, but not to hold a zone exit: the chases'
        // figures are the suspects', not the tier's.
        let to_crossing = |i: &kuaifan_engine::Incident, a: &kuaifan_engine::Assignment| {
            state.containment(i.id).is_some_and(|c| {
                c.held.iter().any(|h| {
                    h.order.crossing == a.goal
                        && h.ordered_ms == a.assigned_ms
                        && h.order
                            .responder
                            .unit()
                            .and_then(|u| state.unit_index(u).ok())
                            == Some(a.unit)
                })
            })
        };
        let tiers = [Tier::Handle, Tier::Support, Tier::Encircle]
            .into_iter()
            .map(|tier| {
                let sent: Vec<_> = incidents
                    .iter()
                    .flat_map(|i| i.assignments.iter().map(move |a| (*i, a)))
                    .filter(|(i, a)| a.tier == tier && !to_crossing(i, a))
                    .map(|(_, a)| a)
                    .collect();
                let times = sorted(sent.iter().filter_map(|a| a.response_s()).collect());
                let target_s = world.target_s(tier);
                TierStats {
                    tier: tier.to_string(),
                    target_s,
                    sent: sent.len(),
                    arrived: times.len(),
                    within_target: share(
                        times.iter().filter(|&&s| s <= f64::from(target_s)).count(),
                        times.len(),
                    ),
                    p50_s: quantile(&times, 0.5),
                    p90_s: quantile(&times, 0.9),
                }
            })
            .collect();
        // The first unit on scene (holding an exit is not being on scene),
        // from the case's first dispatch (a containment's orders at the
        // call are not one).
        let first = |i: &kuaifan_engine::Incident| -> Option<(f64, f64)> {
            let assigned = i
                .assignments
                .iter()
                .find(|a| !to_crossing(i, a))?
                .assigned_ms;
            let arrived = i
                .assignments
                .iter()
                .filter(|a| a.tier != Tier::Encircle)
                .filter_map(|a| a.arrived_ms)
                .min()?;
            Some((
                (arrived - assigned).max(0) as f64 / 1000.0,
                (arrived - i.reported_ms()).max(0) as f64 / 1000.0,
            ))
        };
        let stations_answer = config.p3 == RoutineResponder::Stations;
        let first_unit = [Priority::P1, Priority::P2, Priority::P3]
            .into_iter()
            .filter(|p| !(stations_answer && *p == Priority::P3))
            .map(|p| {
                let of: Vec<_> = incidents.iter().filter(|i| i.priority == p).collect();
                let firsts: Vec<(f64, f64)> = of.iter().filter_map(|i| first(i)).collect();
                let response = sorted(firsts.iter().map(|f| f.0).collect());
                let call = sorted(firsts.iter().map(|f| f.1).collect());
                FirstUnit {
                    priority: p.to_string(),
                    incidents: of.len(),
                    within_60s: share(response.iter().filter(|&&s| s <= 60.0).count(), of.len()),
                    within_180s: share(response.iter().filter(|&&s| s <= 180.0).count(), of.len()),
                    within_300s: share(response.iter().filter(|&&s| s <= 300.0).count(), of.len()),
                    p50_s: quantile(&response, 0.5),
                    call_to_scene_p50_s: quantile(&call, 0.5),
                }
            })
            .collect();
        let zones = world
            .scenario()
            .zones()
            .iter()
            .enumerate()
            .map(|(z, zone)| {
                let here: Vec<_> = incidents.iter().filter(|i| i.zone == Some(z)).collect();
                let met = here
                    .iter()
                    .filter(|i| {
                        i.assignments
                            .iter()
                            .any(|a| a.tier == Tier::Handle && a.met_target() == Some(true))
                    })
                    .count();
                ZoneStats {
                    zone_id: zone.id.as_str().to_string(),
                    incidents: here.len(),
                    handle_within_target: share(met, here.len()),
                }
            })
            .collect();
        let simulated = outcome.simulated_s.max(1.0);
        let utilisation: Vec<f64> = outcome.busy_s.iter().map(|b| b / simulated).collect();
        DrillSummary {
            seed: config.seed,
            hours: config.hours,
            policy: format!("{:?}", config.policy).to_lowercase(),
            incidents: incidents.len(),
            closed: incidents.iter().filter(|i| !i.is_open()).count(),
            commands: outcome.commands,
            refused: outcome.refused.clone(),
            tiers,
            first_unit,
            zones,
            mean_utilisation: utilisation.iter().sum::<f64>() / utilisation.len().max(1) as f64,
            utilisation,
            coverage: outcome.coverage.clone(),
            driven_km: outcome.driven_m / 1000.0,
            move_ups: outcome.move_ups.len() as u64,
            move_up_km: outcome.move_up_driven_m / 1000.0,
            routine: stations_answer.then(|| routine_figures(config, outcome)),
            suspects: config.suspects.map(|_| day_chases(outcome)),
        }
    }
}

/// The fleeing suspects' figures.
fn day_chases(outcome: &DrillOutcome) -> DayChases {
    let chased: Vec<_> = outcome.suspects.iter().map(|s| s.outcome.clone()).collect();
    let delays = sorted(outcome.suspects.iter().map(|s| s.report_delay_s).collect());
    let free = sorted(
        outcome
            .suspects
            .iter()
            .map(|s| s.free_units as f64)
            .collect(),
    );
    DayChases {
        p1_calls: outcome
            .arrivals
            .iter()
            .filter(|a| a.priority == Priority::P1)
            .count(),
        chases: row(quantile(&delays, 0.5) / 60.0, true, &chased),
        report_delay_p50_s: quantile(&delays, 0.5),
        report_delay_max_s: delays.last().copied().unwrap_or(0.0),
        free_units_p50: quantile(&free, 0.5),
        units_ordered: outcome.suspects.iter().map(|s| s.units_ordered).sum(),
    }
}

/// The P3 calls' figures from the stations' answers.
fn routine_figures(config: &DrillConfig, outcome: &DrillOutcome) -> RoutineFigures {
    let times = sorted(
        outcome
            .station_responses
            .iter()
            .map(|r| r.response_s)
            .collect(),
    );
    let target = f64::from(config.p3_target_s);
    RoutineFigures {
        calls: outcome.routine_calls,
        answered: times.len(),
        target_s: config.p3_target_s,
        within_target: share(
            times.iter().filter(|&&s| s <= target).count(),
            outcome.routine_calls,
        ),
        p50_s: quantile(&times, 0.5),
        p90_s: quantile(&times, 0.9),
        driven_km: outcome
            .station_responses
            .iter()
            .map(|r| r.driven_m)
            .sum::<f64>()
            / 1000.0,
    }
}

impl DrillSummary {
    /// The zoned area within 180 s of a free unit over the day.
    pub fn coverage_180(&self) -> CoverageFigures {
        let shares = sorted(self.coverage.iter().map(|c| c.within_180s).collect());
        CoverageFigures {
            mean: shares.iter().sum::<f64>() / shares.len().max(1) as f64,
            p5: quantile(&shares, 0.05),
            min: shares.first().copied().unwrap_or(0.0),
        }
    }
}

impl std::fmt::Display for DrillSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "drill: {:.0} h, seed {}, policy {}: {} incidents, {} closed, {} commands, {} refused",
            self.hours,
            self.seed,
            self.policy,
            self.incidents,
            self.closed,
            self.commands,
            self.refused.len()
        )?;
        writeln!(
            f,
            "tier      target  sent  arrived  in time   p50 s   p90 s"
        )?;
        for t in &self.tiers {
            writeln!(
                f,
                "{:<9} {:>5} s {:>5} {:>8} {:>7.1}% {:>7.0} {:>7.0}",
                t.tier,
                t.target_s,
                t.sent,
                t.arrived,
                t.within_target * 100.0,
                t.p50_s,
                t.p90_s
            )?;
        }
        writeln!(
            f,
            "first unit  incidents  ≤60 s   ≤180 s   ≤300 s  p50 s  call→scene p50 s"
        )?;
        for p in &self.first_unit {
            writeln!(
                f,
                "{:<11} {:>9} {:>6.1}% {:>7.1}% {:>7.1}% {:>6.0} {:>17.0}",
                p.priority,
                p.incidents,
                p.within_60s * 100.0,
                p.within_180s * 100.0,
                p.within_300s * 100.0,
                p.p50_s,
                p.call_to_scene_p50_s
            )?;
        }
        if let Some(r) = &self.routine {
            writeln!(
                f,
                "P3 to the stations: {} calls, {} reached by road, {:.1}% within {} s, p50 {:.0} s, \
                 p90 {:.0} s, {:.0} km driven",
                r.calls,
                r.answered,
                r.within_target * 100.0,
                r.target_s,
                r.p50_s,
                r.p90_s,
                r.driven_km
            )?;
        }
        if let Some(s) = &self.suspects {
            let c = &s.chases;
            writeln!(
                f,
                "fleeing suspects: {} of {} P1 calls, the call a median {:.0} min after the escape \
                 (at most {:.0}), {:.0} units free at the median call, {} units ordered to crossings: \
                 {} caught (ring 1 {}, ring 2 {}, ring 3 {}), {} escaped (into the rest of Shanxi {}, \
                 into Henan {}); {} from the call to the catch; {} commands refused",
                c.flights,
                s.p1_calls,
                s.report_delay_p50_s / 60.0,
                s.report_delay_max_s / 60.0,
                s.free_units_p50,
                s.units_ordered,
                c.caught,
                c.caught_by_ring[0],
                c.caught_by_ring[1],
                c.caught_by_ring[2],
                c.flights - c.caught,
                c.escaped_by_ring[1],
                c.escaped_by_ring[2],
                c.median_to_catch_s
                    .map_or("no catch".to_string(), |s| format!(
                        "median {:.0} min",
                        s / 60.0
                    )),
                c.refused
            )?;
        }
        writeln!(
            f,
            "units drove {:.0} km, of which {:.0} km in {} move-ups",
            self.driven_km, self.move_up_km, self.move_ups
        )?;
        let c = self.coverage_180();
        write!(
            f,
            "units busy {:.1}% of the time on average; zoned area within 180 s: {:.1}% on average over the day, \
             {:.1}% at the 5th percentile, {:.1}% at worst",
            self.mean_utilisation * 100.0,
            c.mean * 100.0,
            c.p5 * 100.0,
            c.min * 100.0
        )
    }
}
