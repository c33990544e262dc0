//! Zone exits: a hand-made zone whose exits are known (classes, order,
//! merging of dual carriageways and wiggles, directions, a node on the
//! boundary, a hole); on Jincheng, the R-tree search equals a scan of every
//! segment against every boundary edge, and every exit lies on its zone's
//! boundary and on a road of exit class.

use std::path::PathBuf;
use std::sync::OnceLock;

use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{Coord, Line};
use kuaifan_engine::{
    Direction, Exit, ExitConfig, LatLon, OsmRoads, Profile, RoadClass, RoadGraph, WayRule, Zone,
    ZoneExits, Zones,
};

const BOTH: Direction = Direction::Both;
const ONE_WAY: Direction = Direction::Forward;

/// Roads given as polylines of (lat, lon); consecutive roads share a node
/// wherever they give the same position.
struct Map {
    roads: OsmRoads,
    nodes: Vec<(LatLon, i64)>,
    ways: i64,
}

impl Map {
    fn new() -> Self {
        Self {
            roads: OsmRoads::new(),
            nodes: Vec::new(),
            ways: 0,
        }
    }

    fn node(&mut self, lat: f64, lon: f64) -> i64 {
        let at = LatLon::new(lat, lon).unwrap();
        if let Some(&(_, id)) = self.nodes.iter().find(|(p, _)| *p == at) {
            return id;
        }
        let id = self.nodes.len() as i64 + 1;
        self.nodes.push((at, id));
        self.roads.add_node(id, at);
        id
    }

    fn road(&mut self, class: RoadClass, direction: Direction, points: &[(f64, f64)]) {
        let nodes = points
            .iter()
            .map(|&(lat, lon)| self.node(lat, lon))
            .collect();
        self.ways += 1;
        let rule = WayRule {
            speed_kmh: 50.0,
            direction,
        };
        self.roads.add_classed_way(self.ways, nodes, rule, class);
    }

    fn build(self) -> RoadGraph {
        let graph = RoadGraph::build(self.roads).unwrap();
        assert_eq!(graph.build_report().dropped_nodes, 0, "every road is kept");
        graph
    }
}

/// A ring of (lon, lat) positions, closed.
type Ring<'a> = &'a [(f64, f64)];

