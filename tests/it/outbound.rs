//! Outbound HTTP (`wasi:http/outgoing-handler`), through the router, against real HTTP
//! servers on 127.0.0.1 (`Upstream`s): a destination inside the grant is reached, one
//! outside it fails in the guest with the standard code; a name or a wildcard reaching
//! loopback is refused on the resolved address; a redirect is checked again; a slow
//! upstream is bounded by the call's deadline, a huge body by the cap, the requests of a
//! call by their number; the calling request's trace goes along; the destinations reached
//! are counted and audited.

use arsenal::config::Settings;
use arsenal_testing::{Grant, TestHost, Upstream};
use arsenal_wasi::http::DestinationPattern;
use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::Method;
use serde_json::{Value, json};

use crate::{builder, guests, settings};

const CALL: &str = "/api/v1/test/outbound";

/// An upstream on 127.0.0.1 answering `/ok`, a redirect, a response that never comes and
/// a huge body.
async fn upstream() -> Upstream {
    let routes = Router::new()
        .route("/ok", get(|| async { "hello" }))
        .route("/redirect", get(redirect))
        .route("/slow", get(std::future::pending::<&'static str>))
        .route("/huge", get(huge));
    Upstream::start(routes).await.unwrap()
}

async fn redirect(Query(query): Query<std::collections::HashMap<String, String>>) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, query["to"].clone())]).into_response()
}

/// Four MiB, in 64 KiB chunks.
async fn huge() -> Body {
    let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
    let chunks = (0..64).map(move |_| Ok::<_, std::convert::Infallible>(chunk.clone()));
    Body::from_stream(futures::stream::iter(chunks))
}

fn patterns(texts: &[&str]) -> Vec<DestinationPattern> {
    texts.iter().map(|text| text.parse().unwrap()).collect()
}

/// A host with the `outbound_call` guest granted what `grant` adds, on the test settings
/// changed by `change`.
async fn host(grant: impl FnOnce(Grant) -> Grant, change: impl FnOnce(&mut Settings)) -> TestHost {
    builder()
        .settings(change)
        .operation(guests::OUTBOUND_CALL)
        .grant("outbound_call", grant)
        .start()
        .await
        .unwrap()
}

/// A host with the `outbound_call` guest granted `upstream`.
async fn granted(upstream: &Upstream) -> TestHost {
    host(|grant| grant.upstream(upstream), |_| {}).await
}

