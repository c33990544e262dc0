//! The countryside: villages and townships, the roads between them, the
//! national and provincial roads that follow the real corridors, and the
//! roads that leave the city.
//!
//! Settlements are scattered densely in the basins and thinly in the
//! mountains. The roads between them are chosen from a Delaunay
//! triangulation (so they rarely cross): a minimum spanning tree keeps
//! every village reachable, and some of the remaining edges are added back,
//! fewer in the mountains. Mountain roads wind more and are slower.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::facts::{CORRIDORS, EXITS, mountain};
use crate::map::{Map, NodeId, Tags, tags};
use crate::plane::{P, Projection, first_crossing, inside};
use crate::urban::Town;

/// A place country roads join.
#[derive(Debug, Clone)]
pub struct Place {
    pub at: P,
    pub node: NodeId,
    /// Which town this is a gate of, if any.
    pub town: Option<usize>,
}

/// A point where a road leaves the city, for the checkpoint list.
#[derive(Debug, Clone)]
pub struct Crossing {
    pub at: P,
    pub road: String,
    pub toward: &'static str,
    pub henan: bool,
}

#[derive(Debug)]
pub struct Countryside {
    pub places: Vec<Place>,
    pub villages: usize,
    pub townships: usize,
    pub crossings: Vec<Crossing>,
}

struct Edge {
    a: usize,
    b: usize,
    length: f64,
    class: u8,
    reference: Option<(&'static str, &'static str)>,
}

const CLASSES: [&str; 5] = ["unclassified", "tertiary", "secondary", "primary", "trunk"];

fn class_rank(highway: &str) -> u8 {
    CLASSES.iter().position(|c| *c == highway).unwrap_or(0) as u8
}

const SURNAMES: [&str; 24] = [
    "李", "王", "张", "刘", "陈", "杨", "赵", "郭", "马", "段", "贾", "常", "崔", "司", "牛", "原",
    "申", "秦", "焦", "卫", "靳", "姬", "晋", "范",
];
const ENDINGS: [&str; 14] = [
    "家庄", "村", "沟", "岭", "河", "坪", "庄", "窑", "掌", "峪", "头", "寨", "圪套", "家河",
];
const PREFIXES: [&str; 10] = ["东", "西", "南", "北", "上", "下", "大", "小", "前", "后"];

fn village_name(rng: &mut ChaCha8Rng) -> String {
    let prefix = if rng.random_bool(0.3) {
        PREFIXES[rng.random_range(0..PREFIXES.len())]
    } else {
        ""
    };
    format!(
        "{prefix}{}{}",
        SURNAMES[rng.random_range(0..SURNAMES.len())],
        ENDINGS[rng.random_range(0..ENDINGS.len())]
    )
}

