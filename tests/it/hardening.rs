//! Request hardening: header count and size caps (in the router, and the transport's
//! backstop over a real socket), the header read timeout, the request timeout, load
//! shedding past the in-flight limit, the body and nesting caps, and that no credential
//! reaches the log.

use std::time::Duration;

use arsenal_testing::{ADMIN_TOKEN, TestHost};
use axum::body::Body;
use http::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{LogCapture, guests, settings, test_host, test_host_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_or_too_large_headers_answer_431() {
    let host = test_host(&[]).await;
    let names: Vec<String> = (0..70).map(|i| format!("x-flood-{i}")).collect();
    let flood: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "1")).collect();
    let reply = host
        .send(Method::GET, "/api/v1/echo/a", Body::empty(), &flood)
        .await;
    reply.assert_error(431, "headers_too_large");
    assert_eq!(reply.body["error"]["details"]["limit_headers"], json!(64));

    let huge = "a".repeat(20 * 1024);
    let reply = host
        .send(
            Method::GET,
            "/api/v1/echo/a",
            Body::empty(),
            &[("x-huge", &huge)],
        )
        .await;
    reply.assert_error(431, "headers_too_large");
    assert_eq!(
        reply.body["error"]["details"]["limit_bytes"],
        json!(16 * 1024)
    );

    // Within the caps all is well.
    let reply = host
        .send(Method::GET, "/api/v1/echo/a", Body::empty(), &flood[..40])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Serve `host` on a loopback port until the returned sender is dropped.
async fn serve(host: &TestHost) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(arsenal::http::serve(
        host.host().clone(),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stop)
}

