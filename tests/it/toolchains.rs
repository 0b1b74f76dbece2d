//! The other languages' toolchains and the builds the tests make with them. They are
//! installed by `cargo xtask setup` (the first phase of the test command, `cargo xtask
//! test`) under `target/tmp/toolchains/`; a test never installs one, and fails naming
//! that command when one is missing. Each example is built once per test run, into `target/tmp/`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `cargo xtask setup` installs the toolchains.
fn toolchains() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("toolchains")
}

/// The repository root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `path`, which must exist; otherwise the test fails saying how to install `what`.
pub(crate) fn require(what: &str, path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{what} is not installed ({} is missing): run `cargo xtask setup` (`cargo xtask test` does)",
        path.display()
    );
    path
}

/// componentize-py, from PyPI.
pub(crate) fn componentize_py() -> PathBuf {
    require(
        "componentize-py",
        toolchains().join("python/bin/componentize-py"),
    )
}

/// The directory of componentize-js's and jco's commands, from npm.
pub(crate) fn node_bin() -> PathBuf {
    let bin = toolchains().join("js/node_modules/.bin");
    require("componentize-js", bin.join("componentize-js"));
    require("jco", bin.join("jco"));
    bin
}

/// `wit-bindgen` (the CLI, from crates.io), for C bindings.
pub(crate) fn wit_bindgen() -> PathBuf {
    require("wit-bindgen", toolchains().join("cargo/bin/wit-bindgen"))
}

/// Run a toolchain command; fail the test with its output when it fails.
pub(crate) fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?} cannot start: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Build once per test run with `build`, on a blocking thread; the path of what it made.
async fn built_once(
    cell: &'static tokio::sync::OnceCell<String>,
    build: fn() -> PathBuf,
) -> &'static str {
    cell.get_or_init(|| async {
        let path = tokio::task::spawn_blocking(build)
            .await
            .expect("the build thread finishes");
        path.to_str().expect("a UTF-8 path").to_owned()
    })
    .await
}

/// The Python greet, built once per test run.
pub(crate) async fn greet_python() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    built_once(&BUILT, build_greet_python).await
}

/// The JavaScript greet, built once per test run.
pub(crate) async fn greet_js() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    built_once(&BUILT, build_greet_js).await
}

/// The JavaScript `fetch()` example, built once per test run.
pub(crate) async fn fetch_js() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    built_once(&BUILT, build_fetch_js).await
}

/// The JavaScript `wasi:http` handler, built once per test run.
pub(crate) async fn http_js() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    built_once(&BUILT, build_http_js).await
}

/// The Python `wasi:http` handler, built once per test run.
pub(crate) async fn http_py() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    built_once(&BUILT, build_http_py).await
}

/// The Python WASI 0.3 `wasi:http` handler, built once per test run.
pub(crate) async fn http_py_p3() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    built_once(&BUILT, build_http_py_p3).await
}

/// The C `wasi:http` handler, built once per test run.
pub(crate) async fn http_c() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    built_once(&BUILT, build_http_c).await
}

/// The Python site checker, built once per test run.
pub(crate) async fn check_site_py() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    built_once(&BUILT, build_check_site_python).await
}

/// The C greet, built once per test run.
pub(crate) async fn greet_c() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    built_once(&BUILT, build_greet_c).await
}

/// `examples/greet-py` with componentize-py and `--stub-wasi`, as the language benches
/// build it: every WASI import is a stub that traps if called, and greet calls none.
fn build_greet_python() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("greet-py.wasm");
    run(Command::new(componentize_py())
        .arg("-d")
        .arg(root().join("wit/operation"))
        .args(["-w", "operation", "componentize", "--stub-wasi", "-p"])
        .arg(root().join("examples/greet-py"))
        .args(["app", "-o"])
        .arg(&out));
    out
}

/// `examples/check-site-py` with componentize-py and no stubs: its world adds
/// `wasi:http` and `wasi:keyvalue` to the operation world, and the CPython runtime's own
/// `wasi:filesystem` and `wasi:sockets` imports are linked closed by the host.
fn build_check_site_python() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check-site-py.wasm");
    let example = root().join("examples/check-site-py");
    run(Command::new(componentize_py())
        .arg("-d")
        .arg(root().join("wit/operation"))
        .arg("-d")
        .arg(example.join("wit"))
        .args(["-w", "example:check-site/check-site", "componentize", "-p"])
        .arg(&example)
        .args(["app", "-o"])
        .arg(&out));
    out
}

/// `examples/greet-js` with componentize-js, every optional WASI feature of its runtime
/// turned off (stdio, random, clocks, http, fetch-event): the component then imports
/// nothing but `arsenal:operation/log`.
fn build_greet_js() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("greet-js.wasm");
    run(Command::new(node_bin().join("componentize-js"))
        .arg(root().join("examples/greet-js/greet.js"))
        .arg("--wit")
        .arg(root().join("wit/operation"))
        .args(["--world-name", "operation", "--disable"])
        .args(["stdio", "random", "clocks", "http", "fetch-event"])
        .arg("--out")
        .arg(&out));
    out
}

/// `examples/fetch-js` with componentize-js, its `http` feature on and the others off: the
/// component imports `wasi:http` (and `wasi:io`) beside `arsenal:operation/log`.
fn build_fetch_js() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fetch-js.wasm");
    run(Command::new(node_bin().join("componentize-js"))
        .arg(root().join("examples/fetch-js/fetch.js"))
        .arg("--wit")
        .arg(root().join("wit/operation"))
        .args(["--world-name", "operation", "--disable"])
        .args(["stdio", "random", "clocks", "fetch-event"])
        .arg("--out")
        .arg(&out));
    out
}

