//! WASI 0.3 `wasi:http` handlers (the `service` world) served as operations: the `http_p3`
//! guest (Rust, `wit-bindgen` async) at the route the operator declares, with Arsenal's
//! authentication, limits and catalogue; a fresh instance per request unless the operator
//! turns reuse on, and then calls inside one instance at once (they meet), a trap failing
//! only the calls inside its instance, principals kept apart; a body streamed while the
//! instance runs; `wasi:http/client` through the outbound grant. Each answer names its
//! instance (`x-instance`), the calls it served (`x-calls`) and the most inside at once
//! (`x-most-inside`).

use std::sync::Arc;

use arsenal::Role;
use arsenal::config::{HttpHandlerFile, OperationOverride, Settings};
use arsenal::spec::DeclaredRoute;
use arsenal_testing::{ADMIN_TOKEN, Grant, Reply, TestHost, Upstream};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use crate::http_handlers::frames;
use crate::{builder, guests};

const ALICE: &str = "key-of-alice";
const BOB: &str = "key-of-bob";

/// The operator's route for `http_p3`.
fn route() -> DeclaredRoute {
    DeclaredRoute {
        name: "http_p3".to_owned(),
        method: "POST".to_owned(),
        path: "/api/v1/test/p3/:item".to_owned(),
        version: Some("1.0.0".to_owned()),
        category: None,
        summary: "Echoes over wasi:http 0.3".to_owned(),
        description: String::new(),
        params: Vec::new(),
        additional_params: None,
    }
}

/// A host serving `http_p3` to alice, bob (operators) and the admin, reusing instances for
/// `calls` calls when set, its settings changed by `change`; it may reach `grant`.
async fn p3_host(
    calls: Option<u32>,
    change: impl FnOnce(&mut Settings, &mut OperationOverride),
    grant: impl FnOnce(Grant) -> Grant,
) -> TestHost {
    builder()
        .settings(|settings| {
            *settings = crate::keyed(&[
                ("alice", ALICE, Role::Operator),
                ("bob", BOB, Role::Operator),
                ("admin", ADMIN_TOKEN, Role::Admin),
            ]);
            settings.operations.http_handlers.push(HttpHandlerFile {
                file: guests::HTTP_P3.into(),
                route: route(),
            });
            let mut over = OperationOverride {
                warm_instance_calls: calls,
                ..OperationOverride::default()
            };
            change(settings, &mut over);
            settings
                .operations
                .overrides
                .insert("http_p3".to_owned(), over);
        })
        .grant("http_p3", grant)
        .start()
        .await
        .unwrap()
}

/// A grant the guest's `wasi:http/client` import needs, reaching nothing the tests run.
fn elsewhere(grant: Grant) -> Grant {
    grant.outbound("https://example.com:443")
}

async fn post_as(host: &TestHost, token: &str, uri: &str, body: &str) -> Reply {
    host.send_as(
        Some(token),
        Method::POST,
        uri,
        Body::from(body.to_owned()),
        &[("x-echo", "hi")],
    )
    .await
}

