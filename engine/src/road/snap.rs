//! Snapping a location to the nearest road segment.

use rstar::primitives::{GeomWithData, Line};
use rstar::{AABB, RTree, RTreeObject, SelectionFunction};

use crate::geo::{LatLon, LocalProjection};
use crate::road::Cost;
use crate::road::graph::{RoadGraph, Segment};

/// Options for snapping.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SnapConfig {
    /// A location farther than this from every road, in metres, is refused.
    pub limit_m: f64,
}

impl Default for SnapConfig {
    fn default() -> Self {
        Self { limit_m: 1_000.0 }
    }
}

/// A location placed on the road network: a point on one segment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Snapped {
    /// The segment's index in [`RoadGraph::segments`].
    pub segment: u32,
    /// How far along the segment, from its `a` (0) to its `b` (1).
    pub fraction: f64,
    /// The foot point on the segment.
    pub point: LatLon,
    /// Metres from the location to the foot point.
    pub distance_m: f64,
}

/// A location that could not be placed on the road network.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum SnapError {
    /// The nearest road is farther than the snap limit.
    #[error("off_network: {distance_m:.0} m from the nearest road")]
    OffNetwork {
        /// Metres to the nearest road.
        distance_m: f64,
        /// The limit in force.
        limit_m: f64,
    },
}

type SegmentLine = GeomWithData<Line<[f64; 2]>, u32>;

/// An R-tree over the segments in a local metric projection.
#[derive(Debug)]
pub(crate) struct SnapIndex {
    tree: RTree<SegmentLine>,
    projection: LocalProjection,
}

impl SnapIndex {
    pub(crate) fn build(coords: &[LatLon], segments: &[Segment]) -> Self {
        let mid_lat = match crate::geo::BoundingBox::around(coords.iter().copied()) {
            Some(b) => (b.min_lat + b.max_lat) / 2.0,
            None => 0.0,
        };
        let projection = LocalProjection::around(mid_lat);
        let lines = segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let a = projection.project(coords[s.a as usize]);
                let b = projection.project(coords[s.b as usize]);
                GeomWithData::new(Line::new(a, b), i as u32)
            })
            .collect();
        Self {
            tree: RTree::bulk_load(lines),
            projection,
        }
    }

    /// The projection the tree's coordinates are in.
    pub(crate) fn projection(&self) -> LocalProjection {
        self.projection
    }

    /// The segments whose bounding box the straight line `from`–`to`
    /// (projected) touches: every segment the line crosses or touches, and
    /// some it passes near. Only the nodes of
    /// the tree along the line are visited, so a long diagonal line does not
    /// pay for the whole box around it.
    pub(crate) fn along_line(
        &self,
        from: [f64; 2],
        to: [f64; 2],
    ) -> impl Iterator<Item = u32> + '_ {
        self.tree
            .locate_with_selection_function(AlongLine { from, to })
            .map(|s| s.data)
    }
}

/// Selects the tree nodes and segments whose boxes a line touches.
struct AlongLine {
    from: [f64; 2],
    to: [f64; 2],
}

impl SelectionFunction<SegmentLine> for AlongLine {
    fn should_unpack_parent(&self, envelope: &AABB<[f64; 2]>) -> bool {
        line_touches_box(self.from, self.to, envelope)
    }

    fn should_unpack_leaf(&self, leaf: &SegmentLine) -> bool {
        line_touches_box(self.from, self.to, &leaf.envelope())
    }
}

/// Slack added around a box, in metres: far more than the rounding of the
/// clipping below (around 1e-9 m at city coordinates of 1e7 m), so a
/// segment that touches the line is never lost to it; a few more
/// candidates go on to the exact test.
const BOX_SLACK_M: f64 = 0.01;

/// Whether the line `p`–`q` meets the box (Liang–Barsky clipping).
fn line_touches_box(p: [f64; 2], q: [f64; 2], envelope: &AABB<[f64; 2]>) -> bool {
    let (lower, upper) = (envelope.lower(), envelope.upper());
    let (mut enter, mut leave) = (0.0_f64, 1.0_f64);
    for axis in 0..2 {
        let d = q[axis] - p[axis];
        let low = lower[axis] - BOX_SLACK_M - p[axis];
        let high = upper[axis] + BOX_SLACK_M - p[axis];
        if d == 0.0 {
            if low > 0.0 || high < 0.0 {
                return false;
            }
        } else {
            let (a, b) = (low / d, high / d);
            enter = enter.max(a.min(b));
            leave = leave.min(a.max(b));
            if enter > leave {
                return false;
            }
        }
    }
    true
}

