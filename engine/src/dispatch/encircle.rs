//! ENCIRCLE under a budget: the most important exits of the incident's
//! zone held by free units, the latest arrival as early as possible (an
//! exact bottleneck assignment), but at most `[encircle] max_exits` exits
//! and never the city's last `[encircle] reserve` fresh free units (a
//! stale unit is no coverage for the next call, so it is never what the
//! reserve keeps). Every exit
//! left unheld says why, so the dispatcher can decide to name units.

use crate::dispatch::bottleneck::{NO_ROUTE, bottleneck_assignment};
use crate::dispatch::recommend::{Candidate, TierOutcome};
use crate::dispatch::world::ExitTarget;
use crate::geo::LatLon;
use crate::incident::Tier;
use crate::route::{Cost, RouteQuery, SourceSet};
use crate::scenario::EncircleConfig;

/// Why an exit is not held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unheld {
    /// It is past the most exits an encirclement holds.
    ExitLimit {
        /// `[encircle] max_exits`.
        max_exits: usize,
    },
    /// Holding it would take one of the city's last fresh free units.
    Reserve {
        /// `[encircle] reserve`.
        reserve: usize,
        /// Fresh free units in the city after HANDLE and SUPPORT.
        free: usize,
    },
    /// No free unit can reach it by road.
    Unreachable,
    /// The free units that reach it all hold more important exits.
    NoUnitLeft,
}

/// An exit of the incident's zone that the recommendation leaves unheld.
#[derive(Clone, Debug, PartialEq)]
pub struct UnheldExit {
    /// Its index among the zone's exits (0 is the most important).
    pub exit: usize,
    /// The crossing point.
    pub at: LatLon,
    /// Its road's class rank.
    pub rank: u8,
    /// Why it is not held.
    pub why: Unheld,
    /// The same in one line, for the dispatcher.
    pub reason: String,
}

/// The ENCIRCLE part of a recommendation.
pub(crate) struct Ring {
    pub candidates: Vec<Candidate>,
    pub outcome: TierOutcome,
    pub unheld: Vec<UnheldExit>,
}

/// What the ring is chosen from.
pub(crate) struct RingInput<'a> {
    /// The zone's exits, most important first.
    pub exits: &'a [ExitTarget],
    /// Every unit's position, as the route queries take them.
    pub sources: &'a SourceSet,
    /// Units that can still be sent (reachable, not already chosen).
    pub pool: &'a [usize],
    /// Fresh free units in the whole city after HANDLE and SUPPORT: what
    /// the reserve is counted against. Stale units are not among them:
    /// they are no coverage for another call and are never auto-assigned.
    pub free_in_city: usize,
    /// The budget.
    pub budget: EncircleConfig,
    /// ENCIRCLE's target, seconds.
    pub target_s: u32,
}

/// Chooses the ring. `stale(unit)` marks units whose position is old.
pub(crate) fn encircle(
    query: &mut RouteQuery,
    input: &RingInput<'_>,
    stale: &dyn Fn(usize) -> bool,
) -> Ring {
    let RingInput {
        exits,
        sources,
        pool,
        free_in_city,
        budget,
        target_s,
    } = *input;
    let wanted = exits.len().min(budget.max_exits);
    // A ring of k units leaves at least `free_in_city - k` fresh units
    // free, whichever of the pool it takes, so k is held to
    // `free_in_city - reserve`. With no reserve every unit of the pool,
    // stale ones included, may hold an exit.
    let by_reserve = if budget.reserve == 0 {
        pool.len()
    } else {
        free_in_city.saturating_sub(budget.reserve)
    };
    let units_allowed = by_reserve.min(pool.len());
    let mut rows: Vec<usize> = Vec::new();
    let mut matrix: Vec<Vec<u64>> = Vec::new();
    let mut unheld: Vec<(usize, Unheld)> = Vec::new();
    for (e, exit) in exits.iter().enumerate() {
        if rows.len() == wanted {
            unheld.push((
                e,
                Unheld::ExitLimit {
                    max_exits: budget.max_exits,
                },
            ));
            continue;
        }
        let costs = query.many_to_space(sources, &exit.space);
        let row: Vec<u64> = pool
            .iter()
            .map(|&s| {
                costs
                    .get(s)
                    .copied()
                    .filter(|c| c.is_reachable())
                    .map_or(NO_ROUTE, |c| c.to_bits())
            })
            .collect();
        if row.iter().all(|&c| c == NO_ROUTE) {
            unheld.push((e, Unheld::Unreachable));
        } else if rows.len() == units_allowed {
            let why = if by_reserve < pool.len() {
                Unheld::Reserve {
                    reserve: budget.reserve,
                    free: free_in_city,
                }
            } else {
                Unheld::NoUnitLeft
            };
            unheld.push((e, why));
        } else {
            rows.push(e);
            matrix.push(row);
        }
    }
    // Exits that only the same few units reach cannot all be held: the
    // least important give way until the rest can.
    let (bottleneck, assignment) = loop {
        if let Some(found) = bottleneck_assignment(&matrix) {
            break found;
        }
        if let Some(e) = rows.pop() {
            matrix.pop();
            unheld.push((e, Unheld::NoUnitLeft));
        }
    };
    let mut candidates = Vec::with_capacity(rows.len());
    let mut in_time = true;
    for (row, &column) in assignment.iter().enumerate() {
        let exit = &exits[rows[row]];
        let unit = pool[column];
        let eta = Cost::from_bits(matrix[row][column]);
        let meets = eta.seconds() <= f64::from(target_s);
        in_time &= meets;
        candidates.push(Candidate {
            unit,
            tier: Tier::Encircle,
            eta,
            meets_target: meets,
            goal: exit.at,
            reason: format!(
                "holds exit {} of {} (class rank {}); latest arrival of the ring {:.0} s",
                rows[row] + 1,
                exits.len(),
                exit.rank,
                Cost::from_bits(bottleneck).seconds()
            ),
            stale: stale(unit),
        });
    }
    unheld.sort_unstable_by_key(|&(e, _)| e);
    let held = candidates.len();
    let unheld = unheld
        .into_iter()
        .map(|(e, why)| UnheldExit {
            exit: e,
            at: exits[e].at,
            rank: exits[e].rank,
            why,
            reason: explain(e, exits.len(), exits[e].rank, why, held),
        })
        .collect();
    Ring {
        outcome: TierOutcome {
            tier: Tier::Encircle,
            target_s,
            wanted,
            assigned: held,
            met: held == wanted && in_time,
        },
        candidates,
        unheld,
    }
}

fn explain(exit: usize, of: usize, rank: u8, why: Unheld, held: usize) -> String {
    let which = format!("exit {} of {of} (class rank {rank}) is not held", exit + 1);
    match why {
        Unheld::ExitLimit { max_exits } => format!(
            "{which}: an encirclement holds at most {max_exits} exits, the most important first"
        ),
        Unheld::Reserve { reserve, free } if held == 0 => format!(
            "{which}: only {free} fresh units are free after HANDLE and SUPPORT, and the city keeps \
             its last {reserve} to cover other calls; name units to send them anyway"
        ),
        Unheld::Reserve { reserve, free } => format!(
            "{which}: {free} fresh units are free after HANDLE and SUPPORT, {held} hold exits and \
             the last {reserve} stay to cover other calls; name units to send them anyway"
        ),
        Unheld::Unreachable => format!("{which}: no free unit can reach it by road"),
        Unheld::NoUnitLeft => {
            format!("{which}: every free unit that reaches it holds a more important exit")
        }
    }
}
