//! What every containment plan reads, prepared once when a scenario is
//! loaded: the rings' crossings and their cached target spaces (crossings
//! never move), the stations' cached source spaces (nor do stations), and
//! each road node's H3 cell for the suspect's possible area.

use h3o::Resolution;

use crate::containment::area::NodeCells;
use crate::containment::crossings::{CheckpointsConfig, RingCrossings};
use crate::road::snap::SnapConfig;
use crate::route::{RouteQuery, SourceSpace, TargetSet};
use crate::scenario::Scenario;

/// A station farther than this from every road sends no team: its teams
/// could not drive off (metres).
pub const STATION_SNAP_M: f64 = 1_000.0;

/// The resolution of the suspect's possible area (cells of about
/// 0.74 km²).
pub const AREA_RESOLUTION: Resolution = Resolution::Eight;

/// The static part of containment.
#[derive(Debug)]
pub struct PreparedRings {
    crossings: RingCrossings,
    targets: TargetSet,
    stations: Vec<Option<SourceSpace>>,
    cells: NodeCells,
}

impl PreparedRings {
    /// Finds the crossings and caches the search spaces (about 0.2 s on
    /// Jincheng, most of it the node cells).
    pub fn new(scenario: &Scenario, config: &CheckpointsConfig) -> PreparedRings {
        let router = scenario.router();
        let graph = router.graph();
        let crossings = RingCrossings::find(scenario.rings(), graph, config);
        let mut query = RouteQuery::new(router);
        let targets = crossings.target_set(&mut query);
        let snap = SnapConfig {
            limit_m: STATION_SNAP_M,
        };
        let stations = scenario
            .stations()
            .iter()
            .map(|s| match graph.snap(s.location, &snap) {
                Ok(at) => Some(query.source_space(&at)),
                Err(e) => {
                    log::warn!(
                        "station {} sends no team to a containment: {e}",
                        s.id.as_str()
                    );
                    None
                }
            })
            .collect();
        PreparedRings {
            crossings,
            targets,
            stations,
            cells: NodeCells::new(router, AREA_RESOLUTION),
        }
    }

    /// The rings' crossings.
    pub fn crossings(&self) -> &RingCrossings {
        &self.crossings
    }

    /// The crossings' cached target spaces, slot = site.
    pub fn targets(&self) -> &TargetSet {
        &self.targets
    }

    /// A station's cached source space; `None` for a station off every
    /// road or an index the scenario lacks.
    pub fn station_space(&self, station: usize) -> Option<&SourceSpace> {
        self.stations.get(station).and_then(Option::as_ref)
    }

    /// Each road node's cell, for the possible area.
    pub fn node_cells(&self) -> &NodeCells {
        &self.cells
    }
}
