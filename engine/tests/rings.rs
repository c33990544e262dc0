//! Containment rings: ring 1's county-level areas, where rings are closed,
//! station teams, and the rings' crossings found at load.

use std::collections::HashSet;
use std::sync::OnceLock;

use kuaifan_engine::{
    Boundary, CheckpointsConfig, ClosedAt, ContainmentRing, CrossingConfig, CrossingSearch,
    Direction, LatLon, OsmRoads, Problem, RingCrossings, RingLevel, RingShape, Rings, RoadClass,
    RoadGraph, Scenario, ScenarioOverrides, StationKind, Stations, WayRule,
};

fn jincheng() -> &'static Scenario {
    static SCENARIO: OnceLock<Scenario> = OnceLock::new();
    SCENARIO.get_or_init(|| {
        Scenario::from_source(
            &kuaifan_engine::jincheng(),
            &ScenarioOverrides::default(),
            &mut |_| {},
        )
        .expect("the built-in scenario loads")
    })
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    format!("[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]")
}

fn area_feature(props: &str, coords: &str) -> String {
    format!(
        r#"{{"type":"Feature","properties":{{{props}}},"geometry":{{"type":"Polygon","coordinates":{coords}}}}}"#
    )
}

/// Ring 2 the square [0, 1]², ring 1 a small square inside, ring 3 its
/// western edge, and county-level areas as given.
fn rings_text(areas: &[(&str, String)], core: &str, extra: &str) -> String {
    let mut features = vec![
        area_feature(r#""ring":1,"id":"R1","name":"core""#, core),
        area_feature(
            r#""ring":2,"id":"R2","name":"city""#,
            &square(112.0, 35.0, 113.0, 36.0),
        ),
        r#"{"type":"Feature","properties":{"ring":3,"id":"R3","name":"border"},"geometry":{"type":"LineString","coordinates":[[112.0,35.0],[112.0,36.0]]}}"#.to_string(),
    ];
    for (id, coords) in areas {
        features.push(area_feature(
            &format!(r#""ring":1,"id":"{id}","name":"{id}","area":"county"{extra}"#),
            coords,
        ));
    }
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

fn halves() -> Vec<(&'static str, String)> {
    vec![
        ("west", square(112.0, 35.0, 112.5, 36.0)),
        ("east", square(112.5, 35.0, 113.0, 36.0)),
    ]
}

const CORE: &str = "[[[112.4,35.4],[112.6,35.4],[112.6,35.6],[112.4,35.6],[112.4,35.4]]]";

fn tiling_reasons(text: &str) -> Vec<String> {
    let problems = Rings::from_geojson_str(text).expect_err("refused");
    problems
        .as_slice()
        .iter()
        .map(|p| match p {
            Problem::AreaTiling { reason } => reason.clone(),
            other => panic!("expected a tiling problem, got {other}"),
        })
        .collect()
}

#[test]
fn county_areas_that_tile_ring_2_load_beside_the_three_rings() {
    let rings = Rings::from_geojson_str(&rings_text(&halves(), CORE, "")).expect("valid");
    assert_eq!(rings.rings().len(), 3);
    let ids: Vec<&str> = rings.areas().iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["west", "east"]);
    assert!(
        rings
            .areas()
            .iter()
            .all(|a| a.level == RingLevel::UrbanCore)
    );
    assert!(
        rings
            .rings()
            .iter()
            .chain(rings.areas())
            .all(|r| r.closed_at == ClosedAt::Roads)
    );
}

#[test]
fn areas_that_overlap_leave_a_gap_or_reach_outside_ring_2_are_refused() {
    let overlap = vec![
        ("west", square(112.0, 35.0, 112.6, 36.0)),
        ("east", square(112.5, 35.0, 113.0, 36.0)),
    ];
    let reasons = tiling_reasons(&rings_text(&overlap, CORE, ""));
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("west and east overlap by")),
        "{reasons:?}"
    );

    let gap = vec![
        ("west", square(112.0, 35.0, 112.4, 36.0)),
        ("east", square(112.5, 35.0, 113.0, 36.0)),
    ];
    let reasons = tiling_reasons(&rings_text(&gap, CORE, ""));
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("of ring 2 near") && r.ends_with("is in no area")),
        "{reasons:?}"
    );

    let outside = vec![
        ("west", square(111.9, 35.0, 112.5, 36.0)),
        ("east", square(112.5, 35.0, 113.0, 36.0)),
    ];
    let reasons = tiling_reasons(&rings_text(&outside, CORE, ""));
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("west reaches") && r.contains("outside ring 2")),
        "{reasons:?}"
    );
}

