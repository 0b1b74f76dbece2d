//! Builds the built-in operations in `operations/` for wasm32-wasip2 and generates the
//! table that embeds them in the binary.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .and_then(|host| host.parent())
        .expect("host/core/ sits two levels below the workspace root");
    let operations = root.join("operations");
    let target = arsenal_guest_build::guest_target_dir("operations");
    let built = match arsenal_guest_build::build_workspace(&operations, &target) {
        Ok(built) => built,
        Err(error) => panic!("building the built-in operations failed: {error}"),
    };
    println!("cargo:rerun-if-changed={}", root.join("sdk").display());
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let mut table =
        String::from("/// `(crate name, component bytes)` of every built-in operation.\n");
    table.push_str("pub(crate) static BUILTIN_OPERATIONS: &[(&str, &[u8])] = &[\n");
    for (name, path) in &built {
        writeln!(
            table,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a string");
    }
    table.push_str("];\n");
    let out =
        PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("builtin_operations.rs");
    fs::write(out, table).expect("writing the built-in table");
}
