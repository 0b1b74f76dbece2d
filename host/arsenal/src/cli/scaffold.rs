//! `arsenal new`: scaffold an operation project anywhere on disk that builds offline.
//!
//! The binary carries what a project needs: the WIT packages and the SDK sources it was
//! built with (embedded here with `include_str!`), and the workspace's `Cargo.lock`, so
//! the project pins the very crate versions this build used and cargo finds them in its
//! local cache. When the Arsenal sources the binary was built from are still on disk, the
//! project also gets a test that loads its component into an in-process host through
//! `arsenal-testing`.
//!
//! JavaScript and Python projects get the WIT, the typings generated from it (TypeScript
//! declarations from jco, the `wit_world` package from componentize-py; kept in
//! `templates/` and checked against the toolchains by the tests), a one-command build and
//! a test that calls the component through `arsenal call`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The languages `arsenal new` writes projects in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A crate using the Arsenal SDK, built with `cargo wasm`.
    Rust,
    /// JavaScript, built with componentize-js (`npm run build`).
    Js,
    /// Python, built with componentize-py (`./build.sh`).
    Python,
}

/// A project could not be written.
#[derive(Debug, thiserror::Error)]
pub(super) enum ScaffoldError {
    #[error(
        "use `{0}` as a project name: it must start with a lowercase letter and hold only lowercase letters, digits, `-` and `_`"
    )]
    InvalidName(String),
    #[error("write into {0}: it exists and is not empty")]
    NotEmpty(PathBuf),
    #[error("write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The WIT packages, as `vendor/wit/<path>`.
const WIT: &[(&str, &str)] = &[
    ("deps/cli.wit", include_str!("../../../../wit/deps/cli.wit")),
    (
        "deps/clocks.wit",
        include_str!("../../../../wit/deps/clocks.wit"),
    ),
    (
        "deps/filesystem.wit",
        include_str!("../../../../wit/deps/filesystem.wit"),
    ),
    (
        "deps/http.wit",
        include_str!("../../../../wit/deps/http.wit"),
    ),
    ("deps/io.wit", include_str!("../../../../wit/deps/io.wit")),
    (
        "deps/random.wit",
        include_str!("../../../../wit/deps/random.wit"),
    ),
    (
        "deps/sockets.wit",
        include_str!("../../../../wit/deps/sockets.wit"),
    ),
    (
        "deps/keyvalue/atomic.wit",
        include_str!("../../../../wit/deps/keyvalue/atomic.wit"),
    ),
    (
        "deps/keyvalue/batch.wit",
        include_str!("../../../../wit/deps/keyvalue/batch.wit"),
    ),
    (
        "deps/keyvalue/store.wit",
        include_str!("../../../../wit/deps/keyvalue/store.wit"),
    ),
    (
        "deps/config/store.wit",
        include_str!("../../../../wit/deps/config/store.wit"),
    ),
    (
        "deps/config/world.wit",
        include_str!("../../../../wit/deps/config/world.wit"),
    ),
    (
        "deps/keyvalue/watch.wit",
        include_str!("../../../../wit/deps/keyvalue/watch.wit"),
    ),
    (
        "deps/keyvalue/world.wit",
        include_str!("../../../../wit/deps/keyvalue/world.wit"),
    ),
    (
        "operation/operation.wit",
        include_str!("../../../../wit/operation/operation.wit"),
    ),
    (
        "process/process.wit",
        include_str!("../../../../wit/process/process.wit"),
    ),
    (
        "runtime/distributed.wit",
        include_str!("../../../../wit/runtime/distributed.wit"),
    ),
    (
        "runtime/processes.wit",
        include_str!("../../../../wit/runtime/processes.wit"),
    ),
    (
        "runtime/sandboxes.wit",
        include_str!("../../../../wit/runtime/sandboxes.wit"),
    ),
    (
        "runtime/storage.wit",
        include_str!("../../../../wit/runtime/storage.wit"),
    ),
    (
        "runtime/supervisors.wit",
        include_str!("../../../../wit/runtime/supervisors.wit"),
    ),
    (
        "runtime/system.wit",
        include_str!("../../../../wit/runtime/system.wit"),
    ),
    (
        "runtime/tracing.wit",
        include_str!("../../../../wit/runtime/tracing.wit"),
    ),
    (
        "runtime/worlds.wit",
        include_str!("../../../../wit/runtime/worlds.wit"),
    ),
];