/// `examples/http-js`, a fetch-event handler, with componentize-js against the world
/// `handler` of `tests/wit/http-handler` (it exports `wasi:http/incoming-handler`); its
/// `fetch-event` feature on, the others off. componentize-js 0.23's runtime is built
/// against WASI 0.2.10, so the WIT (0.2.12, wasmtime's) is copied at that version for it:
/// the interfaces it uses are the same in both.
fn build_http_js() -> PathBuf {
    let wit = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-handler-wit-0.2.10");
    let source = root().join("tests/wit/http-handler");
    for dir in ["", "deps"] {
        std::fs::create_dir_all(wit.join(dir)).unwrap();
        for entry in std::fs::read_dir(source.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "wit") {
                let text = std::fs::read_to_string(&path).unwrap();
                let lowered = text
                    .replace("@0.2.12", "@0.2.10")
                    .replace("version = 0.2.12", "version = 0.2.10");
                std::fs::write(wit.join(dir).join(path.file_name().unwrap()), lowered).unwrap();
            }
        }
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-js.wasm");
    run(Command::new(node_bin().join("componentize-js"))
        .arg(root().join("examples/http-js/handler.js"))
        .arg("--wit")
        .arg(&wit)
        .args(["--world-name", "handler", "--disable", "http"])
        .arg("--out")
        .arg(&out));
    out
}

/// `examples/http-py` with componentize-py against the world `handler` of
/// `tests/wit/http-handler`. Not `--stub-wasi`, which would stub `wasi:http` too: the
/// CPython runtime's `wasi:filesystem` and `wasi:sockets` imports are linked for a handler
/// with nothing to reach.
fn build_http_py() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-py.wasm");
    run(Command::new(componentize_py())
        .arg("-d")
        .arg(root().join("tests/wit/http-handler"))
        .args(["-w", "handler", "componentize", "-p"])
        .arg(root().join("examples/http-py"))
        .args(["app", "-o"])
        .arg(&out));
    out
}

/// `examples/http-py-p3` with componentize-py's async support against the world `http-p3`
/// of `tests/guests/http-p3/wit` (WASI 0.3.0's `wasi:http/service`, as the Rust guest).
fn build_http_py_p3() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-py-p3.wasm");
    run(Command::new(componentize_py())
        .arg("-d")
        .arg(root().join("tests/guests/http-p3/wit"))
        .args(["-w", "http-p3", "componentize", "-p"])
        .arg(root().join("examples/http-py-p3"))
        .args(["app", "-o"])
        .arg(&out));
    out
}

/// `examples/greet-c` against the world `operation`.
fn build_greet_c() -> PathBuf {
    build_c(
        "greet-c",
        "examples/greet-c/greet.c",
        &root().join("wit/operation"),
        "operation",
        "operation",
    )
}

/// `examples/http-c` against `wasi:http/proxy` (from `tests/wit/http-handler`, whose
/// `deps` is the repository's WASI WIT).
fn build_http_c() -> PathBuf {
    build_c(
        "http-c",
        "examples/http-c/handler.c",
        &root().join("tests/wit/http-handler"),
        "wasi:http/proxy@0.2.12",
        "proxy",
    )
}

/// A C example, `source`: bindings for `world` of `wit` by `wit-bindgen c` (named for the
/// world: `{stem}.h`, `{stem}.c`, `{stem}_component_type.o`), compiled by Debian's clang
/// against wasi-libc for `wasm32-wasi` (preview 1) as a reactor, then made a component with
/// the preview 1 adapter of the host's wasmtime release; `target/tmp/{name}.wasm`.
fn build_c(name: &str, source: &str, wit: &Path, world: &str, stem: &str) -> PathBuf {
    let clang = require("clang", PathBuf::from("/usr/bin/clang"));
    require("wasi-libc", PathBuf::from("/usr/lib/wasm32-wasi/libc.a"));
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&work).unwrap();
    run(Command::new(wit_bindgen())
        .arg("c")
        .arg(wit)
        .args(["--world", world, "--out-dir"])
        .arg(&work));
    let module = work.join(format!("{name}.core.wasm"));
    run(Command::new(clang)
        .args(["--target=wasm32-wasi", "-mexec-model=reactor", "-O2"])
        .args(["-Wall", "-Wextra", "-Werror", "-I"])
        .arg(&work)
        .arg(root().join(source))
        .arg(work.join(format!("{stem}.c")))
        .arg(work.join(format!("{stem}_component_type.o")))
        .arg("-o")
        .arg(&module));
    let module = std::fs::read(&module).unwrap();
    let component = arsenal_guest_build::component_from_preview1_module(&module)
        .unwrap_or_else(|error| panic!("the C module {source} does not make a component: {error}"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.wasm"));
    std::fs::write(&out, component).unwrap();
    out
}

/// The Python counter worker, built once per test run.
pub(crate) async fn counter_python() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    built_once(&BUILT, build_counter_python).await
}

/// `examples/counter-py` with componentize-py against the process world, without stubs:
/// the CPython runtime's `wasi:filesystem` and `wasi:sockets` are linked closed.
fn build_counter_python() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("counter-py.wasm");
    run(Command::new(componentize_py())
        .arg("-d")
        .arg(root().join("wit/operation"))
        .arg("-d")
        .arg(root().join("wit/process"))
        .args(["-w", "arsenal:process/worker-process", "componentize", "-p"])
        .arg(root().join("examples/counter-py"))
        .args(["worker", "-o"])
        .arg(&out));
    out
}
