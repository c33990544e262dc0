//! The live coverage map (警情云图): for every H3 cell of the zones, how
//! soon the dispatchable units can reach it, kept up to date as units move,
//! leave on a job and come back.
//!
//! Each dispatchable unit has a *row*: its ETA to every cell centre, from
//! one [`RouteQuery::one_to_targets`] call against the cached search spaces
//! of all the centres (a [`TargetSet`] built once). Each cell keeps the
//! best and second-best `(ETA, slot)` over the rows, ordered by ETA then
//! slot so that ties are broken the same way however the map was reached.
//! A unit's update recomputes its row and repairs the cells: most only
//! compare the new ETA with their two; a cell whose best or second was
//! this unit and got worse is rescanned over all rows.
//!
//! The rows are shared behind [`Arc`], so a clone of the map (a snapshot
//! published to readers after each update) copies one pointer per unit and
//! the small per-cell best arrays, not the rows.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use h3o::CellIndex;
use rayon::prelude::*;

use crate::road::snap::Snapped;
use crate::route::{Cost, RouteQuery, TargetSet};
use crate::scenario::{CoverageConfig, CoverageError, Scenario, ZoneCell};

/// A unit reaching a cell: which unit, and how soon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reach {
    /// The unit's slot (its position in [`Scenario::units`]).
    pub slot: usize,
    /// Its ETA to the cell's centre.
    pub eta: Cost,
}

/// Why a coverage map refused an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoverageMapError {
    /// The slot is not one of the map's units.
    #[error("unit slot {slot} is not in the coverage map, which has {slots} slots")]
    UnknownSlot {
        /// The slot asked for.
        slot: usize,
        /// The number of slots (the scenario's units).
        slots: usize,
    },
    /// The query object routes on another road network than the one the
    /// map's cells were placed on, so its ETAs would mean nothing here.
    #[error("the route query is for another road network than the coverage map's")]
    OtherNetwork,
}

/// What [`CoverageMap::report_unit`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// The unit's row was recomputed (or dropped, for a unit no longer
    /// dispatchable).
    Recomputed,
    /// The unit is within [`CoverageConfig::refresh_distance_m`] of where
    /// its row was computed and its dispatchability did not change.
    Skipped,
}

/// Counts of the work a map has done since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateStats {
    /// Rows recomputed or dropped by [`CoverageMap::set_unit`] (directly or
    /// through [`CoverageMap::report_unit`]).
    pub refreshes: u64,
    /// Reports [`CoverageMap::report_unit`] skipped.
    pub skips: u64,
    /// Cells whose best and second-best had to be rescanned over all rows.
    pub rescanned_cells: u64,
    /// Full rebuilds by [`CoverageMap::recompute_all`].
    pub rebuilds: u64,
}

/// Zones that entered or left the set of coverage gaps between two calls
/// of [`CoverageMap::gaps`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GapChange {
    /// Zones that are gaps now and were not before (the caller raises a
    /// coverage-gap event for each), ascending.
    pub entered: Vec<usize>,
    /// Zones that were gaps and are covered again, ascending.
    pub cleared: Vec<usize>,
}

impl GapChange {
    /// The change from `before` to `after`, two sets of zone indices in
    /// any order (as [`CoverageMap::gaps`] gives them, ascending).
    ///
    /// ```
    /// use kuaifan_engine::GapChange;
    /// let change = GapChange::between(&[1, 4], &[4, 7]);
    /// assert_eq!((change.entered, change.cleared), (vec![7], vec![1]));
    /// ```
    pub fn between(before: &[usize], after: &[usize]) -> GapChange {
        let mut before = before.to_vec();
        let mut after = after.to_vec();
        before.sort_unstable();
        before.dedup();
        after.sort_unstable();
        after.dedup();
        GapChange {
            entered: after
                .iter()
                .copied()
                .filter(|z| before.binary_search(z).is_err())
                .collect(),
            cleared: before
                .iter()
                .copied()
                .filter(|z| after.binary_search(z).is_err())
                .collect(),
        }
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.entered.is_empty() && self.cleared.is_empty()
    }
}

/// One unit's entry for a cell; ordered by ETA, then slot, so that every
/// cell's best and second-best are well defined even when ETAs tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    eta: Cost,
    slot: u32,
}

/// No unit: orders after every real entry.
const NO_ENTRY: Entry = Entry {
    eta: Cost::UNREACHABLE,
    slot: u32::MAX,
};

