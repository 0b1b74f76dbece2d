//! Request hardening: header count and size caps (in the router, and the transport's
//! backstop over a real socket), the header read timeout, the request timeout, load
//! shedding past the in-flight limit, the body and nesting caps, and that no credential
//! reaches the log.

use std::time::Duration;

use axum::body::Body;
use http::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{ADMIN_TOKEN, LogCapture, TestHost, guests, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_or_too_large_headers_answer_431() {
    let host = TestHost::new(&[]).await;
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
        host.host.clone(),
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
    let host = TestHost::new(&[]).await;
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_slow_to_send_its_headers_is_disconnected() {
    let mut settings = settings();
    settings.server.header_read_timeout_ms = 200;
    let host = TestHost::with_settings(settings, &[]).await;
    let (addr, _stop) = serve(&host).await;
    let started = std::time::Instant::now();
    // Headers never finished: the server gives up on them and closes.
    exchange(addr, b"GET /api/v1/echo/a HTTP/1.1\r\nhost: t\r\n").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_bound_answers_504() {
    let mut settings = settings();
    settings.server.request_timeout_ms = 200;
    settings.limits.timeout_ms = 5_000;
    let host = TestHost::with_settings(settings, &[guests::SLOW_OK]).await;
    let reply = host.get("/api/v1/test/slow?ms=2000").await;
    reply.assert_error(504, "request_timeout");
    assert_eq!(reply.body["error"]["details"]["limit_ms"], json!(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_in_flight_limit_are_shed() {
    let mut settings = settings();
    settings.server.max_concurrent_requests = 1;
    settings.limits.timeout_ms = 5_000;
    let host = TestHost::with_settings(settings, &[guests::SLOW_OK]).await;
    let router = host.router.clone();
    let slow = tokio::spawn(async move {
        let request = http::Request::get("/api/v1/test/slow?ms=500")
            .body(Body::empty())
            .unwrap();
        tower::ServiceExt::oneshot(router, request)
            .await
            .unwrap()
            .status()
    });
    host.host.registry().instances().busy_at_least(1).await;
    let reply = host.get("/api/v1/echo/a").await;
    reply.assert_error(503, "overloaded");
    assert_eq!(reply.header("retry-after"), "1");
    assert_eq!(reply.body["error"]["details"]["limit_requests"], json!(1));
    assert_eq!(slow.await.unwrap(), 200);
    // The slot is back once the slow request is answered.
    assert_eq!(host.get("/api/v1/echo/a").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_and_nesting_caps_still_hold() {
    let mut settings = settings();
    settings.server.max_body_bytes = 1_024;
    settings.server.max_json_depth = 4;
    let host = TestHost::with_settings(settings, &[]).await;
    let big = json!({ "payload": "x".repeat(2_000) });
    host.post("/api/v1/processes/a/messages", big)
        .await
        .assert_error(413, "payload_too_large");
    let deep = json!({ "payload": { "a": { "b": { "c": { "d": 1 } } } } });
    host.post("/api/v1/processes/a/messages", deep)
        .await
        .assert_error(400, "malformed_request");
}

// One thread: the subscriber set for this test sees every event of the requests.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_the_log() {
    use tracing_subscriber::util::SubscriberInitExt as _;

    let log = LogCapture::default();
    let writer = log.clone();
    let _guard = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish()
        .set_default();

    let mut settings = settings();
    settings.auth.admin_token = None;
    settings.auth.keys = vec![arsenal::config::ApiKey {
        name: "ci".to_owned(),
        sha256: arsenal::hash_key("ci-secret-key-123"),
        roles: vec![arsenal::Role::Admin],
    }];
    let host = TestHost::with_settings(settings, &[guests::TYPED]).await;
    let secrets = [
        ("authorization", "Bearer ci-secret-key-123"),
        ("authorization", "Bearer wrong-secret-key-456"),
        ("cookie", "session=cookie-secret-789"),
    ];
    for (name, value) in secrets {
        for uri in ["/api/v1/echo/a", "/api/v1/processes/nobody", "/api/v1/nope"] {
            host.send(Method::DELETE, uri, Body::empty(), &[(name, value)])
                .await;
            host.send(Method::GET, uri, Body::empty(), &[(name, value)])
                .await;
        }
        let batch = json!({ "calls": [{ "method": "GET", "path": "/api/v1/echo/b" }] });
        host.send(
            Method::POST,
            "/api/v1/batch",
            Body::from(batch.to_string()),
            &[(name, value), ("content-type", "application/json")],
        )
        .await;
    }
    // Local mode's generated token too (shown once on stderr, never logged).
    let local = TestHost::new(&[]).await;
    local
        .send(Method::DELETE, "/api/v1/processes/x", Body::empty(), &[])
        .await;

    let log = log.text();
    assert!(log.contains("request"), "the log was captured:\n{log}");
    for secret in [
        "ci-secret-key-123",
        "wrong-secret-key-456",
        "cookie-secret-789",
        ADMIN_TOKEN,
    ] {
        assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
    }
}
