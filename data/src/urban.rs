//! Towns as street grids: the urban core and the county seats.
//!
//! Arterials (primary and secondary, 400–800 m apart in the core) frame
//! blocks; each block gets its own pattern of residential streets, a
//! superblock closed to traffic, cul-de-sacs, or a park. Street ends that
//! reach an arterial share its node, so the grid is one connected network.

use std::collections::BTreeSet;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::map::{Map, NodeId, Tags, tags};
use crate::plane::P;

/// How a town is laid out.
#[derive(Debug, Clone)]
pub struct TownPlan {
    pub name: String,
    pub centre: P,
    /// Half the extent of the arterial grid, metres (x, y).
    pub half: (f64, f64),
    pub arterial_gap: (f64, f64),
    pub local_gap: (f64, f64),
    /// Names for north–south and east–west arterials, west to east and
    /// north to south.
    pub ns_names: Vec<String>,
    pub ew_names: Vec<String>,
    /// Promote four arterials to a trunk ring road.
    pub ring: bool,
    /// One north–south and one east–west pair of one-way arterials.
    pub oneway_pairs: bool,
    pub roundabouts: usize,
}

/// A generated town: its arterial lines and what the rest of the map needs.
#[derive(Debug, Clone)]
pub struct Town {
    /// Arterial coordinates, increasing (x: west→east, y: south→north).
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    /// Intersection (i, j) lies inside the town's rounded outline.
    pub included: Vec<Vec<bool>>,
    /// Street blocks that exist, as (min, max) corners.
    pub blocks: Vec<(P, P)>,
    /// Arterial ends on the town's edge, where country roads join.
    pub gates: Vec<NodeId>,
    /// The name of each north–south and east–west arterial.
    pub ns_names: Vec<String>,
    pub ew_names: Vec<String>,
}