/// The SDK's sources, as `vendor/arsenal-sdk/src/<path>`.
const SDK_SOURCES: &[(&str, &str)] = &[
    (
        "__private.rs",
        include_str!("../../../../sdk/src/__private.rs"),
    ),
    (
        "bindings.rs",
        include_str!("../../../../sdk/src/bindings.rs"),
    ),
    ("config.rs", include_str!("../../../../sdk/src/config.rs")),
    (
        "distributed.rs",
        include_str!("../../../../sdk/src/distributed.rs"),
    ),
    ("error.rs", include_str!("../../../../sdk/src/error.rs")),
    ("http.rs", include_str!("../../../../sdk/src/http.rs")),
    (
        "keyvalue.rs",
        include_str!("../../../../sdk/src/keyvalue.rs"),
    ),
    ("lib.rs", include_str!("../../../../sdk/src/lib.rs")),
    ("log.rs", include_str!("../../../../sdk/src/log.rs")),
    ("page.rs", include_str!("../../../../sdk/src/page.rs")),
    (
        "processes.rs",
        include_str!("../../../../sdk/src/processes.rs"),
    ),
    ("request.rs", include_str!("../../../../sdk/src/request.rs")),
    (
        "sandboxes.rs",
        include_str!("../../../../sdk/src/sandboxes.rs"),
    ),
    ("storage.rs", include_str!("../../../../sdk/src/storage.rs")),
    (
        "supervisors.rs",
        include_str!("../../../../sdk/src/supervisors.rs"),
    ),
    ("system.rs", include_str!("../../../../sdk/src/system.rs")),
    ("tracing.rs", include_str!("../../../../sdk/src/tracing.rs")),
    (
        "variables.rs",
        include_str!("../../../../sdk/src/variables.rs"),
    ),
];

/// The SDK's manifest outside the Arsenal workspace: the same dependencies, spelled out
/// instead of inherited.
const SDK_MANIFEST: &str = r#"[package]
name = "arsenal-sdk"
description = "Write Arsenal operations (vendored by `arsenal new`)."
version = "0.1.0"
edition = "2024"
rust-version = "1.95"
license = "Apache-2.0"
publish = false

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
wit-bindgen = { version = "0.63", default-features = false, features = ["macros", "realloc"] }
wasip2 = "1.0.4"
"#;

/// The lock file of the workspace this binary was built in: every crate the SDK and
/// `arsenal-testing` need, at the versions this build used. Cargo drops what the project
/// does not use the first time it runs.
const LOCK: &str = include_str!("../../../../Cargo.lock");

/// `arsenal-testing` in the sources this binary was built from.
const TESTING_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing");

mod rust {
    pub(super) const MANIFEST: &str = include_str!("templates/rust/Cargo.toml.in");
    pub(super) const DEV_DEPENDENCIES: &str = include_str!("templates/rust/dev-dependencies.in");
    pub(super) const CONFIG: &str = include_str!("templates/rust/config.toml.in");
    pub(super) const LIB: &str = include_str!("templates/rust/lib.rs.in");
    pub(super) const TEST: &str = include_str!("templates/rust/test.rs.in");
    pub(super) const README: &str = include_str!("templates/rust/README.md.in");
}

mod js {
    pub(super) const PACKAGE: &str = include_str!("templates/js/package.json.in");
    pub(super) const JSCONFIG: &str = include_str!("templates/js/jsconfig.json.in");
    pub(super) const OPERATION: &str = include_str!("templates/js/operation.js.in");
    pub(super) const TEST: &str = include_str!("templates/js/operation.test.mjs.in");
    pub(super) const README: &str = include_str!("templates/js/README.md.in");
    /// TypeScript declarations of the operation world, as `types/<path>` (`jco transpile`
    /// of any operation component writes them).
    pub(super) const TYPES: &[(&str, &str)] = &[
        (
            "operation.d.ts",
            include_str!("templates/js/types/operation.d.ts"),
        ),
        (
            "interfaces/arsenal-operation-handler.d.ts",
            include_str!("templates/js/types/interfaces/arsenal-operation-handler.d.ts"),
        ),
        (
            "interfaces/arsenal-operation-log.d.ts",
            include_str!("templates/js/types/interfaces/arsenal-operation-log.d.ts"),
        ),
        (
            "interfaces/arsenal-operation-types.d.ts",
            include_str!("templates/js/types/interfaces/arsenal-operation-types.d.ts"),
        ),
    ];
}

