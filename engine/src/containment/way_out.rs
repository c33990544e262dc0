//! Whether a crossing is a way out: whether the roads beyond it lead away
//! from the ring, or only back into it (a village lane that crosses the
//! outline and returns) or to a dead end just outside.
//!
//! A checkpoint plan holds the ways out. A lane that leaves and comes back
//! is no escape: a suspect on it is still inside, and the crossings where
//! it re-enters are not ways out either. Holding it would take a responder
//! from a road that is one. The test is geometric and needs no idea of
//! where the suspect is going: from the crossing's outer end, the road
//! network outside the ring (both directions of every road, so a dual
//! carriageway's inbound half still finds its outbound twin) is searched
//! until it reaches a node at least `far_m` from the outline. A real road
//! out does at once (on a real map the outside is the rest of the country);
//! a lane that comes back never does.

use std::collections::VecDeque;

use geo::{Contains, MultiPolygon, Point};

use crate::geo::LatLon;
use crate::road::crossings::RoadCrossing;
use crate::road::graph::RoadGraph;

/// The outside of one area ring, for testing its crossings.
#[derive(Debug)]
pub(crate) struct Outside<'a> {
    area: &'a MultiPolygon<f64>,
    /// The outline's edges, projected to metres.
    edges: Vec<([f64; 2], [f64; 2])>,
    graph: &'a RoadGraph,
    far_m: f64,
}

impl<'a> Outside<'a> {
    /// The outside of `area` on `graph`'s map; a crossing is a way out when
    /// the roads beyond it reach `far_m` from the outline.
    pub(crate) fn new(area: &'a MultiPolygon<f64>, graph: &'a RoadGraph, far_m: f64) -> Self {
        let projection = graph.snap_index.projection();
        let edges = area
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|ring| ring.lines())
            .map(|l| {
                (
                    projection.project_lon_lat(l.start.x, l.start.y),
                    projection.project_lon_lat(l.end.x, l.end.y),
                )
            })
            .collect();
        Self {
            area,
            edges,
            graph,
            far_m,
        }
    }

    fn inside(&self, node: u32) -> bool {
        let p = self.graph.position(node);
        self.area.contains(&Point::new(p.lon(), p.lat()))
    }

    /// Metres from a point to the outline.
    fn to_outline_m(&self, p: LatLon) -> f64 {
        let q = self.graph.snap_index.projection().project(p);
        self.edges
            .iter()
            .map(|&(a, b)| point_to_segment_m(q, a, b))
            .fold(f64::INFINITY, f64::min)
    }

    /// How far from the outline the roads beyond `crossing` reach, capped
    /// at `far_m` (the search stops there): `far_m` for a way out.
    pub(crate) fn reach_m(&self, crossing: &RoadCrossing) -> f64 {
        let segment = self.graph.segments[crossing.segment];
        let mut seen = std::collections::HashSet::new();
        let mut queue: VecDeque<u32> = [segment.a, segment.b]
            .into_iter()
            .filter(|&n| !self.inside(n))
            .collect();
        seen.extend(queue.iter().copied());
        let mut reach = 0.0f64;
        while let Some(node) = queue.pop_front() {
            let p = self.graph.position(node);
            // The crossing lies on the outline, so a node nearer to it than
            // `far_m` is nearer to the outline too: only farther ones need
            // the outline's edges.
            if p.haversine_m(crossing.at) >= self.far_m {
                reach = reach.max(self.to_outline_m(p));
                if reach >= self.far_m {
                    return self.far_m;
                }
            }
            let forward = &self.graph.forward;
            let backward = &self.graph.backward;
            let next = forward
                .edges(node)
                .map(|e| forward.head[e])
                .chain(backward.edges(node).map(|e| backward.head[e]));
            for n in next {
                if !seen.contains(&n) && !self.inside(n) {
                    seen.insert(n);
                    queue.push_back(n);
                }
            }
        }
        reach
    }

    /// Whether the roads beyond `crossing` lead away from the ring.
    pub(crate) fn leads_out(&self, crossing: &RoadCrossing) -> bool {
        self.reach_m(crossing) >= self.far_m
    }
}

/// The distance from `p` to the segment `a`–`b`, all in metres on a plane.
fn point_to_segment_m(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let d = [b[0] - a[0], b[1] - a[1]];
    let len2 = d[0] * d[0] + d[1] * d[1];
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1]) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let q = [a[0] + t * d[0], a[1] + t * d[1]];
    ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt()
}
