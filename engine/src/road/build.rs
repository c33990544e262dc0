//! Turning routable ways into a [`RoadGraph`]: segments, costs, and the
//! largest strongly connected component.

use petgraph::graph::{DiGraph, NodeIndex};

use crate::geo::LatLon;
use crate::road::Cost;
use crate::road::class::RoadClass;
use crate::road::graph::{RoadGraph, Segment};
use crate::road::names::RoadNamesBuilder;
use crate::road::osm::OsmRoads;

/// What building a graph kept and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Routable ways in the source.
    pub ways: usize,
    /// Nodes used by routable ways.
    pub road_nodes: usize,
    /// Road nodes outside the largest strongly connected component: islands,
    /// one-way dead ends, parking lots closed off by access tags.
    pub dropped_nodes: usize,
    /// Way references to nodes the source does not contain (usual at the
    /// edge of an extract); the way is cut there.
    pub missing_node_refs: usize,
    /// Time spent finding the strongly connected components.
    pub scc_time: std::time::Duration,
}

/// Why no graph could be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Nothing in the source is a road a car may drive.
    #[error(
        "no routable road: the map has no way that the car profile accepts (of {ways} routable ways, none has two known nodes)"
    )]
    NoRoutableRoad {
        /// Routable ways seen.
        ways: usize,
    },
    /// No two places on the map can be driven between in both directions
    /// (every road is a one-way dead end), so no part of it is routable.
    #[error(
        "no routable road: no part of the network can be driven both there and back ({ways} routable ways)"
    )]
    NoConnectedRoad {
        /// Routable ways seen.
        ways: usize,
    },
    /// The network is too large for path distances to be stored exactly.
    #[error("the road network is {total_km:.0} km long; at most 429,496 km is supported")]
    TooLong {
        /// Its total length.
        total_km: f64,
    },
}

impl RoadGraph {
    /// Builds the graph: one segment per pair of consecutive way nodes,
    /// costs from the ways' speeds, classes from the ways' classes, and only
    /// the largest strongly connected component kept.
    ///
    /// ```
    /// use kuaifan_engine::{Direction, LatLon, OsmRoads, RoadGraph, WayRule};
    /// let mut roads = OsmRoads::new();
    /// roads.add_node(1, LatLon::new(35.50, 112.85)?);
    /// roads.add_node(2, LatLon::new(35.51, 112.85)?);
    /// let rule = WayRule { speed_kmh: 36.0, direction: Direction::Both };
    /// roads.add_way(10, vec![1, 2], rule);
    /// let graph = RoadGraph::build(roads)?;
    /// assert_eq!((graph.node_count(), graph.edge_count(), graph.build_report().dropped_nodes), (2, 2, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(mut roads: OsmRoads) -> Result<RoadGraph, BuildError> {
        roads.index_nodes();
        let mut report = BuildReport {
            ways: roads.ways().len(),
            ..BuildReport::default()
        };

        // Local ids in order of first use, so the graph is the same whatever
        // the order of nodes in the file.
        let mut local = vec![u32::MAX; roads.node_count()];
        let mut coords: Vec<LatLon> = Vec::new();
        let mut segments: Vec<Segment> = Vec::new();
        // Beside the segments rather than in them: snapping and routing copy
        // segments on their hot paths and have no use for the class.
        let mut classes: Vec<RoadClass> = Vec::new();
        // Names likewise: an index per segment into a table of distinct names.
        let mut names = RoadNamesBuilder::default();
        let mut name_of: Vec<u32> = Vec::new();
        let mut total_dm = 0u64;
        for way in roads.ways() {
            let name = names.intern(way.name.as_ref());
            let mut previous: Option<u32> = None;
            for &id in &way.nodes {
                let Some(index) = roads.node_index(id) else {
                    report.missing_node_refs += 1;
                    previous = None;
                    continue;
                };
                if local[index] == u32::MAX {
                    local[index] = coords.len() as u32;
                    coords.push(roads.position(index));
                }
                let node = local[index];
                if let Some(prev) = previous.filter(|&p| p != node) {
                    let length_m = coords[prev as usize].haversine_m(coords[node as usize]);
                    let full = Cost::of_drive(length_m, way.rule.speed_kmh);
                    total_dm += u64::from(full.distance_dm());
                    segments.push(Segment {
                        a: prev,
                        b: node,
                        forward: if way.rule.direction.forward() {
                            full
                        } else {
                            Cost::UNREACHABLE
                        },
                        backward: if way.rule.direction.backward() {
                            full
                        } else {
                            Cost::UNREACHABLE
                        },
                    });
                    classes.push(way.class);
                    name_of.push(name);
                }
                previous = Some(node);
            }
        }
        if segments.is_empty() {
            return Err(BuildError::NoRoutableRoad { ways: report.ways });
        }
        if total_dm > Cost::MAX_TOTAL_DM {
            return Err(BuildError::TooLong {
                total_km: total_dm as f64 / 10_000.0,
            });
        }
        report.road_nodes = coords.len();

        let scc_start = std::time::Instant::now();
        let keep = largest_strong_component(coords.len(), &segments);
        report.scc_time = scc_start.elapsed();
        let mut renumber = vec![u32::MAX; coords.len()];
        let mut kept_coords = Vec::new();
        for (old, &kept) in keep.iter().enumerate() {
            if kept {
                renumber[old] = kept_coords.len() as u32;
                kept_coords.push(coords[old]);
            }
        }
        report.dropped_nodes = coords.len() - kept_coords.len();
        let mut kept_segments = Vec::new();
        let mut kept_classes = Vec::new();
        let mut kept_names = Vec::new();
        for ((s, class), name) in segments.into_iter().zip(classes).zip(name_of) {
            if keep[s.a as usize] && keep[s.b as usize] {
                kept_segments.push(Segment {
                    a: renumber[s.a as usize],
                    b: renumber[s.b as usize],
                    ..s
                });
                kept_classes.push(class);
                kept_names.push(name);
            }
        }
        if kept_segments.is_empty() {
            return Err(BuildError::NoConnectedRoad { ways: report.ways });
        }
        let places = roads.take_places();
        Ok(RoadGraph::from_segments(
            kept_coords,
            kept_segments,
            kept_classes,
            names.finish(kept_names),
            places,
            report,
        ))
    }
}

/// Marks the nodes of the largest strongly connected component (the first
/// one found on a tie, which is deterministic).
fn largest_strong_component(node_count: usize, segments: &[Segment]) -> Vec<bool> {
    let mut graph: DiGraph<(), (), u32> = DiGraph::with_capacity(node_count, segments.len() * 2);
    for _ in 0..node_count {
        graph.add_node(());
    }
    for s in segments {
        if s.forward.is_reachable() {
            graph.add_edge(
                NodeIndex::new(s.a as usize),
                NodeIndex::new(s.b as usize),
                (),
            );
        }
        if s.backward.is_reachable() {
            graph.add_edge(
                NodeIndex::new(s.b as usize),
                NodeIndex::new(s.a as usize),
                (),
            );
        }
    }
    let components = petgraph::algo::kosaraju_scc(&graph);
    let mut keep = vec![false; node_count];
    let largest = components
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (c.len(), std::cmp::Reverse(*i)))
        .map(|(_, c)| c.as_slice())
        .unwrap_or_default();
    for n in largest {
        keep[n.index()] = true;
    }
    keep
}
