//! Loading a prepared road network for a command: from the PBF, or from a
//! cache file made from the same PBF and profile.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use kuaifan_engine::{NetworkPhase, Profile, Router};

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
        let spinner = spinner("loading the road network");
        let loaded = Router::from_pbf_cached(
            &pbf,
            &profile,
            self.cache.as_deref(),
            &mut progress(&spinner),
        );
        spinner.finish_and_clear();
        let net = loaded.with_context(|| format!("loading map {}", self.osm.display()))?;
        Ok(Network {
            router: net.router,
            load_time: net.stats.load_time,
            prepare_time: net.stats.prepare_time,
            from_cache: net.stats.from_cache,
        })
    }
}

/// Shows each phase of loading a network on a spinner.
pub fn progress(spinner: &ProgressBar) -> impl FnMut(NetworkPhase) + '_ {
    |phase| {
        spinner.set_message(match phase {
            NetworkPhase::LoadingCache => "loading the prepared graph",
            NetworkPhase::ReadingMap => "reading the PBF",
            NetworkPhase::BuildingGraph => "building the graph",
            NetworkPhase::Preparing => "preparing the contraction hierarchy",
            NetworkPhase::WritingCache => "writing the cache",
            _ => "loading the road network",
        })
    }
}

/// A spinner on a terminal; nothing when stderr is redirected.
pub fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
