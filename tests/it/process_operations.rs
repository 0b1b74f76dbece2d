//! The built-in process operations through HTTP, against live counter workers: listing
//! with filters and pages, one process by pid or name, the registry, and kill, suspend and
//! resume with the state change each claims.

use std::time::Duration;

use arsenal::Source;
use arsenal::runtime::{ExitReason, SpawnOptions, Status};
use serde_json::json;

use crate::{encode, exit_of, guests, host_with_counters, test_host, test_host_with};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_processes_filters_sorts_and_pages() {
    let host = host_with_counters(&["alpha", "beta", "gamma"]).await;
    let reply = host.get("/api/v1/processes").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let data = &reply.body["data"];
    assert_eq!(
        (
            data["total"].as_u64(),
            data["limit"].as_u64(),
            data["offset"].as_u64()
        ),
        (Some(3), Some(100), Some(0))
    );
    let names: Vec<_> = data["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta", "gamma"], "pid order by default");

    let page = host.get("/api/v1/processes?limit=1&offset=1").await;
    assert_eq!(page.body["data"]["processes"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["data"]["processes"][0]["name"], "beta");
    // An offset past what an operation can count is refused by validation, naming the
    // documented bound, not by the operation.
    let far = host.get("/api/v1/processes?offset=68719476737").await;
    far.assert_error(422, "validation_error");
    assert_eq!(far.body["error"]["details"]["fields"][0]["field"], "offset");

    host.host().processes().suspend("gamma").unwrap();
    let suspended = host.get("/api/v1/processes?status=suspended").await;
    assert_eq!(suspended.body["data"]["total"], 1);
    assert_eq!(suspended.body["data"]["processes"][0]["name"], "gamma");

    host.get("/api/v1/processes?status=asleep")
        .await
        .assert_error(422, "validation_error");
    host.get("/api/v1/processes?limit=0")
        .await
        .assert_error(422, "validation_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_process_info_by_pid_or_name() {
    let host = host_with_counters(&["alpha"]).await;
    let pid = host
        .host()
        .processes()
        .whereis("alpha")
        .unwrap()
        .to_string();
    let by_name = host.get("/api/v1/processes/alpha").await;
    assert_eq!(by_name.status, 200, "{}", by_name.body);
    assert_eq!(by_name.body["data"]["pid"], pid);
    assert_eq!(by_name.body["data"]["status"], "running");
    let by_pid = host
        .get(&format!("/api/v1/processes/{}", encode(&pid)))
        .await;
    assert_eq!(by_pid.body["data"]["name"], "alpha");

    host.get("/api/v1/processes/nobody")
        .await
        .assert_error(404, "process_not_found");
    host.get(&format!("/api/v1/processes/{}", encode("<local.0.99999>")))
        .await
        .assert_error(404, "process_not_found");
    host.get(&format!("/api/v1/processes/{}", encode("<local.x>")))
        .await
        .assert_error(422, "validation_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_lists_names_and_pids() {
    let host = host_with_counters(&["beta", "alpha"]).await;
    let reply = host.get("/api/v1/registry").await;
    let table = host.host().processes();
    assert_eq!(
        reply.body["data"],
        json!([
            { "name": "alpha", "pid": table.whereis("alpha").unwrap().to_string() },
            { "name": "beta", "pid": table.whereis("beta").unwrap().to_string() },
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_process_removes_it_and_a_second_kill_is_404() {
    let host = host_with_counters(&["doomed", "bystander"]).await;
    let table = host.host().processes();
    let exited = exit_of(table, "doomed");
    let reply = host
        .send(
            http::Method::DELETE,
            "/api/v1/processes/doomed",
            axum::body::Body::empty(),
            &[],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["reason"], "kill");
    assert_eq!(exited.await, ExitReason::Kill);
    assert!(table.whereis("doomed").is_none());
    let again = host
        .send(
            http::Method::DELETE,
            "/api/v1/processes/doomed",
            axum::body::Body::empty(),
            &[],
        )
        .await;
    again.assert_error(404, "process_not_found");
    assert_eq!(table.len(), 1, "nothing else changed");

    let exited = exit_of(table, "bystander");
    let reply = host
        .send(
            http::Method::DELETE,
            "/api/v1/processes/bystander?reason=maintenance",
            axum::body::Body::empty(),
            &[],
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(exited.await, ExitReason::Crash("maintenance".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_process_handles_nothing_until_resumed() {
    let host = host_with_counters(&["paused"]).await;
    let table = host.host().processes();
    let reply = host
        .post("/api/v1/processes/paused/suspend", json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(table.info("paused").unwrap().status, Status::Suspended);
    table.send("paused", None, "inc").unwrap();
    assert_eq!(
        table.info("paused").unwrap().mailbox_len,
        1,
        "queued, not handled"
    );
    let reply = host
        .post("/api/v1/processes/paused/resume", json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(table.call("paused", None, "get", WAIT).await.unwrap(), "1");
    host.post("/api/v1/processes/ghost/suspend", json!({}))
        .await
        .assert_error(404, "process_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_process_runs_a_loaded_worker() {
    let host = test_host(&[]).await;
    let bytes = arsenal_tests::read(guests::COUNTER_WORKER);
    host.host()
        .workers()
        .load("counter", &bytes, Source::Directory, guests::COUNTER_WORKER)
        .await
        .unwrap();
    let workers = host.get("/api/v1/workers").await;
    assert_eq!(workers.body["data"][0]["name"], "counter");

    let reply = host
        .post(
            "/api/v1/processes",
            json!({ "worker": "counter", "args": "5", "name": "c" }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["data"]["name"], "c");
    assert_eq!(reply.body["data"]["status"], "running");
    let table = host.host().processes();
    assert_eq!(table.call("c", None, "get", WAIT).await.unwrap(), "5");

    let linked = host
        .post(
            "/api/v1/processes",
            json!({ "worker": "counter", "link": "c", "trap_exit": true }),
        )
        .await;
    assert_eq!(linked.status, 201, "{}", linked.body);
    assert_eq!(
        linked.body["data"]["links"],
        json!([table.whereis("c").unwrap().to_string()])
    );
    assert_eq!(linked.body["data"]["trap_exit"], true);

    host.post("/api/v1/processes", json!({ "worker": "nope" }))
        .await
        .assert_error(404, "worker_not_found");
    host.post(
        "/api/v1/processes",
        json!({ "worker": "counter", "name": "c" }),
    )
    .await
    .assert_error(409, "spawn_refused");
    host.post(
        "/api/v1/processes",
        json!({ "worker": "counter", "args": "x" }),
    )
    .await
    .assert_error(422, "start_failed");
    host.post("/api/v1/processes", json!({ "args": "1" }))
        .await
        .assert_error(422, "validation_error");
    assert_eq!(table.len(), 2, "refused starts leave nothing behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_message_delivers_messages_and_calls() {
    let host = host_with_counters(&["target"]).await;
    let reply = host
        .post(
            "/api/v1/processes/target/messages",
            json!({ "payload": "add 41" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"], json!({ "delivered": true }));
    host.post(
        "/api/v1/processes/target/messages",
        json!({ "payload": "inc" }),
    )
    .await;
    let reply = host
        .post(
            "/api/v1/processes/target/messages",
            json!({ "payload": "get", "call": true }),
        )
        .await;
    assert_eq!(
        reply.body["data"],
        json!({ "delivered": true, "reply": "42" })
    );

    host.post(
        "/api/v1/processes/ghost/messages",
        json!({ "payload": "inc" }),
    )
    .await
    .assert_error(404, "process_not_found");
    host.host().processes().suspend("target").unwrap();
    host.post(
        "/api/v1/processes/target/messages",
        json!({ "payload": "get", "call": true, "timeout_ms": 20 }),
    )
    .await
    .assert_error(504, "call_timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailbox_answers_503_and_keeps_what_it_holds() {
    let mut settings = crate::settings();
    settings.limits.mailbox_capacity = 2;
    let host = test_host_with(settings, &[]).await;
    let bytes = arsenal_tests::read(guests::COUNTER_WORKER);
    let code = host
        .host()
        .workers()
        .prepare("counter", &bytes, Source::Builtin, "builtin:counter")
        .await
        .unwrap();
    let options = SpawnOptions {
        name: Some("tiny".to_owned()),
        ..SpawnOptions::default()
    };
    let table = host.host().processes();
    table.spawn(code, "", options).await.unwrap();
    table.suspend("tiny").unwrap();
    for _ in 0..2 {
        let reply = host
            .post(
                "/api/v1/processes/tiny/messages",
                json!({ "payload": "inc" }),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    host.post(
        "/api/v1/processes/tiny/messages",
        json!({ "payload": "inc" }),
    )
    .await
    .assert_error(503, "mailbox_full");
    assert_eq!(table.info("tiny").unwrap().mailbox_len, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hibernated_process_wakes_on_a_message_with_its_state() {
    let host = host_with_counters(&["bear"]).await;
    host.post(
        "/api/v1/processes/bear/messages",
        json!({ "payload": "add 7", "call": true }),
    )
    .await;
    let reply = host
        .post("/api/v1/processes/bear/hibernate", json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["status"], "hibernated");
    assert_eq!(
        host.get("/api/v1/processes/bear").await.body["data"]["status"],
        "hibernated"
    );
    let reply = host
        .post(
            "/api/v1/processes/bear/messages",
            json!({ "payload": "get", "call": true }),
        )
        .await;
    assert_eq!(reply.body["data"]["reply"], "7", "woken with its state");
    assert_eq!(
        host.get("/api/v1/processes/bear").await.body["data"]["status"],
        "running"
    );
    host.post("/api/v1/processes/ghost/hibernate", json!({}))
        .await
        .assert_error(404, "process_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_process_links_shows_links_and_monitors() {
    let host = host_with_counters(&["left", "right"]).await;
    let table = host.host().processes();
    table.link("left", "right").unwrap();
    table.monitor("right", "left").unwrap();
    let reply = host.get("/api/v1/processes/left/links").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let right = table.whereis("right").unwrap().to_string();
    assert_eq!(reply.body["data"]["links"], json!([right.clone()]));
    assert_eq!(reply.body["data"]["monitored_by"], json!([right]));
    assert_eq!(reply.body["data"]["trap_exit"], false);
    host.get("/api/v1/processes/ghost/links")
        .await
        .assert_error(404, "process_not_found");
}