impl Entry {
    /// A unit's entry; an unreachable cell is no entry at all, so that
    /// every unit that cannot reach a cell looks the same.
    #[inline]
    fn of(eta: Cost, slot: u32) -> Entry {
        if eta.is_reachable() {
            Entry { eta, slot }
        } else {
            NO_ENTRY
        }
    }

    fn reach(self) -> Option<Reach> {
        (self != NO_ENTRY).then_some(Reach {
            slot: self.slot as usize,
            eta: self.eta,
        })
    }

    #[inline]
    fn within(self, ms: u64) -> bool {
        self.eta.is_reachable() && u64::from(self.eta.time_ms()) <= ms
    }
}

/// A cell's best and second-best entries, laid out in 24 bytes rather than
/// two padded 16-byte entries: this array is what a snapshot copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Top2 {
    eta: [Cost; 2],
    slot: [u32; 2],
}

impl Top2 {
    const EMPTY: Top2 = Top2::new(NO_ENTRY, NO_ENTRY);

    const fn new(first: Entry, second: Entry) -> Top2 {
        Top2 {
            eta: [first.eta, second.eta],
            slot: [first.slot, second.slot],
        }
    }

    #[inline]
    fn first(self) -> Entry {
        Entry {
            eta: self.eta[0],
            slot: self.slot[0],
        }
    }

    #[inline]
    fn second(self) -> Entry {
        Entry {
            eta: self.eta[1],
            slot: self.slot[1],
        }
    }

    /// The cell after `slot`'s entry changed to `entry`, or `None` when
    /// that cannot be told from the two kept entries alone (the unit was
    /// best or second and got worse: the third best, not kept, may now
    /// rank).
    ///
    /// Every other unit's entry is strictly worse than the second's (slots
    /// differ), or all are `NO_ENTRY` when the second is.
    #[inline]
    fn replace(self, slot: u32, entry: Entry) -> Option<Top2> {
        let (first, second) = (self.first(), self.second());
        if first.slot == slot {
            if entry < second {
                Some(Top2::new(entry, second))
            } else if second == NO_ENTRY {
                // Then `entry` is none too, and so is every other unit's.
                Some(Top2::EMPTY)
            } else {
                None
            }
        } else if second.slot == slot {
            if entry <= second {
                Some(if entry < first {
                    Top2::new(entry, first)
                } else {
                    Top2::new(first, entry)
                })
            } else {
                None
            }
        } else if entry < first {
            Some(Top2::new(entry, first))
        } else if entry < second {
            Some(Top2::new(first, entry))
        } else {
            Some(self)
        }
    }
}

/// A dispatchable unit's ETAs to every cell, and where it was when they
/// were computed.
#[derive(Clone, Debug)]
struct Row {
    at: Snapped,
    /// One per cell, in the order of [`CoverageMap::cells`].
    etas: Arc<[Cost]>,
}

/// What never changes once a map is made: the cells, their zones, and the
/// cached search spaces of their centres.
#[derive(Debug)]
struct Layout {
    cells: Vec<ZoneCell>,
    /// Each zone's cells: [`Scenario::zone_cells`] orders cells by zone.
    zones: Vec<Range<usize>>,
    zone_area_m2: Vec<f64>,
    area_m2: f64,
    position: HashMap<CellIndex, u32>,
    /// Slot `i` is cell `i`'s centre; off-network cells have no slot.
    targets: TargetSet,
    network: NetworkPrint,
    config: CoverageConfig,
}

/// Enough of a road network's shape to tell a query on another network
/// from one on the map's own (a pointer would change when the scenario is
/// moved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NetworkPrint {
    nodes: usize,
    edges: usize,
    segments: usize,
    hierarchy_edges: usize,
}

impl NetworkPrint {
    fn of(router: &crate::route::Router) -> Self {
        Self {
            nodes: router.graph().node_count(),
            edges: router.graph().edge_count(),
            segments: router.graph().segments().len(),
            // Counted, not scanned: `shortcut_count` walks every edge.
            hierarchy_edges: router.hierarchy.edges.len(),
        }
    }
}

