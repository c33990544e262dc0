//! The zone index against the polygons: `zone_at` (the cell table),
//! `zone_at_exact` (the R-tree) and a plain scan of `Zone::contains` give
//! the same zone for every location: uniformly in and around the zones,
//! within metres of their edges and vertices, and on H3 cell corners. On
//! the generated Jincheng patrol zones and on the real county boundaries
//! of Jincheng.

mod common;

use std::sync::LazyLock;

use h3o::LatLng;
use kuaifan_engine::{LatLon, Resolution, ZoneIndex, ZoneIndexConfig, ZoneIndexError, Zones};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed, TestRunner};

const SEED: u64 = 0x6b75_6169_6661_6e33;
const METRES_PER_DEG_LAT: f64 = 111_195.0;

/// A zone set, its indexes at several resolutions, and what the point
/// strategy needs: the box around the zones and every edge.
struct Case {
    zones: Zones,
    indexes: Vec<ZoneIndex>,
    /// (min_lon, min_lat, max_lon, max_lat), 10 % larger each way than the
    /// zones' box.
    around: (f64, f64, f64, f64),
    edges: Vec<((f64, f64), (f64, f64))>,
}

impl Case {
    fn new(text: &str, resolutions: &[Resolution]) -> Case {
        let zones = Zones::from_geojson_str(text).expect("the zones load");
        let indexes = resolutions
            .iter()
            .map(|&resolution| {
                let config = ZoneIndexConfig {
                    resolution,
                    ..ZoneIndexConfig::default()
                };
                ZoneIndex::build(&zones, &config).expect("the index builds")
            })
            .collect();
        let mut edges = Vec::new();
        for zone in &zones {
            for polygon in &zone.geometry.0 {
                for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                    for line in ring.lines() {
                        edges.push(((line.start.x, line.start.y), (line.end.x, line.end.y)));
                    }
                }
            }
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &((ax, ay), _) in &edges {
            (x0, y0, x1, y1) = (x0.min(ax), y0.min(ay), x1.max(ax), y1.max(ay));
        }
        let (dx, dy) = ((x1 - x0) / 10.0, (y1 - y0) / 10.0);
        Case {
            zones,
            indexes,
            around: (x0 - dx, y0 - dy, x1 + dx, y1 + dy),
            edges,
        }
    }

    /// The reference: the first zone in file order that holds the location.
    fn scan(&self, at: LatLon) -> Option<usize> {
        self.zones.iter().position(|z| z.contains(at))
    }

    fn check(&self, at: LatLon) -> Result<(), TestCaseError> {
        let expected = self.scan(at);
        for index in &self.indexes {
            let res = index.resolution();
            prop_assert_eq!(
                index.zone_at_exact(at),
                expected,
                "exact, {} at {}",
                res,
                at
            );
            prop_assert_eq!(index.zone_at(at), expected, "cells, {} at {}", res, at);
        }
        Ok(())
    }

    /// Locations in and around the zones, near their edges and vertices,
    /// and on the corners of the cells of the first index.
    fn locations(&'static self) -> impl Strategy<Value = LatLon> {
        let (x0, y0, x1, y1) = self.around;
        let uniform = (x0..x1, y0..y1).prop_map(|(lon, lat)| (lon, lat));
        let edges = self.edges.len();
        let near_edge =
            (0..edges, 0.0..=1.0f64, -5.0..5.0f64, -5.0..5.0f64).prop_map(move |(e, t, dx, dy)| {
                let ((ax, ay), (bx, by)) = self.edges[e];
                offset((ax + (bx - ax) * t, ay + (by - ay) * t), dx, dy)
            });
        let on_edge = (0..edges, 0.0..=1.0f64).prop_map(move |(e, t)| {
            let ((ax, ay), (bx, by)) = self.edges[e];
            (ax + (bx - ax) * t, ay + (by - ay) * t)
        });
        let near_vertex = (0..edges, -3.0..3.0f64, -3.0..3.0f64, any::<bool>()).prop_map(
            move |(e, dx, dy, exact)| {
                let (a, _) = self.edges[e];
                if exact { a } else { offset(a, dx, dy) }
            },
        );
        let resolution = self.indexes[0].resolution();
        let cell_corner =
            (x0..x1, y0..y1, 0..6usize, -0.01..0.01f64).prop_map(move |(lon, lat, k, d)| {
                let cell = LatLng::new(lat, lon).expect("finite").to_cell(resolution);
                let corners = cell.boundary();
                let c = corners[k % corners.len()];
                offset((c.lng(), c.lat()), d, -d)
            });
        prop_oneof![
            3 => uniform,
            3 => near_edge,
            1 => on_edge,
            2 => near_vertex,
            2 => cell_corner,
        ]
        .prop_map(|(lon, lat)| LatLon::new(lat, lon).expect("near Jincheng"))
    }
}

