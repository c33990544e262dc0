//! `kuaifan scenario-info`: what a scenario holds and how much of the city
//! its units reach in time from their standby points.

use std::path::PathBuf;

use anyhow::{Context, Result};
use kuaifan_engine::{
    AreaCoverage, CheckpointsConfig, ContainmentRing, Cost, RingCrossings, Scenario,
    ScenarioOverrides, ScenarioSource, StandbyCoverage,
};

use crate::network::{progress, spinner};

#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// The scenario directory (holding scenario.toml); without it, the
    /// Jincheng scenario built into kuaifan.
    #[arg(long, value_name = "DIR")]
    scenario: Option<PathBuf>,
    /// An OpenStreetMap extract to use instead of the scenario's map.
    #[arg(long, value_name = "FILE")]
    osm: Option<PathBuf>,
    /// A zones GeoJSON to use instead of the scenario's.
    #[arg(long, value_name = "FILE")]
    zones: Option<PathBuf>,
    /// A units TOML to use instead of the scenario's.
    #[arg(long, value_name = "FILE")]
    units: Option<PathBuf>,
    /// A stations GeoJSON to use instead of the scenario's.
    #[arg(long, value_name = "FILE")]
    stations: Option<PathBuf>,
    /// A rings GeoJSON to use instead of the scenario's.
    #[arg(long, value_name = "FILE")]
    rings: Option<PathBuf>,
    /// A road profile TOML to use instead of the scenario's.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// A move-up posts GeoJSON to use instead of the scenario's.
    #[arg(long, value_name = "FILE")]
    posts: Option<PathBuf>,
    /// A prepared-graph cache: used when it matches the map and profile,
    /// (re)written when it does not.
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<()> {
    let overrides = ScenarioOverrides {
        map: args.osm.clone(),
        zones: args.zones.clone(),
        units: args.units.clone(),
        stations: args.stations.clone(),
        rings: args.rings.clone(),
        profile: args.profile.clone(),
        posts: args.posts.clone(),
        cache: args.cache.clone(),
    };
    let bar = spinner("loading the scenario");
    let source = match &args.scenario {
        Some(dir) => ScenarioSource::Dir(dir.clone()),
        None => kuaifan_engine::jincheng(),
    };
    let loaded = Scenario::from_source(&source, &overrides, &mut progress(&bar));
    bar.set_message("computing standby coverage");
    let scenario = loaded.with_context(|| match &args.scenario {
        Some(dir) => format!("loading scenario {}", dir.display()),
        None => format!("loading scenario {}", kuaifan_engine::EMBEDDED_JINCHENG),
    });
    let coverage = scenario.as_ref().ok().map(StandbyCoverage::compute);
    bar.finish_and_clear();
    let scenario = scenario?;
    let coverage = coverage
        .transpose()?
        .context("no coverage for a scenario that did not load")?;
    let crossings = RingCrossings::find(
        scenario.rings(),
        scenario.router().graph(),
        &CheckpointsConfig::default(),
    );
    if args.json {
        let mut value = json(&scenario, &coverage);
        value["containment"] = containment_json(&crossings);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", table(&scenario, &coverage));
        print!("{}", containment_table(&crossings));
    }
    Ok(())
}

fn km2(m2: f64) -> f64 {
    m2 / 1e6
}

fn seconds(eta: Option<Cost>) -> Option<f64> {
    eta.map(Cost::seconds)
}

fn coverage_json(c: &AreaCoverage) -> serde_json::Value {
    serde_json::json!({
        "cells": c.cells,
        "area_km2": km2(c.area_m2),
        "share_within": (0..3).map(|i| c.share_within(i)).collect::<Vec<_>>(),
        "off_network_share": c.off_network_share(),
        "worst_eta_s": seconds(c.worst_eta),
    })
}

fn json(s: &Scenario, c: &StandbyCoverage) -> serde_json::Value {
    let graph = s.router().graph();
    let zone_ref = |z: Option<&kuaifan_engine::ZoneCoverage>| {
        z.map(|z| {
            serde_json::json!({
                "id": z.id.as_str(),
                "name": z.name,
                "worst_eta_s": seconds(z.coverage.worst_eta),
                "share_within_support": z.coverage.share_within(1),
            })
        })
    };
    serde_json::json!({
        "name": s.config().name,
        "nodes": graph.node_count(),
        "edges": graph.edge_count(),
        "segments": graph.segments().len(),
        "zoned_area_km2": km2(s.zones().area_m2()),
        "city_area_km2": s.rings().city_area_m2().map(km2),
        "zones": s.zones().len(),
        "units": s.units().len(),
        "stations": s.stations().len(),
        "checkpoints": s.rings().checkpoints().len(),
        "posts": s.posts().len(),
        "from_cache": s.network_stats().from_cache,
        "targets_s": c.targets.as_array(),
        "coverage": {
            "h3_resolution": u8::from(c.resolution),
            "overall": coverage_json(&c.overall),
            "zones": c.zones.iter().map(|z| {
                let mut v = coverage_json(&z.coverage);
                v["id"] = z.id.as_str().into();
                v["name"] = z.name.as_str().into();
                v
            }).collect::<Vec<_>>(),
            "slowest_zone": zone_ref(c.slowest_zone()),
            "least_supported_zone": zone_ref(c.least_supported_zone()),
        },
    })
}

