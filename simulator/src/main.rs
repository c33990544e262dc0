//! `kuaifan-sim`: drills and load against the kuaifan dispatch engine.

mod drill_command;
mod load_command;

use clap::{Parser, Subcommand};

/// kuaifan-sim: drills and load against the kuaifan dispatch engine.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Each command's flags are boxed: there are many of them.
#[derive(Debug, Subcommand)]
enum Command {
    /// A simulated day of calls against the engine, in-process.
    Drill(Box<drill_command::Args>),
    /// An open-loop load generator against a live `kuaifan serve`.
    Load(Box<load_command::Args>),
}

fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
    let result = match Cli::parse().command {
        Command::Drill(args) => drill_command::run_drill(&args),
        Command::Load(args) => load_command::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