/// The live coverage of a scenario's zones by its dispatchable units, cell
/// by cell.
///
/// Slots are the units' positions in [`Scenario::units`]; a new map has no
/// dispatchable unit. [`CoverageMap::set_unit`] recomputes one unit's row
/// exactly; [`CoverageMap::report_unit`] does so only when the unit moved
/// more than [`CoverageConfig::refresh_distance_m`] or its dispatchability
/// changed, which keeps every unit reporting at 1 Hz cheap.
///
/// **Cloning** copies 24 bytes per cell (its best and second-best; 54 KB
/// for Jincheng's 2,312 cells) and one pointer and position per unit slot;
/// the rows (8 bytes per cell per unit) and the cells themselves are shared
/// behind [`Arc`]. A writer publishes a clone after each update for
/// readers on other threads.
///
/// ```
/// use kuaifan_engine::{CoverageConfig, CoverageMap, RouteQuery, Scenario, ScenarioOverrides};
/// let scenario = Scenario::load("tests/fixtures/scenario/valid".as_ref(), &ScenarioOverrides::default())?;
/// let mut map = CoverageMap::new(&scenario, &CoverageConfig::default())?;
/// let mut query = RouteQuery::new(scenario.router());
/// let standby: Vec<_> = scenario.standby_points().iter().map(|p| Some(*p)).enumerate().collect();
/// map.recompute_all(&mut query, &standby)?;
/// let support = map.share_within(180);
/// // Unit 0 goes to an incident: no longer dispatchable.
/// let loss = map.loss_without(0, 180);
/// map.set_unit(&mut query, 0, None)?;
/// assert!((map.share_within(180) - (support - loss / map.area_m2())).abs() < 1e-9);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct CoverageMap {
    layout: Arc<Layout>,
    rows: Vec<Option<Row>>,
    top: Vec<Top2>,
    stats: UpdateStats,
}

impl CoverageMap {
    /// A map over `scenario`'s zones at `config.resolution`, with one slot
    /// per unit and none dispatchable yet.
    ///
    /// Tiles the zones ([`Scenario::zone_cells`]) and computes every on-road
    /// centre's search space, in parallel: a fraction of a second for a city.
    pub fn new(scenario: &Scenario, config: &CoverageConfig) -> Result<CoverageMap, CoverageError> {
        let router = scenario.router();
        let cells = scenario.zone_cells(config.resolution)?;

        let on_road: Vec<(usize, Snapped)> = cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((i, c.snapped?)))
            .collect();
        // A query object per chunk: each owns buffers the size of the graph,
        // so chunks are few and large.
        let chunk = on_road
            .len()
            .div_ceil(rayon::current_num_threads() * 4)
            .max(64);
        let spaces: Vec<_> = on_road
            .par_chunks(chunk)
            .flat_map_iter(|chunk| {
                let mut query = RouteQuery::new(router);
                chunk
                    .iter()
                    .map(|(i, at)| (*i, query.target_space(at)))
                    .collect::<Vec<_>>()
            })
            .collect();
        let targets = TargetSet::from_spaces(spaces);

