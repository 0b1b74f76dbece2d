//! `POST /api/v1/batch` through the real router with the real built-in operations: every
//! call answered in request order with the status and body a request of its own gets,
//! failures kept to their own call, whole-batch refusals (size, shape), nested batches
//! refused per call, `stop_on_error`, and concurrency bounded by the request and the pool.

use arsenal_testing::{Reply, TestHost};
use axum::body::Body;
use http::Method;
use serde_json::{Value, json};

use crate::{host_with_counters, host_with_counters_in, settings, test_host};

const BATCH: &str = "/api/v1/batch";

/// Send `batch`, assert the batch itself answered 200, and return its `data`.
async fn run(host: &TestHost, batch: Value) -> Value {
    let reply = host.post(BATCH, batch).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"].clone()
}

/// Each result's status, in order.
fn statuses(data: &Value) -> Vec<u64> {
    results(data)
        .iter()
        .map(|result| result["status"].as_u64().unwrap())
        .collect()
}

/// Each result's error code, `None` for a success.
fn codes(data: &Value) -> Vec<Option<&str>> {
    results(data)
        .iter()
        .map(|result| result["body"]["error"]["code"].as_str())
        .collect()
}

fn results(data: &Value) -> &Vec<Value> {
    data["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {data}"))
}

/// The counts of the answer: succeeded, failed, skipped.
fn counts(data: &Value) -> (u64, u64, u64) {
    (
        data["succeeded"].as_u64().unwrap(),
        data["failed"].as_u64().unwrap(),
        data["skipped"].as_u64().unwrap(),
    )
}