/// Send raw bytes and read until the server closes (bounded).
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before the whole flood is written.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_floods_over_a_socket_are_cut_off() {
    let host = test_host(&[]).await;
    let (addr, _stop) = serve(&host).await;

    // Over the router's cap, under the transport's: the JSON answer.
    let mut request =
        String::from("GET /api/v1/echo/a HTTP/1.1\r\nhost: t\r\nconnection: close\r\n");
    for i in 0..80 {
        request.push_str(&format!("x-flood-{i}: 1\r\n"));
    }
    request.push_str("\r\n");
    let answer = exchange(addr, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(answer.contains("\"headers_too_large\""), "{answer}");

    // A flood far past both: the transport refuses it before it is buffered.
    let mut request = String::from("GET /api/v1/echo/a HTTP/1.1\r\nhost: t\r\n");
    for i in 0..5_000 {
        request.push_str(&format!("x-flood-{i}: {}\r\n", "b".repeat(32)));
    }
    request.push_str("\r\n");
    let answer = exchange(addr, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // The server is still up and serves a well-formed request on a new connection.
    let answer = exchange(
        addr,
        b"GET /api/v1/echo/after HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_slow_to_send_its_headers_is_disconnected() {
    let mut settings = settings();
    settings.server.header_read_timeout_ms = 200;
    let host = test_host_with(settings, &[]).await;
    let (addr, _stop) = serve(&host).await;
    // A client that never finishes its headers holds its connection open...
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /api/v1/echo/a HTTP/1.1\r\nhost: t\r\n")
        .await
        .unwrap();
    // ...while others are served...
    let answer = exchange(
        addr,
        b"GET /api/v1/echo/other HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // ...until the server gives up on those headers and closes the connection (the read
    // ends; the bound only keeps a broken server from hanging the test).
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer))
        .await
        .expect("the server closes the slow connection")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_bound_answers_504() {
    let mut settings = settings();
    settings.server.request_timeout_ms = 200;
    settings.limits.timeout_ms = 5_000;
    let host = test_host_with(settings, &[guests::SLOW_OK]).await;
    let reply = host.get("/api/v1/test/slow?ms=2000").await;
    reply.assert_error(504, "request_timeout");
    assert_eq!(reply.body["error"]["details"]["limit_ms"], json!(200));
    assert_eq!(refused(&host, "request_timeout").await, 1.0);
}

/// How many requests `/metrics` counts as refused at the edge with `code`.
async fn refused(host: &TestHost, code: &str) -> f64 {
    let samples = crate::telemetry::scrape(host).await;
    crate::telemetry::value(
        &samples,
        "arsenal_requests_refused_total",
        &[("code", code)],
    )
    .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_in_flight_limit_are_shed() {
    let mut settings = settings();
    settings.server.max_concurrent_requests = 1;
    settings.limits.timeout_ms = 5_000;
    let host = test_host_with(settings, &[guests::SLOW_OK]).await;
    let router = host.router().clone();
    let slow = tokio::spawn(async move {
        let request = http::Request::get("/api/v1/test/slow?ms=500")
            .body(Body::empty())
            .unwrap();
        tower::ServiceExt::oneshot(router, request)
            .await
            .unwrap()
            .status()
    });
    host.host().registry().instances().busy_at_least(1).await;
    let reply = host.get("/api/v1/echo/a").await;
    reply.assert_error(503, "overloaded");
    assert_eq!(reply.header("retry-after"), "1");
    assert_eq!(reply.body["error"]["details"]["limit_requests"], json!(1));
    assert_eq!(slow.await.unwrap(), 200);
    // The slot is back once the slow request is answered.
    assert_eq!(host.get("/api/v1/echo/a").await.status, 200);
    assert_eq!(refused(&host, "overloaded").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_and_nesting_caps_still_hold() {
    let mut settings = settings();
    settings.server.max_body_bytes = 1_024;
    settings.server.max_json_depth = 4;
    let host = test_host_with(settings, &[]).await;
    let big = json!({ "payload": "x".repeat(2_000) });
    host.post("/api/v1/processes/a/messages", big)
        .await
        .assert_error(413, "payload_too_large");
    let deep = json!({ "payload": { "a": { "b": { "c": { "d": 1 } } } } });
    host.post("/api/v1/processes/a/messages", deep)
        .await
        .assert_error(400, "malformed_request");
}

const ADMIN_KEY: &str = "admin-secret-key-123";
const VIEWER_KEY: &str = "viewer-secret-key-234";
const WRONG_KEY: &str = "wrong-secret-key-456";
const COOKIE: &str = "cookie-secret-789";
const PROXY: &str = "proxy-secret-890";
const PASSWORD: &str = "param-secret-901";
const API_KEY_PARAM: &str = "param-secret-912";

/// One scripted round of requests carrying `credential` as their `Authorization` (and a
/// cookie and a proxy credential): reads, state changes, the admin API, a batch, an
/// audited call with secret parameters, and unknown paths.
async fn secret_round(host: &TestHost, credential: &str) {
    let headers = [
        ("authorization", credential),
        ("cookie", COOKIE),
        ("proxy-authorization", PROXY),
        ("content-type", "application/json"),
    ];
    let typed = json!({
        "name": "abc",
        "meta": { "password": PASSWORD, "nested": { "api_key": API_KEY_PARAM } },
    });
    let batch = json!({ "calls": [
        { "method": "GET", "path": "/api/v1/echo/b" },
        { "method": "POST", "path": "/api/v1/test/typed/4", "body": typed },
    ]});
    let requests = [
        (Method::GET, "/api/v1/echo/a", None),
        (Method::DELETE, "/api/v1/processes/nobody", None),
        (Method::GET, "/api/v1/nope", None),
        (Method::GET, "/api/v1/admin/operations/echo/versions", None),
        (
            Method::POST,
            "/api/v1/test/typed/3",
            Some(typed.to_string()),
        ),
        (Method::POST, "/api/v1/batch", Some(batch.to_string())),
    ];
    for (method, uri, body) in requests {
        let body = body.map_or_else(Body::empty, Body::from);
        host.send(method, uri, body, &headers).await;
    }
}

// One thread: the subscriber set for this test sees every event of the requests, the
// server's connection tasks included.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_the_log() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    // Every level of every target, as text and as JSON, but wasmtime's and cranelift's
    // compiler chatter.
    let (text, json_log) = (LogCapture::default(), LogCapture::default());
    let (text_writer, json_writer) = (text.clone(), json_log.clone());
    let _guard = tracing_subscriber::registry()
        .with(
            tracing_subscriber::filter::Targets::new()
                .with_default(tracing::Level::TRACE)
                .with_target("wasmtime", tracing::Level::INFO)
                .with_target("cranelift", tracing::Level::INFO),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || text_writer.clone()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(move || json_writer.clone()),
        )
        .set_default();

    let mut keyed = settings();
    keyed.auth.admin_token = None;
    keyed.auth.keys = vec![
        arsenal::config::ApiKey {
            name: "ci".to_owned(),
            sha256: arsenal::hash_key(ADMIN_KEY),
            roles: vec![arsenal::Role::Admin],
        },
        arsenal::config::ApiKey {
            name: "dashboards".to_owned(),
            sha256: arsenal::hash_key(VIEWER_KEY),
            roles: vec![arsenal::Role::Viewer],
        },
    ];
    // Wrong keys are refused 429 after a few: those answers are logged too.
    keyed.rate_limits.failed_auth = arsenal::config::RateQuota {
        burst: 3,
        replenish_ms: 60_000,
    };
    let host = test_host_with(keyed, &[guests::TYPED]).await;

    // Local mode, with the configured token and with one generated at start.
    let local = test_host(&[guests::TYPED]).await;
    let mut generating = settings();
    generating.auth.admin_token = None;
    let state = generating.server.resolved_state_dir().unwrap();
    let generated = test_host_with(generating, &[guests::TYPED]).await;
    generated
        .host()
        .access()
        .prepare("127.0.0.1:4000".parse().unwrap())
        .unwrap();
    let generated_token = arsenal::read_kept_token(&state).unwrap().unwrap();

    // A callsite registered on another test's thread while this subscriber was being set
    // may have cached "not interested" (a race in tracing's interest cache): ask again.
    tracing::callsite::rebuild_interest_cache();

    for key in [ADMIN_KEY, VIEWER_KEY, WRONG_KEY] {
        secret_round(&host, &format!("Bearer {key}")).await;
    }
    secret_round(&host, &format!("bearer   {ADMIN_KEY}  ")).await;
    secret_round(&host, &format!("Basic {ADMIN_KEY}")).await;
    secret_round(&host, ADMIN_KEY).await;
    for token in [ADMIN_TOKEN, WRONG_KEY] {
        secret_round(&local, &format!("Bearer {token}")).await;
    }
    secret_round(&generated, &format!("Bearer {generated_token}")).await;

    // The audit log has the call, its secret parameters redacted (once the address's
    // penalty for the wrong keys is over).
    host.host()
        .access()
        .rate_clock()
        .advance(Duration::from_secs(60));
    let audit = host
        .send(
            Method::GET,
            "/api/v1/audit?operation=typed&principal=ci&outcome=succeeded&limit=1",
            Body::empty(),
            &[("authorization", &format!("Bearer {ADMIN_KEY}"))],
        )
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let params = &audit.body["data"]["records"][0]["params"]["meta"];
    assert_eq!(params["password"], "[redacted]", "{}", audit.body);
    assert_eq!(params["nested"]["api_key"], "[redacted]", "{}", audit.body);

    // And over a socket, through hyper's connection handling.
    let (addr, _stop) = serve(&host).await;
    let request = format!(
        "GET /api/v1/echo/s HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {ADMIN_KEY}\r\n\
         cookie: {COOKIE}\r\nconnection: close\r\n\r\n"
    );
    let answer = exchange(addr, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let (text, json_log) = (text.text(), json_log.text());
    for line in json_log.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
    }
    assert!(
        text.contains("request{method=POST path=/api/v1/test/typed/3"),
        "{text}"
    );
    assert!(json_log.contains(r#""name":"request""#), "{json_log}");
    assert!(
        text.contains("request{method=GET path=/api/v1/echo/s"),
        "the request over the socket was logged: {text}"
    );
    for log in [&text, &json_log] {
        for secret in [
            ADMIN_KEY,
            VIEWER_KEY,
            WRONG_KEY,
            COOKIE,
            PROXY,
            PASSWORD,
            API_KEY_PARAM,
            ADMIN_TOKEN,
            &generated_token,
        ] {
            assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
        }
    }
}