/// Builds the countryside around the towns (the core is town 0, then the
/// seats in the order of [`crate::facts::SEATS`]).
pub fn build(
    map: &mut Map,
    rng: &mut ChaCha8Rng,
    projection: &Projection,
    outline: &[P],
    towns: &[Town],
    town_keys: &[&str],
    target_villages: usize,
) -> Countryside {
    let terrain = |p: P| {
        let (lat, lon) = projection.to_degrees(p);
        mountain(lat, lon)
    };
    let mut places: Vec<Place> = Vec::new();
    for (t, town) in towns.iter().enumerate() {
        for &g in &town.gates {
            places.push(Place {
                at: map.at(g),
                node: g,
                town: Some(t),
            });
        }
    }

    // Villages: dart throwing with a minimum spacing, thinned by terrain.
    let (lo, hi) = bounds(outline);
    let cell = 1000.0;
    let mut grid: HashMap<(i64, i64), Vec<P>> = HashMap::new();
    let near_town = |p: P| {
        towns.iter().any(|t| {
            t.blocks.iter().any(|(a, b)| {
                p.x > a.x - 900.0 && p.x < b.x + 900.0 && p.y > a.y - 900.0 && p.y < b.y + 900.0
            })
        })
    };
    let mut villages = 0;
    let mut townships = 0;
    let mut tries = 0;
    while villages < target_villages && tries < 400_000 {
        tries += 1;
        let p = P::new(rng.random_range(lo.x..hi.x), rng.random_range(lo.y..hi.y));
        if !inside(outline, p) || near_town(p) {
            continue;
        }
        let m = terrain(p);
        if !rng.random_bool((1.0 - 0.72 * m).clamp(0.05, 1.0)) {
            continue;
        }
        let spacing = 1000.0 + 500.0 * m;
        let (gx, gy) = ((p.x / cell).floor() as i64, (p.y / cell).floor() as i64);
        let crowded = (-2..=2).any(|dx| {
            (-2..=2).any(|dy| {
                grid.get(&(gx + dx, gy + dy))
                    .is_some_and(|v| v.iter().any(|q| q.distance(p) < spacing))
            })
        });
        if crowded {
            continue;
        }
        grid.entry((gx, gy)).or_default().push(p);
        let township = villages % 45 == 7;
        let name = village_name(rng);
        let centre = map.node(p);
        let (place, label) = if township {
            townships += 1;
            (
                "town",
                format!(
                    "{}镇",
                    &name[..name.char_indices().nth(2).map_or(name.len(), |(i, _)| i)]
                ),
            )
        } else {
            ("village", name)
        };
        map.nodes[centre].tags = vec![("place", place.to_string()), ("name", label)];
        let spokes = if township { 6 } else { rng.random_range(2..=4) };
        village_lanes(map, rng, centre, spokes, m);
        places.push(Place {
            at: p,
            node: centre,
            town: None,
        });
        villages += 1;
    }

    // Candidate roads from a Delaunay triangulation of every place.
    let points: Vec<delaunator::Point> = places
        .iter()
        .map(|p| delaunator::Point {
            x: p.at.x,
            y: p.at.y,
        })
        .collect();
    let triangulation = delaunator::triangulate(&points);
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    for e in 0..triangulation.triangles.len() {
        let twin = triangulation.halfedges[e];
        if twin != delaunator::EMPTY && twin < e {
            continue;
        }
        let a = triangulation.triangles[e];
        let b = triangulation.triangles[if e % 3 == 2 { e - 2 } else { e + 1 }];
        candidates.push((a.min(b), a.max(b)));
    }
    candidates.sort_unstable();
    candidates.dedup();
    let usable = |a: usize, b: usize| {
        let (pa, pb) = (places[a].at, places[b].at);
        let length = pa.distance(pb);
        if length > 7000.0 {
            return false;
        }
        if places[a].town.is_some() && places[a].town == places[b].town {
            return false;
        }
        let steps = (length / 40.0).ceil() as usize;
        (1..steps).all(|k| {
            let q = pa.lerp(pb, k as f64 / steps as f64);
            !towns.iter().any(|t| t.covers(q))
        })
    };
    let mut weighted: Vec<(f64, usize, usize)> = candidates
        .into_iter()
        .filter(|&(a, b)| usable(a, b))
        .map(|(a, b)| {
            let mid = places[a].at.lerp(places[b].at, 0.5);
            (
                places[a].at.distance(places[b].at) * (1.0 + 1.5 * terrain(mid)),
                a,
                b,
            )
        })
        .collect();
    weighted.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));

    // A spanning tree first, so that every village has a road.
    let mut parent: Vec<usize> = (0..places.len()).collect();
    fn root(parent: &mut [usize], mut v: usize) -> usize {
        while parent[v] != v {
            parent[v] = parent[parent[v]];
            v = parent[v];
        }
        v
    }
    // Towns are internally connected by their streets.
    for (i, p) in places.iter().enumerate() {
        if let Some(t) = p.town {
            let first = places.iter().position(|q| q.town == Some(t)).unwrap_or(i);
            let (ra, rb) = (root(&mut parent, i), root(&mut parent, first));
            parent[ra] = rb;
        }
    }
    let mut chosen: Vec<bool> = vec![false; weighted.len()];
    for (k, &(_, a, b)) in weighted.iter().enumerate() {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra] = rb;
            chosen[k] = true;
        }
    }
    let mut directions: Vec<Vec<P>> = vec![Vec::new(); places.len()];
    for (k, &(_, a, b)) in weighted.iter().enumerate() {
        if chosen[k] {
            let d = (places[b].at - places[a].at).unit();
            directions[a].push(d);
            directions[b].push(d * -1.0);
        }
    }
    for (k, &(_, a, b)) in weighted.iter().enumerate() {
        if chosen[k] {
            continue;
        }
        let mid = places[a].at.lerp(places[b].at, 0.5);
        let gate = places[a].town.is_some() || places[b].town.is_some();
        let keep = if gate {
            0.75
        } else {
            0.08 + 0.5 * (1.0 - terrain(mid)).powi(2)
        };
        if !rng.random_bool(keep) {
            continue;
        }
        // Skip a road that would run almost alongside one already there.
        let d = (places[b].at - places[a].at).unit();
        let close = |dirs: &[P], d: P| dirs.iter().any(|q| q.x * d.x + q.y * d.y > 0.9);
        if close(&directions[a], d) || close(&directions[b], d * -1.0) {
            continue;
        }
        directions[a].push(d);
        directions[b].push(d * -1.0);
        chosen[k] = true;
    }
    let mut edges: Vec<Edge> = weighted
        .iter()
        .zip(&chosen)
        .filter(|(_, c)| **c)
        .map(|(&(_, a, b), _)| {
            let gate = places[a].town.is_some() || places[b].town.is_some();
            Edge {
                a,
                b,
                length: places[a].at.distance(places[b].at),
                class: if gate { 1 } else { 0 },
                reference: None,
            }
        })
        .collect();

    // Roads that leave the city start at the nearest place inside it.
    let exit_at: Vec<P> = EXITS
        .iter()
        .map(|e| projection.to_plane(e.at.0, e.at.1))
        .collect();
    let exit_place: Vec<usize> = exit_at
        .iter()
        .map(|&x| {
            (0..places.len())
                .filter(|&i| places[i].town.is_none())
                .min_by(|&i, &j| {
                    places[i]
                        .at
                        .distance(x)
                        .total_cmp(&places[j].at.distance(x))
                })
                .unwrap_or(0)
        })
        .collect();
    let mut exit_class = vec![2u8; EXITS.len()];
    let mut exit_ref: Vec<(&str, &str)> = vec![("", ""); EXITS.len()];

    // Trunk and provincial roads: the best path between consecutive places
    // of each corridor, upgraded.
    let mut adjacency: Vec<Vec<(usize, usize)>> = vec![Vec::new(); places.len()];
    for (k, e) in edges.iter().enumerate() {
        adjacency[e.a].push((e.b, k));
        adjacency[e.b].push((e.a, k));
    }
    let town_of = |key: &str| town_keys.iter().position(|k| *k == key);
    let members = |key: &str| -> Vec<usize> {
        if let Some(t) = town_of(key) {
            (0..places.len())
                .filter(|&i| places[i].town == Some(t))
                .collect()
        } else if let Some(x) = EXITS.iter().position(|e| e.key == key) {
            vec![exit_place[x]]
        } else {
            Vec::new()
        }
    };
    for corridor in &CORRIDORS {
        let rank = class_rank(corridor.highway);
        for pair in corridor.via.windows(2) {
            let path = shortest(
                &places,
                &edges,
                &adjacency,
                &members(pair[0]),
                &members(pair[1]),
                &terrain,
            );
            for k in path {
                if edges[k].class < rank || edges[k].reference.is_none() {
                    edges[k].class = edges[k].class.max(rank);
                    edges[k].reference = Some((corridor.reference, corridor.name));
                }
            }
        }
        for key in [corridor.via[0], corridor.via[corridor.via.len() - 1]] {
            if let Some(x) = EXITS.iter().position(|e| e.key == key)
                && rank >= exit_class[x]
            {
                exit_class[x] = rank;
                exit_ref[x] = (corridor.reference, corridor.name);
            }
        }
    }
    // Township roads to the nearest town are at least tertiary.
    let all_towns: Vec<usize> = (0..places.len())
        .filter(|&i| places[i].town.is_some())
        .collect();
    for i in 0..places.len() {
        if map.nodes[places[i].node]
            .tags
            .iter()
            .any(|(k, v)| *k == "place" && v == "town")
        {
            for k in shortest(&places, &edges, &adjacency, &[i], &all_towns, &terrain) {
                edges[k].class = edges[k].class.max(1);
            }
        }
    }

    for e in &edges {
        let (a, b) = (&places[e.a], &places[e.b]);
        let m = terrain(a.at.lerp(b.at, 0.5));
        let t = road_tags(CLASSES[e.class as usize], e.reference, m, rng);
        let line = winding(rng, a.at, b.at, m);
        map.way_through(&line, Some(a.node), Some(b.node), t);
    }

    let mut crossings = Vec::new();
    for (x, exit) in EXITS.iter().enumerate() {
        let from = &places[exit_place[x]];
        let m = terrain(from.at).min(0.6);
        let highway = CLASSES[exit_class[x] as usize];
        let reference = (!exit_ref[x].0.is_empty()).then_some(exit_ref[x]);
        let line = winding(rng, from.at, exit_at[x], m);
        map.way_through(
            &line,
            Some(from.node),
            None,
            road_tags(highway, reference, m, rng),
        );
        let at = line
            .windows(2)
            .find_map(|w| first_crossing(w[0], w[1], outline, true).map(|t| w[0].lerp(w[1], t)))
            .unwrap_or(exit_at[x]);
        crossings.push(Crossing {
            at,
            road: reference.map_or_else(|| highway.to_string(), |r| r.0.to_string()),
            toward: exit.toward,
            henan: exit.henan,
        });
    }
    Countryside {
        places,
        villages,
        townships,
        crossings,
    }
}

