//! Hot loading through the admin API: upload, replace (the route may move; conflicts are
//! checked first), roll back, unload, and every bad upload refused with its reason while
//! the live version keeps serving. Requests in flight finish on the version they started
//! with.

use std::sync::Arc;

use arsenal_testing::{Reply, TestHost};
use axum::body::Body;
use http::Method;
use serde_json::Value;

use crate::{guests, settings, test_host, test_host_with, within};

async fn upload(host: &TestHost, method: Method, uri: &str, path: &str) -> Reply {
    let bytes = arsenal_tests::read(path);
    host.send(
        method,
        uri,
        Body::from(bytes),
        &[("content-type", "application/wasm")],
    )
    .await
}

async fn echo_ok(host: &TestHost) -> Reply {
    let reply = host.get("/api/v1/echo/ping").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_replace_roll_back_and_unload() {
    let host = test_host(&[]).await;
    let added = upload(
        &host,
        Method::POST,
        "/api/v1/admin/operations",
        guests::GREET,
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["data"]["name"], "greet");
    assert_eq!(added.body["data"]["source"], "upload");
    let greeted = host.get("/api/v1/greet/ann").await;
    assert_eq!(greeted.status, 200, "{}", greeted.body);
    assert_eq!(
        greeted.header("x-operation-revision"),
        added.body["data"]["revision"].as_str().unwrap()
    );
    upload(
        &host,
        Method::POST,
        "/api/v1/admin/operations",
        guests::GREET,
    )
    .await
    .assert_error(409, "operation_exists");

    // Replace the built-in echo with version 2, then roll back.
    let before = echo_ok(&host).await;
    assert_eq!(before.header("x-operation-version"), "0.1.0");
    let replaced = upload(
        &host,
        Method::PUT,
        "/api/v1/admin/operations/echo",
        guests::ECHO_V2,
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(replaced.body["data"]["live"]["version"], "2.0.0");
    assert_eq!(replaced.body["data"]["previous"]["version"], "0.1.0");
    assert_eq!(echo_ok(&host).await.header("x-operation-version"), "2.0.0");
    let versions = host.get("/api/v1/admin/operations/echo/versions").await;
    let listed: Vec<(&str, bool)> = versions.body["data"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_str().unwrap(), v["live"].as_bool().unwrap()))
        .collect();
    assert_eq!(listed, [("2.0.0", true), ("0.1.0", false)]);
    let catalogue = host.get("/api/v1/operations/echo").await;
    assert_eq!(
        catalogue.body["data"]["version"], "2.0.0",
        "the catalogue changed with it"
    );

    let rolled = host
        .post(
            "/api/v1/admin/operations/echo/rollback",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    assert_eq!(rolled.body["data"]["live"]["version"], "0.1.0");
    assert_eq!(echo_ok(&host).await.header("x-operation-version"), "0.1.0");
    host.post(
        "/api/v1/admin/operations/echo/rollback",
        serde_json::json!({}),
    )
    .await
    .assert_error(409, "no_earlier_version");

    // Unload: gone from routes and catalogue; a second unload is 404.
    let removed = host.delete("/api/v1/admin/operations/greet").await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    host.get("/api/v1/greet/ann")
        .await
        .assert_error(404, "operation_not_found");
    host.get("/api/v1/operations/greet")
        .await
        .assert_error(404, "operation_not_found");
    host.delete("/api/v1/admin/operations/greet")
        .await
        .assert_error(404, "operation_not_found");
    host.put("/api/v1/admin/operations/ghost", serde_json::json!({}))
        .await
        .assert_error(415, "unsupported_media_type");
}

/// One refused upload: what is sent, and the answer it must get.
struct BadUpload {
    case: &'static str,
    method: Method,
    uri: &'static str,
    body: Vec<u8>,
    content_type: &'static str,
    /// A `content-length` header, as a client that declares its size sends.
    declared: bool,
    status: u16,
    code: &'static str,
    /// A JSON pointer into the answer, and text the value there must contain: what the
    /// answer names (the import, the other operation, the contract version, ...).
    names: (&'static str, String),
}

impl BadUpload {
    fn new(
        case: &'static str,
        method: Method,
        uri: &'static str,
        body: Vec<u8>,
        status: u16,
        code: &'static str,
        (pointer, named): (&'static str, &str),
    ) -> BadUpload {
        BadUpload {
            case,
            method,
            uri,
            body,
            content_type: "application/wasm",
            declared: false,
            status,
            code,
            names: (pointer, named.to_owned()),
        }
    }
}

/// Every kind of bad upload of the hot-loading contract, each answered with its status,
/// code and what it names, each followed by good requests showing nothing changed; then
/// a good upload goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_upload_changes_nothing_and_says_why() {
    // `route_a` holds the route the conflicting uploads want.
    let mut settings = settings();
    let probe = test_host_with(settings.clone(), &[guests::ROUTE_A]).await;
    // A precompiled artifact (`.cwasm`) of a good component, as this very engine wrote it
    // into its compile cache.
    let artifact = cached_artifact(&probe, guests::ROUTE_A);
    let precompiled = std::fs::read(&artifact).expect("route_a's artifact is cached");
    drop(probe);
    let read = arsenal_tests::read;
    let mut cases = vec![
        BadUpload::new(
            "not wasm",
            Method::POST,
            "/api/v1/admin/operations",
            b"hello".to_vec(),
            422,
            "invalid_component",
            ("/error/message", "not a WebAssembly binary"),
        ),
        BadUpload {
            content_type: "application/json",
            ..BadUpload::new(
                "wrong type",
                Method::POST,
                "/api/v1/admin/operations",
                b"{}".to_vec(),
                415,
                "unsupported_media_type",
                ("/error/message", "application/json"),
            )
        },
        BadUpload::new(
            "core module",
            Method::POST,
            "/api/v1/admin/operations",
            read(guests::CORE_MODULE),
            422,
            "invalid_component",
            ("/error/message", "core WebAssembly module"),
        ),
        BadUpload::new(
            "precompiled artifact",
            Method::POST,
            "/api/v1/admin/operations",
            precompiled,
            422,
            "invalid_component",
            ("/error/message", "precompiled artifact"),
        ),
        BadUpload::new(
            "unknown import",
            Method::POST,
            "/api/v1/admin/operations",
            read(guests::UNKNOWN_IMPORT),
            422,
            "unsupported_imports",
            (
                "/error/details/imports/0/import",
                "example:unknown/thing@0.1.0",
            ),
        ),
        BadUpload::new(
            "invalid config",
            Method::POST,
            "/api/v1/admin/operations",
            read(guests::BAD_PATH),
            422,
            "invalid_config",
            ("/error/details/problems/0/field", "path"),
        ),
        BadUpload::new(
            "future contract",
            Method::POST,
            "/api/v1/admin/operations",
            read(guests::FUTURE_CONTRACT),
            422,
            "unsupported_contract_version",
            ("/error/details/found", "0.9.0"),
        ),
        BadUpload::new(
            "route taken",
            Method::POST,
            "/api/v1/admin/operations",
            read(guests::ROUTE_B),
            409,
            "route_conflict",
            ("/error/details/other", "route_a"),
        ),
        BadUpload::new(
            "route taken by the replacement",
            Method::PUT,
            "/api/v1/admin/operations/echo",
            read(guests::ECHO_MOVED),
            409,
            "route_conflict",
            ("/error/details/other", "route_a"),
        ),
        BadUpload::new(
            "other name",
            Method::PUT,
            "/api/v1/admin/operations/echo",
            read(guests::ROUTE_B),
            422,
            "name_mismatch",
            ("/error/details/found", "route_b"),
        ),
    ];
    // The cap: just over the largest of the bodies above.
    let cap = cases.iter().map(|case| case.body.len()).max().unwrap() + 1;
    settings.server.max_upload_bytes = cap;
    let limit = cap.to_string();
    cases.extend([
        BadUpload::new(
            "too large",
            Method::POST,
            "/api/v1/admin/operations",
            vec![0u8; cap + 1],
            413,
            "payload_too_large",
            ("/error/details/limit_bytes", &limit),
        ),
        BadUpload {
            declared: true,
            ..BadUpload::new(
                "declared too large",
                Method::PUT,
                "/api/v1/admin/operations/echo",
                vec![0u8; cap + 1],
                413,
                "payload_too_large",
                ("/error/details/limit_bytes", &limit),
            )
        },
    ]);
    let host = test_host_with(settings, &[guests::ROUTE_A]).await;
    let catalogue = host.get("/api/v1/operations").await.body["data"].clone();
    for case in cases {
        let length = case.body.len().to_string();
        let mut headers = vec![("content-type", case.content_type)];
        if case.declared {
            headers.push(("content-length", length.as_str()));
        }
        let reply = host
            .send(case.method, case.uri, Body::from(case.body), &headers)
            .await;
        let what = case.case;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (case.status, case.code),
            "{what}: {}",
            reply.body
        );
        let (pointer, named) = case.names;
        let found = match reply.body.pointer(pointer) {
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => panic!("{what}: no {pointer} in {}", reply.body),
        };
        assert!(
            found.contains(&named),
            "{what}: {pointer} is {found:?}, which does not name {named:?}"
        );
        // Followed by good requests: the live versions serve, unchanged, and nothing was
        // added, replaced or kept.
        assert_eq!(
            echo_ok(&host).await.header("x-operation-version"),
            "0.1.0",
            "{what}"
        );
        let contested = host.get("/api/v1/test/conflict/x").await;
        assert_eq!(contested.status, 200, "{what}: {}", contested.body);
        assert_eq!(contested.body["data"]["operation"], "route_a", "{what}");
        assert_eq!(
            host.get("/api/v1/operations").await.body["data"],
            catalogue,
            "{what}: the catalogue is unchanged"
        );
        let versions = host.get("/api/v1/admin/operations/echo/versions").await;
        assert_eq!(
            versions.body["data"]["versions"].as_array().map(Vec::len),
            Some(1),
            "{what}: nothing kept"
        );
    }
    // And a good upload still goes through.
    let added = upload(
        &host,
        Method::POST,
        "/api/v1/admin/operations",
        guests::GREET,
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(host.get("/api/v1/greet/ann").await.status, 200);
}

/// The upload cap is inclusive: a component of exactly `server.max_upload_bytes` loads,
/// one byte more is refused before anything is read into a component.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_at_the_cap_loads_and_one_byte_over_is_refused() {
    let greet = arsenal_tests::read(guests::GREET);
    let mut settings = settings();
    settings.server.max_upload_bytes = greet.len();
    let host = test_host_with(settings, &[]).await;
    let mut over = greet.clone();
    over.push(0);
    let refused = upload_bytes(&host, Method::POST, "/api/v1/admin/operations", over).await;
    refused.assert_error(413, "payload_too_large");
    assert_eq!(
        refused.body["error"]["details"]["limit_bytes"],
        greet.len(),
        "{}",
        refused.body
    );
    host.get("/api/v1/greet/ann")
        .await
        .assert_error(404, "operation_not_found");
    let added = upload_bytes(&host, Method::POST, "/api/v1/admin/operations", greet).await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(host.get("/api/v1/greet/ann").await.status, 200);
}

/// A replacement may move the operation's route: the new route is checked against every
/// other operation first (the conflict case is in the bad uploads above); once swapped,
/// the old route is gone, the new one serves, and the catalogue and the OpenAPI document
/// change with it. A rollback moves it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_may_move_the_route_and_the_documents_follow() {
    let host = test_host(&[]).await;
    let paths = |document: &Value| -> Vec<String> {
        document["paths"]
            .as_object()
            .expect("the document has paths")
            .keys()
            .cloned()
            .collect()
    };
    let before = host.get("/api/v1/openapi.json").await.body;
    assert!(paths(&before).contains(&"/api/v1/echo/{id}".to_owned()));
    assert!(!paths(&before).contains(&"/api/v1/test/conflict/{x}".to_owned()));

    let moved = upload(
        &host,
        Method::PUT,
        "/api/v1/admin/operations/echo",
        guests::ECHO_MOVED,
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(
        moved.body["data"]["live"]["path"],
        "/api/v1/test/conflict/:x"
    );
    assert_eq!(moved.body["data"]["previous"]["path"], "/api/v1/echo/:id");
    host.get("/api/v1/echo/ping")
        .await
        .assert_error(404, "operation_not_found");
    let served = host.get("/api/v1/test/conflict/here").await;
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(
        served.body["data"],
        serde_json::json!({ "x": "here", "v": 3 })
    );
    assert_eq!(served.header("x-operation-version"), "3.0.0");
    let listed = host.get("/api/v1/operations/echo").await;
    assert_eq!(
        listed.body["data"]["path"], "/api/v1/test/conflict/:x",
        "{}",
        listed.body
    );
    let after = host.get("/api/v1/openapi.json").await.body;
    assert!(!paths(&after).contains(&"/api/v1/echo/{id}".to_owned()));
    assert!(paths(&after).contains(&"/api/v1/test/conflict/{x}".to_owned()));
    assert_eq!(
        after["paths"]["/api/v1/test/conflict/{x}"]["get"]["operationId"], "echo",
        "{}",
        after["paths"]["/api/v1/test/conflict/{x}"]
    );

    // With echo on it, the route is taken: loading `route_a` now conflicts, naming echo.
    let refused = upload(
        &host,
        Method::POST,
        "/api/v1/admin/operations",
        guests::ROUTE_A,
    )
    .await;
    refused.assert_error(409, "route_conflict");
    assert_eq!(refused.body["error"]["details"]["operation"], "route_a");
    assert_eq!(refused.body["error"]["details"]["other"], "echo");

    let rolled = host
        .post(
            "/api/v1/admin/operations/echo/rollback",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    assert_eq!(echo_ok(&host).await.header("x-operation-version"), "0.1.0");
    host.get("/api/v1/test/conflict/here")
        .await
        .assert_error(404, "operation_not_found");
    assert_eq!(
        paths(&host.get("/api/v1/openapi.json").await.body),
        paths(&before)
    );
}

/// 100 replacements while three clients call the operation without pause. Every request
/// succeeds, and each was served by a version live at some moment between its sending and
/// its answer: the swaps are numbered, each client reads the number before sending and
/// after the answer, and the revision served must be one published in that window (or the
/// one being published as it was sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replacing_under_load_drops_no_request() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const REPLACEMENTS: usize = 100;
    // What is tested is that no request is dropped, not how fast one is: the replacements
    // compile on this host's threads while every other test runs too, and a starved
    // machine once held an echo call past the tests' usual 1 s deadline.
    let mut settings = crate::settings();
    settings.limits.timeout_ms = 30_000;
    let host = Arc::new(test_host_with(settings, &[]).await);
    // Four distinct versions, cycled: few enough that the history (5) keeps them all, so
    // each compiles once.
    let variants: Vec<Vec<u8>> = (0..4)
        .map(|n| unique(guests::ECHO_V2, &format!("load {n}")))
        .collect();
    let first = echo_ok(&host)
        .await
        .header("x-operation-revision")
        .to_owned();
    // published[n] is the revision live after swap n (0: before any).
    let published = Arc::new(std::sync::Mutex::new(vec![first]));
    let swaps = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..3 {
        let (host, stop, swaps) = (host.clone(), stop.clone(), swaps.clone());
        clients.push(tokio::spawn(async move {
            let mut served = Vec::new();
            while !stop.load(Ordering::Acquire) {
                let before = swaps.load(Ordering::Acquire);
                let reply = host.get("/api/v1/echo/ping").await;
                let after = swaps.load(Ordering::Acquire);
                assert_eq!(reply.status, 200, "{}", reply.body);
                served.push((
                    before,
                    after,
                    reply.header("x-operation-revision").to_owned(),
                ));
            }
            served
        }));
    }
    for n in 0..REPLACEMENTS {
        let replaced = upload_bytes(
            &host,
            Method::PUT,
            "/api/v1/admin/operations/echo",
            variants[n % variants.len()].clone(),
        )
        .await;
        assert_eq!(replaced.status, 200, "{}", replaced.body);
        let revision = replaced.body["data"]["live"]["revision"]
            .as_str()
            .unwrap()
            .to_owned();
        published.lock().unwrap().push(revision);
        swaps.fetch_add(1, Ordering::Release);
    }
    stop.store(true, Ordering::Release);
    let published = published.lock().unwrap().clone();
    let mut served = 0;
    for client in clients {
        for (before, after, revision) in client.await.unwrap() {
            served += 1;
            let window = &published[before..=(after + 1).min(published.len() - 1)];
            assert!(
                window.contains(&revision),
                "a request sent after swap {before} and answered after swap {after} was served by {revision}, not live then ({window:?})"
            );
        }
    }
    assert!(served >= 3, "the clients ran");
    let versions = host.get("/api/v1/admin/operations/echo/versions").await;
    let kept = versions.body["data"]["versions"].as_array().unwrap();
    assert_eq!(
        kept.len(),
        6,
        "live + 5 kept: {}",
        Value::Array(kept.clone())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_changes_survive_a_restart() {
    let state = crate::fresh_state_dir();
    let settings = || {
        let mut settings = settings();
        settings.server.state_dir = Some(state.clone());
        settings
    };
    let revision_before;
    {
        let host = test_host_with(settings(), &[]).await;
        let added = upload(
            &host,
            Method::POST,
            "/api/v1/admin/operations",
            guests::GREET,
        )
        .await;
        assert_eq!(added.status, 201, "{}", added.body);
        let replaced = upload(
            &host,
            Method::PUT,
            "/api/v1/admin/operations/echo",
            guests::ECHO_V2,
        )
        .await;
        assert_eq!(replaced.status, 200, "{}", replaced.body);
        revision_before = replaced.body["data"]["live"]["revision"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            host.delete("/api/v1/admin/operations/system_info")
                .await
                .status,
            200
        );
        // A half-written upload left behind by a crash is ignored.
        std::fs::write(
            state.join("operations.json.tmp-crash"),
            b"{\"live\": {\"trunc",
        )
        .unwrap();
    }
    let host = test_host_with(settings(), &[]).await;
    assert!(
        host.host().problems().is_empty(),
        "{:?}",
        host.host().problems()
    );
    assert_eq!(host.get("/api/v1/greet/ann").await.status, 200);
    let echo = echo_ok(&host).await;
    assert_eq!(
        (
            echo.header("x-operation-version"),
            echo.header("x-operation-revision")
        ),
        ("2.0.0", revision_before.as_str())
    );
    host.get("/api/v1/system/info")
        .await
        .assert_error(404, "operation_not_found");
    // The history came back too: a rollback returns to the built-in echo.
    let rolled = host
        .post(
            "/api/v1/admin/operations/echo/rollback",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    assert_eq!(echo_ok(&host).await.header("x-operation-version"), "0.1.0");
    drop(host);
    let host = test_host_with(settings(), &[]).await;
    assert_eq!(
        echo_ok(&host).await.header("x-operation-version"),
        "0.1.0",
        "the rollback was kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_components_are_loaded_replaced_and_rolled_back_for_sandboxes() {
    let host = test_host(&[]).await;
    let first = upload(
        &host,
        Method::PUT,
        "/api/v1/admin/workers/ledger",
        guests::LEDGER_V1,
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["data"]["live"]["stateful"], true);
    let created = host
        .post(
            "/api/v1/sandboxes",
            serde_json::json!({ "id": "books", "supervisor": { "children": [
                { "id": "main", "worker": "ledger", "name": "main-ledger" }
            ] } }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let table = host.host().processes();
    let wait = std::time::Duration::from_secs(5);
    table
        .call("main-ledger", None, "add 4", wait)
        .await
        .unwrap();

    let second = upload(
        &host,
        Method::PUT,
        "/api/v1/admin/workers/ledger",
        guests::LEDGER_V2,
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(
        second.body["data"]["previous"]["version"],
        first.body["data"]["live"]["version"]
    );
    let reloaded = host
        .post(
            "/api/v1/sandboxes/books/hot-reload",
            serde_json::json!({ "worker": "ledger" }),
        )
        .await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.body);
    assert_eq!(
        table.call("main-ledger", None, "get", wait).await.unwrap(),
        "v2:4/0"
    );
    let versions = host.get("/api/v1/admin/workers/ledger/versions").await;
    assert_eq!(
        versions.body["data"]["versions"].as_array().unwrap().len(),
        2
    );

    let rolled = host
        .post(
            "/api/v1/admin/workers/ledger/rollback",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    assert_eq!(
        rolled.body["data"]["live"]["version"],
        first.body["data"]["live"]["version"]
    );
    host.post(
        "/api/v1/admin/workers/ledger/rollback",
        serde_json::json!({}),
    )
    .await
    .assert_error(409, "no_earlier_version");

    host.send(
        Method::PUT,
        "/api/v1/admin/workers/ledger",
        Body::from("junk"),
        &[("content-type", "application/wasm")],
    )
    .await
    .assert_error(422, "invalid_component");
    upload(
        &host,
        Method::PUT,
        "/api/v1/admin/workers/bad%20name",
        guests::LEDGER_V1,
    )
    .await
    .assert_error(422, "validation_error");
    let unloaded = host.delete("/api/v1/admin/workers/ledger").await;
    assert_eq!(unloaded.status, 200, "{}", unloaded.body);
    host.delete("/api/v1/admin/workers/ledger")
        .await
        .assert_error(404, "worker_not_found");
    // The running process keeps its code.
    assert_eq!(
        table.call("main-ledger", None, "get", wait).await.unwrap(),
        "v2:4/0"
    );
}

async fn upload_bytes(host: &TestHost, method: Method, uri: &str, bytes: Vec<u8>) -> Reply {
    host.send(
        method,
        uri,
        Body::from(bytes),
        &[("content-type", "application/wasm")],
    )
    .await
}

/// Where `host`'s compile cache keeps the precompiled artifact (`.cwasm`) of the guest
/// at `path`, as this very engine wrote it.
fn cached_artifact(host: &TestHost, path: &str) -> std::path::PathBuf {
    let hash = arsenal::content_hash(&arsenal_tests::read(path));
    host.host()
        .registry()
        .loader()
        .cache()
        .dir()
        .expect("the tests' compile cache is on")
        .join(format!("{hash}.cwasm"))
}

/// Whether the shared compile cache holds an artifact for `bytes` (under any engine).
fn cached(bytes: &[u8]) -> bool {
    let hash = arsenal::content_hash(bytes);
    let root = std::path::Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .any(|engine| engine.path().join(format!("{hash}.cwasm")).exists())
}

/// A variant of a guest that no other test has, so it misses every cache.
fn unique(path: &str, tag: &str) -> Vec<u8> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let serial = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tag = format!(
        "{tag} {} {serial} {:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    arsenal_tests::distinct(&arsenal_tests::read(path), &tag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_components_survive_a_restart_with_their_history() {
    let state = crate::fresh_state_dir();
    let settings = || {
        let mut settings = settings();
        settings.server.state_dir = Some(state.clone());
        settings
    };
    let (v1, v2) = {
        let host = test_host_with(settings(), &[]).await;
        let first = upload(
            &host,
            Method::PUT,
            "/api/v1/admin/workers/ledger",
            guests::LEDGER_V1,
        )
        .await;
        assert_eq!(first.status, 201, "{}", first.body);
        let second = upload(
            &host,
            Method::PUT,
            "/api/v1/admin/workers/ledger",
            guests::LEDGER_V2,
        )
        .await;
        assert_eq!(second.status, 200, "{}", second.body);
        let counter = upload(
            &host,
            Method::PUT,
            "/api/v1/admin/workers/tally",
            guests::COUNTER_WORKER,
        )
        .await;
        assert_eq!(counter.status, 201, "{}", counter.body);
        (
            first.body["data"]["live"]["version"].clone(),
            second.body["data"]["live"]["version"].clone(),
        )
    };
    let versions = |reply: Reply| -> Vec<Value> {
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["data"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|version| version["version"].clone())
            .collect()
    };
    {
        let host = test_host_with(settings(), &[]).await;
        let kept = versions(host.get("/api/v1/admin/workers/ledger/versions").await);
        assert_eq!(
            kept,
            vec![v2.clone(), v1.clone()],
            "live first, history after"
        );
        let rolled = host
            .post(
                "/api/v1/admin/workers/ledger/rollback",
                serde_json::json!({}),
            )
            .await;
        assert_eq!(rolled.status, 200, "{}", rolled.body);
        assert_eq!(host.delete("/api/v1/admin/workers/tally").await.status, 200);
    }
    let host = test_host_with(settings(), &[]).await;
    assert!(
        host.host().problems().is_empty(),
        "{:?}",
        host.host().problems()
    );
    let kept = versions(host.get("/api/v1/admin/workers/ledger/versions").await);
    assert_eq!(kept, vec![v1], "the rollback was kept");
    host.get("/api/v1/admin/workers/tally/versions")
        .await
        .assert_error(404, "worker_not_found");
    // The restored worker runs.
    let created = host
        .post(
            "/api/v1/sandboxes",
            serde_json::json!({ "id": "kept", "supervisor": { "children": [
                { "id": "main", "worker": "ledger", "name": "kept-ledger" }
            ] } }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compilation_past_its_bound_is_refused_and_changes_nothing() {
    let mut settings = settings();
    settings.compile.timeout_ms = 1;
    let host = test_host_with(settings, &[]).await;
    upload_bytes(
        &host,
        Method::PUT,
        "/api/v1/admin/operations/echo",
        unique(guests::ECHO_V2, "timeout"),
    )
    .await
    .assert_error(422, "compile_timeout");
    assert_eq!(echo_ok(&host).await.header("x-operation-version"), "0.1.0");
    upload_bytes(
        &host,
        Method::PUT,
        "/api/v1/admin/workers/tally",
        unique(guests::COUNTER_WORKER, "timeout"),
    )
    .await
    .assert_error(422, "compile_timeout");
    host.get("/api/v1/admin/workers/tally/versions")
        .await
        .assert_error(404, "worker_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_dropped_from_the_history_leave_the_compile_cache() {
    let mut settings = settings();
    settings.operations.versions_kept = 1;
    let host = test_host_with(settings, &[]).await;
    let [a, b, c] = ["a", "b", "c"].map(|tag| unique(guests::ECHO_V2, tag));
    for version in [&a, &b, &c] {
        let replaced = upload_bytes(
            &host,
            Method::PUT,
            "/api/v1/admin/operations/echo",
            version.clone(),
        )
        .await;
        assert_eq!(replaced.status, 200, "{}", replaced.body);
    }
    assert!(!cached(&a), "`a` fell out of a history of one");
    assert!(
        cached(&b) && cached(&c),
        "the live and the kept version stay"
    );
    let rolled = host
        .post(
            "/api/v1/admin/operations/echo/rollback",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    assert!(!cached(&c), "the version rolled away from is dropped");
    assert_eq!(
        host.delete("/api/v1/admin/operations/echo").await.status,
        200
    );
    assert!(!cached(&b), "an unloaded operation leaves nothing behind");

    let [x, y, z] = ["x", "y", "z"].map(|tag| unique(guests::COUNTER_WORKER, tag));
    for version in [&x, &y, &z] {
        let loaded = upload_bytes(
            &host,
            Method::PUT,
            "/api/v1/admin/workers/tally",
            version.clone(),
        )
        .await;
        assert!(
            loaded.status == 200 || loaded.status == 201,
            "{}",
            loaded.body
        );
    }
    assert!(!cached(&x), "worker versions follow the same bound");
    assert!(cached(&y) && cached(&z));
    assert_eq!(host.delete("/api/v1/admin/workers/tally").await.status, 200);
    assert!(!cached(&y) && !cached(&z));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unloading_lets_requests_in_flight_finish_and_turns_new_ones_away() {
    let host = Arc::new(test_host(&[]).await);
    let added = upload(
        &host,
        Method::POST,
        "/api/v1/admin/operations",
        guests::SLOW_OK,
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let in_flight: Vec<_> = (0..3)
        .map(|_| {
            let host = host.clone();
            tokio::spawn(async move { host.get("/api/v1/test/slow?ms=400").await })
        })
        .collect();
    let patience = std::time::Duration::from_secs(10);
    tokio::time::timeout(
        patience,
        host.host().registry().instances().busy_at_least(3),
    )
    .await
    .expect("the three calls are running");

    let unloaded = host.delete("/api/v1/admin/operations/slow_ok").await;
    assert_eq!(unloaded.status, 200, "{}", unloaded.body);
    host.get("/api/v1/test/slow?ms=0")
        .await
        .assert_error(404, "operation_not_found");
    for request in in_flight {
        let reply = request.await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["data"]["slept_ms"], 400);
        assert_eq!(
            reply.header("x-operation-revision"),
            added.body["data"]["revision"].as_str().unwrap(),
            "finished on the version it started with"
        );
    }
}

/// A request still running on a version that stopped being live is stopped at the drain
/// deadline and answered 503 `version_retired` (on the version it started with), while the
/// live version serves; with a deadline it can meet, the same request finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_on_a_replaced_version_end_at_the_drain_deadline() {
    for (drain_ms, sleep_ms) in [(100, 2_000), (30_000, 1_500)] {
        let mut settings = settings();
        settings.operations.drain_ms = drain_ms;
        // Room for the slow call: the tests' default call deadline is shorter.
        settings.limits.timeout_ms = 5_000;
        let host = Arc::new(test_host_with(settings, &[]).await);
        let added = upload(
            &host,
            Method::POST,
            "/api/v1/admin/operations",
            guests::SLOW_OK,
        )
        .await;
        assert_eq!(added.status, 201, "{}", added.body);
        // The next version is compiled before the call starts (loaded, then rolled away
        // from), so replacing it mid-call is a cache hit, not a compilation racing the call.
        let next = unique(guests::SLOW_OK, "drain");
        let uri = "/api/v1/admin/operations/slow_ok";
        let compiled = upload_bytes(&host, Method::PUT, uri, next.clone()).await;
        assert_eq!(compiled.status, 200, "{}", compiled.body);
        let rolled_back = host
            .send(Method::POST, &format!("{uri}/rollback"), Body::empty(), &[])
            .await;
        assert_eq!(rolled_back.status, 200, "{}", rolled_back.body);

        let in_flight = {
            let host = host.clone();
            let uri = format!("/api/v1/test/slow?ms={sleep_ms}");
            tokio::spawn(async move { host.get(&uri).await })
        };
        let patience = std::time::Duration::from_secs(10);
        tokio::time::timeout(
            patience,
            host.host().registry().instances().busy_at_least(1),
        )
        .await
        .expect("the call is running");

        let replaced = upload_bytes(&host, Method::PUT, uri, next).await;
        assert_eq!(replaced.status, 200, "{}", replaced.body);
        let live = host.get("/api/v1/test/slow?ms=0").await;
        assert_eq!(live.status, 200, "{}", live.body);
        assert_eq!(
            live.header("x-operation-revision"),
            replaced.body["data"]["live"]["revision"].as_str().unwrap()
        );

        let reply = in_flight.await.unwrap();
        assert_eq!(
            reply.header("x-operation-revision"),
            added.body["data"]["revision"].as_str().unwrap(),
            "answered by the version it started on"
        );
        if drain_ms < sleep_ms {
            reply.assert_error(503, "version_retired");
            assert_eq!(reply.body["error"]["details"]["drain_ms"], drain_ms);
            assert_eq!(reply.header("retry-after"), "1");
        } else {
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.body["data"]["slept_ms"], sleep_ms);
        }
    }
}

/// At most `compile.max_concurrent` compilations hold a slot at once, for operations and
/// worker components together (one compiler serves both); the others wait for a slot and
/// then go through. Six uploads of code no cache has are sent at once with a bound of one,
/// and calls keep being answered while they compile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compilations_beyond_the_bound_wait_for_a_slot() {
    let mut settings = settings();
    settings.compile.max_concurrent = 1;
    let host = Arc::new(test_host_with(settings, &[]).await);
    let compiler = || host.host().registry().loader().compiler().facts();
    assert_eq!(compiler().most_at_once, 0);
    let uploads: Vec<_> = (0..6)
        .map(|n| {
            let host = host.clone();
            let (uri, bytes) = if n % 2 == 0 {
                (
                    "/api/v1/admin/operations/echo".to_owned(),
                    unique(guests::ECHO_V2, "bound"),
                )
            } else {
                (
                    format!("/api/v1/admin/workers/bound-{n}"),
                    unique(guests::COUNTER_WORKER, "bound"),
                )
            };
            tokio::spawn(async move { upload_bytes(&host, Method::PUT, &uri, bytes).await })
        })
        .collect();
    // Serving goes on meanwhile: calls are answered while compilations hold the slot.
    let mut answered_while_compiling = 0;
    within("the end of six uploads", async {
        while uploads.iter().any(|upload| !upload.is_finished()) {
            let compiling = compiler().running > 0;
            let reply = host.get("/api/v1/echo/ping").await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            if compiling && compiler().running > 0 {
                answered_while_compiling += 1;
            }
        }
    })
    .await;
    assert!(
        answered_while_compiling > 0,
        "no call was answered while code compiled"
    );
    for upload in uploads {
        let reply = upload.await.unwrap();
        assert!(reply.status == 200 || reply.status == 201, "{}", reply.body);
    }
    let facts = compiler();
    assert_eq!(facts.max_concurrent, 1);
    assert_eq!(
        facts.most_at_once, 1,
        "never more than one compilation at a time: {facts:?}"
    );
    assert_eq!((facts.running, facts.waiting), (0, 0), "{facts:?}");
    assert_eq!(
        host.get("/api/v1/admin/operations/echo/versions")
            .await
            .body["data"]["versions"]
            .as_array()
            .map(Vec::len),
        Some(4),
        "the three replacements all went through"
    );
}

/// Admin changes sent at once — replacements, rollbacks, worker loads — are kept in the
/// order they were made live, so a restart comes back to the versions served before it,
/// with the same histories; the state directory keeps exactly the uploaded components
/// those histories name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_changes_made_at_once_come_back_in_the_order_they_were_made() {
    let state = crate::fresh_state_dir();
    let settings = || {
        let mut settings = settings();
        settings.server.state_dir = Some(state.clone());
        settings
    };
    let host = Arc::new(test_host_with(settings(), &[]).await);
    let mut changes = Vec::new();
    for n in 0..8 {
        let host = host.clone();
        let operation = unique(guests::ECHO_V2, &format!("at once {n}"));
        let worker = unique(guests::COUNTER_WORKER, &format!("at once {n}"));
        changes.push(tokio::spawn(async move {
            let replaced = upload_bytes(
                &host,
                Method::PUT,
                "/api/v1/admin/operations/echo",
                operation,
            )
            .await;
            assert_eq!(replaced.status, 200, "{}", replaced.body);
            let loaded =
                upload_bytes(&host, Method::PUT, "/api/v1/admin/workers/tally", worker).await;
            assert!(
                loaded.status == 200 || loaded.status == 201,
                "{}",
                loaded.body
            );
            if n % 3 == 0 {
                for uri in [
                    "/api/v1/admin/operations/echo/rollback",
                    "/api/v1/admin/workers/tally/rollback",
                ] {
                    let rolled = host.post(uri, serde_json::json!({})).await;
                    assert!(
                        rolled.status == 200 || rolled.code() == "no_earlier_version",
                        "{}",
                        rolled.body
                    );
                }
            }
        }));
    }
    for change in changes {
        change.await.unwrap();
    }
    let versions = |reply: Reply, field: &str| -> Vec<String> {
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["data"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|version| version[field].as_str().unwrap().to_owned())
            .collect()
    };
    let echo = versions(
        host.get("/api/v1/admin/operations/echo/versions").await,
        "content_hash",
    );
    let tally = versions(
        host.get("/api/v1/admin/workers/tally/versions").await,
        "version",
    );
    drop(host);

    let host = test_host_with(settings(), &[]).await;
    assert!(
        host.host().problems().is_empty(),
        "{:?}",
        host.host().problems()
    );
    let kept_echo = versions(
        host.get("/api/v1/admin/operations/echo/versions").await,
        "content_hash",
    );
    assert_eq!(kept_echo, echo, "echo: live first, then its history");
    let kept_tally = versions(
        host.get("/api/v1/admin/workers/tally/versions").await,
        "version",
    );
    assert_eq!(kept_tally, tally, "tally: live first, then its history");
    // Exactly the uploaded versions are stored: echo's (the built-in one is not an upload)
    // and tally's (a worker's version is the start of its content hash).
    let uploaded_echo: Vec<&String> = echo
        .iter()
        .filter(|hash| Some(hash.as_str()) != builtin_hash(&host).as_deref())
        .collect();
    let stored: Vec<String> = std::fs::read_dir(state.join("components"))
        .unwrap()
        .flatten()
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".wasm").unwrap().to_owned()
        })
        .collect();
    for hash in &uploaded_echo {
        assert!(stored.contains(hash), "echo's {hash} is kept");
    }
    for version in &tally {
        assert!(
            stored.iter().any(|hash| hash.starts_with(version.as_str())),
            "tally's {version} is kept"
        );
    }
    assert_eq!(
        stored.len(),
        uploaded_echo.len() + tally.len(),
        "nothing is kept that no history names: {stored:?}"
    );
}

/// The content hash of the built-in echo, which loads with every host.
fn builtin_hash(host: &TestHost) -> Option<String> {
    let fresh = host.host().registry().versions().of("echo").ok()?;
    fresh
        .iter()
        .find(|operation| operation.source == arsenal::Source::Builtin)
        .map(|operation| operation.content_hash.clone())
}

/// Bad worker components, like bad operations, change nothing and say why: each is
/// answered with its status and code, the worker loaded under the name keeps its version,
/// and a good upload goes through afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_worker_upload_changes_nothing_and_says_why() {
    let ledger = arsenal_tests::read(guests::LEDGER_V1);
    let mut settings = settings();
    // Over every body here but the one meant to be too large (a precompiled artifact is
    // some times its component's size).
    settings.server.max_upload_bytes = 4 << 20;
    let cap = settings.server.max_upload_bytes;
    let host = test_host_with(settings, &[]).await;
    let first = upload_bytes(
        &host,
        Method::PUT,
        "/api/v1/admin/workers/ledger",
        ledger.clone(),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let live = first.body["data"]["live"]["version"].clone();
    // A precompiled artifact of a good component, from this host's compile cache.
    let artifact = cached_artifact(&host, guests::ECHO_V2);
    let echo_v2 = upload(
        &host,
        Method::PUT,
        "/api/v1/admin/operations/echo",
        guests::ECHO_V2,
    )
    .await;
    assert_eq!(echo_v2.status, 200, "{}", echo_v2.body);
    let precompiled = std::fs::read(&artifact).expect("echo v2's artifact is cached");
    let cases = [
        (
            "not wasm",
            b"junk".to_vec(),
            422,
            "invalid_component",
            "/error/message",
            "not a WebAssembly binary",
        ),
        (
            "core module",
            arsenal_tests::read(guests::CORE_MODULE),
            422,
            "invalid_component",
            "/error/message",
            "core WebAssembly module",
        ),
        (
            "precompiled artifact",
            precompiled,
            422,
            "invalid_component",
            "/error/message",
            "precompiled artifact",
        ),
        (
            "an operation, not a worker",
            arsenal_tests::read(guests::GREET),
            422,
            "invalid_component",
            "/error/message",
            "arsenal:process/worker@0.1.0",
        ),
        (
            "future contract",
            arsenal_tests::read(guests::FUTURE_WORKER),
            422,
            "unsupported_contract_version",
            "/error/details/found",
            "0.9.0",
        ),
        (
            "too large",
            vec![0; cap + 1],
            413,
            "payload_too_large",
            "/error/code",
            "payload_too_large",
        ),
    ];
    for (case, body, status, code, pointer, named) in cases {
        let reply = upload_bytes(&host, Method::PUT, "/api/v1/admin/workers/ledger", body).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (status, code),
            "{case}: {}",
            reply.body
        );
        let found = reply.body.pointer(pointer).and_then(Value::as_str);
        assert!(
            found.is_some_and(|found| found.contains(named)),
            "{case}: {pointer} does not name {named:?}: {}",
            reply.body
        );
        if code == "unsupported_contract_version" {
            assert_eq!(
                reply.body["error"]["details"]["supported"],
                serde_json::json!(["0.1.0"]),
                "{case}"
            );
        }
        let versions = host.get("/api/v1/admin/workers/ledger/versions").await;
        assert_eq!(versions.status, 200, "{case}: {}", versions.body);
        let listed = versions.body["data"]["versions"].as_array().unwrap();
        assert_eq!(listed.len(), 1, "{case}: nothing kept: {}", versions.body);
        assert_eq!(listed[0]["version"], live, "{case}: the live version stays");
    }
    let second = upload(
        &host,
        Method::PUT,
        "/api/v1/admin/workers/ledger",
        guests::LEDGER_V2,
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["data"]["previous"]["version"], live);
}