/// A zones file of one polygon per zone: its id and its rings, the
/// exterior first.
fn zones(polygons: &[(&str, &[Ring<'_>])]) -> Zones {
    let features: Vec<String> = polygons
        .iter()
        .map(|(id, rings)| {
            let rings: Vec<String> = rings
                .iter()
                .map(|ring| {
                    let points: Vec<String> = ring
                        .iter()
                        .map(|(lon, lat)| format!("[{lon}, {lat}]"))
                        .collect();
                    format!("[{}]", points.join(", "))
                })
                .collect();
            format!(
                r#"{{"type": "Feature", "properties": {{"id": "{id}"}}, "geometry": {{"type": "Polygon", "coordinates": [{}]}}}}"#,
                rings.join(", ")
            )
        })
        .collect();
    let text = format!(
        r#"{{"type": "FeatureCollection", "features": [{}]}}"#,
        features.join(", ")
    );
    Zones::from_geojson_str(&text).unwrap()
}

/// The square zone 112.84–112.86 E, 35.49–35.51 N (about 1.8 × 2.2 km),
/// wound counter-clockwise from its south-west corner: edges south, east,
/// north, west.
const SQUARE: &[(f64, f64)] = &[
    (112.84, 35.49),
    (112.86, 35.49),
    (112.86, 35.51),
    (112.84, 35.51),
    (112.84, 35.49),
];

/// The roads around [`SQUARE`]:
///
/// - a primary road west–east along 35.50 N, crossing the west and east edges;
/// - a trunk dual carriageway at 112.8500 (southbound) and 112.8502 E
///   (northbound, 18 m apart), crossing the south and north edges, its
///   ends joined outside the zone by minor roads;
/// - a secondary road from the primary that zigzags across the east edge
///   five times, about 11 m apart, and ends outside;
/// - a tertiary road south from the primary at 112.845 E, crossing the
///   south edge, with a tertiary branch west whose node lies exactly on the
///   west edge (35.495 N, 112.84 E);
/// - a residential street north across the north edge: not an exit.
fn square_map() -> RoadGraph {
    let mut map = Map::new();
    let primary = [
        (35.50, 112.83),
        (35.50, 112.845),
        (35.50, 112.85),
        (35.50, 112.8502),
        (35.50, 112.855),
        (35.50, 112.87),
    ];
    map.road(RoadClass::Primary, BOTH, &primary);
    map.road(
        RoadClass::Trunk,
        ONE_WAY,
        &[(35.52, 112.85), (35.50, 112.85), (35.48, 112.85)],
    );
    map.road(
        RoadClass::Trunk,
        ONE_WAY,
        &[(35.48, 112.8502), (35.50, 112.8502), (35.52, 112.8502)],
    );
    map.road(
        RoadClass::Minor,
        BOTH,
        &[(35.48, 112.85), (35.48, 112.8502)],
    );
    map.road(
        RoadClass::Minor,
        BOTH,
        &[(35.52, 112.85), (35.52, 112.8502)],
    );
    let mut zigzag = vec![(35.50, 112.855)];
    for k in 0..6 {
        let lon = if k % 2 == 0 { 112.8598 } else { 112.8602 };
        zigzag.push((35.495 - 0.0001 * k as f64, lon));
    }
    zigzag.push((35.494, 112.865));
    map.road(RoadClass::Secondary, BOTH, &zigzag);
    map.road(
        RoadClass::Tertiary,
        BOTH,
        &[(35.50, 112.845), (35.495, 112.845), (35.48, 112.845)],
    );
    map.road(
        RoadClass::Tertiary,
        BOTH,
        &[(35.495, 112.845), (35.495, 112.84), (35.495, 112.83)],
    );
    map.road(
        RoadClass::Minor,
        BOTH,
        &[(35.50, 112.855), (35.52, 112.855)],
    );
    map.build()
}

fn summary(exits: &[Exit]) -> Vec<(RoadClass, usize, bool, bool)> {
    exits
        .iter()
        .map(|e| (e.class, e.crossings, e.outbound, e.inbound))
        .collect()
}

fn near(at: LatLon, lat: f64, lon: f64) -> bool {
    at.haversine_m(LatLon::new(lat, lon).unwrap()) < 0.01
}

#[test]
fn the_exits_of_a_hand_made_zone_are_ranked_and_merged() {
    let graph = square_map();
    let zones = zones(&[("SQ", &[SQUARE])]);
    let found = ZoneExits::find(&zones, &graph, &ExitConfig::default());
    assert_eq!(
        found,
        ZoneExits::find_by_scan(&zones, &graph, &ExitConfig::default())
    );
    assert_eq!((found.zone_count(), found.exit_count()), (1, 7));
    let exits = found.exits(0);
    use RoadClass::*;
    assert_eq!(
        summary(exits),
        [
            // The carriageways merge, each with one direction of travel.
            (Trunk, 2, true, true),
            (Trunk, 2, true, true),
            (Primary, 1, true, true),
            (Primary, 1, true, true),
            // Five crossings of the zigzag, one exit.
            (Secondary, 5, true, true),
            (Tertiary, 1, true, true),
            // The node on the boundary ends one segment and starts the next.
            (Tertiary, 2, true, true),
        ]
    );
    // Among equals, in order along the boundary: south, east, north, west,
    // each exit at its first crossing along the boundary.
    assert!(near(exits[0].at, 35.49, 112.85), "{}", exits[0].at);
    assert!(near(exits[1].at, 35.51, 112.8502), "{}", exits[1].at);
    assert!(near(exits[2].at, 35.50, 112.86), "{}", exits[2].at);
    assert!(near(exits[3].at, 35.50, 112.84), "{}", exits[3].at);
    assert!(near(exits[5].at, 35.49, 112.845), "{}", exits[5].at);
    assert!(near(exits[6].at, 35.495, 112.84), "{}", exits[6].at);
    let zigzag = &exits[4];
    assert!((zigzag.at.lon() - 112.86).abs() < 1e-9);
    assert!(
        (35.4944..35.4950).contains(&zigzag.at.lat()),
        "{}",
        zigzag.at
    );

    for exit in exits {
        assert_eq!(graph.segment_class(exit.segment), exit.class);
        assert_eq!(exit.location.segment as usize, exit.segment);
        assert!(exit.location.distance_m < 1e-6, "{exit:?}");
        let s = graph.segments()[exit.segment];
        let on_segment = graph.position(s.a).haversine_m(exit.location.point)
            + exit.location.point.haversine_m(graph.position(s.b))
            - graph.position(s.a).haversine_m(graph.position(s.b));
        assert!(on_segment.abs() < 1e-6, "{exit:?}");
    }
    assert!(found.exits(1).is_empty(), "no second zone");
}

#[test]
fn without_merging_each_carriageway_has_its_direction() {
    let graph = square_map();
    let zones = zones(&[("SQ", &[SQUARE])]);
    let config = ExitConfig { merge_m: 0.0 };
    let found = ZoneExits::find(&zones, &graph, &config);
    assert_eq!(found, ZoneExits::find_by_scan(&zones, &graph, &config));
    let exits = found.exits(0);
    // 4 carriageway crossings, 2 primary, 5 zigzag, 2 tertiary; the two
    // segments at the node on the boundary still meet at one point.
    assert_eq!(exits.len(), 13);
    let trunk: Vec<_> = exits
        .iter()
        .filter(|e| e.class == RoadClass::Trunk)
        .map(|e| (e.at.lat(), e.at.lon(), e.outbound, e.inbound))
        .map(|(lat, lon, out, inb)| ((lat * 1e4).round(), (lon * 1e4).round(), out, inb))
        .collect();
    assert_eq!(
        trunk,
        [
            // South edge: the southbound carriageway leaves, the northbound enters.
            (354900.0, 1128500.0, true, false),
            (354900.0, 1128502.0, false, true),
            // North edge, east to west: the northbound leaves, the southbound enters.
            (355100.0, 1128502.0, true, false),
            (355100.0, 1128500.0, false, true),
        ]
    );
    assert_eq!(
        exits
            .iter()
            .filter(|e| e.class == RoadClass::Secondary)
            .count(),
        5
    );
    let everything = ExitConfig {
        merge_m: f64::INFINITY,
    };
    let one = ZoneExits::find(&zones, &graph, &everything);
    assert_eq!(summary(one.exits(0)), [(RoadClass::Trunk, 14, true, true)]);
    for nothing in [-1.0, f64::NAN] {
        let apart = ZoneExits::find(&zones, &graph, &ExitConfig { merge_m: nothing });
        assert_eq!(apart.exit_count(), 14, "{nothing}");
    }
}

#[test]
fn a_hole_in_a_zone_has_exits_too() {
    // A one-way primary road west to east through the zone and a hole in
    // it, back east to west outside the zone by a minor road.
    let mut map = Map::new();
    map.road(
        RoadClass::Primary,
        ONE_WAY,
        &[(35.50, 112.83), (35.50, 112.87)],
    );
    map.road(
        RoadClass::Minor,
        ONE_WAY,
        &[
            (35.50, 112.87),
            (35.52, 112.87),
            (35.52, 112.83),
            (35.50, 112.83),
        ],
    );
    let graph = map.build();
    let hole: &[(f64, f64)] = &[
        (112.845, 35.495),
        (112.845, 35.505),
        (112.855, 35.505),
        (112.855, 35.495),
        (112.845, 35.495),
    ];
    // Another zone fills the hole, as loading requires.
    let zones = zones(&[("RING", &[SQUARE, hole]), ("CORE", &[hole])]);
    let exits = ZoneExits::find(&zones, &graph, &ExitConfig::default());
    let found = |z: usize| -> Vec<_> {
        exits
            .exits(z)
            .iter()
            .map(|e| ((e.at.lon() * 1e3).round(), e.outbound, e.inbound))
            .collect()
    };
    // Boundary order: the exterior (east edge, then west), then the hole.
    assert_eq!(
        found(0),
        [
            (112860.0, true, false),
            (112840.0, false, true),
            (112845.0, true, false),
            (112855.0, false, true),
        ]
    );
    assert_eq!(
        found(1),
        [(112855.0, true, false), (112845.0, false, true)],
        "the hole's zone, wound counter-clockwise from its south-west corner, sees them the other way"
    );
}

#[test]
fn zones_without_roads_of_exit_class_have_no_exits() {
    let mut map = Map::new();
    map.road(RoadClass::Minor, BOTH, &[(35.50, 112.83), (35.50, 112.87)]);
    let graph = map.build();
    let zones = zones(&[("SQ", &[SQUARE])]);
    let exits = ZoneExits::find(&zones, &graph, &ExitConfig::default());
    assert_eq!((exits.zone_count(), exits.exit_count()), (1, 0));
    assert!(exits.exits(0).is_empty() && exits.exits(7).is_empty());
}

// --- Jincheng -------------------------------------------------------------

fn jincheng() -> &'static (RoadGraph, Zones) {
    static JINCHENG: OnceLock<(RoadGraph, Zones)> = OnceLock::new();
    JINCHENG.get_or_init(|| {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/jincheng/jincheng.osm.pbf");
        let roads = OsmRoads::read(&path, &Profile::default()).unwrap();
        let graph = RoadGraph::build(roads).unwrap();
        let zones =
            Zones::from_geojson_str(include_str!("../../data/jincheng/zones.geojson")).unwrap();
        (graph, zones)
    })
}

/// The crossings of a zone's boundary with roads of exit class, by a plain
/// scan in degrees with geo's intersection: (point, segment class).
fn scanned_crossings(graph: &RoadGraph, zone: &Zone) -> Vec<(LatLon, RoadClass)> {
    let coord = |p: LatLon| Coord {
        x: p.lon(),
        y: p.lat(),
    };
    let mut out = Vec::new();
    for (i, s) in graph.segments().iter().enumerate() {
        let class = graph.segment_class(i);
        let (a, b) = (coord(graph.position(s.a)), coord(graph.position(s.b)));
        if !class.is_exit_class() || a == b {
            continue;
        }
        for polygon in &zone.geometry {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for edge in ring.lines() {
                    let points = match line_intersection(Line::new(a, b), edge) {
                        None => vec![],
                        Some(LineIntersection::SinglePoint { intersection, .. }) => {
                            vec![intersection]
                        }
                        Some(LineIntersection::Collinear { intersection: l }) => {
                            if l.start == l.end {
                                vec![l.start]
                            } else {
                                vec![l.start, l.end]
                            }
                        }
                    };
                    for p in points {
                        out.push((LatLon::new(p.y, p.x).unwrap(), class));
                    }
                }
            }
        }
    }
    out
}

/// Metres from a point to the nearest edge of a zone's boundary, in a
/// local plane (exact enough at a metre).
fn metres_to_boundary(zone: &Zone, at: LatLon) -> f64 {
    let ky = 111_195.08;
    let kx = ky * at.lat().to_radians().cos();
    let local = |c: Coord<f64>| ((c.x - at.lon()) * kx, (c.y - at.lat()) * ky);
    let mut best = f64::INFINITY;
    for polygon in &zone.geometry {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for edge in ring.lines() {
                let (ax, ay) = local(edge.start);
                let (bx, by) = local(edge.end);
                let (dx, dy) = (bx - ax, by - ay);
                let len2 = dx * dx + dy * dy;
                let t = if len2 > 0.0 {
                    (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                best = best.min((ax + t * dx).hypot(ay + t * dy));
            }
        }
    }
    best
}

#[test]
fn on_jincheng_the_rtree_search_equals_the_scan() {
    let (graph, zones) = jincheng();
    for config in [ExitConfig::default(), ExitConfig { merge_m: 0.0 }] {
        let found = ZoneExits::find(zones, graph, &config);
        assert_eq!(
            found,
            ZoneExits::find_by_scan(zones, graph, &config),
            "{config:?}"
        );
    }

    // Independently: geo's intersections in degrees give as many crossings
    // as the exits merged, and every exit is at one of them, on a road of
    // its class.
    let found = ZoneExits::find(zones, graph, &ExitConfig::default());
    for (z, zone) in zones.iter().enumerate() {
        let scanned = scanned_crossings(graph, zone);
        let exits = found.exits(z);
        assert_eq!(
            exits.iter().map(|e| e.crossings).sum::<usize>(),
            scanned.len(),
            "zone {}",
            zone.id
        );
        for exit in exits {
            assert!(
                scanned
                    .iter()
                    .any(|&(p, class)| class == exit.class && p.haversine_m(exit.at) < 0.01),
                "zone {}: {exit:?} is no crossing",
                zone.id
            );
        }
    }
}

#[test]
fn every_jincheng_zone_has_exits_on_its_boundary() {
    let (graph, zones) = jincheng();
    let config = ExitConfig::default();
    let found = ZoneExits::find(zones, graph, &config);
    assert_eq!(found.zone_count(), zones.len());
    let mut counts = Vec::new();
    for (z, zone) in zones.iter().enumerate() {
        let exits = found.exits(z);
        counts.push(exits.len());
        assert!(
            exits.len() >= 4,
            "zone {} has {} exits",
            zone.id,
            exits.len()
        );
        assert!(
            exits.windows(2).all(|w| w[0].class >= w[1].class),
            "zone {}: not ranked by class",
            zone.id
        );
        for exit in exits {
            let off = metres_to_boundary(zone, exit.at);
            assert!(
                off < 1.0,
                "zone {}: {exit:?} is {off} m off the boundary",
                zone.id
            );
            assert!(exit.class.is_exit_class());
            assert_eq!(graph.segment_class(exit.segment), exit.class);
            assert_eq!(exit.location.segment as usize, exit.segment);
            assert!(exit.location.point.haversine_m(exit.at) < 1.0, "{exit:?}");
            assert!(exit.outbound || exit.inbound, "zone {}: {exit:?}", zone.id);
        }
        // Merged exits are farther apart than the merge distance.
        for (i, a) in exits.iter().enumerate() {
            for b in &exits[i + 1..] {
                assert!(a.at.haversine_m(b.at) > config.merge_m, "zone {}", zone.id);
            }
        }
    }
    counts.sort_unstable();
    let by_class = RoadClass::ALL.map(|c| {
        (0..found.zone_count())
            .flat_map(|z| found.exits(z))
            .filter(|e| e.class == c)
            .count()
    });
    let all = || (0..found.zone_count()).flat_map(|z| found.exits(z));
    eprintln!(
        "Jincheng: {} exits ({} merged from several) of {} crossings in {} zones; per zone min {} median {} max {}; sorted counts {counts:?}; by class (minor..motorway) {by_class:?}",
        found.exit_count(),
        all().filter(|e| e.crossings > 1).count(),
        all().map(|e| e.crossings).sum::<usize>(),
        counts.len(),
        counts[0],
        counts[counts.len() / 2],
        counts[counts.len() - 1],
    );
}
