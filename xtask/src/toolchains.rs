//! The other languages' toolchains the tests build the examples and scaffolds with, as
//! requirements of the tests (see `requirements`): from the package registries, under
//! `target/tmp/toolchains/` (the tests' `CARGO_TARGET_TMPDIR`), plus Debian's clang for C.
//! What is already installed at the pinned version is left alone. The tests never install
//! anything: a missing toolchain fails them with `cargo xtask setup` in the message.
//!
//! - `python/`: a venv with componentize-py (operations and workers in Python), made with
//!   Debian's python3 and its venv module.
//! - `js/`: componentize-js (operations in JavaScript) and jco (typings from the WIT),
//!   installed by npm.
//! - `cargo/`: `wit-bindgen` (C bindings from the WIT).
//! - `schemathesis/`: a venv with schemathesis, which the conformance test
//!   (`tests/conformance`) runs against a live server and its OpenAPI document.
//! - apt: clang, lld, wasi-libc and the wasm32 compiler runtime (C to `wasm32-wasi`).
//!
//! To add a toolchain: a [`Requirement`] in [`requirements`], installing under
//! [`toolchains_dir`] where the tests look.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::apt;
use crate::requirements::{Requirement, prints, run};

/// The componentize-py release, as pip names it.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";
/// The schemathesis release, as pip names it.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// The npm packages, as npm names them.
const NPM_PACKAGES: &[&str] = &[
    "@bytecodealliance/componentize-js@0.23.0",
    "@bytecodealliance/jco@1.35.0",
];
/// The wit-bindgen CLI, the same release as the guest crate the SDK uses.
const WIT_BINDGEN: (&str, &str) = ("wit-bindgen-cli", "0.63.0");
/// Debian packages for C to wasm32-wasi (bookworm: clang 14).
const C_PACKAGES: &[&str] = &["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];

/// The toolchains, each after what it is installed with.
pub(crate) fn requirements() -> Vec<Requirement> {
    vec![
        Requirement {
            name: "python3 with venv and pip",
            present: || {
                Command::new("python3")
                    .args(["-m", "ensurepip", "--version"])
                    .output()
                    .is_ok_and(|out| out.status.success())
            },
            install: || apt::install_without_recommends(&["python3", "python3-venv"]),
        },
        Requirement {
            name: "componentize-py",
            present: || {
                answers(
                    Command::new(dir("python/bin/componentize-py")).arg("--version"),
                    &COMPONENTIZE_PY.replace("==", " "),
                )
            },
            install: install_componentize_py,
        },
        Requirement {
            name: "schemathesis",
            present: || {
                answers(
                    Command::new(dir("schemathesis/bin/st")).arg("--version"),
                    SCHEMATHESIS.split_once("==").expect("name==version").1,
                )
            },
            install: install_schemathesis,
        },
        Requirement {
            name: "npm",
            present: || prints("npm", "--version"),
            install: || apt::install_without_recommends(&["npm"]),
        },
        Requirement {
            name: "componentize-js and jco",
            present: npm_packages_present,
            install: install_npm_packages,
        },
        Requirement {
            name: "wit-bindgen",
            present: || {
                answers(
                    Command::new(dir("cargo/bin/wit-bindgen")).arg("--version"),
                    WIT_BINDGEN.1,
                )
            },
            install: install_wit_bindgen,
        },
        Requirement {
            name: "clang and wasi-libc",
            present: || apt::installed(C_PACKAGES),
            install: || apt::install_without_recommends(C_PACKAGES),
        },
    ]
}

/// `target/tmp/toolchains`, where the integration tests look.
pub(crate) fn toolchains_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("tmp/toolchains")
}

/// `path` under [`toolchains_dir`].
fn dir(path: &str) -> PathBuf {
    toolchains_dir().join(path)
}

fn install_componentize_py() -> anyhow::Result<()> {
    let venv = dir("python");
    if !venv.join("bin/pip").is_file() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", COMPONENTIZE_PY]))
}

/// In a venv of its own: its dependencies are not componentize-py's business.
fn install_schemathesis() -> anyhow::Result<()> {
    let venv = dir("schemathesis");
    if !venv.join("bin/pip").is_file() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", SCHEMATHESIS]))
}

fn npm_packages_present() -> bool {
    let modules = dir("js/node_modules");
    NPM_PACKAGES.iter().all(|package| {
        let (name, version) = package.rsplit_once('@').expect("name@version");
        std::fs::read_to_string(modules.join(name).join("package.json"))
            .is_ok_and(|manifest| manifest.contains(&format!("\"version\": \"{version}\"")))
    })
}

fn install_npm_packages() -> anyhow::Result<()> {
    let js = dir("js");
    std::fs::create_dir_all(&js)?;
    let manifest = js.join("package.json");
    if !manifest.is_file() {
        std::fs::write(&manifest, "{ \"private\": true }\n")?;
    }
    run(Command::new("npm")
        .current_dir(&js)
        .args(["install", "--no-audit", "--no-fund", "--save-exact"])
        .args(NPM_PACKAGES))
}

fn install_wit_bindgen() -> anyhow::Result<()> {
    let (krate, version) = WIT_BINDGEN;
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
        .arg(dir("cargo")))
}

/// Whether `command` runs, succeeds and prints `expected`.
fn answers(command: &mut Command, expected: &str) -> bool {
    command.output().is_ok_and(|out| {
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains(expected)
    })
}