#[test]
fn a_core_reaching_outside_ring_2_is_refused() {
    let core = "[[[111.9,35.4],[112.6,35.4],[112.6,35.6],[111.9,35.6],[111.9,35.4]]]";
    let reasons = tiling_reasons(&rings_text(&halves(), core, ""));
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].starts_with("the urban core (ring 1) reaches"));
}

#[test]
fn area_and_crossings_properties_are_checked() {
    let text = rings_text(&halves(), CORE, r#","crossings":"checkpoints""#);
    let rings = Rings::from_geojson_str(&text).expect("valid");
    assert!(
        rings
            .areas()
            .iter()
            .all(|a| a.closed_at == ClosedAt::Checkpoints)
    );

    let text = rings_text(&halves(), CORE, r#","crossings":"bridges""#);
    let message = Rings::from_geojson_str(&text).unwrap_err().to_string();
    assert!(
        message.contains(r#"`crossings` is "bridges"; expected roads | checkpoints"#),
        "{message}"
    );

    let text = rings_text(&halves(), CORE, "").replace(
        r#""ring":2,"id":"R2","name":"city""#,
        r#""ring":2,"id":"R2","name":"city","area":"county""#,
    );
    let message = Rings::from_geojson_str(&text).unwrap_err().to_string();
    assert!(
        message.contains("only ring 1 has county-level areas"),
        "{message}"
    );

    let text =
        rings_text(&halves(), CORE, "").replace(r#""area":"county""#, r#""area":"district""#);
    let message = Rings::from_geojson_str(&text).unwrap_err().to_string();
    assert!(
        message.contains(r#"`area` is "district"; expected county"#),
        "{message}"
    );
}

fn station(props: &str) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"id":"S01","name":"s","county":"c",{props}}},"geometry":{{"type":"Point","coordinates":[112.85,35.5]}}}}]}}"#
    )
}

