//! Project automation, run as `cargo xtask <task>` (see `.cargo/config.toml`).
//!
//! - `test [ARGS]`: the README's test command: installs what the tests need when it is
//!   missing, then runs every suite (see `test`).
//! - `setup`: only the installing part of `test` (see `requirements`).
//! - `lint`: `cargo fmt --check`, clippy with warnings denied, and the host crates' modules
//!   importing one way (see `module_graph`), as CI runs them.
//! - `bless`: re-record the snapshot files of the integration tests (the OpenAPI
//!   document) from the current code.
//! - `bench-http`: one JSON echo over HTTP, with `wrk`: a native axum handler, the peer
//!   `wasmtime serve`, and Arsenal's `echo` and a `wasi:http` component (see `http_bench`).
//! - `bench-languages`: the JavaScript and Python greets over HTTP, fresh and in
//!   warm-instance mode, with `wrk` (see `lang_bench`).
//! - `screenshots`: a PNG of each view of the web console in `docs/screenshots/`, taken
//!   by the console's browser test (headless Chromium).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

mod apt;
mod http_bench;
mod lang_bench;
mod module_graph;
mod requirements;
mod screenshots;
mod test;
mod toolchains;
mod wasmtime_cli;
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
        Some("test") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            test::run(&args)
        }
        Some("setup") => requirements::ensure(&requirements::for_tests()),
        Some("lint") => {
            phase("install the lints", || {
                requirements::ensure(&requirements::for_lints())
            })?;
            phase("cargo fmt --check", || {
                cargo(&["fmt", "--all", "--", "--check"], &[])
            })?;
            phase("module imports one way", || {
                module_graph::check(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").as_path())
            })?;
            phase("cargo clippy", || {
                cargo(
                    &[
                        "clippy",
                        "--workspace",
                        "--all-targets",
                        "--locked",
                        "--",
                        "-D",
                        "warnings",
                    ],
                    &[],
                )
            })
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
        _ => {
            bail!(
                "usage: cargo xtask <test [ARGS]|setup|lint|bless|bench-http|bench-languages|screenshots>"
            )
        }
    }
}

/// Run `step` as a phase named `name`: announced, then timed.
fn phase<T>(name: &str, step: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    println!("::: {name}");
    let started = Instant::now();
    let outcome = step();
    let verdict = if outcome.is_ok() {
        "took"
    } else {
        "failed after"
    };
    println!("::: {name} {verdict} {}", seconds(started));
    outcome
}

/// The time since `started`, in seconds, as the progress lines print it.
fn seconds(started: Instant) -> String {
    format!("{:.1}s", started.elapsed().as_secs_f64())
}

/// For a bench's smoke run: the debug builds of `cargo test --workspace` (a no-op after
/// the tests ran, and the same feature set, so nothing compiles again); their profile's
/// directory under `target/`.
fn build_for_smoke() -> anyhow::Result<&'static str> {
    cargo(&["test", "--workspace", "--no-run"], &[])?;
    Ok("debug")
}

/// The workspace's root directory.
fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").context("run through `cargo xtask`")?;
    Ok(Path::new(&manifest)
        .parent()
        .context("xtask sits in the workspace")?
        .to_owned())
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR` (relative to `root` when relative),
/// or `root/target`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
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
