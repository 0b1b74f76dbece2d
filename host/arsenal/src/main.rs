//! The `arsenal` binary.

use std::io::IsTerminal;
use std::process::ExitCode;

use arsenal::cli::{Cli, LogFormat};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The allocator of the whole server. Every request allocates and frees dozens of small
/// buffers (headers, parameters, spans, the guest's store), which mimalloc serves with
/// less work than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // Uploaded code compiles in a child process running this very executable.
    cli.compiler_program = std::env::current_exe().ok();
    let filter = EnvFilter::try_from_env("ARSENAL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person reading a terminal; in files they are noise,
        // and writing them is work on every line.
        .with_ansi(std::io::stderr().is_terminal());
    match cli.log_format {
        LogFormat::Json => subscriber.json().init(),
        LogFormat::Text => subscriber.init(),
    }
    // Deadlines need the multi-thread runtime: on a current-thread runtime timers are only
    // checked every 61 scheduler ticks while guests run.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout();
    match runtime.block_on(arsenal::cli::run(cli, &mut stdout)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
