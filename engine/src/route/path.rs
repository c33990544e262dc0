//! The fastest route itself: unpacking shortcuts into road nodes and the
//! polyline a unit drives.

use crate::geo::LatLon;
use crate::road::snap::Snapped;
use crate::route::Cost;
use crate::route::hierarchy::{HierarchyEdges, NO_MIDDLE};
use crate::route::query::RouteQuery;

/// A fastest journey between two snapped locations.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Its travel time and road distance.
    pub cost: Cost,
    /// The road nodes driven through (graph node ids), in order.
    pub nodes: Vec<u32>,
    /// The line driven: the start's foot point, the nodes, the end's foot point.
    pub polyline: Vec<LatLon>,
}

impl RouteQuery<'_> {
    /// The fastest route between two locations, or `None` when there is none.
    pub fn route(&mut self, from: &Snapped, to: &Snapped) -> Option<Route> {
        let (cost, meeting) = self.meet(from, to);
        if !cost.is_reachable() {
            return None;
        }
        let h = &self.router.hierarchy;
        let mut ranks = Vec::new();
        if meeting != u32::MAX {
            // Forward half: walk parents back from the meeting node, then
            // unpack each edge in driving order.
            let mut climb = Vec::new();
            let mut v = meeting;
            while let (u, e) = self.forward.parent[v as usize]
                && u != u32::MAX
            {
                climb.push((u, e));
                v = u;
            }
            ranks.push(v);
            for &(u, e) in climb.iter().rev() {
                unpack(
                    h,
                    u,
                    h.up.csr.head[e as usize],
                    h.up.middle[e as usize],
                    &mut ranks,
                );
            }
            // Backward half: parents lead from the meeting node down to the target.
            let mut v = meeting;
            while let (u, e) = self.backward.parent[v as usize]
                && u != u32::MAX
            {
                unpack(h, v, u, h.down.middle[e as usize], &mut ranks);
                v = u;
            }
        }
        let nodes: Vec<u32> = ranks.iter().map(|&r| h.node[r as usize]).collect();
        let graph = &self.router.graph;
        let mut polyline = Vec::with_capacity(nodes.len() + 2);
        polyline.push(from.point);
        polyline.extend(nodes.iter().map(|&n| graph.position(n)));
        polyline.push(to.point);
        Some(Route {
            cost,
            nodes,
            polyline,
        })
    }
}

/// Appends the nodes after `from` up to `to` of the road path an edge
/// `from → to` (through `middle` when it is a shortcut) stands for.
fn unpack(
    h: &crate::route::hierarchy::Hierarchy,
    from: u32,
    to: u32,
    middle: u32,
    out: &mut Vec<u32>,
) {
    let mut stack = vec![(from, to, middle)];
    while let Some((a, b, m)) = stack.pop() {
        if m == NO_MIDDLE {
            out.push(b);
            continue;
        }
        // A shortcut a → b through m stands for a → m (stored at m among its
        // edges from higher nodes) and m → b (stored at m among its edges up).
        match (find(&h.down, m, a), find(&h.up, m, b)) {
            (Some(first), Some(second)) => {
                stack.push((m, b, second));
                stack.push((a, m, first));
            }
            // Cannot happen for a hierarchy built here; draw a straight
            // line rather than fail the whole answer.
            _ => out.push(b),
        }
    }
}

/// The middle of the edge stored at `at` with head `head`.
fn find(edges: &HierarchyEdges, at: u32, head: u32) -> Option<u32> {
    edges
        .csr
        .edges(at)
        .find(|&e| edges.csr.head[e] == head)
        .map(|e| edges.middle[e])
}
