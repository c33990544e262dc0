//! Reading the car network out of an OpenStreetMap PBF file.

use std::io::Read;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use osmpbf::{BlobDecode, BlobReader, Element};
use rayon::prelude::*;

use crate::geo::LatLon;
use crate::road::class::RoadClass;
use crate::road::names::{MapPlace, RoadName};
use crate::road::profile::{Profile, WayRule};

/// The routable ways of a map and the nodes they may use, before they become
/// a graph. Generators and tests build one by hand; [`OsmRoads::read`] fills
/// one from a PBF file.
#[derive(Clone, Debug, Default)]
pub struct OsmRoads {
    /// Every node of the source with a valid position, sorted by id.
    nodes: Vec<(i64, LatLon)>,
    nodes_sorted: bool,
    ways: Vec<RoadWay>,
    /// Named nodes a caller may give as a location, in file order.
    places: Vec<MapPlace>,
}

/// One routable OSM way.
#[derive(Clone, Debug)]
pub struct RoadWay {
    /// The OSM way id.
    pub id: i64,
    /// Its node ids, in order.
    pub nodes: Vec<i64>,
    /// How a car drives it.
    pub rule: WayRule,
    /// How important a road it is.
    pub class: RoadClass,
    /// Its `name`, `ref` and `name:en`, when it has any.
    pub name: Option<RoadName>,
}

/// Why a PBF file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OsmError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A block of the file is not valid PBF.
    #[error("not a valid OSM PBF file (block {block}): {source}")]
    Pbf {
        /// The 0-based index of the offending block.
        block: usize,
        /// What the decoder said.
        source: osmpbf::Error,
    },
    /// A block decodes into numbers no map has (a coordinate that
    /// overflows, for one).
    #[error("not a valid OSM PBF file (block {block}): {reason}")]
    Malformed {
        /// The 0-based index of the offending block.
        block: usize,
        /// What was wrong.
        reason: String,
    },
    /// The file ends in the middle of a block.
    #[error("the PBF file is truncated: {trailing} bytes after the last whole block")]
    Truncated {
        /// How many bytes could not be read as a block.
        trailing: u64,
    },
}

impl OsmRoads {
    /// An empty set, to be filled with [`OsmRoads::add_node`] and [`OsmRoads::add_way`].
    pub fn new() -> Self {
        Self {
            nodes: Vec::new(),
            nodes_sorted: true,
            ways: Vec::new(),
            places: Vec::new(),
        }
    }

