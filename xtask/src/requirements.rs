//! What the tests, lints and benches need on the machine besides Rust itself, as lists of
//! [`Requirement`]s: each says how to tell it is there and how to install it. [`ensure`]
//! installs what is missing, printing each one's time, and is quick when everything is
//! there (every check is local: a file, a command's version, dpkg's status).
//!
//! To add a requirement of the tests: write its check and its install, and add it to
//! [`for_tests`] (a language toolchain goes to `toolchains::requirements` instead). System
//! packages come from Debian's apt ([`apt`]).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::{apt, toolchains};

/// Something a task needs: how to tell it is there, and how to install it.
pub(crate) struct Requirement {
    /// What it is, as the progress lines name it.
    pub(crate) name: &'static str,
    /// Whether it is there; local and quick.
    pub(crate) present: fn() -> bool,
    /// Install it; afterwards `present` holds.
    pub(crate) install: fn() -> anyhow::Result<()>,
}

/// The target the guests build for.
const WASM_TARGET: &str = "wasm32-wasip2";
/// Where the cluster tests look for `nats-server` (`tests/cluster/nats.rs`).
const NATS_SERVER: &[&str] = &[
    "/usr/sbin/nats-server",
    "/usr/bin/nats-server",
    "/usr/local/bin/nats-server",
];
/// The browser and its driver the console's browser test starts (`tests/console`).
const CHROMIUM: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromedriver"];

/// What `cargo xtask test` needs, in the order it is installed: the wasm target, the
/// other languages' toolchains, the cluster tests' `nats-server` and `openssl` (their TLS
/// certificates are made at run time), and the console test's Chromium.
pub(crate) fn for_tests() -> Vec<Requirement> {
    let mut all = vec![Requirement {
        name: "the wasm32-wasip2 target",
        present: wasm_target_present,
        install: || run(Command::new("rustup").args(["target", "add", WASM_TARGET])),
    }];
    all.extend(toolchains::requirements());
    all.extend([
        Requirement {
            name: "nats-server",
            present: || {
                NATS_SERVER.iter().any(|path| is_file(path)) || prints("nats-server", "--version")
            },
            install: || apt::install(&["nats-server"]),
        },
        Requirement {
            name: "openssl",
            present: || prints("openssl", "version"),
            install: || apt::install(&["openssl"]),
        },
        chromium(),
    ]);
    all
}

/// Chromium and chromedriver, for the console's browser test and its screenshots.
pub(crate) fn chromium() -> Requirement {
    Requirement {
        name: "chromium and chromedriver",
        present: || CHROMIUM.iter().all(|path| is_file(path)),
        install: || apt::install(&["chromium", "chromium-driver"]),
    }
}

/// What `cargo xtask lint` needs: rustfmt and clippy.
pub(crate) fn for_lints() -> Vec<Requirement> {
    vec![
        Requirement {
            name: "rustfmt",
            present: || cargo_prints("fmt"),
            install: || run(Command::new("rustup").args(["component", "add", "rustfmt"])),
        },
        Requirement {
            name: "clippy",
            present: || cargo_prints("clippy"),
            install: || run(Command::new("rustup").args(["component", "add", "clippy"])),
        },
    ]
}

/// `wrk`, the HTTP benches' load generator.
pub(crate) fn wrk() -> Requirement {
    Requirement {
        name: "wrk",
        // `wrk --version` prints its version and fails: that it starts is enough.
        present: || Command::new("wrk").arg("--version").output().is_ok(),
        install: || apt::install(&["wrk"]),
    }
}

/// Install every requirement of `list` that is missing, in order, printing each one's time.
pub(crate) fn ensure(list: &[Requirement]) -> anyhow::Result<()> {
    for requirement in list {
        let started = Instant::now();
        if (requirement.present)() {
            println!(
                "::: {}: present ({})",
                requirement.name,
                crate::seconds(started)
            );
            continue;
        }
        println!("::: {}: missing, installing", requirement.name);
        (requirement.install)()
            .with_context(|| format!("failed to install {}", requirement.name))?;
        if !(requirement.present)() {
            bail!("{} is still missing after its install", requirement.name);
        }
        println!(
            "::: {}: installed in {}",
            requirement.name,
            crate::seconds(started)
        );
    }
    Ok(())
}

/// Whether the toolchain's sysroot has the wasm target's standard library (with or without
/// rustup).
fn wasm_target_present() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        .is_some_and(|sysroot| {
            sysroot
                .join("lib/rustlib")
                .join(WASM_TARGET)
                .join("lib")
                .is_dir()
        })
}

fn is_file(path: &str) -> bool {
    std::path::Path::new(path).is_file()
}

/// Whether `program arg` runs and succeeds.
pub(crate) fn prints(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Whether `cargo <subcommand> --version` runs and succeeds.
fn cargo_prints(subcommand: &str) -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    Command::new(cargo)
        .args([subcommand, "--version"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Run `command`, echoing it, and fail unless it succeeds.
pub(crate) fn run(command: &mut Command) -> anyhow::Result<()> {
    println!("+ {command:?}");
    let status = command
        .status()
        .with_context(|| format!("failed to start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}
