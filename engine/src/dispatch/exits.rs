//! Zone exits: where the important roads cross a patrol zone's boundary.
//! To encircle the zone of a violent incident, units are sent to hold them,
//! most important road first. Zones and roads do not move, so the exits are
//! found once, when a scenario is loaded.

use std::cmp::Ordering;

use geo::kernels::RobustKernel;
use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{Coord, Kernel, Line, Orientation, Winding};

use crate::geo::{EARTH_RADIUS_M, LatLon, LocalProjection};
use crate::road::class::RoadClass;
use crate::road::graph::RoadGraph;
use crate::road::snap::Snapped;
use crate::scenario::{Zone, Zones};

/// Options for finding zone exits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExitConfig {
    /// Crossings at most this many metres apart (great-circle) are one
    /// exit: a dual carriageway crosses twice side by side, an interchange
    /// with its ramps several times, and a road that wiggles along the
    /// boundary again and again, yet one unit holds each. Crossings join
    /// in chains, so a road that runs along the boundary crossing it every
    /// 50 m stays one exit however long it is. 0 merges only crossings at
    /// the same point (a road node on the boundary); a negative or NaN
    /// distance merges nothing.
    pub merge_m: f64,
}

impl Default for ExitConfig {
    fn default() -> Self {
        Self { merge_m: 60.0 }
    }
}

/// A point where roads of exit class ([`RoadClass::is_exit_class`]) cross
/// a zone's boundary: one or more crossings within [`ExitConfig::merge_m`]
/// of each other, represented by the crossing of the most important road.
#[derive(Clone, Debug, PartialEq)]
pub struct Exit {
    /// The representative crossing, on the zone's boundary.
    pub at: LatLon,
    /// The class of the most important road crossing here.
    pub class: RoadClass,
    /// The segment of the representative crossing, an index into
    /// [`RoadGraph::segments`].
    pub segment: usize,
    /// The representative crossing on its road, ready for ETA queries: on
    /// `segment`, at the crossing, `distance_m` from `at` (nanometres).
    pub location: Snapped,
    /// Whether a car may drive out of the zone at one of the crossings.
    pub outbound: bool,
    /// Whether a car may drive into the zone at one of the crossings.
    pub inbound: bool,
    /// How many crossings of segments and boundary edges were merged into
    /// this exit (a road node on the boundary counts once per segment
    /// meeting there).
    pub crossings: usize,
}

/// The exits of every zone, found once from the zones and the road graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZoneExits {
    /// All exits, zone after zone.
    exits: Vec<Exit>,
    /// The exits of zone `z` are `exits[first[z]..first[z + 1]]`.
    first: Vec<usize>,
}

/// How the segments near a boundary edge are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Search {
    /// Through the graph's segment R-tree, along the edge.
    Tree,
    /// Every segment against every edge: the reference.
    Scan,
}

impl ZoneExits {
    /// Finds the exits of every zone: the crossings of its boundary
    /// (exterior and holes) with segments of exit class, found through the
    /// graph's segment R-tree and computed exactly (robust orientation
    /// tests), merged by [`ExitConfig::merge_m`].
    ///
    /// ```
    /// use kuaifan_engine::{ExitConfig, OsmRoads, Profile, RoadClass, RoadGraph, ZoneExits, Zones};
    /// let roads = OsmRoads::read("tests/fixtures/tiny.osm.pbf".as_ref(), &Profile::default())?;
    /// let graph = RoadGraph::build(roads)?;
    /// let text = std::fs::read_to_string("tests/fixtures/scenario/valid/zones.geojson")?;
    /// let zones = Zones::from_geojson_str(&text)?;
    /// let exits = ZoneExits::find(&zones, &graph, &ExitConfig::default());
    /// // The primary road leaves the western zone at one of its nodes,
    /// // which ends one of its segments and starts the next.
    /// let west = exits.exits(zones.index_of("Z01").unwrap());
    /// assert_eq!(west.len(), 1);
    /// assert_eq!((west[0].class, west[0].crossings), (RoadClass::Primary, 2));
    /// assert!(west[0].outbound && west[0].inbound);
    /// assert!((west[0].at.lon() - 112.8515).abs() < 1e-9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find(zones: &Zones, graph: &RoadGraph, config: &ExitConfig) -> ZoneExits {
        Self::find_with(zones, graph, config, Search::Tree)
    }

    /// [`ZoneExits::find`] by testing every segment against every boundary
    /// edge, without the R-tree: the reference the fast search is tested
    /// and benchmarked against. Its answer is equal to `find`'s.
    pub fn find_by_scan(zones: &Zones, graph: &RoadGraph, config: &ExitConfig) -> ZoneExits {
        Self::find_with(zones, graph, config, Search::Scan)
    }

    fn find_with(zones: &Zones, graph: &RoadGraph, config: &ExitConfig, search: Search) -> Self {
        let projection = graph.snap_index.projection();
        let mut exits = Vec::new();
        let mut first = Vec::with_capacity(zones.len() + 1);
        first.push(0);
        let mut crossings = Vec::new();
        for zone in zones {
            crossings.clear();
            for edge in boundary_edges(zone, projection) {
                match search {
                    Search::Tree => {
                        for segment in graph.snap_index.along_line(edge.from, edge.to) {
                            cross(graph, projection, &edge, segment, &mut crossings);
                        }
                    }
                    Search::Scan => {
                        for segment in 0..graph.segments.len() as u32 {
                            cross(graph, projection, &edge, segment, &mut crossings);
                        }
                    }
                }
            }
            merge(graph, &mut crossings, config.merge_m, &mut exits);
            first.push(exits.len());
        }
        ZoneExits { exits, first }
    }

    /// The exits of the zone at `zone` in [`Zones::as_slice`], most
    /// important road first, then in order along the boundary: ring by
    /// ring (exterior, then holes, as loaded: exteriors counter-clockwise),
    /// each from its first vertex, by the exit's first crossing. Empty for
    /// a zone without exits or an index past the last zone.
    pub fn exits(&self, zone: usize) -> &[Exit] {
        match (self.first.get(zone), self.first.get(zone + 1)) {
            (Some(&start), Some(&end)) => &self.exits[start..end],
            _ => &[],
        }
    }

    /// How many zones the exits were found for.
    pub fn zone_count(&self) -> usize {
        self.first.len().saturating_sub(1)
    }

    /// How many exits all zones have together (an exit on the border of
    /// two zones counts for each).
    pub fn exit_count(&self) -> usize {
        self.exits.len()
    }
}

