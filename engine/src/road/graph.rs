//! The routable car graph in compressed-sparse-row form.

use crate::geo::{BoundingBox, LatLon};
use crate::road::Cost;
use crate::road::build::BuildReport;
use crate::road::class::RoadClass;
use crate::road::names::{MapPlace, RoadName, RoadNameId, RoadNames};
use crate::road::snap::SnapIndex;

/// Adjacency lists of all nodes in one flat array: the edges of node `n` are
/// `first[n]..first[n + 1]` of `head` and `cost`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Csr {
    pub(crate) first: Vec<u32>,
    pub(crate) head: Vec<u32>,
    pub(crate) cost: Vec<Cost>,
}

impl Csr {
    /// Builds the lists from `(tail, head, cost)` triples with a counting sort;
    /// within a node, edges keep their input order.
    pub(crate) fn from_edges(
        node_count: usize,
        edges: impl Iterator<Item = (u32, u32, Cost)> + Clone,
    ) -> Self {
        let mut first = vec![0u32; node_count + 1];
        for (tail, _, _) in edges.clone() {
            first[tail as usize + 1] += 1;
        }
        for i in 0..node_count {
            first[i + 1] += first[i];
        }
        let m = first[node_count] as usize;
        let mut next = first.clone();
        let mut head = vec![0u32; m];
        let mut cost = vec![Cost::ZERO; m];
        for (tail, h, c) in edges {
            let slot = next[tail as usize] as usize;
            head[slot] = h;
            cost[slot] = c;
            next[tail as usize] += 1;
        }
        Self { first, head, cost }
    }

    #[inline]
    pub(crate) fn edges(&self, node: u32) -> std::ops::Range<usize> {
        self.first[node as usize] as usize..self.first[node as usize + 1] as usize
    }

    pub(crate) fn edge_count(&self) -> usize {
        self.head.len()
    }
}

/// A stretch of road between two consecutive nodes of an OSM way, with the
/// cost of driving all of it in each direction ([`Cost::UNREACHABLE`] where
/// the direction is not allowed). Locations snap to segments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// The node the way reaches first.
    pub a: u32,
    /// The node the way reaches next.
    pub b: u32,
    /// Cost of driving a → b.
    pub forward: Cost,
    /// Cost of driving b → a.
    pub backward: Cost,
}

/// The car network: nodes with positions, directed edges with costs, and the
/// segments locations snap to. Only the largest strongly connected component
/// of the source is kept, so every node can reach every other.
#[derive(Debug)]
pub struct RoadGraph {
    pub(crate) coords: Vec<LatLon>,
    pub(crate) forward: Csr,
    pub(crate) backward: Csr,
    pub(crate) segments: Vec<Segment>,
    /// The class of each segment's way, by segment index.
    pub(crate) classes: Vec<RoadClass>,
    /// The names of the roads, and which one each segment belongs to.
    pub(crate) names: RoadNames,
    /// The map's named places (villages, towns, points of interest).
    pub(crate) places: Vec<MapPlace>,
    pub(crate) snap_index: SnapIndex,
    pub(crate) report: BuildReport,
}

impl RoadGraph {
    /// Assembles a graph from node positions, segments, their classes and
    /// names (one per segment) and the named places; the edges and the snap
    /// index are derived from the segments.
    pub(crate) fn from_segments(
        coords: Vec<LatLon>,
        segments: Vec<Segment>,
        classes: Vec<RoadClass>,
        names: RoadNames,
        places: Vec<MapPlace>,
        report: BuildReport,
    ) -> Self {
        debug_assert_eq!(classes.len(), segments.len());
        debug_assert_eq!(names.by_segment.len(), segments.len());
        let directed = || {
            segments.iter().flat_map(|s| {
                let fwd = s.forward.is_reachable().then_some((s.a, s.b, s.forward));
                let bwd = s.backward.is_reachable().then_some((s.b, s.a, s.backward));
                fwd.into_iter().chain(bwd)
            })
        };
        let forward = Csr::from_edges(coords.len(), directed());
        let backward = Csr::from_edges(coords.len(), directed().map(|(t, h, c)| (h, t, c)));
        let snap_index = SnapIndex::build(&coords, &segments);
        Self {
            coords,
            forward,
            backward,
            segments,
            classes,
            names,
            places,
            snap_index,
            report,
        }
    }

    /// What building the graph kept and dropped.
    pub fn build_report(&self) -> &BuildReport {
        &self.report
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.coords.len()
    }

    /// Number of directed edges.
    pub fn edge_count(&self) -> usize {
        self.forward.edge_count()
    }

    /// The segments, indexed by the `segment` of a [`crate::Snapped`].
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The class of the road a segment belongs to. A segment this graph
    /// does not have (an index from elsewhere) is [`RoadClass::Minor`], as
    /// [`RoadGraph::segments`] would not know it either; it is never an exit.
    pub fn segment_class(&self, segment: usize) -> RoadClass {
        self.classes.get(segment).copied().unwrap_or_default()
    }

    /// The classes of all segments, by segment index.
    pub fn segment_classes(&self) -> &[RoadClass] {
        &self.classes
    }

    /// The name of the road a segment belongs to; `None` for a way without
    /// `name`, `ref` or `name:en`, or a segment this graph does not have.
    ///
    /// ```
    /// use kuaifan_engine::{Direction, LatLon, OsmRoads, RoadClass, RoadGraph, RoadName, WayRule};
    /// let mut roads = OsmRoads::new();
    /// roads.add_node(1, LatLon::new(35.50, 112.85)?);
    /// roads.add_node(2, LatLon::new(35.51, 112.85)?);
    /// let rule = WayRule { speed_kmh: 40.0, direction: Direction::Both };
    /// let name = RoadName { name: "凤台街".into(), ..RoadName::default() };
    /// roads.add_named_way(10, vec![1, 2], rule, RoadClass::Primary, Some(name));
    /// let graph = RoadGraph::build(roads)?;
    /// assert_eq!(graph.segment_road(0).map(|n| n.label()), Some("凤台街"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn segment_road(&self, segment: usize) -> Option<&RoadName> {
        self.segment_road_id(segment).map(|id| self.road_name(id))
    }

    /// The id of the road name a segment belongs to, to group segments of
    /// one road without comparing strings.
    pub fn segment_road_id(&self, segment: usize) -> Option<RoadNameId> {
        self.names.of_segment(segment)
    }

    /// A name by its id.
    ///
    /// # Panics
    /// On an id this graph did not give out.
    pub fn road_name(&self, id: RoadNameId) -> &RoadName {
        &self.names.table[id.0 as usize]
    }

    /// Every distinct road name, indexed by [`RoadNameId`].
    pub fn road_names(&self) -> &[RoadName] {
        &self.names.table
    }

    /// The map's named places: settlements (`place=*`) and named points of
    /// interest drawn as nodes, in file order.
    pub fn places(&self) -> &[MapPlace] {
        &self.places
    }

    /// The position of a node.
    pub fn position(&self, node: u32) -> LatLon {
        self.coords[node as usize]
    }

    /// The box around all nodes.
    pub fn bounding_box(&self) -> BoundingBox {
        BoundingBox::around(self.coords.iter().copied()).unwrap_or(BoundingBox {
            min_lat: 0.0,
            min_lon: 0.0,
            max_lat: 0.0,
            max_lon: 0.0,
        })
    }

    /// The out-edges of a node: `(head, cost)`.
    pub fn out_edges(&self, node: u32) -> impl Iterator<Item = (u32, Cost)> + '_ {
        self.forward
            .edges(node)
            .map(|e| (self.forward.head[e], self.forward.cost[e]))
    }
}
