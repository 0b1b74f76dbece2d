//! Telemetry end to end: `/metrics` agrees exactly with a scripted sequence of requests
//! and with the live process world, an operation's `/stats` and `/health` tell its recent
//! record (and survive a hot replace), and W3C trace context is continued, echoed and
//! written into the JSON log beside the request id.

use std::collections::BTreeMap;

use arsenal::Source;
use arsenal_testing::{Reply, TestHost};
use axum::body::Body;
use http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{BUILTINS, LogCapture, crash, guests, host_with_counters, test_host, test_host_with};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// One sample of the Prometheus text: the metric name and its labels.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Series {
    name: String,
    labels: BTreeMap<String, String>,
}

/// `GET /metrics` as local mode's anonymous reader, parsed into samples.
pub(crate) async fn scrape(host: &TestHost) -> BTreeMap<Series, f64> {
    scrape_as(host, None).await
}

/// `GET /metrics` with `token`, parsed into samples (comments skipped). The text format's
/// label values here contain no `,` or `"`, so a plain split suffices.
pub(crate) async fn scrape_as(host: &TestHost, token: Option<&str>) -> BTreeMap<Series, f64> {
    let mut request = http::Request::get("/metrics");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = host
        .router()
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').expect("label=value");
                (key.to_owned(), value.trim_matches('"').to_owned())
            })
            .collect();
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
        samples.insert(
            Series {
                name: name.to_owned(),
                labels,
            },
            value,
        );
    }
    samples
}

/// The value of the sample `name` with exactly `labels`, if scraped.
pub(crate) fn value(
    samples: &BTreeMap<Series, f64>,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    let series = Series {
        name: name.to_owned(),
        labels: labels
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
    };
    samples.get(&series).copied()
}

async fn get_with_id(host: &TestHost, uri: &str, request_id: &str) -> Reply {
    host.send(
        Method::GET,
        uri,
        Body::empty(),
        &[("x-request-id", request_id)],
    )
    .await
}

