//! Access: API keys and roles against every kind of operation (a read, a state change, a
//! sandbox operation, the admin API), bad and missing keys, the caller reaching the
//! operation and its host calls (batches included), local mode and its admin token, and
//! rate limits with their recovery.

use std::net::SocketAddr;
use std::time::Duration;

use arsenal::Role;
use arsenal::config::{RateQuota, Settings};
use arsenal_testing::{ADMIN_TOKEN, Reply, TestHost};
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Method, Request};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{guests, settings, test_host, test_host_with};

const VIEWER: &str = "key-of-the-viewer";
const OPERATOR: &str = "key-of-the-operator";
const ADMIN: &str = "key-of-the-admin";

/// Settings with one key per role (and so no local mode).
fn keyed() -> Settings {
    crate::keyed(&[
        ("viewer", VIEWER, Role::Viewer),
        ("operator", OPERATOR, Role::Operator),
        ("admin", ADMIN, Role::Admin),
    ])
}

async fn ask(host: &TestHost, token: Option<&str>, method: Method, uri: &str) -> Reply {
    host.send_as(token, method, uri, Body::empty(), &[]).await
}

async fn post(host: &TestHost, token: Option<&str>, uri: &str, body: Value) -> Reply {
    let headers = [("content-type", "application/json")];
    let body = Body::from(body.to_string());
    host.send_as(token, Method::POST, uri, body, &headers).await
}

