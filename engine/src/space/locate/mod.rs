//! Finding a place from what a caller says: "凤台街与书院街", "书院街",
//! "下原村", "市人民医院", or coordinates pasted in either order.
//!
//! [`Gazetteer::build`] reads the map's names once: every distinct road
//! name with a point on the road, every crossing of two named roads (the
//! nodes where both meet, merged within 200 m so a dual carriageway or a
//! roundabout is one crossing), and every named place. A query is matched
//! with Chinese-aware tolerance: the generic ending of a name (路, 街, 大道,
//! 村, 收费站…) may be missing or wrong, one character in the distinctive
//! part may be wrong, missing or extra (two in a long name), a homophone
//! costs a quarter of a character (pinyin input makes those), and a query
//! in pinyin letters ("fengtaijie") is matched against the names' pinyin.
//!
//! Candidates come from an index of the names' distinctive characters and
//! their pinyin syllables. A name's allowed distance is below the length
//! of its distinctive part, so a name sharing neither a character nor a
//! syllable of it with the query cannot match, and only the names that
//! share one are scored. [`Gazetteer::locate_by_scan`] scores every name instead; it is
//! the reference the index is tested against.

mod query;
mod text;

use std::collections::HashMap;

use crate::geo::{BoundingBox, LatLon};
use crate::road::graph::RoadGraph;
use crate::road::names::MapPlace;
use text::{Endings, NameParts};

/// What a search result is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LocatedKind {
    /// The coordinates typed in.
    Coordinates,
    /// Where two named roads cross.
    Intersection,
    /// A named place: a village, a hospital, a station.
    Place,
    /// A named road, at a point along it.
    Road,
}

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    /// What it is.
    pub kind: LocatedKind,
    /// Its name as the map gives it ("书院街与学院路", "市人民医院").
    pub name: String,
    /// Where to send units.
    pub at: LatLon,
    /// How far the query is from the name: 0 for an exact match, about 1
    /// per wrong character. Results come in increasing order of it.
    pub distance: f32,
    /// For a place, what it is (`village`, `hospital`, `police`); for a
    /// road or a crossing, the names of its roads joined by "/".
    pub detail: String,
}

/// How many results a query returns at most, unless asked otherwise.
pub const DEFAULT_LIMIT: usize = 10;

/// Two nodes where the same two roads meet belong to one crossing when
/// they are this close (the carriageways of a dual road, a roundabout).
const CROSSING_MERGE_M: f64 = 200.0;

/// How many of the best matches of each side of an intersection query are
/// tried against each other.
const SIDE_CANDIDATES: usize = 8;

/// One matchable name: a road (all ways of that name together) or a place.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    parts: NameParts,
    /// The whole normalised name and its pinyin.
    whole: Vec<char>,
    whole_pinyin: Vec<Option<&'static str>>,
    /// The whole name's pinyin, for queries typed in letters.
    pinyin: Vec<u8>,
    core_pinyin: Vec<u8>,
    at: LatLon,
    /// For a road, its index in `Gazetteer::roads`; for a place, `None`.
    road: Option<u32>,
    detail: String,
}

/// A crossing of two named roads.
#[derive(Clone, Debug)]
struct Crossing {
    at: LatLon,
}

/// The names of a map, ready to be searched; immutable once built.
#[derive(Debug)]
pub struct Gazetteer {
    entries: Vec<Entry>,
    /// Entry index of each road, by road number.
    roads: Vec<u32>,
    /// Crossings of two roads, by their road numbers (smaller first).
    crossings: HashMap<(u32, u32), Vec<Crossing>>,
    /// Entries by a character of their distinctive part.
    by_char: HashMap<char, Vec<u32>>,
    /// Entries by a pinyin syllable of their distinctive part.
    by_syllable: HashMap<&'static str, Vec<u32>>,
    bounds: BoundingBox,
}

/// A query taken apart once, for scoring against many entries.
struct Prepared {
    road: NameParts,
    place: NameParts,
    /// The whole normalised query and its pinyin.
    whole: Vec<char>,
    whole_pinyin: Vec<Option<&'static str>>,
    /// Lower-case letters only: a pinyin query.
    letters: Option<Vec<u8>>,
}

