//! Tracing and profiling through HTTP against live counter workers: the events a trace
//! records, in order and by kind; its bounds; deleting it; and a profile per message kind.

use std::time::Duration;

use arsenal_testing::TestHost;
use serde_json::{Value, json};

use crate::{exit_of, host_with_counters, within};

const WAIT: Duration = Duration::from_secs(5);

async fn start(host: &TestHost, target: &str, body: Value) -> u64 {
    let reply = host
        .post(&format!("/api/v1/processes/{target}/trace"), body)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"]["id"].as_u64().unwrap()
}

fn details(reply: &arsenal_testing::Reply) -> Vec<(String, String)> {
    reply.body["data"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            (
                event["kind"].as_str().unwrap().to_owned(),
                event["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_records_sends_receives_lifecycle_and_host_calls_in_order() {
    let host = host_with_counters(&["tracee", "other"]).await;
    let table = host.host().processes();
    let other = table.whereis("other").unwrap().to_string();
    let id = start(&host, "tracee", json!({})).await;
    table.call("tracee", None, "inc", WAIT).await.unwrap();
    table
        .call("tracee", None, &format!("tell {other} inc"), WAIT)
        .await
        .unwrap();
    table
        .call("tracee", None, "whereis other", WAIT)
        .await
        .unwrap();
    table.suspend("tracee").unwrap();
    table.resume("tracee").unwrap();
    table.call("tracee", None, "get", WAIT).await.unwrap();

    let trace = host.get(&format!("/api/v1/traces/{id}")).await;
    assert_eq!(trace.status, 200, "{}", trace.body);
    assert_eq!(trace.body["data"]["trace"]["status"], "active");
    assert_eq!(
        details(&trace),
        [
            ("receive".to_owned(), "call: inc".to_owned()),
            ("receive".to_owned(), format!("call: tell {other} inc")),
            ("send".to_owned(), format!("send to {other}: inc")),
            ("receive".to_owned(), "call: whereis other".to_owned()),
            ("host_call".to_owned(), "whereis other".to_owned()),
            ("lifecycle".to_owned(), "suspended".to_owned()),
            ("lifecycle".to_owned(), "resumed".to_owned()),
            ("receive".to_owned(), "call: get".to_owned()),
        ]
    );
    let offsets: Vec<u64> = trace.body["data"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["offset_us"].as_u64().unwrap())
        .collect();
    assert!(
        offsets.windows(2).all(|pair| pair[0] <= pair[1]),
        "{offsets:?}"
    );
    let page = host
        .get(&format!("/api/v1/traces/{id}?offset=6&limit=1"))
        .await;
    assert_eq!(
        details(&page),
        [("lifecycle".to_owned(), "resumed".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_keeps_only_the_kinds_asked_and_stops_at_its_bounds() {
    let host = host_with_counters(&["tracee"]).await;
    let table = host.host().processes();
    let id = start(
        &host,
        "tracee",
        json!({ "events": ["receive"], "max_events": 2 }),
    )
    .await;
    for _ in 0..4 {
        table.call("tracee", None, "inc", WAIT).await.unwrap();
    }
    let trace = host.get(&format!("/api/v1/traces/{id}")).await;
    assert_eq!(trace.body["data"]["trace"]["status"], "full");
    assert_eq!(trace.body["data"]["events"].as_array().unwrap().len(), 2);

    // A trace ends when its process exits, with the exit as its last event.
    let lifecycle = start(&host, "tracee", json!({ "events": ["lifecycle"] })).await;
    let pid = table.whereis("tracee").unwrap().to_string();
    let exited = exit_of(table, &pid);
    table
        .exit("tracee", None, arsenal::runtime::ExitReason::Kill)
        .unwrap();
    exited.await;
    let ended = host.get(&format!("/api/v1/traces/{lifecycle}")).await;
    assert_eq!(ended.body["data"]["trace"]["status"], "process_exited");
    assert_eq!(
        details(&ended),
        [("lifecycle".to_owned(), "exited: killed".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_trace_deletes_it_and_bad_requests_are_refused() {
    let host = host_with_counters(&["tracee"]).await;
    let id = start(&host, "tracee", json!({ "events": ["send"] })).await;
    let stopped = host.delete(&format!("/api/v1/traces/{id}")).await;
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    assert_eq!(stopped.body["data"]["status"], "stopped");
    host.delete(&format!("/api/v1/traces/{id}"))
        .await
        .assert_error(404, "trace_not_found");
    host.get(&format!("/api/v1/traces/{id}"))
        .await
        .assert_error(404, "trace_not_found");
    host.get("/api/v1/traces/zero")
        .await
        .assert_error(422, "validation_error");
    host.post(
        "/api/v1/processes/tracee/trace",
        json!({ "events": ["everything"] }),
    )
    .await
    .assert_error(422, "validation_error");
    host.post("/api/v1/processes/tracee/trace", json!({ "events": [] }))
        .await
        .assert_error(422, "validation_error");
    host.post("/api/v1/processes/ghost/trace", json!({}))
        .await
        .assert_error(404, "process_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_process_measures_each_message_kind() {
    let host = std::sync::Arc::new(host_with_counters(&["busy"]).await);
    let profiling = {
        let host = host.clone();
        tokio::spawn(async move {
            host.post(
                "/api/v1/processes/busy/profile",
                json!({ "window_ms": 300 }),
            )
            .await
        })
    };
    let table = host.host().processes();
    within("the end of the 300 ms profile", async {
        while !profiling.is_finished() {
            table.call("busy", None, "add 2", WAIT).await.unwrap();
            table.call("busy", None, "inc", WAIT).await.unwrap();
            tokio::task::yield_now().await;
        }
    })
    .await;
    let profile = profiling.await.unwrap();
    assert_eq!(profile.status, 200, "{}", profile.body);
    let data = &profile.body["data"];
    assert_eq!(data["exited"], false);
    let kinds = data["kinds"].as_array().unwrap();
    let names: std::collections::BTreeSet<_> =
        kinds.iter().map(|k| k["kind"].as_str().unwrap()).collect();
    assert_eq!(names, ["add", "inc"].into_iter().collect());
    for kind in kinds {
        assert!(kind["count"].as_u64().unwrap() >= 1, "{kind}");
        assert!(
            kind["mean_us"].as_u64().unwrap() <= kind["max_us"].as_u64().unwrap(),
            "{kind}"
        );
    }
    let messages: u64 = kinds.iter().map(|k| k["count"].as_u64().unwrap()).sum();
    assert_eq!(data["messages"], messages);
    host.post(
        "/api/v1/processes/ghost/profile",
        json!({ "window_ms": 10 }),
    )
    .await
    .assert_error(404, "process_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_window_longer_than_the_deadline_is_refused_before_it_starts() {
    // The test settings give calls a deadline of 1 s: a window may take at most 900 ms,
    // and the document says so.
    let host = host_with_counters(&["busy"]).await;
    let document = host.get("/api/v1/openapi.json").await.body;
    let window = &document["paths"]["/api/v1/processes/{pid}/profile"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]["properties"]["window_ms"];
    assert_eq!(window["maximum"], 900, "{window}");
    assert_eq!(window["minimum"], 1, "{window}");

    let described = host.get("/api/v1/operations/profile_process").await;
    let params = described.body["data"]["params"].as_array().unwrap();
    let param = params.iter().find(|p| p["name"] == "window_ms").unwrap();
    assert_eq!(param["schema"]["maximum"], 900, "{param}");

    let refused = host
        .post(
            "/api/v1/processes/busy/profile",
            json!({ "window_ms": 901 }),
        )
        .await;
    refused.assert_error(422, "validation_error");
    let fields = refused.body["error"]["details"]["fields"]
        .as_array()
        .unwrap();
    assert_eq!(fields.len(), 1, "{}", refused.body);
    assert_eq!(fields[0]["field"], "window_ms");
    let message = fields[0]["message"].as_str().unwrap();
    assert!(message.contains("900"), "the bound is named: {message}");

    // The longest window allowed finishes within the deadline.
    let longest = host
        .post(
            "/api/v1/processes/busy/profile",
            json!({ "window_ms": 900 }),
        )
        .await;
    assert_eq!(longest.status, 200, "{}", longest.body);
    assert_eq!(longest.body["data"]["window_ms"], 900);
}
