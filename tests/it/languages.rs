//! The greet example in every language it is written in, held to the same expectations:
//! the same description in the catalogue, the same answers through HTTP.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::{LogCapture, TestHost, guests};

/// Serve `component` alone and check it answers exactly as the Rust `examples/greet`.
async fn assert_greets_like_rust(component: &str) {
    let host = TestHost::with_settings(settings(), &[component]).await;
    let reply = host.get("/api/v1/greet/ann?times=2").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body,
        serde_json::json!({ "data": { "greeting": "hello, ann! hello, ann!" } })
    );
    let reply = host.get("/api/v1/greet/ann").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["greeting"], "hello, ann!", "the default");
    // JSON escapes in the name survive the round trip.
    let reply = host.get("/api/v1/greet/a%22b%5Cc%C3%A9?times=1").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["greeting"], "hello, a\"b\\cé!");
    let reply = host.get("/api/v1/greet/nobody").await;
    reply.assert_error(404, "not_found");
    assert_eq!(reply.body["error"]["message"], "there is nobody to greet");
    host.get("/api/v1/greet/ann?times=9")
        .await
        .assert_error(422, "validation_error");
    host.get("/api/v1/greet/ann?times=0")
        .await
        .assert_error(422, "validation_error");
    host.get(&format!("/api/v1/greet/{}", "x".repeat(33)))
        .await
        .assert_error(422, "validation_error");
    host.get("/api/v1/greet/ann?loud=1")
        .await
        .assert_error(422, "validation_error");

    assert_eq!(
        description(&host).await,
        description(&TestHost::new(&[guests::GREET]).await).await,
        "the catalogue describes it as the Rust greet"
    );
}

/// The test settings, with room to compile the big runtimes: an 18 MB Python component
/// compiles in ~5 s on an idle machine, and over 60 s (the default bound) on two cores
/// busy with a cargo build.
fn settings() -> arsenal::config::Settings {
    let mut settings = crate::settings();
    settings.compile.timeout_ms = 600_000;
    settings
}

/// Call `component` once and check its log line reaches the host's log as the Rust
/// greet's does. Runs on the calling thread: the subscriber is set for this thread only.
async fn assert_logs_like_rust(component: &str) {
    let host = TestHost::with_settings(settings(), &[component]).await;
    let buffer = LogCapture::default();
    let subscriber = buffer.json_subscriber();
    let reply = {
        let _logging = tracing::subscriber::set_default(subscriber);
        host.get("/api/v1/greet/ann?times=3").await
    };
    assert_eq!(reply.status, 200, "{}", reply.body);
    let text = buffer.text();
    let guest_lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("every line is JSON"))
        .filter(|line| line["target"] == "guest")
        .collect();
    assert_eq!(guest_lines.len(), 1, "{text}");
    assert_eq!(guest_lines[0]["level"], "INFO");
    assert_eq!(
        guest_lines[0]["fields"]["message"],
        "greeting ann 3 time(s)"
    );
    assert_eq!(guest_lines[0]["span"]["operation"], "greet");
}

/// The catalogue entry of `greet`, without what differs by build (file, content hash).
async fn description(host: &TestHost) -> Value {
    let reply = host.get("/api/v1/operations/greet").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut data = reply.body["data"].clone();
    let entry = data.as_object_mut().expect("an object");
    entry.retain(|key, _| !matches!(key.as_str(), "origin" | "content_hash"));
    data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greet_in_rust() {
    assert_greets_like_rust(guests::GREET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greet_in_wat() {
    assert_greets_like_rust(guests::GREET_WAT).await;
}

#[tokio::test(flavor = "current_thread")]
async fn greet_in_rust_logs() {
    assert_logs_like_rust(guests::GREET).await;
}

#[tokio::test(flavor = "current_thread")]
async fn greet_in_wat_logs() {
    assert_logs_like_rust(guests::GREET_WAT).await;
}

/// The Python greet, built once per test run: componentize-py (from PyPI, into a venv
/// under the target directory, installed on first use) with `--stub-wasi`, because the
/// CPython runtime imports `wasi:filesystem` and `wasi:sockets`, which the host never
/// grants to operations; the stubs trap if ever called, and greet calls none.
async fn greet_python() -> &'static str {
    static BUILT: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    BUILT
        .get_or_init(|| async {
            tokio::task::spawn_blocking(build_greet_python)
                .await
                .expect("the build thread finishes")
        })
        .await
}

/// The componentize-py release the examples are built and documented with.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

fn build_greet_python() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tools = Path::new(env!("CARGO_TARGET_TMPDIR")).join("toolchains/python");
    let componentize = tools.join("bin/componentize-py");
    if !componentize.is_file() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&tools));
        run(Command::new(tools.join("bin/pip")).args(["install", "--quiet", COMPONENTIZE_PY]));
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("greet-py.wasm");
    run(Command::new(&componentize)
        .arg("-d")
        .arg(root.join("wit/operation"))
        .args(["-w", "operation", "componentize", "--stub-wasi", "-p"])
        .arg(root.join("examples/greet-py"))
        .args(["app", "-o"])
        .arg(&out));
    out.to_str().expect("a UTF-8 path").to_owned()
}

/// Run a toolchain command; panic with its output when it fails.
fn run(command: &mut Command) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greet_in_python() {
    assert_greets_like_rust(greet_python().await).await;
}

#[tokio::test(flavor = "current_thread")]
async fn greet_in_python_logs() {
    let component = greet_python().await;
    assert_logs_like_rust(component).await;
}
