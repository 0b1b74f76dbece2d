//! The greet example in every language it is written in, held to the same expectations:
//! the same description in the catalogue, the same answers through HTTP.

use arsenal_testing::{TestHost, Upstream};
use serde_json::Value;

use crate::toolchains::{check_site_py, fetch_js, greet_c, greet_js, greet_python};
use crate::{LogCapture, guests, test_host, test_host_with};

/// Serve `component` alone and check it answers exactly as the Rust `examples/greet`.
async fn assert_greets_like_rust(component: &str) {
    let host = test_host_with(settings(), &[component]).await;
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
        description(&test_host(&[guests::GREET]).await).await,
        "the catalogue describes it as the Rust greet"
    );
}

/// The test settings, with room to compile the big runtimes: an 18 MB Python component
/// can take longer than the default bound to compile on a machine busy with a cargo
/// build.
fn settings() -> arsenal::config::Settings {
    let mut settings = crate::settings();
    settings.compile.timeout_ms = 600_000;
    settings
}

/// Call `component` once and check its log line reaches the host's log as the Rust
/// greet's does. Runs on the calling thread: the subscriber is set for this thread only.
async fn assert_logs_like_rust(component: &str) {
    let host = test_host_with(settings(), &[component]).await;
    let buffer = LogCapture::default();
    let subscriber = buffer.json_subscriber();
    let reply = {
        let _logging = tracing::subscriber::set_default(subscriber);
        host.get("/api/v1/greet/ann?times=3").await
    };
    assert_eq!(reply.status, 200, "{}", reply.body);
    let guest_lines = buffer.lines("guest");
    assert_eq!(guest_lines.len(), 1, "{}", buffer.text());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greet_in_python() {
    assert_greets_like_rust(greet_python().await).await;
}

#[tokio::test(flavor = "current_thread")]
async fn greet_in_python_logs() {
    let component = greet_python().await;
    assert_logs_like_rust(component).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greet_in_c() {
    assert_greets_like_rust(greet_c().await).await;
}

#[tokio::test(flavor = "current_thread")]
async fn greet_in_c_logs() {
    let component = greet_c().await;
    assert_logs_like_rust(component).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greet_in_javascript() {
    assert_greets_like_rust(greet_js().await).await;
}

#[tokio::test(flavor = "current_thread")]
async fn greet_in_javascript_logs() {
    let component = greet_js().await;
    assert_logs_like_rust(component).await;
}

/// componentize-js with its optional WASI features off leaves the runtime nothing to
/// import but the operation's own `log`: the host loads it with no exception to its policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greet_in_javascript_imports_only_log() {
    let bytes = std::fs::read(greet_js().await).unwrap();
    let mut imports = arsenal::ComponentShape::read(&bytes).unwrap().imports;
    imports.sort();
    assert_eq!(
        imports,
        [
            "arsenal:operation/log@0.2.0",
            "arsenal:operation/types@0.2.0"
        ]
    );
}

/// `examples/fetch-js`: JavaScript's `fetch()` reaches a granted upstream through
/// `wasi:http`, and a destination outside the grant is the operation's 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_in_javascript_reaches_what_is_granted() {
    let app = axum::Router::new().route(
        "/status",
        axum::routing::get(|| async { axum::Json(serde_json::json!({ "up": true })) }),
    );
    let upstream = Upstream::start(app).await.unwrap();
    let host = TestHost::builder()
        .settings(|test| *test = settings())
        .operation(fetch_js().await)
        .grant("fetch_status", |grant| grant.upstream(&upstream))
        .start()
        .await
        .unwrap();

    let url = upstream.url("/status");
    let reply = host.get(&format!("/api/v1/fetch-status?url={url}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["data"],
        serde_json::json!({ "status": 200, "contentType": "application/json", "bytes": 11 })
    );
    let refused = host
        .get("/api/v1/fetch-status?url=http://127.0.0.1:9/status")
        .await;
    refused.assert_error(503, "unavailable");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("fetching http://127.0.0.1:9/status failed"),
        "{}",
        refused.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_calls_out_and_counts_in_key_value() {
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(|| async { (axum::http::StatusCode::ACCEPTED, "up") }),
    );
    let upstream = Upstream::start(app).await.unwrap();
    let host = TestHost::builder()
        .settings(|test| {
            *test = settings();
            // Its own bucket needs the capability only, no grant of a name.
            test.capabilities.directory.push("key_value".to_owned());
        })
        .operation(check_site_py().await)
        .grant("check_site", |grant| grant.upstream(&upstream))
        .start()
        .await
        .unwrap();

    let url = upstream.url("/health");
    for checks in 1..=2 {
        let reply = host
            .post("/api/v1/check-site", serde_json::json!({ "url": url }))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.body["data"],
            serde_json::json!({ "url": url, "status": 202, "checks": checks })
        );
    }
    // Outside the grant: the guest's request fails with the standard error code.
    let refused = host
        .post(
            "/api/v1/check-site",
            serde_json::json!({ "url": "http://127.0.0.1:9/health" }),
        )
        .await;
    refused.assert_error(503, "unavailable");
    assert!(
        refused
            .message()
            .starts_with("GET http://127.0.0.1:9/health "),
        "{}",
        refused.body
    );
}