/// `uris`, posted at once as `token`.
async fn all_at_once(host: &Arc<TestHost>, token: &'static str, uris: &[&str]) -> Vec<Reply> {
    let calls: Vec<_> = uris
        .iter()
        .map(|uri| {
            let (host, uri) = (host.clone(), (*uri).to_owned());
            tokio::spawn(async move { post_as(&host, token, &uri, "").await })
        })
        .collect();
    let mut replies = Vec::new();
    for call in calls {
        replies.push(call.await.expect("the call task ends"));
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_p3_handler_answers_at_its_route_on_a_fresh_instance_per_request() {
    let host = Arc::new(p3_host(None, |_, _| {}, elsewhere).await);
    let reply = post_as(&host, ALICE, "/api/v1/test/p3/abc?x=1", "hello").await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("x-handled-by"), "http-p3");
    assert_eq!(reply.header("x-echo"), "hi");
    assert_eq!(
        reply.body,
        json!({
            "method": "POST",
            "path": "/api/v1/test/p3/abc",
            "query": "x=1",
            "echo": "hi",
            "authorization": false,
            "body": "hello",
        })
    );
    let again = post_as(&host, ALICE, "/api/v1/test/p3/abc", "").await;
    assert_ne!(again.header("x-instance"), reply.header("x-instance"));
    assert_eq!(again.header("x-calls"), "1");

    // Arsenal's authentication applies.
    let anonymous = host
        .send_as(
            None,
            Method::POST,
            "/api/v1/test/p3/abc",
            Body::empty(),
            &[],
        )
        .await;
    anonymous.assert_error(401, "unauthenticated");

    let described = host.get("/api/v1/operations/http_p3").await;
    let data = described.data();
    assert_eq!(data["interface"], "http_handler");
    assert_eq!(data["contract_version"], "wasi:http/handler@0.3.0");
    assert_eq!(data["reuse"]["mode"], "fresh");

    // Two calls that must meet never do, each in an instance of its own: both run out
    // of time.
    let replies = all_at_once(
        &host,
        ALICE,
        &[
            "/api/v1/test/p3/m?meet=m&parties=2",
            "/api/v1/test/p3/m?meet=m&parties=2",
        ],
    )
    .await;
    for reply in replies {
        reply.assert_error(504, "operation_timeout");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_reuse_requests_meet_inside_one_instance() {
    let host = Arc::new(p3_host(Some(8), |_, _| {}, elsewhere).await);
    let uri = "/api/v1/test/p3/m?meet=m&parties=3";
    let replies = all_at_once(&host, ALICE, &[uri, uri, uri]).await;
    for reply in &replies {
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let instance = replies[0].header("x-instance");
    assert!(
        replies
            .iter()
            .all(|reply| reply.header("x-instance") == instance)
    );
    let most = replies
        .iter()
        .map(|reply| reply.header("x-most-inside"))
        .max();
    assert_eq!(most, Some("3"));

    let next = post_as(&host, ALICE, "/api/v1/test/p3/n", "").await;
    assert_eq!(next.header("x-instance"), instance);
    assert_eq!(next.header("x-calls"), "4");

    let described = host.get("/api/v1/operations/http_p3").await;
    assert_eq!(
        described.data()["reuse"],
        json!({ "mode": "concurrent", "max_calls": 8, "at_once": 8, "across_principals": false })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_fails_only_the_requests_inside_its_instance() {
    let host = Arc::new(p3_host(Some(100), |_, _| {}, elsewhere).await);
    let bobs = post_as(&host, BOB, "/api/v1/test/p3/b", "").await;
    assert_eq!(bobs.status, 201, "{}", bobs.body);

    // Three requests meet; then one traps while the other two are still inside.
    let replies = all_at_once(
        &host,
        ALICE,
        &[
            "/api/v1/test/p3/t?meet=t&parties=3&then=hang",
            "/api/v1/test/p3/t?meet=t&parties=3&then=hang",
            "/api/v1/test/p3/t?meet=t&parties=3&then=trap",
        ],
    )
    .await;
    for reply in replies {
        reply.assert_error(500, "operation_crashed");
    }

    // Alice's next request gets a new instance; bob's instance never noticed.
    let after = post_as(&host, ALICE, "/api/v1/test/p3/a", "").await;
    assert_eq!(after.header("x-calls"), "1");
    let bobs_next = post_as(&host, BOB, "/api/v1/test/p3/b", "").await;
    assert_eq!(bobs_next.header("x-instance"), bobs.header("x-instance"));
    assert_eq!(bobs_next.header("x-calls"), "2");

    // A trap on a fresh path fails that request alone; an error code in place of a
    // response is no answer.
    let trap = post_as(&host, ALICE, "/api/v1/test/p3/trap", "").await;
    trap.assert_error(500, "operation_crashed");
    let refused = post_as(&host, ALICE, "/api/v1/test/p3/refuse", "").await;
    refused.assert_error(500, "invalid_response");

    // Memory over the operation's cap ends its instance, as any operation's.
    let grown = post_as(&host, ALICE, "/api/v1/test/p3/grow?mib=64", "").await;
    grown.assert_error(500, "resource_exhausted");
    let after = post_as(&host, ALICE, "/api/v1/test/p3/a", "").await;
    assert_eq!(after.header("x-calls"), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_serve_one_principal_unless_the_operator_shares_them() {
    let host = p3_host(Some(100), |_, _| {}, elsewhere).await;
    let alices = post_as(&host, ALICE, "/api/v1/test/p3/a", "").await;
    let bobs = post_as(&host, BOB, "/api/v1/test/p3/b", "").await;
    assert_ne!(alices.header("x-instance"), bobs.header("x-instance"));
    let again = post_as(&host, ALICE, "/api/v1/test/p3/a", "").await;
    assert_eq!(again.header("x-instance"), alices.header("x-instance"));
    assert_eq!(again.header("x-calls"), "2");

    let shared = p3_host(
        Some(100),
        |_, over| over.warm_across_principals = Some(true),
        elsewhere,
    )
    .await;
    let alices = post_as(&shared, ALICE, "/api/v1/test/p3/a", "").await;
    let bobs = post_as(&shared, BOB, "/api/v1/test/p3/b", "").await;
    assert_eq!(bobs.header("x-instance"), alices.header("x-instance"));
    assert_eq!(bobs.header("x-calls"), "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_is_streamed_while_the_instance_runs_within_the_cap() {
    let host = p3_host(
        None,
        |settings, _| {
            settings.limits.max_response_bytes = 100_000;
            settings.limits.timeout_ms = 2_000;
        },
        elsewhere,
    )
    .await;
    // Written after `handle` returned, paced past the time an answer is read whole.
    let (status, data, failed) = frames(&host, "/api/v1/test/p3/stream?chunks=3&ms=150").await;
    assert_eq!((status, failed), (201, None));
    assert_eq!(data.concat(), b"chunk 0\nchunk 1\nchunk 2\n");

    // Longer than the cap: the answer has begun, and its body stops at the cap.
    let (status, data, failed) = frames(&host, "/api/v1/test/p3/big?bytes=200000").await;
    assert_eq!(status, 201);
    let sent: usize = data.iter().map(Bytes::len).sum();
    assert!(sent <= 100_000, "{sent} bytes sent");
    let failed = failed.expect("the body stops short");
    assert!(failed.contains("response cap of 100000 bytes"), "{failed}");

    // The handler still serves.
    let reply = post_as(&host, ADMIN_TOKEN, "/api/v1/test/p3/after", "still here").await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn its_client_requests_reach_only_the_granted_destinations() {
    let upstream = Upstream::start(Router::new().route("/ok", get(|| async { "hello" })))
        .await
        .unwrap();
    let other = Upstream::start(Router::new().route("/ok", get(|| async { "hello" })))
        .await
        .unwrap();
    let host = p3_host(None, |_, _| {}, |grant| grant.upstream(&upstream)).await;
    let fetch = |origin: String| {
        let host = &host;
        async move {
            let uri = format!("/api/v1/test/p3/fetch?url={origin}/ok");
            let reply = post_as(host, ALICE, &uri, "").await;
            assert_eq!(reply.status, 201, "{}", reply.body);
            reply.body
        }
    };
    assert_eq!(fetch(upstream.origin()).await, json!({ "status": 200 }));
    let refused: Value = fetch(other.origin()).await;
    assert_eq!(refused, json!({ "error": "ErrorCode::HttpRequestDenied" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_replace_lets_the_requests_inside_finish_and_sends_new_ones_to_the_new_version() {
    // An upstream that holds each request until the test lets it go: a request of the
    // guest waiting on it is inside its instance for as long as the test wants.
    let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel::<()>();
    let release = Arc::new(tokio::sync::Notify::new());
    let held = {
        let release = release.clone();
        get(move || async move {
            let _ = arrived.send(());
            release.notified().await;
            "released"
        })
    };
    let upstream = Upstream::start(Router::new().route("/held", held))
        .await
        .unwrap();
    let host = Arc::new(
        p3_host(
            Some(100),
            |settings, _| {
                settings.limits.timeout_ms = 10_000;
                settings
                    .capabilities
                    .upload
                    .push("outbound_http".to_owned());
            },
            |grant| grant.upstream(&upstream),
        )
        .await,
    );

    let inside = {
        let host = host.clone();
        let uri = format!("/api/v1/test/p3/fetch?url={}/held", upstream.origin());
        tokio::spawn(async move { post_as(&host, ALICE, &uri, "").await })
    };
    arrivals
        .recv()
        .await
        .expect("the guest's request reaches the upstream");

    let replaced = host
        .send(
            Method::PUT,
            "/api/v1/admin/operations/http_p3?method=POST&path=/api/v1/test/p3/:item&version=2.0.0",
            Body::from(arsenal_tests::read(guests::HTTP_P3)),
            &[("content-type", "application/wasm")],
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    let after = post_as(&host, ALICE, "/api/v1/test/p3/after", "").await;
    assert_eq!(after.status, 201, "{}", after.body);
    assert_eq!(after.header("x-operation-version"), "2.0.0");
    assert_eq!(after.header("x-calls"), "1");

    release.notify_one();
    let finished = inside.await.expect("the call task ends");
    assert_eq!(finished.status, 201, "{}", finished.body);
    assert_eq!(finished.body, json!({ "status": 200 }));
    assert_eq!(finished.header("x-operation-version"), "1.0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_p3_handler_is_served() {
    let file = crate::toolchains::http_py_p3().await;
    let mut route = route();
    route.name = "http_py_p3".to_owned();
    route.path = "/api/v1/test/py-p3/:item".to_owned();
    let host = builder()
        .settings(|settings| {
            // A fresh Python runtime takes longer than the suite's 1 s deadline on a
            // loaded machine, and compiling one longer than the default compile bound.
            settings.limits.timeout_ms = 10_000;
            settings.compile.timeout_ms = 600_000;
            settings.operations.http_handlers.push(HttpHandlerFile {
                file: file.into(),
                route,
            });
        })
        .grant("http_py_p3", elsewhere)
        .start()
        .await
        .unwrap();
    let reply = post_as(&host, ADMIN_TOKEN, "/api/v1/test/py-p3/abc?x=1", "the body").await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("x-handled-by"), "http-py-p3");
    assert_eq!(reply.header("x-echo"), "hi");
    assert_eq!(
        reply.body,
        json!({
            "method": "POST",
            "path": "/api/v1/test/py-p3/abc",
            "query": "x=1",
            "echo": "hi",
            "authorization": false,
            "body": "the body",
        })
    );
    let described = host.get("/api/v1/operations/http_py_p3").await;
    assert_eq!(
        described.data()["contract_version"],
        "wasi:http/handler@0.3.0"
    );
}