/// 3 successes, 2 validation errors and 1 not-found on `greet`, with request ids
/// `{prefix}-1` to `{prefix}-6` in that order.
async fn scripted_greets(host: &TestHost, prefix: &str) {
    let script = [
        ("/api/v1/greet/ann", 200),
        ("/api/v1/greet/bob?times=2", 200),
        ("/api/v1/greet/cy", 200),
        ("/api/v1/greet/ann?times=9", 422),
        ("/api/v1/greet/ann?colour=red", 422),
        ("/api/v1/greet/nobody", 404),
    ];
    for (index, (uri, status)) in script.into_iter().enumerate() {
        let reply = get_with_id(host, uri, &format!("{prefix}-{}", index + 1)).await;
        assert_eq!(reply.status, status, "{uri}: {}", reply.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_scripted_sequence_exactly_and_per_host() {
    let host = test_host(&[guests::GREET]).await;
    let other = test_host(&[guests::GREET]).await;
    scripted_greets(&host, "m").await;
    assert_eq!(other.get("/api/v1/greet/zed").await.status, 200);

    let samples = scrape(&host).await;
    let requests = |status, code| {
        value(
            &samples,
            "arsenal_operation_requests_total",
            &[("operation", "greet"), ("status", status), ("code", code)],
        )
    };
    assert_eq!(requests("200", "ok"), Some(3.0));
    assert_eq!(requests("422", "validation_error"), Some(2.0));
    assert_eq!(requests("404", "not_found"), Some(1.0));
    let greet = [("operation", "greet")];
    assert_eq!(
        value(&samples, "arsenal_operation_duration_seconds_count", &greet),
        Some(6.0),
        "one latency sample per call"
    );
    assert_eq!(
        value(
            &samples,
            "arsenal_operation_duration_seconds_bucket",
            &[("operation", "greet"), ("le", "+Inf")]
        ),
        Some(6.0)
    );
    assert_eq!(value(&samples, "arsenal_instances_in_use", &[]), Some(0.0));
    assert_eq!(value(&samples, "arsenal_instances_max", &[]), Some(8.0));
    let calls_of_greet: f64 = samples
        .iter()
        .filter(|(series, _)| {
            series.name == "arsenal_operation_requests_total"
                && series.labels["operation"] == "greet"
        })
        .map(|(_, value)| value)
        .sum();
    assert_eq!(calls_of_greet, 6.0, "no other status or code was counted");

    let others = scrape(&other).await;
    assert_eq!(
        value(
            &others,
            "arsenal_operation_requests_total",
            &[("operation", "greet"), ("status", "200"), ("code", "ok")]
        ),
        Some(1.0),
        "the second host counts only its own call"
    );
    assert_eq!(
        value(
            &others,
            "arsenal_operation_requests_total",
            &[
                ("operation", "greet"),
                ("status", "422"),
                ("code", "validation_error")
            ]
        ),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_cache_lookups_are_counted() {
    let host = test_host(&[guests::GREET]).await;
    let lookups = |samples: &BTreeMap<Series, f64>| {
        (
            value(samples, "arsenal_compile_cache_hits_total", &[]).unwrap(),
            value(samples, "arsenal_compile_cache_misses_total", &[]).unwrap(),
        )
    };
    let (hits, misses) = lookups(&scrape(&host).await);
    assert_eq!(
        hits + misses,
        (BUILTINS.len() + 1) as f64,
        "one lookup per component loaded"
    );
    // The same bytes again: the first load stored them, so this is a hit.
    host.host()
        .registry()
        .inspect(
            &arsenal_tests::read(guests::GREET),
            Source::Directory,
            "again",
        )
        .await
        .unwrap();
    assert_eq!(lookups(&scrape(&host).await), (hits + 1.0, misses));
}

/// A request with `token` from `client`, as the server would see its connection.
async fn send_from(host: &TestHost, client: [u8; 4], token: Option<&str>, uri: &str) -> Reply {
    let mut request = http::Request::get(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut request = request.body(Body::empty()).unwrap();
    let addr = std::net::SocketAddr::from((client, 40_000));
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    Reply::read(host.router().clone().oneshot(request).await.unwrap()).await
}

const VIEWER: &str = "telemetry-viewer-key";
const OPERATOR: &str = "telemetry-operator-key";
const ADMIN: &str = "telemetry-admin-key";

/// Every refusal of a scripted sequence is counted once, under its limit or its code:
/// rate limits per key, per operation and for failed authentication, missing and wrong
/// keys, roles too low for the admin API and the audit log, and a header flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_counted_by_limit_and_code() {
    use arsenal::Role;
    use arsenal::config::RateQuota;

    let mut settings = crate::keyed(&[
        ("viewer", VIEWER, Role::Viewer),
        ("operator", OPERATOR, Role::Operator),
        ("admin", ADMIN, Role::Admin),
    ]);
    // Minutes long, so that nothing refills while the script runs.
    let quota = |burst| RateQuota {
        burst,
        replenish_ms: 60_000,
    };
    settings.rate_limits.per_key = quota(3);
    settings.rate_limits.per_operation = quota(1);
    settings.rate_limits.failed_auth = quota(1);
    let host = test_host_with(settings, &[guests::GREET]).await;
    let loopback = [127, 0, 0, 1];
    let get = |token, uri| send_from(&host, loopback, token, uri);

    assert_eq!(get(Some(VIEWER), "/api/v1/greet/ann").await.status, 200);
    let refused = get(Some(VIEWER), "/api/v1/greet/bob").await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(refused.body["error"]["details"]["limit"], "operation");
    assert_eq!(get(Some(VIEWER), "/api/v1/operations").await.status, 200);
    let refused = get(Some(VIEWER), "/api/v1/operations").await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(refused.body["error"]["details"]["limit"], "key");

    let guesser = [192, 0, 2, 7];
    send_from(&host, guesser, Some("guess"), "/api/v1/operations")
        .await
        .assert_error(401, "unauthenticated");
    let refused = send_from(&host, guesser, Some("guess"), "/api/v1/operations").await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(
        refused.body["error"]["details"]["limit"],
        "failed_authentication"
    );
    get(None, "/api/v1/operations")
        .await
        .assert_error(401, "unauthenticated");

    get(Some(OPERATOR), "/api/v1/admin/operations/echo/versions")
        .await
        .assert_error(403, "forbidden");
    get(Some(OPERATOR), "/api/v1/audit")
        .await
        .assert_error(403, "forbidden");

    let names: Vec<String> = (0..70).map(|i| format!("x-flood-{i}")).collect();
    let flood: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "1")).collect();
    host.send_as(
        Some(ADMIN),
        Method::GET,
        "/api/v1/echo/a",
        Body::empty(),
        &flood,
    )
    .await
    .assert_error(431, "headers_too_large");

    let samples = scrape_as(&host, Some(ADMIN)).await;
    let counted = |name, labels: &[(&str, &str)]| value(&samples, name, labels).unwrap_or(0.0);
    let limited = |kind| counted("arsenal_rate_limited_total", &[("key_kind", kind)]);
    assert_eq!(
        (
            limited("key"),
            limited("operation"),
            limited("failed_authentication")
        ),
        (1.0, 1.0, 1.0)
    );
    let refused = |code| counted("arsenal_requests_refused_total", &[("code", code)]);
    assert_eq!(
        (
            refused("unauthenticated"),
            refused("forbidden"),
            refused("headers_too_large"),
            refused("overloaded"),
            refused("request_timeout"),
        ),
        (2.0, 2.0, 1.0, 0.0, 0.0)
    );
    let greet = |status, code| {
        counted(
            "arsenal_operation_requests_total",
            &[("operation", "greet"), ("status", status), ("code", code)],
        )
    };
    assert_eq!(
        (greet("200", "ok"), greet("429", "rate_limited")),
        (1.0, 1.0)
    );
    assert_eq!(
        counted(
            "arsenal_operation_duration_seconds_count",
            &[("operation", "greet")]
        ),
        2.0
    );
}

/// Uploads through the admin API count their compile-cache lookups: a component no cache
/// has is a miss, the same bytes again a hit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_uploads_count_compile_cache_misses_then_hits() {
    let host = test_host(&[]).await;
    let lookups = |samples: &BTreeMap<Series, f64>| {
        (
            value(samples, "arsenal_compile_cache_hits_total", &[]).unwrap(),
            value(samples, "arsenal_compile_cache_misses_total", &[]).unwrap(),
        )
    };
    let (hits, misses) = lookups(&scrape(&host).await);
    let tag = format!("cache lookups {:?}", std::time::SystemTime::now());
    let fresh = arsenal_tests::distinct(&arsenal_tests::read(guests::ECHO_V2), &tag);
    let upload = |bytes: Vec<u8>| {
        host.send(
            Method::PUT,
            "/api/v1/admin/operations/echo",
            Body::from(bytes),
            &[("content-type", "application/wasm")],
        )
    };
    let replaced = upload(fresh.clone()).await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(lookups(&scrape(&host).await), (hits, misses + 1.0));
    let again = upload(fresh).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(lookups(&scrape(&host).await), (hits + 1.0, misses + 1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_read_processes_supervisors_and_sandboxes_live() {
    let host = host_with_counters(&["one", "two", "three"]).await;
    let suspended = host.post("/api/v1/processes/two/suspend", json!({})).await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let samples = scrape(&host).await;
    let processes = |status| value(&samples, "arsenal_processes", &[("status", status)]);
    assert_eq!(
        (
            processes("running"),
            processes("suspended"),
            processes("hibernated"),
            processes("exiting")
        ),
        (Some(2.0), Some(1.0), Some(0.0), Some(0.0))
    );

    let started = host
        .post(
            "/api/v1/supervisors",
            json!({ "name": "shop", "children": [{ "id": "a", "worker": "counter" }] }),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let table = host.host().processes();
    let shop = table.supervisor("shop").unwrap();
    let shop_pid = shop.pid().to_string();
    let restarts = |samples: &BTreeMap<Series, f64>| {
        value(
            samples,
            "arsenal_supervisor_restarts_total",
            &[("supervisor", &shop_pid), ("name", "shop")],
        )
    };
    assert_eq!(restarts(&scrape(&host).await), Some(0.0));
    crash(table, &shop, "a").await;
    assert_eq!(restarts(&scrape(&host).await), Some(1.0));

    let created = host
        .post(
            "/api/v1/sandboxes",
            json!({
                "id": "lab",
                "supervisor": { "children": [{ "id": "a", "worker": "counter" }] },
                "limits": { "total_memory_mib": 8 },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let held = host.get("/api/v1/sandboxes/lab").await.body["data"]["usage"]["memory_bytes"]
        .as_f64()
        .unwrap();
    assert!(held > 0.0, "a counter holds memory");
    let samples = scrape(&host).await;
    let lab = [("sandbox", "lab")];
    assert_eq!(
        value(&samples, "arsenal_sandbox_memory_bytes", &lab),
        Some(held)
    );
    assert_eq!(
        value(&samples, "arsenal_sandbox_memory_budget_bytes", &lab),
        Some(f64::from(8 << 20))
    );

    assert_eq!(host.delete("/api/v1/sandboxes/lab").await.status, 200);
    let samples = scrape(&host).await;
    assert_eq!(
        value(&samples, "arsenal_sandbox_memory_bytes", &lab),
        None,
        "a destroyed sandbox is no longer reported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_report_counts_rates_latency_and_the_last_errors() {
    let host = test_host(&[guests::GREET]).await;
    scripted_greets(&host, "s").await;
    let reply = host.get("/api/v1/operations/greet/stats").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let data = &reply.body["data"];
    assert_eq!(data["name"], "greet");
    let windows = data["windows"].as_array().unwrap();
    let names: Vec<&str> = windows
        .iter()
        .map(|w| w["window"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["1m", "5m", "15m"]);
    for window in windows {
        assert_eq!(window["calls"], 6, "{window}");
        assert_eq!(window["failures"], 0, "{window}");
        assert_eq!(window["client_errors"], 3, "{window}");
        assert_eq!(window["error_rate"], 0.0, "{window}");
        let (p50, p99) = (
            window["p50_ms"].as_f64().unwrap(),
            window["p99_ms"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99, "{window}");
    }
    assert_eq!(
        data["totals"],
        json!({ "calls": 6, "failures": 0, "client_errors": 3 })
    );
    let errors: Vec<(&str, u64, &str)> = data["last_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            (
                error["request_id"].as_str().unwrap(),
                error["status"].as_u64().unwrap(),
                error["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("s-6", 404, "not_found"),
            ("s-5", 422, "validation_error"),
            ("s-4", 422, "validation_error"),
        ],
        "newest first"
    );
    let error = &data["last_errors"][0];
    let mut fields: Vec<&str> = error
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "at_unix_ms",
            "code",
            "request_id",
            "revision",
            "status",
            "version"
        ],
        "codes and ids, nothing from inside the guest"
    );

    host.get("/api/v1/operations/nonesuch/stats")
        .await
        .assert_error(404, "operation_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_survive_a_hot_replace_and_name_the_versions_that_served() {
    let host = test_host(&[]).await;
    for id in ["a", "b"] {
        assert_eq!(host.get(&format!("/api/v1/echo/{id}")).await.status, 200);
    }
    let swapped = host
        .host()
        .registry()
        .replace(
            "echo",
            &arsenal_tests::read(guests::ECHO_V2),
            Source::Upload,
            "test",
        )
        .await
        .unwrap();
    let reply = host.get("/api/v1/echo/c").await;
    assert_eq!(reply.body["data"]["v"], 2, "{}", reply.body);

    let data = host.get("/api/v1/operations/echo/stats").await.body["data"].clone();
    assert_eq!(data["totals"]["calls"], 3);
    let versions: Vec<(&str, &str, u64)> = data["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|served| {
            (
                served["version"].as_str().unwrap(),
                served["revision"].as_str().unwrap(),
                served["calls"].as_u64().unwrap(),
            )
        })
        .collect();
    let revision = |hash: &str| hash[..12].to_owned();
    assert_eq!(
        versions,
        [
            ("2.0.0", &*revision(&swapped.live.content_hash), 1),
            (
                &*swapped.previous.spec.version,
                &*revision(&swapped.previous.content_hash),
                2
            ),
        ],
        "most recently used first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_loading_instantiation_and_the_error_budget() {
    let host = test_host(&[guests::PANIC, guests::GREET]).await;

    let echo = host.get("/api/v1/operations/echo/health").await;
    assert_eq!(echo.status, 200, "{}", echo.body);
    let data = &echo.body["data"];
    assert_eq!(data["healthy"], true, "{data}");
    assert_eq!(data["checks"]["loaded"]["ok"], true);
    assert_eq!(
        data["checks"]["instantiates"],
        json!({ "ok": true, "code": null })
    );
    assert_eq!(data["checks"]["error_budget"]["ok"], true);
    assert_eq!(data["checks"]["error_budget"]["budget"], 0.05);
    assert_eq!(data["checks"]["error_budget"]["seconds"], 300);

    for _ in 0..3 {
        host.get("/api/v1/test/panic")
            .await
            .assert_error(500, "operation_crashed");
    }
    // The analytics name the crash by code and request id; the guest's panic message and
    // the trap stay in the server log.
    let stats = host.get("/api/v1/operations/panic/stats").await;
    let last = &stats.body["data"]["last_errors"][0];
    assert_eq!(
        (&last["status"], &last["code"]),
        (&json!(500), &json!("operation_crashed")),
        "{}",
        stats.body
    );
    let text = stats.body.to_string();
    for internal in ["panicked", "unreachable", "wasm backtrace"] {
        assert!(!text.contains(internal), "`{internal}` in {text}");
    }
    let panic = host.get("/api/v1/operations/panic/health").await;
    assert_eq!(panic.status, 200, "{}", panic.body);
    let data = &panic.body["data"];
    assert_eq!(data["healthy"], false, "{data}");
    assert_eq!(
        data["checks"]["instantiates"]["ok"], true,
        "it instantiates; only its calls fail"
    );
    let budget = &data["checks"]["error_budget"];
    assert_eq!(budget["ok"], false);
    assert_eq!(
        (budget["calls"].as_u64(), budget["failures"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(budget["error_rate"], 1.0);

    // A caller's mistakes are not the operation's failures.
    for _ in 0..4 {
        assert_eq!(host.get("/api/v1/greet/ann?times=99").await.status, 422);
    }
    let greet = host.get("/api/v1/operations/greet/health").await;
    assert_eq!(greet.body["data"]["healthy"], true, "{}", greet.body);
    assert_eq!(
        greet.body["data"]["checks"]["error_budget"]["client_errors"],
        4
    );

    host.get("/api/v1/operations/nonesuch/health")
        .await
        .assert_error(404, "operation_not_found");
}

/// The health check really instantiates the operation: with every instance slot taken
/// by a call in flight it cannot, and says so (by code), until the slot is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_while_the_operation_cannot_be_instantiated() {
    let mut settings = crate::settings();
    settings.limits.max_instances = 1;
    settings.limits.warm_instances = 0;
    settings.limits.timeout_ms = 5_000;
    let host = test_host_with(settings, &[guests::SLOW_OK]).await;
    let router = host.router().clone();
    let slow = tokio::spawn(async move {
        let request = http::Request::get("/api/v1/test/slow?ms=500")
            .header(
                "authorization",
                format!("Bearer {}", arsenal_testing::ADMIN_TOKEN),
            )
            .body(Body::empty())
            .unwrap();
        router.oneshot(request).await.unwrap().status()
    });
    host.host().registry().instances().busy_at_least(1).await;
    let samples = scrape(&host).await;
    assert_eq!(
        (
            value(&samples, "arsenal_instances_in_use", &[]),
            value(&samples, "arsenal_instances_max", &[])
        ),
        (Some(1.0), Some(1.0)),
        "the call in flight holds the one instance"
    );
    let busy = host.get("/api/v1/operations/echo/health").await;
    assert_eq!(busy.status, 200, "{}", busy.body);
    let data = &busy.body["data"];
    assert_eq!(data["healthy"], false, "{data}");
    assert_eq!(
        data["checks"]["instantiates"],
        json!({ "ok": false, "code": "overloaded" })
    );
    assert_eq!(data["checks"]["loaded"]["ok"], true);
    assert_eq!(slow.await.unwrap(), 200);
    let free = host.get("/api/v1/operations/echo/health").await;
    assert_eq!(free.body["data"]["healthy"], true, "{}", free.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_traceparent_is_continued_and_a_malformed_one_replaced() {
    let host = test_host(&[]).await;
    let continued = host
        .send(
            Method::GET,
            "/api/v1/echo/t",
            Body::empty(),
            &[("traceparent", TRACEPARENT)],
        )
        .await;
    let echoed = continued.header("traceparent");
    let parts: Vec<&str> = echoed.split('-').collect();
    assert_eq!(parts.len(), 4, "{echoed}");
    assert_eq!((parts[0], parts[1], parts[3]), ("00", TRACE, "01"));
    assert_ne!(
        parts[2], "00f067aa0ba902b7",
        "the span id is the server's own"
    );
    assert_eq!(parts[2].len(), 16);

    for malformed in [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ] {
        let reply = host
            .send(
                Method::GET,
                "/api/v1/echo/t",
                Body::empty(),
                &[("traceparent", malformed)],
            )
            .await;
        assert_eq!(reply.status, 200);
        let fresh = reply.header("traceparent");
        assert_eq!(fresh.len(), 55, "{fresh}");
        assert!(
            fresh.starts_with("00-") && !fresh.contains(TRACE),
            "{malformed} → {fresh}"
        );
    }
    let first = host.get("/api/v1/echo/t").await;
    let second = host.get("/api/v1/echo/t").await;
    assert_ne!(
        first.header("traceparent")[3..35],
        second.header("traceparent")[3..35],
        "requests without a trace each start their own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_refused_at_the_edge_still_continues_its_trace() {
    let host = test_host_with(
        crate::keyed(&[("viewer", VIEWER, arsenal::Role::Viewer)]),
        &[],
    )
    .await;
    let names: Vec<String> = (0..70).map(|i| format!("x-flood-{i}")).collect();
    let mut flood: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "1")).collect();
    flood.push(("traceparent", TRACEPARENT));
    let refusals = [
        (
            None,
            vec![("traceparent", TRACEPARENT)],
            401,
            "unauthenticated",
        ),
        (
            Some("wrong"),
            vec![("traceparent", TRACEPARENT)],
            401,
            "unauthenticated",
        ),
        (Some(VIEWER), flood, 431, "headers_too_large"),
    ];
    for (token, headers, status, code) in refusals {
        let reply = host
            .send_as(
                token,
                Method::GET,
                "/api/v1/echo/t",
                Body::empty(),
                &headers,
            )
            .await;
        reply.assert_error(status, code);
        let echoed = reply.header("traceparent");
        assert_eq!(&echoed[3..35], TRACE, "{code}: {echoed}");
    }
}

// One thread: the subscriber set for this test sees every event of the batch's calls.
#[tokio::test(flavor = "current_thread")]
async fn a_batch_and_its_calls_share_one_trace() {
    let host = test_host(&[guests::PANIC]).await;
    let buffer = LogCapture::default();
    let subscriber = buffer.json_subscriber();
    let calls = json!({ "calls": [
        { "method": "GET", "path": "/api/v1/test/panic" },
        { "method": "GET", "path": "/api/v1/test/panic" },
    ]});
    let reply = {
        let _logging = tracing::subscriber::set_default(subscriber);
        // Callsites another test's thread registered while this was being set may have
        // cached "not interested" (a race in tracing's interest cache): ask again.
        tracing::callsite::rebuild_interest_cache();
        host.send(
            Method::POST,
            "/api/v1/batch",
            Body::from(calls.to_string()),
            &[
                ("content-type", "application/json"),
                ("x-request-id", "traced-batch"),
                ("traceparent", TRACEPARENT),
            ],
        )
        .await
    };
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(&reply.header("traceparent")[3..35], TRACE);
    let text = buffer.text();
    let crashes: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("every line is JSON"))
        .filter(|line| line["fields"]["message"] == "operation crashed")
        .collect();
    let mut ids: Vec<&str> = crashes
        .iter()
        .map(|line| line["fields"]["request_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["traced-batch.0", "traced-batch.1"], "{text}");
    for crash in &crashes {
        let requests: Vec<&Value> = crash["spans"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|span| span["name"] == "request")
            .collect();
        assert_eq!(
            requests.len(),
            2,
            "the batch's span and the call's: {crash}"
        );
        for span in requests {
            assert_eq!(span["trace_id"], TRACE, "{crash}");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn json_logs_carry_the_request_id_and_the_trace_id() {
    let host = test_host(&[guests::PANIC]).await;
    let buffer = LogCapture::default();
    let subscriber = buffer.json_subscriber();
    let reply = {
        let _logging = tracing::subscriber::set_default(subscriber);
        // Callsites another test's thread registered while this was being set may have
        // cached "not interested" (a race in tracing's interest cache): ask again.
        tracing::callsite::rebuild_interest_cache();
        host.send(
            Method::GET,
            "/api/v1/test/panic",
            Body::empty(),
            &[("x-request-id", "log-line-1"), ("traceparent", TRACEPARENT)],
        )
        .await
    };
    reply.assert_error(500, "operation_crashed");
    let text = buffer.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();
    let crashed = lines
        .iter()
        .find(|line| line["fields"]["message"] == "operation crashed")
        .unwrap_or_else(|| panic!("no crash line in {text}"));
    assert_eq!(crashed["fields"]["request_id"], "log-line-1");
    let request_span = crashed["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|span| span["name"] == "request")
        .unwrap_or_else(|| panic!("no request span: {crashed}"));
    assert_eq!(request_span["request_id"], "log-line-1");
    assert_eq!(request_span["trace_id"], TRACE);
    // The guest's own output is logged inside the operation's span.
    let guest_line = lines
        .iter()
        .find(|line| line["target"] == "guest")
        .unwrap_or_else(|| panic!("no guest line in {text}"));
    let operation_span = &guest_line["span"];
    assert_eq!(operation_span["name"], "operation", "{guest_line}");
    assert_eq!(operation_span["operation"], "panic");
    assert_eq!(operation_span["request_id"], "log-line-1");
}
