//! Loading a prepared road network for a command: from the PBF, or from a
//! cache file made from the same PBF and profile.

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use kuaifan_engine::{CacheError, OsmRoads, PrepareConfig, Profile, RoadGraph, Router};

/// The options every command that needs a map takes.
#[derive(Debug, clap::Args)]
pub struct NetworkArgs {
    /// The OpenStreetMap extract (.osm.pbf).
    #[arg(long, value_name = "FILE")]
    pub osm: PathBuf,
    /// A TOML file changing the default car profile.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// A prepared-graph cache: used when it matches the map and profile,
    /// (re)written when it does not.
    #[arg(long, value_name = "FILE")]
    pub cache: Option<PathBuf>,
}

/// A loaded network and what loading it took.
pub struct Network {
    pub router: Router,
    pub load_time: Duration,
    pub prepare_time: Duration,
    pub from_cache: bool,
}

impl NetworkArgs {
    pub fn load(&self) -> Result<Network> {
        let profile = match &self.profile {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading profile {}", path.display()))?;
                Profile::from_toml(&text)
                    .with_context(|| format!("in profile {}", path.display()))?
            }
            None => Profile::default(),
        };
        let pbf = std::fs::read(&self.osm)
            .with_context(|| format!("reading map {}", self.osm.display()))?;
        let fingerprint = fingerprint(&pbf, &profile);

        if let Some(cache) = &self.cache
            && cache.exists()
        {
            let start = Instant::now();
            let spinner = spinner("loading the prepared graph");
            let loaded = File::open(cache)
                .map_err(CacheError::from)
                .and_then(|f| Router::load(fingerprint, &mut BufReader::new(f)));
            spinner.finish_and_clear();
            match loaded {
                Ok(router) => {
                    let load_time = start.elapsed();
                    log::info!(
                        "loaded the prepared graph from {} in {load_time:.2?}",
                        cache.display()
                    );
                    return Ok(Network {
                        router,
                        load_time,
                        prepare_time: Duration::ZERO,
                        from_cache: true,
                    });
                }
                Err(e) => log::warn!("not using cache {}: {e}; preparing again", cache.display()),
            }
        }

        let start = Instant::now();
        let spinner = spinner("reading the PBF");
        let roads = OsmRoads::from_pbf_bytes(&pbf, &profile)
            .with_context(|| format!("reading map {}", self.osm.display()))?;
        let read_time = start.elapsed();
        spinner.set_message("building the graph");
        let graph = RoadGraph::build(roads)
            .with_context(|| format!("building the graph of {}", self.osm.display()))?;
        let load_time = start.elapsed();
        let report = graph.build_report();
        log::info!(
            "read {} routable ways in {read_time:.2?}; built {} nodes, {} edges in {:.2?} (SCC {:.2?}), dropped {} of {} road nodes outside the largest strongly connected component",
            report.ways,
            graph.node_count(),
            graph.edge_count(),
            load_time - read_time,
            report.scc_time,
            report.dropped_nodes,
            report.road_nodes,
        );
        spinner.set_message("preparing the contraction hierarchy");
        let start = Instant::now();
        let router = Router::prepare(graph, &PrepareConfig::default());
        let prepare_time = start.elapsed();
        spinner.finish_and_clear();
        log::info!(
            "prepared {} shortcuts in {prepare_time:.2?}",
            router.shortcut_count()
        );

        if let Some(cache) = &self.cache {
            let start = Instant::now();
            let written = File::create(cache)
                .map_err(CacheError::from)
                .and_then(|f| router.save(fingerprint, &mut BufWriter::new(f)));
            match written {
                Ok(()) => log::info!("wrote {} in {:.2?}", cache.display(), start.elapsed()),
                Err(e) => log::warn!("could not write cache {}: {e}", cache.display()),
            }
        }
        Ok(Network {
            router,
            load_time,
            prepare_time,
            from_cache: false,
        })
    }
}

/// Identifies a map and profile: the cache is only valid for the same pair.
fn fingerprint(pbf: &[u8], profile: &Profile) -> u64 {
    let mut h = DefaultHasher::new();
    pbf.hash(&mut h);
    format!("{profile:?}").hash(&mut h);
    h.finish()
}

/// A spinner on a terminal; nothing when stderr is redirected.
fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
