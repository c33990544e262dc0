//! `kuaifan graph-info`: what a map's routable graph holds, as JSON.

use anyhow::Result;

use crate::network::NetworkArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    network: NetworkArgs,
}

pub fn run(args: &Args) -> Result<()> {
    let network = args.network.load()?;
    let graph = network.router.graph();
    let b = graph.bounding_box();
    // OSM stores 1e-7 degrees; printing more digits shows only the noise of
    // the conversion to f64 (112.85300000000001).
    let degrees = |v: f64| (v * 1e7).round() / 1e7;
    let info = serde_json::json!({
        "nodes": graph.node_count(),
        "edges": graph.edge_count(),
        "dropped_nodes": graph.build_report().dropped_nodes,
        "bbox": {
            "min_lat": degrees(b.min_lat),
            "min_lon": degrees(b.min_lon),
            "max_lat": degrees(b.max_lat),
            "max_lon": degrees(b.max_lon),
        },
        "load_ms": network.load_time.as_millis() as u64,
        "prepare_ms": network.prepare_time.as_millis() as u64,
        "shortcuts": network.router.shortcut_count(),
        "from_cache": network.from_cache,
    });
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}
