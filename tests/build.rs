//! Builds the test guests and generates `$OUT_DIR/guests.rs`, one path constant per guest.
//!
//! - The Rust guests in `guests/` are built for wasm32-wasip2 by a nested cargo into a
//!   private target directory (see `arsenal-guest-build`); cargo reruns this script when
//!   any of their sources change, so tests never run stale wasm.
//! - The example operations in `../examples/` are built the same way.
//! - `../examples/greet-wat/greet.wat` becomes a component of world
//!   `arsenal:operation/operation`, and `wat/table_bomb.wat` one of the earlier contract's
//!   (0.1.0, the host's frozen copy of its WIT).
//! - `core_module` (a plain core module, not a component) and `malformed` (truncated
//!   garbage with a wasm header) are written directly.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use arsenal_guest_build::{Built, Error, build_workspace, component_from_wat, guest_target_dir};

fn main() -> Result<(), Error> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let guests = manifest_dir.join("guests");
    // The whole guest workspace, so a new crate or a changed manifest or WIT file triggers
    // a rebuild too; the dep-info of each built guest covers only its Rust sources.
    println!("cargo:rerun-if-changed={}", guests.display());
    let mut built = build_workspace(&guests, &guest_target_dir("test-guests"))?;
    // The examples are tested like any author's operation.
    let examples = manifest_dir.join("../examples");
    println!("cargo:rerun-if-changed={}", examples.display());
    built.extend(build_workspace(&examples, &guest_target_dir("examples"))?);

    let wat_path = manifest_dir.join("wat/table_bomb.wat");
    println!("cargo:rerun-if-changed={}", wat_path.display());
    let wat = fs::read_to_string(&wat_path)?;
    let operation_wit = manifest_dir.join("../wit/operation");
    let operation_wit_0_1_0 = manifest_dir.join("../host/engine/wit/operation-0.1.0");
    for wit in [&operation_wit, &operation_wit_0_1_0] {
        println!("cargo:rerun-if-changed={}", wit.display());
    }
    let table_bomb = component_from_wat(&wat, &[&operation_wit_0_1_0], "operation")?;
    write(&mut built, &out_dir, "table_bomb", &table_bomb)?;

    // The greet example in other languages, each built from source (see `languages.rs`).
    let greet_wat_path = manifest_dir.join("../examples/greet-wat/greet.wat");
    println!("cargo:rerun-if-changed={}", greet_wat_path.display());
    let greet_wat = fs::read_to_string(&greet_wat_path)?;
    let greet_wat = component_from_wat(&greet_wat, &[&operation_wit], "operation")?;
    write(&mut built, &out_dir, "greet_wat", &greet_wat)?;

    let core_module = wat::parse_str(r#"(module (func (export "f")))"#)?;
    write(&mut built, &out_dir, "core_module", &core_module)?;

    // The magic number and a plausible version, then bytes that are no section at all.
    let malformed = b"\0asm\x0d\x00\x01\x00garbage";
    write(&mut built, &out_dir, "malformed", malformed)?;

    fs::write(out_dir.join("guests.rs"), constants(&built)?)?;
    Ok(())
}

/// Write a hand-made guest to `$OUT_DIR/<name>.wasm` and add it to `built`.
fn write(built: &mut Built, out_dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = out_dir.join(format!("{name}.wasm"));
    fs::write(&path, bytes)?;
    built.insert(name.to_owned(), path);
    Ok(())
}

/// `pub const NAME: &str = "/abs/path/name.wasm";` per guest, then `ALL`.
fn constants(built: &Built) -> Result<String, Error> {
    let mut code = String::new();
    let mut all = String::new();
    for (name, path) in built {
        let path = path
            .to_str()
            .ok_or_else(|| format!("guest path {} is not UTF-8", path.display()))?;
        let constant = name.to_uppercase();
        writeln!(code, "/// The `{name}` test guest.")?;
        writeln!(code, "pub const {constant}: &str = {path:?};")?;
        writeln!(all, "    ({name:?}, {constant}),")?;
    }
    writeln!(code, "/// Every test guest: (name, path).")?;
    writeln!(code, "pub const ALL: &[(&str, &str)] = &[\n{all}];")?;
    Ok(code)
}
