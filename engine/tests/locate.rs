//! `Gazetteer`: finding Jincheng's crossings, roads and places from what a
//! caller says, typos and all, and the indexed lookup against a scan of
//! every name.

use std::collections::HashSet;

use kuaifan_engine::{Gazetteer, LatLon, Located, LocatedKind, OsmRoads, Profile, RoadGraph};
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const JINCHENG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/jincheng/jincheng.osm.pbf"
);

fn jincheng() -> (RoadGraph, Gazetteer) {
    let graph =
        RoadGraph::build(OsmRoads::read(JINCHENG.as_ref(), &Profile::default()).unwrap()).unwrap();
    let names = Gazetteer::build(&graph, &[]);
    (graph, names)
}

/// The nodes where segments of both roads meet, by a plain scan.
fn shared_nodes(graph: &RoadGraph, a: &str, b: &str) -> HashSet<(u64, u64)> {
    let ends = |wanted: &str| -> HashSet<u32> {
        graph
            .segments()
            .iter()
            .enumerate()
            .filter(|(s, _)| graph.segment_road(*s).is_some_and(|n| n.label() == wanted))
            .flat_map(|(_, seg)| [seg.a, seg.b])
            .collect()
    };
    ends(a)
        .intersection(&ends(b))
        .map(|&n| {
            let p = graph.position(n);
            (p.lat().to_bits(), p.lon().to_bits())
        })
        .collect()
}

fn bits(p: LatLon) -> (u64, u64) {
    (p.lat().to_bits(), p.lon().to_bits())
}

fn first(names: &Gazetteer, query: &str) -> Located {
    names
        .locate(query, 10)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("nothing found for {query:?}"))
}

#[test]
fn an_intersection_is_found_however_the_caller_puts_it() {
    let (graph, names) = jincheng();
    let crossings = shared_nodes(&graph, "书院街", "学院路");
    assert!(!crossings.is_empty());
    for query in [
        "书院街与学院路",
        "书院街/学院路交叉口",
        "书院街和学院路路口",
        "书院街、学院路",
        "书院街 学院路",
        "书院街／学院路十字路口",
        // Typed sloppily: a homophone (苑 for 院), wrong and missing
        // endings, full-width slash.
        "书苑街与学院路",
        "书院路与学院街",
        "书院与学院",
    ] {
        let hit = first(&names, query);
        assert_eq!(hit.kind, LocatedKind::Intersection, "{query}: {hit:?}");
        assert_eq!(hit.name, "书院街与学院路", "{query}");
        assert!(
            crossings.contains(&bits(hit.at)),
            "{query}: not a shared node"
        );
    }
    let reversed = first(&names, "学院路与书院街");
    assert_eq!(reversed.name, "学院路与书院街");
    assert!(crossings.contains(&bits(reversed.at)));
    let exact = first(&names, "书院街与学院路");
    assert_eq!(exact.distance, 0.0);
    assert!(first(&names, "书苑街与学院路").distance > 0.0);
}

#[test]
fn roads_are_found_by_name_typo_ending_or_pinyin() {
    let (graph, names) = jincheng();
    for (query, want) in [
        ("书院街", "书院街"),
        ("书苑街", "书院街"),
        ("书院路", "书院街"),
        ("书院", "书院街"),
        ("shuyuanjie", "书院街"),
        ("二广高速", "二广高速"),
        ("207国道", "207国道"),
        ("北环路二段", "北环路二段"),
    ] {
        let hit = first(&names, query);
        assert_eq!(
            (hit.kind, hit.name.as_str()),
            (LocatedKind::Road, want),
            "{query}"
        );
        // The point given is on the road.
        let on_road = graph.segments().iter().enumerate().any(|(s, seg)| {
            graph.segment_road(s).is_some_and(|n| n.label() == want)
                && (bits(graph.position(seg.a)) == bits(hit.at)
                    || bits(graph.position(seg.b)) == bits(hit.at))
        });
        assert!(on_road, "{query}: {:?} is not on {want}", hit.at);
    }
}

