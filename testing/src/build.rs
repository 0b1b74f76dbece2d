//! `build_component`: build the operation or worker crate a test belongs to for
//! `wasm32-wasip2`, so `cargo test` always runs the component of the current sources.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target components are built for.
const TARGET: &str = "wasm32-wasip2";

/// The crate's component could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Cargo could not be run.
    #[error("run cargo")]
    Spawn(#[from] std::io::Error),
    /// Cargo ran and failed.
    #[error("build {manifest_dir}:\n{stderr}")]
    Failed {
        /// The crate built.
        manifest_dir: PathBuf,
        /// What cargo said.
        stderr: String,
    },
    /// The crate's manifest (this `Cargo.toml`) could not be read, or names no package.
    #[error("read the manifest of {0}")]
    Manifest(PathBuf),
    /// The build succeeded without making the component expected at this path.
    #[error("the build made no {0}")]
    Missing(PathBuf),
}

/// Build the `cdylib` crate at `manifest_dir` (pass `env!("CARGO_MANIFEST_DIR")`) in
/// release mode for `wasm32-wasip2` and return the component's path. The build uses its
/// own target directory (`target/arsenal-testing`), so it never waits on the `cargo test`
/// that runs it, and the test's compiler flags are not passed on.
pub fn build_component(manifest_dir: impl AsRef<Path>) -> Result<PathBuf, BuildError> {
    let manifest_dir = manifest_dir.as_ref();
    let name = package_name(manifest_dir)?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| manifest_dir.join("target"), PathBuf::from)
        .join("arsenal-testing");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(manifest_dir)
        .args([
            "build",
            "--release",
            "--lib",
            "--target",
            TARGET,
            "--target-dir",
        ])
        .arg(&target_dir);
    // The settings of the test build are for the host, not for wasm.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let leaks = key.starts_with("CARGO_")
            && key != "CARGO_HOME"
            && key != "CARGO_NET_OFFLINE"
            && !key.starts_with("CARGO_REGISTRIES_");
        if leaks
            || matches!(
                key,
                "RUSTFLAGS" | "RUSTC_WRAPPER" | "RUSTC_WORKSPACE_WRAPPER"
            )
        {
            command.env_remove(key);
        }
    }
    let output = command.output()?;
    if !output.status.success() {
        return Err(BuildError::Failed {
            manifest_dir: manifest_dir.to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let wasm = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    if wasm.is_file() {
        Ok(wasm)
    } else {
        Err(BuildError::Missing(wasm))
    }
}

/// The `name` of the `[package]` in `manifest_dir/Cargo.toml`.
fn package_name(manifest_dir: &Path) -> Result<String, BuildError> {
    let manifest = manifest_dir.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|_| BuildError::Manifest(manifest.clone()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|_| BuildError::Manifest(manifest.clone()))?;
    table
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(|name| name.as_str())
        .map(str::to_owned)
        .ok_or(BuildError::Manifest(manifest))
}
