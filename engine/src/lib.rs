//! kuaifan's engine: the road network of a city, exact road travel times
//! between any two points in microseconds, the dispatch of police units
//! under the 1-3-5 minute standard ([`DispatchEngine`]), and the gRPC
//! service consoles and unit terminals talk to ([`service`]).
//!
//! A road network is read from OpenStreetMap, prepared once, and queried from
//! any number of threads:
//!
//! ```
//! use kuaifan_engine::{LatLon, OsmRoads, PrepareConfig, Profile, RoadGraph, RouteQuery, Router, SnapConfig};
//! let roads = OsmRoads::read("tests/fixtures/tiny.osm.pbf".as_ref(), &Profile::default())?;
//! let graph = RoadGraph::build(roads)?;
//! let router = Router::prepare(graph, &PrepareConfig::default());
//! let snap = SnapConfig::default();
//! let from = router.graph().snap(LatLon::new(35.5000, 112.8500)?, &snap)?;
//! let to = router.graph().snap(LatLon::new(35.5020, 112.8530)?, &snap)?;
//! let mut query = RouteQuery::new(&router);
//! let cost = query.one_to_one(&from, &to);
//! assert!(cost.seconds() > 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A city is described by a scenario: a directory with `scenario.toml`, the
//! map, and its zones, units, stations and containment rings. Loading checks
//! every file and reports all their problems at once; the standby coverage
//! then says how much of the city the units reach within the 1-3-5 minute
//! targets:
//!
//! ```
//! use kuaifan_engine::{Scenario, ScenarioOverrides, StandbyCoverage};
//! let scenario = Scenario::load("tests/fixtures/scenario/valid".as_ref(), &ScenarioOverrides::default())?;
//! let coverage = StandbyCoverage::compute(&scenario)?;
//! for zone in &coverage.zones {
//!     println!("{} {}: {:?} within 180 s", zone.id, zone.name, zone.coverage.share_within(1));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Dispatch asks where things are: [`ZoneIndex`] names the zone of an
//! incident in one H3 cell lookup (exactly as the zone polygons would), and
//! [`UnitPositions`] keeps the units' live positions for nearest and
//! within-radius queries:
//!
//! ```
//! use kuaifan_engine::{LatLon, UnitPositions, ZoneIndex, ZoneIndexConfig, Zones};
//! let text = std::fs::read_to_string("../data/jincheng/zones.geojson")?;
//! let zones = Zones::from_geojson_str(&text)?;
//! let index = ZoneIndex::build(&zones, &ZoneIndexConfig::default())?;
//! let incident = LatLon::new(35.4950, 112.8450)?;
//! let zone = index.zone_at(incident).map(|i| &index.zones()[i]);
//! println!("incident in {:?}", zone.map(|z| &z.name));
//!
//! let mut units = UnitPositions::new();
//! units.update(0, LatLon::new(35.4990, 112.8420)?);
//! units.update(1, LatLon::new(35.5100, 112.8600)?);
//! let nearest = units.nearest(incident, 1);
//! assert_eq!(nearest[0].0, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! While units move and leave on jobs, a [`CoverageMap`] keeps the same
//! cells' ETAs live: each unit's update recomputes only its own row of ETAs
//! (a fraction of a millisecond), and readers get cheap snapshots of the
//! shares within the targets, the area each unit alone covers, and the zones
//! no unit reaches in time. A [`HeatMap`] counts incidents on the same cells
//! over sliding windows.
#![deny(missing_docs)]

mod containment;
mod dispatch;
mod geo;
mod incident;
mod journal;
mod road;
mod route;
mod scenario;
pub mod service;
mod space;

