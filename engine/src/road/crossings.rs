//! Where roads cross a boundary: a zone's outline, a containment ring's
//! outline or a border line. Zone exits and containment crossings are both
//! found here, once, when a scenario is loaded.
//!
//! Candidates come from the graph's segment R-tree along each boundary
//! edge (or, for the reference, every segment); crossings are exact (geo's
//! robust `line_intersection`), then merged within a distance in chains
//! (dual carriageways, interchanges, roads wiggling along the boundary),
//! and ranked by class, then along the boundary.

use std::cmp::Ordering;

use geo::kernels::RobustKernel;
use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{Coord, Kernel, Line, LineString, MultiLineString, MultiPolygon, Orientation, Winding};

use crate::geo::{EARTH_RADIUS_M, LatLon, LocalProjection};
use crate::road::class::RoadClass;
use crate::road::graph::RoadGraph;
use crate::road::snap::Snapped;

/// Options for finding where roads cross a boundary.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossingConfig {
    /// Crossings at most this many metres apart (great-circle) are one:
    /// a dual carriageway crosses twice side by side, an interchange with
    /// its ramps several times, and a road that wiggles along the boundary
    /// again and again, yet one responder holds each. Crossings join in
    /// chains, so a road that runs along the boundary crossing it every
    /// 50 m stays one crossing however long it is. 0 merges only crossings
    /// at the same point (a road node on the boundary); a negative or NaN
    /// distance merges nothing.
    pub merge_m: f64,
    /// The least important class that counts: [`RoadClass::Minor`] for
    /// every road.
    pub min_class: RoadClass,
}

/// How the segments near a boundary edge are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrossingSearch {
    /// Through the graph's segment R-tree, along the edge.
    Tree,
    /// Every segment against every edge: the reference.
    Scan,
}

/// A place where roads cross a boundary: one or more crossings within
/// [`CrossingConfig::merge_m`] of each other, represented by the crossing
/// of the most important road.
#[derive(Clone, Debug, PartialEq)]
pub struct RoadCrossing {
    /// The representative crossing, on the boundary.
    pub at: LatLon,
    /// The class of the most important road crossing here.
    pub class: RoadClass,
    /// The segment of the representative crossing, an index into
    /// [`RoadGraph::segments`].
    pub segment: usize,
    /// The representative crossing on its road, ready for ETA queries: on
    /// `segment`, at the crossing, `distance_m` from `at` (nanometres).
    pub location: Snapped,
    /// Whether a car may drive out (from the inside to the outside) at one
    /// of the crossings.
    pub outbound: bool,
    /// Whether a car may drive in at one of the crossings.
    pub inbound: bool,
    /// How many crossings of segments and boundary edges were merged into
    /// this one (a road node on the boundary counts once per segment
    /// meeting there).
    pub crossings: usize,
    /// Each crossing merged into this place, on its road, in boundary
    /// order (`location` among them): a car on any of these roads passes
    /// here.
    pub members: Vec<Snapped>,
}

/// The edges of a boundary, each knowing which side is inside.
#[derive(Debug, Default)]
pub struct Boundary {
    edges: Vec<Edge>,
}

impl Boundary {
    /// The outline of an area on `graph`'s map: every ring of every polygon (exteriors and
    /// holes), the area on the side it is on whatever the file's winding.
    pub fn of_area(area: &MultiPolygon<f64>, graph: &RoadGraph) -> Boundary {
        let projection = graph.snap_index.projection();
        let rings = area.iter().flat_map(|p| {
            std::iter::once((p.exterior(), true)).chain(p.interiors().iter().map(|r| (r, false)))
        });
        let mut edges = Vec::new();
        for (ring, (line_string, exterior)) in rings.enumerate() {
            // The area is left of a counter-clockwise exterior and of a
            // clockwise hole. Loading orients rings this way, but the sides
            // are worked out here rather than trusted.
            let counter_clockwise = line_string.is_ccw();
            let left_inside = counter_clockwise == exterior;
            push_edges(
                &mut edges,
                ring as u32,
                line_string,
                left_inside,
                projection,
            );
        }
        Boundary { edges }
    }

    /// A border line (or several), with the inside on its left if
    /// `left_inside`, else on its right.
    pub fn of_lines(
        lines: &MultiLineString<f64>,
        left_inside: bool,
        graph: &RoadGraph,
    ) -> Boundary {
        let projection = graph.snap_index.projection();
        let mut edges = Vec::new();
        for (ring, line_string) in lines.iter().enumerate() {
            push_edges(
                &mut edges,
                ring as u32,
                line_string,
                left_inside,
                projection,
            );
        }
        Boundary { edges }
    }

