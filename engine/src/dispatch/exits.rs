//! Zone exits: where the important roads cross a patrol zone's boundary.
//! To encircle the zone of a violent incident, units are sent to hold them,
//! most important road first. Zones and roads do not move, so the exits are
//! found once, when a scenario is loaded.

use crate::road::class::RoadClass;
use crate::road::crossings::{Boundary, CrossingConfig, CrossingSearch, RoadCrossing};
use crate::road::graph::RoadGraph;
use crate::scenario::Zones;

/// Options for finding zone exits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExitConfig {
    /// Crossings at most this many metres apart (great-circle) are one
    /// exit: a dual carriageway crosses twice side by side, an interchange
    /// with its ramps several times, and a road that wiggles along the
    /// boundary again and again, yet one unit holds each. Crossings join
    /// in chains, so a road that runs along the boundary crossing it every
    /// 50 m stays one exit however long it is. 0 merges only crossings at
    /// the same point (a road node on the boundary); a negative or NaN
    /// distance merges nothing.
    pub merge_m: f64,
}

impl Default for ExitConfig {
    fn default() -> Self {
        Self { merge_m: 60.0 }
    }
}

/// A point where roads of exit class ([`RoadClass::is_exit_class`]) cross
/// a zone's boundary: one or more crossings within [`ExitConfig::merge_m`]
/// of each other, represented by the crossing of the most important road
/// (found by the crossing finder zone exits share with containment rings).
pub type Exit = RoadCrossing;

/// The exits of every zone, found once from the zones and the road graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZoneExits {
    /// All exits, zone after zone.
    exits: Vec<Exit>,
    /// The exits of zone `z` are `exits[first[z]..first[z + 1]]`.
    first: Vec<usize>,
}

impl ZoneExits {
    /// Finds the exits of every zone: the crossings of its boundary
    /// (exterior and holes) with segments of exit class, found through the
    /// graph's segment R-tree and computed exactly (robust orientation
    /// tests), merged by [`ExitConfig::merge_m`].
    ///
    /// ```
    /// use kuaifan_engine::{ExitConfig, OsmRoads, Profile, RoadClass, RoadGraph, ZoneExits, Zones};
    /// let roads = OsmRoads::read("tests/fixtures/tiny.osm.pbf".as_ref(), &Profile::default())?;
    /// let graph = RoadGraph::build(roads)?;
    /// let text = std::fs::read_to_string("tests/fixtures/scenario/valid/zones.geojson")?;
    /// let zones = Zones::from_geojson_str(&text)?;
    /// let exits = ZoneExits::find(&zones, &graph, &ExitConfig::default());
    /// // The primary road leaves the western zone at one of its nodes,
    /// // which ends one of its segments and starts the next.
    /// let west = exits.exits(zones.index_of("Z01").unwrap());
    /// assert_eq!(west.len(), 1);
    /// assert_eq!((west[0].class, west[0].crossings), (RoadClass::Primary, 2));
    /// assert!(west[0].outbound && west[0].inbound);
    /// assert!((west[0].at.lon() - 112.8515).abs() < 1e-9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find(zones: &Zones, graph: &RoadGraph, config: &ExitConfig) -> ZoneExits {
        Self::find_with(zones, graph, config, CrossingSearch::Tree)
    }

    /// [`ZoneExits::find`] by testing every segment against every boundary
    /// edge, without the R-tree: the reference the fast search is tested
    /// and benchmarked against. Its answer is equal to `find`'s.
    pub fn find_by_scan(zones: &Zones, graph: &RoadGraph, config: &ExitConfig) -> ZoneExits {
        Self::find_with(zones, graph, config, CrossingSearch::Scan)
    }

    fn find_with(
        zones: &Zones,
        graph: &RoadGraph,
        config: &ExitConfig,
        search: CrossingSearch,
    ) -> Self {
        let crossing = CrossingConfig {
            merge_m: config.merge_m,
            min_class: RoadClass::Tertiary,
        };
        let mut exits = Vec::new();
        let mut first = Vec::with_capacity(zones.len() + 1);
        first.push(0);
        for zone in zones {
            let boundary = Boundary::of_area(&zone.geometry, graph);
            exits.extend(boundary.crossings(graph, &crossing, search));
            first.push(exits.len());
        }
        ZoneExits { exits, first }
    }

    /// The exits of the zone at `zone` in [`Zones::as_slice`], most
    /// important road first, then in order along the boundary: ring by
    /// ring (exterior, then holes, as loaded: exteriors counter-clockwise),
    /// each from its first vertex, by the exit's first crossing. Empty for
    /// a zone without exits or an index past the last zone.
    pub fn exits(&self, zone: usize) -> &[Exit] {
        match (self.first.get(zone), self.first.get(zone + 1)) {
            (Some(&start), Some(&end)) => &self.exits[start..end],
            _ => &[],
        }
    }

    /// How many zones the exits were found for.
    pub fn zone_count(&self) -> usize {
        self.first.len().saturating_sub(1)
    }

    /// How many exits all zones have together (an exit on the border of
    /// two zones counts for each).
    pub fn exit_count(&self) -> usize {
        self.exits.len()
    }
}