/// A point moved `dx` metres east and `dy` metres north.
fn offset((lon, lat): (f64, f64), dx: f64, dy: f64) -> (f64, f64) {
    (
        lon + dx / (METRES_PER_DEG_LAT * lat.to_radians().cos()),
        lat + dy / METRES_PER_DEG_LAT,
    )
}

static PATROL_ZONES: LazyLock<Case> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/jincheng/zones.geojson"
    );
    let text = std::fs::read_to_string(path).expect("data/jincheng/zones.geojson");
    // 9 is the default; 7 has arcs long enough to be split; 11 is fine.
    Case::new(
        &text,
        &[Resolution::Nine, Resolution::Seven, Resolution::Eleven],
    )
});

const COUNTIES_FILE: &str = "geo/jincheng_counties.geojson";

/// The real county boundaries, when `../shared` has them (the test is
/// skipped otherwise, outside CI).
fn counties() -> Option<&'static Case> {
    common::shared(COUNTIES_FILE)?;
    Some(&COUNTIES)
}

static COUNTIES: LazyLock<Case> = LazyLock::new(|| {
    let path = common::shared(COUNTIES_FILE).expect("checked by counties()");
    let text = std::fs::read_to_string(&path).expect("the county boundaries");
    Case::new(&text, &[Resolution::Nine, Resolution::Eight])
});

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 4_000,
        source_file: Some(file!()),
        rng_seed: RngSeed::Fixed(SEED),
        // Beside this file, as zone_index.proptest-regressions.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn patrol_zones_cells_equal_polygons(ats in prop::collection::vec(PATROL_ZONES.locations(), 16)) {
        for at in ats {
            PATROL_ZONES.check(at)?;
        }
    }
}

