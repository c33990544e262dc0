//! Queries on a contraction hierarchy: one-to-one, many-to-one against
//! cached source search spaces, and one-to-many.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::road::snap::Snapped;
use crate::route::Cost;
use crate::route::hierarchy::{Climb, Hierarchy, Router};
use crate::route::space::{SearchSpace, SourceSet, SourceSpace, SpaceSet, TargetSet, TargetSpace};

pub(crate) const NONE: u32 = u32::MAX;

/// What a search knows of a node: its tentative cost and how it was reached
/// (the previous node and the hierarchy edge used), side by side so one
/// cache line serves both.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Label {
    pub(crate) cost: Cost,
    pub(crate) parent: u32,
    pub(crate) edge: u32,
}

const UNLABELLED: Label = Label {
    cost: Cost::UNREACHABLE,
    parent: NONE,
    edge: NONE,
};

/// One direction of a search.
#[derive(Debug)]
pub(crate) struct Side {
    climb: Climb,
    pub(crate) labels: Vec<Label>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(Cost, u32)>>,
    /// Nodes settled and not stalled, in settling order.
    settled: Vec<(u32, Cost)>,
}

impl Side {
    fn new(n: usize, climb: Climb) -> Self {
        Self {
            climb,
            labels: vec![UNLABELLED; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
            settled: Vec::new(),
        }
    }

    pub(crate) fn start(&mut self, starts: impl Iterator<Item = (u32, Cost)>) {
        for &n in &self.touched {
            self.labels[n as usize] = UNLABELLED;
        }
        self.touched.clear();
        self.heap.clear();
        self.settled.clear();
        for (node, cost) in starts {
            self.improve(node, cost, NONE, NONE);
        }
    }

    #[inline]
    fn improve(&mut self, node: u32, cost: Cost, parent: u32, edge: u32) {
        let label = &mut self.labels[node as usize];
        if cost < label.cost {
            if !label.cost.is_reachable() {
                self.touched.push(node);
            }
            *label = Label { cost, parent, edge };
            self.heap.push(Reverse((cost, node)));
        }
    }

    #[inline]
    pub(crate) fn cost(&self, node: u32) -> Cost {
        self.labels[node as usize].cost
    }

    fn min_key(&self) -> Cost {
        self.heap
            .peek()
            .map_or(Cost::UNREACHABLE, |Reverse((c, _))| *c)
    }

    /// Pops the next node. Returns `None` when the queue is empty,
    /// `Some(None)` for a stale or stalled entry, else the settled node.
    ///
    /// A node is stalled when a higher node reaches it more cheaply: then it
    /// cannot be on a fastest up-down path and need not be expanded.
    #[inline]
    fn settle_next(&mut self, h: &Hierarchy) -> Option<Option<(u32, Cost)>> {
        let Reverse((d, v)) = self.heap.pop()?;
        if d > self.cost(v) {
            return Some(None);
        }
        let (climb, stall) = match self.climb {
            Climb::Forward => (
                h.climbing(v, Climb::Forward),
                h.climbing(v, Climb::Backward),
            ),
            Climb::Backward => (
                h.climbing(v, Climb::Backward),
                h.climbing(v, Climb::Forward),
            ),
        };
        for e in &h.edges[stall] {
            if self.cost(e.head) + e.cost < d {
                return Some(None);
            }
        }
        for i in climb {
            let e = h.edges[i];
            self.improve(e.head, d + e.cost, v, i as u32);
        }
        self.settled.push((v, d));
        Some(Some((v, d)))
    }

    /// The nodes settled and not stalled, in settling order.
    pub(crate) fn settled(&self) -> &[(u32, Cost)] {
        &self.settled
    }

    /// Runs the search until its queue is empty.
    pub(crate) fn exhaust(&mut self, h: &Hierarchy) {
        while self.settle_next(h).is_some() {}
    }
}

/// A query object for one thread: it owns the buffers every query reuses, so
/// queries do not allocate once it is warm.
#[derive(Debug)]
pub struct RouteQuery<'r> {
    pub(crate) router: &'r Router,
    pub(crate) forward: Side,
    pub(crate) backward: Side,
    /// For one-to-many: a node's cost from the source, valid when stamped
    /// with the current generation.
    memo: Vec<(Cost, u32)>,
    generation: u32,
    stack: Vec<u32>,
    results: Vec<Cost>,
    /// For one-to-all: every node's cost by rank, then by graph node;
    /// empty until the first such query.
    pub(crate) by_rank: Vec<Cost>,
    pub(crate) by_node: Vec<Cost>,
}

