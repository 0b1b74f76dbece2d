//! `arsenal new`: a project written into a temporary directory builds offline with its
//! one command, passes its own test and loads into a host unchanged, in each language;
//! the typings a JavaScript or Python project gets are what the toolchains generate.

use std::path::{Path, PathBuf};
use std::process::Command;

use arsenal::cli::Cli;
use clap::Parser as _;

use crate::toolchains::{self, run};
use crate::{test_host, test_host_with};

/// One target directory for every scaffolded project, kept between runs: the projects'
/// crates compile once per machine.
fn author_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("author-projects")
}

/// Run `arsenal new NAME --dir DIR` in process; its output.
async fn arsenal_new(name: &str, dir: &Path) -> String {
    arsenal_new_in(name, "rust", dir).await
}

/// Run `arsenal new NAME --lang LANG --dir DIR` in process; its output.
async fn arsenal_new_in(name: &str, lang: &str, dir: &Path) -> String {
    let args = [
        "arsenal",
        "new",
        name,
        "--lang",
        lang,
        "--dir",
        dir.to_str().unwrap(),
    ];
    let cli = Cli::try_parse_from(args).expect("the command line parses");
    let mut out = Vec::new();
    let code = arsenal::cli::run(cli, &mut out)
        .await
        .expect("arsenal new runs");
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, 0, "{out}");
    out
}

/// `cargo ARGS` in `dir`, offline, with this test build's cargo settings removed.
fn cargo(dir: &Path, args: &[&str]) {
    let mut command = Command::new(env!("CARGO"));
    command.current_dir(dir).args(args);
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if (key.starts_with("CARGO_") && key != "CARGO_HOME")
            || matches!(
                key,
                "RUSTFLAGS" | "RUSTC_WRAPPER" | "RUSTC_WORKSPACE_WRAPPER"
            )
        {
            command.env_remove(key);
        }
    }
    let output = command
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TARGET_DIR", author_target_dir())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {args:?} in {} failed:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_rust_project_builds_offline_and_serves_unchanged() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("hello-there");
    let out = arsenal_new("hello-there", &dir).await;
    assert!(out.contains("cargo wasm"), "{out}");
    cargo(&dir, &["wasm"]);
    let wasm = author_target_dir().join("wasm32-wasip2/release/hello_there.wasm");

    let host = test_host(&[wasm.to_str().unwrap()]).await;
    let reply = host.get("/api/v1/hello-there/ann").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["greeting"], "hello, ann!");
    host.get("/api/v1/hello-there/nobody")
        .await
        .assert_error(404, "not_found");
    let operation = host.get("/api/v1/operations/hello_there").await;
    assert_eq!(
        operation.body["data"]["capabilities"],
        serde_json::json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arsenal_new_refuses_bad_names_and_full_directories() {
    let temp = tempfile::tempdir().unwrap();
    let run = |args: Vec<String>| async move {
        let cli = Cli::try_parse_from(args).expect("the command line parses");
        arsenal::cli::run(cli, &mut Vec::new()).await
    };
    let dir = temp.path().join("x");
    let bad = run(vec![
        "arsenal".into(),
        "new".into(),
        "Bad Name".into(),
        "--dir".into(),
        dir.display().to_string(),
    ])
    .await;
    let error = format!("{:#}", bad.expect_err("a bad name is refused"));
    assert!(error.contains("`Bad Name` as a project name"), "{error}");
    assert!(!dir.exists(), "nothing was written");

    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("keep.txt"), "mine").unwrap();
    let full = run(vec![
        "arsenal".into(),
        "new".into(),
        "fine".into(),
        "--dir".into(),
        dir.display().to_string(),
    ])
    .await;
    let error = format!("{:#}", full.expect_err("a full directory is refused"));
    assert!(error.contains("is not empty"), "{error}");
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "mine"
    );
}

/// The `arsenal` binary cargo built beside this test binary (`cargo test --workspace`
/// builds it for the host's own tests); a project's own test runs it.
fn arsenal_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let binary = profile_dir.join("arsenal");
    assert!(
        binary.is_file(),
        "{} is missing: build it with `cargo build -p arsenal` (`cargo test --workspace` does)",
        binary.display()
    );
    binary
}

/// `PATH` with `dir` first.
fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_owned()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

