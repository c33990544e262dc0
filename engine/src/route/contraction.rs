//! Building a contraction hierarchy: nodes are removed one by one, least
//! important first, adding a shortcut wherever a removed node was the only
//! fastest way between two of its neighbours.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::road::graph::RoadGraph;
use crate::route::Cost;
use crate::route::hierarchy::{Hierarchy, HierarchyEdge, NO_MIDDLE};

/// Tuning of the hierarchy build. The defaults suit road networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrepareConfig {
    /// Nodes a witness search may settle while estimating priorities.
    pub estimate_settle_limit: usize,
    /// Nodes a witness search may settle when actually contracting. A search
    /// cut short only adds a shortcut that was not needed; it never makes a
    /// distance wrong.
    pub contract_settle_limit: usize,
}

impl Default for PrepareConfig {
    fn default() -> Self {
        Self {
            estimate_settle_limit: 60,
            contract_settle_limit: 500,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Arc {
    node: u32,
    cost: Cost,
    middle: u32,
    /// How many road edges the arc stands for.
    hops: u32,
}

/// The graph while it is being contracted: adjacency among the nodes not
/// yet contracted, shortcuts included.
struct Contractor {
    out: Vec<Vec<Arc>>,
    inc: Vec<Vec<Arc>>,
    contracted: Vec<bool>,
    deleted_neighbours: Vec<u32>,
    level: Vec<u32>,
    witness: WitnessSearch,
    shortcuts: Vec<(u32, u32, Cost, u32)>,
}

/// Contracts every node of `graph`; the returned hierarchy numbers nodes by
/// their contraction order (rank).
pub(crate) fn build_hierarchy(graph: &RoadGraph, config: &PrepareConfig) -> Hierarchy {
    let n = graph.node_count();
    let mut c = Contractor::new(graph);
    let mut priority = vec![0i64; n];
    let mut queue = BinaryHeap::with_capacity(n);
    for x in 0..n as u32 {
        priority[x as usize] = c.priority(x, config.estimate_settle_limit);
        queue.push(Reverse((priority[x as usize], x)));
    }

    let mut order = Vec::with_capacity(n);
    let mut up_edges: Vec<Vec<Arc>> = vec![Vec::new(); n];
    let mut down_edges: Vec<Vec<Arc>> = vec![Vec::new(); n];
    while let Some(Reverse((p, x))) = queue.pop() {
        if c.contracted[x as usize] || p != priority[x as usize] {
            continue;
        }
        // Lazy update: the priority may have grown since it was queued.
        let fresh = c.priority(x, config.estimate_settle_limit);
        if let Some(Reverse((next, _))) = queue.peek()
            && fresh > *next
        {
            priority[x as usize] = fresh;
            queue.push(Reverse((fresh, x)));
            continue;
        }
        c.contract(x, config.contract_settle_limit);
        order.push(x);
        let (up, down) = c.detach(x);
        for arc in up.iter().chain(&down) {
            let y = arc.node;
            priority[y as usize] = c.priority(y, config.estimate_settle_limit);
            queue.push(Reverse((priority[y as usize], y)));
        }
        up_edges[x as usize] = up;
        down_edges[x as usize] = down;
    }

    let mut rank = vec![0u32; n];
    for (r, &x) in order.iter().enumerate() {
        rank[x as usize] = r as u32;
    }
    let ranked = |a: &Arc| HierarchyEdge {
        cost: a.cost,
        head: rank[a.node as usize],
        middle: if a.middle == NO_MIDDLE {
            NO_MIDDLE
        } else {
            rank[a.middle as usize]
        },
    };
    let lists = order
        .iter()
        .map(|&x| {
            let up = up_edges[x as usize].iter().map(ranked).collect();
            let down = down_edges[x as usize].iter().map(ranked).collect();
            (up, down)
        })
        .collect();
    let hierarchy = Hierarchy::new(rank, order, lists);
    log::debug!(
        "hierarchy: {} shortcuts for {} edges",
        hierarchy.shortcut_count(),
        graph.edge_count()
    );
    hierarchy
}

impl Contractor {
    fn new(graph: &RoadGraph) -> Self {
        let n = graph.node_count();
        let mut out: Vec<Vec<Arc>> = vec![Vec::new(); n];
        let mut inc: Vec<Vec<Arc>> = vec![Vec::new(); n];
        for x in 0..n as u32 {
            for (y, cost) in graph.out_edges(x) {
                if y != x {
                    let arc = |node| Arc {
                        node,
                        cost,
                        middle: NO_MIDDLE,
                        hops: 1,
                    };
                    upsert(&mut out[x as usize], arc(y));
                    upsert(&mut inc[y as usize], arc(x));
                }
            }
        }
        Self {
            out,
            inc,
            contracted: vec![false; n],
            deleted_neighbours: vec![0; n],
            level: vec![0; n],
            witness: WitnessSearch::new(n),
            shortcuts: Vec::new(),
        }
    }

    /// Lower is contracted sooner: nodes whose removal adds few shortcuts
    /// for the arcs it removes, whose neighbourhood is already thinned out,
    /// and that sit low in the hierarchy built so far. The last two spread
    /// contraction evenly over the map, which keeps search spaces small.
    fn priority(&mut self, x: u32, settle_limit: usize) -> i64 {
        self.find_shortcuts(x, settle_limit);
        let added = self.shortcuts.len() as i64;
        let removed = (self.out[x as usize].len() + self.inc[x as usize].len()) as i64;
        4 * added - 2 * removed
            + 2 * i64::from(self.deleted_neighbours[x as usize])
            + i64::from(self.level[x as usize])
    }

    /// Fills `self.shortcuts` with the shortcuts contracting `x` needs.
    fn find_shortcuts(&mut self, x: u32, settle_limit: usize) {
        self.shortcuts.clear();
        let xi = x as usize;
        for i in 0..self.inc[xi].len() {
            let Arc {
                node: u,
                cost: to_x,
                hops: hops_in,
                ..
            } = self.inc[xi][i];
            let mut max = Cost::ZERO;
            for w in &self.out[xi] {
                if w.node != u {
                    max = max.max(to_x + w.cost);
                }
            }
            if max == Cost::ZERO {
                continue;
            }
            self.witness.run(&self.out, u, x, max, settle_limit);
            for w in &self.out[xi] {
                let via = to_x + w.cost;
                if w.node != u && self.witness.distance(w.node) > via {
                    self.shortcuts.push((u, w.node, via, hops_in + w.hops));
                }
            }
        }
    }

    fn contract(&mut self, x: u32, settle_limit: usize) {
        self.find_shortcuts(x, settle_limit);
        for i in 0..self.shortcuts.len() {
            let (u, w, cost, hops) = self.shortcuts[i];
            upsert(
                &mut self.out[u as usize],
                Arc {
                    node: w,
                    cost,
                    middle: x,
                    hops,
                },
            );
            upsert(
                &mut self.inc[w as usize],
                Arc {
                    node: u,
                    cost,
                    middle: x,
                    hops,
                },
            );
        }
        self.contracted[x as usize] = true;
    }

    /// Removes a contracted node from its neighbours' lists and returns its
    /// own: the edges to and from higher-ranked nodes.
    fn detach(&mut self, x: u32) -> (Vec<Arc>, Vec<Arc>) {
        let up = std::mem::take(&mut self.out[x as usize]);
        let down = std::mem::take(&mut self.inc[x as usize]);
        let next_level = self.level[x as usize] + 1;
        for a in &up {
            self.inc[a.node as usize].retain(|b| b.node != x);
        }
        for a in &down {
            self.out[a.node as usize].retain(|b| b.node != x);
        }
        for a in up.iter().chain(&down) {
            let y = a.node as usize;
            self.deleted_neighbours[y] += 1;
            self.level[y] = self.level[y].max(next_level);
        }
        (up, down)
    }
}

/// Inserts an arc, or replaces a costlier arc to the same node.
fn upsert(list: &mut Vec<Arc>, arc: Arc) {
    match list.iter_mut().find(|a| a.node == arc.node) {
        Some(a) if arc.cost < a.cost => *a = arc,
        Some(_) => {}
        None => list.push(arc),
    }
}

/// A Dijkstra among the uncontracted nodes that avoids the node being
/// contracted, bounded in cost and in nodes settled.
struct WitnessSearch {
    dist: Vec<Cost>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(Cost, u32)>>,
}

impl WitnessSearch {
    fn new(n: usize) -> Self {
        Self {
            dist: vec![Cost::UNREACHABLE; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }

    fn run(&mut self, out: &[Vec<Arc>], from: u32, avoid: u32, max: Cost, settle_limit: usize) {
        for &t in &self.touched {
            self.dist[t as usize] = Cost::UNREACHABLE;
        }
        self.touched.clear();
        self.heap.clear();
        self.dist[from as usize] = Cost::ZERO;
        self.touched.push(from);
        self.heap.push(Reverse((Cost::ZERO, from)));
        let mut settled = 0;
        while let Some(Reverse((d, v))) = self.heap.pop() {
            if d > self.dist[v as usize] {
                continue;
            }
            if d > max || settled >= settle_limit {
                break;
            }
            settled += 1;
            for a in &out[v as usize] {
                if a.node == avoid {
                    continue;
                }
                let nd = d + a.cost;
                let slot = &mut self.dist[a.node as usize];
                if nd < *slot {
                    if !slot.is_reachable() {
                        self.touched.push(a.node);
                    }
                    *slot = nd;
                    self.heap.push(Reverse((nd, a.node)));
                }
            }
        }
    }

    fn distance(&self, node: u32) -> Cost {
        self.dist[node as usize]
    }
}
