//! Outbound HTTP (`wasi:http/outgoing-handler`), through the router, against real HTTP
//! servers on 127.0.0.1 started here: a destination inside the grant is reached, one
//! outside it fails in the guest with the standard code; a name or a wildcard reaching
//! loopback is refused on the resolved address; a redirect is checked again; a slow
//! upstream is bounded by the call's deadline, a huge body by the cap, the requests of a
//! call by their number; the calling request's trace goes along; the destinations reached
//! are counted and audited.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use arsenal::config::Settings;
use arsenal_wasi::http::DestinationPattern;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::Method;
use serde_json::{Value, json};

use arsenal_testing::TestHost;

use crate::{guests, settings, test_host_with};

const CALL: &str = "/api/v1/test/outbound";

/// An HTTP server on 127.0.0.1, counting the requests it answers.
struct Upstream {
    port: u16,
    hits: Arc<AtomicU32>,
}

impl Upstream {
    async fn start() -> Upstream {
        let hits = Arc::new(AtomicU32::new(0));
        let app = Router::new()
            .route("/ok", get(|| async { "hello" }))
            .route("/trace", get(trace))
            .route("/redirect", get(redirect))
            .route("/slow", get(std::future::pending::<&'static str>))
            .route("/huge", get(huge))
            .with_state(hits.clone())
            .layer(axum::middleware::from_fn_with_state(hits.clone(), count));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream { port, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn count(
    State(hits): State<Arc<AtomicU32>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    next.run(request).await
}

/// The `traceparent` the request carried, as the body.
async fn trace(headers: HeaderMap) -> String {
    headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none")
        .to_owned()
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

/// Grant `outbound_http` to directory components in `settings`, and the destinations
/// `grant` to `component`.
pub(crate) fn grant_outbound(settings: &mut Settings, component: &str, grant: &[&str]) {
    settings
        .capabilities
        .directory
        .push("outbound_http".to_owned());
    settings
        .components
        .entry(component.to_owned())
        .or_default()
        .outbound_hosts = patterns(grant);
}

/// The test settings granting `outbound_http` to directory components, and `grant` to
/// the `outbound_call` guest.
fn granting(grant: &[&str]) -> Settings {
    let mut settings = settings();
    grant_outbound(&mut settings, "outbound_call", grant);
    settings
}

async fn host(settings: Settings) -> TestHost {
    test_host_with(settings, &[guests::OUTBOUND_CALL]).await
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
    let upstream = Upstream::start().await;
    let other = Upstream::start().await;
    let host = host(granting(&[&format!("http://127.0.0.1:{}", upstream.port)])).await;

    let reached = call(&host, json!({ "url": upstream.url("/ok") })).await;
    assert_eq!(reached[0]["status"], 200, "{reached:?}");
    assert_eq!(reached[0]["body"], "hello");

    let denied = call(&host, json!({ "url": other.url("/ok") })).await;
    assert_eq!(denied[0]["error"], "HttpRequestDenied", "{denied:?}");
    assert_eq!(other.hits(), 0);

    let catalogue = host.get("/api/v1/operations/outbound_call").await;
    assert_eq!(
        catalogue.body["data"]["granted"]["outbound_hosts"],
        json!([format!("http://127.0.0.1:{}", upstream.port)])
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
    let upstream = Upstream::start().await;
    // A wildcard grant reaches public addresses only: `localhost` resolves to loopback.
    let host = host(granting(&[&format!("http://*:{}", upstream.port)])).await;
    let by_name = format!("http://localhost:{}/ok", upstream.port);
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
    assert_eq!(upstream.hits(), 0);

    // Naming the host exactly grants its loopback address.
    let host = self::host(granting(&[&format!("http://localhost:{}", upstream.port)])).await;
    let reached = call(&host, json!({ "url": by_name })).await;
    assert_eq!(reached[0]["status"], 200, "{reached:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_a_new_request_checked_again() {
    let upstream = Upstream::start().await;
    let host = host(granting(&[&format!("http://127.0.0.1:{}", upstream.port)])).await;
    let refused_target = format!("http://localhost:{}/ok", upstream.port);
    let url = upstream.url(&format!("/redirect?to={refused_target}"));
    let results = call(&host, json!({ "url": url, "follow": true })).await;
    assert_eq!(results[0]["asked"], json!([url, refused_target]));
    assert_eq!(results[0]["error"], "HttpRequestDenied", "{results:?}");
    assert_eq!(upstream.hits(), 1, "only the redirect itself was served");

    let allowed_target = upstream.url("/ok");
    let url = upstream.url(&format!("/redirect?to={allowed_target}"));
    let results = call(&host, json!({ "url": url, "follow": true })).await;
    assert_eq!(results[0]["status"], 200, "{results:?}");
    assert_eq!(upstream.hits(), 3);
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
    let upstream = Upstream::start().await;
    let host = host(granting(&[&format!("http://127.0.0.1:{}", upstream.port)])).await;
    let started = Instant::now();
    let results = call(&host, json!({ "url": upstream.url("/slow") })).await;
    let elapsed = started.elapsed();
    assert_eq!(results[0]["error"], "ConnectionReadTimeout", "{results:?}");
    // The test settings' call timeout is one second; the guest still answered.
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    let after = call(&host, json!({ "url": upstream.url("/ok") })).await;
    assert_eq!(after[0]["status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_body_is_cut_at_the_cap() {
    let upstream = Upstream::start().await;
    let mut settings = granting(&[&format!("http://127.0.0.1:{}", upstream.port)]);
    settings.outbound.max_response_bytes = 256 * 1024;
    let host = host(settings).await;
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
    let upstream = Upstream::start().await;
    let mut settings = granting(&[&format!("http://127.0.0.1:{}", upstream.port)]);
    settings.outbound.max_requests_per_call = 3;
    let host = host(settings).await;
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
    assert_eq!(upstream.hits(), 3);
    // The budget is per call.
    let again = call(&host, json!({ "url": upstream.url("/ok") })).await;
    assert_eq!(again[0]["status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calling_trace_goes_upstream_and_the_destination_is_audited() {
    let upstream = Upstream::start().await;
    let host = host(granting(&[&format!("http://127.0.0.1:{}", upstream.port)])).await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let reply = host
        .send(
            Method::POST,
            CALL,
            Body::from(json!({ "url": upstream.url("/trace") }).to_string()),
            &[
                ("content-type", "application/json"),
                ("traceparent", &format!("00-{trace}-00f067aa0ba902b7-01")),
                ("x-request-id", "outbound-trace-1"),
            ],
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let received = reply.body["data"]["results"][0]["body"].as_str().unwrap();
    assert!(received.starts_with(&format!("00-{trace}-")), "{received}");
    assert_eq!(
        received,
        reply.header("traceparent"),
        "this server's span is the parent"
    );

    let audit = host.get("/api/v1/audit").await;
    let record = &audit.body["data"]["records"][0];
    assert_eq!(record["request_id"], "outbound-trace-1");
    assert_eq!(
        record["outbound"],
        json!([format!("http://127.0.0.1:{}", upstream.port)])
    );
}