async fn post_raw(host: &TestHost, body: &'static str) -> Reply {
    host.send(
        Method::POST,
        BATCH,
        Body::from(body),
        &[("content-type", "application/json")],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_answer_in_order_as_requests_of_their_own() {
    let host = host_with_counters(&["alpha"]).await;
    let pid = host
        .host()
        .processes()
        .whereis("alpha")
        .unwrap()
        .to_string();
    let reply = host
        .send(
            Method::POST,
            BATCH,
            Body::from(
                json!({ "calls": [
                    { "method": "GET", "path": "/api/v1/echo/one?x=1", "query": { "y": 2 }, "id": "first" },
                    { "method": "get", "path": "/api/v1/processes/alpha", "id": 7 },
                    { "method": "POST", "path": "/api/v1/operations/echo/execute", "body": { "id": "two" } },
                    { "method": "GET", "path": "/api/v1/processes/nobody" },
                ]})
                .to_string(),
            ),
            &[("x-request-id", "batch-7")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("x-request-id"), "batch-7");
    let data = &reply.body["data"];
    assert_eq!(statuses(data), [200, 200, 200, 404]);
    assert_eq!(counts(data), (3, 1, 0));
    let results = results(data);
    assert_eq!(
        results
            .iter()
            .map(|result| (result["index"].clone(), result["id"].clone()))
            .collect::<Vec<_>>(),
        [
            (json!(0), json!("first")),
            (json!(1), json!(7)),
            (json!(2), Value::Null),
            (json!(3), Value::Null)
        ]
    );
    assert_eq!(
        results[0]["body"],
        json!({ "data": { "id": "one", "query": { "x": "1", "y": "2" } } })
    );
    assert_eq!(results[1]["body"]["data"]["pid"], pid);
    assert_eq!(
        results[2]["body"],
        json!({ "data": { "id": "two", "query": {} } })
    );
    // The same error body a request of its own gets, under the call's own request id.
    let direct = host.get("/api/v1/processes/nobody").await;
    direct.assert_error(404, "process_not_found");
    let error = &results[3]["body"]["error"];
    assert_eq!(error["code"], "process_not_found");
    assert_eq!(error["message"], direct.body["error"]["message"]);
    assert_eq!(error["request_id"], "batch-7.3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_call_leaves_the_others_alone() {
    let host = host_with_counters(&["alpha"]).await;
    let long_id = "x".repeat(257);
    let data = run(
        &host,
        json!({ "calls": [
            { "method": "GET", "path": "/api/v1/echo/before" },
            { "method": "GET", "path": "/api/v1/processes", "query": { "limit": 0 } },
            { "method": "GET", "path": format!("/api/v1/echo/{long_id}") },
            { "method": "GET", "path": "/api/v1/nope" },
            { "method": "DELETE", "path": "/api/v1/echo/abc" },
            { "method": "POST", "path": "/api/v1/processes/alpha/messages", "body": { "payload": 1 } },
            { "method": "GET", "path": "/api/v1/processes" },
        ]}),
    )
    .await;
    assert_eq!(statuses(&data), [200, 422, 422, 404, 405, 422, 200]);
    assert_eq!(
        codes(&data),
        [
            None,
            Some("validation_error"),
            Some("validation_error"),
            Some("operation_not_found"),
            Some("method_not_allowed"),
            Some("validation_error"),
            None
        ]
    );
    assert_eq!(counts(&data), (2, 5, 0));
    let results = results(&data);
    assert_eq!(
        results[1]["body"]["error"]["details"]["fields"][0]["field"],
        "limit"
    );
    assert_eq!(
        results[4]["body"]["error"]["details"],
        json!({ "allow": ["GET"] })
    );
    assert_eq!(results[6]["body"]["data"]["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_batch_is_refused_as_its_own_call() {
    let host = test_host(&[]).await;
    let data = run(
        &host,
        json!({ "calls": [
            { "method": "POST", "path": BATCH, "body": { "calls": [{ "method": "GET", "path": "/api/v1/echo/a" }] } },
            { "method": "GET", "path": "/api/v1/echo/after" },
        ]}),
    )
    .await;
    assert_eq!(statuses(&data), [422, 200]);
    assert_eq!(codes(&data), [Some("nested_batch"), None]);
    assert_eq!(counts(&data), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_calls_run_and_one_more_is_refused() {
    let host = test_host(&[]).await;
    let calls: Vec<Value> = (0..1_000)
        .map(|i| json!({ "method": "GET", "path": format!("/api/v1/echo/{i}"), "id": i }))
        .collect();
    let data = run(&host, json!({ "calls": calls, "concurrency": 64 })).await;
    assert_eq!(counts(&data), (1_000, 0, 0));
    for (i, result) in results(&data).iter().enumerate() {
        assert_eq!(
            (
                &result["index"],
                &result["id"],
                &result["body"]["data"]["id"]
            ),
            (&json!(i), &json!(i), &json!(i.to_string())),
            "result {i}"
        );
    }

    let calls = vec![json!({ "method": "GET", "path": "/api/v1/echo/a" }); 1_001];
    let reply = host.post(BATCH, json!({ "calls": calls })).await;
    reply.assert_error(413, "batch_too_large");
    assert_eq!(
        reply.body["error"]["details"],
        json!({ "calls": 1_001, "limit_calls": 1_000 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ill_formed_batch_is_refused_whole() {
    let host = test_host(&[]).await;
    let reply = host.post(BATCH, json!({ "calls": [] })).await;
    reply.assert_error(422, "validation_error");
    assert_eq!(
        reply.body["error"]["details"]["fields"],
        json!([{ "field": "calls", "message": "must hold at least one call" }])
    );

    let reply = host
        .post(
            BATCH,
            json!({ "calls": [{ "method": "GET" }, { "method": "TRACE", "path": "/x" }], "concurrency": 0 }),
        )
        .await;
    reply.assert_error(422, "validation_error");
    let fields: Vec<_> = reply.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["calls/0/path", "calls/1/method", "concurrency"]);

    host.post(BATCH, json!({}))
        .await
        .assert_error(422, "validation_error");
    post_raw(&host, "{oops")
        .await
        .assert_error(400, "malformed_request");
    post_raw(&host, r#"[{"method": "GET", "path": "/api/v1/echo/a"}]"#)
        .await
        .assert_error(400, "malformed_request");

    let reply = host.get(BATCH).await;
    reply.assert_error(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), "POST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_one_runs_calls_one_after_another_in_order() {
    let host = host_with_counters(&["counter"]).await;
    let inc = json!({ "method": "POST", "path": "/api/v1/processes/counter/messages", "body": { "payload": "inc" } });
    let mut calls = vec![inc; 5];
    calls.push(json!({
        "method": "POST",
        "path": "/api/v1/processes/counter/messages",
        "body": { "payload": "get", "call": true },
    }));
    let data = run(&host, json!({ "calls": calls, "concurrency": 1 })).await;
    assert_eq!(statuses(&data), [200; 6]);
    // The `get` started only once every `inc` was delivered.
    assert_eq!(
        results(&data)[5]["body"]["data"],
        json!({ "delivered": true, "reply": "5" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_on_error_skips_the_calls_not_yet_started() {
    let host = host_with_counters(&["counter"]).await;
    let send = |to: &str, payload: &str| json!({ "method": "POST", "path": format!("/api/v1/processes/{to}/messages"), "body": { "payload": payload } });
    let data = run(
        &host,
        json!({
            "calls": [send("counter", "inc"), send("ghost", "inc"), send("counter", "inc"), send("counter", "inc")],
            "concurrency": 1,
            "stop_on_error": true,
        }),
    )
    .await;
    assert_eq!(statuses(&data), [200, 404, 424, 424]);
    assert_eq!(
        codes(&data),
        [
            None,
            Some("process_not_found"),
            Some("skipped"),
            Some("skipped")
        ]
    );
    assert_eq!(counts(&data), (1, 1, 2));
    // The skipped calls did not run: the counter saw one `inc`.
    let reply = host
        .post(
            "/api/v1/processes/counter/messages",
            json!({ "payload": "get", "call": true }),
        )
        .await;
    assert_eq!(reply.body["data"]["reply"], "1", "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_holds_no_more_instances_than_the_pool() {
    let mut settings = settings();
    settings.limits.max_instances = 2;
    let host = host_with_counters_in(settings, &["asleep"]).await;
    // A call to a suspended process holds its instance until the call times out.
    host.host().processes().suspend("asleep").unwrap();
    let wait = json!({
        "method": "POST",
        "path": "/api/v1/processes/asleep/messages",
        "body": { "payload": "get", "call": true, "timeout_ms": 20 },
    });
    // Asking for 64 at once runs two at a time: every call times out on its own, and none
    // is refused `overloaded` for want of an instance.
    let data = run(&host, json!({ "calls": vec![wait; 6], "concurrency": 64 })).await;
    assert_eq!(codes(&data), [Some("call_timeout"); 6], "{data}");
    assert_eq!(host.host().registry().instances().in_use(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_batch_endpoint() {
    let host = test_host(&[]).await;
    let document = host.get("/api/v1/openapi.json").await.body;
    let batch = &document["paths"][BATCH]["post"];
    assert_eq!(batch["operationId"], "batch");
    let body = &batch["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["required"], json!(["calls"]));
    assert_eq!(body["properties"]["calls"]["maxItems"], 1_000);
    // A batch too large, by bytes or by calls, is documented with both codes.
    let too_large = batch["responses"]["413"]["$ref"]
        .as_str()
        .expect("a shared answer");
    let too_large = document
        .pointer(too_large.trim_start_matches('#'))
        .expect("it resolves");
    let schema = &too_large["content"]["application/json"]["schema"];
    assert_eq!(schema["allOf"][0]["$ref"], "#/components/schemas/Error");
    assert_eq!(
        schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"],
        json!(["payload_too_large", "batch_too_large"])
    );
}