fn bounds(ring: &[P]) -> (P, P) {
    let lo = ring.iter().fold(P::new(f64::MAX, f64::MAX), |a, p| {
        P::new(a.x.min(p.x), a.y.min(p.y))
    });
    let hi = ring.iter().fold(P::new(f64::MIN, f64::MIN), |a, p| {
        P::new(a.x.max(p.x), a.y.max(p.y))
    });
    (lo, hi)
}

/// Multi-source Dijkstra over the place graph; the edges of the best path.
fn shortest(
    places: &[Place],
    edges: &[Edge],
    adjacency: &[Vec<(usize, usize)>],
    from: &[usize],
    to: &[usize],
    terrain: &impl Fn(P) -> f64,
) -> Vec<usize> {
    let mut dist = vec![u64::MAX; places.len()];
    let mut via: Vec<Option<usize>> = vec![None; places.len()];
    let mut heap = BinaryHeap::new();
    for &s in from {
        dist[s] = 0;
        heap.push(Reverse((0u64, s)));
    }
    let goal: Vec<bool> = (0..places.len()).map(|i| to.contains(&i)).collect();
    let mut reached = None;
    while let Some(Reverse((d, v))) = heap.pop() {
        if d > dist[v] {
            continue;
        }
        if goal[v] {
            reached = Some(v);
            break;
        }
        for &(w, k) in &adjacency[v] {
            let e = &edges[k];
            let mid = places[e.a].at.lerp(places[e.b].at, 0.5);
            let cost = d + (e.length * (1.0 + 1.5 * terrain(mid))) as u64;
            if cost < dist[w] {
                dist[w] = cost;
                via[w] = Some(k);
                heap.push(Reverse((cost, w)));
            }
        }
    }
    let mut path = Vec::new();
    let mut v = match reached {
        Some(v) => v,
        None => return path,
    };
    while let Some(k) = via[v] {
        path.push(k);
        v = if edges[k].a == v {
            edges[k].b
        } else {
            edges[k].a
        };
    }
    path
}

