//! The `kuaifan` command line, run as a user runs it: its output contract
//! and its answers to bad input.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn kuaifan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp(name: &str, content: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kuaifan-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn graph_info_prints_the_graph_as_json() {
    let tiny = common::fixture("tiny.osm.pbf");
    let out = kuaifan(&["graph-info", "--osm", s(&tiny)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let info: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(info["nodes"], 9);
    assert_eq!(info["edges"], 19);
    assert_eq!(info["dropped_nodes"], 3);
    assert_eq!(info["bbox"]["min_lat"], 35.5);
    assert_eq!(info["bbox"]["max_lon"], 112.853);
    assert!(info["load_ms"].is_u64() && info["prepare_ms"].is_u64());
}

#[test]
fn a_cache_is_written_then_used() {
    let tiny = common::fixture("tiny.osm.pbf");
    let cache = temp("tiny.kfcache", b"");
    std::fs::remove_file(&cache).unwrap();
    let first = kuaifan(&["graph-info", "--osm", s(&tiny), "--cache", s(&cache)]);
    let second = kuaifan(&["graph-info", "--osm", s(&tiny), "--cache", s(&cache)]);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&stdout(&first)).unwrap(),
        serde_json::from_str(&stdout(&second)).unwrap(),
    );
    assert_eq!(
        (a["from_cache"].as_bool(), b["from_cache"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(
        (a["nodes"].clone(), a["dropped_nodes"].clone()),
        (b["nodes"].clone(), b["dropped_nodes"].clone())
    );
    // Another profile makes the cache stale: it is prepared again.
    let profile = temp("open.toml", b"blocked_access = []\n");
    let third = kuaifan(&[
        "graph-info",
        "--osm",
        s(&tiny),
        "--cache",
        s(&cache),
        "--profile",
        s(&profile),
    ]);
    let c: serde_json::Value = serde_json::from_str(&stdout(&third)).unwrap();
    assert_eq!(
        (c["from_cache"].as_bool(), c["edges"].as_u64()),
        (Some(false), Some(21))
    );
}

#[test]
fn route_answers_every_row_and_explains_the_bad_ones() {
    let tiny = common::fixture("tiny.osm.pbf");
    let pairs = temp(
        "pairs.csv",
        b"from_lat,from_lon,to_lat,to_lon\n\
          35.5000,112.8500,35.5010,112.8500\n\
          35.5000,112.8500,35.6000,112.8500\n\
          NaN,112.85,35.5,112.85\n\
          35.5,abc,35.5,112.85\n\
          95,112.85,35.5,112.85\n\
          35.5,112.85,35.5\n\
          35.5010,112.8500,35.5000,112.8500\n",
    );
    let out = kuaifan(&["route", "--osm", s(&tiny), "--pairs", s(&pairs)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "from_lat",
            "from_lon",
            "to_lat",
            "to_lon",
            "eta_s",
            "distance_m",
            "error"
        ]
    );
    assert_eq!(rows.len(), 8, "{text}");
    // 111.2 m at 30 mph, both ways.
    assert_eq!(&rows[1][4..], ["8.291", "111.2", ""]);
    assert_eq!(&rows[7][4..], ["8.291", "111.2", ""]);
    assert_eq!(&rows[2][4..6], ["", ""]);
    assert!(
        rows[2][6].starts_with("off_network: 10897 m from the nearest road"),
        "{}",
        rows[2][6]
    );
    assert!(rows[3][6].contains("not a finite number"), "{text}");
    assert!(rows[4][6].contains("from_lon: not a number"), "{text}");
    assert!(rows[5][6].contains("latitude outside"), "{text}");
    assert_eq!(rows[6][6], "expected 4 fields, found 3", "{text}");
}

#[test]
fn route_refuses_a_csv_without_the_header() {
    let tiny = common::fixture("tiny.osm.pbf");
    let pairs = temp("headless.csv", b"35.5,112.85,35.501,112.85\n");
    let out = kuaifan(&["route", "--osm", s(&tiny), "--pairs", s(&pairs)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("from_lat,from_lon,to_lat,to_lon"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn bad_maps_fail_with_a_message_not_a_panic() {
    let bytes = std::fs::read(common::fixture("tiny.osm.pbf")).unwrap();
    let truncated = temp("truncated.osm.pbf", &bytes[..bytes.len() * 2 / 3]);
    let empty = temp("empty.osm.pbf", b"");
    let cases = [
        ("/nonexistent/map.osm.pbf".to_owned(), "No such file"),
        (s(&truncated).to_owned(), "PBF"),
        (s(&empty).to_owned(), "no routable road"),
        (
            s(&common::fixture("no_roads.osm.pbf")).to_owned(),
            "no routable road",
        ),
    ];
    for (map, expected) in cases {
        let out = kuaifan(&["graph-info", "--osm", &map]);
        assert_eq!(out.status.code(), Some(1), "{map}");
        let err = stderr(&out);
        assert!(
            err.contains(expected) && !err.contains("panicked"),
            "{map}: {err}"
        );
    }
    let bad_profile = temp("bad.toml", b"[speeds]\nresidential = -3\n");
    let out = kuaifan(&[
        "graph-info",
        "--osm",
        s(&common::fixture("tiny.osm.pbf")),
        "--profile",
        s(&bad_profile),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("speeds.residential"),
        "{}",
        stderr(&out)
    );
    let out = kuaifan(&[
        "route",
        "--osm",
        s(&common::fixture("tiny.osm.pbf")),
        "--pairs",
        "x.csv",
        "--snap-limit",
        "NaN",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--snap-limit"), "{}", stderr(&out));
}

/// A fresh clone runs kuaifan with no arguments and no files around it: the
/// Jincheng scenario is built into the binary.
#[test]
fn with_no_arguments_kuaifan_reports_the_built_in_jincheng_scenario() {
    let elsewhere = std::env::temp_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_kuaifan"))
        .current_dir(&elsewhere)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Jincheng, Shanxi\n"), "{text}");
    assert!(text.contains("in 34 zones"), "{text}");
    assert!(text.contains("units 39,"), "{text}");

    // The same figures as the scenario directory in the repository.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/jincheng");
    let from_dir = kuaifan(&["scenario-info", "--scenario", s(&dir), "--json"]);
    let built_in = kuaifan(&["scenario-info", "--json"]);
    assert!(from_dir.status.success(), "{}", stderr(&from_dir));
    assert_eq!(stdout(&from_dir), stdout(&built_in));
}