        let zone_count = scenario.zones().len();
        let zones: Vec<Range<usize>> = (0..zone_count)
            .map(|z| cells.partition_point(|c| c.zone < z)..cells.partition_point(|c| c.zone <= z))
            .collect();
        // Summed in cell order, as the standby count sums them, so the two
        // agree to the last bit.
        let zone_area_m2 = zones
            .iter()
            .map(|r| {
                cells
                    .get(r.clone())
                    .unwrap_or_default()
                    .iter()
                    .map(|c| c.area_m2)
                    .sum()
            })
            .collect();
        let area_m2 = cells.iter().map(|c| c.area_m2).sum();
        let position = cells
            .iter()
            .enumerate()
            .map(|(i, c)| (c.cell, i as u32))
            .collect();
        let top = vec![Top2::EMPTY; cells.len()];
        Ok(CoverageMap {
            layout: Arc::new(Layout {
                cells,
                zones,
                zone_area_m2,
                area_m2,
                position,
                targets,
                network: NetworkPrint::of(router),
                config: *config,
            }),
            rows: vec![None; scenario.units().len()],
            top,
            stats: UpdateStats::default(),
        })
    }

    /// The options the map was made with.
    pub fn config(&self) -> &CoverageConfig {
        &self.layout.config
    }

    /// The cells, ordered by zone then cell index.
    pub fn cells(&self) -> &[ZoneCell] {
        &self.layout.cells
    }

    /// The cells of zone `zone` (its position in [`Scenario::zones`]); a
    /// sub-slice of [`CoverageMap::cells`], empty for an unknown zone.
    pub fn zone_cells(&self, zone: usize) -> &[ZoneCell] {
        self.zone_range(zone)
            .and_then(|r| self.layout.cells.get(r))
            .unwrap_or_default()
    }

    fn zone_range(&self, zone: usize) -> Option<Range<usize>> {
        self.layout.zones.get(zone).cloned()
    }

    /// The number of zones.
    pub fn zone_count(&self) -> usize {
        self.layout.zones.len()
    }

    /// Where an H3 cell is in [`CoverageMap::cells`], if it is one of them.
    pub fn position(&self, cell: CellIndex) -> Option<usize> {
        self.layout.position.get(&cell).map(|&i| i as usize)
    }

    /// The area of all the cells, in square metres.
    pub fn area_m2(&self) -> f64 {
        self.layout.area_m2
    }

    /// The number of unit slots.
    pub fn slots(&self) -> usize {
        self.rows.len()
    }

    /// Whether the unit in `slot` is dispatchable (has a row).
    pub fn is_dispatchable(&self, slot: usize) -> bool {
        matches!(self.rows.get(slot), Some(Some(_)))
    }

    /// Where the unit in `slot` was when its row was computed; `None` when
    /// it is not dispatchable.
    pub fn unit_at(&self, slot: usize) -> Option<&Snapped> {
        Some(&self.rows.get(slot)?.as_ref()?.at)
    }

    /// The unit's ETA to every cell, in the order of [`CoverageMap::cells`]
    /// ([`Cost::UNREACHABLE`] for cells off the network); `None` when it is
    /// not dispatchable.
    pub fn row(&self, slot: usize) -> Option<&[Cost]> {
        Some(&self.rows.get(slot)?.as_ref()?.etas)
    }

    /// The unit's row, shared: a copy of the pointer, not of the ETAs.
    pub fn shared_row(&self, slot: usize) -> Option<Arc<[Cost]>> {
        Some(Arc::clone(&self.rows.get(slot)?.as_ref()?.etas))
    }

    /// The fastest dispatchable unit to cell `cell` (a position in
    /// [`CoverageMap::cells`]); `None` when none reaches it or there is no
    /// such cell. Ties on ETA go to the lower slot.
    pub fn best(&self, cell: usize) -> Option<Reach> {
        self.top.get(cell)?.first().reach()
    }

    /// The second fastest dispatchable unit to cell `cell`.
    pub fn second_best(&self, cell: usize) -> Option<Reach> {
        self.top.get(cell)?.second().reach()
    }

    /// What the map has done so far.
    pub fn stats(&self) -> UpdateStats {
        self.stats
    }

    /// The share (0 to 1) of the zoned area whose cell the fastest
    /// dispatchable unit reaches within `seconds`, weighted by cell area;
    /// 0 for a map with no cells.
    pub fn share_within(&self, seconds: u32) -> f64 {
        share(
            self.within_m2(0..self.top.len(), seconds),
            self.layout.area_m2,
        )
    }

    /// The same for one zone (its position in [`Scenario::zones`]); `None`
    /// for an unknown zone or one too small to hold a cell's centre.
    pub fn zone_share_within(&self, zone: usize, seconds: u32) -> Option<f64> {
        let range = self.zone_range(zone)?;
        if range.is_empty() {
            return None;
        }
        let area = self.layout.zone_area_m2.get(zone).copied()?;
        Some(share(self.within_m2(range, seconds), area))
    }

    fn within_m2(&self, range: Range<usize>, seconds: u32) -> f64 {
        let ms = u64::from(seconds) * 1000;
        let (Some(top), Some(cells)) = (self.top.get(range.clone()), self.layout.cells.get(range))
        else {
            return 0.0;
        };
        top.iter()
            .zip(cells)
            .filter(|(t, _)| t.first().within(ms))
            .map(|(_, c)| c.area_m2)
            .sum::<f64>()
            // An empty float sum is -0.0; a share of nothing is 0.
            + 0.0
    }

    /// The area, in square metres, reached within `seconds` now that would
    /// not be without the unit in `slot`: the cells it is fastest to within
    /// `seconds` and whose second-fastest unit is slower. Sending the unit
    /// that loses the least keeps the most of the city covered.
    pub fn loss_without(&self, slot: usize, seconds: u32) -> f64 {
        let ms = u64::from(seconds) * 1000;
        let Ok(slot) = u32::try_from(slot) else {
            return 0.0;
        };
        self.top
            .iter()
            .zip(self.layout.cells.iter())
            .filter(|(t, _)| {
                let first = t.first();
                first.slot == slot && first.within(ms) && !t.second().within(ms)
            })
            .map(|(_, c)| c.area_m2)
            .sum::<f64>()
            // An empty float sum is -0.0, which dispatchers would read as
            // "-0.00 km²" in the recommendation's reason.
            + 0.0
    }

    /// The zones (ascending positions in [`Scenario::zones`]) in which no
    /// cell is reached within `seconds` by any dispatchable unit. A zone too
    /// small to hold a cell's centre is never a gap: nothing of it is
    /// measured. [`GapChange::between`] compares two answers.
    pub fn gaps(&self, seconds: u32) -> Vec<usize> {
        let ms = u64::from(seconds) * 1000;
        self.layout
            .zones
            .iter()
            .enumerate()
            .filter(|(_, range)| {
                let top = self.top.get((*range).clone()).unwrap_or_default();
                !top.is_empty() && !top.iter().any(|t| t.first().within(ms))
            })
            .map(|(zone, _)| zone)
            .collect()
    }

    /// Whether a report of the unit in `slot` at `at` would recompute its
    /// row: it is not dispatchable yet, or it moved more than
    /// [`CoverageConfig::refresh_distance_m`] (straight line between foot
    /// points) from where its row was computed. True for an unknown slot,
    /// which the update then refuses.
    pub fn needs_refresh(&self, slot: usize, at: &Snapped) -> bool {
        match self.rows.get(slot) {
            Some(Some(row)) => {
                row.at.point.haversine_m(at.point) > self.layout.config.refresh_distance_m
            }
            _ => true,
        }
    }

    /// A unit's report: its position, or `None` when it is no longer
    /// dispatchable (sent to an incident, off duty). Its row is recomputed
    /// only when [`CoverageMap::needs_refresh`] says so or it stops being
    /// dispatchable; otherwise the report is counted as skipped and the map
    /// keeps the row from where the unit was.
    pub fn report_unit(
        &mut self,
        query: &mut RouteQuery,
        slot: usize,
        at: Option<&Snapped>,
    ) -> Result<Refresh, CoverageMapError> {
        let refresh = match at {
            Some(at) => self.needs_refresh(slot, at),
            None => self.is_dispatchable(slot) || slot >= self.rows.len(),
        };
        if refresh {
            self.set_unit(query, slot, at)?;
            Ok(Refresh::Recomputed)
        } else {
            self.stats.skips += 1;
            Ok(Refresh::Skipped)
        }
    }

    /// Sets the unit in `slot` at `at` (recomputing its row exactly), or
    /// makes it not dispatchable with `None`, and repairs every cell's best
    /// and second-best. `query` must be on the scenario's road network.
    ///
    /// Costs one one-to-targets query (a forward search and a merge with
    /// the centres' buckets), a pass over the cells comparing one entry
    /// each, and a rescan over all rows of the cells where the unit was
    /// best or second and got worse.
    pub fn set_unit(
        &mut self,
        query: &mut RouteQuery,
        slot: usize,
        at: Option<&Snapped>,
    ) -> Result<(), CoverageMapError> {
        self.check(query, slot)?;
        let row = at.map(|at| self.compute_row(query, at));
        let etas = row.as_ref().map(|r| Arc::clone(&r.etas));
        if let Some(place) = self.rows.get_mut(slot) {
            *place = row;
        }
        self.stats.refreshes += 1;

        // `check` bounded the slot by the units' count, far below u32::MAX
        // (which marks "no unit").
        let slot32 = slot as u32;
        let mut rescanned = 0;
        for (cell, top) in self.top.iter_mut().enumerate() {
            let entry = match &etas {
                Some(etas) => {
                    Entry::of(etas.get(cell).copied().unwrap_or(Cost::UNREACHABLE), slot32)
                }
                None => NO_ENTRY,
            };
            *top = match top.replace(slot32, entry) {
                Some(t) => t,
                None => {
                    rescanned += 1;
                    scan(&self.rows, cell)
                }
            };
        }
        self.stats.rescanned_cells += rescanned;
        Ok(())
    }

    /// The ETAs from `at` to every cell, in the order of
    /// [`CoverageMap::cells`], as a unit's row would be there; the map is
    /// not changed. Move-up advice computes each post's row once with it.
    pub fn row_from(
        &self,
        query: &mut RouteQuery,
        at: &Snapped,
    ) -> Result<Arc<[Cost]>, CoverageMapError> {
        if NetworkPrint::of(query.router) != self.layout.network {
            return Err(CoverageMapError::OtherNetwork);
        }
        Ok(self.compute_row(query, at).etas)
    }

    /// Rebuilds the map from scratch: the units listed (each slot's last
    /// entry counts; `None` is not dispatchable) and no other. The
    /// reference the incremental updates are tested against.
    pub fn recompute_all(
        &mut self,
        query: &mut RouteQuery,
        units: &[(usize, Option<Snapped>)],
    ) -> Result<(), CoverageMapError> {
        // Check everything before changing anything.
        for &(slot, _) in units {
            self.check(query, slot)?;
        }
        for row in &mut self.rows {
            *row = None;
        }
        for (slot, at) in units {
            let row = at.as_ref().map(|at| self.compute_row(query, at));
            if let Some(place) = self.rows.get_mut(*slot) {
                *place = row;
            }
        }
        for (cell, top) in self.top.iter_mut().enumerate() {
            *top = scan(&self.rows, cell);
        }
        self.stats.rebuilds += 1;
        Ok(())
    }

    fn check(&self, query: &RouteQuery, slot: usize) -> Result<(), CoverageMapError> {
        if slot >= self.rows.len() {
            return Err(CoverageMapError::UnknownSlot {
                slot,
                slots: self.rows.len(),
            });
        }
        if NetworkPrint::of(query.router) != self.layout.network {
            return Err(CoverageMapError::OtherNetwork);
        }
        Ok(())
    }

    fn compute_row(&self, query: &mut RouteQuery, at: &Snapped) -> Row {
        let n = self.layout.cells.len();
        // The answer has one entry per target slot up to the last on-road
        // cell; cells after it are off the network.
        let etas = query.one_to_targets(at, &self.layout.targets);
        let etas: Arc<[Cost]> = etas
            .iter()
            .copied()
            .chain(std::iter::repeat(Cost::UNREACHABLE))
            .take(n)
            .collect();
        Row { at: *at, etas }
    }
}