/// `GET /metrics`, as text.
async fn metrics_text(host: &TestHost) -> String {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = http::Request::get("/metrics").body(Body::empty()).unwrap();
    let response = host.router().clone().oneshot(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Call the guest; the results of its requests.
async fn call(host: &TestHost, params: Value) -> Vec<Value> {
    let reply = host.post(CALL, params).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"]["results"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_destination_is_reached_and_another_is_denied() {
    let upstream = upstream().await;
    let other = self::upstream().await;
    let host = granted(&upstream).await;

    let reached = call(&host, json!({ "url": upstream.url("/ok") })).await;
    assert_eq!(reached[0]["status"], 200, "{reached:?}");
    assert_eq!(reached[0]["body"], "hello");

    let denied = call(&host, json!({ "url": other.url("/ok") })).await;
    assert_eq!(denied[0]["error"], "HttpRequestDenied", "{denied:?}");
    assert!(other.requests().is_empty());

    let catalogue = host.get("/api/v1/operations/outbound_call").await;
    assert_eq!(
        catalogue.body["data"]["granted"]["outbound_hosts"],
        json!([upstream.origin()])
    );
    let text = metrics_text(&host).await;
    assert!(
        text.contains(r#"arsenal_outbound_requests_total{host="127.0.0.1",status="200"} 1"#)
            && text
                .contains(r#"arsenal_outbound_requests_total{host="127.0.0.1",status="denied"} 1"#),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_refused_on_the_resolved_address_unless_named() {
    let upstream = upstream().await;
    let port = upstream.port();
    // A wildcard grant reaches public addresses only: `localhost` resolves to loopback.
    let host = host(|grant| grant.outbound(format!("http://*:{port}")), |_| {}).await;
    let by_name = format!("http://localhost:{port}/ok");
    let refused = call(&host, json!({ "url": by_name })).await;
    assert_eq!(
        refused[0]["error"], "DestinationIpProhibited",
        "{refused:?}"
    );
    let refused = call(&host, json!({ "url": upstream.url("/ok") })).await;
    assert_eq!(
        refused[0]["error"], "DestinationIpProhibited",
        "{refused:?}"
    );
    assert!(upstream.requests().is_empty());

    // Naming the host exactly grants its loopback address.
    let exactly = |grant: Grant| grant.outbound(format!("http://localhost:{port}"));
    let host = self::host(exactly, |_| {}).await;
    let reached = call(&host, json!({ "url": by_name })).await;
    assert_eq!(reached[0]["status"], 200, "{reached:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_a_new_request_checked_again() {
    let upstream = upstream().await;
    let host = granted(&upstream).await;
    let refused_target = format!("http://localhost:{}/ok", upstream.port());
    let url = upstream.url(&format!("/redirect?to={refused_target}"));
    let results = call(&host, json!({ "url": url, "follow": true })).await;
    assert_eq!(results[0]["asked"], json!([url, refused_target]));
    assert_eq!(results[0]["error"], "HttpRequestDenied", "{results:?}");
    assert_eq!(
        upstream.requests().len(),
        1,
        "only the redirect itself was served"
    );

    let allowed_target = upstream.url("/ok");
    let url = upstream.url(&format!("/redirect?to={allowed_target}"));
    let results = call(&host, json!({ "url": url, "follow": true })).await;
    assert_eq!(results[0]["status"], 200, "{results:?}");
    assert_eq!(upstream.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_needs_the_capability_granted_to_the_source() {
    let mut settings = settings();
    settings
        .components
        .entry("outbound_call".to_owned())
        .or_default()
        .outbound_hosts = patterns(&["http://127.0.0.1:*"]);
    let mut host = arsenal::Host::start(settings).await.unwrap();
    host.load_file(std::path::Path::new(guests::OUTBOUND_CALL))
        .await;
    let problem = host.problems()[0].error.to_string();
    assert!(
        problem.contains("wasi:http/")
            && problem
                .contains("capability `outbound_http` is not granted to directory components"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upstream_fails_the_request_within_the_calls_deadline() {
    let upstream = upstream().await;
    // A deadline whose reserve (a tenth, at most 250 ms) leaves the guest time to answer
    // on a loaded machine.
    let deadline = |settings: &mut Settings| settings.limits.timeout_ms = 3_000;
    let host = host(|grant| grant.upstream(&upstream), deadline).await;
    // The upstream never answers: the host gives up on it before the call's deadline,
    // so the guest still answers (a call past its deadline would not be a 201).
    let results = call(&host, json!({ "url": upstream.url("/slow") })).await;
    assert_eq!(results[0]["error"], "ConnectionReadTimeout", "{results:?}");
    let after = call(&host, json!({ "url": upstream.url("/ok") })).await;
    assert_eq!(after[0]["status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_body_is_cut_at_the_cap() {
    let upstream = upstream().await;
    let cap = |settings: &mut Settings| settings.outbound.max_response_bytes = 256 * 1024;
    let host = host(|grant| grant.upstream(&upstream), cap).await;
    let results = call(&host, json!({ "url": upstream.url("/huge") })).await;
    // A failed body reaches the guest as a stream error carrying the host's message:
    // wasmtime-wasi-http 48 passes no error code along a response body.
    let error = results[0]["error"].as_str().unwrap();
    assert!(
        error.contains("HTTP response body size exceeds limit: 262144 bytes"),
        "{results:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_makes_at_most_its_allowed_requests() {
    let upstream = upstream().await;
    let cap = |settings: &mut Settings| settings.outbound.max_requests_per_call = 3;
    let host = host(|grant| grant.upstream(&upstream), cap).await;
    let results = call(&host, json!({ "url": upstream.url("/ok"), "count": 5 })).await;
    let outcomes: Vec<Value> = results
        .iter()
        .map(|result| result.get("status").unwrap_or(&result["error"]).clone())
        .collect();
    assert_eq!(
        outcomes,
        [
            json!(200),
            json!(200),
            json!(200),
            json!("ConnectionLimitReached"),
            json!("ConnectionLimitReached")
        ]
    );
    assert_eq!(upstream.requests().len(), 3);
    // The budget is per call.
    let again = call(&host, json!({ "url": upstream.url("/ok") })).await;
    assert_eq!(again[0]["status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calling_trace_goes_upstream_and_the_destination_is_audited() {
    let upstream = upstream().await;
    let host = granted(&upstream).await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let reply = host
        .send(
            Method::POST,
            CALL,
            Body::from(json!({ "url": upstream.url("/ok") }).to_string()),
            &[
                ("content-type", "application/json"),
                ("traceparent", &format!("00-{trace}-00f067aa0ba902b7-01")),
                ("x-request-id", "outbound-trace-1"),
            ],
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let requests = upstream.requests();
    let received = requests[0].header("traceparent").unwrap();
    assert!(received.starts_with(&format!("00-{trace}-")), "{received}");
    assert_eq!(
        received,
        reply.header("traceparent"),
        "this server's span is the parent"
    );

    let audit = host.get("/api/v1/audit").await;
    let record = &audit.body["data"]["records"][0];
    assert_eq!(record["request_id"], "outbound-trace-1");
    assert_eq!(record["outbound"], json!([upstream.origin()]));
}
