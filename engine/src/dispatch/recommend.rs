//! The recommendation: which units to send, per tier, with each one's exact
//! road ETA, and whether the 1-3-5 minute standard is met.
//!
//! Units are ranked fresh first: a stale unit (no fix within the stale
//! limit, or none since the shift began) comes after every fresh unit,
//! however close its last known position, and among stale units by ETA.
//!
//! - HANDLE: the first unit in that ranking. Under the coverage policy,
//!   when two or more fresh units meet the handle target, the one whose
//!   departure leaves the least of the city uncovered goes; ties by ETA.
//! - SUPPORT: the next distinct units. Under the coverage policy, when more
//!   fresh units meet the support target than are wanted, the set sent is
//!   the one whose departure *together with the units chosen before it*
//!   leaves the least uncovered: two units that back each other up each
//!   cost nothing alone, and are not both sent when a third unit in time
//!   keeps the city covered. Ties by total ETA.
//! - ENCIRCLE (P1): one unit to each of the most important exits of the
//!   incident's zone, assigned so that the latest arrival is as early as
//!   possible, within the scenario's budget (`dispatch/encircle.rs`), from
//!   the fresh units when there are enough of them for every exit held. The
//!   exits left unheld are listed, each with why.

use crate::dispatch::config::Policy;
use crate::dispatch::encircle::{RingInput, UnheldExit, encircle};
use crate::dispatch::state::DispatchState;
use crate::geo::LatLon;
use crate::incident::{Priority, Tier};
use crate::road::snap::SnapError;
use crate::route::{Cost, RouteQuery};

/// One unit to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Index of the unit in the scenario's units.
    pub unit: usize,
    /// What it is sent for.
    pub tier: Tier,
    /// Its road ETA and distance to its goal.
    pub eta: Cost,
    /// Whether the ETA meets the tier's target.
    pub meets_target: bool,
    /// Where it should drive: the incident or a zone exit.
    pub goal: LatLon,
    /// Why this unit, in one line.
    pub reason: String,
    /// Its position is older than the stale limit (or it has sent none
    /// since the shift began); the ETA counts from the last known position.
    /// A stale unit ranks after fresh ones and is never auto-assigned.
    pub stale: bool,
}

/// How one tier fares.
#[derive(Clone, Debug, PartialEq)]
pub struct TierOutcome {
    /// The tier.
    pub tier: Tier,
    /// Its target, seconds.
    pub target_s: u32,
    /// How many units it calls for.
    pub wanted: usize,
    /// How many are recommended.
    pub assigned: usize,
    /// Whether every wanted unit is recommended and meets the target.
    pub met: bool,
}

/// What to send to an incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    /// The incident's location as given.
    pub location: LatLon,
    /// How far it is from the road it was placed on.
    pub snap_distance_m: f64,
    /// Its patrol zone; `None` means outside every zone (the
    /// recommendation still stands, but has no exits to hold).
    pub zone: Option<usize>,
    /// The policy used.
    pub policy: Policy,
    /// Units to send, HANDLE first.
    pub candidates: Vec<Candidate>,
    /// One outcome per tier the priority calls for.
    pub tiers: Vec<TierOutcome>,
    /// Exits of the zone no unit is left to hold, most important first.
    pub uncovered_exits: Vec<LatLon>,
    /// The same exits, each with why it is not held.
    pub unheld_exits: Vec<UnheldExit>,
    /// The zoned area (m²) no dispatchable unit would reach within the
    /// support target once every unit recommended has left: the cost of
    /// the whole recommendation to the city's coverage (0 without a
    /// coverage map).
    pub departure_loss_m2: f64,
}

impl Recommendation {
    /// The candidates that may be confirmed with nobody looking
    /// (`auto_assign`): every one but the stale.
    pub fn auto_assignable(&self) -> impl Iterator<Item = &Candidate> + '_ {
        self.candidates.iter().filter(|c| !c.stale)
    }
}

/// The area (m²) a set of units' departure leaves uncovered, for subsets
/// of the candidates it was made for.
pub type SubsetLoss<'a> = Box<dyn Fn(&[usize]) -> f64 + 'a>;

/// How the coverage policy prices sending units: the area their departure
/// together leaves uncovered.
pub trait DepartureLoss {
    /// The joint loss of subsets of `candidates`: called once for each
    /// choice the policy makes, with every unit that choice may send (and
    /// those chosen before it), it gives the area (m²) that a subset's
    /// departure leaves uncovered.
    fn among<'a>(&'a self, candidates: &[usize]) -> SubsetLoss<'a>;
}