impl Town {
    /// Whether `p` lies inside one of the town's street blocks (shrunk a
    /// little so its edge streets do not count).
    pub fn covers(&self, p: P) -> bool {
        self.blocks.iter().any(|(lo, hi)| {
            p.x > lo.x + 1.0 && p.x < hi.x - 1.0 && p.y > lo.y + 1.0 && p.y < hi.y - 1.0
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Grid,
    NorthSouthOnly,
    EastWestOnly,
    CulDeSacs,
    Superblock,
    Park,
}

/// Arterial positions from `-half` to `half` at random gaps.
fn lines(rng: &mut ChaCha8Rng, centre: f64, half: f64, gap: (f64, f64)) -> Vec<f64> {
    let mut out = vec![-half];
    while *out.last().unwrap_or(&half) < half - gap.0 {
        let next = out[out.len() - 1] + rng.random_range(gap.0..gap.1);
        out.push(next.min(half));
    }
    out.iter().map(|v| centre + v).collect()
}

/// Positions of local streets strictly between two arterials, kept away
/// from the mid-line where patrol-zone boundaries run.
fn locals(rng: &mut ChaCha8Rng, lo: f64, hi: f64, gap: (f64, f64)) -> Vec<f64> {
    let width = hi - lo;
    let n = (width / rng.random_range(gap.0..gap.1)).round() as usize;
    let n = n.saturating_sub(1);
    let mid = (lo + hi) / 2.0;
    (1..=n)
        .map(|k| {
            let mut v = lo + width * k as f64 / (n + 1) as f64 + rng.random_range(-12.0..12.0);
            if (v - mid).abs() < 25.0 {
                v = if v < mid { mid - 25.0 } else { mid + 25.0 };
            }
            v
        })
        .collect()
}

fn key(v: f64) -> i64 {
    (v * 10.0).round() as i64
}

pub fn build_town(map: &mut Map, rng: &mut ChaCha8Rng, plan: &TownPlan) -> Town {
    let xs = lines(rng, plan.centre.x, plan.half.0, plan.arterial_gap);
    let ys = lines(rng, plan.centre.y, plan.half.1, plan.arterial_gap);
    let (nx, ny) = (xs.len(), ys.len());
    let included: Vec<Vec<bool>> = xs
        .iter()
        .map(|&x| {
            ys.iter()
                .map(|&y| {
                    let dx = (x - plan.centre.x) / (plan.half.0 + 1.0);
                    let dy = (y - plan.centre.y) / (plan.half.1 + 1.0);
                    dx.powi(4) + dy.powi(4) <= 1.0
                })
                .collect()
        })
        .collect();
    let corner = |i: usize, j: usize| included[i][j];
    let block_exists = |i: usize, j: usize| {
        i + 1 < nx
            && j + 1 < ny
            && (corner(i, j) || corner(i + 1, j) || corner(i, j + 1) || corner(i + 1, j + 1))
    };

    // Node positions each arterial must carry, besides its crossings.
    let mut on_vertical: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); nx];
    let mut on_horizontal: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); ny];
    let mut blocks = Vec::new();
    let mut street_count = 0usize;
    for i in 0..nx {
        for j in 0..ny {
            if !block_exists(i, j) {
                continue;
            }
            let (x0, x1, y0, y1) = (xs[i], xs[i + 1], ys[j], ys[j + 1]);
            blocks.push((P::new(x0, y0), P::new(x1, y1)));
            let kind = match rng.random_range(0..100) {
                0..58 => Block::Grid,
                58..68 => Block::NorthSouthOnly,
                68..76 => Block::EastWestOnly,
                76..86 => Block::CulDeSacs,
                86..95 => Block::Superblock,
                _ => Block::Park,
            };
            let vx = if matches!(kind, Block::Grid | Block::NorthSouthOnly | Block::CulDeSacs) {
                locals(rng, x0, x1, plan.local_gap)
            } else {
                Vec::new()
            };
            let hy = if matches!(kind, Block::Grid | Block::EastWestOnly | Block::CulDeSacs) {
                locals(rng, y0, y1, plan.local_gap)
            } else {
                Vec::new()
            };
            // North–south locals: from the southern arterial to the northern
            // one, or, in a cul-de-sac block, stopping short of it.
            for &x in &vx {
                street_count += 1;
                let dead_end = kind == Block::CulDeSacs;
                let top = if dead_end {
                    y1 - rng.random_range(40.0..90.0)
                } else {
                    y1
                };
                let mut ys_on: Vec<f64> = vec![y0];
                ys_on.extend(hy.iter().copied().filter(|&y| y < top));
                ys_on.push(top);
                let ids: Vec<NodeId> = ys_on.iter().map(|&y| map.junction(P::new(x, y))).collect();
                on_horizontal[j].insert(key(x));
                if !dead_end {
                    on_horizontal[j + 1].insert(key(x));
                }
                let ids = maybe_reverse(rng, ids, 0.08);
                map.way(ids.0, local_tags(&plan.name, street_count, ids.1));
            }
            for &y in &hy {
                street_count += 1;
                let mut xs_on = vec![x0];
                xs_on.extend(vx.iter().copied());
                xs_on.push(x1);
                let ids: Vec<NodeId> = xs_on.iter().map(|&x| map.junction(P::new(x, y))).collect();
                on_vertical[i].insert(key(y));
                on_vertical[i + 1].insert(key(y));
                let ids = maybe_reverse(rng, ids, 0.08);
                map.way(ids.0, local_tags(&plan.name, street_count, ids.1));
            }
            if kind == Block::Superblock {
                // A campus or works yard: one or two gated service roads
                // lead in from the south and end inside.
                for _ in 0..rng.random_range(1..=2) {
                    let x = rng.random_range(x0 + 60.0..x1 - 60.0);
                    let depth = rng.random_range(0.3..0.7) * (y1 - y0);
                    let a = map.junction(P::new(x, y0));
                    let mid = map.node(P::new(x, y0 + depth * 0.5));
                    let b = map.node(P::new(x + rng.random_range(-30.0..30.0), y0 + depth));
                    on_horizontal[j].insert(key(x));
                    map.way(
                        vec![a, mid, b],
                        tags(&[("highway", "service"), ("access", "destination")]),
                    );
                }
            }
        }
    }

    let ring_x = plan.ring.then(|| (nx / 6, nx - 1 - nx / 6));
    let ring_y = plan.ring.then(|| (ny / 6, ny - 1 - ny / 6));
    let pair_x = plan.oneway_pairs.then_some(nx / 2);
    let pair_y = plan.oneway_pairs.then_some(ny / 2 - 1);

    let mut gates = Vec::new();
    let mut ns_names = Vec::with_capacity(nx);
    let mut ew_names = Vec::with_capacity(ny);
    // North–south arterials.
    for i in 0..nx {
        let ring = ring_x.is_some_and(|(a, b)| i == a || i == b);
        let class = arterial_class(i, ring);
        let name = if ring {
            if ring_x.is_some_and(|(a, _)| i == a) {
                "西环路".to_string()
            } else {
                "东环路".to_string()
            }
        } else {
            nth_name(&plan.ns_names, i)
        };
        ns_names.push(name.clone());
        let oneway =
            pair_x.and_then(|p| (i == p).then_some(true).or((i == p + 1).then_some(false)));
        let segments: Vec<bool> = (0..ny - 1)
            .map(|j| (i > 0 && block_exists(i - 1, j)) || block_exists(i, j))
            .collect();
        let positions = |lo: usize, hi: usize| -> Vec<P> {
            let mut at: BTreeSet<i64> = ys[lo..=hi].iter().map(|&y| key(y)).collect();
            at.extend(on_vertical[i].range(key(ys[lo])..=key(ys[hi])));
            at.iter().map(|&k| P::new(xs[i], k as f64 / 10.0)).collect()
        };
        for (lo, hi) in runs(&segments) {
            let ids: Vec<NodeId> = positions(lo, hi)
                .into_iter()
                .map(|p| map.junction(p))
                .collect();
            gates.extend([ids[0], ids[ids.len() - 1]]);
            emit_arterial(map, rng, ids, class, &name, oneway);
        }
    }
    // East–west arterials.
    for j in 0..ny {
        let ring = ring_y.is_some_and(|(a, b)| j == a || j == b);
        let class = arterial_class(j, ring);
        let name = if ring {
            if ring_y.is_some_and(|(a, _)| j == a) {
                "南环路".to_string()
            } else {
                "北环路".to_string()
            }
        } else {
            nth_name(&plan.ew_names, ny - 1 - j)
        };
        ew_names.push(name.clone());
        let oneway =
            pair_y.and_then(|p| (j == p).then_some(true).or((j == p + 1).then_some(false)));
        let segments: Vec<bool> = (0..nx - 1)
            .map(|i| (j > 0 && block_exists(i, j - 1)) || block_exists(i, j))
            .collect();
        for (lo, hi) in runs(&segments) {
            let mut at: BTreeSet<i64> = xs[lo..=hi].iter().map(|&x| key(x)).collect();
            at.extend(on_horizontal[j].range(key(xs[lo])..=key(xs[hi])));
            let ids: Vec<NodeId> = at
                .iter()
                .map(|&k| map.junction(P::new(k as f64 / 10.0, ys[j])))
                .collect();
            gates.extend([ids[0], ids[ids.len() - 1]]);
            emit_arterial(map, rng, ids, class, &name, oneway);
        }
    }
    gates.sort_unstable();
    gates.dedup();

    let town = Town {
        xs,
        ys,
        included,
        blocks,
        gates,
        ns_names,
        ew_names,
    };
    // Arterial crossings are signalled, as in any Chinese city.
    for (i, &x) in town.xs.iter().enumerate() {
        for (j, &y) in town.ys.iter().enumerate() {
            if let Some(id) = map.find_junction(P::new(x, y))
                && (town.included[i][j] || rng.random_bool(0.5))
            {
                map.nodes[id].tags = tags(&[("highway", "traffic_signals")]);
            }
        }
    }
    add_roundabouts(map, rng, &town, plan, ring_x, ring_y, pair_x, pair_y);
    town
}