impl Prepared {
    fn of(raw: &str) -> Option<Self> {
        let normalised = text::normalise(raw);
        if normalised.is_empty() {
            return None;
        }
        let letters = (normalised.len() >= 3 && normalised.bytes().all(|b| b.is_ascii_lowercase()))
            .then(|| normalised.as_bytes().to_vec());
        let whole: Vec<char> = normalised.chars().collect();
        Some(Prepared {
            road: NameParts::of(&normalised, Endings::Road),
            place: NameParts::of(&normalised, Endings::Place),
            whole_pinyin: whole.iter().map(|&c| text::syllable(c)).collect(),
            whole,
            letters,
        })
    }
}

impl Gazetteer {
    /// Reads the names of a graph's roads and places, and `extra` places
    /// a scenario knows that the map may not (police stations, checkpoints).
    /// Tens of milliseconds for a city.
    pub fn build(graph: &RoadGraph, extra: &[MapPlace]) -> Self {
        // Roads by name: ways of one name (a trunk and a primary stretch of
        // 北环路) are one road to a caller.
        let mut road_of_name: HashMap<&str, u32> = HashMap::new();
        let mut road_names: Vec<&str> = Vec::new();
        let name_road: Vec<Option<u32>> = graph
            .road_names()
            .iter()
            .map(|n| {
                let label = n.label();
                (!label.is_empty()).then(|| {
                    *road_of_name.entry(label).or_insert_with(|| {
                        road_names.push(label);
                        road_names.len() as u32 - 1
                    })
                })
            })
            .collect();
        let segment_road = |s: usize| {
            graph
                .segment_road_id(s)
                .and_then(|id| name_road[id.0 as usize])
        };

        // Each road's nodes, and each node's roads.
        let mut road_nodes: Vec<Vec<u32>> = vec![Vec::new(); road_names.len()];
        let mut node_roads: HashMap<u32, Vec<u32>> = HashMap::new();
        for (s, segment) in graph.segments().iter().enumerate() {
            let Some(road) = segment_road(s) else {
                continue;
            };
            for node in [segment.a, segment.b] {
                road_nodes[road as usize].push(node);
                let roads = node_roads.entry(node).or_default();
                if !roads.contains(&road) {
                    roads.push(road);
                }
            }
        }

        // Crossings: nodes two roads share, merged when close.
        let mut meeting: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
        let mut nodes: Vec<&u32> = node_roads.keys().collect();
        nodes.sort();
        for &node in nodes {
            let roads = &node_roads[&node];
            for (i, &a) in roads.iter().enumerate() {
                for &b in &roads[i + 1..] {
                    meeting.entry((a.min(b), a.max(b))).or_default().push(node);
                }
            }
        }
        let crossings = meeting
            .into_iter()
            .map(|(pair, nodes)| (pair, merge_crossings(graph, &nodes)))
            .collect();

        let mut entries = Vec::new();
        let mut roads = Vec::with_capacity(road_names.len());
        for (r, name) in road_names.iter().enumerate() {
            let nodes = &mut road_nodes[r];
            nodes.sort_unstable();
            nodes.dedup();
            roads.push(entries.len() as u32);
            entries.push(Entry::new(
                name,
                Endings::Road,
                middle_of(graph, nodes),
                Some(r as u32),
                String::new(),
            ));
        }
        for place in graph.places().iter().chain(extra) {
            entries.push(Entry::new(
                &place.name,
                Endings::Place,
                place.at,
                None,
                place.kind.clone(),
            ));
        }

        let mut by_char: HashMap<char, Vec<u32>> = HashMap::new();
        let mut by_syllable: HashMap<&'static str, Vec<u32>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            for (&c, &s) in e.parts.core.iter().zip(&e.parts.core_pinyin) {
                push_once(by_char.entry(c).or_default(), i as u32);
                if let Some(s) = s {
                    push_once(by_syllable.entry(s).or_default(), i as u32);
                }
            }
        }
        Gazetteer {
            entries,
            roads,
            crossings,
            by_char,
            by_syllable,
            bounds: graph.bounding_box(),
        }
    }

    /// How many roads, crossings and places it knows.
    pub fn counts(&self) -> (usize, usize, usize) {
        let crossings = self.crossings.values().map(Vec::len).sum();
        (
            self.roads.len(),
            crossings,
            self.entries.len() - self.roads.len(),
        )
    }

    /// The best `limit` matches for a query, best first.
    ///
    /// ```
    /// use kuaifan_engine::{Gazetteer, LocatedKind, OsmRoads, Profile, RoadGraph};
    /// let roads = OsmRoads::read("../data/jincheng/jincheng.osm.pbf".as_ref(), &Profile::default())?;
    /// let names = Gazetteer::build(&RoadGraph::build(roads)?, &[]);
    /// let best = &names.locate("书院街和学院路交叉口", 5)[0];
    /// assert_eq!((best.kind, best.name.as_str()), (LocatedKind::Intersection, "书院街与学院路"));
    /// let typo = &names.locate("书苑街", 5)[0];
    /// assert_eq!(typo.name, "书院街");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn locate(&self, query: &str, limit: usize) -> Vec<Located> {
        self.search(query, limit, Lookup::Index)
    }

    /// [`Gazetteer::locate`] scoring every name rather than the indexed
    /// candidates: the reference.
    pub fn locate_by_scan(&self, query: &str, limit: usize) -> Vec<Located> {
        self.search(query, limit, Lookup::Scan)
    }

    fn search(&self, query: &str, limit: usize, lookup: Lookup) -> Vec<Located> {
        let mut out = Vec::new();
        if let Some(at) = query::coordinates(query, &self.bounds) {
            out.push(Located {
                kind: LocatedKind::Coordinates,
                name: format!("{:.6}, {:.6}", at.lat(), at.lon()),
                at,
                distance: 0.0,
                detail: String::new(),
            });
            return out;
        }
        let mut buffer = Vec::new();
        let (whole, crossing_words) = query::strip_crossing_words(query);
        // The query as one name.
        if let Some(prepared) = Prepared::of(whole) {
            for (e, distance) in self.matches(&prepared, lookup, &mut buffer) {
                let entry = &self.entries[e as usize];
                out.push(Located {
                    kind: if entry.road.is_some() {
                        LocatedKind::Road
                    } else {
                        LocatedKind::Place
                    },
                    name: entry.name.clone(),
                    at: entry.at,
                    // "…路口" asked for a crossing, not the road.
                    distance: distance + if crossing_words { 0.5 } else { 0.0 },
                    detail: entry.detail.clone(),
                });
            }
        }
        // The query as two crossing roads.
        for (left, right) in query::intersection_splits(whole) {
            let (Some(left), Some(right)) = (Prepared::of(left), Prepared::of(right)) else {
                continue;
            };
            let sides = [&left, &right].map(|side| {
                let mut roads: Vec<(u32, f32)> = self
                    .matches(side, lookup, &mut buffer)
                    .into_iter()
                    .filter_map(|(e, d)| self.entries[e as usize].road.map(|r| (r, d)))
                    .collect();
                roads.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                roads.truncate(SIDE_CANDIDATES);
                roads
            });
            for &(a, da) in &sides[0] {
                for &(b, db) in &sides[1] {
                    let Some(found) = self.crossings.get(&(a.min(b), a.max(b))) else {
                        continue;
                    };
                    let (na, nb) = (
                        &self.entries[self.roads[a as usize] as usize].name,
                        &self.entries[self.roads[b as usize] as usize].name,
                    );
                    for crossing in found {
                        out.push(Located {
                            kind: LocatedKind::Intersection,
                            name: format!("{na}与{nb}"),
                            at: crossing.at,
                            distance: da + db,
                            detail: format!("{na}/{nb}"),
                        });
                    }
                }
            }
        }
        rank(&mut out);
        out.truncate(limit);
        out
    }

    /// Entries the query matches within the allowed distance, with it.
    fn matches(&self, q: &Prepared, lookup: Lookup, buffer: &mut Vec<f32>) -> Vec<(u32, f32)> {
        let mut out = Vec::new();
        let mut consider = |e: u32, buffer: &mut Vec<f32>| {
            if let Some(d) = self.entries[e as usize].distance(q, buffer) {
                out.push((e, d));
            }
        };
        if lookup == Lookup::Scan || q.letters.is_some() {
            // Letters share no character with ideographs: pinyin queries
            // are rare and scored against every name.
            for e in 0..self.entries.len() as u32 {
                consider(e, buffer);
            }
            return out;
        }
        let mut candidates: Vec<u32> = Vec::new();
        for parts in [&q.road, &q.place] {
            for (c, s) in parts.core.iter().zip(&parts.core_pinyin) {
                if let Some(list) = self.by_char.get(c) {
                    candidates.extend_from_slice(list);
                }
                if let Some(list) = s.and_then(|s| self.by_syllable.get(s)) {
                    candidates.extend_from_slice(list);
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        for e in candidates {
            consider(e, buffer);
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lookup {
    Index,
    Scan,
}

impl Entry {
    fn new(name: &str, endings: Endings, at: LatLon, road: Option<u32>, detail: String) -> Self {
        let parts = NameParts::of(&text::normalise(name), endings);
        let whole: Vec<char> = text::normalise(name).chars().collect();
        Entry {
            name: name.to_string(),
            pinyin: text::pinyin_of(&whole).into_bytes(),
            whole_pinyin: whole.iter().map(|&c| text::syllable(c)).collect(),
            whole,
            core_pinyin: text::pinyin_of(&parts.core).into_bytes(),
            parts,
            at,
            road,
            detail,
        }
    }

    /// The distance of a query to this name, if it is close enough.
    fn distance(&self, q: &Prepared, buffer: &mut Vec<f32>) -> Option<f32> {
        if let Some(letters) = &q.letters {
            // Typed in pinyin: the whole name's or its core's syllables,
            // one wrong letter in six allowed.
            let allowed = (self.pinyin.len() / 6) as f32;
            let d = text::byte_distance(letters, &self.pinyin, buffer)
                .min(text::byte_distance(letters, &self.core_pinyin, buffer) + 0.1);
            return (d <= allowed.max(1.0)).then_some(d * 0.5 + 0.1);
        }
        let query = if self.road.is_some() {
            &q.road
        } else {
            &q.place
        };
        let core = text::core_distance(
            &query.core,
            &query.core_pinyin,
            &self.parts.core,
            &self.parts.core_pinyin,
            buffer,
        );
        let allowed = text::allowed_distance(self.parts.core.len());
        let by_core = (core <= allowed).then(|| core + text::ending_cost(query, &self.parts));
        if self.road.is_some() {
            return by_core;
        }
        // A place's ending may be cut short ("秦家庄收费" for 秦家庄收费站):
        // the whole names compared, within what the core allows.
        let whole = text::core_distance(
            &q.whole,
            &q.whole_pinyin,
            &self.whole,
            &self.whole_pinyin,
            buffer,
        );
        let by_whole = (whole <= allowed).then_some(whole);
        match (by_core, by_whole) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Best first: by distance, then kind (a crossing before a place before a
/// road), then name and position, so equal queries give equal answers.
/// The same result found twice (two cuts of one query) is kept once.
fn rank(results: &mut Vec<Located>) {
    results.sort_by(|a, b| {
        a.distance
            .total_cmp(&b.distance)
            .then(a.kind.cmp(&b.kind))
            .then_with(|| a.name.cmp(&b.name))
            .then(a.at.lat().total_cmp(&b.at.lat()))
            .then(a.at.lon().total_cmp(&b.at.lon()))
    });
    let mut seen = std::collections::HashSet::new();
    results.retain(|r| {
        seen.insert((
            r.kind,
            r.name.clone(),
            r.at.lat().to_bits(),
            r.at.lon().to_bits(),
        ))
    });
}

fn push_once(list: &mut Vec<u32>, entry: u32) {
    if list.last() != Some(&entry) {
        list.push(entry);
    }
}

/// The node of a road nearest the mean of its nodes: a point on the road
/// near its middle.
fn middle_of(graph: &RoadGraph, nodes: &[u32]) -> LatLon {
    let n = nodes.len().max(1) as f64;
    let (lat, lon) = nodes.iter().fold((0.0, 0.0), |(lat, lon), &v| {
        let p = graph.position(v);
        (lat + p.lat() / n, lon + p.lon() / n)
    });
    let mean = LatLon::new(lat, lon).unwrap_or_else(|_| graph.position(nodes[0]));
    nodes
        .iter()
        .map(|&v| graph.position(v))
        .min_by(|a, b| a.haversine_m(mean).total_cmp(&b.haversine_m(mean)))
        .unwrap_or(mean)
}

/// Groups the nodes where two roads meet into crossings: a node within
/// [`CROSSING_MERGE_M`] of a group's first node joins it. Each crossing is
/// at the group's node nearest its mean, in the order of the nodes.
fn merge_crossings(graph: &RoadGraph, nodes: &[u32]) -> Vec<Crossing> {
    let mut groups: Vec<Vec<u32>> = Vec::new();
    for &node in nodes {
        let at = graph.position(node);
        match groups
            .iter_mut()
            .find(|g| graph.position(g[0]).haversine_m(at) <= CROSSING_MERGE_M)
        {
            Some(group) => group.push(node),
            None => groups.push(vec![node]),
        }
    }
    groups
        .iter()
        .map(|g| Crossing {
            at: middle_of(graph, g),
        })
        .collect()
}
