//! A full worker pool through HTTP, with a pool of three slots: spawns beyond it hibernate
//! the least recently active idle counters instead of being refused, a hibernated counter
//! woken by a message keeps its count while another gives up its slot, the hibernation
//! shows in a trace and in `/metrics`; and a pool held by workers without `state` refuses
//! the spawn.

use arsenal::Source;
use arsenal_testing::TestHost;
use serde_json::{Value, json};

use crate::telemetry::{scrape, value};
use crate::{guests, host_with_counters_in, settings};

/// Worker slots of the hosts here.
const SLOTS: u32 = 3;

async fn host() -> TestHost {
    let mut settings = settings();
    settings.limits.worker_slots = SLOTS;
    host_with_counters_in(settings, &[]).await
}

async fn status(host: &TestHost, name: &str) -> Value {
    let reply = host.get(&format!("/api/v1/processes/{name}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"]["status"].clone()
}

async fn call(host: &TestHost, name: &str, payload: &str) -> Value {
    let reply = host
        .post(
            &format!("/api/v1/processes/{name}/messages"),
            json!({ "payload": payload, "call": true }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"]["reply"].clone()
}

async fn made_room(host: &TestHost) -> Option<f64> {
    value(
        &scrape(host).await,
        "arsenal_workers_hibernated_to_make_room_total",
        &[],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawns_beyond_the_pool_hibernate_the_least_recently_active_counters() {
    let host = host().await;
    // One batch of five spawns, one at a time so the order of activity is known.
    let calls: Vec<Value> = (0..5)
        .map(|n| {
            json!({
                "method": "POST",
                "path": "/api/v1/processes",
                "body": { "worker": "counter", "name": format!("c{n}"), "args": format!("{}", 10 * n) },
            })
        })
        .collect();
    let reply = host
        .post("/api/v1/batch", json!({ "calls": calls, "concurrency": 1 }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["succeeded"], 5, "{}", reply.body);
    assert_eq!(host.host().processes().len(), 5);
    let statuses = async |names: [&str; 5]| {
        let mut all = Vec::new();
        for name in names {
            all.push(status(&host, name).await);
        }
        all
    };
    assert_eq!(
        statuses(["c0", "c1", "c2", "c3", "c4"]).await,
        ["hibernated", "hibernated", "running", "running", "running"]
    );
    assert_eq!(made_room(&host).await, Some(2.0));

    // A trace on `c2`, the least recently active resident counter now, sees it make room.
    let trace = host
        .post(
            "/api/v1/processes/c2/trace",
            json!({ "events": ["lifecycle"] }),
        )
        .await;
    assert_eq!(trace.status, 201, "{}", trace.body);
    let trace = trace.body["data"]["id"].as_u64().unwrap();

    // Waking `c0` keeps its count and hibernates `c2` in its place.
    let sent = host
        .post("/api/v1/processes/c0/messages", json!({ "payload": "inc" }))
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(call(&host, "c0", "get").await, "1");
    assert_eq!(
        statuses(["c0", "c1", "c2", "c3", "c4"]).await,
        ["running", "hibernated", "hibernated", "running", "running"]
    );
    assert_eq!(made_room(&host).await, Some(3.0));
    let events = host.get(&format!("/api/v1/traces/{trace}")).await;
    assert_eq!(events.status, 200, "{}", events.body);
    let details: Vec<&str> = events.body["data"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["detail"].as_str().unwrap())
        .collect();
    assert_eq!(details.len(), 1, "{details:?}");
    assert!(
        details[0].starts_with("hibernated to make room ("),
        "{details:?}"
    );
    // And `c2` wakes with its own count in turn.
    assert_eq!(call(&host, "c2", "get").await, "20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_held_by_workers_without_state_refuses_the_spawn() {
    let host = host().await;
    let bytes = arsenal_tests::read(guests::ECHO_WORKER);
    host.host()
        .workers()
        .load("echo", &bytes, Source::Builtin, guests::ECHO_WORKER)
        .await
        .unwrap();
    for _ in 0..SLOTS {
        let reply = host
            .post("/api/v1/processes", json!({ "worker": "echo" }))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    for worker in ["echo", "counter"] {
        let refused = host
            .post("/api/v1/processes", json!({ "worker": worker }))
            .await;
        refused.assert_error(422, "start_failed");
        let message = refused.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("no worker slot is free"), "{message}");
    }
    assert_eq!(host.host().processes().len(), SLOTS as usize);
    assert_eq!(made_room(&host).await, Some(0.0));
}
