//! The move-up posts (动中备勤点) beyond the units' standby points: the
//! urban police stations, and junction posts (路口岗) on the arterial grid
//! spread over the core so that a unit moved up has somewhere near every
//! part of it to wait.

use serde_json::{Value, json};

use crate::plane::{P, Projection, inside};
use crate::zones::ZonePlan;

/// No part of the core's arterial grid is farther than this from a post
/// once the junction posts are placed, metres (straight line; about two
/// minutes by road at urban speeds).
const SPREAD_M: f64 = 1_100.0;

/// A grid crossing is a junction post only where an arterial node lies
/// this close to it, metres (one-way pairs and roundabouts have none).
const NODE_WITHIN_M: f64 = 30.0;

/// A station that becomes a post: its id, name and position.
pub struct StationPost<'a> {
    pub id: String,
    pub name: &'a str,
    pub at: P,
}

/// The arterial grid of the core: each line's position and name.
pub struct Grid<'a> {
    pub ns: &'a [(f64, String)],
    pub ew: &'a [(f64, String)],
}

/// The posts file: the stations inside the zones, then junction posts
/// chosen farthest first (each the grid crossing farthest from every post
/// so far, standby points included) until every crossing in the zones is
/// within [`SPREAD_M`] of a post.
pub fn posts_geojson(
    projection: &Projection,
    zones: &[ZonePlan],
    standby: &[P],
    stations: &[StationPost<'_>],
    grid: &Grid<'_>,
    candidates: &[P],
) -> Value {
    let in_zones = |p: P| zones.iter().any(|z| inside(&z.outline, p));
    let mut features = Vec::new();
    let mut placed: Vec<P> = standby.to_vec();
    let mut number = 0;
    let mut next_id = || {
        number += 1;
        format!("P{number:02}")
    };
    for s in stations.iter().filter(|s| in_zones(s.at)) {
        placed.push(s.at);
        features.push(feature(
            projection,
            &next_id(),
            s.name,
            json!({ "kind": "station", "station": s.id }),
            s.at,
        ));
    }

    // Every arterial crossing in the zones that has a node to wait at.
    let mut crossings: Vec<(P, String)> = Vec::new();
    for (x, ns_name) in grid.ns {
        for (y, ew_name) in grid.ew {
            let at = P::new(*x, *y);
            if !in_zones(at) {
                continue;
            }
            let node = candidates
                .iter()
                .copied()
                .filter(|c| c.distance(at) <= NODE_WITHIN_M)
                .min_by(|a, b| a.distance(at).total_cmp(&b.distance(at)));
            if let Some(node) = node {
                crossings.push((node, format!("{ns_name}-{ew_name}路口岗")));
            }
        }
    }
    loop {
        let farthest = crossings
            .iter()
            .map(|(at, name)| {
                let gap = placed
                    .iter()
                    .map(|p| p.distance(*at))
                    .fold(f64::INFINITY, f64::min);
                (gap, *at, name)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let Some((gap, at, name)) = farthest else {
            break;
        };
        if gap <= SPREAD_M {
            break;
        }
        // Beside the node, as the standby points are, so that the post
        // snaps onto one road rather than the crossing itself.
        let at = at + P::new(3.0, -4.0);
        placed.push(at);
        features.push(feature(
            projection,
            &next_id(),
            name,
            json!({ "kind": "junction" }),
            at,
        ));
    }
    json!({ "type": "FeatureCollection", "name": "jincheng_move_up_posts", "features": features })
}

fn feature(projection: &Projection, id: &str, name: &str, extra: Value, at: P) -> Value {
    let mut properties = json!({ "id": id, "name": name });
    if let (Some(props), Value::Object(more)) = (properties.as_object_mut(), extra) {
        props.extend(more);
    }
    let (lat, lon) = projection.to_degrees(at);
    json!({
        "type": "Feature",
        "properties": properties,
        "geometry": {
            "type": "Point",
            "coordinates": [(lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7],
        },
    })
}
