//! The API answers as its own document says. Schemathesis generates requests for every
//! endpoint and operation of the live `/api/v1/openapi.json` — valid ones and ones that
//! break the schema — sends them to a real server on loopback, and checks each answer:
//! no server error, a documented status, a documented content type, a body of the
//! documented schema, the documented headers.
//!
//! Three callers, one after the other: a viewer's key, no credential at all, then an
//! admin's key (last, as its requests change the host: they unload operations, start and
//! kill processes, make sandboxes; the host's state lives in a directory of its own that
//! goes with the test). Everything is tested, the destructive endpoints included: what an
//! unloaded operation answers (404, or 405 while another method remains at its path) is
//! in the document too.
//!
//! The run is bounded and repeatable: few examples per endpoint, generated
//! deterministically (the same requests every run), each request and each pass under a
//! timeout. Schemathesis is installed by `cargo xtask setup` (`cargo xtask test` does)
//! under `target/tmp/toolchains/schemathesis/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use arsenal::Role;
use arsenal::config::{ApiKey, Settings};
use tokio::net::TcpListener;
use tokio::process::Command;

const ADMIN: &str = "conformance-admin-key";
const VIEWER: &str = "conformance-viewer-key";

/// Test cases per endpoint and phase. Small: the run must stay within minutes.
const MAX_EXAMPLES: &str = "10";
/// Seconds one request may take before schemathesis counts it a failure: above the
/// host's call deadline (5 s), so a slow operation answers 504 rather than hangs.
const REQUEST_TIMEOUT: &str = "15";
/// The bound on one pass of schemathesis, whatever it does.
const PASS_TIMEOUT: Duration = Duration::from_secs(240);

/// The checks, each of every answer. `not_a_server_error` alone would pass an API that
/// answers anything below 500. Beyond conformance to the document: a request that breaks
/// the schema is refused, one without its credential gets no more than anonymous access,
/// and what was deleted stays gone. Not run: `positive_data_acceptance`, since schema-valid
/// requests naming what does not exist (a worker, a pid) are rightly refused.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,response_headers_conformance,ignored_auth,\
                      negative_data_rejection,missing_required_header,unsupported_method,\
                      use_after_free,ensure_resource_availability";

/// `schemathesis`' command line, which the test fails without.
fn schemathesis() -> PathBuf {
    let st = Path::new(env!("CARGO_TARGET_TMPDIR")).join("toolchains/schemathesis/bin/st");
    assert!(
        st.is_file(),
        "schemathesis is not installed ({} is missing): run `cargo xtask setup` (`cargo xtask test` does)",
        st.display()
    );
    st
}

/// This directory: the hooks and configuration schemathesis runs with.
fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

fn settings(state: &Path) -> Settings {
    let mut settings =
        Settings::default().with_cache_dir(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
    settings.server.state_dir = Some(state.to_owned());
    // Requests reach what is behind the rate limits (whose own answers are documented by
    // construction and tested in `tests/it/auth.rs`); with them on, a pass sending
    // requests back to back would mostly test 429s, and the anonymous pass's wrong
    // credentials would get the address refused for the admin pass after it.
    settings.rate_limits = arsenal::config::RateLimitSettings::off();
    settings.auth.keys = [
        ("admin", ADMIN, Role::Admin),
        ("viewer", VIEWER, Role::Viewer),
    ]
    .into_iter()
    .map(|(name, key, role)| ApiKey {
        name: name.to_owned(),
        sha256: arsenal::hash_key(key),
        roles: vec![role],
    })
    .collect();
    settings
}

/// One pass: schemathesis against `base`, the document read from `document`, as `key`'s
/// caller (or with no credential). `Err` holds its report when anything failed.
async fn pass(base: &str, document: &Path, key: Option<&str>) -> Result<(), String> {
    let mut command = Command::new(schemathesis());
    command
        // What it keeps between runs (`.schemathesis/`) goes with the test's directory.
        .current_dir(document.parent().expect("the document is in a directory"))
        .env("SCHEMATHESIS_HOOKS", here().join("hooks.py"))
        .arg("--config-file")
        .arg(here().join("schemathesis.toml"))
        .arg("--no-color")
        .arg("run")
        .arg(document)
        .args(["--url", base])
        .args(["--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES])
        .arg("--generation-deterministic")
        .args(["--request-timeout", REQUEST_TIMEOUT])
        // One at a time: the order of the requests, and so the host's state, repeat.
        .args(["--workers", "1"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(key) = key {
        command.args(["--header", &format!("Authorization: Bearer {key}")]);
    }
    let run = command.output();
    let output = match tokio::time::timeout(PASS_TIMEOUT, run).await {
        Ok(output) => output.map_err(|error| format!("schemathesis cannot start: {error}"))?,
        Err(_) => return Err(format!("schemathesis ran past {PASS_TIMEOUT:?}")),
    };
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_as_the_live_document_says() {
    schemathesis();
    let state = tempfile::tempdir().unwrap();
    let host = Arc::new(arsenal::Host::start(settings(state.path())).await.unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(arsenal::http::serve(host.clone(), listener, async move {
        let _ = stopped.await;
    }));

    // The document as the server serves it, read once: every pass tests the same one.
    let document = reqwest::Client::new()
        .get(format!("{base}/api/v1/openapi.json"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(document.status(), 200);
    let document_path = state.path().join("openapi.json");
    std::fs::write(&document_path, document.bytes().await.unwrap()).unwrap();

    let mut failures = Vec::new();
    for (caller, key) in [
        ("a viewer", Some(VIEWER)),
        ("no credential", None),
        ("an admin", Some(ADMIN)),
    ] {
        if let Err(report) = pass(&base, &document_path, key).await {
            failures.push(format!("==== as {caller} ====\n{report}"));
        }
    }

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    assert!(
        failures.is_empty(),
        "the API does not answer as its document says:\n{}",
        failures.join("\n")
    );
}
