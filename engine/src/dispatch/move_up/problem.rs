//! One moment's move-up question: where the free units are, which of them
//! may move, and how busy the fleet is; and the expected coverage that
//! answers it.
//!
//! The objective is the expected coverage of the calls in the spirit of
//! MEXCLP (Daskin 1983) and its dynamic form DMEXCLP (Jagtenberg, Bhulai
//! and van der Mei 2015): a cell reached within the cover target by `k`
//! free units counts its share of the calls times `1 − q^k`, where `q` is
//! the fraction of the fleet busy now (the chance that any one of them is
//! taken when the next call comes). The share of calls reached within the
//! handle target by at least one unit is the second criterion.

use std::sync::Arc;

use crate::dispatch::move_up::cell_set::{CellSet, each_bit};
use crate::dispatch::move_up::layout::MoveUpLayout;
use crate::route::Cost;

/// A unit that can be sent now, as the advice sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct FreeUnit {
    /// Its slot (its position in the scenario's units).
    pub slot: usize,
    /// Its ETA to every cell from where it counts: where it is, or the
    /// post it is driving to after a move-up.
    pub row: Arc<[Cost]>,
    /// The post it belongs to (its standby point or the post it was moved
    /// to); no other unit is advised there.
    pub post: Option<usize>,
    /// Whether it may be moved (it was not moved within the hold time).
    pub movable: bool,
    /// Its drive time to every post, in post order; [`Cost::UNREACHABLE`]
    /// where unknown.
    pub drive: Vec<Cost>,
}

/// One move of a plan: unit `unit` (a position in the problem's units)
/// drives to post `post`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlannedMove {
    /// The unit's position in [`MoveUpProblem::units`].
    pub unit: usize,
    /// The post.
    pub post: usize,
}

/// The two criteria of a placement of the free units.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Objective {
    /// Expected coverage: the share of the calls a free unit will reach
    /// within the cover target, counting each cell `1 − q^k`.
    pub expected: f64,
    /// The share of the calls reached within the handle target by at
    /// least one free unit.
    pub within_handle: f64,
}

/// The free units at one moment, their posts and how busy the fleet is.
#[derive(Clone, Debug)]
pub struct MoveUpProblem<'l> {
    pub(crate) layout: &'l MoveUpLayout,
    pub(crate) units: Vec<FreeUnit>,
    pub(crate) q: f64,
    /// Each unit's cells within the cover and the handle target.
    pub(crate) cover: Vec<CellSet>,
    pub(crate) handle: Vec<CellSet>,
    /// Per cell: free units within the cover target, and within the
    /// handle target.
    pub(crate) k: Vec<u16>,
    pub(crate) m: Vec<u16>,
    /// Posts no unit may be advised to: those free units belong to.
    pub(crate) taken: Vec<bool>,
}

impl<'l> MoveUpProblem<'l> {
    /// The problem of `units` (free units, ordered by slot) on `layout`,
    /// with `busy_fraction` of the fleet busy (clamped to [0, 1]; `NaN` is
    /// 0).
    pub fn new(
        layout: &'l MoveUpLayout,
        mut units: Vec<FreeUnit>,
        busy_fraction: f64,
    ) -> MoveUpProblem<'l> {
        units.sort_by_key(|u| u.slot);
        let q = if busy_fraction.is_nan() {
            0.0
        } else {
            busy_fraction.clamp(0.0, 1.0)
        };
        let n = layout.weights.len();
        let cover: Vec<CellSet> = units
            .iter()
            .map(|u| CellSet::within(&u.row, n, layout.cover_ms))
            .collect();
        let handle: Vec<CellSet> = units
            .iter()
            .map(|u| CellSet::within(&u.row, n, layout.handle_ms))
            .collect();
        let mut k = vec![0u16; n];
        let mut m = vec![0u16; n];
        for set in &cover {
            set.for_each(|c| k[c] = k[c].saturating_add(1));
        }
        for set in &handle {
            set.for_each(|c| m[c] = m[c].saturating_add(1));
        }
        let mut taken = vec![false; layout.posts.len()];
        for u in &units {
            if let Some(t) = u.post.and_then(|p| taken.get_mut(p)) {
                *t = true;
            }
        }
        MoveUpProblem {
            layout,
            units,
            q,
            cover,
            handle,
            k,
            m,
            taken,
        }
    }

    /// The free units, ordered by slot.
    pub fn units(&self) -> &[FreeUnit] {
        &self.units
    }

    /// The busy fraction `q` the objective uses.
    pub fn busy_fraction(&self) -> f64 {
        self.q
    }

    /// The layout.
    pub fn layout(&self) -> &'l MoveUpLayout {
        self.layout
    }

    /// The objective now, with no move.
    pub fn objective_now(&self) -> Objective {
        let w = &self.layout.weights;
        let mut expected = 0.0;
        let mut within_handle = 0.0;
        for ((weight, &k), &m) in w.iter().zip(&self.k).zip(&self.m) {
            expected += weight * (1.0 - self.q.powi(i32::from(k)));
            if m > 0 {
                within_handle += weight;
            }
        }
        Objective {
            expected,
            within_handle,
        }
    }

    /// The objective once `moves` are made (each unit counted at its new
    /// post), recounted from the rows.
    pub fn objective_after(&self, moves: &[PlannedMove]) -> Objective {
        self.after(moves).objective_now()
    }

    /// Whether a move keeps to the budget on its own: the unit may move,
    /// the post exists and no free unit belongs to it, and the drive is
    /// within `drive_limit_s`.
    pub fn allowed(&self, mv: PlannedMove, drive_limit_s: u32) -> bool {
        let Some(unit) = self.units.get(mv.unit) else {
            return false;
        };
        let drive = unit.drive.get(mv.post).copied();
        unit.movable
            && mv.post < self.layout.posts.len()
            && !self.taken[mv.post]
            && drive.is_some_and(|d| {
                d.is_reachable() && u64::from(d.time_ms()) <= u64::from(drive_limit_s) * 1000
            })
    }

    /// The problem once `moves` are made: each moved unit counts at its
    /// post, belongs to it and may not move again; the posts the moved
    /// units left stay taken, as in the plan they were part of.
    pub(crate) fn after(&self, moves: &[PlannedMove]) -> MoveUpProblem<'l> {
        let mut next = self.clone();
        for mv in moves {
            let (Some(unit), Some(post)) =
                (next.units.get_mut(mv.unit), self.layout.posts.get(mv.post))
            else {
                continue;
            };
            unit.row = Arc::clone(&post.row);
            unit.post = Some(mv.post);
            unit.movable = false;
            if let Some(t) = next.taken.get_mut(mv.post) {
                *t = true;
            }
            let (k, m) = (&mut next.k, &mut next.m);
            next.cover[mv.unit].for_each(|c| k[c] = k[c].saturating_sub(1));
            post.cover.for_each(|c| k[c] = k[c].saturating_add(1));
            next.handle[mv.unit].for_each(|c| m[c] = m[c].saturating_sub(1));
            post.handle.for_each(|c| m[c] = m[c].saturating_add(1));
            next.cover[mv.unit] = post.cover.clone();
            next.handle[mv.unit] = post.handle.clone();
        }
        next
    }

    /// The share of the zoned area within the cover target of a free unit,
    /// overall and per zone (area-weighted, as the coverage map counts).
    pub(crate) fn area_shares(&self) -> (f64, Vec<f64>) {
        let layout = self.layout;
        let mut zone_m2 = vec![0.0; layout.zone_count()];
        let mut all = 0.0;
        for c in 0..self.k.len() {
            if self.k[c] > 0 {
                all += layout.areas[c];
                zone_m2[layout.zones[c]] += layout.areas[c];
            }
        }
        let share = |covered: f64, area: f64| if area > 0.0 { covered / area } else { 0.0 };
        let zones = zone_m2
            .iter()
            .enumerate()
            .map(|(z, &m2)| share(m2, layout.zone_area_m2(z)))
            .collect();
        (share(all, layout.area_m2()), zones)
    }
}