/// Serve `wasm` and check the scaffold's operation answers under `route`.
async fn assert_serves(wasm: &Path, route: &str, operation: &str) {
    let host = test_host_with(big_runtime_settings(), &[wasm.to_str().unwrap()]).await;
    let reply = host.get(&format!("/api/v1/{route}/ann")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["greeting"], "hello, ann!");
    host.get(&format!("/api/v1/{route}/nobody"))
        .await
        .assert_error(404, "not_found");
    let described = host.get(&format!("/api/v1/operations/{operation}")).await;
    assert_eq!(described.status, 200, "{}", described.body);
    assert_eq!(
        described.body["data"]["capabilities"],
        serde_json::json!([])
    );
}

/// Room to compile a 12-18 MB runtime on a busy machine (see `languages::settings`).
fn big_runtime_settings() -> arsenal::config::Settings {
    let mut settings = crate::settings();
    settings.compile.timeout_ms = 600_000;
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_javascript_project_builds_offline_tests_itself_and_serves_unchanged() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("hello-js");
    let out = arsenal_new_in("hello-js", "js", &dir).await;
    assert!(out.contains("npm run build"), "{out}");
    // Offline: the toolchain's commands on PATH stand in for `npm install`.
    let path = path_with(&toolchains::node_bin());
    let project = dir.clone();
    let npm = move |script: &str| {
        let mut command = Command::new("npm");
        command
            .current_dir(&project)
            .args(["run", script])
            .env("PATH", &path)
            .env("npm_config_offline", "true")
            .env("ARSENAL", arsenal_binary());
        command
    };
    tokio::task::spawn_blocking(move || {
        run(&mut npm("build"));
        run(&mut npm("test"));
    })
    .await
    .unwrap();
    assert_serves(
        &temp.path().join("hello-js/hello_js.wasm"),
        "hello-js",
        "hello_js",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_python_project_builds_offline_tests_itself_and_serves_unchanged() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("hello_py");
    let out = arsenal_new_in("hello_py", "python", &dir).await;
    assert!(out.contains("./build.sh"), "{out}");
    let build_dir = dir.clone();
    tokio::task::spawn_blocking(move || {
        run(Command::new(build_dir.join("build.sh"))
            .env("COMPONENTIZE_PY", toolchains::componentize_py()));
        run(Command::new("python3")
            .current_dir(&build_dir)
            .args(["-m", "unittest"])
            .env("ARSENAL", arsenal_binary()));
    })
    .await
    .unwrap();
    assert_serves(&dir.join("hello_py.wasm"), "hello_py", "hello_py").await;
}

/// The TypeScript declarations a JavaScript project gets are what jco writes for an
/// operation component of the current WIT (`jco transpile` of the JavaScript greet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_typings_match_the_wit() {
    let component = toolchains::greet_js().await;
    let out = tempfile::tempdir().unwrap();
    run(Command::new(toolchains::node_bin().join("jco"))
        .arg("transpile")
        .arg(component)
        .args(["--name", "operation", "--quiet", "-o"])
        .arg(out.path()));
    for (path, text) in arsenal::cli::typings(arsenal::cli::Lang::Js) {
        let generated = std::fs::read_to_string(out.path().join(path.trim_start_matches("types/")))
            .unwrap_or_else(|error| panic!("jco wrote no {path}: {error}"));
        // The world file's first line names the world; the template names it properly.
        let body = |text: &str| {
            text.lines()
                .skip(usize::from(path.ends_with("operation.d.ts")))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            body(text),
            body(&generated),
            "{path} is stale: copy it from `jco transpile`"
        );
    }
}

/// The `wit_world` package a Python project gets is what componentize-py writes for the
/// current WIT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_typings_match_the_wit() {
    let out = tempfile::tempdir().unwrap();
    run(Command::new(toolchains::componentize_py())
        .arg("-d")
        .arg(toolchains::root().join("wit/operation"))
        .args(["-w", "operation", "bindings"])
        .arg(out.path()));
    for (path, text) in arsenal::cli::typings(arsenal::cli::Lang::Python) {
        let generated = std::fs::read_to_string(out.path().join(&path))
            .unwrap_or_else(|error| panic!("componentize-py wrote no {path}: {error}"));
        assert_eq!(
            text, generated,
            "{path} is stale: copy it from `componentize-py bindings`"
        );
    }
}
