//! Generator of kuaifan's default scenario: a road map of Jincheng, Shanxi,
//! that looks and routes like an OpenStreetMap extract of the real city,
//! and the scenario files that go with it (34 patrol zones, 39 units,
//! police stations, the three containment rings and their checkpoints).
//!
//! No extract of Jincheng is available to us, so the map is generated from
//! a fixed seed: same seed, same bytes. See `data/README.md` for what is
//! real (the outline, the seats, the corridors) and what is invented.

mod barrier;
mod counties;
mod expressway;
mod facts;
mod map;
mod plane;
mod posts;
mod rural;
mod scenario;
mod urban;
mod zones;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::facts::{CORE_EW_NAMES, CORE_NS_NAMES, HENAN_BORDER_VERTICES, ORIGIN, OUTLINE, SEATS};
use crate::map::{Map, tags};
use crate::plane::{P, Projection};
use crate::urban::{TownPlan, build_town};

/// The seed of the committed scenario (Jincheng's telephone area code).
pub const DEFAULT_SEED: u64 = 356;

/// Generated files, in the order they are written.
#[derive(Debug)]
pub struct Generated {
    pub files: Vec<(&'static str, Vec<u8>)>,
    pub summary: Summary,
}

/// What was generated, for the command's report.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Nodes and ways in the PBF file.
    pub nodes: usize,
    pub ways: usize,
    pub villages: usize,
    pub townships: usize,
    pub zones: usize,
    pub units: usize,
    pub stations: usize,
    pub checkpoints: usize,
    /// Move-up posts in the posts file (the standby points come on top).
    pub posts: usize,
    pub henan_crossings: usize,
    pub city_crossings: usize,
    pub river_crossings: usize,
    pub rail_crossings: usize,
}

