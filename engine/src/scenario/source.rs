//! Where a scenario's files come from: a directory, or bytes in memory
//! (such as a scenario compiled into the binary), with per-file overrides.

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

use crate::scenario::problem::ScenarioError;

/// The name of a scenario's description file in its source.
pub const SCENARIO_FILE: &str = "scenario.toml";

/// Where a scenario's files are read from. Files named in `scenario.toml`
/// are looked up here, relative to the source.
#[derive(Clone, Debug)]
pub enum ScenarioSource {
    /// A directory on disk.
    Dir(PathBuf),
    /// Files held in memory, by the names `scenario.toml` uses; for a
    /// scenario built into the program with `include_bytes!`, or for tests.
    Memory {
        /// How the source is shown in messages, such as `embedded:jincheng`.
        label: String,
        /// Each file's name and content.
        files: Vec<(PathBuf, Cow<'static, [u8]>)>,
    },
}

impl ScenarioSource {
    /// How the source is named in messages: its directory or label.
    pub fn label(&self) -> String {
        match self {
            ScenarioSource::Dir(dir) => dir.display().to_string(),
            ScenarioSource::Memory { label, .. } => label.clone(),
        }
    }

    /// How a file of this source is shown in messages.
    pub fn locate(&self, name: &Path) -> PathBuf {
        match self {
            ScenarioSource::Dir(dir) => dir.join(name),
            ScenarioSource::Memory { label, .. } => Path::new(label).join(name),
        }
    }

    /// The content of a file of this source.
    pub fn read(&self, name: &Path) -> Result<Cow<'_, [u8]>, ScenarioError> {
        let file = self.locate(name);
        match self {
            ScenarioSource::Dir(_) => std::fs::read(&file)
                .map(Cow::Owned)
                .map_err(|error| ScenarioError::Read { file, error }),
            ScenarioSource::Memory { files, .. } => files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, bytes)| Cow::Borrowed(bytes.as_ref()))
                .ok_or_else(|| ScenarioError::Read {
                    file,
                    error: io::Error::new(io::ErrorKind::NotFound, "no such file in the scenario"),
                }),
        }
    }
}

/// Files used instead of those `scenario.toml` names, each a path on disk
/// (relative to the working directory), for a city that brings its own map
/// extract, zones or units; and the prepared-network cache to use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScenarioOverrides {
    /// The OpenStreetMap extract.
    pub map: Option<PathBuf>,
    /// The zones GeoJSON.
    pub zones: Option<PathBuf>,
    /// The units TOML.
    pub units: Option<PathBuf>,
    /// The stations GeoJSON.
    pub stations: Option<PathBuf>,
    /// The rings GeoJSON.
    pub rings: Option<PathBuf>,
    /// A road profile TOML.
    pub profile: Option<PathBuf>,
    /// The move-up posts GeoJSON.
    pub posts: Option<PathBuf>,
    /// A prepared-network cache file: used when it was made from the same
    /// map and profile, (re)written when not.
    pub cache: Option<PathBuf>,
}

/// Reads a scenario file: the override when there is one, else the file the
/// source names. Returns how the file is shown in messages and its content.
pub(crate) fn read_file<'s>(
    source: &'s ScenarioSource,
    overriding: Option<&Path>,
    name: &Path,
) -> (PathBuf, Result<Cow<'s, [u8]>, ScenarioError>) {
    match overriding {
        Some(path) => (
            path.to_owned(),
            std::fs::read(path)
                .map(Cow::Owned)
                .map_err(|error| ScenarioError::Read {
                    file: path.to_owned(),
                    error,
                }),
        ),
        None => (source.locate(name), source.read(name)),
    }
}