fn road_tags(highway: &str, reference: Option<(&str, &str)>, m: f64, rng: &mut ChaCha8Rng) -> Tags {
    let mut t = tags(&[("highway", highway)]);
    if let Some((r, name)) = reference {
        t.push(("ref", r.to_string()));
        t.push(("name", name.to_string()));
    }
    let limit = match highway {
        _ if m > 0.7 => Some(if highway == "unclassified" {
            "30"
        } else {
            "40"
        }),
        "trunk" => Some("80"),
        "primary" if rng.random_bool(0.5) => Some("70"),
        _ if m > 0.45 => Some("40"),
        _ => None,
    };
    if let Some(l) = limit {
        t.push(("maxspeed", l.to_string()));
    }
    if highway == "unclassified" || highway == "tertiary" {
        t.push(("lanes", "1".to_string()));
    }
    t
}

/// A road from `a` to `b` that winds with the terrain: a sum of sine
/// waves across the straight line, larger and faster in the mountains.
pub fn winding(rng: &mut ChaCha8Rng, a: P, b: P, m: f64) -> Vec<P> {
    let length = a.distance(b);
    let step = if m > 0.5 { 18.0 } else { 28.0 };
    let n = (length / step).ceil().max(1.0) as usize;
    let waves = 2 + (m * 10.0) as usize;
    let amplitude: Vec<(f64, f64)> = (1..=waves)
        .map(|k| {
            let scale = length * (0.015 + 0.05 * m) / (k as f64).sqrt();
            (
                rng.random_range(-scale..scale).clamp(-350.0, 350.0),
                k as f64,
            )
        })
        .collect();
    let side = (b - a).unit().right();
    (0..=n)
        .map(|i| {
            let t = i as f64 / n as f64;
            let offset: f64 = amplitude
                .iter()
                .map(|&(amp, k)| amp * (k * std::f64::consts::PI * t).sin())
                .sum();
            a.lerp(b, t) + side * offset
        })
        .collect()
}

/// A village's own lanes: short spokes from its centre.
fn village_lanes(map: &mut Map, rng: &mut ChaCha8Rng, centre: NodeId, spokes: usize, m: f64) {
    let origin = map.at(centre);
    let turn = rng.random_range(0.0..std::f64::consts::TAU);
    for s in 0..spokes {
        let angle =
            turn + s as f64 * std::f64::consts::TAU / spokes as f64 + rng.random_range(-0.3..0.3);
        let length = rng.random_range(120.0..320.0);
        let end = origin + P::new(angle.cos(), angle.sin()) * length;
        let line = winding(rng, origin, end, m.min(0.4));
        map.way_through(
            &line,
            Some(centre),
            None,
            tags(&[("highway", "residential")]),
        );
    }
}