#[test]
fn places_are_found_with_their_kind() {
    let (graph, names) = jincheng();
    for (query, want, kind) in [
        ("市人民医院", "市人民医院", "hospital"),
        ("晋城市公安局", "晋城市公安局", "police"),
        ("晋城火车站", "晋城火车站", "station"),
        ("秦家庄收费站", "秦家庄收费站", "toll_booth"),
        ("秦家庄收费", "秦家庄收费站", "toll_booth"),
    ] {
        let hit = first(&names, query);
        assert_eq!(
            (hit.kind, hit.name.as_str(), hit.detail.as_str()),
            (LocatedKind::Place, want, kind),
            "{query}"
        );
        let place = graph.places().iter().find(|p| p.name == want).unwrap();
        assert_eq!(hit.at, place.at);
    }
    // A village by its name, with and without 村.
    let village = graph.places().iter().find(|p| p.kind == "village").unwrap();
    let hit = first(&names, &village.name);
    assert_eq!(
        (hit.name.as_str(), hit.distance),
        (village.name.as_str(), 0.0)
    );
    let core = village.name.trim_end_matches('村');
    if core != village.name && core.chars().count() >= 2 {
        let found = names.locate(core, 10);
        assert!(
            found.iter().any(|r| r.name == village.name),
            "{core}: {found:?}"
        );
    }
}

#[test]
fn coordinates_are_taken_in_either_order_and_nonsense_finds_nothing() {
    let (_, names) = jincheng();
    for query in ["35.4950, 112.8450", "112.8450 35.4950", "35.4950，112.8450"] {
        let hit = names.locate(query, 10);
        assert_eq!(hit.len(), 1, "{query}");
        assert_eq!(hit[0].kind, LocatedKind::Coordinates);
        assert_eq!(
            (hit[0].at.lat(), hit[0].at.lon()),
            (35.495, 112.845),
            "{query}"
        );
    }
    for query in ["", "   ", "与", "zzzzqqqq", "交叉口", "鑫鑫鑫鑫鑫鑫鑫"] {
        assert_eq!(names.locate(query, 10), vec![], "{query:?}");
    }
    assert_eq!(names.locate("书院街", 3).len(), 3, "the limit is kept");
}

/// Every road name and every tenth place, as typed and mangled (a
/// character dropped, replaced or doubled, the ending changed, two names
/// joined as a crossing): the index finds exactly what scoring every name
/// finds, and a name as typed comes first.
#[test]
fn the_index_finds_what_a_scan_of_every_name_finds() {
    let (graph, names) = jincheng();
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let mut labels: Vec<String> = graph
        .road_names()
        .iter()
        .map(|n| n.label().to_string())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    labels.sort();
    let roads = labels.clone();
    labels.extend(graph.places().iter().step_by(10).map(|p| p.name.clone()));
    let alphabet: Vec<char> = "东西南北中新华凤台书院路街村镇山河庄".chars().collect();
    let mut queries = 0;
    for label in &labels {
        let chars: Vec<char> = label.chars().collect();
        let exact = names.locate(label, 10);
        assert_eq!(exact.first().map(|r| r.distance), Some(0.0), "{label}");
        assert!(exact.iter().any(|r| &r.name == label), "{label}");
        let k = rng.random_range(0..chars.len());
        let mut dropped = chars.clone();
        dropped.remove(k);
        let mut replaced = chars.clone();
        replaced[k] = *alphabet.choose(&mut rng).unwrap();
        let mut doubled = chars.clone();
        doubled.insert(k, chars[k]);
        let other = roads.choose(&mut rng).unwrap();
        for query in [
            label.clone(),
            dropped.iter().collect(),
            replaced.iter().collect(),
            doubled.iter().collect(),
            label.replace('街', "路"),
            format!("{label}与{other}"),
            format!("{other}/{label}交叉口"),
        ] {
            assert_eq!(
                names.locate(&query, 10),
                names.locate_by_scan(&query, 10),
                "{query}"
            );
            queries += 1;
        }
    }
    assert!(queries > 5000, "{queries} queries");
}
