//! Scenario files: a valid scenario loads; each kind of problem is reported
//! with the offending id; several problems in a file are all reported; the
//! real boundary files load; standby coverage matches plain Dijkstra.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use kuaifan_engine::{
    ContainmentConfig, Cost, CoverageConfig, Dijkstra, EncircleConfig, LatLon, MoveUpConfig,
    PostKind, Problem, Resolution, RingLevel, Rings, Scenario, ScenarioConfig, ScenarioError,
    ScenarioOverrides, ScenarioSource, SiteKind, StandbyCoverage, Stations, UnitKind, Units, Zones,
    polygon_features_from_geojson_str,
};

fn scenario_dir(name: &str) -> PathBuf {
    common::fixture("scenario").join(name)
}

fn invalid(name: &str) -> PathBuf {
    scenario_dir("invalid").join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load_valid_with(overrides: ScenarioOverrides) -> Result<Scenario, ScenarioError> {
    Scenario::load(&scenario_dir("valid"), &overrides)
}

/// The problems' one-line messages, asserting the error is about `file`.
fn messages(error: &ScenarioError, file: &str) -> Vec<String> {
    let problems = error.problems();
    assert!(!problems.is_empty(), "expected problems, got: {error}");
    for (path, problem) in &problems {
        assert!(
            path.ends_with(file),
            "problem in {} rather than {file}: {problem}",
            path.display()
        );
    }
    problems.iter().map(|(_, p)| p.to_string()).collect()
}

fn assert_reported(messages: &[String], needles: &[&str]) {
    assert!(
        messages
            .iter()
            .any(|m| needles.iter().all(|n| m.contains(n))),
        "no problem mentions all of {needles:?} in:\n{}",
        messages.join("\n")
    );
}

#[test]
fn the_valid_scenario_loads() {
    let s = load_valid_with(ScenarioOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.config().name, "Tiny Chengqu");
    assert_eq!(s.config().targets.as_array(), [60, 180, 300]);
    assert_eq!(s.zones().len(), 2);
    let z01 = s.zones().get("Z01").expect("Z01");
    assert_eq!(
        (z01.name.as_str(), z01.incident_rate_per_day),
        ("城西", 6.5)
    );
    // 0.0115° of longitude by 0.022° of latitude at 35.5°N.
    assert!((z01.area_m2 / 1e6 - 2.55).abs() < 0.05, "{}", z01.area_m2);
    assert_eq!(s.units().len(), 3);
    let u02 = s.units().get("U02").expect("U02");
    assert_eq!(
        (u02.kind, u02.crew, u02.home_zone.as_str()),
        (UnitKind::Motorcycle, 1, "Z02")
    );
    assert_eq!(s.standby_points().len(), 3);
    assert!(s.standby_points().iter().all(|p| p.distance_m <= 30.0));
    assert_eq!(s.stations().len(), 2);
    assert_eq!(s.rings().rings().len(), 3);
    assert_eq!(s.rings().checkpoints().len(), 3);
    assert_eq!(s.rings().checkpoints()[2].road, "");
    let city = s.rings().city_area_m2().expect("ring 2");
    assert!((city - s.zones().area_m2()).abs() / city < 1e-9);
    assert!(s.rings().ring(RingLevel::ProvincialBorder).is_some());
    assert_eq!(s.router().graph().node_count(), 9);
    assert_eq!(
        s.zones()
            .zone_at(LatLon::new(35.5010, 112.8520).unwrap())
            .map(|z| z.id.as_str()),
        Some("Z02")
    );
}

#[test]
fn overlapping_zones_are_reported_with_both_ids_and_the_area() {
    let e = load_valid_with(ScenarioOverrides {
        zones: Some(invalid("zones_overlap.geojson")),
        ..Default::default()
    })
    .unwrap_err();
    let m = messages(&e, "zones_overlap.geojson");
    assert_reported(&m, &["zones Z01 and Z02 overlap by"]);
    // 0.0015° of longitude (136 m) by 0.022° of latitude (2,446 m).
    let Problem::Overlap { area_m2, .. } = e.problems()[0].1 else {
        panic!("{m:?}")
    };
    assert!((area_m2 - 332_000.0).abs() < 5_000.0, "{area_m2}");
    assert_eq!(m.len(), 1, "{m:?}");
}

/// A zone stretched 12 km east of the map (a longitude typed wrong) is
/// refused before any of its cells is counted.
#[test]
fn a_zone_reaching_far_past_the_map_is_reported() {
    let e = load_valid_with(ScenarioOverrides {
        zones: Some(invalid("zones_far.geojson")),
        ..Default::default()
    })
    .unwrap_err();
    let m = messages(&e, "zones_far.geojson");
    assert_reported(&m, &["zone Z02 reaches", "m beyond the map's roads"]);
    let Problem::ZoneBeyondMap { distance_m, .. } = e.problems()[0].1 else {
        panic!("{m:?}")
    };
    // 113.0° E is about 12.5 km east of the tiny map's easternmost street.
    assert!((11_000.0..14_000.0).contains(distance_m), "{distance_m}");
    assert_eq!(m.len(), 1, "{m:?}");
}

#[test]
fn a_hole_in_a_zone_is_reported() {
    let text = read(&invalid("zones_hole.geojson"));
    let problems = Zones::from_geojson_str(&text).unwrap_err();
    let m: Vec<String> = problems.as_slice().iter().map(|p| p.to_string()).collect();
    assert_reported(&m, &["zone Z01 has a hole of", "near (35.50"]);
    // The hole is inside Z01's outline, so it is not also reported as a gap.
    assert_eq!(m.len(), 1, "{m:?}");
}

#[test]
fn a_hole_filled_by_another_zone_is_an_enclave_not_a_problem() {
    let outer = r#"{"type": "Feature", "properties": {"id": "COUNTY"}, "geometry": {"type": "Polygon", "coordinates": [
        [[112.80, 35.45], [112.90, 35.45], [112.90, 35.55], [112.80, 35.55], [112.80, 35.45]],
        [[112.84, 35.49], [112.84, 35.51], [112.86, 35.51], [112.86, 35.49], [112.84, 35.49]]]}}"#;
    let inner = r#"{"type": "Feature", "properties": {"id": "DISTRICT"}, "geometry": {"type": "Polygon", "coordinates": [
        [[112.84, 35.49], [112.86, 35.49], [112.86, 35.51], [112.84, 35.51], [112.84, 35.49]]]}}"#;
    let both = format!(r#"{{"type": "FeatureCollection", "features": [{outer}, {inner}]}}"#);
    let zones = Zones::from_geojson_str(&both).unwrap_or_else(|e| panic!("{e}"));
    let at = LatLon::new(35.50, 112.85).unwrap();
    assert_eq!(zones.zone_at(at).map(|z| z.id.as_str()), Some("DISTRICT"));
    // Without the district, the county's hole is a hole in the zoning.
    let alone = format!(r#"{{"type": "FeatureCollection", "features": [{outer}]}}"#);
    let m = Zones::from_geojson_str(&alone).unwrap_err().to_string();
    assert!(m.contains("zone COUNTY has a hole"), "{m}");
}

#[test]
fn a_gap_between_zones_is_reported_with_its_place() {
    let e = load_valid_with(ScenarioOverrides {
        zones: Some(invalid("zones_gap.geojson")),
        ..Default::default()
    })
    .unwrap_err();
    let m = messages(&e, "zones_gap.geojson");
    assert_eq!(m.len(), 1, "{m:?}");
    let Problem::Gap { lat, lon, area_m2 } = *e.problems()[0].1 else {
        panic!("{m:?}")
    };
    // The gap: 112.8515 to 112.8530 east, 35.497 to 35.503 north.
    assert!(
        (35.497..35.503).contains(&lat) && (112.8515..112.8530).contains(&lon),
        "{m:?}"
    );
    assert!((area_m2 - 90_700.0).abs() < 2_000.0, "{area_m2}");
    assert_reported(&m, &["gap of", "between zones near (35.5"]);
}

#[test]
fn a_point_where_a_polygon_is_needed_is_reported() {
    let e = load_valid_with(ScenarioOverrides {
        zones: Some(invalid("zones_point.geojson")),
        ..Default::default()
    })
    .unwrap_err();
    let m = messages(&e, "zones_point.geojson");
    assert_eq!(
        m,
        ["zone Z03 (features[2]): geometry must be Polygon or MultiPolygon, found Point"]
    );
    // Rings 1 and 2 are areas too.
    let rings = r#"{"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ring": 2, "id": "R2", "name": "市界"},
         "geometry": {"type": "Point", "coordinates": [112.85, 35.50]}}]}"#;
    let m = Rings::from_geojson_str(rings).unwrap_err().to_string();
    assert_eq!(
        m,
        "ring R2 (features[0]): geometry must be Polygon or MultiPolygon, found Point"
    );
}