#[test]
fn county_cells_equal_polygons() {
    let Some(counties) = counties() else {
        return;
    };
    let mut runner = TestRunner::new(config());
    let result = runner.run(&prop::collection::vec(counties.locations(), 16), |ats| {
        for at in ats {
            counties.check(at)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_patrol_zones_fill_the_table_as_their_area_says() {
    let case = &*PATROL_ZONES;
    assert_eq!(case.zones.len(), 34);
    let stats = case.indexes[0].stats();
    assert_eq!(stats.resolution, Resolution::Nine);
    // 192 km² in cells of 0.105 km² (somewhat smaller at this latitude),
    // of which those along 34 zones' borders straddle one.
    let cells = stats.interior_cells + stats.boundary_cells;
    let by_area = case.zones.area_m2() / Resolution::Nine.area_m2();
    assert!(
        cells as f64 > by_area && (cells as f64) < 1.5 * by_area,
        "{stats:?}"
    );
    assert!(stats.interior_cells > stats.boundary_cells, "{stats:?}");
    assert!(stats.outside_cells > 0, "{stats:?}");
}

#[test]
fn every_zone_is_found_at_its_interior_points() {
    use geo::InteriorPoint;
    for case in std::iter::once(&*PATROL_ZONES).chain(counties()) {
        for (i, zone) in case.zones.iter().enumerate() {
            let p = zone.geometry.interior_point().expect("a zone has area");
            let at = LatLon::new(p.y(), p.x()).expect("a zone's point");
            for index in &case.indexes {
                assert_eq!(index.zone_at(at), Some(i), "{} {}", zone.id, at);
            }
        }
    }
}

#[test]
fn far_from_every_zone_is_none() {
    for case in std::iter::once(&*PATROL_ZONES).chain(counties()) {
        for (lat, lon) in [(0.0, 0.0), (35.0, 100.0), (-35.5, -67.15), (89.9, 112.85)] {
            let at = LatLon::new(lat, lon).expect("valid");
            for index in &case.indexes {
                assert_eq!(index.zone_at(at), None);
                assert_eq!(index.zone_at_exact(at), None);
            }
        }
    }
}

/// Zones where the lon/lat plane wraps: one against the antimeridian, one
/// around the north pole, and an enclave in a hole.
#[test]
fn zones_at_the_antimeridian_the_pole_and_in_a_hole_are_exact() {
    let text = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"id": "EAST"},
       "geometry": {"type": "Polygon", "coordinates": [[[179.98, 10.0], [180.0, 10.0], [180.0, 10.02], [179.98, 10.02], [179.98, 10.0]]]}},
      {"type": "Feature", "properties": {"id": "WEST"},
       "geometry": {"type": "Polygon", "coordinates": [[[-180.0, 10.0], [-179.98, 10.0], [-179.98, 10.02], [-180.0, 10.02], [-180.0, 10.0]]]}},
      {"type": "Feature", "properties": {"id": "POLE"},
       "geometry": {"type": "Polygon", "coordinates": [[[0.0, 89.95], [120.0, 89.95], [120.0, 89.99], [0.0, 89.99], [0.0, 89.95]]]}},
      {"type": "Feature", "properties": {"id": "RING"},
       "geometry": {"type": "Polygon", "coordinates": [[[112.80, 35.45], [112.90, 35.45], [112.90, 35.55], [112.80, 35.55], [112.80, 35.45]],
                                                       [[112.84, 35.49], [112.86, 35.49], [112.86, 35.51], [112.84, 35.51], [112.84, 35.49]]]}},
      {"type": "Feature", "properties": {"id": "HOLE"},
       "geometry": {"type": "Polygon", "coordinates": [[[112.84, 35.49], [112.86, 35.49], [112.86, 35.51], [112.84, 35.51], [112.84, 35.49]]]}}
    ]}"#;
    let zones = Zones::from_geojson_str(text).expect("valid zones");
    let index = ZoneIndex::build(&zones, &ZoneIndexConfig::default()).expect("builds");
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(SEED);
    let spots: [(f64, f64, f64); 6] = [
        (10.01, 180.0, 0.03),
        (10.01, -180.0, 0.03),
        (89.97, 60.0, 80.0),
        (89.9, 60.0, 1.0),
        (35.50, 112.85, 0.06),
        (35.49, 112.84, 0.001),
    ];
    let mut found = [0usize; 5];
    for (lat, lon, spread) in spots {
        for _ in 0..20_000 {
            let lat = (lat + rng.random_range(-0.03..0.03f64)).clamp(-90.0, 90.0);
            let lon = (lon + rng.random_range(-spread..spread)).clamp(-180.0, 180.0);
            let at = LatLon::new(lat, lon).expect("valid");
            let expected = zones.iter().position(|z| z.contains(at));
            assert_eq!(index.zone_at_exact(at), expected, "{at}");
            assert_eq!(index.zone_at(at), expected, "{at}");
            if let Some(z) = expected {
                found[z] += 1;
            }
        }
    }
    assert!(found.iter().all(|&n| n > 100), "{found:?}");
}

#[test]
fn too_many_cells_is_refused_with_the_numbers() {
    let zones = &PATROL_ZONES.zones;
    let fine = ZoneIndexConfig {
        resolution: Resolution::Fifteen,
        ..ZoneIndexConfig::default()
    };
    let err = ZoneIndex::build(zones, &fine).expect_err("192 km² at resolution 15");
    assert!(
        matches!(err, ZoneIndexError::TooManyCells { cells, max_cells: 4_000_000, .. } if cells > 200_000_000),
        "{err}"
    );
    // The area estimate passes; the flood itself reaches the limit.
    let small = ZoneIndexConfig {
        resolution: Resolution::Nine,
        max_cells: 2_000,
    };
    let err = ZoneIndex::build(zones, &small).expect_err("about 2,300 cells are needed");
    assert_eq!(
        err.to_string(),
        "the zones need 2001 or more cells at resolution 9; at most 2000 are allowed"
    );
}
