//! `kuaifan-sim`: drills and load against the kuaifan dispatch engine.

mod load_command;

use clap::{Parser, Subcommand};

/// kuaifan-sim: drills and load against the kuaifan dispatch engine.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// An open-loop load generator against a live `kuaifan serve`.
    Load(load_command::Args),
}

fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
    let result = match Cli::parse().command {
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