/// Generates the Jincheng scenario from `seed`.
pub fn generate(seed: u64) -> anyhow::Result<Generated> {
    let projection = Projection::new(ORIGIN.0, ORIGIN.1);
    let outline: Vec<P> = OUTLINE
        .iter()
        .map(|&(lat, lon)| projection.to_plane(lat, lon))
        .collect();
    let border: Vec<P> = outline[..HENAN_BORDER_VERTICES].to_vec();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut map = Map::default();

    // The urban core: Chengqu and northern Zezhou.
    let core_centre = P::new(0.0, -1000.0);
    let core_plan = TownPlan {
        name: "城区".to_string(),
        centre: core_centre,
        half: (8000.0, 6500.0),
        arterial_gap: (400.0, 800.0),
        local_gap: (100.0, 200.0),
        ns_names: CORE_NS_NAMES.iter().map(|s| s.to_string()).collect(),
        ew_names: CORE_EW_NAMES.iter().map(|s| s.to_string()).collect(),
        ring: true,
        oneway_pairs: true,
        roundabouts: 5,
    };
    let core = build_town(&mut map, &mut rng, &core_plan);
    let river: Vec<P> = (0..=76)
        .map(|k| {
            let x = -9500.0 + 250.0 * k as f64;
            P::new(
                x,
                -1800.0 + 500.0 * (x / 2300.0).sin() + 250.0 * (x / 900.0 + 1.0).sin(),
            )
        })
        .collect();
    let river_crossings = barrier::cut(
        &mut map,
        &mut rng,
        &river,
        barrier::Structure::Bridge,
        |way, draw| match way.highway() {
            "trunk" => true,
            "primary" => draw < 0.45,
            "secondary" => draw < 0.15,
            _ => false,
        },
    );
    let rail: Vec<P> = (0..=66)
        .map(|k| {
            let y = -9000.0 + 250.0 * k as f64;
            P::new(2600.0 + 400.0 * (y / 3000.0).sin(), y)
        })
        .collect();
    let rail_crossings = barrier::cut(
        &mut map,
        &mut rng,
        &rail,
        barrier::Structure::Underpass,
        |way, draw| match way.highway() {
            "trunk" => true,
            "primary" => draw < 0.35,
            "secondary" => draw < 0.1,
            _ => false,
        },
    );
    map.way_through(
        &river,
        None,
        None,
        tags(&[("waterway", "river"), ("name", "白水河")]),
    );
    map.way_through(
        &rail,
        None,
        None,
        tags(&[("railway", "rail"), ("name", "太焦铁路"), ("usage", "main")]),
    );

    // County seats.
    let mut towns = vec![core];
    let mut keys = vec!["core"];
    for seat in &SEATS {
        let plan = TownPlan {
            name: seat.name.to_string(),
            centre: projection.to_plane(seat.at.0, seat.at.1),
            half: seat.half_size,
            arterial_gap: (350.0, 550.0),
            local_gap: (110.0, 190.0),
            ns_names: [
                "西环路",
                "解放路",
                "人民路",
                "建设路",
                "文化路",
                "新华路",
                "东环路",
            ]
            .map(String::from)
            .to_vec(),
            ew_names: ["北环路", "府前街", "中心街", "凤凰街", "育才路", "南环路"]
                .map(String::from)
                .to_vec(),
            ring: false,
            oneway_pairs: false,
            roundabouts: 1,
        };
        towns.push(build_town(&mut map, &mut rng, &plan));
        keys.push(seat.key);
    }

    let countryside = rural::build(
        &mut map,
        &mut rng,
        &projection,
        &outline,
        &towns,
        &keys,
        2000,
    );
    let expressway_stations = expressway::build(
        &mut map,
        &mut rng,
        &projection,
        &outline,
        &border,
        &countryside.places,
        &keys,
    );

    // Patrol zones, units, stations.
    let lattice = zones::Lattice::of(&towns[0]);
    let zone_plans =
        zones::partition(&lattice, 34, core_centre, 600.0).map_err(anyhow::Error::msg)?;
    let core_outline = lattice
        .outline(&lattice.cells())
        .ok_or_else(|| anyhow::anyhow!("the urban core is not one simple piece"))?;
    let candidates = scenario::standby_candidates(&map);
    let (units, sites) =
        scenario::units_toml(&projection, &zone_plans, &candidates, &lattice, core_centre);

    let near = |p: P| {
        candidates
            .iter()
            .copied()
            .min_by(|a, b| a.distance(p).total_cmp(&b.distance(p)))
            .unwrap_or(p)
            + P::new(-5.0, 4.0)
    };
    let mut stations: Vec<scenario::StationPlan> = vec![
        (
            "晋城市公安局".to_string(),
            "city_bureau",
            "城区",
            near(core_centre + P::new(300.0, 1200.0)),
        ),
        (
            "晋城市公安局城区分局".to_string(),
            "urban_sub_bureau",
            "城区",
            near(core_centre + P::new(-1500.0, 1800.0)),
        ),
    ];
    for (name, dx, dy) in [
        ("北街派出所", 0.0, 3000.0),
        ("南街派出所", 0.0, -2500.0),
        ("东街派出所", 3000.0, 0.0),
        ("西街派出所", -3000.0, 0.0),
        ("北石店派出所", 5000.0, 4500.0),
        ("钟家庄派出所", 4500.0, -4000.0),
        ("西上庄派出所", -5000.0, 4000.0),
        ("矿区派出所", -5000.0, -4000.0),
    ] {
        stations.push((
            name.to_string(),
            "police_station",
            "城区",
            near(core_centre + P::new(dx, dy)),
        ));
    }
    for seat in &SEATS {
        let kind = "county_bureau";
        let name = format!("{}公安局", seat.county);
        stations.push((
            name,
            kind,
            seat.county,
            near(projection.to_plane(seat.at.0, seat.at.1)),
        ));
    }

    // The three rings' checkpoints.
    let mut checkpoints: Vec<scenario::CheckpointPlan> = Vec::new();
    for (road, at) in scenario::core_exits(&map, &core_outline) {
        let side = scenario::compass(at - core_centre);
        checkpoints.push((format!("{road}{side}出城卡口"), "checkpoint", 1, road, at));
    }
    for s in expressway_stations.iter().filter(|s| s.boundary.is_none()) {
        checkpoints.push((
            s.name.clone(),
            "toll_station",
            2,
            s.reference.to_string(),
            s.at,
        ));
    }
    let mut henan_crossings = 0;
    let mut city_crossings = 0;
    for s in expressway_stations.iter().filter(|s| s.boundary.is_some()) {
        let henan = s.boundary == Some(true);
        if henan {
            henan_crossings += 1;
        } else {
            city_crossings += 1;
        }
        let (kind, ring) = if henan {
            ("border_post", 3)
        } else {
            ("checkpoint", 2)
        };
        checkpoints.push((s.name.clone(), kind, ring, s.reference.to_string(), s.at));
    }
    for c in &countryside.crossings {
        let (kind, ring, name) = if c.henan {
            henan_crossings += 1;
            (
                "border_post",
                3,
                format!("{}晋豫省界检查站({})", c.road, c.toward),
            )
        } else {
            city_crossings += 1;
            (
                "checkpoint",
                2,
                format!("{}市界检查站({})", c.road, c.toward),
            )
        };
        checkpoints.push((name, kind, ring, c.road.clone(), c.at));
    }
    checkpoints.sort_by_key(|c| c.2);
    // Two toll stations by the same village get their expressway's name.
    for k in 0..checkpoints.len() {
        if checkpoints[..k].iter().any(|c| c.0 == checkpoints[k].0) {
            checkpoints[k].0 = format!("{}({})", checkpoints[k].0, checkpoints[k].3);
        }
    }

    // Named places a caller gives: the standby sites and the police
    // stations, as points beside their road node. They are made last, so
    // they take the highest node ids and the road network is unchanged.
    for &(site, name, at) in &sites {
        let (key, value) = scenario::site_tag(site);
        let id = map.node(at + P::new(6.0, 6.0));
        map.nodes[id].tags = map::tags(&[(key, value), ("name", name)]);
    }
    for (name, _, _, at) in &stations {
        let id = map.node(*at + P::new(6.0, -6.0));
        map.nodes[id].tags = map::tags(&[("amenity", "police"), ("name", name)]);
    }

    let (pbf, nodes, ways) = map.write_pbf(&projection)?;
    let ns: Vec<(f64, String)> = towns[0]
        .xs
        .iter()
        .copied()
        .zip(towns[0].ns_names.iter().cloned())
        .collect();
    let ew: Vec<(f64, String)> = towns[0]
        .ys
        .iter()
        .copied()
        .zip(towns[0].ew_names.iter().cloned())
        .collect();
    let standby: Vec<P> = sites.iter().map(|s| s.2).collect();
    let station_posts: Vec<posts::StationPost<'_>> = stations
        .iter()
        .enumerate()
        .map(|(k, (name, _, _, at))| posts::StationPost {
            id: format!("S{:02}", k + 1),
            name,
            at: *at,
        })
        .collect();
    let posts = posts::posts_geojson(
        &projection,
        &zone_plans,
        &standby,
        &station_posts,
        &posts::Grid { ns: &ns, ew: &ew },
        &candidates,
    );
    let post_count = posts["features"].as_array().map_or(0, Vec::len);
    let summary = Summary {
        nodes,
        ways,
        villages: countryside.villages,
        townships: countryside.townships,
        zones: zone_plans.len(),
        units: units.matches("[[unit]]").count(),
        stations: stations.len(),
        checkpoints: checkpoints.len(),
        posts: post_count,
        henan_crossings,
        city_crossings,
        river_crossings,
        rail_crossings,
    };
    let files = vec![
        ("jincheng.osm.pbf", pbf),
        (
            "zones.geojson",
            scenario::to_text(&scenario::zones_geojson(&projection, &zone_plans, &ns, &ew)),
        ),
        ("units.toml", units.into_bytes()),
        (
            "stations.geojson",
            scenario::to_text(&scenario::stations_geojson(&projection, &stations)),
        ),
        (
            "rings.geojson",
            scenario::to_text(&scenario::rings_geojson(
                &projection,
                &core_outline,
                &outline,
                &border,
                &counties::counties(&projection, &outline),
                &checkpoints,
            )),
        ),
        ("posts.geojson", scenario::to_text(&posts)),
        ("scenario.toml", scenario::scenario_toml().into_bytes()),
    ];
    Ok(Generated { files, summary })
}
