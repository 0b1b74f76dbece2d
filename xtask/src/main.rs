//! Project automation, run as `cargo xtask <task>` (see `.cargo/config.toml`).
//!
//! - `bless`: re-record the snapshot files of the integration tests (the OpenAPI
//!   document) from the current code.
//! - `ci`: what `.ci/run` does (format check, clippy, tests), for running locally.
//! - `bench-http`: the built-in `echo` over HTTP against a native axum handler, with `wrk`
//!   (see `http_bench`).
//! - `bench-languages`: the JavaScript and Python greets over HTTP, fresh and in
//!   warm-instance mode, with `wrk` (see `lang_bench`).
//! - `screenshots`: a PNG of each view of the web console in `docs/screenshots/`, taken
//!   by the console's browser test (headless Chromium; needs `chromium-driver`).
//! - `toolchains`: install the other languages' toolchains the tests use (see
//!   `toolchains`).

use std::process::Command;

use anyhow::{Context, bail};

mod http_bench;
mod lang_bench;
mod screenshots;
mod toolchains;
mod wrk;

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("bless") => cargo(
            &[
                "test",
                "-p",
                "arsenal-tests",
                "--test",
                "it",
                "--",
                "openapi::",
            ],
            &[("ARSENAL_BLESS", "1")],
        ),
        Some("ci") => {
            cargo(&["fmt", "--all", "--", "--check"], &[])?;
            cargo(
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
                &[],
            )?;
            cargo(&["test", "--workspace"], &[])
        }
        Some("bench-http") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            http_bench::run(&args)
        }
        Some("bench-languages") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            lang_bench::run(&args)
        }
        Some("screenshots") => screenshots::take(),
        Some("toolchains") => toolchains::install(),
        _ => {
            bail!("usage: cargo xtask <bless|ci|bench-http|bench-languages|screenshots|toolchains>")
        }
    }
}

/// For a bench's smoke run: the debug builds of `cargo test --workspace` (a no-op after
/// the tests ran, and the same feature set, so nothing compiles again); their profile's
/// directory under `target/`.
fn build_for_smoke() -> anyhow::Result<&'static str> {
    cargo(&["test", "--workspace", "--no-run"], &[])?;
    Ok("debug")
}

/// Build the `arsenal` server with cargo profile `profile` (`release`, `production`).
fn build_server(profile: &str) -> anyhow::Result<()> {
    cargo(
        &[
            "build",
            "--profile",
            profile,
            "-p",
            "arsenal",
            "--bin",
            "arsenal",
        ],
        &[],
    )
}

fn cargo(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("failed to run {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed with {status}", args.join(" "));
    }
    Ok(())
}
