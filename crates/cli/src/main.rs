//! `wasmleak`: one binary, one file per subcommand; the work is in the library crates.

mod check;
mod common;
mod diff;
mod dis;
mod export;
mod inspect;
mod instrument;
mod node;
mod run;
mod serve;
mod why;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "wasmleak", version, about = "Memory-leak detector and heap profiler for WebAssembly")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(check::Opts),
    Run(run::Opts),
    Instrument(instrument::Opts),
    Inspect(inspect::Opts),
    Dis(dis::Opts),
    Export(export::Opts),
    Diff(diff::Opts),
    Why(why::Opts),
    Node(node::Opts),
    Serve(serve::Opts),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(o) => o.run(),
        Command::Run(o) => o.run(),
        Command::Instrument(o) => o.run(),
        Command::Inspect(o) => o.run(),
        Command::Dis(o) => o.run(),
        Command::Export(o) => o.run(),
        Command::Diff(o) => o.run(),
        Command::Why(o) => o.run(),
        Command::Node(o) => o.run(),
        Command::Serve(o) => o.run(),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // Once, with its cause chain.
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
