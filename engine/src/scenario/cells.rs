//! The zones tiled with H3 cells, each cell's centre placed on the road
//! network: the common ground of every coverage figure (the standby count
//! and the live coverage map count the same cells).

use std::collections::HashSet;

use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, LatLng, Resolution};
use rayon::prelude::*;

use crate::geo::LatLon;
use crate::road::snap::Snapped;
use crate::scenario::load::Scenario;
use crate::scenario::standby_coverage::{CoverageError, MAX_CELLS};

/// One H3 cell of a zone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZoneCell {
    /// The cell.
    pub cell: CellIndex,
    /// The position of its zone in [`Scenario::zones`].
    pub zone: usize,
    /// Its centre.
    pub centre: LatLon,
    /// Its area in square metres.
    pub area_m2: f64,
    /// Its centre on the road network; `None` when farther than the
    /// scenario's `snap.incident_max_m` from every road (the cell is off
    /// the network and never counts as reached).
    pub snapped: Option<Snapped>,
}

impl Scenario {
    /// The zones' cells at `resolution`, ordered by zone then cell index,
    /// each centre snapped with [`Scenario::incident_snap`].
    ///
    /// A cell belongs to the zone that holds its centre and counts with its
    /// own area, so the cells add up to the zoned area within a few cells.
    ///
    /// ```
    /// use kuaifan_engine::{Resolution, Scenario, ScenarioOverrides};
    /// let scenario = Scenario::load("tests/fixtures/scenario/valid".as_ref(), &ScenarioOverrides::default())?;
    /// let cells = scenario.zone_cells(Resolution::Nine)?;
    /// assert!(cells.windows(2).all(|w| w[0].zone <= w[1].zone));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn zone_cells(&self, resolution: Resolution) -> Result<Vec<ZoneCell>, CoverageError> {
        let graph = self.router().graph();
        let snap = self.incident_snap();
        Ok(tile(self, resolution)?
            .into_par_iter()
            .filter_map(|(zone, cell)| {
                // h3o's centres are always valid coordinates; were one not,
                // the cell would be left out rather than crash the count.
                let centre = LatLng::from(cell);
                let centre = LatLon::new(centre.lat(), centre.lng()).ok()?;
                Some(ZoneCell {
                    cell,
                    zone,
                    centre,
                    area_m2: cell.area_m2(),
                    snapped: graph.snap(centre, &snap).ok(),
                })
            })
            .collect())
    }
}

/// The cells of each zone: those whose centre lies in it, each cell once
/// (zones do not overlap, but a cell on a shared border kept by both
/// through float noise goes to the first).
fn tile(
    scenario: &Scenario,
    resolution: Resolution,
) -> Result<Vec<(usize, CellIndex)>, CoverageError> {
    let mut tilers = Vec::with_capacity(scenario.zones().len());
    let mut estimate = 0usize;
    for zone in scenario.zones() {
        let mut tiler = TilerBuilder::new(resolution)
            .containment_mode(ContainmentMode::ContainsCentroid)
            .build();
        tiler
            .add_batch(zone.geometry.0.iter().cloned())
            .map_err(|e| CoverageError::Tiling {
                zone: zone.id.to_string(),
                reason: e.to_string(),
            })?;
        estimate = estimate.saturating_add(tiler.coverage_size_hint());
        tilers.push(tiler);
    }
    if estimate > MAX_CELLS {
        return Err(CoverageError::TooManyCells {
            estimate,
            resolution,
        });
    }
    let mut seen = HashSet::new();
    let mut cells = Vec::new();
    for (index, tiler) in tilers.into_iter().enumerate() {
        let mut mine: Vec<CellIndex> = tiler.into_coverage().filter(|c| seen.insert(*c)).collect();
        // The tiler's order depends on hashing; sort so that the result is
        // the same on every run.
        mine.sort_unstable();
        cells.extend(mine.into_iter().map(|c| (index, c)));
    }
    Ok(cells)
}
