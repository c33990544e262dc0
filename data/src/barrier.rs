//! Rivers and railways that streets may only cross at a few places.
//!
//! A street that meets the barrier either crosses it on a short bridge or
//! underpass (its own way, tagged as such) or stops on both banks as two
//! dead ends. This is what makes straight-line distance a poor guide to
//! travel time in the core.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::map::{Map, MapWay};
use crate::plane::{P, first_crossing};

/// How a permitted crossing is built.
#[derive(Debug, Clone, Copy)]
pub enum Structure {
    Bridge,
    Underpass,
}

/// Cuts every way crossing `line`; `allow` decides, per crossing, whether a
/// structure carries the road across.
pub fn cut(
    map: &mut Map,
    rng: &mut ChaCha8Rng,
    line: &[P],
    structure: Structure,
    allow: impl Fn(&MapWay, f64) -> bool,
) -> usize {
    let mut crossings = 0;
    let mut work: Vec<usize> = (0..map.ways.len()).collect();
    while let Some(w) = work.pop() {
        let nodes = map.ways[w].nodes.clone();
        let hit = nodes.windows(2).enumerate().find_map(|(k, pair)| {
            first_crossing(map.at(pair[0]), map.at(pair[1]), line, false).map(|t| (k, t))
        });
        let Some((k, t)) = hit else { continue };
        let (a, b) = (map.at(nodes[k]), map.at(nodes[k + 1]));
        let len = a.distance(b).max(0.1);
        let permitted = allow(&map.ways[w], rng.random_range(0.0..1.0));
        let half = if permitted {
            25.0_f64.min(0.45 * len)
        } else {
            8.0_f64.min(0.45 * len)
        };
        let t1 = (t - half / len).max(0.0);
        let t2 = (t + half / len).min(1.0);
        let n1 = if t1 == 0.0 {
            nodes[k]
        } else {
            map.node(a.lerp(b, t1))
        };
        let n2 = if t2 == 1.0 {
            nodes[k + 1]
        } else {
            map.node(a.lerp(b, t2))
        };
        let tags = map.ways[w].tags.clone();
        let mut first = nodes[..=k].to_vec();
        if n1 != nodes[k] {
            first.push(n1);
        }
        let mut rest = Vec::with_capacity(nodes.len() - k + 1);
        if n2 != nodes[k + 1] {
            rest.push(n2);
        }
        rest.extend_from_slice(&nodes[k + 1..]);
        map.ways[w].nodes = first;
        if permitted {
            let mut t = tags.clone();
            match structure {
                Structure::Bridge => {
                    t.extend([("bridge", "yes".to_string()), ("layer", "1".to_string())])
                }
                Structure::Underpass => {
                    t.extend([("tunnel", "yes".to_string()), ("layer", "-1".to_string())])
                }
            }
            map.way(vec![n1, n2], t);
        }
        crossings += 1;
        if rest.len() >= 2 {
            map.way(rest, tags);
            work.push(map.ways.len() - 1);
        }
    }
    crossings
}
