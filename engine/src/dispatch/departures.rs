//! The area a set of units leaves uncovered when it departs together.
//!
//! [`CoverageMap::loss_without`] prices one unit's departure from the
//! per-cell best and second-best, which assumes every other unit stays:
//! two units that back each other up each cost nothing, and the pair
//! together may open a gap. [`Departures`] prices sets exactly: built
//! once for every unit a recommendation might send (its candidates), it
//! keeps the cells that only candidates reach within the time, each with
//! the set of candidates that reach it; a subset's joint loss is then the
//! area of the kept cells all of whose candidates it sends.

use crate::dispatch::coverage::CoverageMap;
use crate::route::Cost;

/// The joint departures of subsets of some candidate units, exactly.
#[derive(Clone, Debug)]
pub struct Departures {
    /// Each candidate's slot; bit `i` of a cell's set is `slots[i]`.
    slots: Vec<usize>,
    words: usize,
    /// The kept cells' candidate sets, `words` each, in cell order.
    reached_by: Vec<u64>,
    /// Their areas, m², in cell order.
    area_m2: Vec<f64>,
}

impl Departures {
    /// The departures of subsets of `candidates` (slots; repeats and
    /// slots the map does not know count once or not at all) from `map`,
    /// within `seconds`.
    pub fn new(map: &CoverageMap, candidates: &[usize], seconds: u32) -> Departures {
        let ms = u64::from(seconds) * 1000;
        let mut slots: Vec<usize> = Vec::with_capacity(candidates.len());
        for &s in candidates {
            if s < map.slots() && !slots.contains(&s) {
                slots.push(s);
            }
        }
        let words = slots.len().div_ceil(64).max(1);
        // Where each slot sits among the candidates, if it is one.
        let mut index = vec![u32::MAX; map.slots()];
        for (i, &s) in slots.iter().enumerate() {
            index[s] = i as u32;
        }
        let within = |eta: Cost| eta.is_reachable() && u64::from(eta.time_ms()) <= ms;
        let outsiders: Vec<usize> = (0..map.slots())
            .filter(|&s| index[s] == u32::MAX && map.is_dispatchable(s))
            .collect();
        let mut reached_by = Vec::new();
        let mut area_m2 = Vec::new();
        for (cell, zone_cell) in map.cells().iter().enumerate() {
            let Some(best) = map.best(cell) else { continue };
            if !within(best.eta) || index[best.slot] == u32::MAX {
                // Not reached in time now, or reached by a unit that stays.
                continue;
            }
            let second = map.second_best(cell).filter(|r| within(r.eta));
            match second {
                // The second fastest stays.
                Some(second) if index[second.slot] == u32::MAX => continue,
                // Both fastest are candidates: a unit that stays may be
                // third.
                Some(_) => {
                    let kept = outsiders.iter().any(|&s| {
                        map.row(s)
                            .and_then(|row| row.get(cell))
                            .is_some_and(|&eta| within(eta))
                    });
                    if kept {
                        continue;
                    }
                }
                // Only the fastest reaches it in time.
                None => {}
            }
            let start = reached_by.len();
            reached_by.resize(start + words, 0);
            for (i, &s) in slots.iter().enumerate() {
                if map
                    .row(s)
                    .and_then(|row| row.get(cell))
                    .is_some_and(|&eta| within(eta))
                {
                    reached_by[start + i / 64] |= 1 << (i % 64);
                }
            }
            area_m2.push(zone_cell.area_m2);
        }
        Departures {
            slots,
            words,
            reached_by,
            area_m2,
        }
    }

    /// The area, m², reached within the time now that no unit reaches once
    /// the units in `sent` have left. Slots that are not candidates are
    /// left out: their departure is not priced here.
    pub fn loss(&self, sent: &[usize]) -> f64 {
        let mut set = vec![0u64; self.words];
        for s in sent {
            if let Some(i) = self.slots.iter().position(|c| c == s) {
                set[i / 64] |= 1 << (i % 64);
            }
        }
        self.reached_by
            .chunks_exact(self.words)
            .zip(&self.area_m2)
            .filter(|(by, _)| by.iter().zip(&set).all(|(b, s)| b & !s == 0))
            .map(|(_, a)| a)
            .sum::<f64>()
            // An empty float sum is -0.0.
            + 0.0
    }
}

impl CoverageMap {
    /// The area, m², reached within `seconds` now that no dispatchable unit
    /// would reach once the units in `slots` have all left: their joint
    /// departure, exactly (a cell two of them back each other up on is
    /// lost when both go). For one slot it equals
    /// [`CoverageMap::loss_without`].
    pub fn joint_loss(&self, slots: &[usize], seconds: u32) -> f64 {
        Departures::new(self, slots, seconds).loss(slots)
    }
}