pub use containment::{
    AREA_RESOLUTION, CheckpointsConfig, ContainmentRing, CrossingNeed, CrossingSite, FastTimes,
    FixedHolder, Holder, NodeCells, Origin, Plan, PlanConfig, PlanRequest, PlannedCrossing,
    PlannedRing, PreparedRings, ReferenceTimes, ReserveCost, ResponderKind, ResponderSlot,
    Responders, RingAssignment, RingCrossings, RingOutline, STATION_SNAP_M, Sighting, SiteTimes,
    StationResponder, Suspect, UNREACHABLE_MS, UnitResponder, Verdict, assign_responders,
    assign_responders_within, is_staffed, plan, possible_area, possible_area_reference, ring1_for,
};
pub use dispatch::{
    Applied, AssignUnit, CLOCK_SLACK_MS, Candidate, CellDemand, ClientRequest, Command,
    CommandError, CommitObserver, Containment, ContainmentChange, ContainmentChangeKind,
    ContainmentMode, CoverageMap, CoverageMapError, CrossingOrder, CrossingOutlook,
    CrossingResponder, DepartureLoss, Departures, DispatchConfig, DispatchEngine, DispatchState,
    ENGINE_ACTOR, EngineError, EngineHandle, Exit, ExitConfig, ExitTarget, FreeUnit, GapChange,
    HeatMap, HeatMapConfig, HeatMapError, HeldCrossing, Interception, JournalPolicy,
    MAX_SPEED_FACTOR, MOVE_UP_EPSILON, MoveUp, MoveUpAdvice, MoveUpField, MoveUpLayout, MoveUpPlan,
    MoveUpProblem, MoveUpRefusal, NO_ROUTE, Objective, Outcome, PlanStep, PlannedMove, Policy,
    Reach, RecentRequests, RecommendError, Recommendation, Refresh, RequestRecord, RequestWindow,
    Seen, Stamped, StandbyEngine, SuspectSighting, TierOutcome, Unheld, UnheldExit, UnitState,
    UnitStatus, UpdateStats, World, ZoneExits, append_to_journal, archived_incident,
    bottleneck_assignment, read_journal, read_journal_after,
};
pub use geo::{BoundingBox, EARTH_RADIUS_M, InvalidLatLon, LatLon};
pub use incident::{Assignment, Incident, IncidentId, Priority, Stage, Tier, Transition};
#[cfg(feature = "etcd")]
pub use journal::EtcdStore;
#[cfg(feature = "etcd")]
pub use journal::etcd::{
    Campaign, EtcdConfig, EtcdError, EtcdJournal, Follower, Leader, Leadership, LeaseProbe,
    LeaseStanding, RawBatch, SNAPSHOT_CHUNK_BYTES, StoredSnapshot,
};
pub use journal::{
    ArchiveReader, ArchivedCase, CaseQuery, Entry, Group, JOURNAL_FORMAT, Journal, JournalError,
    JournalStore, LocalCopy, PruneRule, Pruned, RequestTag, Snapshot, StoredGroup,
};
pub use road::build::{BuildError, BuildReport};
pub use road::class::RoadClass;
pub use road::crossings::{Boundary, CrossingConfig, CrossingSearch, RoadCrossing};
pub use road::graph::{RoadGraph, Segment};
pub use road::names::{MapPlace, RoadName, RoadNameId};
pub use road::osm::{OsmError, OsmRoads, RoadWay};
pub use road::profile::{Direction, Profile, ProfileError, WayRule, parse_maxspeed};
pub use road::snap::{SnapConfig, SnapError, Snapped};
pub use route::{
    CacheError, Cost, Dijkstra, NetworkError, NetworkPhase, NetworkStats, PrepareConfig,
    PreparedNetwork, Route, RouteQuery, Router, SearchSpace, Source, SourceSet, SourceSpace,
    SpaceSet, Target, TargetSet, TargetSpace,
};
pub use scenario::{
    AreaCoverage, CellEta, Checkpoint, CheckpointId, CheckpointKind, ClosedAt, ContainmentConfig,
    CoverageConfig, CoverageError, EMBEDDED_JINCHENG, EncircleConfig, InvalidId, Item, ItemKind,
    MAX_CELLS, MAX_CREW, MAX_ID_LEN, MAX_TEAMS, MAX_TURNOUT_S, MoveUpConfig, PolygonFeature, Post,
    PostId, PostKind, Posts, Problem, Problems, Ring, RingId, RingLevel, RingShape, Rings,
    SCENARIO_FILE, SLIVER_TOLERANCE_FRACTION, SLIVER_TOLERANCE_M2, Scenario, ScenarioConfig,
    ScenarioError, ScenarioFiles, ScenarioOverrides, ScenarioSource, SiteKind, SnapLimits, Standby,
    StandbyCoverage, Station, StationId, StationKind, Stations, Targets, Unit, UnitId, UnitKind,
    Units, UnknownKind, ZONE_BEYOND_MAP_M, Zone, ZoneCell, ZoneCoverage, ZoneId, Zones, jincheng,
    polygon_features_from_geojson_str,
};
pub use space::{
    Gazetteer, InvalidTile, LOCATE_DEFAULT_LIMIT, Located, LocatedKind, MAX_TILE_ZOOM, TILE_EXTENT,
    TileId, TileMaker, UnitPositions, ZoneIndex, ZoneIndexConfig, ZoneIndexError, ZoneIndexStats,
};

/// The H3 cell types the coverage figures are counted in.
pub use h3o::{CellIndex, Resolution};
