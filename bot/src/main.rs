//! `chainsignal`: parse the command line and hand over to the library.

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let cli = chainsignal::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chainsignal: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(chainsignal::cli::main(cli));
    // A read of stdin blocks a thread until a line comes: do not wait for it at exit.
    runtime.shutdown_timeout(Duration::from_millis(500));
    code
}
