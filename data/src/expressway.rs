//! Expressways: dual carriageways that meet the rest of the network only
//! at interchanges 10–20 km apart, each through a toll station.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::facts::{EXPRESSWAYS, Expressway, mountain};
use crate::map::{Map, NodeId, Tags, tags};
use crate::plane::{P, Projection, first_crossing, polyline_length, resample};
use crate::rural::{Place, winding};

/// Distance between the two carriageways' centre lines, metres.
const SEPARATION: f64 = 28.0;
/// Node spacing along a carriageway.
const STEP: f64 = 100.0;

/// A toll station or a point where an expressway leaves the city.
#[derive(Debug, Clone)]
pub struct Station {
    pub at: P,
    pub name: String,
    pub reference: &'static str,
    /// `Some(henan)` where the expressway crosses the city boundary.
    pub boundary: Option<bool>,
}

struct Carriageways {
    centre: Vec<P>,
    forward: Vec<NodeId>,
    backward: Vec<NodeId>,
}

pub fn build(
    map: &mut Map,
    rng: &mut ChaCha8Rng,
    projection: &Projection,
    outline: &[P],
    henan_border: &[P],
    places: &[Place],
    town_keys: &[&str],
) -> Vec<Station> {
    let mut stations = Vec::new();
    let mut built: Vec<(&str, Carriageways)> = Vec::new();
    for road in &EXPRESSWAYS {
        let line: Vec<P> = road
            .line
            .iter()
            .map(|&(lat, lon)| projection.to_plane(lat, lon))
            .collect();
        let centre = smooth(&resample(&line, STEP), 3);
        let terrain: Vec<f64> = centre
            .iter()
            .map(|&p| {
                let (lat, lon) = projection.to_degrees(p);
                mountain(lat, lon)
            })
            .collect();
        let c = lay(map, rng, road, &centre, &terrain);

        // Interchanges 10–20 km apart: the best-placed one within each
        // 10 km window that starts 10 km after the last.
        let length = polyline_length(&centre);
        // An end at a town has its own toll station, which counts too.
        let tolled = |end: &str| !matches!(end, "open" | "G55");
        let mut s = if tolled(road.from) {
            10_000.0
        } else {
            rng.random_range(4_000.0..9_000.0)
        };
        let last = if tolled(road.to) {
            length - 10_000.0
        } else {
            length - 3_000.0
        };
        while s < last {
            let window: Vec<usize> = (0..centre.len())
                .filter(|&k| {
                    let at = k as f64 * length / (centre.len() - 1) as f64;
                    at >= s && at <= (s + 10_000.0).min(last) && k >= 5 && k + 5 < centre.len()
                })
                .collect();
            let best = window
                .iter()
                .filter_map(|&k| nearest_place(places, centre[k], 3_500.0).map(|(p, d)| (k, p, d)))
                .min_by(|x, y| x.2.total_cmp(&y.2));
            match best {
                Some((k, p, _)) => {
                    let plaza = interchange(map, &c, k, places[p].at);
                    let name = format!("{}收费站", place_label(map, places, p, town_keys));
                    map.nodes[plaza].tags = vec![
                        ("barrier", "toll_booth".to_string()),
                        ("name", name.clone()),
                    ];
                    let t = tags(&[
                        ("highway", "secondary"),
                        ("name", &format!("{}连接线", road.name)),
                    ]);
                    let line = winding(rng, map.at(plaza), places[p].at, 0.1);
                    map.way_through(&line, Some(plaza), Some(places[p].node), t);
                    stations.push(Station {
                        at: map.at(plaza),
                        name,
                        reference: road.reference,
                        boundary: None,
                    });
                    s = k as f64 * length / (centre.len() - 1) as f64 + 10_000.0;
                }
                None => s += 10_000.0,
            }
        }

        for (end, k) in [(road.from, 0), (road.to, centre.len() - 1)] {
            match end {
                "open" => {
                    turnaround(map, &c, k);
                }
                "G55" => {
                    if let Some((_, main)) = built.iter().find(|(r, _)| *r == "G55") {
                        branch(map, main, &c, k);
                    }
                }
                town => {
                    let plaza = turnaround(map, &c, k);
                    let name = format!("{}收费站", road.name.trim_end_matches("高速"));
                    map.nodes[plaza].tags = vec![
                        ("barrier", "toll_booth".to_string()),
                        ("name", name.clone()),
                    ];
                    stations.push(Station {
                        at: map.at(plaza),
                        name,
                        reference: road.reference,
                        boundary: None,
                    });
                    let t = town_keys.iter().position(|key| *key == town).or(Some(0));
                    let gate = places.iter().filter(|p| p.town == t).min_by(|a, b| {
                        a.at.distance(map.at(plaza))
                            .total_cmp(&b.at.distance(map.at(plaza)))
                    });
                    if let Some(gate) = gate {
                        let line = winding(rng, map.at(plaza), gate.at, 0.1);
                        let t = tags(&[
                            ("highway", "primary"),
                            ("name", &format!("{}连接线", road.name)),
                        ]);
                        map.way_through(&line, Some(plaza), Some(gate.node), t);
                    }
                }
            }
        }

        // Where the expressway leaves the city.
        for w in c.centre.windows(2) {
            if let Some(t) = first_crossing(w[0], w[1], outline, true) {
                let at = w[0].lerp(w[1], t);
                let henan = first_crossing(w[0], w[1], henan_border, false).is_some();
                let name = if henan {
                    format!("{}晋豫省界检查站", road.name)
                } else {
                    format!("{}市界检查站", road.name)
                };
                stations.push(Station {
                    at,
                    name,
                    reference: road.reference,
                    boundary: Some(henan),
                });
            }
        }
        built.push((road.reference, c));
    }
    stations
}

