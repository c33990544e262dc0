//! The prepared contraction hierarchy and the [`Router`] that owns it.

use crate::road::graph::RoadGraph;
use crate::route::Cost;
use crate::route::contraction::{PrepareConfig, build_hierarchy};

/// Marks an edge of the original graph (not a shortcut).
pub(crate) const NO_MIDDLE: u32 = u32::MAX;

/// An edge of the hierarchy: a road edge, or a shortcut through `middle`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HierarchyEdge {
    pub(crate) cost: Cost,
    pub(crate) head: u32,
    pub(crate) middle: u32,
}

/// Where a node's edges are: its up edges are `edges[first..split]`, its
/// down edges `edges[split..next.first]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct EdgeRange {
    pub(crate) first: u32,
    pub(crate) split: u32,
}

/// A contraction hierarchy over a [`RoadGraph`]. Nodes are numbered by rank
/// (contraction order), so searches, which only climb, walk memory upwards.
///
/// Each node's up edges (to higher nodes, in driving direction) and down
/// edges (from higher nodes into it, stored with the higher node as head)
/// sit side by side, because a search settling a node reads both: one set to
/// climb and the other to check whether the node is stalled. One cache line
/// then serves both.
#[derive(Debug, Clone)]
pub(crate) struct Hierarchy {
    /// Graph node → rank.
    pub(crate) rank: Vec<u32>,
    /// Rank → graph node.
    pub(crate) node: Vec<u32>,
    /// One entry per rank plus a sentinel.
    pub(crate) ranges: Vec<EdgeRange>,
    pub(crate) edges: Vec<HierarchyEdge>,
}

/// Which way a search climbs the hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Climb {
    /// From a source, along up edges.
    Forward,
    /// From a target, against down edges.
    Backward,
}

impl Hierarchy {
    /// Builds the edge layout from per-rank lists of up and down edges.
    pub(crate) fn new(
        rank: Vec<u32>,
        node: Vec<u32>,
        lists: Vec<(Vec<HierarchyEdge>, Vec<HierarchyEdge>)>,
    ) -> Self {
        let total = lists.iter().map(|(u, d)| u.len() + d.len()).sum();
        let mut ranges = Vec::with_capacity(lists.len() + 1);
        let mut edges = Vec::with_capacity(total);
        for (up, down) in lists {
            let first = edges.len() as u32;
            edges.extend(up);
            let split = edges.len() as u32;
            edges.extend(down);
            ranges.push(EdgeRange { first, split });
        }
        let end = edges.len() as u32;
        ranges.push(EdgeRange {
            first: end,
            split: end,
        });
        Self {
            rank,
            node,
            ranges,
            edges,
        }
    }

    /// The edge indices a search in direction `climb` follows from `v`.
    #[inline]
    pub(crate) fn climbing(&self, v: u32, climb: Climb) -> std::ops::Range<usize> {
        let r = self.ranges[v as usize];
        match climb {
            Climb::Forward => r.first as usize..r.split as usize,
            Climb::Backward => r.split as usize..self.ranges[v as usize + 1].first as usize,
        }
    }

    /// Up edges of `v`: to higher nodes, in driving direction.
    pub(crate) fn up(&self, v: u32) -> &[HierarchyEdge] {
        &self.edges[self.climbing(v, Climb::Forward)]
    }

    /// Down edges of `v`: from higher nodes (the head) into `v`.
    pub(crate) fn down(&self, v: u32) -> &[HierarchyEdge] {
        &self.edges[self.climbing(v, Climb::Backward)]
    }

    pub(crate) fn shortcut_count(&self) -> usize {
        self.edges.iter().filter(|e| e.middle != NO_MIDDLE).count()
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