#[test]
fn station_teams_and_turnout_default_by_kind_and_are_checked() {
    for (kind, teams, turnout) in [
        ("city_bureau", 6, 300),
        ("county_bureau", 4, 300),
        ("urban_sub_bureau", 4, 240),
        ("police_station", 2, 180),
    ] {
        let s =
            Stations::from_geojson_str(&station(&format!(r#""kind":"{kind}""#))).expect("valid");
        let first = s.iter().next().expect("one");
        assert_eq!((first.teams, first.turnout_s), (teams, turnout), "{kind}");
        assert_eq!(first.kind.default_teams(), teams);
    }
    let s = Stations::from_geojson_str(&station(
        r#""kind":"police_station","teams":0,"turnout_s":90"#,
    ))
    .expect("valid");
    let first = s.iter().next().expect("one");
    assert_eq!(
        (first.kind, first.teams, first.turnout_s),
        (StationKind::PoliceStation, 0, 90)
    );
    for bad in [
        r#""teams":-1"#,
        r#""teams":2.5"#,
        r#""teams":51"#,
        r#""turnout_s":3601"#,
        r#""teams":"two""#,
    ] {
        let text = station(&format!(r#""kind":"police_station",{bad}"#));
        let message = Stations::from_geojson_str(&text).unwrap_err().to_string();
        let field = if bad.contains("teams") {
            "`teams`"
        } else {
            "`turnout_s`"
        };
        assert!(message.contains(field), "{bad}: {message}");
    }
}

#[test]
fn jincheng_has_six_county_areas_and_every_station_has_teams() {
    let s = jincheng();
    let names: Vec<&str> = s.rings().areas().iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["城区", "泽州县", "高平市", "阳城县", "陵川县", "沁水县"]
    );
    let teams: u32 = s.stations().iter().map(|st| st.teams).sum();
    // 1 city bureau, 1 sub-bureau, 8 police stations, 5 county bureaus.
    assert_eq!(teams, 6 + 4 + 8 * 2 + 5 * 4);
}

fn crossings() -> RingCrossings {
    let s = jincheng();
    RingCrossings::find(s.rings(), s.router().graph(), &CheckpointsConfig::default())
}

#[test]
fn rings_share_the_places_of_a_shared_outline() {
    let c = crossings();
    let sites = |ring| -> HashSet<usize> {
        c.outline(ring)
            .expect("ring")
            .sites
            .iter()
            .copied()
            .collect()
    };
    let city = sites(ContainmentRing::City);
    let border = sites(ContainmentRing::Border);
    assert!(!border.is_empty() && border.len() < city.len());
    // Ring 3 is part of ring 2's outline: every place on it closes ring 2 too.
    assert!(border.is_subset(&city), "{:?}", border.difference(&city));
    // The counties tile ring 2, so every place of ring 2 on a road of
    // ring 1's classes is a place of some county too.
    let mut counties = HashSet::new();
    for (i, _) in jincheng().rings().areas().iter().enumerate() {
        counties.extend(sites(ContainmentRing::Area(i)));
    }
    let city_main: HashSet<usize> = city
        .iter()
        .copied()
        .filter(|&s| c.sites()[s].class >= RoadClass::Tertiary)
        .collect();
    let missing: Vec<_> = city_main.difference(&counties).collect();
    assert!(
        missing.is_empty(),
        "ring-2 places in no county: {missing:?}"
    );
}

#[test]
fn each_checkpoint_is_taken_over_once_within_the_distance_by_a_place_of_its_ring() {
    let s = jincheng();
    let c = crossings();
    let mut taken = HashSet::new();
    for (i, site) in c.sites().iter().enumerate() {
        let Some(k) = site.checkpoint else { continue };
        assert!(taken.insert(k), "checkpoint {k} taken twice");
        let checkpoint = &s.rings().checkpoints()[k];
        assert!(site.at.haversine_m(checkpoint.location) <= 300.0);
        // The map names the road the checkpoint is on.
        assert!(
            site.road == checkpoint.road || site.road_ref == checkpoint.road,
            "{}: {} / {} on the map, {} at the checkpoint",
            checkpoint.id,
            site.road,
            site.road_ref,
            checkpoint.road
        );
        let on_its_ring = c
            .outlines()
            .iter()
            .any(|o| o.ring.level() == checkpoint.ring && o.sites.contains(&i));
        assert!(on_its_ring, "{}", checkpoint.id);
    }
    assert!(!taken.is_empty());
    for o in c.outlines() {
        assert!(c.without_checkpoint(o) <= o.sites.len());
    }
}

#[test]
fn ring_crossings_through_the_tree_equal_the_scan() {
    let s = jincheng();
    let graph = s.router().graph();
    let ring = s.rings().ring(RingLevel::CityBoundary).expect("ring 2");
    let RingShape::Area(area) = &ring.shape else {
        panic!("ring 2 is an area")
    };
    let boundary = Boundary::of_area(area, graph);
    let config = CrossingConfig {
        merge_m: 60.0,
        min_class: RoadClass::Minor,
    };
    let tree = boundary.crossings(graph, &config, CrossingSearch::Tree);
    assert_eq!(
        tree,
        boundary.crossings(graph, &config, CrossingSearch::Scan)
    );
    let outbound = tree.iter().filter(|c| c.outbound).count();
    let found = crossings();
    let city = found.outline(ContainmentRing::City).expect("ring 2");
    assert_eq!(outbound, city.sites.len() + city.not_ways_out);
}

#[test]
fn rings_2_and_3_are_closed_at_the_roads_that_leave_the_city_whatever_the_way_out_distance() {
    // The generator runs 13 roads out of the city, 7 of them into Henan
    // (data/README.md); every other crossing of the outline is a village
    // lane that comes back in or ends just outside, the farthest of them
    // between 1 and 2 km out. The generated map ends a few kilometres past
    // the boundary, so from 4 km on its shortest road out stops counting
    // too (on a real extract the outside goes on).
    let s = jincheng();
    for way_out_m in [2_000.0, 2_500.0, 3_000.0] {
        let config = CheckpointsConfig {
            way_out_m,
            ..CheckpointsConfig::default()
        };
        let c = RingCrossings::find(s.rings(), s.router().graph(), &config);
        let city = c.outline(ContainmentRing::City).expect("ring 2");
        let border = c.outline(ContainmentRing::Border).expect("ring 3");
        assert_eq!(
            (city.sites.len(), border.sites.len()),
            (13, 7),
            "way out at {way_out_m} m"
        );
        assert!(city.not_ways_out > 0);
        // Each is one of the city's fixed checkpoints.
        assert_eq!(c.without_checkpoint(city), 0);
        for &site in &city.sites {
            assert!(!c.sites()[site].road.is_empty() || !c.sites()[site].road_ref.is_empty());
        }
    }
}

#[test]
fn a_lane_that_crosses_and_comes_back_or_ends_just_outside_is_not_a_way_out() {
    // Ring 2 the box 112.0–112.2 E, 35.0–35.2 N; ring 3 its eastern edge.
    // Inside, a road north–south at 112.19 E joined to the middle.
    let mut roads = OsmRoads::new();
    let mut nodes: Vec<LatLon> = Vec::new();
    let mut node = |roads: &mut OsmRoads, lat: f64, lon: f64| -> i64 {
        let at = LatLon::new(lat, lon).expect("a coordinate");
        if let Some(i) = nodes.iter().position(|p| *p == at) {
            return i as i64 + 1;
        }
        nodes.push(at);
        roads.add_node(nodes.len() as i64, at);
        nodes.len() as i64
    };
    let rule = WayRule {
        speed_kmh: 40.0,
        direction: Direction::Both,
    };
    let ways: [&[(f64, f64)]; 4] = [
        // The spine inside, and the road out: 4.5 km past the edge.
        &[
            (35.05, 112.19),
            (35.10, 112.19),
            (35.15, 112.19),
            (35.17, 112.19),
        ],
        &[(35.10, 112.10), (35.10, 112.19), (35.10, 112.25)],
        // A lane 450 m out and back in, 2 km on.
        &[
            (35.15, 112.19),
            (35.15, 112.205),
            (35.17, 112.205),
            (35.17, 112.19),
        ],
        // A dead end 900 m outside.
        &[(35.05, 112.19), (35.05, 112.21)],
    ];
    for (id, way) in ways.iter().enumerate() {
        let ids = way
            .iter()
            .map(|&(lat, lon)| node(&mut roads, lat, lon))
            .collect();
        roads.add_classed_way(id as i64 + 1, ids, rule, RoadClass::Minor);
    }
    let graph = RoadGraph::build(roads).expect("a graph");
    let text = r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"ring":1,"id":"R1","name":"core"},"geometry":{"type":"Polygon","coordinates":[[[112.05,35.05],[112.08,35.05],[112.08,35.08],[112.05,35.08],[112.05,35.05]]]}},
        {"type":"Feature","properties":{"ring":2,"id":"R2","name":"city"},"geometry":{"type":"Polygon","coordinates":[[[112.0,35.0],[112.2,35.0],[112.2,35.2],[112.0,35.2],[112.0,35.0]]]}},
        {"type":"Feature","properties":{"ring":3,"id":"R3","name":"border"},"geometry":{"type":"LineString","coordinates":[[112.2,35.0],[112.2,35.2]]}}
    ]}"#;
    let rings = Rings::from_geojson_str(text).expect("valid rings");
    let c = RingCrossings::find(&rings, &graph, &CheckpointsConfig::default());
    for ring in [ContainmentRing::City, ContainmentRing::Border] {
        let outline = c.outline(ring).expect("the ring");
        assert_eq!(outline.sites.len(), 1, "{ring:?}: only the road out");
        assert_eq!(
            outline.not_ways_out, 3,
            "{ring:?}: the lane twice, the dead end"
        );
        let site = &c.sites()[outline.sites[0]];
        assert!((site.at.lat() - 35.10).abs() < 1e-6 && (site.at.lon() - 112.2).abs() < 1e-6);
    }
    // Nearer than the lane's and the dead end's reach, all four count.
    let near = CheckpointsConfig {
        way_out_m: 300.0,
        ..CheckpointsConfig::default()
    };
    let c = RingCrossings::find(&rings, &graph, &near);
    assert_eq!(
        c.outline(ContainmentRing::City)
            .expect("ring 2")
            .sites
            .len(),
        4
    );
}

