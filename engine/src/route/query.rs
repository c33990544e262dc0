//! Queries on a contraction hierarchy: one-to-one, many-to-one against
//! cached source search spaces, and one-to-many.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::road::snap::Snapped;
use crate::route::Cost;
use crate::route::hierarchy::{HierarchyEdges, Router};

const NONE: u32 = u32::MAX;

/// The upward search space of one source location: every node a search
/// from it climbs to, with its cost. Computing it costs about one search; a
/// dispatcher keeps one per unit and refreshes it when the unit moves, so a
/// many-to-one query only has to search from the incident.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpace {
    from: Snapped,
    entries: Vec<(u32, Cost)>,
}

impl SourceSpace {
    /// The location it was computed for.
    pub fn location(&self) -> &Snapped {
        &self.from
    }

    /// Number of nodes in the space.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the space is empty (never, for a location on the network).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One direction of a search: tentative costs, how each node was reached,
/// and the queue.
#[derive(Debug)]
pub(crate) struct Side {
    pub(crate) dist: Vec<Cost>,
    /// The node a node was reached from, and the edge (an index into the
    /// edges the search climbs) used.
    pub(crate) parent: Vec<(u32, u32)>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(Cost, u32)>>,
    /// Nodes settled and not stalled, in settling order.
    settled: Vec<(u32, Cost)>,
}

impl Side {
    fn new(n: usize) -> Self {
        Self {
            dist: vec![Cost::UNREACHABLE; n],
            parent: vec![(NONE, NONE); n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
            settled: Vec::new(),
        }
    }

    fn start(&mut self, starts: impl Iterator<Item = (u32, Cost)>) {
        for &n in &self.touched {
            self.dist[n as usize] = Cost::UNREACHABLE;
        }
        self.touched.clear();
        self.heap.clear();
        self.settled.clear();
        for (node, cost) in starts {
            self.improve(node, cost, (NONE, NONE));
        }
    }

    #[inline]
    fn improve(&mut self, node: u32, cost: Cost, parent: (u32, u32)) {
        let slot = &mut self.dist[node as usize];
        if cost < *slot {
            if !slot.is_reachable() {
                self.touched.push(node);
            }
            *slot = cost;
            self.parent[node as usize] = parent;
            self.heap.push(Reverse((cost, node)));
        }
    }

    fn min_key(&self) -> Cost {
        self.heap
            .peek()
            .map_or(Cost::UNREACHABLE, |Reverse((c, _))| *c)
    }

    /// Settles the next node: returns it unless it was stale or stalled
    /// (reached more cheaply through a higher node, so it cannot be on a
    /// fastest up-down path and need not be expanded).
    #[inline]
    fn settle_next(
        &mut self,
        climb: &HierarchyEdges,
        stall: &HierarchyEdges,
    ) -> Option<Option<(u32, Cost)>> {
        let Reverse((d, v)) = self.heap.pop()?;
        if d > self.dist[v as usize] {
            return Some(None);
        }
        for e in stall.csr.edges(v) {
            if self.dist[stall.csr.head[e] as usize] + stall.csr.cost[e] < d {
                return Some(None);
            }
        }
        for e in climb.csr.edges(v) {
            self.improve(climb.csr.head[e], d + climb.csr.cost[e], (v, e as u32));
        }
        self.settled.push((v, d));
        Some(Some((v, d)))
    }

    /// Runs the search until its queue is empty.
    fn exhaust(&mut self, climb: &HierarchyEdges, stall: &HierarchyEdges) {
        while self.settle_next(climb, stall).is_some() {}
    }
}

/// A query object for one thread: it owns the buffers every query reuses, so
/// queries do not allocate once it is warm.
#[derive(Debug)]
pub struct RouteQuery<'r> {
    pub(crate) router: &'r Router,
    pub(crate) forward: Side,
    pub(crate) backward: Side,
    memo: Vec<Cost>,
    memo_stamp: Vec<u32>,
    generation: u32,
    stack: Vec<u32>,
    results: Vec<Cost>,
}

impl<'r> RouteQuery<'r> {
    /// A query object for `router`.
    pub fn new(router: &'r Router) -> Self {
        let n = router.graph.node_count();
        Self {
            router,
            forward: Side::new(n),
            backward: Side::new(n),
            memo: vec![Cost::UNREACHABLE; n],
            memo_stamp: vec![0; n],
            generation: 0,
            stack: Vec::new(),
            results: Vec::new(),
        }
    }

