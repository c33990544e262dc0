//! From map bytes to a prepared [`Router`], through a cache file when one
//! matches: the one way every command and the scenario loader get a network.

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::road::build::BuildError;
use crate::road::graph::RoadGraph;
use crate::road::osm::{OsmError, OsmRoads};
use crate::road::profile::Profile;
use crate::route::cache::CacheError;
use crate::route::contraction::PrepareConfig;
use crate::route::hierarchy::Router;

/// Why a map gave no network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// The PBF could not be read.
    #[error(transparent)]
    Osm(#[from] OsmError),
    /// The roads read do not make a routable graph.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// What loading a network is busy with, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkPhase {
    /// Reading a prepared network from the cache file.
    LoadingCache,
    /// Decoding the PBF.
    ReadingMap,
    /// Building the graph and its connected core.
    BuildingGraph,
    /// Building the contraction hierarchy.
    Preparing,
    /// Writing the cache file.
    WritingCache,
}

/// A prepared network and what getting it took.
#[derive(Debug)]
pub struct PreparedNetwork {
    /// The network.
    pub router: Router,
    /// How it was obtained.
    pub stats: NetworkStats,
}

/// How a network was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkStats {
    /// Reading the map and building the graph, or reading the cache.
    pub load_time: Duration,
    /// Building the hierarchy (zero when it came from the cache).
    pub prepare_time: Duration,
    /// Whether the cache file was used.
    pub from_cache: bool,
}

impl Router {
    /// Identifies a map and profile; a cache is only valid for the pair it
    /// was made from.
    pub fn fingerprint(pbf: &[u8], profile: &Profile) -> u64 {
        let mut h = DefaultHasher::new();
        pbf.hash(&mut h);
        format!("{profile:?}").hash(&mut h);
        h.finish()
    }

    /// Reads, builds and prepares the network of a PBF held in memory.
    ///
    /// With a `cache` path, a cache made from the same map and profile is
    /// loaded instead; a missing, stale or damaged one is logged, ignored and
    /// rewritten. A cache that cannot be written is only a warning: the
    /// network is still good.
    ///
    /// ```
    /// use kuaifan_engine::{Profile, Router};
    /// let pbf = std::fs::read("tests/fixtures/tiny.osm.pbf")?;
    /// let net = Router::from_pbf_cached(&pbf, &Profile::default(), None, &mut |_| {})?;
    /// assert_eq!(net.router.graph().node_count(), 9);
    /// assert!(!net.stats.from_cache);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_pbf_cached(
        pbf: &[u8],
        profile: &Profile,
        cache: Option<&Path>,
        progress: &mut dyn FnMut(NetworkPhase),
    ) -> Result<PreparedNetwork, NetworkError> {
        let fingerprint = Router::fingerprint(pbf, profile);
        if let Some(cache) = cache
            && cache.exists()
        {
            progress(NetworkPhase::LoadingCache);
            let start = Instant::now();
            let loaded = File::open(cache)
                .map_err(CacheError::from)
                .and_then(|f| Router::load(fingerprint, &mut BufReader::new(f)));
            match loaded {
                Ok(router) => {
                    let load_time = start.elapsed();
                    log::info!(
                        "loaded the prepared graph from {} in {load_time:.2?}",
                        cache.display()
                    );
                    return Ok(PreparedNetwork {
                        router,
                        stats: NetworkStats {
                            load_time,
                            prepare_time: Duration::ZERO,
                            from_cache: true,
                        },
                    });
                }
                Err(e) => log::warn!("not using cache {}: {e}; preparing again", cache.display()),
            }
        }

        progress(NetworkPhase::ReadingMap);
        let start = Instant::now();
        let roads = OsmRoads::from_pbf_bytes(pbf, profile)?;
        let read_time = start.elapsed();
        progress(NetworkPhase::BuildingGraph);
        let graph = RoadGraph::build(roads)?;
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

        progress(NetworkPhase::Preparing);
        let start = Instant::now();
        let router = Router::prepare(graph, &PrepareConfig::default());
        let prepare_time = start.elapsed();
        log::info!(
            "prepared {} shortcuts in {prepare_time:.2?}",
            router.shortcut_count()
        );

        if let Some(cache) = cache {
            progress(NetworkPhase::WritingCache);
            let start = Instant::now();
            let written = File::create(cache)
                .map_err(CacheError::from)
                .and_then(|f| router.save(fingerprint, &mut BufWriter::new(f)));
            match written {
                Ok(()) => log::info!("wrote {} in {:.2?}", cache.display(), start.elapsed()),
                Err(e) => log::warn!("could not write cache {}: {e}", cache.display()),
            }
        }
        Ok(PreparedNetwork {
            router,
            stats: NetworkStats {
                load_time,
                prepare_time,
                from_cache: false,
            },
        })
    }
}
