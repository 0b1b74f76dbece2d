//! `cargo xtask toolchains`: install the other languages' toolchains the tests build the
//! examples and scaffolds with, from the package registries, under
//! `target/tmp/toolchains/` (the tests' `CARGO_TARGET_TMPDIR`), plus Debian's clang for C.
//! Idempotent: what is already installed at the pinned version is left alone, so a second
//! run takes a moment. The tests never install anything: a missing toolchain fails them
//! with this command in the message.
//!
//! - `python/`: a venv with componentize-py (operations and workers in Python).
//! - `js/`: componentize-js (operations in JavaScript) and jco (typings from the WIT).
//! - `cargo/`: `wit-bindgen` (C bindings from the WIT).
//! - apt: clang, lld, wasi-libc and the wasm32 compiler runtime (C to `wasm32-wasi`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The componentize-py release, as pip names it.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";
/// The npm packages, as npm names them.
const NPM_PACKAGES: &[&str] = &[
    "@bytecodealliance/componentize-js@0.23.0",
    "@bytecodealliance/jco@1.35.0",
];
/// The wit-bindgen CLI, the same release as the guest crate the SDK uses.
const WIT_BINDGEN: (&str, &str) = ("wit-bindgen-cli", "0.63.0");
/// Debian packages for C to wasm32-wasi (bookworm: clang 14).
const APT_PACKAGES: &[&str] = &["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];

/// Install every toolchain that is missing.
pub(crate) fn install() -> anyhow::Result<()> {
    let dir = toolchains_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    python(&dir.join("python"))?;
    javascript(&dir.join("js"))?;
    wit_bindgen(&dir.join("cargo"))?;
    c_compiler()?;
    println!("toolchains ready in {}", dir.display());
    Ok(())
}

/// `target/tmp/toolchains`, where the integration tests look.
fn toolchains_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("tmp/toolchains")
}

fn python(venv: &Path) -> anyhow::Result<()> {
    let pip = venv.join("bin/pip");
    let pinned = COMPONENTIZE_PY.replace("==", " ");
    if succeeds(
        Command::new(venv.join("bin/componentize-py")).arg("--version"),
        &pinned,
    ) {
        return Ok(());
    }
    if !pip.is_file() {
        run(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    }
    run(Command::new(&pip).args(["install", "--quiet", COMPONENTIZE_PY]))
}

fn javascript(dir: &Path) -> anyhow::Result<()> {
    let installed = NPM_PACKAGES.iter().all(|package| {
        let (name, version) = package.rsplit_once('@').expect("name@version");
        std::fs::read_to_string(dir.join("node_modules").join(name).join("package.json"))
            .is_ok_and(|manifest| manifest.contains(&format!("\"version\": \"{version}\"")))
    });
    if installed {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let manifest = dir.join("package.json");
    if !manifest.is_file() {
        std::fs::write(&manifest, "{ \"private\": true }\n")?;
    }
    run(Command::new("npm")
        .current_dir(dir)
        .args(["install", "--no-audit", "--no-fund", "--save-exact"])
        .args(NPM_PACKAGES))
}

fn wit_bindgen(root: &Path) -> anyhow::Result<()> {
    let (krate, version) = WIT_BINDGEN;
    if succeeds(
        Command::new(root.join("bin/wit-bindgen")).arg("--version"),
        version,
    ) {
        return Ok(());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(Command::new(cargo)
        .args([
            "install",
            "--locked",
            "--quiet",
            krate,
            "--version",
            version,
            "--root",
        ])
        .arg(root))
}

fn c_compiler() -> anyhow::Result<()> {
    let installed = Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}\n"])
        .args(APT_PACKAGES)
        .output()
        .is_ok_and(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|line| line.ends_with(" installed"))
                    .count()
                    == APT_PACKAGES.len()
        });
    if installed {
        return Ok(());
    }
    let apt = |args: &[&str]| {
        let mut command = if is_root() {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        run(&mut command)
    };
    let install = |apt: &dyn Fn(&[&str]) -> anyhow::Result<()>| {
        let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
        args.extend(APT_PACKAGES);
        apt(&args)
    };
    install(&apt).or_else(|_| {
        apt(&["update", "-qq"])?;
        install(&apt)
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// Whether `command` runs, succeeds and prints `expected`.
fn succeeds(command: &mut Command, expected: &str) -> bool {
    command.output().is_ok_and(|out| {
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains(expected)
    })
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    println!("+ {command:?}");
    let status = command
        .status()
        .with_context(|| format!("failed to start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}
