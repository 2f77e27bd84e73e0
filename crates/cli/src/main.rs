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
    /// What `wasmleak node`'s JS runtime runs to instrument a module natively (not for users)
    #[command(name = "__instrument-for-js", hide = true)]
    InstrumentForJs(node::ForJs),
}

fn main() {
    let cli = Cli::parse();
    // A closed pipe on stdout (`wasmleak check … | head`) ends wasmleak as it ends `cat`, by SIGPIPE, rather
    // than as a panic in the next print (Rust ignores SIGPIPE by default). Not the server: a client that goes
    // away must not end it.
    #[cfg(unix)]
    if !matches!(cli.command, Command::Serve(_)) {
        // SAFETY: restoring a signal's default disposition at startup, before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
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
        Command::InstrumentForJs(o) => o.run(),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            std::process::exit(2);
        }
    }
}

/// The error once, with its cause chain: `context: cause: cause`, leaving out a cause the text before it
/// already says (a library error that quotes its own source, a context that repeats the path).
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.is_empty() {
            out = text;
        } else if !out.contains(text.as_str()) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cause_the_message_already_says_is_left_out() {
        let e = anyhow::anyhow!("unexpected end-of-file (at offset 0xa)").context("malformed module: unexpected end-of-file (at offset 0xa)");
        assert_eq!(super::chain(&e), "malformed module: unexpected end-of-file (at offset 0xa)");
        let e = anyhow::anyhow!("No such file or directory (os error 2)").context("cannot read x.wasm");
        assert_eq!(super::chain(&e), "cannot read x.wasm: No such file or directory (os error 2)");
    }
}
