//! `kuaifan route`: road ETAs for pairs of locations, CSV in and CSV out.
//!
//! A bad row gets its reason in the `error` column and never stops the
//! others; only a problem with the whole input (no map, no header) fails the
//! command.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use kuaifan_engine::{LatLon, RoadGraph, RouteQuery, SnapConfig, Snapped};

use crate::network::NetworkArgs;

const HEADER: [&str; 4] = ["from_lat", "from_lon", "to_lat", "to_lon"];

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    network: NetworkArgs,
    /// CSV of pairs with the header from_lat,from_lon,to_lat,to_lon.
    #[arg(long, value_name = "FILE")]
    pairs: PathBuf,
    /// A location farther than this many metres from every road is refused.
    #[arg(long, value_name = "M", default_value_t = SnapConfig::default().limit_m)]
    snap_limit: f64,
}

pub fn run(args: &Args) -> Result<()> {
    if !(args.snap_limit.is_finite() && args.snap_limit > 0.0) {
        bail!(
            "--snap-limit must be a positive number of metres, not {}",
            args.snap_limit
        );
    }
    let snap = SnapConfig {
        limit_m: args.snap_limit,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(&args.pairs)
        .with_context(|| format!("opening pairs {}", args.pairs.display()))?;
    let header = reader
        .headers()
        .with_context(|| format!("reading the header of {}", args.pairs.display()))?;
    if header.iter().take(4).ne(HEADER) {
        bail!(
            "{}: the first line must be the header {}, found {:?}",
            args.pairs.display(),
            HEADER.join(","),
            header.iter().collect::<Vec<_>>().join(",")
        );
    }

    let network = args.network.load()?;
    let router = &network.router;
    let mut query = RouteQuery::new(router);
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    out.write_record(HEADER.iter().chain(&["eta_s", "distance_m", "error"]))?;
    let (mut answered, mut failed) = (0usize, 0usize);
    for (line, record) in reader.records().enumerate() {
        let (fields, answer) = match record {
            Ok(r) => {
                let fields: Vec<String> =
                    (0..4).map(|i| r.get(i).unwrap_or("").to_owned()).collect();
                let answer = if r.len() == 4 {
                    answer(router.graph(), &mut query, &fields, &snap)
                } else {
                    Err(format!("expected 4 fields, found {}", r.len()))
                };
                (fields, answer)
            }
            Err(e) => (
                vec![String::new(); 4],
                Err(format!("line {}: {e}", line + 2)),
            ),
        };
        let (eta, distance, error) = match answer {
            Ok((eta_s, distance_m)) => {
                answered += 1;
                (
                    format!("{eta_s:.3}"),
                    format!("{distance_m:.1}"),
                    String::new(),
                )
            }
            Err(e) => {
                failed += 1;
                (String::new(), String::new(), e)
            }
        };
        out.write_record(fields.iter().chain([&eta, &distance, &error]))?;
    }
    out.flush()?;
    std::io::stdout().flush()?;
    log::info!("answered {answered} pairs, {failed} with an error");
    Ok(())
}

/// The ETA in seconds and road distance in metres for one row.
fn answer(
    graph: &RoadGraph,
    query: &mut RouteQuery<'_>,
    fields: &[String],
    snap: &SnapConfig,
) -> Result<(f64, f64), String> {
    let number = |i: usize| -> Result<f64, String> {
        fields[i]
            .parse::<f64>()
            .map_err(|_| format!("{}: not a number: {:?}", HEADER[i], fields[i]))
    };
    let place = |lat: usize, end: &str| -> Result<Snapped, String> {
        let at = LatLon::new(number(lat)?, number(lat + 1)?).map_err(|e| format!("{end}: {e}"))?;
        graph.snap(at, snap).map_err(|e| format!("{e} ({end})"))
    };
    let from = place(0, "from")?;
    let to = place(2, "to")?;
    let cost = query.one_to_one(&from, &to);
    match cost.reachable() {
        Some(c) => Ok((c.seconds(), c.metres())),
        None => Err("unreachable".to_owned()),
    }
}