/// "89: 39 standby, 10 station, 40 junction": the move-up posts by kind.
fn post_counts(s: &Scenario) -> String {
    let kinds: Vec<String> = kuaifan_engine::PostKind::WORDS
        .iter()
        .filter_map(|word| {
            let n = s
                .posts()
                .iter()
                .filter(|p| p.kind.as_str() == *word)
                .count();
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect();
    format!("{} ({})", s.posts().len(), kinds.join(", "))
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".into(), |s| format!("{:.1}%", s * 100.0))
}

fn eta(eta: Option<Cost>) -> String {
    eta.map_or_else(|| "-".into(), |e| format!("{:.0} s", e.seconds()))
}

fn row(out: &mut String, id: &str, c: &AreaCoverage, name: &str) {
    out.push_str(&format!(
        "{id:<10} {:>10.2} {:>8} {:>8} {:>8} {:>9} {:>10}  {name}\n",
        km2(c.area_m2),
        percent(c.share_within(0)),
        percent(c.share_within(1)),
        percent(c.share_within(2)),
        percent(c.off_network_share()),
        eta(c.worst_eta),
    ));
}

fn table(s: &Scenario, c: &StandbyCoverage) -> String {
    let graph = s.router().graph();
    let [t0, t1, t2] = c.targets.as_array();
    let mut out = String::new();
    out.push_str(&format!("{}\n", s.config().name));
    out.push_str(&format!(
        "  road network  {} nodes, {} edges ({} segments){}\n",
        graph.node_count(),
        graph.edge_count(),
        graph.segments().len(),
        if s.network_stats().from_cache {
            ", from cache"
        } else {
            ""
        }
    ));
    out.push_str(&format!(
        "  zoned area    {:.1} km² in {} zones\n",
        km2(s.zones().area_m2()),
        s.zones().len()
    ));
    if let Some(city) = s.rings().city_area_m2() {
        out.push_str(&format!("  city area     {:.1} km² (ring 2)\n", km2(city)));
    }
    out.push_str(&format!(
        "  units {}, stations {}, checkpoints {}\n",
        s.units().len(),
        s.stations().len(),
        s.rings().checkpoints().len()
    ));
    out.push_str(&format!("  posts {}\n\n", post_counts(s)));
    out.push_str(&format!(
        "Reached by road with every unit at its standby point (H3 resolution {} cells):\n",
        u8::from(c.resolution)
    ));
    out.push_str(&format!(
        "{:<10} {:>10} {:>8} {:>8} {:>8} {:>9} {:>10}  name\n",
        "zone",
        "area km²",
        format!("≤{t0} s"),
        format!("≤{t1} s"),
        format!("≤{t2} s"),
        "off-road",
        "worst ETA",
    ));
    for z in &c.zones {
        row(&mut out, z.id.as_str(), &z.coverage, &z.name);
    }
    row(&mut out, "all", &c.overall, "");
    if let Some(z) = c.slowest_zone() {
        out.push_str(&format!(
            "\nslowest zone: {} {} (worst cell {})\n",
            z.id,
            z.name,
            eta(z.coverage.worst_eta)
        ));
    }
    if let Some(z) = c.least_supported_zone() {
        out.push_str(&format!(
            "least reached within {t1} s: {} {} ({})\n",
            z.id,
            z.name,
            percent(z.coverage.share_within(1))
        ));
    }
    out
}

fn ring_label(ring: ContainmentRing) -> String {
    match ring {
        ContainmentRing::Core => "ring 1 (core)".into(),
        ContainmentRing::Area(_) => "ring 1 (county)".into(),
        ContainmentRing::City => "ring 2".into(),
        ContainmentRing::Border => "ring 3".into(),
    }
}

fn containment_json(c: &RingCrossings) -> serde_json::Value {
    serde_json::json!({
        "sites": c.sites().len(),
        "rings": c.outlines().iter().map(|o| serde_json::json!({
            "ring": o.ring.level().number(),
            "county": matches!(o.ring, ContainmentRing::Area(_)),
            "id": o.id,
            "name": o.name,
            "crossings": o.sites.len(),
            "without_checkpoint": c.without_checkpoint(o),
            "not_ways_out": o.not_ways_out,
            "off_road_checkpoints": o.off_road_checkpoints,
        })).collect::<Vec<_>>(),
    })
}

/// Where each containment ring is closed: crossings, how many have no
/// fixed checkpoint and how many outbound crossings were dropped as no way
/// out, ring 1 also per county-level area.
fn containment_table(c: &RingCrossings) -> String {
    let mut out = format!(
        "\nContainment rings: where roads a car can leave by cross each outline ({} places in all)\n",
        c.sites().len()
    );
    out.push_str(&format!(
        "{:<16} {:<8} {:>9} {:>14} {:>13}  name\n",
        "ring", "id", "crossings", "no checkpoint", "not ways out"
    ));
    for o in c.outlines() {
        out.push_str(&format!(
            "{:<16} {:<8} {:>9} {:>14} {:>13}  {}\n",
            ring_label(o.ring),
            o.id,
            o.sites.len(),
            c.without_checkpoint(o),
            o.not_ways_out,
            o.name
        ));
        if !o.off_road_checkpoints.is_empty() {
            out.push_str(&format!(
                "  checkpoints off every road: {}\n",
                o.off_road_checkpoints.join(", ")
            ));
        }
    }
    out
}