/// Per-cell terms of the change in expected coverage, at one moment.
pub(crate) struct Terms {
    /// Gain of one more unit reaching the cell: w (1−q) q^k.
    pub(crate) add: Vec<f64>,
    /// Loss of one unit fewer: w (1−q) q^(k−1); 0 where none reaches it.
    pub(crate) remove: Vec<f64>,
    /// w (1−q)² q^(k−1): what a unit leaving and one arriving share.
    pub(crate) leave_and_arrive: Vec<f64>,
    /// w (1−q)² q^k: what two arriving units lose to each other.
    pub(crate) both_arrive: Vec<f64>,
    /// w (1−q)² q^(k−2): what two leaving units lose more together.
    pub(crate) both_leave: Vec<f64>,
}

impl Terms {
    pub(crate) fn of(problem: &MoveUpProblem<'_>) -> Terms {
        let q = problem.q;
        let w = &problem.layout.weights;
        let n = w.len();
        let max_k = problem.k.iter().copied().max().unwrap_or(0);
        let powers: Vec<f64> = (0..=i32::from(max_k) + 1).map(|e| q.powi(e)).collect();
        let pow = |e: i32| -> f64 {
            if e < 0 {
                0.0
            } else {
                powers.get(e as usize).copied().unwrap_or(0.0)
            }
        };
        let (one, two) = (1.0 - q, (1.0 - q) * (1.0 - q));
        let mut terms = Terms {
            add: Vec::with_capacity(n),
            remove: Vec::with_capacity(n),
            leave_and_arrive: Vec::with_capacity(n),
            both_arrive: Vec::with_capacity(n),
            both_leave: Vec::with_capacity(n),
        };
        for (c, &weight) in w.iter().enumerate() {
            let k = i32::from(problem.k[c]);
            terms.add.push(weight * one * pow(k));
            terms.remove.push(weight * one * pow(k - 1));
            terms.leave_and_arrive.push(weight * two * pow(k - 1));
            terms.both_arrive.push(weight * two * pow(k));
            terms.both_leave.push(weight * two * pow(k - 2));
        }
        terms
    }
}

/// The change in the handle criterion from a set of moves, counted over
/// the cells they touch: `(left, arrived)` handle sets.
pub(crate) fn handle_change(problem: &MoveUpProblem<'_>, moves: &[(&CellSet, &CellSet)]) -> f64 {
    let w = &problem.layout.weights;
    let words = problem.k.len().div_ceil(64);
    let mut change = 0.0;
    for i in 0..words {
        let touched = moves
            .iter()
            .fold(0u64, |acc, (l, a)| acc | l.words()[i] | a.words()[i]);
        each_bit(touched, i, &mut |c| {
            let bit = 1u64 << (c % 64);
            let mut m = i32::from(problem.m[c]);
            for (l, a) in moves {
                m -= i32::from(l.words()[i] & bit != 0);
                m += i32::from(a.words()[i] & bit != 0);
            }
            let before = problem.m[c] > 0;
            let after = m > 0;
            if before != after {
                change += if after { w[c] } else { -w[c] };
            }
        });
    }
    change
}