    /// Reads a `.osm.pbf` file, keeping the ways `profile` finds routable.
    ///
    /// Blocks are decoded in parallel; the result does not depend on the
    /// number of threads.
    pub fn read(path: &Path, profile: &Profile) -> Result<Self, OsmError> {
        let bytes = std::fs::read(path).map_err(|source| OsmError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_pbf_bytes(&bytes, profile)
    }

    /// Reads PBF content already in memory.
    pub fn from_pbf_bytes(bytes: &[u8], profile: &Profile) -> Result<Self, OsmError> {
        // osmpbf takes 1-3 bytes after the last block for the end of the
        // file; counting what each whole block consumed catches that too.
        let position = AtomicUsize::new(0);
        let mut end_of_last_block = 0;
        let mut blobs = Vec::new();
        for (block, blob) in BlobReader::new(Tracked {
            bytes,
            position: &position,
        })
        .enumerate()
        {
            blobs.push(blob.map_err(|source| OsmError::Pbf { block, source })?);
            end_of_last_block = position.load(Ordering::Relaxed);
        }
        let trailing = (bytes.len() - end_of_last_block) as u64;
        if trailing > 0 {
            return Err(OsmError::Truncated { trailing });
        }

        let parts = blobs
            .par_iter()
            .enumerate()
            .map(|(block, blob)| {
                // The decoder trusts a block's numbers: a granularity times
                // a coordinate can overflow, which panics where overflow is
                // checked. A block it cannot decode is an error, whatever
                // the way it fails.
                let decoded = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    let mut part = OsmRoads::new();
                    match blob
                        .decode()
                        .map_err(|source| OsmError::Pbf { block, source })?
                    {
                        BlobDecode::OsmData(data) => {
                            data.for_each_element(|e| part.take(e, profile))
                        }
                        BlobDecode::OsmHeader(_) | BlobDecode::Unknown(_) => {}
                    }
                    Ok(part)
                }));
                decoded.unwrap_or_else(|panic| {
                    let reason = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "its numbers are out of range".to_string());
                    Err(OsmError::Malformed { block, reason })
                })
            })
            .collect::<Result<Vec<_>, OsmError>>()?;

        let mut roads = OsmRoads::new();
        roads
            .nodes
            .reserve(parts.iter().map(|p| p.nodes.len()).sum());
        for part in parts {
            roads.nodes_sorted &= part.nodes_sorted
                && match (roads.nodes.last(), part.nodes.first()) {
                    (Some(last), Some(first)) => last.0 < first.0,
                    _ => true,
                };
            roads.nodes.extend(part.nodes);
            roads.ways.extend(part.ways);
            roads.places.extend(part.places);
        }
        Ok(roads)
    }

    fn take(&mut self, element: Element<'_>, profile: &Profile) {
        match element {
            Element::DenseNode(n) => {
                self.add_node_raw(n.id(), n.lat(), n.lon());
                self.take_place(n.lat(), n.lon(), n.tags());
            }
            Element::Node(n) => {
                self.add_node_raw(n.id(), n.lat(), n.lon());
                self.take_place(n.lat(), n.lon(), n.tags());
            }
            Element::Way(w) => {
                if let Some((rule, class)) = profile.evaluate_classed(w.tags()) {
                    let name = RoadName::from_tags(w.tags());
                    self.add_named_way(w.id(), w.refs().collect(), rule, class, name);
                }
            }
            Element::Relation(_) => {}
        }
    }

    fn add_node_raw(&mut self, id: i64, lat: f64, lon: f64) {
        // A node with an impossible position cannot be driven to; ways that
        // use it are cut there, as if the node were missing from the extract.
        if let Ok(at) = LatLon::new(lat, lon) {
            self.add_node(id, at);
        }
    }

    /// Keeps a node as a place when its tags make it one. Most nodes have
    /// no tags at all, so this costs them one empty iteration.
    fn take_place<'t>(
        &mut self,
        lat: f64,
        lon: f64,
        tags: impl Iterator<Item = (&'t str, &'t str)>,
    ) {
        let mut tags = tags.peekable();
        if tags.peek().is_none() {
            return;
        }
        if let Ok(at) = LatLon::new(lat, lon)
            && let Some(place) = MapPlace::from_tags(at, tags)
        {
            self.places.push(place);
        }
    }

    /// Adds a named place (a village, a hospital) a caller may give as the
    /// location.
    pub fn add_place(&mut self, place: MapPlace) {
        self.places.push(place);
    }

    /// Hands the places over to the graph being built.
    pub(crate) fn take_places(&mut self) -> Vec<MapPlace> {
        std::mem::take(&mut self.places)
    }

    /// The named places, in file order.
    pub fn places(&self) -> &[MapPlace] {
        &self.places
    }

    /// Adds a node. Ids may come in any order; a repeated id keeps its first position.
    pub fn add_node(&mut self, id: i64, at: LatLon) {
        if let Some(&(last, _)) = self.nodes.last()
            && last >= id
        {
            self.nodes_sorted = false;
        }
        self.nodes.push((id, at));
    }

    /// Adds a routable way over nodes added before or after it, of class
    /// [`RoadClass::Minor`] (use [`OsmRoads::add_classed_way`] for a road
    /// that may be a zone exit).
    pub fn add_way(&mut self, id: i64, nodes: Vec<i64>, rule: WayRule) {
        self.add_classed_way(id, nodes, rule, RoadClass::Minor);
    }

    /// Adds a routable way of a given class over nodes added before or after it.
    pub fn add_classed_way(&mut self, id: i64, nodes: Vec<i64>, rule: WayRule, class: RoadClass) {
        self.add_named_way(id, nodes, rule, class, None);
    }

    /// Adds a routable way of a given class and names over nodes added
    /// before or after it.
    pub fn add_named_way(
        &mut self,
        id: i64,
        nodes: Vec<i64>,
        rule: WayRule,
        class: RoadClass,
        name: Option<RoadName>,
    ) {
        self.ways.push(RoadWay {
            id,
            nodes,
            rule,
            class,
            name,
        });
    }

    /// The routable ways, in file order.
    pub fn ways(&self) -> &[RoadWay] {
        &self.ways
    }

    /// How many nodes with a valid position the source had.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Sorts the nodes by id (once) so that [`OsmRoads::position`] can find them.
    pub(crate) fn index_nodes(&mut self) {
        if !self.nodes_sorted {
            self.nodes.sort_by_key(|&(id, _)| id);
            self.nodes.dedup_by_key(|&mut (id, _)| id);
            self.nodes_sorted = true;
        }
    }

    /// The index of a node in id order, once [`OsmRoads::index_nodes`] has run.
    pub(crate) fn node_index(&self, id: i64) -> Option<usize> {
        debug_assert!(self.nodes_sorted);
        self.nodes.binary_search_by_key(&id, |&(id, _)| id).ok()
    }

    /// The position of the node at an index from [`OsmRoads::node_index`].
    pub(crate) fn position(&self, index: usize) -> LatLon {
        self.nodes[index].1
    }
}

/// Reads a byte slice, publishing how far it got (an atomic only because
/// the reader must be `Send`; it is used from one thread).
struct Tracked<'a> {
    bytes: &'a [u8],
    position: &'a AtomicUsize,
}

impl Read for Tracked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = self.position.load(Ordering::Relaxed);
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        self.position.store(start + n, Ordering::Relaxed);
        Ok(n)
    }
}