/// Any function of the set sent is a departure loss (tests, benchmarks).
impl<F: Fn(&[usize]) -> f64> DepartureLoss for F {
    fn among<'a>(&'a self, _candidates: &[usize]) -> SubsetLoss<'a> {
        Box::new(move |sent| self(sent))
    }
}

/// Subsets of one size the coverage policy compares one by one, at most;
/// beyond, it adds one unit at a time, each the one whose departure with
/// those before it costs least. (Two support units from 39 are 741
/// subsets.)
const MAX_SUBSETS: usize = 2_000;

/// Every `k`-subset of `0..n` in lexicographic order, or `None` when there
/// are more than `MAX_SUBSETS`.
fn subsets(n: usize, k: usize) -> Option<Vec<Vec<usize>>> {
    let mut count: usize = 1;
    for i in 0..k {
        count = count.checked_mul(n - i)? / (i + 1);
        if count > MAX_SUBSETS {
            return None;
        }
    }
    let mut all = Vec::with_capacity(count);
    let mut pick: Vec<usize> = (0..k).collect();
    loop {
        all.push(pick.clone());
        // The rightmost index that can still move right.
        let Some(i) = (0..k).rev().find(|&i| pick[i] < n - k + i) else {
            return Some(all);
        };
        pick[i] += 1;
        for j in i + 1..k {
            pick[j] = pick[j - 1] + 1;
        }
    }
}

/// Why there is no recommendation.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RecommendError {
    /// The location is too far from any road to drive to.
    #[error("the location is {distance_m:.0} m from the nearest road (at most {limit_m:.0} m)")]
    OffNetwork {
        /// Metres to the nearest road.
        distance_m: f64,
        /// The limit.
        limit_m: f64,
    },
    /// No unit can be sent: all are busy or out of service.
    #[error("no unit is dispatchable")]
    NothingDispatchable,
}

