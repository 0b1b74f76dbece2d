//! Per-call limits, end to end through the router: each misbehaving guest costs its own
//! call an exact status and error code, never the host — a good request on the same host
//! succeeds afterwards and every instance slot is given back.

use std::sync::Arc;
use std::time::Duration;

use arsenal::config::OperationOverride;
use arsenal_testing::{Reply, TestHost};
use serde_json::Value;

use crate::{guests, settings, test_host, test_host_with};

/// How long a test waits for an event that should follow within milliseconds; only a
/// broken host makes it expire.
const PATIENCE: Duration = Duration::from_secs(5);

/// After a failure: every instance slot is released and the host still serves.
async fn assert_recovered(host: &TestHost) {
    tokio::time::timeout(PATIENCE, host.host().registry().instances().settled_at(0))
        .await
        .expect("every instance is released after the call");
    let reply = host.get("/api/v1/echo/x").await;
    assert_eq!(reply.status.as_u16(), 200, "body: {}", reply.body);
    assert_eq!(reply.body["data"]["id"], "x");
}

/// Waits, without sleeping, until at least `count` instances are in use.
async fn wait_in_use(host: &TestHost, count: u32) {
    let instances = host.host().registry().instances();
    tokio::time::timeout(PATIENCE, async {
        while instances.in_use() < count {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{count} instance(s) never became busy"));
}

/// The error message of an error reply.
fn message(reply: &Reply) -> &str {
    reply.body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_that_never_returns_times_out() {
    let host = test_host(&[guests::LOOP_FOREVER]).await;
    let reply = host.get("/api/v1/test/loop").await;
    reply.assert_error(504, "operation_timeout");
    assert!(message(&reply).contains("1000 ms"), "body: {}", reply.body);
    assert_recovered(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_holds_through_a_loop_of_host_calls() {
    let host = test_host(&[guests::HOST_CALL_LOOP]).await;
    let reply = host.get("/api/v1/test/host-call-loop").await;
    reply.assert_error(504, "operation_timeout");
    assert_recovered(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growing_memory_past_the_cap_exhausts_a_resource() {
    let host = test_host(&[guests::MEMORY_BOMB]).await;
    let reply = host.get("/api/v1/test/memory-bomb").await;
    reply.assert_error(500, "resource_exhausted");
    assert!(
        message(&reply).contains("cap is 64 MiB"),
        "body: {}",
        reply.body
    );
    assert_recovered(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growing_a_table_past_the_cap_exhausts_a_resource() {
    let host = test_host(&[guests::TABLE_BOMB]).await;
    let reply = host.get("/api/v1/test/table-bomb").await;
    reply.assert_error(500, "resource_exhausted");
    assert!(
        message(&reply).contains("cap is 10000"),
        "body: {}",
        reply.body
    );
    assert_recovered(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_overflow_is_a_crash() {
    let host = test_host(&[guests::DEEP_RECURSION]).await;
    let reply = host.get("/api/v1/test/recursion").await;
    reply.assert_error(500, "operation_crashed");
    assert_recovered(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_a_crash_and_its_internals_stay_out_of_the_body() {
    let host = test_host(&[guests::PANIC]).await;
    let reply = host.get("/api/v1/test/panic").await;
    reply.assert_error(500, "operation_crashed");
    let body = reply.body.to_string().to_lowercase();
    for internal in [
        "panicked",
        "on purpose",
        "wasm",
        "backtrace",
        "unreachable",
        "trap",
    ] {
        assert!(!body.contains(internal), "`{internal}` leaked: {body}");
    }
    assert_eq!(reply.body["error"]["details"], Value::Null);
    assert_recovered(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_over_the_response_cap_is_refused() {
    let host = test_host(&[guests::HUGE_OUTPUT]).await;
    let reply = host.get("/api/v1/test/huge-output").await;
    reply.assert_error(500, "response_too_large");
    let details = &reply.body["error"]["details"];
    assert_eq!(
        details["limit_bytes"],
        8 * 1024 * 1024,
        "body: {}",
        reply.body
    );
    // 9 MiB of `x`, plus the two quotes of the JSON string.
    assert_eq!(details["size_bytes"], (9 << 20) + 2, "body: {}", reply.body);
    assert_recovered(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_call_within_the_deadline_succeeds() {
    let host = test_host(&[guests::SLOW_OK]).await;
    let reply = host.get("/api/v1/test/slow?ms=300").await;
    assert_eq!(reply.status.as_u16(), 200, "body: {}", reply.body);
    assert_eq!(reply.body["data"]["slept_ms"], 300);
    assert_recovered(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_override_shortens_the_deadline_of_one_operation() {
    let mut settings = settings();
    settings.operations.overrides.insert(
        "slow_ok".to_owned(),
        OperationOverride {
            timeout_ms: Some(100),
            ..OperationOverride::default()
        },
    );
    let host = test_host_with(settings, &[guests::SLOW_OK]).await;
    let reply = host.get("/api/v1/test/slow?ms=300").await;
    reply.assert_error(504, "operation_timeout");
    assert!(message(&reply).contains("100 ms"), "body: {}", reply.body);
    assert_recovered(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_beyond_the_instance_cap_is_turned_away() {
    let mut settings = settings();
    settings.limits.max_instances = 1;
    let host = Arc::new(test_host_with(settings, &[guests::SLOW_OK]).await);

    let first = tokio::spawn({
        let host = host.clone();
        async move { host.get("/api/v1/test/slow?ms=800").await }
    });
    wait_in_use(&host, 1).await;

    let second = host.get("/api/v1/test/slow?ms=0").await;
    second.assert_error(503, "overloaded");
    assert_eq!(second.header("retry-after"), "1");

    let first = first.await.expect("the first request's task completes");
    assert_eq!(first.status.as_u16(), 200, "body: {}", first.body);
    assert_eq!(first.body["data"]["slept_ms"], 800);

    tokio::time::timeout(PATIENCE, host.host().registry().instances().settled_at(0))
        .await
        .expect("the instance is released");
    let third = host.get("/api/v1/test/slow?ms=0").await;
    assert_eq!(third.status.as_u16(), 200, "body: {}", third.body);
    assert_recovered(&host).await;
}
