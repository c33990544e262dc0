//! One to every node: an upward search from the source, then one sweep
//! down the hierarchy in rank order (PHAST: Delling, Goldberg, Nowatzyk and
//! Werneck, 2011). Each node's cost is the least of its upward label and,
//! over the down edges into it from higher nodes, their final cost plus
//! the edge; higher nodes are final before lower ones are read, so one
//! linear pass over the edges gives every node's exact cost. This is what
//! the suspect's possible area needs: every road node they could have
//! reached by now, in one pass over memory instead of a heap of the whole
//! graph.

use crate::road::snap::Snapped;
use crate::route::Cost;
use crate::route::query::RouteQuery;

impl RouteQuery<'_> {
    /// The cost from `from` to every node of the graph, indexed by graph
    /// node ([`Cost::UNREACHABLE`] where there is no path), equal to
    /// [`crate::Dijkstra::one_to_all`] bit for bit.
    pub fn one_to_all(&mut self, from: &Snapped) -> &[Cost] {
        self.sweep(from);
        let h = &self.router.hierarchy;
        let by_node = &mut self.by_node;
        by_node.clear();
        by_node.resize(h.node.len(), Cost::UNREACHABLE);
        for (rank, &c) in self.by_rank.iter().enumerate() {
            by_node[h.node[rank] as usize] = c;
        }
        &self.by_node
    }

    /// [`RouteQuery::one_to_all`] indexed by rank (a node's place in the
    /// contraction order): for a caller that keeps its own table by rank,
    /// without the scatter.
    pub(crate) fn sweep(&mut self, from: &Snapped) -> &[Cost] {
        let router = self.router;
        let h = &router.hierarchy;
        let n = router.graph.node_count();
        self.forward.start(self.departures(from));
        self.forward.exhaust(h);
        let by_rank = &mut self.by_rank;
        by_rank.clear();
        by_rank.resize(n, Cost::UNREACHABLE);
        for &(v, c) in self.forward.settled() {
            by_rank[v as usize] = c;
        }
        for v in (0..n).rev() {
            let mut best = by_rank[v];
            for e in h.down(v as u32) {
                best = best.min(by_rank[e.head as usize] + e.cost);
            }
            by_rank[v] = best;
        }
        &self.by_rank
    }
}