impl RoadGraph {
    /// Places a location on the nearest road segment, at the foot of the
    /// perpendicular.
    ///
    /// ```
    /// use kuaifan_engine::{Direction, LatLon, OsmRoads, RoadGraph, SnapConfig, WayRule};
    /// let mut roads = OsmRoads::new();
    /// roads.add_node(1, LatLon::new(35.50, 112.85)?);
    /// roads.add_node(2, LatLon::new(35.51, 112.85)?);
    /// roads.add_way(10, vec![1, 2], WayRule { speed_kmh: 36.0, direction: Direction::Both });
    /// let graph = RoadGraph::build(roads)?;
    /// let snapped = graph.snap(LatLon::new(35.505, 112.851)?, &SnapConfig::default())?;
    /// assert!((snapped.fraction - 0.5).abs() < 1e-9);
    /// assert!((snapped.distance_m - 90.6).abs() < 0.5);
    /// let far = graph.snap(LatLon::new(35.505, 112.90)?, &SnapConfig::default());
    /// assert_eq!(far.unwrap_err().to_string(), "off_network: 4526 m from the nearest road");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snap(&self, at: LatLon, config: &SnapConfig) -> Result<Snapped, SnapError> {
        let index = &self.snap_index;
        let q = index.projection.project(at);
        let Some(nearest) = index.tree.nearest_neighbor(q) else {
            // Unreachable for a built graph, which always has a segment.
            return Err(SnapError::OffNetwork {
                distance_m: f64::INFINITY,
                limit_m: config.limit_m,
            });
        };
        let [ax, ay] = nearest.geom().from;
        let [bx, by] = nearest.geom().to;
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let fraction = if len2 > 0.0 {
            (((q[0] - ax) * dx + (q[1] - ay) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let segment = nearest.data;
        let s = &self.segments[segment as usize];
        let point = self.position(s.a).lerp(self.position(s.b), fraction);
        let distance_m = at.haversine_m(point);
        if distance_m > config.limit_m {
            return Err(SnapError::OffNetwork {
                distance_m,
                limit_m: config.limit_m,
            });
        }
        Ok(Snapped {
            segment,
            fraction,
            point,
            distance_m,
        })
    }

    /// The segment a location is on. A `Snapped` made by hand with a segment
    /// this graph does not have (its fields are public) is on no road: it
    /// can neither leave nor be reached, rather than crash the query.
    fn segment_of(&self, at: &Snapped) -> Segment {
        self.segments
            .get(at.segment as usize)
            .copied()
            .unwrap_or(Segment {
                a: 0,
                b: 0,
                forward: Cost::UNREACHABLE,
                backward: Cost::UNREACHABLE,
            })
    }

    /// Where a journey from `from` can first reach the graph: up to two
    /// `(node, cost)` pairs, one per allowed direction of its segment.
    pub(crate) fn departures(&self, from: &Snapped) -> impl Iterator<Item = (u32, Cost)> + use<> {
        let s = self.segment_of(from);
        let to_b = s
            .forward
            .is_reachable()
            .then(|| (s.b, s.forward.part(1.0 - from.fraction)));
        let to_a = s
            .backward
            .is_reachable()
            .then(|| (s.a, s.backward.part(from.fraction)));
        to_b.into_iter().chain(to_a)
    }

    /// Where a journey to `to` leaves the graph: up to two `(node, cost)`
    /// pairs, the cost being from the node to the point.
    pub(crate) fn arrivals(&self, to: &Snapped) -> impl Iterator<Item = (u32, Cost)> + use<> {
        let s = self.segment_of(to);
        let from_a = s
            .forward
            .is_reachable()
            .then(|| (s.a, s.forward.part(to.fraction)));
        let from_b = s
            .backward
            .is_reachable()
            .then(|| (s.b, s.backward.part(1.0 - to.fraction)));
        from_a.into_iter().chain(from_b)
    }

    /// The cost of driving straight along a shared segment from `from` to
    /// `to`, when both are on the same one and its direction allows it.
    pub(crate) fn along_segment(&self, from: &Snapped, to: &Snapped) -> Cost {
        if from.segment != to.segment {
            return Cost::UNREACHABLE;
        }
        let s = self.segment_of(from);
        if to.fraction >= from.fraction && s.forward.is_reachable() {
            s.forward.part(to.fraction - from.fraction)
        } else if to.fraction <= from.fraction && s.backward.is_reachable() {
            s.backward.part(from.fraction - to.fraction)
        } else {
            Cost::UNREACHABLE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(lower: [f64; 2], upper: [f64; 2]) -> AABB<[f64; 2]> {
        AABB::from_corners(lower, upper)
    }

    #[test]
    fn a_line_touches_the_boxes_it_passes_through() {
        let b = envelope([0.0, 0.0], [10.0, 10.0]);
        assert!(line_touches_box([-5.0, 5.0], [15.0, 5.0], &b), "across");
        assert!(line_touches_box([2.0, 2.0], [3.0, 3.0], &b), "inside");
        assert!(line_touches_box([-5.0, 0.0], [0.0, 0.0], &b), "to a corner");
        assert!(
            line_touches_box([5.0, 20.0], [5.0, 10.0], &b),
            "vertical, to the edge"
        );
        assert!(
            !line_touches_box([5.0, 20.0], [5.0, 10.5], &b),
            "vertical, short"
        );
        // The diagonal from (-10, 5) to (5, 20) passes the corner (0, 10) 3.5 m off.
        assert!(
            !line_touches_box([-10.0, 5.0], [5.0, 20.0], &b),
            "past the corner"
        );
        assert!(
            line_touches_box([-10.0, 0.0], [5.0, 15.0], &b),
            "through the corner"
        );
        let point = envelope([3.0, 3.0], [3.0, 3.0]);
        assert!(
            line_touches_box([0.0, 0.0], [6.0, 6.0], &point),
            "a point box"
        );
        assert!(!line_touches_box([0.0, 1.0], [6.0, 7.0], &point));
    }
}