#[test]
fn duplicate_ids_are_reported() {
    let e = load_valid_with(ScenarioOverrides {
        zones: Some(invalid("zones_duplicate.geojson")),
        units: Some(invalid("units_duplicate.toml")),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        matches!(e, ScenarioError::Several(ref all) if all.len() == 2),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("duplicate zone id \"Z01\": items 0 and 1"),
        "{text}"
    );
    assert!(
        text.contains("duplicate unit id \"U01\": items 0 and 2"),
        "{text}"
    );

    let stations = read(&scenario_dir("valid").join("stations.geojson")).replace("S02", "S01");
    let m = Stations::from_geojson_str(&stations)
        .unwrap_err()
        .to_string();
    assert_eq!(m, "duplicate station id \"S01\": items 0 and 1");
    let rings = read(&scenario_dir("valid").join("rings.geojson")).replace("CP03", "CP01");
    let m = Rings::from_geojson_str(&rings).unwrap_err().to_string();
    assert_eq!(m, "duplicate checkpoint id \"CP01\": items 3 and 5");
    let rings = read(&scenario_dir("valid").join("rings.geojson")).replace("\"R3\"", "\"R1\"");
    let m = Rings::from_geojson_str(&rings).unwrap_err().to_string();
    assert_eq!(m, "duplicate ring id \"R1\": items 0 and 2");
}

#[test]
fn an_unknown_home_zone_is_reported() {
    let e = load_valid_with(ScenarioOverrides {
        units: Some(invalid("units_unknown_zone.toml")),
        ..Default::default()
    })
    .unwrap_err();
    let m = messages(&e, "units_unknown_zone.toml");
    assert_eq!(m, ["unit U02: home_zone \"Z09\" is not a zone"]);
}

#[test]
fn a_bad_unit_kind_is_reported() {
    let text = read(&invalid("units_bad_kind.toml"));
    let m = Units::from_toml_str(&text).unwrap_err().to_string();
    assert_eq!(
        m,
        "unit U02 (unit[1]): `kind` is \"tank\"; expected one of patrol_car | swat_vehicle | motorcycle | foot_patrol"
    );
}

#[test]
fn a_standby_point_far_from_any_road_is_reported_with_its_distance() {
    let e = load_valid_with(ScenarioOverrides {
        units: Some(invalid("units_far_standby.toml")),
        ..Default::default()
    })
    .unwrap_err();
    let m = messages(&e, "units_far_standby.toml");
    assert_eq!(m.len(), 1, "{m:?}");
    // (35.5060, 112.8515) is 0.004° (445 m) north of the 7-8-9 street.
    let Problem::StandbyOffRoad {
        distance_m,
        limit_m,
        ..
    } = *e.problems()[0].1
    else {
        panic!("{m:?}")
    };
    assert!((distance_m - 445.0).abs() < 2.0, "{distance_m}");
    assert_eq!(limit_m, 30.0);
    assert_reported(
        &m,
        &["unit U03: standby point is 445 m from the nearest road; at most 30 m"],
    );
}

#[test]
fn an_unknown_key_in_scenario_toml_is_refused() {
    let e = Scenario::load(&scenario_dir("typo"), &ScenarioOverrides::default()).unwrap_err();
    let m = messages(&e, "scenario.toml");
    assert_reported(&m, &["unknown field `suport_s`"]);
    assert_reported(&m, &["line 11"]);

    let text = read(&scenario_dir("valid").join("scenario.toml"));
    let m = ScenarioConfig::from_toml_str(&text.replace("zones =", "zone ="))
        .unwrap_err()
        .to_string();
    assert!(m.contains("unknown field `zone`"), "{m}");
    let m = ScenarioConfig::from_toml_str(&text.replace("support_s = 180", "support_s = 30"))
        .unwrap_err()
        .to_string();
    assert!(m.contains("handle_s <= support_s <= encircle_s"), "{m}");
    let m = ScenarioConfig::from_toml_str(&text.replace("handle_s = 60", "handle_s = 0"))
        .unwrap_err()
        .to_string();
    assert!(m.contains("`targets.handle_s` is 0"), "{m}");
}

#[test]
fn an_unknown_key_in_a_unit_is_refused() {
    let text = read(&scenario_dir("valid").join("units.toml"))
        .replace("crew = 1", "crew = 1\ncolour = \"blue\"");
    let m = Units::from_toml_str(&text).unwrap_err().to_string();
    assert!(
        m.starts_with("unit U02 (unit[1]): unknown field `colour`"),
        "{m}"
    );
}

#[test]
fn a_missing_file_names_its_path() {
    let e = Scenario::load(&scenario_dir("missing"), &ScenarioOverrides::default()).unwrap_err();
    let ScenarioError::Read { file, .. } = &e else {
        panic!("{e}")
    };
    assert!(file.ends_with("missing/units.toml"), "{}", file.display());
    assert!(e.to_string().contains("missing/units.toml"), "{e}");

    let e = load_valid_with(ScenarioOverrides {
        map: Some("no/such/map.osm.pbf".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        e.to_string().starts_with("cannot read no/such/map.osm.pbf"),
        "{e}"
    );

    let e =
        Scenario::load(Path::new("no/such/scenario"), &ScenarioOverrides::default()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot read no/such/scenario/scenario.toml"),
        "{e}"
    );
}

#[test]
fn every_problem_of_a_zones_file_is_reported() {
    let text = read(&invalid("zones_many.geojson"));
    let problems = Zones::from_geojson_str(&text).unwrap_err();
    let m: Vec<String> = problems.as_slice().iter().map(|p| p.to_string()).collect();
    assert_reported(
        &m,
        &["zone Z02 (features[1]): `incident_rate_per_day` is -2"],
    );
    assert_reported(
        &m,
        &["zone Z03 (features[2]): geometry must be Polygon or MultiPolygon, found LineString"],
    );
    assert_reported(&m, &["zone features[3]: missing `id`"]);
    assert_reported(&m, &["duplicate zone id \"Z01\": items 0 and 4"]);
    assert_reported(
        &m,
        &[
            "zone Z05 (features[5]): coordinate [112.885, 95]",
            "latitude",
        ],
    );
    assert_eq!(m.len(), 5, "{m:#?}");
}

#[test]
fn every_problem_of_a_units_file_is_reported() {
    let e = load_valid_with(ScenarioOverrides {
        units: Some(invalid("units_many.toml")),
        ..Default::default()
    })
    .unwrap_err();
    let m = messages(&e, "units_many.toml");
    assert_reported(&m, &["unit U01 (unit[0]): `crew` is 0; expected 1 to 50"]);
    assert_reported(&m, &["unit U02 (unit[1]): `kind` is \"tank\""]);
    assert_reported(&m, &["unit U02: home_zone \"Z09\" is not a zone"]);
    assert_reported(&m, &["unit U03 (unit[2]): `standby.site` is \"mall\""]);
    assert_reported(
        &m,
        &[
            "unit U03 (unit[2]): `standby` is lat = 95, lon = 112.8531",
            "latitude",
        ],
    );
    assert_reported(&m, &["unit U04 (unit[3]): unknown field `colour`"]);
    assert_reported(&m, &["unit U05: standby point is 445 m"]);
    assert_eq!(m.len(), 7, "{m:#?}");
}

#[test]
fn problems_in_several_files_are_reported_together() {
    let e = load_valid_with(ScenarioOverrides {
        zones: Some(invalid("zones_point.geojson")),
        units: Some(invalid("units_bad_kind.toml")),
        ..Default::default()
    })
    .unwrap_err();
    let files: Vec<String> = e
        .problems()
        .iter()
        .map(|(f, _)| f.display().to_string())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("zones_point.geojson")),
        "{e}"
    );
    assert!(
        files.iter().any(|f| f.ends_with("units_bad_kind.toml")),
        "{e}"
    );
}

#[test]
fn a_scenario_loads_from_memory_and_names_missing_files() {
    let dir = scenario_dir("valid");
    let file = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        (PathBuf::from(name), std::borrow::Cow::Owned(bytes))
    };
    let map = std::fs::read(common::fixture("tiny.osm.pbf")).unwrap();
    let mut files = vec![
        file("scenario.toml"),
        file("zones.geojson"),
        file("units.toml"),
        file("stations.geojson"),
        file("rings.geojson"),
        file("posts.geojson"),
        (PathBuf::from("../../tiny.osm.pbf"), map.into()),
    ];
    let source = |files: Vec<_>| ScenarioSource::Memory {
        label: "embedded:tiny".into(),
        files,
    };
    let s = Scenario::from_source(
        &source(files.clone()),
        &ScenarioOverrides::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.units().len(), 3);

    files.retain(|(name, _)| name != Path::new("rings.geojson"));
    let e = Scenario::from_source(&source(files), &ScenarioOverrides::default(), &mut |_| {})
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot read embedded:tiny/rings.geojson"),
        "{e}"
    );
}