impl DispatchState {
    /// What to send to an incident at `at` of `priority`, at time `now_ms`.
    /// Changes nothing. `loss` prices the departure of the units the
    /// coverage policy may send (see [`DepartureLoss`]).
    pub fn recommend_with(
        &self,
        query: &mut RouteQuery,
        at: LatLon,
        priority: Priority,
        now_ms: i64,
        policy: Policy,
        loss: &dyn DepartureLoss,
    ) -> Result<Recommendation, RecommendError> {
        let world = self.world();
        let config = world.config();
        let snap = world.scenario().incident_snap();
        let snapped = world.scenario().router().graph().snap(at, &snap).map_err(
            |SnapError::OffNetwork {
                 distance_m,
                 limit_m,
             }| RecommendError::OffNetwork {
                distance_m,
                limit_m,
            },
        )?;
        let zone = world.zone_at(at);
        let etas = query.many_to_one(self.sources(), &snapped);
        // Fresh units first, then by ETA: (stale, ETA, slot).
        let mut pool: Vec<(bool, Cost, usize)> = etas
            .iter()
            .enumerate()
            .filter(|&(_, c)| c.is_reachable())
            .map(|(slot, &c)| (self.is_stale_at(slot, now_ms), c, slot))
            .collect();
        pool.sort_unstable();
        if pool.is_empty() {
            return Err(RecommendError::NothingDispatchable);
        }
        let mut candidates = Vec::new();
        let mut tiers = Vec::new();
        // The units chosen so far, whose departure each later choice adds to.
        let mut sent: Vec<usize> = Vec::new();

        let mut pick = |tier: Tier,
                        wanted: usize,
                        pool: &mut Vec<(bool, Cost, usize)>,
                        candidates: &mut Vec<Candidate>| {
            let target_s = world.target_s(tier);
            let target_ms = u64::from(target_s) * 1000;
            let in_time = |c: &Cost| u64::from(c.time_ms()) <= target_ms;
            // Fresh units in time, fastest first.
            let meeting: Vec<(Cost, usize)> = pool
                .iter()
                .filter(|(stale, c, _)| !stale && in_time(c))
                .map(|&(_, c, s)| (c, s))
                .collect();
            let within = meeting.len();
            let mut chosen: Vec<(Cost, usize, String)> = Vec::new();
            if policy == Policy::Coverage && within > wanted {
                // Several fresh units make it in time: send the set whose
                // departure, with the units chosen before, keeps the most
                // of the city covered.
                let mut among = sent.clone();
                among.extend(meeting.iter().map(|&(_, s)| s));
                let price = loss.among(&among);
                let cost_of = |picked: &[usize]| {
                    let mut all = sent.clone();
                    all.extend(picked.iter().map(|&i| meeting[i].1));
                    let eta: u64 = picked
                        .iter()
                        .map(|&i| u64::from(meeting[i].0.time_ms()))
                        .sum();
                    (price(&all), eta)
                };
                let best: Vec<usize> = match subsets(within, wanted) {
                    Some(all) => {
                        let mut best: Option<((f64, u64), Vec<usize>)> = None;
                        for picked in all {
                            let cost = cost_of(&picked);
                            let better = best.as_ref().is_none_or(|(b, _)| {
                                cost.0.total_cmp(&b.0).then(cost.1.cmp(&b.1)).is_lt()
                            });
                            if better {
                                best = Some((cost, picked));
                            }
                        }
                        best.map(|(_, p)| p).unwrap_or_default()
                    }
                    None => {
                        let mut picked: Vec<usize> = Vec::with_capacity(wanted);
                        for _ in 0..wanted {
                            let next = (0..within)
                                .filter(|i| !picked.contains(i))
                                .map(|i| {
                                    let mut trial = picked.clone();
                                    trial.push(i);
                                    (cost_of(&trial), i)
                                })
                                .min_by(|(a, i), (b, j)| {
                                    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(i.cmp(j))
                                });
                            if let Some((_, i)) = next {
                                picked.push(i);
                            }
                        }
                        picked
                    }
                };
                let joint = cost_of(&best).0;
                for &i in &best {
                    let (c, s) = meeting[i];
                    chosen.push((
                        c,
                        s,
                        format!(
                            "{within} units within {target_s} s; leaving from here uncovers the least \
                             ({:.2} km² with the units sent before it)",
                            joint / 1e6
                        ),
                    ));
                }
            } else {
                for (rank, &(stale, c, s)) in pool.iter().take(wanted).enumerate() {
                    let mut reason = if in_time(&c) {
                        format!(
                            "fastest available unit #{} ({} within {target_s} s)",
                            rank + 1,
                            within
                        )
                    } else {
                        format!(
                            "fastest available unit #{}, but over the {target_s} s target",
                            rank + 1
                        )
                    };
                    if stale {
                        reason.push_str("; position stale, ranked after every fresh unit");
                    }
                    chosen.push((c, s, reason));
                }
            }
            pool.retain(|(_, _, s)| !chosen.iter().any(|(_, c, _)| c == s));
            let met = chosen.len() == wanted && chosen.iter().all(|(c, _, _)| in_time(c));
            let assigned = chosen.len();
            for (eta, unit, reason) in chosen {
                sent.push(unit);
                candidates.push(Candidate {
                    unit,
                    tier,
                    eta,
                    meets_target: in_time(&eta),
                    goal: at,
                    reason,
                    stale: self.is_stale_at(unit, now_ms),
                });
            }
            TierOutcome {
                tier,
                target_s,
                wanted,
                assigned,
                met,
            }
        };

        tiers.push(pick(Tier::Handle, 1, &mut pool, &mut candidates));
        let support = config.support_wanted(priority);
        if support > 0 {
            tiers.push(pick(Tier::Support, support, &mut pool, &mut candidates));
        }
        let mut uncovered_exits = Vec::new();
        let mut unheld_exits = Vec::new();
        if priority == Priority::P1 {
            let exits = zone.map_or(&[][..], |z| world.exits(z));
            // Fresh units hold the exits when there are enough of them for
            // every exit the budget allows; otherwise stale ones join in.
            let fresh: Vec<usize> = pool.iter().filter(|p| !p.0).map(|p| p.2).collect();
            let held = exits.len().min(world.encircle().max_exits);
            let free: Vec<usize> = if fresh.len() >= held.min(pool.len()) {
                fresh
            } else {
                pool.iter().map(|p| p.2).collect()
            };
            // The reserve is of fresh units: a stale one (no fix within
            // the stale limit, or none since the shift began) covers no
            // other call and is never auto-assigned, so it is not kept.
            let fresh_free = self
                .fresh_free_units(now_ms)
                .filter(|&slot| !candidates.iter().any(|c| c.unit == slot))
                .count();
            let input = RingInput {
                exits,
                sources: self.sources(),
                pool: &free,
                free_in_city: fresh_free,
                budget: world.encircle(),
                target_s: world.target_s(Tier::Encircle),
            };
            let ring = encircle(query, &input, &|slot| self.is_stale_at(slot, now_ms));
            candidates.extend(ring.candidates);
            tiers.push(ring.outcome);
            uncovered_exits.extend(ring.unheld.iter().map(|u| u.at));
            unheld_exits = ring.unheld;
        }
        let everyone: Vec<usize> = candidates.iter().map(|c| c.unit).collect();
        let departure_loss_m2 = loss.among(&everyone)(&everyone);
        Ok(Recommendation {
            location: at,
            snap_distance_m: snapped.distance_m,
            zone,
            policy,
            candidates,
            tiers,
            uncovered_exits,
            unheld_exits,
            departure_loss_m2,
        })
    }
}