#[test]
fn a_ring_closed_at_its_checkpoints_is_closed_exactly_there() {
    let s = jincheng();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/jincheng/rings.geojson"
    ))
    .expect("rings file");
    let text = text.replacen(
        r#""name": "市界查控圈""#,
        r#""name": "市界查控圈", "crossings": "checkpoints""#,
        1,
    );
    let rings = Rings::from_geojson_str(&text).expect("valid");
    let c = RingCrossings::find(&rings, s.router().graph(), &CheckpointsConfig::default());
    let outline = c.outline(ContainmentRing::City).expect("ring 2");
    let ring_2: Vec<usize> = (0..rings.checkpoints().len())
        .filter(|&k| rings.checkpoints()[k].ring == RingLevel::CityBoundary)
        .collect();
    assert_eq!(
        outline.sites.len() + outline.off_road_checkpoints.len(),
        ring_2.len()
    );
    assert!(
        outline
            .sites
            .iter()
            .all(|&i| c.sites()[i].checkpoint.is_some())
    );
    assert_eq!(c.without_checkpoint(outline), 0);
}

#[test]
fn an_enclave_is_inside_the_area_around_it() {
    // 城区 is an enclave of 泽州县: a road from 泽州县 into 城区 does not
    // leave the loop around 泽州县, so the two share no crossing (before
    // the holes were filled, about 80 of 泽州县's 98 were 城区's).
    let s = jincheng();
    let c = crossings();
    let area = |name: &str| {
        let i = s
            .rings()
            .areas()
            .iter()
            .position(|a| a.name.contains(name))
            .unwrap_or_else(|| panic!("no area {name}"));
        c.outline(ContainmentRing::Area(i)).expect("its outline")
    };
    let (chengqu, zezhou) = (area("城区"), area("泽州"));
    let shared: Vec<_> = zezhou
        .sites
        .iter()
        .filter(|s| chengqu.sites.contains(s))
        .collect();
    assert!(shared.is_empty(), "泽州县 closed inside 城区 at {shared:?}");
    assert!(!zezhou.sites.is_empty() && zezhou.sites.len() < 30);
}
