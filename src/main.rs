//! The `feedfold` binary: parses arguments, sets up logging, runs the command and maps its
//! result to an exit code (0 success, 1 runtime failure, 2 usage or config error).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use feedfold::cli::{self, Cli};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = cli
        .log
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| cli::default_log_filter(&cli).to_string());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        // journald shows colour codes as garbage: colour only on a terminal.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    match cli::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", cli::render::escape_lines(&failure.message()));
            ExitCode::from(failure.code)
        }
    }
}
