//! `kuaifan-data`: writes (or checks) kuaifan's generated Jincheng scenario.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "kuaifan-data",
    about = "Generates kuaifan's default Jincheng scenario"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the map and scenario files.
    Generate {
        /// Directory to write into.
        #[arg(long, default_value = "data/jincheng")]
        out: PathBuf,
        #[arg(long, default_value_t = kuaifan_data::DEFAULT_SEED)]
        seed: u64,
        /// Compare with the files already there instead of writing; exit 1
        /// if any differs.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let Command::Generate { out, seed, check } = Cli::parse().command;
    let started = Instant::now();
    let generated = kuaifan_data::generate(seed)?;
    let elapsed = started.elapsed();
    let mut differ = Vec::new();
    for (name, bytes) in &generated.files {
        let path = out.join(name);
        if check {
            let existing =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            if &existing != bytes {
                differ.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        println!("{:>10} bytes  {}", bytes.len(), path.display());
    }
    let s = &generated.summary;
    println!(
        "{} nodes, {} ways; {} villages ({} townships); {} zones, {} units, {} stations, {} checkpoints, {} posts",
        s.nodes,
        s.ways,
        s.villages,
        s.townships,
        s.zones,
        s.units,
        s.stations,
        s.checkpoints,
        s.posts
    );
    println!(
        "roads leaving the city: {} into Henan, {} to other Shanxi cities; core: {} river and {} rail crossings",
        s.henan_crossings, s.city_crossings, s.river_crossings, s.rail_crossings
    );
    println!("generated in {:.1} s", elapsed.as_secs_f64());
    if !differ.is_empty() {
        bail!("generated output differs from {}", differ.join(", "));
    }
    Ok(())
}