mod python {
    pub(super) const APP: &str = include_str!("templates/python/app.py.in");
    pub(super) const BUILD: &str = include_str!("templates/python/build.sh.in");
    pub(super) const TEST: &str = include_str!("templates/python/test_operation.py.in");
    pub(super) const README: &str = include_str!("templates/python/README.md.in");
    /// The typed API of the operation world, as `componentize-py bindings` writes it.
    pub(super) const BINDINGS: &[(&str, &str)] = &[
        (
            "componentize_py_runtime.pyi",
            include_str!("templates/python/bindings/componentize_py_runtime.pyi"),
        ),
        (
            "componentize_py_types.py",
            include_str!("templates/python/bindings/componentize_py_types.py"),
        ),
        (
            "wit_world/__init__.py",
            include_str!("templates/python/bindings/wit_world/__init__.py"),
        ),
        (
            "wit_world/exports/__init__.py",
            include_str!("templates/python/bindings/wit_world/exports/__init__.py"),
        ),
        (
            "wit_world/exports/handler.py",
            include_str!("templates/python/bindings/wit_world/exports/handler.py"),
        ),
        (
            "wit_world/imports/__init__.py",
            include_str!("templates/python/bindings/wit_world/imports/__init__.py"),
        ),
        (
            "wit_world/imports/log.py",
            include_str!("templates/python/bindings/wit_world/imports/log.py"),
        ),
        (
            "wit_world/imports/types.py",
            include_str!("templates/python/bindings/wit_world/imports/types.py"),
        ),
    ];
}

/// The typings `arsenal new` writes for `lang`, as (path in the project, text); for the
/// test that compares them with what the toolchains generate.
pub fn typings(lang: Lang) -> Vec<(String, &'static str)> {
    match lang {
        Lang::Rust => Vec::new(),
        Lang::Js => js::TYPES
            .iter()
            .map(|(path, text)| (format!("types/{path}"), *text))
            .collect(),
        Lang::Python => python::BINDINGS
            .iter()
            .map(|(path, text)| ((*path).to_owned(), *text))
            .collect(),
    }
}

/// Write a new `lang` project named `name` into `dir` (created; it may exist if empty)
/// and say what was made on `out`.
pub(super) fn new_project(
    name: &str,
    lang: Lang,
    dir: &Path,
    out: &mut dyn Write,
) -> Result<(), ScaffoldError> {
    let names = Names::new(name)?;
    if fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ScaffoldError::NotEmpty(dir.to_owned()));
    }
    let testing = Path::new(TESTING_DIR);
    let testing = testing
        .is_dir()
        .then(|| testing.canonicalize().ok())
        .flatten();
    let (build, test) = match lang {
        Lang::Rust => {
            write_rust(dir, &names, testing.as_deref())?;
            ("cargo wasm", testing.map(|_| "cargo test"))
        }
        Lang::Js => {
            write_js(dir, &names)?;
            ("npm install && npm run build", Some("npm test"))
        }
        Lang::Python => {
            write_python(dir, &names)?;
            ("./build.sh", Some("python3 -m unittest"))
        }
    };
    let _ = writeln!(
        out,
        "created {} ({lang:?}) in {}\n  build:  cd {} && {build}",
        names.operation,
        dir.display(),
        dir.display()
    );
    match test {
        Some(test) => {
            let _ = writeln!(out, "  test:   {test}");
        }
        None => {
            let _ = writeln!(
                out,
                "  (no test: the Arsenal sources with `arsenal-testing` are not at {TESTING_DIR})"
            );
        }
    }
    Ok(())
}

/// The names a project derives from the one given.
struct Names {
    /// The crate, as given (`hello-world`).
    krate: String,
    /// The operation and the `.wasm` file stem (`hello_world`).
    operation: String,
}

impl Names {
    fn new(name: &str) -> Result<Names, ScaffoldError> {
        let mut chars = name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && name.len() <= 64;
        if !valid {
            return Err(ScaffoldError::InvalidName(name.to_owned()));
        }
        Ok(Names {
            krate: name.to_owned(),
            operation: name.replace('-', "_"),
        })
    }

    /// `template` with every `{{key}}` replaced.
    fn fill(&self, template: &str, testing: Option<&Path>) -> String {
        let dev_dependencies = match testing {
            Some(path) => {
                rust::DEV_DEPENDENCIES.replace("{{testing}}", &path.display().to_string())
            }
            None => String::new(),
        };
        template
            .replace("{{dev_dependencies}}", &dev_dependencies)
            .replace("{{crate}}", &self.krate)
            .replace("{{crate_file}}", &self.operation)
            .replace("{{operation}}", &self.operation)
            .replace("{{route}}", &self.krate)
    }
}

fn write_rust(dir: &Path, names: &Names, testing: Option<&Path>) -> Result<(), ScaffoldError> {
    write(dir, "Cargo.toml", &names.fill(rust::MANIFEST, testing))?;
    write(dir, "Cargo.lock", LOCK)?;
    write(
        dir,
        ".cargo/config.toml",
        &names.fill(rust::CONFIG, testing),
    )?;
    write(dir, ".gitignore", "/target\n")?;
    write(dir, "README.md", &names.fill(rust::README, testing))?;
    write(dir, "src/lib.rs", &names.fill(rust::LIB, testing))?;
    if testing.is_some() {
        write(dir, "tests/operation.rs", &names.fill(rust::TEST, testing))?;
    }
    write(dir, "vendor/arsenal-sdk/Cargo.toml", SDK_MANIFEST)?;
    for (path, text) in SDK_SOURCES {
        write(dir, &format!("vendor/arsenal-sdk/src/{path}"), text)?;
    }
    write_wit(dir, "vendor/wit")
}