#[test]
fn garbage_is_a_problem_not_a_panic() {
    for text in [
        "",
        "{",
        "[]",
        "null",
        "{\"type\": \"Feature\"}",
        "\u{0}\u{1}",
        "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{\"id\":\"Z\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[1]]]}}]}",
    ] {
        assert!(Zones::from_geojson_str(text).is_err(), "{text:?}");
        assert!(
            Rings::from_geojson_str(text).is_err() || text.contains("Feature"),
            "{text:?}"
        );
        assert!(
            Stations::from_geojson_str(text).is_err() || text.contains("Feature"),
            "{text:?}"
        );
        assert!(Units::from_toml_str(text).is_err(), "{text:?}");
    }
    assert!(Zones::from_geojson_bytes(&[0xff, 0xfe]).is_err());
}

#[test]
fn the_real_jincheng_counties_load_as_zones() {
    let Some(path) = common::shared("geo/jincheng_counties.geojson") else {
        return;
    };
    let text = read(&path);
    let zones = Zones::from_geojson_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(zones.len(), 6);
    let ids: Vec<&str> = zones.iter().map(|z| z.id.as_str()).collect();
    assert_eq!(
        ids,
        ["140502", "140521", "140522", "140524", "140525", "140581"]
    );
    assert_eq!(zones.get("140502").map(|z| z.name.as_str()), Some("城区"));
    assert_eq!(zones.get("140525").map(|z| z.name.as_str()), Some("泽州县"));
    let chengqu = zones.zone_at(LatLon::new(35.50, 112.85).unwrap());
    assert_eq!(chengqu.map(|z| z.id.as_str()), Some("140502"));
    let km2 = zones.area_m2() / 1e6;
    assert!((km2 - 9_490.0).abs() / 9_490.0 < 0.05, "{km2} km²");
}

