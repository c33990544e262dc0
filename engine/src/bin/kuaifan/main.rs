//! `kuaifan`: the command line over the engine.

mod console;
mod dispatch;
mod graph_info;
mod network;
mod route;
mod scenario_info;
mod serve;

use clap::{Parser, Subcommand};

/// kuaifan: real-time spatial dispatch for police rapid response.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Without a command, kuaifan loads the built-in Jincheng scenario and
    /// reports it (`scenario-info`).
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load a map and print what the routable graph holds, as JSON.
    GraphInfo(graph_info::Args),
    /// Road ETAs for pairs of locations: CSV in, CSV out.
    Route(route::Args),
    /// A dispatcher's console for a running `kuaifan serve`.
    Console(console::Args),
    /// Run the dispatch engine over stdin/stdout: one JSON command per
    /// line, acknowledged once it is in the journal.
    Dispatch(dispatch::Args),
    /// Serve consoles and unit terminals over gRPC (default
    /// 127.0.0.1:50051, the built-in Jincheng scenario).
    Serve(serve::Args),
    /// Load and check a scenario; print what it holds and how much of the
    /// city its units reach in time from their standby points.
    ScenarioInfo(scenario_info::Args),
}

fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
    let command = Cli::parse()
        .command
        .unwrap_or_else(|| Command::ScenarioInfo(scenario_info::Args::default()));
    let result = match command {
        Command::Console(args) => console::run(&args),
        Command::Dispatch(args) => dispatch::run(&args),
        Command::GraphInfo(args) => graph_info::run(&args),
        Command::Route(args) => route::run(&args),
        Command::ScenarioInfo(args) => scenario_info::run(&args),
        Command::Serve(args) => serve::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
