//! The prepared contraction hierarchy and the [`Router`] that owns it.

use crate::road::graph::{Csr, RoadGraph};
use crate::route::contraction::{PrepareConfig, build_hierarchy};

/// Marks an edge of the original graph (not a shortcut).
pub(crate) const NO_MIDDLE: u32 = u32::MAX;

/// Edges of a hierarchy, indexed by rank, each a road edge or a shortcut
/// through its `middle` node.
#[derive(Debug, Clone)]
pub(crate) struct HierarchyEdges {
    pub(crate) csr: Csr,
    pub(crate) middle: Vec<u32>,
}

/// A contraction hierarchy over a [`RoadGraph`]. Nodes are numbered by rank
/// (contraction order), so searches, which only climb, walk memory upwards.
#[derive(Debug, Clone)]
pub(crate) struct Hierarchy {
    /// Graph node → rank.
    pub(crate) rank: Vec<u32>,
    /// Rank → graph node.
    pub(crate) node: Vec<u32>,
    /// For each rank, edges to higher ranks in driving direction (u → v, v > u).
    pub(crate) up: HierarchyEdges,
    /// For each rank v, edges from higher ranks into it (u → v, u > v), stored at v with head u.
    pub(crate) down: HierarchyEdges,
}

impl Hierarchy {
    pub(crate) fn new(
        rank: Vec<u32>,
        node: Vec<u32>,
        up: HierarchyEdges,
        down: HierarchyEdges,
    ) -> Self {
        Self {
            rank,
            node,
            up,
            down,
        }
    }

    pub(crate) fn shortcut_count(&self) -> usize {
        self.up
            .middle
            .iter()
            .chain(&self.down.middle)
            .filter(|&&m| m != NO_MIDDLE)
            .count()
    }
}

/// A road graph prepared for fast queries. Build it once with
/// [`Router::prepare`] (seconds), then answer queries from any number of
/// threads, each with its own [`crate::RouteQuery`] (microseconds).
#[derive(Debug)]
pub struct Router {
    pub(crate) graph: RoadGraph,
    pub(crate) hierarchy: Hierarchy,
}

impl Router {
    /// Builds the contraction hierarchy of `graph`.
    pub fn prepare(graph: RoadGraph, config: &PrepareConfig) -> Self {
        let hierarchy = build_hierarchy(&graph, config);
        Self { graph, hierarchy }
    }

    /// The road graph it routes on.
    pub fn graph(&self) -> &RoadGraph {
        &self.graph
    }

    /// How many shortcuts the hierarchy added to the road edges.
    pub fn shortcut_count(&self) -> usize {
        self.hierarchy.shortcut_count()
    }
}
