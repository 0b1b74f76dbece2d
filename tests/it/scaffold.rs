//! `arsenal new`: a project written into a temporary directory builds offline with its
//! one command and loads into a host unchanged.

use std::path::{Path, PathBuf};
use std::process::Command;

use arsenal::cli::Cli;
use clap::Parser as _;

use crate::TestHost;

/// One target directory for every scaffolded project, kept between runs: the projects'
/// crates compile once per machine.
fn author_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("author-projects")
}

/// Run `arsenal new NAME --dir DIR` in process; its output.
async fn arsenal_new(name: &str, dir: &Path) -> String {
    let cli = Cli::try_parse_from(["arsenal", "new", name, "--dir", dir.to_str().unwrap()])
        .expect("the command line parses");
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

    let host = TestHost::new(&[wasm.to_str().unwrap()]).await;
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