fn write_js(dir: &Path, names: &Names) -> Result<(), ScaffoldError> {
    write(dir, "package.json", &names.fill(js::PACKAGE, None))?;
    write(dir, "jsconfig.json", js::JSCONFIG)?;
    write(dir, ".gitignore", "/node_modules\n*.wasm\n")?;
    write(dir, "README.md", &names.fill(js::README, None))?;
    write(dir, "src/operation.js", &names.fill(js::OPERATION, None))?;
    write(dir, "test/operation.test.mjs", &names.fill(js::TEST, None))?;
    for (path, text) in js::TYPES {
        write(dir, &format!("types/{path}"), text)?;
    }
    write_wit(dir, "wit")
}

fn write_python(dir: &Path, names: &Names) -> Result<(), ScaffoldError> {
    write(dir, "app.py", &names.fill(python::APP, None))?;
    write(dir, "build.sh", &names.fill(python::BUILD, None))?;
    make_executable(&dir.join("build.sh"))?;
    write(dir, "test_operation.py", &names.fill(python::TEST, None))?;
    write(dir, ".gitignore", "__pycache__/\n*.wasm\n")?;
    write(dir, "README.md", &names.fill(python::README, None))?;
    for (path, text) in python::BINDINGS {
        write(dir, path, text)?;
    }
    write_wit(dir, "wit")
}

/// The WIT packages under `dir/under`.
fn write_wit(dir: &Path, under: &str) -> Result<(), ScaffoldError> {
    for (path, text) in WIT {
        write(dir, &format!("{under}/{path}"), text)?;
    }
    Ok(())
}

fn make_executable(path: &Path) -> Result<(), ScaffoldError> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(|source| {
        ScaffoldError::Write {
            path: path.to_owned(),
            source,
        }
    })
}

fn write(dir: &Path, relative: &str, text: &str) -> Result<(), ScaffoldError> {
    let path = dir.join(relative);
    let written = path
        .parent()
        .map_or(Ok(()), fs::create_dir_all)
        .and_then(|()| fs::write(&path, text));
    written.map_err(|source| ScaffoldError::Write { path, source })
}

/// The embedded file lists, for the test that checks them against the source tree.
#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &str, extension: &str) -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut found = Vec::new();
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == extension) {
                    let relative = path.strip_prefix(&root).unwrap();
                    found.push(relative.to_str().unwrap().to_owned());
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn every_wit_and_sdk_source_is_embedded() {
        let embedded = |list: &[(&str, &str)]| {
            let mut names: Vec<String> = list.iter().map(|(path, _)| (*path).to_owned()).collect();
            names.sort();
            names
        };
        assert_eq!(embedded(WIT), files("../../wit", "wit"));
        assert_eq!(embedded(SDK_SOURCES), files("../../sdk/src", "rs"));
    }

    #[test]
    fn every_typing_in_the_templates_is_embedded() {
        let mut embedded: Vec<String> = typings(Lang::Js)
            .into_iter()
            .map(|(path, _)| path.trim_start_matches("types/").to_owned())
            .collect();
        embedded.sort();
        assert_eq!(embedded, files("src/cli/templates/js/types", "ts"));
        let mut embedded: Vec<String> = typings(Lang::Python)
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        embedded.sort();
        let mut found = files("src/cli/templates/python/bindings", "py");
        found.extend(files("src/cli/templates/python/bindings", "pyi"));
        found.sort();
        assert_eq!(embedded, found);
    }

    #[test]
    fn the_vendored_sdk_manifest_has_the_sdk_dependencies() {
        let sdk: toml::Table = include_str!("../../../../sdk/Cargo.toml").parse().unwrap();
        let vendored: toml::Table = SDK_MANIFEST.parse().unwrap();
        let names = |table: &toml::Table| {
            let mut names: Vec<String> = table["dependencies"]
                .as_table()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(&sdk), names(&vendored));
    }

    #[test]
    fn names_are_checked_and_derived() {
        let names = Names::new("hello-world").unwrap();
        assert_eq!(names.operation, "hello_world");
        for bad in ["", "Hello", "1st", "a b", "a/b", "é"] {
            assert!(
                matches!(Names::new(bad), Err(ScaffoldError::InvalidName(name)) if name == bad),
                "{bad}"
            );
        }
    }
}
