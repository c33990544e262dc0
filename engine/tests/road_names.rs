//! Road and place names in the graph, checked against a plain scan of the
//! map file: every segment carries the names of the way it came from, and
//! every named settlement, point of interest and toll station is a place.

use std::collections::{HashMap, HashSet};

use kuaifan_engine::{OsmRoads, Profile, RoadGraph, RoadName};
use osmpbf::{Element, ElementReader};

const JINCHENG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/jincheng/jincheng.osm.pbf"
);

/// Coordinates as exact bits, to match graph nodes to file nodes.
type Key = (u64, u64);

struct Scan {
    /// Names of the routable ways using each consecutive node pair, both ways round.
    pair_names: HashMap<(Key, Key), HashSet<Option<RoadName>>>,
    /// Named nodes with a place key: (name, kind).
    places: Vec<(String, String)>,
}

fn key(lat: f64, lon: f64) -> Key {
    (lat.to_bits(), lon.to_bits())
}

/// The reference: osmpbf element by element, no parallel decoding, no graph.
fn scan(path: &str) -> Scan {
    let profile = Profile::default();
    let mut positions: HashMap<i64, Key> = HashMap::new();
    let mut ways: Vec<(Vec<i64>, Option<RoadName>)> = Vec::new();
    let mut places = Vec::new();
    let mut node = |id: i64, lat: f64, lon: f64, tags: Vec<(&str, &str)>| {
        positions.insert(id, key(lat, lon));
        let name = tags.iter().find(|(k, _)| *k == "name").map(|(_, v)| *v);
        let kind = tags.iter().find_map(|&(k, v)| match k {
            "place" | "amenity" | "shop" | "tourism" | "leisure" | "office" | "healthcare"
            | "historic" | "public_transport" => Some(v),
            "railway" if matches!(v, "station" | "halt") => Some(v),
            "barrier" if v == "toll_booth" => Some(v),
            _ => None,
        });
        if let (Some(name), Some(kind)) = (name, kind) {
            places.push((name.to_string(), kind.to_string()));
        }
    };
    ElementReader::from_path(path)
        .unwrap()
        .for_each(|e| match e {
            Element::DenseNode(n) => node(n.id(), n.lat(), n.lon(), n.tags().collect()),
            Element::Node(n) => node(n.id(), n.lat(), n.lon(), n.tags().collect()),
            Element::Way(w) => {
                if profile.evaluate(w.tags()).is_some() {
                    let tag = |key: &str| {
                        w.tags()
                            .find(|(k, _)| *k == key)
                            .map_or(String::new(), |(_, v)| v.to_string())
                    };
                    let name = RoadName {
                        name: tag("name"),
                        reference: tag("ref"),
                        name_en: tag("name:en"),
                    };
                    let name = (!name.is_empty()).then_some(name);
                    ways.push((w.refs().collect(), name));
                }
            }
            Element::Relation(_) => {}
        })
        .unwrap();
    let mut pair_names: HashMap<(Key, Key), HashSet<Option<RoadName>>> = HashMap::new();
    for (nodes, name) in ways {
        for pair in nodes.windows(2) {
            if let (Some(&a), Some(&b)) = (positions.get(&pair[0]), positions.get(&pair[1])) {
                for p in [(a, b), (b, a)] {
                    pair_names.entry(p).or_default().insert(name.clone());
                }
            }
        }
    }
    Scan { pair_names, places }
}

fn graph(path: &str) -> RoadGraph {
    RoadGraph::build(OsmRoads::read(path.as_ref(), &Profile::default()).unwrap()).unwrap()
}

#[test]
fn every_jincheng_segment_carries_the_names_of_its_way() {
    let reference = scan(JINCHENG);
    let graph = graph(JINCHENG);
    let mut named = 0;
    for (s, segment) in graph.segments().iter().enumerate() {
        let (a, b) = (graph.position(segment.a), graph.position(segment.b));
        let names = &reference.pair_names[&(key(a.lat(), a.lon()), key(b.lat(), b.lon()))];
        let got = graph.segment_road(s).cloned();
        assert!(
            names.contains(&got),
            "segment {s}: {got:?} is not one of {names:?}"
        );
        named += usize::from(got.is_some());
    }
    // The arterials, lanes, national roads and expressways are named;
    // most village roads are not, as on a real map of the countryside.
    assert!(named > 40_000, "only {named} named segments");
    // Equal names share one entry.
    let distinct: HashSet<&RoadName> = graph.road_names().iter().collect();
    assert_eq!(distinct.len(), graph.road_names().len());
    for wanted in ["凤台街", "书院街", "二广高速", "207国道"] {
        assert!(
            graph.road_names().iter().any(|n| n.name == wanted),
            "{wanted} is missing"
        );
    }
}

#[test]
fn every_named_jincheng_settlement_poi_and_toll_station_is_a_place() {
    let reference = scan(JINCHENG);
    let graph = graph(JINCHENG);
    let got: Vec<(String, String)> = graph
        .places()
        .iter()
        .map(|p| (p.name.clone(), p.kind.clone()))
        .collect();
    assert_eq!(got, reference.places);
    assert!(got.len() > 2000, "{} places", got.len());
    for (name, kind) in [
        ("市人民医院", "hospital"),
        ("晋城市公安局", "police"),
        ("晋城火车站", "station"),
    ] {
        assert!(
            got.iter().any(|(n, k)| n == name && k == kind),
            "{name} ({kind}) is missing"
        );
    }
    assert!(got.iter().any(|(_, kind)| kind == "toll_booth"));
}

/// Two crossing arterials meet in a node the graph keeps: an intersection
/// a caller names ("书院街与学院路") is a node where both names meet.
#[test]
fn two_named_jincheng_arterials_meet_in_one_node() {
    let graph = graph(JINCHENG);
    let ends_of = |wanted: &str| -> HashSet<u32> {
        graph
            .segments()
            .iter()
            .enumerate()
            .filter(|(s, _)| graph.segment_road(*s).is_some_and(|n| n.name == wanted))
            .flat_map(|(_, seg)| [seg.a, seg.b])
            .collect()
    };
    let common = ends_of("书院街").intersection(&ends_of("学院路")).count();
    assert!(common >= 1, "书院街 and 学院路 do not meet");
    let parallel = ends_of("书院街").intersection(&ends_of("凤台街")).count();
    assert_eq!(parallel, 0, "书院街 and 凤台街 both run north to south");
}