#[test]
fn the_real_city_boundaries_load_as_polygons() {
    let Some(shanxi) = common::shared("geo/shanxi_cities.geojson") else {
        return;
    };
    let shanxi = read(&shanxi);
    let cities = polygon_features_from_geojson_str(&shanxi).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cities.len(), 11);
    let jincheng = cities
        .iter()
        .find(|c| c.id.as_deref() == Some("140500"))
        .expect("Jincheng, 140500");
    assert_eq!(jincheng.name.as_deref(), Some("晋城市"));
    use geo::{Contains, GeodesicArea};
    assert!(jincheng.geometry.contains(&geo::Point::new(112.85, 35.50)));
    let km2 = jincheng
        .geometry
        .iter()
        .map(|p| p.geodesic_area_signed().abs())
        .sum::<f64>()
        / 1e6;
    assert!((km2 - 9_490.0).abs() / 9_490.0 < 0.05, "{km2} km²");

    let Some(henan) = common::shared("geo/henan_cities.geojson") else {
        return;
    };
    let henan = read(&henan);
    let cities = polygon_features_from_geojson_str(&henan).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cities.len(), 18);
    let jiaozuo = cities
        .iter()
        .find(|c| c.id.as_deref() == Some("410800"))
        .expect("Jiaozuo, 410800");
    assert_eq!(jiaozuo.name.as_deref(), Some("焦作市"));
    // Jincheng is in Shanxi, not in any Henan city.
    assert!(
        cities
            .iter()
            .all(|c| !c.geometry.contains(&geo::Point::new(112.85, 35.50)))
    );
}

