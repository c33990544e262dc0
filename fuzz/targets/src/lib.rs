//! What kuaifan's fuzz targets run. Each function takes the fuzzer's bytes
//! and panics on a finding: a panic inside kuaifan, a broken invariant, or
//! an error of a kind the interface does not document.
//!
//! The same functions serve two callers: the libFuzzer harnesses in
//! `fuzz/fuzz_targets/` (nightly runtime, sanitizers, coverage feedback),
//! and `tests/corpus.rs`, which replays every committed corpus file on
//! stable Rust so that each crash ever found stays fixed.

pub mod commands;
mod fixture;
pub mod pbf;
pub mod requests;
pub mod scenario;

/// A target: it runs one input, and panics on a finding.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/corpus/<name>/` holds their corpora.
pub const TARGETS: [(&str, Target); 4] = [
    ("pbf", pbf::run),
    ("scenario", scenario::run),
    ("requests", requests::run),
    ("commands", commands::run),
];

/// The committed corpus of a target: `fuzz/corpus/<target>/`, sorted.
pub fn corpus(target: &str) -> std::io::Result<Vec<std::path::PathBuf>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    let mut files = std::fs::read_dir(&dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()?;
    files.retain(|path| path.is_file());
    files.sort();
    Ok(files)
}