    /// The router, with its own lifetime so that borrowing it does not
    /// borrow the query's buffers.
    fn router_ref(&self) -> &'r Router {
        self.router
    }

    fn departures(&self, from: &Snapped) -> impl Iterator<Item = (u32, Cost)> + use<'r> {
        let rank = &self.router.hierarchy.rank;
        self.router
            .graph
            .departures(from)
            .map(move |(n, c)| (rank[n as usize], c))
    }

    fn arrivals(&self, to: &Snapped) -> impl Iterator<Item = (u32, Cost)> + use<'r> {
        let rank = &self.router.hierarchy.rank;
        self.router
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
        let mut best = self.router.graph.along_segment(from, to);
        let mut meeting = NONE;
        loop {
            let (f, b) = (self.forward.min_key(), self.backward.min_key());
            let forward_turn = f <= b;
            if f.min(b) >= best {
                break;
            }
            let settled = if forward_turn {
                self.forward.settle_next(&h.up, &h.down)
            } else {
                self.backward.settle_next(&h.down, &h.up)
            };
            if let Some(Some((v, d))) = settled {
                let other = if forward_turn {
                    &self.backward
                } else {
                    &self.forward
                };
                let total = d + other.dist[v as usize];
                if total < best {
                    best = total;
                    meeting = v;
                }
            }
        }
        (best, meeting)
    }

    /// Computes the upward search space of a source location, for
    /// [`RouteQuery::many_to_one`].
    pub fn source_space(&mut self, from: &Snapped) -> SourceSpace {
        let h = &self.router_ref().hierarchy;
        self.forward.start(self.departures(from));
        self.forward.exhaust(&h.up, &h.down);
        let mut entries = self.forward.settled.clone();
        // In rank order, the look-ups into the target's costs walk memory upwards.
        entries.sort_unstable_by_key(|&(n, _)| n);
        SourceSpace {
            from: *from,
            entries,
        }
    }

    /// The cost from each source to one location, in the order of `sources`.
    ///
    /// One upward search from the target, then one pass over each source's
    /// cached space: the search and the passes together take microseconds.
    pub fn many_to_one(&mut self, sources: &[SourceSpace], to: &Snapped) -> &[Cost] {
        let h = &self.router_ref().hierarchy;
        self.backward.start(self.arrivals(to));
        self.backward.exhaust(&h.down, &h.up);
        let graph = &self.router_ref().graph;
        let dist = &self.backward.dist;
        self.results.clear();
        for source in sources {
            let mut best = graph.along_segment(&source.from, to);
            for &(n, d) in &source.entries {
                if let Some(&rest) = dist.get(n as usize) {
                    best = best.min(d + rest);
                }
            }
            self.results.push(best);
        }
        &self.results
    }

    /// The cost from one location to each of `targets`, in their order.
    ///
    /// One upward search from the source, then each target's cost is the
    /// minimum over its higher neighbours, memoised, so the work is shared
    /// among targets whose search spaces overlap.
    pub fn one_to_many(&mut self, from: &Snapped, targets: &[Snapped]) -> &[Cost] {
        let h = &self.router_ref().hierarchy;
        self.forward.start(self.departures(from));
        self.forward.exhaust(&h.up, &h.down);
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.memo_stamp.fill(0);
            self.generation = 1;
        }
        let mut results = std::mem::take(&mut self.results);
        results.clear();
        for to in targets {
            let mut best = self.router.graph.along_segment(from, to);
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
        let down = &self.router_ref().hierarchy.down.csr;
        let generation = self.generation;
        self.stack.clear();
        self.stack.push(target);
        while let Some(&x) = self.stack.last() {
            if self.memo_stamp[x as usize] == generation {
                self.stack.pop();
                continue;
            }
            let mut ready = true;
            for e in down.edges(x) {
                let u = down.head[e];
                if self.memo_stamp[u as usize] != generation {
                    self.stack.push(u);
                    ready = false;
                }
            }
            if !ready {
                continue;
            }
            let mut best = self.forward.dist[x as usize];
            for e in down.edges(x) {
                best = best.min(self.memo[down.head[e] as usize] + down.cost[e]);
            }
            self.memo[x as usize] = best;
            self.memo_stamp[x as usize] = generation;
            self.stack.pop();
        }
        self.memo[target as usize]
    }
}