/// Rounds a polyline's corners by repeated neighbour averaging.
fn smooth(line: &[P], passes: usize) -> Vec<P> {
    let mut out = line.to_vec();
    for _ in 0..passes {
        let prev = out.clone();
        for k in 1..out.len() - 1 {
            out[k] = (prev[k - 1] + prev[k] * 2.0 + prev[k + 1]) * 0.25;
        }
    }
    out
}

/// Lays both carriageways, split into tunnels and viaducts in the
/// mountains.
fn lay(
    map: &mut Map,
    rng: &mut ChaCha8Rng,
    road: &Expressway,
    centre: &[P],
    terrain: &[f64],
) -> Carriageways {
    let n = centre.len();
    let side: Vec<P> = (0..n)
        .map(|k| {
            (centre[(k + 1).min(n - 1)] - centre[k.saturating_sub(1)])
                .unit()
                .right()
                * (SEPARATION / 2.0)
        })
        .collect();
    let forward: Vec<NodeId> = (0..n).map(|k| map.node(centre[k] + side[k])).collect();
    let backward: Vec<NodeId> = (0..n).map(|k| map.node(centre[k] - side[k])).collect();

    // Sections: (first sample, last sample, structure tag).
    let mut sections: Vec<(usize, usize, Option<&str>)> = Vec::new();
    let mut k = 0;
    while k + 1 < n {
        let structure = if terrain[k] > 0.6 && rng.random_bool(0.12) {
            Some("tunnel")
        } else if terrain[k] > 0.4 && rng.random_bool(0.05) {
            Some("bridge")
        } else {
            None
        };
        let len = if structure.is_some() {
            rng.random_range(4..20)
        } else {
            rng.random_range(5..30)
        };
        let end = (k + len).min(n - 1);
        sections.push((k, end, structure));
        k = end;
    }
    for &(a, b, structure) in &sections {
        let base = |extra: Option<&str>| -> Tags {
            let mut t = tags(&[
                ("highway", "motorway"),
                ("ref", road.reference),
                ("name", road.name),
                ("oneway", "yes"),
                ("lanes", "2"),
            ]);
            t.push((
                "maxspeed",
                if terrain[a] > 0.6 {
                    "80"
                } else if terrain[a] > 0.4 {
                    "100"
                } else {
                    "120"
                }
                .to_string(),
            ));
            match extra {
                Some("tunnel") => {
                    t.extend([("tunnel", "yes".to_string()), ("layer", "-1".to_string())])
                }
                Some(_) => t.extend([("bridge", "yes".to_string()), ("layer", "1".to_string())]),
                None => {}
            }
            t
        };
        map.way(forward[a..=b].to_vec(), base(structure));
        let mut back = backward[a..=b].to_vec();
        back.reverse();
        map.way(back, base(structure));
    }
    Carriageways {
        centre: centre.to_vec(),
        forward,
        backward,
    }
}

