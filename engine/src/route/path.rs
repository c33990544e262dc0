//! The fastest route itself: unpacking shortcuts into road nodes and the
//! polyline a unit drives.

use crate::geo::LatLon;
use crate::road::snap::Snapped;
use crate::route::Cost;
use crate::route::hierarchy::NO_MIDDLE;
use crate::route::query::NONE;
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
        if meeting != NONE {
            // Forward half: walk parents back from the meeting node, then
            // unpack each edge in driving order.
            let mut climb = Vec::new();
            let mut v = meeting;
            loop {
                let label = self.forward.labels[v as usize];
                if label.parent == NONE {
                    break;
                }
                climb.push(label.edge);
                v = label.parent;
            }
            ranks.push(v);
            for &e in climb.iter().rev() {
                let tail = *ranks.last().unwrap_or(&v);
                let edge = h.edges[e as usize];
                unpack(h, tail, edge.head, edge.middle, &mut ranks);
            }
            // Backward half: parents lead from the meeting node down to the target.
            let mut v = meeting;
            loop {
                let label = self.backward.labels[v as usize];
                if label.parent == NONE {
                    break;
                }
                unpack(
                    h,
                    v,
                    label.parent,
                    h.edges[label.edge as usize].middle,
                    &mut ranks,
                );
                v = label.parent;
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
        let first = h.down(m).iter().find(|e| e.head == a);
        let second = h.up(m).iter().find(|e| e.head == b);
        match (first, second) {
            (Some(first), Some(second)) => {
                stack.push((m, b, second.middle));
                stack.push((a, m, first.middle));
            }
            // Cannot happen for a hierarchy built here; draw a straight
            // line rather than fail the whole answer.
            _ => out.push(b),
        }
    }
}