/// A kind of operation: a request that reaches one, the role it needs, and what it
/// answers once allowed (an error code where the request reaches the operation but names
/// something that is not there, so that nothing changes between the roles' turns).
struct Kind {
    kind: &'static str,
    method: Method,
    uri: &'static str,
    body: Option<&'static str>,
    required: Role,
    allowed: (u16, Option<&'static str>),
}

const fn kind(
    kind: &'static str,
    method: Method,
    uri: &'static str,
    body: Option<&'static str>,
    required: Role,
    allowed: (u16, Option<&'static str>),
) -> Kind {
    Kind {
        kind,
        method,
        uri,
        body,
        required,
        allowed,
    }
}

/// Every kind of operation: reads, state changes (by method, or by a state-changing
/// import), sandbox directories and budgets, the admin API, and the host's own endpoints.
const KINDS: &[Kind] = &[
    kind(
        "read",
        Method::GET,
        "/api/v1/processes",
        None,
        Role::Viewer,
        (200, None),
    ),
    kind(
        "read of an operation's stats",
        Method::GET,
        "/api/v1/operations/echo/stats",
        None,
        Role::Viewer,
        (200, None),
    ),
    kind(
        "POST importing only read-only capabilities",
        Method::POST,
        "/api/v1/cluster/balance",
        Some("{}"),
        Role::Operator,
        (200, None),
    ),
    kind(
        "state change (DELETE)",
        Method::DELETE,
        "/api/v1/processes/nobody",
        None,
        Role::Operator,
        (404, Some("process_not_found")),
    ),
    kind(
        "state change (POST)",
        Method::POST,
        "/api/v1/processes/nobody/messages",
        Some(r#"{"payload": "hi"}"#),
        Role::Operator,
        (404, Some("process_not_found")),
    ),
    kind(
        "GET importing a state-changing capability",
        Method::GET,
        "/api/v1/traces/999999",
        None,
        Role::Operator,
        (404, Some("trace_not_found")),
    ),
    kind(
        "sandbox read",
        Method::GET,
        "/api/v1/sandboxes",
        None,
        Role::Admin,
        (200, None),
    ),
    kind(
        "sandbox change",
        Method::DELETE,
        "/api/v1/sandboxes/nowhere",
        None,
        Role::Admin,
        (404, Some("sandbox_not_found")),
    ),
    kind(
        "read of other components' data",
        Method::GET,
        "/api/v1/storage/buckets",
        None,
        Role::Operator,
        (200, None),
    ),
    kind(
        "change of other components' data",
        Method::DELETE,
        "/api/v1/storage/key?bucket=shared/nothing&key=k",
        None,
        Role::Admin,
        (404, Some("bucket_not_found")),
    ),
    kind(
        "admin API read",
        Method::GET,
        "/api/v1/admin/operations/echo/versions",
        None,
        Role::Admin,
        (200, None),
    ),
    kind(
        "admin API action",
        Method::POST,
        "/api/v1/admin/operations/echo/rollback",
        Some("{}"),
        Role::Admin,
        (409, Some("no_earlier_version")),
    ),
    kind(
        "audit log",
        Method::GET,
        "/api/v1/audit",
        None,
        Role::Admin,
        (200, None),
    ),
];

/// Send the request of `kind` with `token`.
async fn attempt(host: &TestHost, token: Option<&str>, kind: &Kind) -> Reply {
    match kind.body {
        Some(body) => {
            let headers = [("content-type", "application/json")];
            let (method, body) = (kind.method.clone(), Body::from(body));
            host.send_as(token, method, kind.uri, body, &headers).await
        }
        None => ask(host, token, kind.method.clone(), kind.uri).await,
    }
}

/// `reply` is what `kind` answers once allowed.
#[track_caller]
fn assert_allowed(reply: &Reply, kind: &Kind, who: &str) {
    let (status, code) = kind.allowed;
    match code {
        Some(code) => reply.assert_error(status, code),
        None => assert_eq!(
            reply.status.as_u16(),
            status,
            "{who} on a {}: {}",
            kind.kind,
            reply.body
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_every_kind_of_operation() {
    let host = test_host_with(keyed(), &[]).await;
    for (key, role) in [
        (VIEWER, Role::Viewer),
        (OPERATOR, Role::Operator),
        (ADMIN, Role::Admin),
    ] {
        for kind in KINDS {
            let reply = attempt(&host, Some(key), kind).await;
            if role >= kind.required {
                assert_allowed(&reply, kind, role.name());
            } else {
                reply.assert_error(403, "forbidden");
                assert_eq!(
                    reply.body["error"]["details"],
                    json!({ "required_role": kind.required, "role": role }),
                    "{role} on a {}",
                    kind.kind
                );
                let message = reply.body["error"]["message"].as_str().unwrap();
                let needed = format!("`{}` role", kind.required);
                assert!(message.contains(&needed), "{message}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_and_openapi_show_each_required_role() {
    let mut settings = keyed();
    settings
        .auth
        .required_role
        .insert("list_workers".to_owned(), Role::Admin);
    let host = test_host_with(settings, &[]).await;
    let catalogue = ask(&host, Some(VIEWER), Method::GET, "/api/v1/operations").await;
    let role_of = |name: &str| crate::required_role(&catalogue, name);
    assert_eq!(role_of("list_processes"), json!("viewer"));
    assert_eq!(role_of("kill_process"), json!("operator"));
    assert_eq!(role_of("create_sandbox"), json!("admin"));
    assert_eq!(role_of("list_workers"), json!("admin"), "configured");
    let described = ask(
        &host,
        Some(VIEWER),
        Method::GET,
        "/api/v1/operations/kill_process",
    )
    .await;
    assert_eq!(described.body["data"]["required_role"], json!("operator"));
    // The configured role is enforced, not only shown.
    ask(&host, Some(OPERATOR), Method::GET, "/api/v1/workers")
        .await
        .assert_error(403, "forbidden");

    let document = ask(&host, Some(VIEWER), Method::GET, "/api/v1/openapi.json").await;
    let document = &document.body;
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        json!("bearer")
    );
    assert_eq!(document["security"], json!([{ "bearer": [] }]));
    assert_eq!(
        document["paths"]["/api/v1/processes/{pid}"]["delete"]["x-arsenal-required-role"],
        json!("operator")
    );
    assert_eq!(
        document["paths"]["/api/v1/admin/operations"]["post"]["x-arsenal-required-role"],
        json!("admin")
    );
    assert_eq!(
        document["paths"]["/api/v1/health"]["get"]["security"],
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_bad_keys_are_unauthenticated() {
    let host = test_host_with(keyed(), &[]).await;
    let digest = arsenal::hash_key(ADMIN);
    let wrong = [
        None,
        Some("not-a-key"),
        Some(&ADMIN[1..]),
        Some(digest.as_str()),
    ];
    for token in wrong {
        let reply = ask(&host, token, Method::GET, "/api/v1/processes").await;
        reply.assert_error(401, "unauthenticated");
        assert_eq!(reply.header("www-authenticate"), "Bearer realm=\"arsenal\"");
    }
    for header in ["Basic YWRtaW46YWRtaW4=", "Bearer", ADMIN] {
        let reply = host
            .send(
                Method::GET,
                "/api/v1/operations",
                Body::empty(),
                &[("authorization", header)],
            )
            .await;
        reply.assert_error(401, "unauthenticated");
    }
    // Every kind of operation asks for a key first, whatever role it needs.
    for kind in KINDS {
        for token in [None, Some("not-a-key")] {
            let reply = attempt(&host, token, kind).await;
            reply.assert_error(401, "unauthenticated");
            assert_eq!(reply.header("www-authenticate"), "Bearer realm=\"arsenal\"");
        }
    }
    // Liveness probes carry no credentials.
    assert_eq!(
        ask(&host, None, Method::GET, "/api/v1/health").await.status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_reaches_the_operation_and_its_host_calls() {
    let mut settings = keyed();
    // Let a viewer past the route check: the host call itself must refuse it.
    settings
        .auth
        .required_role
        .insert("kill_process".to_owned(), Role::Viewer);
    let host = test_host_with(settings, &[guests::TYPED]).await;
    let reply = post(
        &host,
        Some(OPERATOR),
        "/api/v1/test/typed/3",
        json!({ "name": "abc" }),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        reply.body["data"]["caller"],
        json!({ "principal": "operator", "roles": ["operator"], "request_id": reply.header("x-request-id") })
    );

    let reply = ask(
        &host,
        Some(VIEWER),
        Method::DELETE,
        "/api/v1/processes/nobody",
    )
    .await;
    reply.assert_error(403, "capability_denied");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("principal `viewer` (roles: viewer)"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_carries_its_caller_into_every_call() {
    let host = test_host_with(keyed(), &[guests::TYPED]).await;
    let calls = json!({ "calls": [
        { "method": "GET", "path": "/api/v1/processes" },
        { "method": "DELETE", "path": "/api/v1/processes/nobody" },
        { "method": "GET", "path": "/api/v1/sandboxes" },
        { "method": "GET", "path": "/api/v1/admin/operations/echo/versions" },
        { "method": "POST", "path": "/api/v1/test/typed/3", "body": { "name": "abc" } },
    ]});
    let statuses = |reply: &Reply| -> Vec<(u64, Value)> {
        reply.body["data"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|result| {
                (
                    result["status"].as_u64().unwrap(),
                    result["body"]["error"]["code"].clone(),
                )
            })
            .collect()
    };
    let reply = post(&host, Some(VIEWER), "/api/v1/batch", calls.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        statuses(&reply),
        [
            (200, Value::Null),
            (403, json!("forbidden")),
            (403, json!("forbidden")),
            (403, json!("forbidden")),
            (403, json!("forbidden")),
        ]
    );

    let reply = post(&host, Some(OPERATOR), "/api/v1/batch", calls.clone()).await;
    assert_eq!(
        statuses(&reply),
        [
            (200, Value::Null),
            (404, json!("process_not_found")),
            (403, json!("forbidden")),
            (403, json!("forbidden")),
            (201, Value::Null),
        ]
    );
    let typed = &reply.body["data"]["results"][4]["body"]["data"]["caller"];
    assert_eq!(typed["principal"], json!("operator"));
    assert_eq!(typed["roles"], json!(["operator"]));

    // No key, no batch.
    post(&host, None, "/api/v1/batch", calls)
        .await
        .assert_error(401, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_opens_reads_and_keeps_changes_to_the_admin_token() {
    let host = test_host(&[]).await;
    assert!(host.host().access().is_local());
    assert_eq!(
        ask(&host, None, Method::GET, "/api/v1/processes")
            .await
            .status,
        200
    );
    assert_eq!(
        ask(&host, None, Method::GET, "/api/v1/operations")
            .await
            .status,
        200
    );
    for kind in KINDS {
        let anonymous = attempt(&host, None, kind).await;
        if kind.required == Role::Viewer {
            assert_allowed(&anonymous, kind, "an anonymous reader");
        } else {
            anonymous.assert_error(401, "unauthenticated");
            assert_eq!(
                anonymous.body["error"]["details"]["required_role"],
                json!(kind.required),
                "{}",
                kind.kind
            );
        }
        attempt(&host, Some("not-the-token"), kind)
            .await
            .assert_error(401, "unauthenticated");
        assert_allowed(
            &attempt(&host, Some(ADMIN_TOKEN), kind).await,
            kind,
            "the admin token",
        );
    }
    // A wrong token is refused even for a read: it is a wrong credential, not none.
    ask(
        &host,
        Some("not-the-token"),
        Method::GET,
        "/api/v1/processes",
    )
    .await
    .assert_error(401, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_documents_which_reads_need_no_credential() {
    let host = test_host(&[]).await;
    let document = ask(&host, None, Method::GET, "/api/v1/openapi.json")
        .await
        .body;
    let security = |path: &str, method: &str| document["paths"][path][method]["security"].clone();
    let optional = json!([{}, { "bearer": [] }]);
    // A viewer's operation and a caller's endpoint: a credential or none.
    assert_eq!(security("/api/v1/processes", "get"), optional);
    assert_eq!(security("/api/v1/batch", "post"), optional);
    assert_eq!(security("/api/v1/whoami", "get"), optional);
    // An operator's operation, the admin API and the audit log: the bearer of the document.
    assert_eq!(security("/api/v1/processes/{pid}", "delete"), Value::Null);
    assert_eq!(security("/api/v1/admin/operations", "post"), Value::Null);
    assert_eq!(security("/api/v1/audit", "get"), Value::Null);
    assert_eq!(
        document["paths"]["/api/v1/audit"]["get"]["x-arsenal-required-role"],
        json!("admin")
    );
    ask(&host, None, Method::GET, "/api/v1/audit")
        .await
        .assert_error(401, "unauthenticated");
    // With keys there is no anonymous reader, and the document says so.
    let keyed = test_host_with(keyed(), &[]).await;
    let document = ask(&keyed, Some(VIEWER), Method::GET, "/api/v1/openapi.json")
        .await
        .body;
    assert_eq!(
        document["paths"]["/api/v1/processes"]["get"]["security"],
        Value::Null
    );
    ask(&keyed, Some(VIEWER), Method::GET, "/api/v1/audit?limit=0")
        .await
        .assert_error(403, "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_token_is_generated_private_kept_and_overridable() {
    use std::os::unix::fs::PermissionsExt as _;

    let mut settings = settings();
    settings.auth.admin_token = None;
    let dir = settings.server.resolved_state_dir().unwrap();
    let loopback: SocketAddr = "127.0.0.1:4000".parse().unwrap();

    let host = test_host_with(settings.clone(), &[]).await;
    assert!(
        arsenal::read_kept_token(&dir).unwrap().is_none(),
        "no token before it is needed"
    );
    host.host().access().prepare(loopback).unwrap();
    let token = arsenal::read_kept_token(&dir)
        .unwrap()
        .expect("a kept token");
    assert_eq!(token.len(), 64);
    let mode = std::fs::metadata(dir.join("admin-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let kill = "/api/v1/processes/nobody";
    let reply = ask(&host, Some(&token), Method::DELETE, kill).await;
    reply.assert_error(404, "process_not_found");

    // A restart finds the same token.
    drop(host);
    let again = test_host_with(settings.clone(), &[]).await;
    again.host().access().prepare(loopback).unwrap();
    assert_eq!(
        arsenal::read_kept_token(&dir).unwrap().as_deref(),
        Some(&token[..])
    );
    ask(&again, Some(&token), Method::DELETE, kill)
        .await
        .assert_error(404, "process_not_found");

    // A configured token (as ARSENAL_ADMIN_TOKEN sets it) replaces the kept one.
    drop(again);
    settings.auth.admin_token = Some("scripted-token".to_owned());
    let scripted = test_host_with(settings, &[]).await;
    ask(&scripted, Some(&token), Method::DELETE, kill)
        .await
        .assert_error(401, "unauthenticated");
    ask(&scripted, Some("scripted-token"), Method::DELETE, kill)
        .await
        .assert_error(404, "process_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_refuses_a_non_loopback_address() {
    let host = test_host(&[]).await;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let error = arsenal::http::serve(host.host().clone(), listener, std::future::pending())
        .await
        .expect_err("local mode serves loopback only");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        error.to_string().contains("binds only to loopback"),
        "{error}"
    );

    let keyed = test_host_with(keyed(), &[]).await;
    keyed
        .host()
        .access()
        .prepare("0.0.0.0:4000".parse().unwrap())
        .expect("with keys any address is allowed");
}

/// The wait a 429 names: `details.retry_after_ms`, and `Retry-After` in whole seconds,
/// rounded up so that it is never shorter.
fn named_wait(refused: &Reply) -> (Duration, Duration) {
    let exact = refused.body["error"]["details"]["retry_after_ms"]
        .as_u64()
        .map(Duration::from_millis)
        .unwrap_or_else(|| panic!("no retry_after_ms: {}", refused.body));
    let header = Duration::from_secs(refused.header("retry-after").parse().unwrap());
    assert!(
        header >= exact && header - exact < Duration::from_secs(1),
        "Retry-After {header:?} for a wait of {exact:?}"
    );
    (exact, header)
}

/// The limits are minutes long, so no request is let through by time passing while the
/// test runs; the test moves the limits' clock instead of sleeping.
const MINUTE: u64 = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_its_rate_is_refused_until_its_bucket_refills() {
    let mut settings = keyed();
    settings.rate_limits.per_key = RateQuota {
        burst: 2,
        replenish_ms: MINUTE,
    };
    let host = test_host_with(settings, &[]).await;
    for _ in 0..2 {
        assert_eq!(
            ask(&host, Some(VIEWER), Method::GET, "/api/v1/operations")
                .await
                .status,
            200
        );
    }
    let refused = ask(&host, Some(VIEWER), Method::GET, "/api/v1/operations").await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(refused.body["error"]["details"]["limit"], json!("key"));
    // Another key has its own bucket.
    assert_eq!(
        ask(&host, Some(ADMIN), Method::GET, "/api/v1/operations")
            .await
            .status,
        200
    );
    // Half the wait is not enough; `Retry-After` is.
    let (exact, header) = named_wait(&refused);
    assert!(exact > Duration::from_secs(50), "{exact:?}");
    let clock = host.host().access().rate_clock();
    clock.advance(exact / 2);
    ask(&host, Some(VIEWER), Method::GET, "/api/v1/operations")
        .await
        .assert_error(429, "rate_limited");
    clock.advance(header - exact / 2);
    assert_eq!(
        ask(&host, Some(VIEWER), Method::GET, "/api/v1/operations")
            .await
            .status,
        200
    );
    // One token came back, not the whole burst.
    ask(&host, Some(VIEWER), Method::GET, "/api/v1/operations")
        .await
        .assert_error(429, "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_over_its_rate_is_refused_for_that_key_only() {
    let mut settings = keyed();
    settings.rate_limits.per_operation = RateQuota {
        burst: 1,
        replenish_ms: MINUTE,
    };
    let host = test_host_with(settings, &[]).await;
    let echo = "/api/v1/echo/a";
    assert_eq!(
        ask(&host, Some(VIEWER), Method::GET, echo).await.status,
        200
    );
    let refused = ask(&host, Some(VIEWER), Method::GET, echo).await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(
        refused.body["error"]["details"]["limit"],
        json!("operation")
    );
    assert_eq!(
        ask(&host, Some(VIEWER), Method::GET, "/api/v1/system/info")
            .await
            .status,
        200
    );
    assert_eq!(
        ask(&host, Some(OPERATOR), Method::GET, echo).await.status,
        200
    );
    // Calls of a batch count against the operation's limit too.
    let batch = json!({ "calls": [{ "method": "GET", "path": echo }] });
    let reply = post(&host, Some(OPERATOR), "/api/v1/batch", batch).await;
    assert_eq!(reply.body["data"]["results"][0]["status"], json!(429));
    let (exact, header) = named_wait(&refused);
    let clock = host.host().access().rate_clock();
    clock.advance(exact / 2);
    ask(&host, Some(VIEWER), Method::GET, echo)
        .await
        .assert_error(429, "rate_limited");
    clock.advance(header - exact / 2);
    assert_eq!(
        ask(&host, Some(VIEWER), Method::GET, echo).await.status,
        200
    );
}

/// A request from `client` (as the server would see its connection).
async fn from(host: &TestHost, client: [u8; 4], token: &str) -> Reply {
    let mut request = Request::get("/api/v1/operations")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let addr = SocketAddr::from((client, 40_000));
    request.extensions_mut().insert(ConnectInfo(addr));
    Reply::read(host.router().clone().oneshot(request).await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentication_is_rate_limited_per_address() {
    let mut settings = keyed();
    settings.rate_limits.failed_auth = RateQuota {
        burst: 2,
        replenish_ms: MINUTE,
    };
    let host = test_host_with(settings, &[]).await;
    let guesser = [192, 0, 2, 1];
    for _ in 0..2 {
        from(&host, guesser, "guess")
            .await
            .assert_error(401, "unauthenticated");
    }
    let refused = from(&host, guesser, "guess").await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(
        refused.body["error"]["details"]["limit"],
        json!("failed_authentication")
    );
    // Over its quota, the address is refused even with a right key: guessing is no faster.
    from(&host, guesser, VIEWER)
        .await
        .assert_error(429, "rate_limited");
    assert_eq!(from(&host, [192, 0, 2, 2], VIEWER).await.status, 200);
    let (exact, header) = named_wait(&refused);
    let clock = host.host().access().rate_clock();
    clock.advance(exact / 2);
    from(&host, guesser, VIEWER)
        .await
        .assert_error(429, "rate_limited");
    clock.advance(header - exact / 2);
    assert_eq!(from(&host, guesser, VIEWER).await.status, 200);
    // The bucket refilled by one: the next wrong guess is answered, the one after refused.
    from(&host, guesser, "guess")
        .await
        .assert_error(401, "unauthenticated");
    from(&host, guesser, "guess")
        .await
        .assert_error(429, "rate_limited");
}