fn link(map: &mut Map, from: NodeId, to: NodeId) {
    let mid = map.at(from).lerp(map.at(to), 0.5);
    let bend = map.node(mid);
    map.way(
        vec![from, bend, to],
        tags(&[("highway", "motorway_link"), ("oneway", "yes")]),
    );
}

/// A toll plaza beside sample `k`, with a ramp off and on each carriageway.
fn interchange(map: &mut Map, c: &Carriageways, k: usize, toward: P) -> NodeId {
    let away = (toward - c.centre[k]).unit();
    let plaza = map.node(c.centre[k] + away * 250.0);
    // Traffic on the forward carriageway runs with increasing k.
    link(map, c.forward[k - 4], plaza);
    link(map, plaza, c.forward[k + 4]);
    link(map, c.backward[k + 4], plaza);
    link(map, plaza, c.backward[k - 4]);
    plaza
}

/// Joins the carriageways at an end through a plaza node, so a road that
/// runs on beyond the map stays drivable both ways.
fn turnaround(map: &mut Map, c: &Carriageways, k: usize) -> NodeId {
    let n = c.centre.len();
    let outward = if k == 0 {
        (c.centre[0] - c.centre[1]).unit()
    } else {
        (c.centre[n - 1] - c.centre[n - 2]).unit()
    };
    let plaza = map.node(c.centre[k] + outward * 150.0);
    if k == 0 {
        link(map, plaza, c.forward[0]);
        link(map, c.backward[0], plaza);
    } else {
        link(map, c.forward[k], plaza);
        link(map, plaza, c.backward[k]);
    }
    plaza
}

/// A branch whose end `k` meets the main expressway: ramps from both main
/// carriageways onto the branch and back.
fn branch(map: &mut Map, main: &Carriageways, c: &Carriageways, k: usize) {
    let at = c.centre[k];
    let m = (0..main.centre.len())
        .min_by(|&a, &b| {
            main.centre[a]
                .distance(at)
                .total_cmp(&main.centre[b].distance(at))
        })
        .unwrap_or(0)
        .clamp(4, main.centre.len().saturating_sub(5));
    let (into, out_of) = if k == 0 {
        (c.forward[0], c.backward[0])
    } else {
        (c.backward[k], c.forward[k])
    };
    link(map, main.forward[m - 3], into);
    link(map, main.backward[m + 3], into);
    link(map, out_of, main.forward[m + 3]);
    link(map, out_of, main.backward[m - 3]);
}

fn nearest_place(places: &[Place], p: P, within: f64) -> Option<(usize, f64)> {
    places
        .iter()
        .enumerate()
        .map(|(i, q)| (i, q.at.distance(p)))
        .filter(|&(_, d)| d <= within)
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

fn place_label(map: &Map, places: &[Place], p: usize, town_keys: &[&str]) -> String {
    if let Some(t) = places[p].town {
        return match town_keys.get(t) {
            Some(&"core") => "晋城".to_string(),
            Some(key) => crate::facts::SEATS
                .iter()
                .find(|s| s.key == *key)
                .map_or_else(
                    || key.to_string(),
                    |s| {
                        s.name
                            .trim_end_matches(['县', '城', '市', '区'])
                            .to_string()
                    },
                ),
            None => "晋城".to_string(),
        };
    }
    map.nodes[places[p].node]
        .tags
        .iter()
        .find(|(k, _)| *k == "name")
        .map_or_else(|| "互通".to_string(), |(_, v)| v.clone())
}
