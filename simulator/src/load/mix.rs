//! The mix of requests a load run sends, e.g.
//! `recommend=85,report=5,positions=5,coverage=5`.

use std::fmt;
use std::str::FromStr;

use rand::{Rng, RngExt};

/// The kinds of request in a mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A what-if `Recommend`.
    Recommend,
    /// A `ReportIncident` (not assigned, so units stay free).
    Report,
    /// A one-fix `ReportPositions` stream, as a terminal reconnecting.
    Positions,
    /// A `GetCoverage` at the map's resolution.
    Coverage,
    /// A `grpc.health.v1.Health/Check`: the floor of what any call costs
    /// over this transport, to set the others against.
    Health,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Recommend,
        Kind::Report,
        Kind::Positions,
        Kind::Coverage,
        Kind::Health,
    ];

    /// Its name in mixes and reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Recommend => "recommend",
            Kind::Report => "report",
            Kind::Positions => "positions",
            Kind::Coverage => "coverage",
            Kind::Health => "health",
        }
    }
}

/// Weights per kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    weights: Vec<(Kind, f64)>,
    total: f64,
}

impl Mix {
    /// Only recommendations.
    pub fn recommend_only() -> Mix {
        Mix {
            weights: vec![(Kind::Recommend, 1.0)],
            total: 1.0,
        }
    }

    /// A kind drawn by weight.
    pub fn draw(&self, rng: &mut impl Rng) -> Kind {
        let mut pick = rng.random_range(0.0..self.total);
        for &(kind, weight) in &self.weights {
            if pick < weight {
                return kind;
            }
            pick -= weight;
        }
        self.weights[self.weights.len() - 1].0
    }
}

/// Why a mix was refused.
#[derive(Debug, thiserror::Error)]
#[error("mix {text:?}: {problem}")]
pub struct BadMix {
    text: String,
    problem: String,
}

impl FromStr for Mix {
    type Err = BadMix;
    fn from_str(text: &str) -> Result<Mix, BadMix> {
        let bad = |problem: String| BadMix {
            text: text.to_string(),
            problem,
        };
        let mut weights = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("{part:?} is not kind=weight")))?;
            let kind = Kind::ALL
                .into_iter()
                .find(|k| k.name() == name.trim())
                .ok_or_else(|| {
                    bad(format!(
                        "{name:?} is not one of recommend, report, positions, coverage, health"
                    ))
                })?;
            let weight: f64 = weight
                .trim()
                .parse()
                .ok()
                .filter(|w: &f64| w.is_finite() && *w >= 0.0)
                .ok_or_else(|| bad(format!("{weight:?} is not a weight")))?;
            if weights.iter().any(|(k, _)| *k == kind) {
                return Err(bad(format!("{name} is given twice")));
            }
            if weight > 0.0 {
                weights.push((kind, weight));
            }
        }
        let total = weights.iter().map(|(_, w)| w).sum();
        if weights.is_empty() {
            return Err(bad("no kind has a positive weight".to_string()));
        }
        Ok(Mix { weights, total })
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .weights
            .iter()
            .map(|(k, w)| format!("{}={w}", k.name()))
            .collect();
        f.write_str(&parts.join(","))
    }
}