    /// Where roads of at least `config.min_class` cross the boundary,
    /// merged by `config.merge_m`, most important road first, then in
    /// order along the boundary (line by line, each from its first vertex,
    /// by the first crossing of each).
    pub fn crossings(
        &self,
        graph: &RoadGraph,
        config: &CrossingConfig,
        search: CrossingSearch,
    ) -> Vec<RoadCrossing> {
        let projection = graph.snap_index.projection();
        let mut crossings = Vec::new();
        for edge in &self.edges {
            match search {
                CrossingSearch::Tree => {
                    for segment in graph.snap_index.along_line(edge.from, edge.to) {
                        cross(
                            graph,
                            projection,
                            edge,
                            segment,
                            config.min_class,
                            &mut crossings,
                        );
                    }
                }
                CrossingSearch::Scan => {
                    for segment in 0..graph.segments.len() as u32 {
                        cross(
                            graph,
                            projection,
                            edge,
                            segment,
                            config.min_class,
                            &mut crossings,
                        );
                    }
                }
            }
        }
        let mut out = Vec::new();
        merge(graph, &mut crossings, config.merge_m, &mut out);
        out
    }
}

fn push_edges(
    edges: &mut Vec<Edge>,
    ring: u32,
    line_string: &LineString<f64>,
    left_inside: bool,
    projection: LocalProjection,
) {
    for (index, line) in line_string.lines().enumerate() {
        if line.start == line.end {
            continue;
        }
        edges.push(Edge {
            ring,
            index: index as u32,
            start: line.start,
            end: line.end,
            from: projection.project_lon_lat(line.start.x, line.start.y),
            to: projection.project_lon_lat(line.end.x, line.end.y),
            left_inside,
        });
    }
}

/// An edge of a boundary, in degrees and projected.
#[derive(Debug)]
struct Edge {
    /// The ring or line it belongs to, counting the rings of all the
    /// area's polygons in order, each exterior before its holes.
    ring: u32,
    /// Its index in the ring.
    index: u32,
    start: Coord<f64>,
    end: Coord<f64>,
    from: [f64; 2],
    to: [f64; 2],
    /// Whether the inside lies on the edge's left (false: on its right).
    left_inside: bool,
}

/// One crossing of a segment and a boundary edge.
#[derive(Clone, Copy, Debug)]
struct Crossing {
    ring: u32,
    edge: u32,
    /// Where on the edge, from its start (0) to its end (1).
    along_edge: f64,
    segment: u32,
    /// Where on the segment, from its `a` (0) to its `b` (1).
    along_segment: f64,
    class: RoadClass,
    at: LatLon,
    outbound: bool,
    inbound: bool,
}

impl Crossing {
    /// The order along the boundary, and a total one: no two crossings of
    /// one boundary have the same ring, edge, place and segment.
    fn boundary_order(&self, other: &Crossing) -> Ordering {
        (self.ring, self.edge)
            .cmp(&(other.ring, other.edge))
            .then(self.along_edge.total_cmp(&other.along_edge))
            .then(self.segment.cmp(&other.segment))
            .then(self.along_segment.total_cmp(&other.along_segment))
    }
}

/// Adds the crossings of `segment` with `edge`, if it is of `min_class`
/// or above: one where they cross or touch, two (the ends of the overlap)
/// where the road runs along the boundary.
fn cross(
    graph: &RoadGraph,
    projection: LocalProjection,
    edge: &Edge,
    segment: u32,
    min_class: RoadClass,
    out: &mut Vec<Crossing>,
) {
    let class = graph.segment_class(segment as usize);
    if class < min_class {
        return;
    }
    let s = graph.segments[segment as usize];
    let (pa, pb) = (graph.position(s.a), graph.position(s.b));
    let (a, b) = (coord(projection.project(pa)), coord(projection.project(pb)));
    if a == b {
        // Two nodes at one place: the segments beside it cross there too.
        return;
    }
    let (e0, e1) = (coord(edge.from), coord(edge.to));
    let points = match line_intersection(Line::new(a, b), Line::new(e0, e1)) {
        None => return,
        Some(LineIntersection::SinglePoint { intersection, .. }) => [Some(intersection), None],
        Some(LineIntersection::Collinear { intersection }) => [
            Some(intersection.start),
            Some(intersection.end).filter(|&e| e != intersection.start),
        ],
    };

    // Which side of the edge each end is on: +1 inside, -1 outside, 0 on the edge's line. Near the crossing the edge's side is
    // the zone's, so driving from a greater side to a smaller one leaves.
    let side = |p: Coord<f64>| match RobustKernel::orient2d(e0, e1, p) {
        Orientation::CounterClockwise => {
            if edge.left_inside {
                1
            } else {
                -1
            }
        }
        Orientation::Clockwise => {
            if edge.left_inside {
                -1
            } else {
                1
            }
        }
        Orientation::Collinear => 0,
    };
    let (side_a, side_b) = (side(a), side(b));
    let (forward, backward) = (s.forward.is_reachable(), s.backward.is_reachable());
    let outbound = (forward && side_a > side_b) || (backward && side_b > side_a);
    let inbound = (forward && side_a < side_b) || (backward && side_b < side_a);

    for point in points.into_iter().flatten() {
        let along_segment = fraction(a, b, point);
        let along_edge = fraction(e0, e1, point);
        let on_road = pa.lerp(pb, along_segment);
        let on_boundary = LatLon::new(
            edge.start.y + (edge.end.y - edge.start.y) * along_edge,
            edge.start.x + (edge.end.x - edge.start.x) * along_edge,
        );
        out.push(Crossing {
            ring: edge.ring,
            edge: edge.index,
            along_edge,
            segment,
            along_segment,
            class,
            // The two are the same point but for rounding; the boundary's
            // coordinates are checked, so this only guards the last bit.
            at: on_boundary.unwrap_or(on_road),
            outbound,
            inbound,
        });
    }
}