fn share(within_m2: f64, area_m2: f64) -> f64 {
    if area_m2 > 0.0 {
        within_m2 / area_m2
    } else {
        0.0
    }
}

/// A cell's best and second-best over every row.
fn scan(rows: &[Option<Row>], cell: usize) -> Top2 {
    let (mut first, mut second) = (NO_ENTRY, NO_ENTRY);
    for (slot, row) in rows.iter().enumerate() {
        let Some(row) = row else { continue };
        let eta = row.etas.get(cell).copied().unwrap_or(Cost::UNREACHABLE);
        let entry = Entry::of(eta, slot as u32);
        if entry < first {
            second = first;
            first = entry;
        } else if entry < second {
            second = entry;
        }
    }
    Top2::new(first, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(ms: u32, slot: u32) -> Entry {
        Entry::of(Cost::new(ms, 0), slot)
    }

    /// Every case of `replace` against a rescan of a small table of rows.
    #[test]
    fn replace_agrees_with_a_rescan() {
        let etas = [10u32, 20, 20, 30, u32::MAX];
        for slots in 1..=4usize {
            // Each unit's ETA to the one cell, as an index into `etas` (the
            // last meaning unreachable), over every combination.
            let combos = etas.len().pow(slots as u32);
            for combo in 0..combos {
                let pick = |s: usize, c: usize| etas[c / etas.len().pow(s as u32) % etas.len()];
                let entries: Vec<Entry> = (0..slots)
                    .map(|s| match pick(s, combo) {
                        u32::MAX => NO_ENTRY,
                        ms => e(ms, s as u32),
                    })
                    .collect();
                let top = top_of(&entries);
                for changed in 0..slots {
                    for &ms in &etas {
                        let new = if ms == u32::MAX {
                            NO_ENTRY
                        } else {
                            e(ms, changed as u32)
                        };
                        let mut after = entries.clone();
                        after[changed] = new;
                        if let Some(t) = top.replace(changed as u32, new) {
                            assert_eq!(t, top_of(&after), "{entries:?} → slot {changed} {new:?}");
                        }
                    }
                }
            }
        }
    }

    fn top_of(entries: &[Entry]) -> Top2 {
        let mut sorted = entries.to_vec();
        sorted.sort();
        Top2::new(
            sorted.first().copied().unwrap_or(NO_ENTRY),
            sorted.get(1).copied().unwrap_or(NO_ENTRY),
        )
    }

    #[test]
    fn gap_changes_are_set_differences() {
        let c = GapChange::between(&[3, 1, 1], &[2, 3]);
        assert_eq!((c.entered, c.cleared), (vec![2], vec![1]));
        assert!(GapChange::between(&[5], &[5]).is_empty());
    }
}
