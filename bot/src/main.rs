//! `chainsignal`: parse the command line and hand over to the library.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = chainsignal::cli::Cli::parse();
    chainsignal::cli::main(cli).await
}
