//! The suspect's possible area now: the H3 cells (resolution 8 by
//! default) holding a road node the suspect could have driven to since
//! they were last known to be somewhere, for the command centre's map.
//!
//! Every node's road time comes from one sweep down the hierarchy
//! ([`RouteQuery::one_to_all`]); each node's cell is looked up once, at
//! load, in a table by rank, so a request is the sweep and one pass over
//! the table.

use h3o::{CellIndex, LatLng, Resolution};
use rayon::prelude::*;

use crate::containment::plan::Suspect;
use crate::route::{Cost, Dijkstra, RouteQuery, Router};

/// A node without a cell (none: graph positions are valid coordinates).
const NO_CELL: u32 = u32::MAX;

/// Each road node's H3 cell, by the hierarchy's rank.
#[derive(Clone, Debug)]
pub struct NodeCells {
    resolution: Resolution,
    /// The distinct cells, sorted.
    cells: Vec<CellIndex>,
    /// Per rank, an index into `cells`.
    by_rank: Vec<u32>,
    /// Per graph node, its rank.
    rank: Vec<u32>,
}

impl NodeCells {
    /// The cell of every node of `router`'s graph at `resolution`
    /// (Jincheng: 336,000 nodes in about 12,000 resolution-8 cells).
    pub fn new(router: &Router, resolution: Resolution) -> NodeCells {
        let graph = router.graph();
        let h = &router.hierarchy;
        // Graph positions are checked coordinates, which h3o always takes.
        let by_node: Vec<Option<CellIndex>> = (0..graph.node_count() as u32)
            .into_par_iter()
            .map(|n| {
                let p = graph.position(n);
                LatLng::new(p.lat(), p.lon())
                    .ok()
                    .map(|ll| ll.to_cell(resolution))
            })
            .collect();
        let mut cells: Vec<CellIndex> = by_node.iter().flatten().copied().collect();
        cells.par_sort_unstable();
        cells.dedup();
        let by_rank = h
            .node
            .iter()
            .map(|&n| {
                by_node[n as usize]
                    .and_then(|c| cells.binary_search(&c).ok())
                    .map_or(NO_CELL, |i| i as u32)
            })
            .collect();
        NodeCells {
            resolution,
            cells,
            by_rank,
            rank: h.rank.clone(),
        }
    }

    /// The resolution of the cells.
    pub fn resolution(&self) -> Resolution {
        self.resolution
    }

    /// How many distinct cells hold a road node.
    pub fn cell_count(&self) -> usize {
        self.cells.len()
    }

    /// The cells of the nodes whose cost passes `keep`, given the costs by
    /// rank.
    fn cells_where(&self, costs_by_rank: &[Cost], keep: impl Fn(Cost) -> bool) -> Vec<bool> {
        let mut mark = vec![false; self.cells.len()];
        for (rank, &c) in costs_by_rank.iter().enumerate() {
            if keep(c) {
                self.mark(&mut mark, rank);
            }
        }
        mark
    }

    fn mark(&self, mark: &mut [bool], rank: usize) {
        if let Some(m) = mark.get_mut(self.by_rank[rank] as usize) {
            *m = true;
        }
    }

    fn collect(&self, mark: &[bool]) -> Vec<CellIndex> {
        mark.iter()
            .zip(&self.cells)
            .filter(|(m, _)| **m)
            .map(|(_, &c)| c)
            .collect()
    }
}

/// The road time (ms) a suspect can have driven in `since_ms`.
fn budget_ms(suspect: &Suspect, since_ms: u64) -> u64 {
    (since_ms as f64 * suspect.speed_factor) as u64
}

/// The cells the suspect could be in at `now_ms`, sorted: those holding a
/// node within reach since the latest sighting, and never one the escape
/// itself could not have reached (a sighting the speeds cannot explain
/// does not widen the area).
pub fn possible_area(
    cells: &NodeCells,
    query: &mut RouteQuery<'_>,
    suspect: &Suspect,
    now_ms: u64,
) -> Vec<CellIndex> {
    let escape_budget = budget_ms(suspect, now_ms.saturating_sub(suspect.escape_ms));
    let within = |budget: u64| move |c: Cost| c.is_reachable() && u64::from(c.time_ms()) <= budget;
    let Some(seen) = suspect.sighting else {
        let costs = query.sweep(&suspect.from);
        return cells.collect(&cells.cells_where(costs, within(escape_budget)));
    };
    let seen_budget = budget_ms(suspect, now_ms.saturating_sub(seen.time_ms));
    // A sighting the escape explains (the suspect could have driven there
    // by then) gives a subset of the escape's area by the triangle
    // inequality, so one sweep is enough.
    let to_sighting = query.one_to_one(&suspect.from, &seen.at);
    let explained = to_sighting.is_reachable()
        && budget_ms(suspect, seen.time_ms.saturating_sub(suspect.escape_ms))
            >= u64::from(to_sighting.time_ms());
    if explained {
        let costs = query.sweep(&seen.at);
        return cells.collect(&cells.cells_where(costs, within(seen_budget)));
    }
    // Both must hold at one node: intersect node by node.
    let from_sighting: Vec<bool> = query
        .sweep(&seen.at)
        .iter()
        .map(|&c| within(seen_budget)(c))
        .collect();
    let mut mark = vec![false; cells.cells.len()];
    for (rank, &c) in query.sweep(&suspect.from).iter().enumerate() {
        if from_sighting[rank] && within(escape_budget)(c) {
            cells.mark(&mut mark, rank);
        }
    }
    cells.collect(&mark)
}

/// [`possible_area`] by plain Dijkstra over the whole graph: the
/// reference.
pub fn possible_area_reference(
    cells: &NodeCells,
    dijkstra: &mut Dijkstra<'_>,
    suspect: &Suspect,
    now_ms: u64,
) -> Vec<CellIndex> {
    let within = |c: Cost, budget: u64| c.is_reachable() && u64::from(c.time_ms()) <= budget;
    let escape_budget = budget_ms(suspect, now_ms.saturating_sub(suspect.escape_ms));
    let from_escape: Vec<bool> = dijkstra
        .one_to_all(&suspect.from)
        .iter()
        .map(|&c| within(c, escape_budget))
        .collect();
    let ok: Vec<bool> = match suspect.sighting {
        None => from_escape,
        Some(seen) => {
            let budget = budget_ms(suspect, now_ms.saturating_sub(seen.time_ms));
            dijkstra
                .one_to_all(&seen.at)
                .iter()
                .zip(&from_escape)
                .map(|(&c, &e)| e && within(c, budget))
                .collect()
        }
    };
    let mut mark = vec![false; cells.cells.len()];
    for (node, &keep) in ok.iter().enumerate() {
        if keep {
            cells.mark(&mut mark, cells.rank[node] as usize);
        }
    }
    cells.collect(&mark)
}
