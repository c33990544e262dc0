//! The best moves under the budget.
//!
//! Plans of up to two moves are searched exactly: every single move is
//! scored, then pairs by branch and bound. A pair's gain is the two single
//! gains plus their interaction, which is nonzero only on cells both
//! moves touch and positive only where one unit leaves a cell and the
//! other arrives: so `Δ₁ + Δ₂ + min(a₁, b₂) + min(b₁, a₂)` bounds it, with
//! `a` the arrival and `b` the departure part of each move's cells. Pairs
//! are visited by falling single gain and cut off once no bound can reach
//! the best plan found. Moves beyond two are added greedily, each the best
//! single move once the plan so far is made.
//!
//! Which plan is best: the higher expected coverage; within
//! [`EPSILON`], the higher share within the handle target; then fewer
//! moves; then the lower (slot, post) pairs. A plan is only advised when
//! each of its moves adds at least the minimum gain to what the plan
//! would be without it.

use std::cmp::Ordering;

use crate::dispatch::move_up::cell_set::{CellSet, each_bit, sum_over, sum_over_both};
use crate::dispatch::move_up::problem::{
    MoveUpProblem, Objective, PlannedMove, Terms, handle_change,
};
use crate::scenario::MoveUpConfig;

/// Objective values closer than this are equal (they are shares of the
/// calls, between 0 and 1; sums in different orders differ by ~1e-16).
pub const EPSILON: f64 = 1e-12;

/// One move of an advised plan, with what it does once the moves before
/// it are made.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanStep {
    /// The move.
    pub mv: PlannedMove,
    /// The expected coverage it adds.
    pub gain: f64,
    /// The share of the zoned area within the cover target, before and
    /// after it.
    pub city_share: (f64, f64),
    /// The zone it helps most (its share within the cover target rises
    /// the most), else the post's zone.
    pub zone: Option<usize>,
    /// That zone's share within the cover target, before and after.
    pub zone_share: (f64, f64),
}

/// The advised moves and what they buy.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveUpPlan {
    /// The moves, in the order they are explained.
    pub steps: Vec<PlanStep>,
    /// The objective now.
    pub before: Objective,
    /// The objective once every move is made.
    pub after: Objective,
    /// Single moves within the budget.
    pub moves_considered: usize,
    /// Pairs whose interaction was computed.
    pub pairs_evaluated: usize,
}

impl MoveUpPlan {
    /// The moves, in order.
    pub fn moves(&self) -> Vec<PlannedMove> {
        self.steps.iter().map(|s| s.mv).collect()
    }
}

/// A scored single move.
#[derive(Clone, Copy, Debug)]
struct Single {
    mv: PlannedMove,
    /// Its gain in expected coverage.
    delta: f64,
    /// Its gain in the handle criterion.
    delta_handle: f64,
    /// Σ of the leave-and-arrive term over the cells it arrives in.
    arrive: f64,
    /// Σ of the leave-and-arrive term over the cells it leaves.
    leave: f64,
}

/// A plan and its score, for comparing.
#[derive(Clone, Debug)]
struct Scored {
    value: f64,
    handle: f64,
    moves: Vec<PlannedMove>,
}

impl Scored {
    fn empty() -> Scored {
        Scored {
            value: 0.0,
            handle: 0.0,
            moves: Vec::new(),
        }
    }

    fn of(value: f64, handle: f64, mut moves: Vec<PlannedMove>) -> Scored {
        moves.sort_unstable();
        Scored {
            value,
            handle,
            moves,
        }
    }

    /// Whether this plan is preferred to `other`.
    fn beats(&self, other: &Scored) -> bool {
        compare(self.value, other.value)
            .then_with(|| compare(self.handle, other.handle))
            .then_with(|| other.moves.len().cmp(&self.moves.len()))
            .then_with(|| other.moves.cmp(&self.moves))
            == Ordering::Greater
    }
}

/// Two objective values, equal within [`EPSILON`].
fn compare(a: f64, b: f64) -> Ordering {
    if a > b + EPSILON {
        Ordering::Greater
    } else if a < b - EPSILON {
        Ordering::Less
    } else {
        Ordering::Equal
    }
}

