//! The map being generated: nodes and tagged ways, and its PBF encoding.

use std::collections::HashMap;

use anyhow::Context;
use pbf_craft::models::{Bound, Element, Node, Tag, Way, WayNode};
use pbf_craft::writers::PbfWriter;

use crate::plane::{P, Projection};

/// Index of a node in [`Map::nodes`].
pub type NodeId = usize;

/// OSM tags, kept in insertion order so the output is reproducible.
pub type Tags = Vec<(&'static str, String)>;

/// Builds a tag list from literal pairs.
pub fn tags(pairs: &[(&'static str, &str)]) -> Tags {
    pairs.iter().map(|&(k, v)| (k, v.to_string())).collect()
}

#[derive(Debug, Clone)]
pub struct MapNode {
    pub at: P,
    pub tags: Tags,
}

#[derive(Debug, Clone)]
pub struct MapWay {
    pub nodes: Vec<NodeId>,
    pub tags: Tags,
}

impl MapWay {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn highway(&self) -> &str {
        self.tag("highway").unwrap_or("")
    }
}

/// Nodes and ways in metres, with shared junction nodes.
#[derive(Debug, Default)]
pub struct Map {
    pub nodes: Vec<MapNode>,
    pub ways: Vec<MapWay>,
    /// Junctions by position (decimetres), so two streets laid out
    /// independently meet in one node.
    junctions: HashMap<(i64, i64), NodeId>,
}

impl Map {
    /// A fresh node that is never merged with another.
    pub fn node(&mut self, at: P) -> NodeId {
        self.nodes.push(MapNode {
            at,
            tags: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// The junction node at `at`: streets that reach the same point share it.
    pub fn junction(&mut self, at: P) -> NodeId {
        let key = ((at.x * 10.0).round() as i64, (at.y * 10.0).round() as i64);
        if let Some(&id) = self.junctions.get(&key) {
            return id;
        }
        let id = self.node(at);
        self.junctions.insert(key, id);
        id
    }

    /// The junction node made at `at`, if any.
    pub fn find_junction(&self, at: P) -> Option<NodeId> {
        let key = ((at.x * 10.0).round() as i64, (at.y * 10.0).round() as i64);
        self.junctions.get(&key).copied()
    }

    pub fn way(&mut self, nodes: Vec<NodeId>, tags: Tags) {
        if nodes.len() >= 2 {
            self.ways.push(MapWay { nodes, tags });
        }
    }

    /// A way through fresh nodes at the given points, joined to `start` and
    /// `end` junctions when given.
    pub fn way_through(
        &mut self,
        points: &[P],
        start: Option<NodeId>,
        end: Option<NodeId>,
        tags: Tags,
    ) -> Vec<NodeId> {
        let n = points.len();
        let ids: Vec<NodeId> = points
            .iter()
            .enumerate()
            .map(|(i, &p)| match (i, start, end) {
                (0, Some(s), _) => s,
                (i, _, Some(e)) if i + 1 == n => e,
                _ => self.node(p),
            })
            .collect();
        self.way(ids.clone(), tags);
        ids
    }

    pub fn at(&self, id: NodeId) -> P {
        self.nodes[id].at
    }

    /// Writes the map as an OSM PBF file: nodes then ways, numbered from 1 in
    /// the order they were made, with nodes no way uses left out.
    /// Returns the file's bytes and how many nodes and ways it holds.
    pub fn write_pbf(&self, projection: &Projection) -> anyhow::Result<(Vec<u8>, usize, usize)> {
        let ways: Vec<&MapWay> = self.ways.iter().filter(|w| w.nodes.len() >= 2).collect();
        let mut used = vec![false; self.nodes.len()];
        for way in &ways {
            for &n in &way.nodes {
                used[n] = true;
            }
        }
        for (id, node) in self.nodes.iter().enumerate() {
            used[id] |= !node.tags.is_empty();
        }
        let mut osm_id = vec![0i64; self.nodes.len()];
        let mut next = 1;
        for (id, &u) in used.iter().enumerate() {
            if u {
                osm_id[id] = next;
                next += 1;
            }
        }
        let nano = |p: P| {
            let (lat, lon) = projection.to_degrees(p);
            // The PBF grid is 100 nanodegrees; snapping here keeps what we
            // write identical to what a reader gets back.
            (
                (lat * 1e7).round() as i64 * 100,
                (lon * 1e7).round() as i64 * 100,
            )
        };
        let (mut left, mut right, mut bottom, mut top) = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
        for (id, node) in self.nodes.iter().enumerate() {
            if used[id] {
                let (lat, lon) = nano(node.at);
                left = left.min(lon);
                right = right.max(lon);
                bottom = bottom.min(lat);
                top = top.max(lat);
            }
        }
        let mut out = Vec::new();
        {
            let mut writer = PbfWriter::new(&mut out, true);
            writer.set_bbox(Bound {
                left,
                right,
                top,
                bottom,
                origin: "kuaifan-data (generated, not surveyed)".to_string(),
            });
            for (id, node) in self.nodes.iter().enumerate() {
                if !used[id] {
                    continue;
                }
                let (latitude, longitude) = nano(node.at);
                writer.write(Element::Node(Node {
                    id: osm_id[id],
                    version: 1,
                    latitude,
                    longitude,
                    tags: osm_tags(&node.tags),
                    ..Node::default()
                }))?;
            }
            for (i, way) in ways.iter().enumerate() {
                writer.write(Element::Way(Way {
                    id: i as i64 + 1,
                    version: 1,
                    tags: osm_tags(&way.tags),
                    way_nodes: way
                        .nodes
                        .iter()
                        .map(|&n| WayNode::new_without_coords(osm_id[n]))
                        .collect(),
                    ..Way::default()
                }))?;
            }
            writer.finish().context("encoding the PBF")?;
        }
        Ok((out, next as usize - 1, ways.len()))
    }
}

fn osm_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag {
            key: k.to_string(),
            value: v.clone(),
        })
        .collect()
}