fn coord([x, y]: [f64; 2]) -> Coord<f64> {
    Coord { x, y }
}

/// How far along `from`–`to` the point `p` (on it) is, in [0, 1].
fn fraction(from: Coord<f64>, to: Coord<f64>, p: Coord<f64>) -> f64 {
    let d = to - from;
    let len2 = d.x * d.x + d.y * d.y;
    if len2 > 0.0 {
        (((p.x - from.x) * d.x + (p.y - from.y) * d.y) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Merges the crossings of one boundary (crossings within `merge_m` of
/// each other, in chains) and appends them, most important first, to
/// `out`.
fn merge(graph: &RoadGraph, crossings: &mut [Crossing], merge_m: f64, out: &mut Vec<RoadCrossing>) {
    // In boundary order, so the result does not depend on the order the
    // candidates came in.
    crossings.sort_unstable_by(Crossing::boundary_order);
    let n = crossings.len();
    let mut parent: Vec<usize> = (0..n).collect();

    // Two points farther apart in latitude than the distance cannot be
    // closer (the great circle is at least R·Δφ long), so a sweep by
    // latitude only compares neighbours. The window is widened a hair for
    // the rounding of the haversine.
    let window_deg = (merge_m / EARTH_RADIUS_M).to_degrees() * (1.0 + 1e-9);
    let mut by_lat: Vec<usize> = (0..n).collect();
    by_lat.sort_unstable_by(|&i, &j| crossings[i].at.lat().total_cmp(&crossings[j].at.lat()));
    for (k, &i) in by_lat.iter().enumerate() {
        for &j in &by_lat[k + 1..] {
            let (p, q) = (crossings[i].at, crossings[j].at);
            // False for a NaN window too, which then merges nothing.
            let in_window = q.lat() - p.lat() <= window_deg;
            if !in_window {
                break;
            }
            if p.haversine_m(q) <= merge_m {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                // The smaller index becomes the root, so each group's root
                // is its first crossing in boundary order.
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
    }

    let start = out.len();
    let mut merged_into = vec![usize::MAX; n];
    for (i, c) in crossings.iter().enumerate() {
        let r = root(&mut parent, i);
        if merged_into[r] == usize::MAX {
            merged_into[r] = out.len();
            out.push(single(graph, c));
        } else {
            let e = &mut out[merged_into[r]];
            let this = single(graph, c);
            let location = this.location;
            // The most important road represents the place; among equals,
            // the first along the boundary, which is already there.
            if c.class > e.class {
                *e = RoadCrossing {
                    outbound: e.outbound,
                    inbound: e.inbound,
                    crossings: e.crossings,
                    members: std::mem::take(&mut e.members),
                    ..this
                };
            }
            e.members.push(location);
            e.outbound |= c.outbound;
            e.inbound |= c.inbound;
            e.crossings += 1;
        }
    }
    // Places were created in boundary order of their first crossings; a
    // stable sort by class keeps that order among equals.
    out[start..].sort_by_key(|e| std::cmp::Reverse(e.class));
}

/// The place of a single crossing.
fn single(graph: &RoadGraph, c: &Crossing) -> RoadCrossing {
    let s = graph.segments[c.segment as usize];
    let point = graph
        .position(s.a)
        .lerp(graph.position(s.b), c.along_segment);
    let location = Snapped {
        segment: c.segment,
        fraction: c.along_segment,
        point,
        distance_m: c.at.haversine_m(point),
    };
    RoadCrossing {
        at: c.at,
        class: c.class,
        segment: c.segment as usize,
        location,
        outbound: c.outbound,
        inbound: c.inbound,
        crossings: 1,
        members: vec![location],
    }
}

/// The root of `i`'s group, halving the path on the way.
fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}
