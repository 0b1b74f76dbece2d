//! Build-script support shared by `host/core/build.rs` (the built-in operations) and
//! `tests/build.rs` (the test guests): build a guest workspace for `wasm32-wasip2` with a
//! nested cargo, and turn WAT into components.
//!
//! The nested build runs in its own target directory with the outer build's compiler
//! flags scrubbed (they are for the host, not for wasm), and reports every source file it
//! read so cargo reruns the build script exactly when a guest changes. Also used by the
//! tests that build other languages' examples: a `wasm32-wasi` module made a component.

use std::collections::BTreeMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every guest is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// A failure of the guest build, with enough context to act on.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The built components of a guest workspace: crate name (with `-` as `_`) → `.wasm` path.
pub type Built = BTreeMap<String, PathBuf>;

/// Install the `wasm32-wasip2` standard library when the toolchain lacks it.
///
/// Machines here set `RUSTUP_AUTO_INSTALL=0`, so nothing installs it implicitly.
pub fn ensure_wasm_target() -> Result<(), Error> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output()?;
    let sysroot = PathBuf::from(String::from_utf8(sysroot.stdout)?.trim());
    if sysroot.join("lib/rustlib").join(TARGET).exists() {
        return Ok(());
    }
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()?;
    if !status.success() {
        return Err(format!("`rustup target add {TARGET}` failed with {status}").into());
    }
    Ok(())
}

/// Where nested builds put their output: beside the outer build's profile directories,
/// so debug and release builds of the host share one set of guests; one directory per
/// checkout of the sources (by the building package's path), so checkouts sharing one
/// target directory never overwrite each other's guests.
pub fn guest_target_dir(name: &str) -> PathBuf {
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    let profile_dir = out_dir
        .ancestors()
        .nth(3)
        .expect("OUT_DIR has the usual depth");
    let target_dir = profile_dir.parent().unwrap_or(profile_dir);
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set");
    let mut checkout = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&manifest_dir, &mut checkout);
    let checkout = std::hash::Hasher::finish(&checkout);
    target_dir
        .join("wasm-guests")
        .join(format!("{name}-{checkout:016x}"))
}

/// Build every `cdylib` of the guest workspace at `workspace` in release mode and return
/// the components. Prints `cargo:rerun-if-changed` for every file the build read.
pub fn build_workspace(workspace: &Path, target_dir: &Path) -> Result<Built, Error> {
    ensure_wasm_target()?;
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--release",
            "--workspace",
            "--target",
            TARGET,
            "--target-dir",
        ])
        .arg(target_dir)
        // JSON messages on stdout name this build's artifacts; diagnostics stay on stderr.
        .args(["--message-format", "json-render-diagnostics"]);
    scrub_environment(&mut command);
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!(
            "building the guests in {} failed:\n{}",
            workspace.display(),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );

    // Only the artifacts cargo reports for this build: the target directory still holds
    // the components of crates since removed from the workspace, which must not be used.
    let mut built = Built::new();
    for path in wasm_artifacts(&String::from_utf8(output.stdout)?) {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        track_dep_info(&path.with_extension("d"))?;
        built.insert(name, path);
    }
    Ok(built)
}

/// The `.wasm` files named by cargo's `compiler-artifact` messages (one JSON object per
/// line).
fn wasm_artifacts(messages: &str) -> Vec<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .flat_map(|message| {
            let filenames = message["filenames"].as_array().cloned().unwrap_or_default();
            filenames
                .into_iter()
                .filter_map(|name| name.as_str().map(str::to_owned))
        })
        .filter(|path| path.ends_with(".wasm"))
        .map(PathBuf::from)
        .collect()
}

/// Remove the outer build's settings that must not leak into a wasm build.
fn scrub_environment(command: &mut Command) {
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let leaks = key.starts_with("CARGO_")
            && key != "CARGO_HOME"
            && key != "CARGO_NET_OFFLINE"
            && !key.starts_with("CARGO_REGISTRIES_");
        if leaks
            || matches!(
                key,
                "RUSTFLAGS" | "RUSTC_WORKSPACE_WRAPPER" | "RUSTC_WRAPPER"
            )
        {
            command.env_remove(key);
        }
    }
}

/// Print `cargo:rerun-if-changed` for every source a guest was built from, as recorded in
/// its dep-info file (`<target>: <dep> <dep> ...`, spaces in paths escaped by `\`).
fn track_dep_info(dep_info: &Path) -> Result<(), Error> {
    let text = fs::read_to_string(dep_info)?;
    let Some((_, deps)) = text.lines().next().and_then(|line| line.split_once(": ")) else {
        return Ok(());
    };
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => {
                emit_rerun(&mut current);
            }
            c => current.push(c),
        }
    }
    emit_rerun(&mut current);
    Ok(())
}

fn emit_rerun(path: &mut String) {
    // Registry sources never change; tracking them only slows cargo's freshness check.
    if !path.is_empty() && !path.contains("/registry/src/") {
        println!("cargo:rerun-if-changed={path}");
    }
    path.clear();
}

/// Turn a WAT core module implementing `world` of the WIT packages in `wit_dirs` into a
/// component.
pub fn component_from_wat(wat: &str, wit_dirs: &[&Path], world: &str) -> Result<Vec<u8>, Error> {
    let mut module = wat::parse_str(wat)?;
    let mut resolve = wit_parser::Resolve::default();
    let mut main = None;
    for dir in wit_dirs {
        println!("cargo:rerun-if-changed={}", dir.display());
        let (package, _) = resolve.push_path(dir)?;
        main = Some(package);
    }
    let main = main.ok_or("no WIT directory given")?;
    let world = resolve.select_world(&[main], Some(world))?;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()?;
    Ok(component)
}

/// Make a component of a `wasm32-wasi` (preview 1) reactor module that already carries its
/// component type (as the object `wit-bindgen c` writes does): its preview 1 imports are
/// adapted to WASI p2 by the adapter of the wasmtime release the host is built with.
pub fn component_from_preview1_module(module: &[u8]) -> Result<Vec<u8>, Error> {
    let adapter = wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;
    let component = wit_component::ComponentEncoder::default()
        .module(module)?
        .adapter("wasi_snapshot_preview1", adapter)?
        .validate(true)
        .encode()?;
    Ok(component)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_artifacts_are_read_from_compiler_artifact_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"serde"},"filenames":["/t/libserde.rlib","/t/libserde.rmeta"],"fresh":true}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"a b"},"filenames":["/t/w\"x\\y\u00e9/a_b.wasm"],"fresh":false}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\n",
        );
        let expected = PathBuf::from("/t/w\"x\\y\u{e9}/a_b.wasm");
        assert_eq!(wasm_artifacts(messages), [expected]);
    }
}