impl<'r> RouteQuery<'r> {
    /// A query object for `router`.
    pub fn new(router: &'r Router) -> Self {
        let n = router.graph.node_count();
        Self {
            router,
            forward: Side::new(n, Climb::Forward),
            backward: Side::new(n, Climb::Backward),
            memo: vec![(Cost::UNREACHABLE, 0); n],
            generation: 0,
            stack: Vec::new(),
            results: Vec::new(),
            by_rank: Vec::new(),
            by_node: Vec::new(),
        }
    }

    /// The router, with its own lifetime so that borrowing it does not
    /// borrow the query's buffers.
    fn router_ref(&self) -> &'r Router {
        self.router
    }

    pub(crate) fn departures(&self, from: &Snapped) -> impl Iterator<Item = (u32, Cost)> + use<'r> {
        let rank = &self.router_ref().hierarchy.rank;
        self.router_ref()
            .graph
            .departures(from)
            .map(move |(n, c)| (rank[n as usize], c))
    }

    fn arrivals(&self, to: &Snapped) -> impl Iterator<Item = (u32, Cost)> + use<'r> {
        let rank = &self.router_ref().hierarchy.rank;
        self.router_ref()
            .graph
            .arrivals(to)
            .map(move |(n, c)| (rank[n as usize], c))
    }

    /// The cost of the fastest journey between two locations, or
    /// [`Cost::UNREACHABLE`].
    pub fn one_to_one(&mut self, from: &Snapped, to: &Snapped) -> Cost {
        self.meet(from, to).0
    }

    /// Bidirectional search; returns the best cost and the node where the
    /// two searches met (`NONE` when the best is along the shared segment).
    pub(crate) fn meet(&mut self, from: &Snapped, to: &Snapped) -> (Cost, u32) {
        let h = &self.router_ref().hierarchy;
        self.forward.start(self.departures(from));
        self.backward.start(self.arrivals(to));
        let mut best = self.router_ref().graph.along_segment(from, to);
        let mut meeting = NONE;
        loop {
            let (f, b) = (self.forward.min_key(), self.backward.min_key());
            if f.min(b) >= best {
                break;
            }
            let (this, other) = if f <= b {
                (&mut self.forward, &self.backward)
            } else {
                (&mut self.backward, &self.forward)
            };
            if let Some(Some((v, d))) = this.settle_next(h) {
                let total = d + other.cost(v);
                if total < best {
                    best = total;
                    meeting = v;
                }
            }
        }
        (best, meeting)
    }

    /// Computes the upward search space of a source location, for a
    /// [`SourceSet`].
    pub fn source_space(&mut self, from: &Snapped) -> SourceSpace {
        self.forward.start(self.departures(from));
        self.forward.exhaust(&self.router_ref().hierarchy);
        SearchSpace::new(*from, self.forward.settled.clone())
    }

    /// Computes the upward search space of a target location (searching
    /// backwards from it), for a [`TargetSet`].
    pub fn target_space(&mut self, to: &Snapped) -> TargetSpace {
        self.backward.start(self.arrivals(to));
        self.backward.exhaust(&self.router_ref().hierarchy);
        SearchSpace::new(*to, self.backward.settled.clone())
    }

    /// The cost from the source in each slot of `sources` to one location
    /// (an empty slot costs [`Cost::UNREACHABLE`]).
    ///
    /// One upward search from the target, then a merge of the nodes it
    /// settled with the sources' buckets, both sorted by node.
    pub fn many_to_one(&mut self, sources: &SourceSet, to: &Snapped) -> &[Cost] {
        self.backward.start(self.arrivals(to));
        self.backward.exhaust(&self.router_ref().hierarchy);
        let graph = &self.router_ref().graph;
        join(
            &mut self.backward.settled,
            sources,
            &mut self.results,
            |source| graph.along_segment(source, to),
        );
        &self.results
    }

    /// [`RouteQuery::many_to_one`] to a location whose target space is
    /// cached (a zone exit): no search at all, only the merge.
    pub fn many_to_space(&mut self, sources: &SourceSet, to: &TargetSpace) -> &[Cost] {
        let graph = &self.router_ref().graph;
        join_sorted(to.entries(), sources, &mut self.results, |source| {
            graph.along_segment(source, to.location())
        });
        &self.results
    }

    /// The cost from one location to the target in each slot of `targets`
    /// (an empty slot costs [`Cost::UNREACHABLE`]): the mirror of
    /// [`RouteQuery::many_to_one`], for fixed targets such as checkpoints.
    pub fn one_to_targets(&mut self, from: &Snapped, targets: &TargetSet) -> &[Cost] {
        self.forward.start(self.departures(from));
        self.forward.exhaust(&self.router_ref().hierarchy);
        let graph = &self.router_ref().graph;
        join(
            &mut self.forward.settled,
            targets,
            &mut self.results,
            |target| graph.along_segment(from, target),
        );
        &self.results
    }

    /// [`RouteQuery::one_to_targets`] from a location whose source space is
    /// cached (a unit, a station): no search at all, only the merge.
    pub fn space_to_targets(&mut self, from: &SourceSpace, targets: &TargetSet) -> &[Cost] {
        let graph = &self.router_ref().graph;
        join_sorted(from.entries(), targets, &mut self.results, |target| {
            graph.along_segment(from.location(), target)
        });
        &self.results
    }

    /// The cost from one location to each of `targets`, in their order, for
    /// targets not known in advance (for fixed ones,
    /// [`RouteQuery::one_to_targets`] is faster).
    ///
    /// One upward search from the source; then each target's cost is the
    /// minimum over the higher nodes with an edge into it, memoised, so the
    /// work is shared among targets whose search spaces overlap.
    pub fn one_to_many(&mut self, from: &Snapped, targets: &[Snapped]) -> &[Cost] {
        self.forward.start(self.departures(from));
        self.forward.exhaust(&self.router_ref().hierarchy);
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.memo.fill((Cost::UNREACHABLE, 0));
            self.generation = 1;
        }
        let mut results = std::mem::take(&mut self.results);
        results.clear();
        for to in targets {
            let mut best = self.router_ref().graph.along_segment(from, to);
            for (node, last) in self.arrivals(to) {
                best = best.min(self.cost_from_source(node) + last);
            }
            results.push(best);
        }
        self.results = results;
        &self.results
    }

    /// The cost from the forward search's source to `target`:
    /// `cost(v) = min(forward(v), min over edges u → v from higher u of cost(u) + c)`,
    /// evaluated depth first without recursion.
    fn cost_from_source(&mut self, target: u32) -> Cost {
        let h = &self.router_ref().hierarchy;
        let generation = self.generation;
        self.stack.clear();
        self.stack.push(target);
        while let Some(&x) = self.stack.last() {
            if self.memo[x as usize].1 == generation {
                self.stack.pop();
                continue;
            }
            let mut ready = true;
            for e in h.down(x) {
                if self.memo[e.head as usize].1 != generation {
                    self.stack.push(e.head);
                    ready = false;
                }
            }
            if !ready {
                continue;
            }
            let mut best = self.forward.cost(x);
            for e in h.down(x) {
                best = best.min(self.memo[e.head as usize].0 + e.cost);
            }
            self.memo[x as usize] = (best, generation);
            self.stack.pop();
        }
        self.memo[target as usize].0
    }
}

