//! The scenario files beside the map: zones, units, stations, rings and
//! checkpoints, and the scenario.toml that ties them together.

use serde_json::{Value, json};

use crate::counties::County;
use crate::map::Map;
use crate::plane::{P, Projection, first_crossing, inside};
use crate::zones::ZonePlan;

/// Degrees rounded to 1e-7, as OSM stores them.
fn lon_lat(projection: &Projection, p: P) -> Value {
    let (lat, lon) = projection.to_degrees(p);
    json!([(lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7])
}

fn closed_ring(projection: &Projection, ring: &[P]) -> Value {
    let mut coords: Vec<Value> = ring.iter().map(|&p| lon_lat(projection, p)).collect();
    if let Some(first) = coords.first().cloned() {
        coords.push(first);
    }
    Value::Array(coords)
}

pub fn to_text(value: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Arterial nodes (trunk, primary, secondary, off bridges and roundabouts)
/// — where a car can wait on standby.
pub fn standby_candidates(map: &Map) -> Vec<P> {
    let mut out = Vec::new();
    for way in &map.ways {
        let arterial = matches!(way.highway(), "trunk" | "primary" | "secondary");
        let plain = way.tag("bridge").is_none()
            && way.tag("tunnel").is_none()
            && way.tag("junction").is_none();
        if arterial && plain && way.tag("name").is_some_and(|n| !n.ends_with("线")) {
            out.extend(way.nodes.iter().map(|&n| map.at(n)));
        }
    }
    out.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    out.dedup();
    out
}

fn nearest(candidates: &[P], to: P, within: &[P]) -> P {
    candidates
        .iter()
        .copied()
        .filter(|&c| inside(within, c))
        .min_by(|a, b| a.distance(to).total_cmp(&b.distance(to)))
        .or_else(|| {
            candidates
                .iter()
                .copied()
                .min_by(|a, b| a.distance(to).total_cmp(&b.distance(to)))
        })
        .unwrap_or(to)
}

/// The name of the arterial nearest a point, from the given lines.
fn street(lines: &[(f64, String)], v: f64) -> &str {
    lines
        .iter()
        .min_by(|a, b| (a.0 - v).abs().total_cmp(&(b.0 - v).abs()))
        .map_or("", |l| l.1.as_str())
}

/// The compass side (东, 东北, …) a direction points to.
pub fn compass(d: P) -> &'static str {
    const SIDES: [&str; 8] = ["东", "东北", "北", "西北", "西", "西南", "南", "东南"];
    let octant = (d.y.atan2(d.x) / std::f64::consts::FRAC_PI_4)
        .round()
        .rem_euclid(8.0) as usize;
    SIDES[octant % 8]
}

pub fn zones_geojson(
    projection: &Projection,
    zones: &[ZonePlan],
    ns: &[(f64, String)],
    ew: &[(f64, String)],
) -> Value {
    let mut names: Vec<String> = Vec::new();
    for z in zones {
        let mut name = format!(
            "{}-{}巡区",
            street(ns, z.centroid.x),
            street(ew, z.centroid.y)
        );
        if names.contains(&name) {
            name = format!(
                "{}-{}{}巡区",
                street(ns, z.centroid.x),
                street(ew, z.centroid.y),
                compass(z.centroid)
            );
        }
        names.push(name);
    }
    let features: Vec<Value> = zones
        .iter()
        .enumerate()
        .map(|(k, z)| {
            json!({
                "type": "Feature",
                "properties": {
                    "id": format!("Z{:02}", k + 1),
                    "name": names[k],
                    "incident_rate_per_day": z.rate,
                },
                "geometry": { "type": "Polygon", "coordinates": [closed_ring(projection, &z.outline)] },
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "name": "jincheng_patrol_zones", "features": features })
}

/// Standby sites, most attractive first: busy zones get the commercial
/// centres and transport hubs.
const SITES: [(&str, &str); 39] = [
    ("commercial_centre", "泽州路商圈"),
    ("commercial_centre", "凤台街步行街"),
    ("transport_hub", "晋城火车站"),
    ("commercial_centre", "中原街商业中心"),
    ("commercial_centre", "红星广场"),
    ("transport_hub", "长途汽车客运站"),
    ("hospital", "市人民医院"),
    ("commercial_centre", "黄华街商业街"),
    ("government", "市政府广场"),
    ("commercial_centre", "新市街商圈"),
    ("transport_hub", "晋城东站"),
    ("hospital", "市中医院"),
    ("school", "晋城一中"),
    ("commercial_centre", "兰花路购物中心"),
    ("commercial_centre", "东大街夜市"),
    ("hospital", "市第二人民医院"),
    ("school", "晋城二中"),
    ("scenic", "白马寺山公园"),
    ("transport_hub", "公交枢纽站"),
    ("government", "城区政府"),
    ("school", "太行中学"),
    ("hospital", "市妇幼保健院"),
    ("scenic", "书院街文化广场"),
    ("school", "晋城职业技术学院"),
    ("residential", "钟家庄社区"),
    ("residential", "北石店社区"),
    ("scenic", "晋城体育中心"),
    ("school", "市实验小学"),
    ("residential", "西上庄社区"),
    ("hospital", "市第三人民医院"),
    ("residential", "金村社区"),
    ("government", "泽州县政务中心"),
    ("school", "晋城三中"),
    ("residential", "南村社区"),
    ("scenic", "泽州公园"),
    ("industrial", "开发区产业园"),
    ("residential", "西街社区"),
    ("industrial", "兰花工业园"),
    ("industrial", "巴公工业园"),
];

/// A named site a unit waits at: (site kind, name, position).
pub type SitePlan = (&'static str, &'static str, P);

/// 39 units: one per zone, a second in the five busiest; standby at the
/// arterial node nearest the zone's centre of demand. Also returns the
/// sites, which the map carries as named places.
pub fn units_toml(
    projection: &Projection,
    zones: &[ZonePlan],
    candidates: &[P],
    lattice: &crate::zones::Lattice,
    centre: P,
) -> (String, Vec<SitePlan>) {
    let mut sites = Vec::new();
    let mut by_rate: Vec<usize> = (0..zones.len()).collect();
    by_rate.sort_by(|&a, &b| zones[b].rate.total_cmp(&zones[a].rate).then(a.cmp(&b)));
    let doubled: Vec<usize> = by_rate.iter().copied().take(5).collect();
    // (zone, standby target, which of the zone's units)
    let mut plans: Vec<(usize, P, usize)> = Vec::new();
    for (z, zone) in zones.iter().enumerate() {
        let pts: Vec<(P, f64)> = zone
            .cells
            .iter()
            .map(|&c| {
                (
                    lattice.centre(c),
                    crate::zones::incident_density(lattice.centre(c), centre),
                )
            })
            .collect();
        let mean = |sel: &dyn Fn(P) -> bool| {
            let (s, w) = pts
                .iter()
                .filter(|(p, _)| sel(*p))
                .fold((P::new(0.0, 0.0), 0.0), |(s, w), &(p, d)| {
                    (s + p * d, w + d)
                });
            if w > 0.0 {
                s * (1.0 / w)
            } else {
                zone.centroid
            }
        };
        if doubled.contains(&z) {
            // Two units: split the zone along its longer side.
            let (lo, hi) = pts.iter().fold(
                (P::new(f64::MAX, f64::MAX), P::new(f64::MIN, f64::MIN)),
                |(lo, hi), &(p, _)| {
                    (
                        P::new(lo.x.min(p.x), lo.y.min(p.y)),
                        P::new(hi.x.max(p.x), hi.y.max(p.y)),
                    )
                },
            );
            let wide = hi.x - lo.x >= hi.y - lo.y;
            let cut = if wide {
                (lo.x + hi.x) / 2.0
            } else {
                (lo.y + hi.y) / 2.0
            };
            let a = mean(&|p: P| if wide { p.x <= cut } else { p.y <= cut });
            let b = mean(&|p: P| if wide { p.x > cut } else { p.y > cut });
            plans.push((z, a, 0));
            plans.push((z, b, 1));
        } else {
            plans.push((z, mean(&|_| true), 0));
        }
    }
    // Sites by how busy the unit's zone is.
    let mut order: Vec<usize> = (0..plans.len()).collect();
    order.sort_by(|&a, &b| {
        zones[plans[b].0]
            .rate
            .total_cmp(&zones[plans[a].0].rate)
            .then(plans[a].2.cmp(&plans[b].2))
            .then(a.cmp(&b))
    });
    let mut site_of = vec![0; plans.len()];
    for (rank, &u) in order.iter().enumerate() {
        site_of[u] = rank;
    }
    let rank_of_zone = |z: usize| by_rate.iter().position(|&r| r == z).unwrap_or(usize::MAX);
    let mut out = String::from(
        "# The 39 minimal combat units (最小作战单元) of Jincheng's urban core.\n\
         # Generated by `kuaifan-data generate`; a city replaces this file with its own.\n",
    );
    for (u, &(z, target, second)) in plans.iter().enumerate() {
        let rank = rank_of_zone(z);
        let kind = match (second, rank) {
            (1, 0..=2) => "swat_vehicle",
            (1, _) => "motorcycle",
            (0, 0..=1) => "foot_patrol",
            (0, 5..=7) => "motorcycle",
            (0, 9) => "swat_vehicle",
            _ => "patrol_car",
        };
        let crew = match kind {
            "swat_vehicle" => 6,
            "motorcycle" => 2,
            _ => 3,
        };
        let at = nearest(candidates, target, &zones[z].outline) + P::new(4.0, 3.0);
        let (lat, lon) = projection.to_degrees(at);
        let (site, name) = SITES[site_of[u] % SITES.len()];
        sites.push((site, name, at));
        out.push_str(&format!(
            "\n[[unit]]\nid = \"U{:02}\"\ncall_sign = \"晋城快反{:02}\"\nkind = \"{kind}\"\ncrew = {crew}\nhome_zone = \"Z{:02}\"\n\
             [unit.standby]\nname = \"{name}\"\nsite = \"{site}\"\nlat = {:.7}\nlon = {:.7}\n",
            u + 1,
            u + 1,
            z + 1,
            lat,
            lon
        ));
    }
    (out, sites)
}

/// The OSM tag a standby site of a kind is drawn with, so that a caller's
/// "市人民医院" is found on the map as it would be on a real one.
pub fn site_tag(site: &str) -> (&'static str, &'static str) {
    match site {
        "hospital" => ("amenity", "hospital"),
        "school" => ("amenity", "school"),
        "government" => ("amenity", "townhall"),
        "transport_hub" => ("public_transport", "station"),
        "commercial_centre" => ("shop", "mall"),
        "scenic" => ("leisure", "park"),
        "industrial" => ("place", "quarter"),
        _ => ("place", "neighbourhood"),
    }
}

/// A police station: (name, kind, county, position).
pub type StationPlan = (String, &'static str, &'static str, P);

/// The teams a station can send out to hold a crossing: the defaults kuaifan
/// assumes for each kind of station, written out so a city can change them.
fn teams(kind: &str) -> u32 {
    match kind {
        "city_bureau" => 6,
        "urban_sub_bureau" | "county_bureau" => 4,
        _ => 2,
    }
}

/// Seconds from an order until a station's team drives off.
fn turnout_s(kind: &str) -> u32 {
    match kind {
        "city_bureau" | "county_bureau" => 300,
        "urban_sub_bureau" => 240,
        _ => 180,
    }
}

pub fn stations_geojson(projection: &Projection, stations: &[StationPlan]) -> Value {
    let features: Vec<Value> = stations
        .iter()
        .enumerate()
        .map(|(k, (name, kind, county, at))| {
            json!({
                "type": "Feature",
                "properties": {
                    "id": format!("S{:02}", k + 1), "name": name, "kind": kind, "county": county,
                    "teams": teams(kind), "turnout_s": turnout_s(kind),
                },
                "geometry": { "type": "Point", "coordinates": lon_lat(projection, *at) },
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "name": "jincheng_police_stations", "features": features })
}

/// A fixed checkpoint: (name, kind, ring, road, position).
pub type CheckpointPlan = (String, &'static str, u8, String, P);

pub fn rings_geojson(
    projection: &Projection,
    core: &[P],
    city: &[P],
    border: &[P],
    counties: &[County],
    checkpoints: &[CheckpointPlan],
) -> Value {
    let mut features = vec![
        json!({
            "type": "Feature",
            "properties": { "ring": 1, "id": "R1", "name": "城区查控圈" },
            "geometry": { "type": "Polygon", "coordinates": [closed_ring(projection, core)] },
        }),
        json!({
            "type": "Feature",
            "properties": { "ring": 2, "id": "R2", "name": "市界查控圈" },
            "geometry": { "type": "Polygon", "coordinates": [closed_ring(projection, city)] },
        }),
        json!({
            "type": "Feature",
            "properties": { "ring": 3, "id": "R3", "name": "晋豫省界查控圈" },
            "geometry": { "type": "LineString", "coordinates": border.iter().map(|&p| lon_lat(projection, p)).collect::<Vec<_>>() },
        }),
    ];
    // The ring-1 areas of incidents outside the core: the county-level
    // areas, which tile ring 2.
    for county in counties {
        let mut rings = vec![closed_ring(projection, &county.exterior)];
        rings.extend(county.holes.iter().map(|h| closed_ring(projection, h)));
        features.push(json!({
            "type": "Feature",
            "properties": { "ring": 1, "id": county.adcode.to_string(), "name": county.name, "area": "county" },
            "geometry": { "type": "Polygon", "coordinates": rings },
        }));
    }
    for (k, (name, kind, ring, road, at)) in checkpoints.iter().enumerate() {
        features.push(json!({
            "type": "Feature",
            "properties": { "checkpoint": format!("CP{:02}", k + 1), "name": name, "kind": kind, "ring": ring, "road": road },
            "geometry": { "type": "Point", "coordinates": lon_lat(projection, *at) },
        }));
    }
    json!({ "type": "FeatureCollection", "name": "jincheng_containment_rings", "features": features })
}

/// Where trunk and primary roads cross the core's outline: the ring-1
/// checkpoints.
pub fn core_exits(map: &Map, core: &[P]) -> Vec<(String, P)> {
    let mut out: Vec<(String, P)> = Vec::new();
    for way in &map.ways {
        if !matches!(way.highway(), "trunk" | "primary") || way.tag("ref").is_some() {
            continue;
        }
        for w in way.nodes.windows(2) {
            let (a, b) = (map.at(w[0]), map.at(w[1]));
            if let Some(t) = first_crossing(a, b, core, true) {
                let at = a.lerp(b, t);
                if out.iter().all(|(_, q)| q.distance(at) > 1500.0) {
                    out.push((way.tag("name").unwrap_or("").to_string(), at));
                }
            }
        }
    }
    out
}

pub fn scenario_toml() -> String {
    "# kuaifan scenario: Jincheng, Shanxi (generated map; see README.md here)\n\
     name = \"Jincheng, Shanxi\"\n\
     description = \"Generated road map of Jincheng (晋城) with its urban core's 34 patrol zones and 39 minimal combat units\"\n\
     map = \"jincheng.osm.pbf\"\n\
     zones = \"zones.geojson\"\n\
     units = \"units.toml\"\n\
     stations = \"stations.geojson\"\n\
     rings = \"rings.geojson\"\n\
     posts = \"posts.geojson\"\n\
     \n\
     # The 1-3-5 minute standard (1、3、5分钟快速出警).\n\
     [targets]\n\
     handle_s = 60\n\
     support_s = 180\n\
     encircle_s = 300\n\
     \n\
     [snap]\n\
     incident_max_m = 1000\n\
     standby_max_m = 30\n\
     \n\
     # Move-up advice (动中备勤): at most this many moves after each change,\n\
     # none longer than the drive limit, no unit moved again within the hold\n\
     # time, and each move worth at least min_gain of the calls covered.\n\
     [move_up]\n\
     max_moves = 2\n\
     drive_limit_s = 480\n\
     hold_s = 900\n\
     min_gain = 0.005\n\
     \n\
     # Encirclement (ENCIRCLE, P1): at most max_exits exits held, the most\n\
     # important first, and never the last reserve free units of the city\n\
     # (a dispatcher who names units sends them anyway).\n\
     [encircle]\n\
     max_exits = 6\n\
     reserve = 8\n\
     \n\
     # Containment (三层查控圈): a plan never orders out the last reserve free\n\
     # units of the city; station teams and staffed posts are not limited.\n\
     [containment]\n\
     reserve = 8\n"
        .to_string()
}