#[test]
fn standby_coverage_matches_plain_dijkstra_from_every_unit() {
    let s = load_valid_with(ScenarioOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    // Resolution 11 (about 2,100 m² a cell) gives hundreds of cells on the
    // tiny map, some beyond the 1,000 m snap limit.
    let coverage = StandbyCoverage::compute_with(
        &s,
        &CoverageConfig {
            resolution: Resolution::Eleven,
            ..CoverageConfig::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let on = coverage
        .cells
        .iter()
        .filter(|c| c.snapped.is_some())
        .count();
    let off = coverage.cells.len() - on;
    assert!(on > 100 && off > 10, "{on} on the network, {off} off");

    let mut dijkstra = Dijkstra::new(s.router().graph());
    for cell in coverage.cells.iter().step_by(7) {
        let Some(at) = &cell.snapped else {
            assert_eq!(cell.eta, Cost::UNREACHABLE);
            continue;
        };
        let reference = dijkstra
            .many_to_one(s.standby_points(), at)
            .into_iter()
            .min()
            .unwrap_or(Cost::UNREACHABLE);
        assert_eq!(cell.eta, reference, "cell {} at {}", cell.cell, cell.centre);
        assert!(cell.eta.is_reachable());
        let zone = &s.zones().as_slice()[cell.zone];
        assert!(
            zone.contains(cell.centre),
            "{} not in {}",
            cell.centre,
            zone.id
        );
    }
}

#[test]
fn standby_coverage_adds_up() {
    let s = load_valid_with(ScenarioOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let c = StandbyCoverage::compute(&s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.zones.len(), 2);
    let cells: usize = c.zones.iter().map(|z| z.coverage.cells).sum();
    assert_eq!(cells, c.overall.cells);
    assert_eq!(cells, c.cells.len());
    let area: f64 = c.zones.iter().map(|z| z.coverage.area_m2).sum();
    assert!((area - c.overall.area_m2).abs() < 1e-6);
    // Tiling by cell centres counts the zoned area to within a few cells.
    assert!((c.overall.area_m2 - s.zones().area_m2()).abs() < 5.0 * 105_000.0);
    let shares: Vec<f64> = (0..3).map(|i| c.overall.share_within(i).unwrap()).collect();
    assert!(
        shares[0] <= shares[1] && shares[1] <= shares[2],
        "{shares:?}"
    );
    assert!(shares[2] + c.overall.off_network_share().unwrap() <= 1.0 + 1e-9);
    let worst = c.overall.worst_eta.expect("some cell on the network");
    assert_eq!(
        c.slowest_zone().and_then(|z| z.coverage.worst_eta),
        Some(worst)
    );
    assert!(c.least_supported_zone().is_some());
}

#[test]
fn scenario_info_prints_counts_and_coverage() {
    let dir = scenario_dir("valid");
    let run = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kuaifan"));
        cmd.args(["scenario-info", "--scenario"])
            .arg(&dir)
            .env("RUST_LOG", "warn");
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().expect("the binary runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let info: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    assert_eq!(info["name"], "Tiny Chengqu");
    assert_eq!(info["nodes"], 9);
    assert_eq!(info["edges"], 19);
    assert_eq!(
        (info["zones"].as_u64(), info["units"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(
        (info["stations"].as_u64(), info["checkpoints"].as_u64()),
        (Some(2), Some(3))
    );
    // 0.025° of longitude (2,265 m) by 0.022° of latitude (2,446 m).
    assert!(
        (info["zoned_area_km2"].as_f64().unwrap() - 5.54).abs() < 0.05,
        "{info}"
    );
    assert_eq!(info["targets_s"], serde_json::json!([60, 180, 300]));
    let overall = &info["coverage"]["overall"];
    let within = overall["share_within"].as_array().unwrap();
    assert_eq!(within.len(), 3);
    assert!(within[1].as_f64().unwrap() > 0.0);
    assert_eq!(info["coverage"]["zones"].as_array().map(Vec::len), Some(2));

    let table = run(false);
    assert!(table.contains("Tiny Chengqu"), "{table}");
    assert!(table.contains("Z01") && table.contains("城东"), "{table}");

    let out = Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(["scenario-info", "--scenario"])
        .arg(&dir)
        .arg("--units")
        .arg(invalid("units_many.toml"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("units_many.toml: 7 problems"), "{err}");
}

#[test]
fn the_generated_jincheng_scenario_loads_and_its_units_cover_the_core() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/jincheng");
    let s = Scenario::load(&dir, &ScenarioOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.zones().len() >= 10 && s.units().len() >= 10);
    assert!(
        s.units()
            .iter()
            .all(|u| s.zones().get(u.home_zone.as_str()).is_some())
    );
    let city_km2 = s.rings().city_area_m2().expect("ring 2") / 1e6;
    assert!(
        (city_km2 - 9_490.0).abs() / 9_490.0 < 0.05,
        "{city_km2} km²"
    );
    let c = StandbyCoverage::compute(&s).unwrap_or_else(|e| panic!("{e}"));
    assert!((c.overall.area_m2 - s.zones().area_m2()).abs() / s.zones().area_m2() < 0.01);
    // The urban core is the part of the city its units are placed to cover.
    let support = c.overall.share_within(1).unwrap_or(0.0);
    assert!(support > 0.5, "{support}");
}

#[test]
fn posts_are_the_standby_points_then_the_posts_file_each_on_a_road() {
    let s = load_valid_with(ScenarioOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = s.posts().iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["U01", "U02", "U03", "P01", "P02", "P03"]);
    let kinds: Vec<PostKind> = s.posts().iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds[2..],
        [
            PostKind::Standby,
            PostKind::Station,
            PostKind::Junction,
            PostKind::KeySite
        ]
    );
    // A unit's post is its standby point, by name and place.
    let u02 = s.units().get("U02").expect("U02");
    assert_eq!(s.posts()[1].name, u02.standby.name);
    assert_eq!(s.posts()[1].location, u02.standby.location);
    assert_eq!(s.post_points()[1], s.standby_points()[1]);
    assert_eq!(s.post_index("P02"), Some(4));
    assert_eq!(
        s.posts()[3].station.as_ref().map(|s| s.as_str()),
        Some("S01")
    );
    assert_eq!(s.posts()[5].site, Some(SiteKind::Hospital));
    assert_eq!(s.post_points().len(), s.posts().len());
    assert!(s.post_points().iter().all(|p| p.distance_m <= 30.0));
    assert_eq!(s.config().move_up, MoveUpConfig::default());
}

#[test]
fn every_problem_of_a_posts_file_is_reported() {
    let e = load_valid_with(ScenarioOverrides {
        posts: Some(invalid("posts_bad.geojson")),
        ..Default::default()
    })
    .unwrap_err();
    let m = messages(&e, "posts_bad.geojson");
    assert_reported(
        &m,
        &[
            "post P01",
            "`kind` is \"sentry\"",
            "station | key_site | junction",
        ],
    );
    assert_reported(&m, &["post P02", "missing `site`"]);
    assert_reported(&m, &["duplicate post id \"P03\""]);
    // Standby posts come from units.toml, not from the posts file.
    assert_reported(&m, &["post P06", "`kind` is \"standby\""]);
    assert_eq!(m.len(), 4, "{m:?}");

    let e = load_valid_with(ScenarioOverrides {
        posts: Some(invalid("posts_unknown.geojson")),
        ..Default::default()
    })
    .unwrap_err();
    let m = messages(&e, "posts_unknown.geojson");
    assert_reported(&m, &["post P03", "station \"S99\" is not a station"]);
    assert_reported(&m, &["post U02", "the id is a unit's"]);
    assert_reported(&m, &["post P05", "from the nearest road; at most 30 m"]);
    assert_eq!(m.len(), 3, "{m:?}");
}

#[test]
fn a_scenario_without_a_posts_file_has_the_standby_points_as_posts() {
    let dir = scenario_dir("valid");
    let file = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        (PathBuf::from(name), std::borrow::Cow::Owned(bytes))
    };
    let config = read(&dir.join("scenario.toml")).replace("posts = \"posts.geojson\"\n", "");
    let map = std::fs::read(common::fixture("tiny.osm.pbf")).unwrap();
    let source = ScenarioSource::Memory {
        label: "embedded:tiny".into(),
        files: vec![
            (PathBuf::from("scenario.toml"), config.into_bytes().into()),
            file("zones.geojson"),
            file("units.toml"),
            file("stations.geojson"),
            file("rings.geojson"),
            (PathBuf::from("../../tiny.osm.pbf"), map.into()),
        ],
    };
    let s = Scenario::from_source(&source, &ScenarioOverrides::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.config().files.posts, None);
    let ids: Vec<&str> = s.posts().iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["U01", "U02", "U03"]);
    assert!(s.posts().iter().all(|p| p.kind == PostKind::Standby));
}

#[test]
fn move_up_settings_are_checked_and_default_when_absent() {
    let text = read(&scenario_dir("valid").join("scenario.toml"));
    let m = ScenarioConfig::from_toml_str(
        &text
            .replace("max_moves = 2", "max_moves = 11")
            .replace("drive_limit_s = 480", "drive_limit_s = 0")
            .replace("hold_s = 900", "hold_s = -1")
            .replace("min_gain = 0.005", "min_gain = 2"),
    )
    .unwrap_err()
    .to_string();
    for needle in [
        "`move_up.max_moves` is 11; expected 0 (no advice) to 10 moves",
        "`move_up.drive_limit_s` is 0; expected 1 to 3600 seconds",
        "`move_up.hold_s` is -1; expected 0 to 86400 seconds",
        "`move_up.min_gain` is 2; expected a share of the calls from 0 to 1",
    ] {
        assert!(m.contains(needle), "{needle} not in {m}");
    }
    let m = ScenarioConfig::from_toml_str(&text.replace("hold_s = 900", "hold = 900"))
        .unwrap_err()
        .to_string();
    assert!(m.contains("unknown field `hold`"), "{m}");
    let partial = text
        .split("[move_up]")
        .next()
        .map(|head| format!("{head}[move_up]\nmax_moves = 1\n"))
        .unwrap_or_default();
    let config = ScenarioConfig::from_toml_str(&partial).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.move_up,
        MoveUpConfig {
            max_moves: 1,
            ..MoveUpConfig::default()
        }
    );
}

#[test]
fn encircle_settings_are_checked_and_default_when_absent() {
    let text = read(&scenario_dir("valid").join("scenario.toml"));
    assert!(!text.contains("[encircle]"));
    let config = ScenarioConfig::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.encircle, EncircleConfig::default());
    assert_eq!((config.encircle.max_exits, config.encircle.reserve), (6, 8));
    let m = ScenarioConfig::from_toml_str(&format!(
        "{text}\n[encircle]\nmax_exits = -1\nreserve = 20000\n"
    ))
    .unwrap_err()
    .to_string();
    for needle in [
        "`encircle.max_exits` is -1; expected 0 to 100",
        "`encircle.reserve` is 20000; expected 0 to 10000",
    ] {
        assert!(m.contains(needle), "{needle} not in {m}");
    }
    let m = ScenarioConfig::from_toml_str(&format!("{text}\n[encircle]\nexits = 3\n"))
        .unwrap_err()
        .to_string();
    assert!(m.contains("unknown field `exits`"), "{m}");
    let config = ScenarioConfig::from_toml_str(&format!("{text}\n[encircle]\nreserve = 0\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.encircle,
        EncircleConfig {
            reserve: 0,
            ..EncircleConfig::default()
        }
    );
}

#[test]
fn containment_settings_are_checked_and_default_when_absent() {
    let text = read(&scenario_dir("valid").join("scenario.toml"));
    assert!(!text.contains("[containment]"));
    let config = ScenarioConfig::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.containment, ContainmentConfig { reserve: 8 });
    let m = ScenarioConfig::from_toml_str(&format!("{text}\n[containment]\nreserve = -2\n"))
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("`containment.reserve` is -2; expected 0 to 10000"),
        "{m}"
    );
    let m = ScenarioConfig::from_toml_str(&format!("{text}\n[containment]\nunits = 3\n"))
        .unwrap_err()
        .to_string();
    assert!(m.contains("unknown field `units`"), "{m}");
    let config = ScenarioConfig::from_toml_str(&format!("{text}\n[containment]\nreserve = 0\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.containment.reserve, 0);
}

#[test]
fn the_generated_jincheng_posts_are_stations_and_junctions_in_the_core() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/jincheng");
    let s = Scenario::load(&dir, &ScenarioOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    let count = |kind: PostKind| s.posts().iter().filter(|p| p.kind == kind).count();
    assert_eq!(count(PostKind::Standby), s.units().len());
    assert!(
        count(PostKind::Station) >= 8,
        "{}",
        count(PostKind::Station)
    );
    assert!(
        count(PostKind::Junction) >= 20,
        "{}",
        count(PostKind::Junction)
    );
    for p in &s.posts()[s.units().len()..] {
        assert!(
            s.zones().zone_at(p.location).is_some(),
            "post {} outside the zones",
            p.id
        );
    }
}