/// Combines one search's settled nodes with the other side's cached spaces:
/// `results[slot]` is the best `settled cost + bucket cost` over the nodes
/// they share, or the cost along a shared segment.
fn join<D>(
    settled: &mut [(u32, Cost)],
    set: &SpaceSet<D>,
    results: &mut Vec<Cost>,
    along_segment: impl Fn(&Snapped) -> Cost,
) {
    settled.sort_unstable_by_key(|&(n, _)| n);
    join_sorted(settled, set, results, along_segment);
}

/// [`join`] for settled nodes already sorted by node (a cached space).
fn join_sorted<D>(
    settled: &[(u32, Cost)],
    set: &SpaceSet<D>,
    results: &mut Vec<Cost>,
    along_segment: impl Fn(&Snapped) -> Cost,
) {
    results.clear();
    results.extend(set.slots().map(|slot| match slot {
        Some(space) => along_segment(space.location()),
        None => Cost::UNREACHABLE,
    }));
    let buckets = set.buckets();
    let mut at = 0;
    for &(node, cost) in settled.iter() {
        // The buckets of all units are many times longer than one search's
        // settled nodes: gallop to the next node instead of stepping.
        at += gallop(&buckets[at..], |b| b.node < node);
        while let Some(b) = buckets.get(at).filter(|b| b.node == node) {
            let best = &mut results[b.slot as usize];
            *best = (*best).min(b.cost + cost);
            at += 1;
        }
    }
}

/// The number of leading items for which `before` holds (it must hold for a
/// prefix only), found by exponential then binary search: cheap when the
/// answer is near the start.
fn gallop<T>(items: &[T], before: impl Fn(&T) -> bool) -> usize {
    let mut end = 1;
    while end <= items.len() && before(&items[end - 1]) {
        end *= 2;
    }
    let start = end / 2;
    let end = end.min(items.len());
    start + items[start..end].partition_point(before)
}