/// An edge of a zone's boundary, in degrees and projected.
struct Edge {
    /// The ring it belongs to, counting the rings of all the zone's
    /// polygons in order, each exterior before its holes.
    ring: u32,
    /// Its index in the ring.
    index: u32,
    start: Coord<f64>,
    end: Coord<f64>,
    from: [f64; 2],
    to: [f64; 2],
    /// Whether the zone lies on the edge's left (false: on its right).
    left_inside: bool,
}

/// The edges of a zone's rings, zero-length ones left out.
fn boundary_edges(zone: &Zone, projection: LocalProjection) -> Vec<Edge> {
    let rings = zone.geometry.iter().flat_map(|p| {
        std::iter::once((p.exterior(), true)).chain(p.interiors().iter().map(|r| (r, false)))
    });
    let mut edges = Vec::new();
    for (ring, (line_string, exterior)) in rings.enumerate() {
        // The zone is left of a counter-clockwise exterior and of a
        // clockwise hole. Loading orients rings this way, but the sides are
        // worked out here rather than trusted.
        let counter_clockwise = line_string.is_ccw();
        let left_inside = counter_clockwise == exterior;
        for (index, line) in line_string.lines().enumerate() {
            if line.start == line.end {
                continue;
            }
            edges.push(Edge {
                ring: ring as u32,
                index: index as u32,
                start: line.start,
                end: line.end,
                from: projection.project_lon_lat(line.start.x, line.start.y),
                to: projection.project_lon_lat(line.end.x, line.end.y),
                left_inside,
            });
        }
    }
    edges
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
    /// one zone have the same ring, edge, place and segment.
    fn boundary_order(&self, other: &Crossing) -> Ordering {
        (self.ring, self.edge)
            .cmp(&(other.ring, other.edge))
            .then(self.along_edge.total_cmp(&other.along_edge))
            .then(self.segment.cmp(&other.segment))
            .then(self.along_segment.total_cmp(&other.along_segment))
    }
}

/// Adds the crossings of `segment` with `edge`, if it is of exit class:
/// one where they cross or touch, two (the ends of the overlap) where the
/// road runs along the boundary.
fn cross(
    graph: &RoadGraph,
    projection: LocalProjection,
    edge: &Edge,
    segment: u32,
    out: &mut Vec<Crossing>,
) {
    let class = graph.segment_class(segment as usize);
    if !class.is_exit_class() {
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

    // Which side of the edge each end is on: +1 inside the zone, -1
    // outside, 0 on the edge's line. Near the crossing the edge's side is
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

/// Merges the crossings of one zone into exits (crossings within
/// `merge_m` of each other, in chains) and appends them, most important
/// first, to `out`.
fn merge(graph: &RoadGraph, crossings: &mut [Crossing], merge_m: f64, out: &mut Vec<Exit>) {
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
    let mut exit_of = vec![usize::MAX; n];
    for (i, c) in crossings.iter().enumerate() {
        let r = root(&mut parent, i);
        if exit_of[r] == usize::MAX {
            exit_of[r] = out.len();
            out.push(exit(graph, c));
        } else {
            let e = &mut out[exit_of[r]];
            // The most important road represents the exit; among equals,
            // the first along the boundary, which is already there.
            if c.class > e.class {
                *e = Exit {
                    outbound: e.outbound,
                    inbound: e.inbound,
                    crossings: e.crossings,
                    ..exit(graph, c)
                };
            }
            e.outbound |= c.outbound;
            e.inbound |= c.inbound;
            e.crossings += 1;
        }
    }
    // Exits were created in boundary order of their first crossings; a
    // stable sort by class keeps that order among equals.
    out[start..].sort_by_key(|e| std::cmp::Reverse(e.class));
}

/// The exit of a single crossing.
fn exit(graph: &RoadGraph, c: &Crossing) -> Exit {
    let s = graph.segments[c.segment as usize];
    let point = graph
        .position(s.a)
        .lerp(graph.position(s.b), c.along_segment);
    Exit {
        at: c.at,
        class: c.class,
        segment: c.segment as usize,
        location: Snapped {
            segment: c.segment,
            fraction: c.along_segment,
            point,
            distance_m: c.at.haversine_m(point),
        },
        outbound: c.outbound,
        inbound: c.inbound,
        crossings: 1,
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
