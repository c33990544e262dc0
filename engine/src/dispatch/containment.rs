//! What the dispatch state offers a containment plan: its dispatchable
//! units from their cached search spaces (so a unit's times to every
//! crossing are one merge) and every station's teams from the stations'
//! cached spaces.

use crate::containment::{Origin, Responders, StationResponder, UnitResponder};
use crate::dispatch::DispatchState;

impl DispatchState {
    /// Everyone who may hold a crossing now: the dispatchable units from
    /// where they are, and every station's teams (a station off every road
    /// sends none).
    pub fn containment_responders(&self) -> Responders<'_> {
        let world = self.world();
        let prepared = world.prepared_rings();
        let units = (0..self.units().len())
            .filter_map(|unit| {
                Some(UnitResponder {
                    unit,
                    from: Origin::Cached(self.sources().get(unit)?),
                    holds: None,
                })
            })
            .collect();
        let stations = world
            .scenario()
            .stations()
            .iter()
            .enumerate()
            .filter_map(|(station, s)| {
                Some(StationResponder {
                    station,
                    from: Origin::Cached(prepared.station_space(station)?),
                    teams: s.teams,
                    turnout_ms: u64::from(s.turnout_s) * 1000,
                })
            })
            .collect();
        Responders {
            units,
            stations,
            fixed: Vec::new(),
        }
    }
}
