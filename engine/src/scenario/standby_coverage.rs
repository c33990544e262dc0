//! How much of a city the units reach in time while every one of them is
//! idle at its standby point: the baseline a dispatcher starts each shift
//! from.
//!
//! The zones are tiled with H3 cells ([`Scenario::zone_cells`]); a cell belongs to the zone that holds
//! its centre and counts with its own area. The cell's centre is placed on
//! the road network (a centre farther from any road than the scenario's
//! incident limit counts as not covered), and its ETA is the fastest road
//! journey from any unit's standby point, from one many-to-one query per
//! cell against the units' cached search spaces.

use h3o::{CellIndex, Resolution};
use rayon::prelude::*;

use crate::geo::LatLon;
use crate::road::snap::Snapped;
use crate::route::{Cost, RouteQuery, SourceSet};
use crate::scenario::config::Targets;
use crate::scenario::ids::ZoneId;
use crate::scenario::load::Scenario;

/// Options of the coverage computations (the standby count and the live
/// [`crate::CoverageMap`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CoverageConfig {
    /// The H3 resolution of the cells (9 by default: cells of about
    /// 0.105 km², 174 m from centre to corner).
    pub resolution: Resolution,
    /// How far, in metres, a unit may move from where its ETAs were last
    /// computed before [`crate::CoverageMap::report_unit`] recomputes them
    /// (150 m by default: a little less than a resolution-9 cell's radius,
    /// so a moving unit's row is never more than about a cell stale).
    pub refresh_distance_m: f64,
}

impl Default for CoverageConfig {
    fn default() -> Self {
        Self {
            resolution: Resolution::Nine,
            refresh_distance_m: 150.0,
        }
    }
}

/// Why coverage could not be computed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoverageError {
    /// A zone's geometry could not be tiled with cells.
    #[error("zone {zone}: cannot tile with H3 cells: {reason}")]
    Tiling {
        /// The zone's id.
        zone: String,
        /// The tiler's reason.
        reason: String,
    },
    /// The zones would need more cells than [`MAX_CELLS`] at this
    /// resolution: a country rather than a city, or too fine a resolution.
    #[error(
        "the zones need about {estimate} cells at resolution {resolution}; at most {MAX_CELLS} are counted"
    )]
    TooManyCells {
        /// The tiler's estimate.
        estimate: usize,
        /// The resolution asked for.
        resolution: Resolution,
    },
}

/// The most cells a coverage count tiles: about 1,000,000 km² at
/// resolution 9, and enough memory and time (seconds) to stay a command a
/// dispatcher can run.
pub const MAX_CELLS: usize = 10_000_000;

/// One cell of the tiling and its ETA.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CellEta {
    /// The cell.
    pub cell: CellIndex,
    /// The position of its zone in [`Scenario::zones`].
    pub zone: usize,
    /// Its centre.
    pub centre: LatLon,
    /// Its area in square metres.
    pub area_m2: f64,
    /// Its centre on the road network; `None` when farther than the
    /// scenario's `snap.incident_max_m` from every road.
    pub snapped: Option<Snapped>,
    /// The fastest arrival of any unit from its standby point;
    /// [`Cost::UNREACHABLE`] when the cell is off the network.
    pub eta: Cost,
}

/// Coverage of an area (a zone, or all of them).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AreaCoverage {
    /// Cells counted.
    pub cells: usize,
    /// Their area in square metres.
    pub area_m2: f64,
    /// The area of cells off the road network.
    pub off_network_m2: f64,
    /// The area of cells reached within each target, in the order of
    /// [`Targets::as_array`].
    pub within_m2: [f64; 3],
    /// The slowest ETA among cells on the network, `None` when it has none.
    pub worst_eta: Option<Cost>,
}

impl AreaCoverage {
    /// The share (0 to 1) of the area reached within target `i` (0 handle,
    /// 1 support, 2 encircle); `None` for an area with no cell.
    pub fn share_within(&self, i: usize) -> Option<f64> {
        let within = *self.within_m2.get(i)?;
        (self.area_m2 > 0.0).then(|| within / self.area_m2)
    }

    /// The share of the area whose cell centre is off the road network.
    pub fn off_network_share(&self) -> Option<f64> {
        (self.area_m2 > 0.0).then(|| self.off_network_m2 / self.area_m2)
    }

