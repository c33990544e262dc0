//! Plain Dijkstra over the road graph: the reference every faster query is
//! tested and benchmarked against.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::road::graph::{Csr, RoadGraph};
use crate::road::snap::Snapped;
use crate::route::Cost;

/// A reusable plain Dijkstra search (its buffers are kept between queries).
#[derive(Debug)]
pub struct Dijkstra<'g> {
    graph: &'g RoadGraph,
    dist: Vec<Cost>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(Cost, u32)>>,
}

impl<'g> Dijkstra<'g> {
    /// A search over `graph`.
    pub fn new(graph: &'g RoadGraph) -> Self {
        Self {
            graph,
            dist: vec![Cost::UNREACHABLE; graph.node_count()],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// The cost of the fastest journey, or [`Cost::UNREACHABLE`].
    pub fn one_to_one(&mut self, from: &Snapped, to: &Snapped) -> Cost {
        self.one_to_many(from, std::slice::from_ref(to))[0]
    }

    /// The cost from one location to each of `targets`.
    pub fn one_to_many(&mut self, from: &Snapped, targets: &[Snapped]) -> Vec<Cost> {
        let graph = self.graph;
        let goals: Vec<_> = targets
            .iter()
            .map(|t| graph.arrivals(t).collect::<Vec<_>>())
            .collect();
        self.search(&graph.forward, graph.departures(from), &goals);
        targets
            .iter()
            .zip(&goals)
            .map(|(t, goal)| self.best(goal).min(graph.along_segment(from, t)))
            .collect()
    }

    /// The cost from one location to every node of the graph, indexed by
    /// node: the whole graph settled, the reference for
    /// [`crate::RouteQuery::one_to_all`].
    pub fn one_to_all(&mut self, from: &Snapped) -> &[Cost] {
        let graph = self.graph;
        self.search(&graph.forward, graph.departures(from), &[]);
        &self.dist
    }

    /// The cost from each of `sources` to one location, searching backwards
    /// from it.
    pub fn many_to_one(&mut self, sources: &[Snapped], to: &Snapped) -> Vec<Cost> {
        let graph = self.graph;
        let goals: Vec<_> = sources
            .iter()
            .map(|s| graph.departures(s).collect::<Vec<_>>())
            .collect();
        self.search(&graph.backward, graph.arrivals(to), &goals);
        sources
            .iter()
            .zip(&goals)
            .map(|(s, goal)| self.best(goal).min(graph.along_segment(s, to)))
            .collect()
    }

    fn best(&self, goal: &[(u32, Cost)]) -> Cost {
        goal.iter()
            .map(|&(node, extra)| self.dist[node as usize] + extra)
            .min()
            .unwrap_or(Cost::UNREACHABLE)
    }

    /// Settles nodes from `starts` until every goal node is settled (or, with
    /// no goals, the whole graph).
    fn search(
        &mut self,
        edges: &Csr,
        starts: impl Iterator<Item = (u32, Cost)>,
        goals: &[Vec<(u32, Cost)>],
    ) {
        for &n in &self.touched {
            self.dist[n as usize] = Cost::UNREACHABLE;
        }
        self.touched.clear();
        self.heap.clear();
        for (node, cost) in starts {
            self.relax(node, cost);
        }
        let mut open_goals: Vec<u32> = goals.iter().flatten().map(|&(n, _)| n).collect();
        open_goals.sort_unstable();
        open_goals.dedup();
        let mut remaining = open_goals.len();
        let mut settled_goal = vec![false; open_goals.len()];
        while let Some(Reverse((cost, node))) = self.heap.pop() {
            if cost > self.dist[node as usize] {
                continue;
            }
            if let Ok(i) = open_goals.binary_search(&node)
                && !settled_goal[i]
            {
                settled_goal[i] = true;
                remaining -= 1;
                if remaining == 0 {
                    break;
                }
            }
            for e in edges.edges(node) {
                self.relax(edges.head[e], cost + edges.cost[e]);
            }
        }
    }

    #[inline]
    fn relax(&mut self, node: u32, cost: Cost) {
        let d = &mut self.dist[node as usize];
        if cost < *d {
            if !d.is_reachable() {
                self.touched.push(node);
            }
            *d = cost;
            self.heap.push(Reverse((cost, node)));
        }
    }
}