/// The `k`-th name from a list, with a numbered section once it runs out.
fn nth_name(names: &[String], k: usize) -> String {
    let base = &names[k % names.len()];
    match k / names.len() {
        0 => base.clone(),
        n => format!("{base}{}段", ["", "二", "三", "四"][n.min(3)]),
    }
}

fn arterial_class(index: usize, ring: bool) -> &'static str {
    if ring {
        "trunk"
    } else if index.is_multiple_of(3) {
        "primary"
    } else {
        "secondary"
    }
}

/// Maximal runs of `true` as (first line, last line) index pairs.
fn runs(segments: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (k, &on) in segments.iter().chain(std::iter::once(&false)).enumerate() {
        match (on, start) {
            (true, None) => start = Some(k),
            (false, Some(s)) => {
                out.push((s, k));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Sometimes a narrow lane is one-way; returns the node order and whether
/// it is.
fn maybe_reverse(rng: &mut ChaCha8Rng, mut ids: Vec<NodeId>, share: f64) -> (Vec<NodeId>, bool) {
    let oneway = rng.random_bool(share);
    if oneway && rng.random_bool(0.5) {
        ids.reverse();
    }
    (ids, oneway)
}

fn local_tags(town: &str, n: usize, oneway: bool) -> Tags {
    let mut t = tags(&[("highway", "residential")]);
    if n.is_multiple_of(4) {
        t.push(("name", format!("{town}{}巷", n / 4)));
    }
    if oneway {
        t.push(("oneway", "yes".to_string()));
    }
    t
}

fn emit_arterial(
    map: &mut Map,
    rng: &mut ChaCha8Rng,
    mut ids: Vec<NodeId>,
    class: &str,
    name: &str,
    oneway: Option<bool>,
) {
    let mut t: Tags = vec![("highway", class.to_string()), ("name", name.to_string())];
    let speed = match class {
        "trunk" => Some("60"),
        // Urban limits are mostly posted below the class default.
        "primary" if rng.random_bool(0.7) => Some("50"),
        "secondary" if rng.random_bool(0.6) => Some("40"),
        _ => None,
    };
    if let Some(s) = speed {
        t.push(("maxspeed", s.to_string()));
    }
    t.push((
        "lanes",
        if class == "secondary" { "2" } else { "4" }.to_string(),
    ));
    if let Some(forward) = oneway {
        if !forward {
            ids.reverse();
        }
        t.push(("oneway", "yes".to_string()));
        t.retain(|(k, _)| *k != "lanes");
        t.push(("lanes", "3".to_string()));
    }
    map.way(ids, t);
}

#[allow(
    clippy::too_many_arguments,
    reason = "the town's special lines, passed once"
)]
fn add_roundabouts(
    map: &mut Map,
    rng: &mut ChaCha8Rng,
    town: &Town,
    plan: &TownPlan,
    ring_x: Option<(usize, usize)>,
    ring_y: Option<(usize, usize)>,
    pair_x: Option<usize>,
    pair_y: Option<usize>,
) {
    let (nx, ny) = (town.xs.len(), town.ys.len());
    let special_x = |i: usize| {
        ring_x.is_some_and(|(a, b)| i == a || i == b)
            || pair_x.is_some_and(|p| i == p || i == p + 1)
    };
    let special_y = |j: usize| {
        ring_y.is_some_and(|(a, b)| j == a || j == b)
            || pair_y.is_some_and(|p| j == p || j == p + 1)
    };
    let mut made = 0;
    let mut tries = 0;
    while made < plan.roundabouts && tries < 200 {
        tries += 1;
        let i = rng.random_range(1..nx - 1);
        let j = rng.random_range(1..ny - 1);
        if special_x(i) || special_y(j) || !town.included[i][j] {
            continue;
        }
        let centre = P::new(town.xs[i], town.ys[j]);
        if make_roundabout(map, centre, 24.0) {
            made += 1;
        }
    }
}

/// Replaces the four-way junction at `centre` by a roundabout: the arms end
/// on a one-way ring driven anticlockwise (traffic keeps right).
fn make_roundabout(map: &mut Map, centre: P, radius: f64) -> bool {
    let Some(hub) = map.find_junction(centre) else {
        return false;
    };
    let through: Vec<usize> = (0..map.ways.len())
        .filter(|&w| map.ways[w].nodes.contains(&hub))
        .collect();
    if through.len() != 2 {
        return false;
    }
    // Every neighbour of the hub must be far enough for the ring to fit.
    for &w in &through {
        let nodes = &map.ways[w].nodes;
        let k = nodes.iter().position(|&n| n == hub).unwrap_or(0);
        if k == 0 || k + 1 == nodes.len() {
            return false;
        }
        if map.at(nodes[k - 1]).distance(centre) < radius * 2.0
            || map.at(nodes[k + 1]).distance(centre) < radius * 2.0
        {
            return false;
        }
    }
    let ring: Vec<NodeId> = (0..8)
        .map(|a| {
            let angle = a as f64 * std::f64::consts::FRAC_PI_4;
            map.node(centre + P::new(angle.cos(), angle.sin()) * radius)
        })
        .collect();
    let class = map.ways[through[0]].highway().to_string();
    map.nodes[hub].tags.clear();
    for &w in &through {
        let nodes = map.ways[w].nodes.clone();
        let k = nodes.iter().position(|&n| n == hub).unwrap_or(0);
        let arm = |from: NodeId| {
            let d = map.at(from) - centre;
            let angle = d.y.atan2(d.x).rem_euclid(std::f64::consts::TAU);
            ring[((angle / std::f64::consts::FRAC_PI_4).round() as usize) % 8]
        };
        let (before_arm, after_arm) = (arm(nodes[k - 1]), arm(nodes[k + 1]));
        let mut first = nodes[..k].to_vec();
        first.push(before_arm);
        let mut second = vec![after_arm];
        second.extend_from_slice(&nodes[k + 1..]);
        let tags = map.ways[w].tags.clone();
        map.ways[w].nodes = first;
        map.way(second, tags);
    }
    let mut closed = ring.clone();
    closed.push(ring[0]);
    map.way(
        closed,
        vec![("highway", class), ("junction", "roundabout".to_string())],
    );
    true
}