    fn add(&mut self, cell: &CellEta, targets: [u32; 3]) {
        self.cells += 1;
        self.area_m2 += cell.area_m2;
        if cell.snapped.is_none() {
            self.off_network_m2 += cell.area_m2;
        }
        if let Some(eta) = cell.eta.reachable() {
            for (within, target_s) in self.within_m2.iter_mut().zip(targets) {
                if u64::from(eta.time_ms()) <= u64::from(target_s) * 1000 {
                    *within += cell.area_m2;
                }
            }
            self.worst_eta = Some(self.worst_eta.map_or(eta, |w| w.max(eta)));
        }
    }
}

/// Coverage of one zone.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneCoverage {
    /// The zone's id.
    pub id: ZoneId,
    /// The zone's name.
    pub name: String,
    /// Its coverage.
    pub coverage: AreaCoverage,
}

/// The coverage of a scenario's zones with every unit idle at its standby
/// point.
#[derive(Clone, Debug, PartialEq)]
pub struct StandbyCoverage {
    /// The targets the shares are counted against.
    pub targets: Targets,
    /// The cells' resolution.
    pub resolution: Resolution,
    /// All zones together.
    pub overall: AreaCoverage,
    /// Each zone, in the order of [`Scenario::zones`].
    pub zones: Vec<ZoneCoverage>,
    /// Every cell, ordered by zone then cell index.
    pub cells: Vec<CellEta>,
}

impl StandbyCoverage {
    /// Coverage with resolution-9 cells.
    ///
    /// ```
    /// use kuaifan_engine::{Scenario, ScenarioOverrides, StandbyCoverage};
    /// let scenario = Scenario::load("tests/fixtures/scenario/valid".as_ref(), &ScenarioOverrides::default())?;
    /// let coverage = StandbyCoverage::compute(&scenario)?;
    /// let within_support = coverage.overall.share_within(1).unwrap_or(0.0);
    /// assert!(within_support > 0.0 && within_support < 1.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compute(scenario: &Scenario) -> Result<StandbyCoverage, CoverageError> {
        Self::compute_with(scenario, &CoverageConfig::default())
    }

    /// Coverage with the given options.
    pub fn compute_with(
        scenario: &Scenario,
        config: &CoverageConfig,
    ) -> Result<StandbyCoverage, CoverageError> {
        let router = scenario.router();
        let mut cells = scenario
            .zone_cells(config.resolution)?
            .into_iter()
            .map(|c| CellEta {
                cell: c.cell,
                zone: c.zone,
                centre: c.centre,
                area_m2: c.area_m2,
                snapped: c.snapped,
                eta: Cost::UNREACHABLE,
            })
            .collect::<Vec<_>>();

        let mut sources = SourceSet::new();
        let mut query = RouteQuery::new(router);
        for (slot, at) in scenario.standby_points().iter().enumerate() {
            sources.set(slot, query.source_space(at));
        }
        drop(query);

        // A query object per chunk: each owns buffers the size of the graph,
        // so chunks are few and large.
        let chunk = cells
            .len()
            .div_ceil(rayon::current_num_threads() * 4)
            .max(256);
        cells.par_chunks_mut(chunk).for_each(|chunk| {
            let mut query = RouteQuery::new(router);
            for cell in chunk {
                if let Some(at) = &cell.snapped {
                    cell.eta = query
                        .many_to_one(&sources, at)
                        .iter()
                        .copied()
                        .min()
                        .unwrap_or(Cost::UNREACHABLE);
                }
            }
        });

        let targets = scenario.config().targets;
        let mut overall = AreaCoverage::default();
        let mut zones: Vec<ZoneCoverage> = scenario
            .zones()
            .iter()
            .map(|z| ZoneCoverage {
                id: z.id.clone(),
                name: z.name.clone(),
                coverage: AreaCoverage::default(),
            })
            .collect();
        for cell in &cells {
            overall.add(cell, targets.as_array());
            if let Some(z) = zones.get_mut(cell.zone) {
                z.coverage.add(cell, targets.as_array());
            }
        }
        Ok(StandbyCoverage {
            targets,
            resolution: config.resolution,
            overall,
            zones,
            cells,
        })
    }

    /// The zone whose slowest cell on the network is the slowest of all.
    pub fn slowest_zone(&self) -> Option<&ZoneCoverage> {
        self.zones
            .iter()
            .filter(|z| z.coverage.worst_eta.is_some())
            .max_by_key(|z| z.coverage.worst_eta)
    }

    /// The zone with the smallest share reached within the support target.
    pub fn least_supported_zone(&self) -> Option<&ZoneCoverage> {
        self.zones
            .iter()
            .filter_map(|z| z.coverage.share_within(1).map(|s| (z, s)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(z, _)| z)
    }
}