impl MoveUpProblem<'_> {
    /// The least gain a move must add: `min_gain` of the calls, scaled by
    /// `1 − q` (the value of one unit in reach).
    pub fn min_gain(&self, config: &MoveUpConfig) -> f64 {
        config.min_gain * (1.0 - self.q)
    }

    /// The advised plan under `config`'s budget.
    pub fn solve(&self, config: &MoveUpConfig) -> MoveUpPlan {
        let threshold = self.min_gain(config);
        let terms = Terms::of(self);
        let singles = if config.max_moves == 0 {
            Vec::new()
        } else {
            self.singles(&terms, config.drive_limit_s)
        };
        let mut pairs_evaluated = 0;
        let mut best = Scored::empty();
        for s in &singles {
            let candidate = Scored::of(s.delta, s.delta_handle, vec![s.mv]);
            if s.delta >= threshold - EPSILON && candidate.beats(&best) {
                best = candidate;
            }
        }
        if config.max_moves >= 2 {
            self.best_pair(&terms, &singles, threshold, &mut best, &mut pairs_evaluated);
        }
        let mut moves = order_for_explaining(&best.moves, &singles);
        if moves.len() == 2 {
            while moves.len() < config.max_moves {
                let Some(next) = self.after(&moves).best_single(config, threshold) else {
                    break;
                };
                moves.push(next);
            }
        }
        self.explain(&moves, singles.len(), pairs_evaluated)
    }

    /// The best single move allowed, when one gains at least `threshold`.
    fn best_single(&self, config: &MoveUpConfig, threshold: f64) -> Option<PlannedMove> {
        let terms = Terms::of(self);
        let mut best = Scored::empty();
        for s in self.singles(&terms, config.drive_limit_s) {
            let candidate = Scored::of(s.delta, s.delta_handle, vec![s.mv]);
            if s.delta >= threshold - EPSILON && candidate.beats(&best) {
                best = candidate;
            }
        }
        best.moves.first().copied()
    }

    /// Every move the budget allows, scored.
    fn singles(&self, terms: &Terms, drive_limit_s: u32) -> Vec<Single> {
        let layout = self.layout;
        let w = &layout.weights;
        let n = w.len();
        let mut none_in_handle = vec![0u64; n.div_ceil(64)];
        let mut one_in_handle = vec![0u64; n.div_ceil(64)];
        for c in 0..n {
            match self.m[c] {
                0 => none_in_handle[c / 64] |= 1 << (c % 64),
                1 => one_in_handle[c / 64] |= 1 << (c % 64),
                _ => {}
            }
        }
        let masked = |set: &CellSet, mask: &[u64]| -> f64 {
            let mut sum = 0.0;
            for (i, (a, b)) in set.words().iter().zip(mask).enumerate() {
                each_bit(a & b, i, &mut |c| sum += w[c]);
            }
            sum
        };
        struct PostSums {
            arrive_gain: f64,
            arrive: f64,
            handle_gain: f64,
        }
        let posts: Vec<Option<PostSums>> = layout
            .posts
            .iter()
            .enumerate()
            .map(|(p, post)| {
                (!self.taken[p]).then(|| PostSums {
                    arrive_gain: sum_over(&post.cover, &terms.add),
                    arrive: sum_over(&post.cover, &terms.leave_and_arrive),
                    handle_gain: masked(&post.handle, &none_in_handle),
                })
            })
            .collect();
        let mut out = Vec::new();
        for (u, unit) in self.units.iter().enumerate() {
            if !unit.movable {
                continue;
            }
            let cover = &self.cover[u];
            let handle = &self.handle[u];
            let loss = sum_over(cover, &terms.remove);
            let leave_all = sum_over(cover, &terms.leave_and_arrive);
            let handle_loss = masked(handle, &one_in_handle);
            for (p, sums) in posts.iter().enumerate() {
                let Some(sums) = sums else { continue };
                let mv = PlannedMove { unit: u, post: p };
                if !self.allowed(mv, drive_limit_s) {
                    continue;
                }
                let post = &layout.posts[p];
                let shared = sum_over_both(cover, &post.cover, &terms.leave_and_arrive);
                let mut handle_kept = 0.0;
                for (i, ((a, b), mask)) in handle
                    .words()
                    .iter()
                    .zip(post.handle.words())
                    .zip(&one_in_handle)
                    .enumerate()
                {
                    each_bit(a & b & mask, i, &mut |c| handle_kept += w[c]);
                }
                out.push(Single {
                    mv,
                    delta: sums.arrive_gain - loss + shared,
                    delta_handle: sums.handle_gain - handle_loss + handle_kept,
                    arrive: sums.arrive - shared,
                    leave: leave_all - shared,
                });
            }
        }
        out
    }

    /// The exact change in expected coverage of two moves of different
    /// units to different posts, beyond the sum of their single gains.
    fn interaction(&self, terms: &Terms, a: &Single, b: &Single) -> f64 {
        let (ua, pa) = (&self.cover[a.mv.unit], &self.layout.posts[a.mv.post].cover);
        let (ub, pb) = (&self.cover[b.mv.unit], &self.layout.posts[b.mv.post].cover);
        let mut sum = 0.0;
        let words = ua.words().len();
        for i in 0..words {
            let (xu, xp) = (ua.words()[i], pa.words()[i]);
            let (yu, yp) = (ub.words()[i], pb.words()[i]);
            let (arrive_a, leave_a) = (xp & !xu, xu & !xp);
            let (arrive_b, leave_b) = (yp & !yu, yu & !yp);
            if (arrive_a | leave_a) & (arrive_b | leave_b) == 0 {
                continue;
            }
            each_bit(arrive_a & arrive_b, i, &mut |c| sum -= terms.both_arrive[c]);
            each_bit(leave_a & leave_b, i, &mut |c| sum -= terms.both_leave[c]);
            each_bit((arrive_a & leave_b) | (leave_a & arrive_b), i, &mut |c| {
                sum += terms.leave_and_arrive[c]
            });
        }
        sum
    }

    fn pair_handle(&self, a: &Single, b: &Single) -> f64 {
        handle_change(
            self,
            &[
                (
                    &self.handle[a.mv.unit],
                    &self.layout.posts[a.mv.post].handle,
                ),
                (
                    &self.handle[b.mv.unit],
                    &self.layout.posts[b.mv.post].handle,
                ),
            ],
        )
    }

    /// Branch and bound over pairs of `singles`, improving `best`.
    fn best_pair(
        &self,
        terms: &Terms,
        singles: &[Single],
        threshold: f64,
        best: &mut Scored,
        evaluated: &mut usize,
    ) {
        let mut order: Vec<&Single> = singles.iter().collect();
        order.sort_by(|a, b| b.delta.total_cmp(&a.delta).then(a.mv.cmp(&b.mv)));
        let n = order.len();
        if n < 2 {
            return;
        }
        let mut consider = |a: &Single, b: &Single, best: &mut Scored| {
            if a.mv.unit == b.mv.unit || a.mv.post == b.mv.post {
                return;
            }
            let bound = a.delta + b.delta + a.arrive.min(b.leave) + a.leave.min(b.arrive);
            if bound < best.value - EPSILON || bound < a.delta.max(b.delta) + threshold - EPSILON {
                return;
            }
            *evaluated += 1;
            let value = a.delta + b.delta + self.interaction(terms, a, b);
            // Each move must earn its place in the pair.
            if value - a.delta < threshold - EPSILON || value - b.delta < threshold - EPSILON {
                return;
            }
            if value < best.value - EPSILON {
                return;
            }
            let candidate = Scored::of(value, self.pair_handle(a, b), vec![a.mv, b.mv]);
            if candidate.beats(best) {
                *best = candidate;
            }
        };
        // A good plan early sharpens every cut: the best single move with
        // its best partner.
        let first = order[0];
        for b in &order[1..] {
            consider(first, b, best);
        }
        // suffix[i]: the largest a + b of any move from position i on.
        let mut suffix = vec![0.0f64; n + 1];
        for i in (0..n).rev() {
            suffix[i] = suffix[i + 1].max(order[i].arrive + order[i].leave);
        }
        for i in 0..n - 1 {
            let a = order[i];
            if a.delta + order[i + 1].delta + suffix[i + 1] < best.value - EPSILON {
                break;
            }
            for b in &order[i + 1..] {
                if a.delta + b.delta + a.arrive + a.leave < best.value - EPSILON {
                    break;
                }
                consider(a, b, best);
            }
        }
    }

    /// The plan's steps, each measured once the steps before it are made.
    fn explain(
        &self,
        moves: &[PlannedMove],
        moves_considered: usize,
        pairs_evaluated: usize,
    ) -> MoveUpPlan {
        let before = self.objective_now();
        let mut steps = Vec::with_capacity(moves.len());
        let mut now = self.after(&[]);
        let mut objective = before;
        let (mut city, mut zones) = now.area_shares();
        for (i, &mv) in moves.iter().enumerate() {
            let next = self.after(&moves[..=i]);
            let next_objective = next.objective_now();
            let (next_city, next_zones) = next.area_shares();
            let helped = zones
                .iter()
                .zip(&next_zones)
                .enumerate()
                .map(|(z, (a, b))| (z, b - a))
                .filter(|(_, rise)| *rise > EPSILON)
                .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.cmp(&x.0)))
                .map(|(z, _)| z);
            let zone = helped.or_else(|| self.layout.post_zone(mv.post));
            let zone_share = zone.map_or((0.0, 0.0), |z| {
                (
                    zones.get(z).copied().unwrap_or(0.0),
                    next_zones.get(z).copied().unwrap_or(0.0),
                )
            });
            steps.push(PlanStep {
                mv,
                gain: next_objective.expected - objective.expected,
                city_share: (city, next_city),
                zone,
                zone_share,
            });
            now = next;
            objective = next_objective;
            city = next_city;
            zones = next_zones;
        }
        MoveUpPlan {
            steps,
            before,
            after: now.objective_now(),
            moves_considered,
            pairs_evaluated,
        }
    }
}

/// The moves with the larger single gain first (a pair's first line is
/// the move that helps most on its own).
fn order_for_explaining(moves: &[PlannedMove], singles: &[Single]) -> Vec<PlannedMove> {
    let gain = |mv: &PlannedMove| {
        singles
            .iter()
            .find(|s| s.mv == *mv)
            .map_or(f64::NEG_INFINITY, |s| s.delta)
    };
    let mut ordered = moves.to_vec();
    ordered.sort_by(|a, b| gain(b).total_cmp(&gain(a)).then(a.cmp(b)));
    ordered
}
