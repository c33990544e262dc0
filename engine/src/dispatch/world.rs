//! What dispatch reads but never changes: the scenario (map, zones, units),
//! the rules, the zones' exits and the containment rings' crossings.

use crate::containment::{CheckpointsConfig, PreparedRings, RingCrossings};
use crate::dispatch::config::DispatchConfig;
use crate::dispatch::exits::{ExitConfig, ZoneExits};
use crate::geo::LatLon;
use crate::road::names::MapPlace;
use crate::road::snap::Snapped;
use crate::route::{RouteQuery, TargetSpace};
use crate::scenario::{ContainmentConfig, EncircleConfig, Scenario};
use crate::space::{Gazetteer, ZoneIndex, ZoneIndexConfig};

/// A zone exit as the dispatcher uses it: a point on a road crossing the
/// zone's boundary, snapped, with the road's class (higher is more
/// important).
#[derive(Clone, Debug, PartialEq)]
pub struct ExitTarget {
    /// The crossing point.
    pub at: LatLon,
    /// The crossing point on the road network.
    pub snapped: Snapped,
    /// The road's class rank: higher roads are held first.
    pub rank: u8,
    /// The exit's backward search space, cached: exits never move, so the
    /// units' ETAs to an exit need only a merge.
    pub space: TargetSpace,
}

/// The fixed part of dispatch, shared by every state snapshot.
#[derive(Debug)]
pub struct World {
    scenario: Scenario,
    config: DispatchConfig,
    /// The encirclement's budget: the scenario's `[encircle]` unless a
    /// drill replaces it ([`World::with_encircle`]).
    encircle: EncircleConfig,
    /// A containment's budget: the scenario's `[containment]` unless a
    /// drill replaces it ([`World::with_containment`]).
    containment: ContainmentConfig,
    exits: Vec<Vec<ExitTarget>>,
    /// Where each containment ring is closed, found once, with what
    /// plans need cached.
    rings: PreparedRings,
    /// The O(1) zone lookup; `None` only if the zones are too large to
    /// tile, when the exact R-tree-free scan answers instead.
    zone_index: Option<ZoneIndex>,
    /// The map's names and the scenario's stations and checkpoints, for
    /// finding a location from what a caller says.
    gazetteer: Gazetteer,
}

impl World {
    /// Dispatch over a loaded scenario. `exits[z]` are zone `z`'s exits,
    /// most important first.
    pub fn new(scenario: Scenario, config: DispatchConfig, exits: Vec<Vec<ExitTarget>>) -> Self {
        let zone_index = match ZoneIndex::build(scenario.zones(), &ZoneIndexConfig::default()) {
            Ok(index) => Some(index),
            Err(e) => {
                log::warn!("zone lookup falls back to a polygon scan: {e}");
                None
            }
        };
        let rings = PreparedRings::new(&scenario, &CheckpointsConfig::default());
        let gazetteer = Gazetteer::build(scenario.router().graph(), &scenario_places(&scenario));
        Self {
            encircle: scenario.config().encircle,
            containment: scenario.config().containment,
            scenario,
            config,
            exits,
            rings,
            zone_index,
            gazetteer,
        }
    }

    /// Dispatch over a loaded scenario, finding every zone's exits and
    /// their search spaces (a few milliseconds on Jincheng).
    pub fn from_scenario(scenario: Scenario, config: DispatchConfig) -> Self {
        let found = ZoneExits::find(
            scenario.zones(),
            scenario.router().graph(),
            &ExitConfig::default(),
        );
        let mut query = RouteQuery::new(scenario.router());
        let exits = (0..scenario.zones().len())
            .map(|z| {
                found
                    .exits(z)
                    .iter()
                    .map(|e| ExitTarget {
                        at: e.at,
                        snapped: e.location,
                        rank: e.class as u8,
                        space: query.target_space(&e.location),
                    })
                    .collect()
            })
            .collect();
        Self::new(scenario, config, exits)
    }

    /// The same world with another encirclement budget: a drill compares
    /// [`EncircleConfig::UNBOUNDED`] with the scenario's.
    pub fn with_encircle(mut self, encircle: EncircleConfig) -> Self {
        self.encircle = encircle;
        self
    }

    /// The encirclement's budget.
    pub fn encircle(&self) -> EncircleConfig {
        self.encircle
    }

    /// The same world with another containment budget: a drill measures
    /// what the reserve costs the rings.
    pub fn with_containment(mut self, containment: ContainmentConfig) -> Self {
        self.containment = containment;
        self
    }

    /// A containment's budget.
    pub fn containment(&self) -> ContainmentConfig {
        self.containment
    }

    /// The names to search for a location ([`Gazetteer::locate`]).
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Where each containment ring is closed.
    pub fn ring_crossings(&self) -> &RingCrossings {
        self.rings.crossings()
    }

    /// The containment rings with what plans need cached.
    pub fn prepared_rings(&self) -> &PreparedRings {
        &self.rings
    }

    /// The rules.
    pub fn config(&self) -> &DispatchConfig {
        &self.config
    }

    /// A zone's exits, most important first (empty for an unknown zone).
    pub fn exits(&self, zone: usize) -> &[ExitTarget] {
        self.exits.get(zone).map_or(&[], Vec::as_slice)
    }

    /// The zone holding a location, if any.
    pub fn zone_at(&self, at: LatLon) -> Option<usize> {
        if let Some(index) = &self.zone_index {
            // The R-tree path: on Jincheng's 34 simple zones it measured
            // 157 ns against 645 ns for the H3 table, whose cost is mostly
            // turning a coordinate into a cell (benches/zone_lookup.rs).
            return index.zone_at_exact(at);
        }
        let zones = self.scenario.zones();
        zones
            .zone_at(at)
            .and_then(|z| zones.index_of(z.id.as_str()))
    }

    /// A tier's target in seconds.
    pub fn target_s(&self, tier: crate::incident::Tier) -> u32 {
        let t = &self.scenario.config().targets;
        match tier {
            crate::incident::Tier::Handle => t.handle_s,
            crate::incident::Tier::Support => t.support_s,
            crate::incident::Tier::Encircle => t.encircle_s,
        }
    }
}

/// The scenario's police stations and ring checkpoints as places a caller
/// may name ("北街派出所", "G207南出城卡口"), less those the map already
/// has under the same name within 100 m.
fn scenario_places(scenario: &Scenario) -> Vec<MapPlace> {
    let map = scenario.router().graph().places();
    let stations = scenario
        .stations()
        .iter()
        .map(|s| (s.name.as_str(), "police", s.location));
    let checkpoints = scenario
        .rings()
        .checkpoints()
        .iter()
        .map(|c| (c.name.as_str(), c.kind.as_str(), c.location));
    stations
        .chain(checkpoints)
        .filter(|&(name, _, at)| {
            !map.iter()
                .any(|p| p.name == name && p.at.haversine_m(at) <= 100.0)
        })
        .map(|(name, kind, at)| MapPlace {
            name: name.to_string(),
            name_en: String::new(),
            kind: kind.to_string(),
            at,
        })
        .collect()
}
