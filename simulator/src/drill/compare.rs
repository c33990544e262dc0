//! Two ways of dispatching on the same days (two policies, or the same
//! policy with today's encirclement and the budgeted one): each seed's
//! calls are the same under both, so the difference per seed is a paired
//! sample, and its mean comes with a 95 % confidence interval from
//! Student's t.

use std::sync::Arc;

use kuaifan_engine::{Policy, World};
use serde::Serialize;

use crate::drill::run::{DrillConfig, run};
use crate::drill::summary::DrillSummary;

/// One figure's difference between the policies, `second − first`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricDifference {
    /// What is compared.
    pub metric: String,
    /// Its mean under the first policy.
    pub first_mean: f64,
    /// Its mean under the second.
    pub second_mean: f64,
    /// The mean paired difference.
    pub difference: f64,
    /// Half the width of its 95 % confidence interval.
    pub ci95: f64,
}

/// A comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The first policy.
    pub first: String,
    /// The second.
    pub second: String,
    /// The seeds run.
    pub seeds: Vec<u64>,
    /// The figures compared.
    pub differences: Vec<MetricDifference>,
    /// Every run.
    pub runs: Vec<DrillSummary>,
}

/// Student's t at 97.5 % for 1 to 30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

fn mean_and_ci(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, f64::INFINITY);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = T_975.get(n - 2).copied().unwrap_or(1.96);
    (mean, t * (var / n as f64).sqrt())
}

/// The figures compared: the share of P1 and P2 incidents whose first
/// unit arrived within 60 s and within 180 s, the share of both together
/// whose first unit came later than 180 s, each tier's share in time,
/// and the zoned area within 180 s of a free unit over the day (mean, 5th
/// percentile, minimum).
fn metrics(s: &DrillSummary) -> Figures {
    let mut out = Vec::new();
    let urgent: Vec<_> = s.first_unit.iter().filter(|p| p.priority != "P3").collect();
    for p in &urgent {
        out.push((format!("{} first unit ≤60 s", p.priority), p.within_60s));
        out.push((format!("{} first unit ≤180 s", p.priority), p.within_180s));
    }
    // Late first arrivals, P1 and P2 together: the move-up goal's figure.
    let calls: usize = urgent.iter().map(|p| p.incidents).sum();
    let late: f64 = urgent
        .iter()
        .map(|p| p.incidents as f64 * (1.0 - p.within_180s))
        .sum();
    out.push((
        "P1+P2 first unit >180 s".to_string(),
        if calls == 0 { 0.0 } else { late / calls as f64 },
    ));
    for t in &s.tiers {
        out.push((format!("{} in time", t.tier), t.within_target));
    }
    let c = s.coverage_180();
    out.push(("area ≤180 s, mean".to_string(), c.mean));
    out.push(("area ≤180 s, 5th pct".to_string(), c.p5));
    out.push(("area ≤180 s, minimum".to_string(), c.min));
    out
}

/// One way of dispatching a drill.
#[derive(Clone, Debug)]
pub struct Arm {
    /// How the report names it.
    pub name: String,
    /// The world it dispatches in (the encirclement's budget is the
    /// world's).
    pub world: Arc<World>,
    /// The policy.
    pub policy: Policy,
    /// Whether the dispatcher takes every move-up advised.
    pub move_up: bool,
}

/// Named figures of one run.
type Figures = Vec<(String, f64)>;

/// Runs both policies on each seed and compares them.
pub fn compare(
    world: &Arc<World>,
    base: &DrillConfig,
    policies: (Policy, Policy),
    seeds: &[u64],
) -> Comparison {
    let arm = |policy: Policy| Arm {
        name: format!("{policy:?}").to_lowercase(),
        world: world.clone(),
        policy,
        move_up: false,
    };
    compare_arms(&[arm(policies.0), arm(policies.1)], base, seeds)
}

/// Runs both arms on each seed and compares them.
pub fn compare_arms(arms: &[Arm; 2], base: &DrillConfig, seeds: &[u64]) -> Comparison {
    let mut runs = Vec::new();
    let mut pairs: Vec<(Figures, Figures)> = Vec::new();
    for &seed in seeds {
        let mut pair = Vec::new();
        for arm in arms {
            let config = DrillConfig {
                seed,
                policy: arm.policy,
                move_up: arm.move_up,
                ..base.clone()
            };
            let outcome = run(&arm.world, &config);
            let summary = DrillSummary::new(&config, &outcome);
            log::info!(
                "seed {seed}, {}: {} incidents in {:.1} s",
                arm.name,
                summary.incidents,
                outcome.wall_s
            );
            pair.push(metrics(&summary));
            runs.push(summary);
        }
        let second = pair.pop().unwrap_or_default();
        let first = pair.pop().unwrap_or_default();
        pairs.push((first, second));
    }
    let names: Vec<String> = pairs
        .first()
        .map(|(f, _)| f.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let differences = names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let firsts: Vec<f64> = pairs.iter().map(|(f, _)| f[k].1).collect();
            let seconds: Vec<f64> = pairs.iter().map(|(_, s)| s[k].1).collect();
            let diffs: Vec<f64> = firsts.iter().zip(&seconds).map(|(a, b)| b - a).collect();
            let (difference, ci95) = mean_and_ci(&diffs);
            MetricDifference {
                metric: name.clone(),
                first_mean: mean_and_ci(&firsts).0,
                second_mean: mean_and_ci(&seconds).0,
                difference,
                ci95,
            }
        })
        .collect();
    Comparison {
        first: arms[0].name.clone(),
        second: arms[1].name.clone(),
        seeds: seeds.to_vec(),
        differences,
        runs,
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} vs {} on {} seeds (paired; difference = {} − {}, 95 % CI)",
            self.first,
            self.second,
            self.seeds.len(),
            self.second,
            self.first
        )?;
        for d in &self.differences {
            writeln!(
                f,
                "{:<26} {:>6.1}%  {:>6.1}%  {:>+6.1} ± {:.1} points",
                d.metric,
                d.first_mean * 100.0,
                d.second_mean * 100.0,
                d.difference * 100.0,
                d.ci95 * 100.0
            )?;
        }
        // Runs alternate between the arms, seed by seed.
        let arm = |k: usize| self.runs.iter().skip(k).step_by(2);
        let per_run = |k: usize, f: &dyn Fn(&DrillSummary) -> f64| {
            arm(k).map(f).sum::<f64>() / arm(k).count().max(1) as f64
        };
        writeln!(
            f,
            "{:<26} {:>6.0} km {:>6.0} km  (move-ups {:.0} and {:.0} a day, {:.0} and {:.0} km of them)",
            "unit-km driven a day",
            per_run(0, &|s| s.driven_km * 24.0 / s.hours.max(1e-9)),
            per_run(1, &|s| s.driven_km * 24.0 / s.hours.max(1e-9)),
            per_run(0, &|s| s.move_ups as f64 * 24.0 / s.hours.max(1e-9)),
            per_run(1, &|s| s.move_ups as f64 * 24.0 / s.hours.max(1e-9)),
            per_run(0, &|s| s.move_up_km * 24.0 / s.hours.max(1e-9)),
            per_run(1, &|s| s.move_up_km * 24.0 / s.hours.max(1e-9)),
        )?;
        Ok(())
    }
}
