//! Looking into live processes through HTTP: state snapshots, mailboxes inspected without
//! being consumed, queue analysis, restarts that keep state, and the system views (memory,
//! process tree, bottlenecks, deadlocks built on purpose, a leak made on purpose).

use std::time::{Duration, Instant};

use arsenal::runtime::SpawnOptions;
use serde_json::json;

use crate::{encode, guests, host_with_counters};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_process_state_snapshots_without_stopping_it() {
    let host = host_with_counters(&["keeper"]).await;
    let table = host.host().processes();
    table.call("keeper", None, "add 5", WAIT).await.unwrap();
    let state = host.get("/api/v1/processes/keeper/state").await;
    assert_eq!(state.status, 200, "{}", state.body);
    let data = &state.body["data"];
    assert_eq!(data["stateful"], true);
    assert_eq!(data["bytes"], 8, "the counter snapshots an i64");
    assert_eq!(data["base64"], "BQAAAAAAAAA=", "5 as little-endian i64");
    assert_eq!(data["status"], "running");
    assert_eq!(table.call("keeper", None, "get", WAIT).await.unwrap(), "5");
    let info = host.get("/api/v1/processes/keeper").await;
    assert!(
        info.body["data"]["cpu_us"].as_u64().unwrap() > 0,
        "{}",
        info.body
    );
    assert_eq!(info.body["data"]["restarts"], 0);

    // Hibernated: answered from the kept state, and it stays asleep.
    table.hibernate("keeper").await.unwrap().unwrap();
    let asleep = host.get("/api/v1/processes/keeper/state").await;
    assert_eq!(asleep.body["data"]["base64"], "BQAAAAAAAAA=");
    assert_eq!(
        table.info("keeper").unwrap().status,
        arsenal::runtime::Status::Hibernated
    );

    host.get("/api/v1/processes/nobody/state")
        .await
        .assert_error(404, "process_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_mailbox_shows_queued_messages_and_leaves_them() {
    let host = host_with_counters(&["slow"]).await;
    let table = host.host().processes();
    table.suspend("slow").unwrap();
    table.send("slow", None, "inc").unwrap();
    table.send("slow", None, "add 2").unwrap();
    let long = format!("add 0 {}", "x".repeat(2000));
    table.send("slow", None, &long).unwrap();

    let first = host.get("/api/v1/processes/slow/mailbox").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let data = &first.body["data"];
    assert_eq!(
        (data["len"].as_u64(), data["capacity"].as_u64()),
        (Some(3), Some(1024))
    );
    let messages = data["messages"].as_array().unwrap();
    assert_eq!(messages[0]["payload"], "inc");
    assert_eq!(messages[0]["kind"], "message");
    assert_eq!(messages[1]["payload"], "add 2");
    assert_eq!(messages[1]["position"], 1);
    assert_eq!(messages[2]["truncated"], true);
    assert_eq!(messages[2]["payload_bytes"], long.len());
    assert_eq!(messages[2]["payload"].as_str().unwrap().len(), 1024);

    let limited = host.get("/api/v1/processes/slow/mailbox?limit=1").await;
    assert_eq!(
        limited.body["data"]["messages"].as_array().unwrap().len(),
        1
    );
    assert_eq!(limited.body["data"]["len"], 3, "inspection takes nothing");

    host.get("/api/v1/processes/slow/mailbox?limit=0")
        .await
        .assert_error(422, "validation_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_message_queue_counts_and_warns() {
    let host = host_with_counters(&["backlog", "sender"]).await;
    let table = host.host().processes();
    table.suspend("backlog").unwrap();
    for _ in 0..3 {
        table.send("backlog", None, "inc").unwrap();
    }
    let backlog = table.whereis("backlog").unwrap().to_string();
    table
        .call("sender", None, &format!("tell {backlog} add 4"), WAIT)
        .await
        .unwrap();
    let analysis = host.get("/api/v1/processes/backlog/mailbox/analysis").await;
    assert_eq!(analysis.status, 200, "{}", analysis.body);
    let data = &analysis.body["data"];
    assert_eq!(data["len"], 4);
    assert_eq!(data["by_kind"], json!({ "message": 4 }));
    let sender = table.whereis("sender").unwrap().to_string();
    assert_eq!(
        data["top_senders"],
        json!([{ "from": "(operator)", "count": 3 }, { "from": sender, "count": 1 }])
    );
    assert_eq!(
        data["top_payloads"][0],
        json!({ "payload": "inc", "count": 3 })
    );
    let warnings = data["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("suspended with 4")),
        "{warnings:?}"
    );
    host.get("/api/v1/processes/ghost/mailbox/analysis")
        .await
        .assert_error(404, "process_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_process_gives_a_new_pid_and_keeps_state_name_and_links() {
    let host = host_with_counters(&["keeper", "friend"]).await;
    let table = host.host().processes();
    table.call("keeper", None, "add 41", WAIT).await.unwrap();
    table.link("keeper", "friend").unwrap();
    let old = table.whereis("keeper").unwrap().to_string();

    let reply = host
        .post("/api/v1/processes/keeper/restart", json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let data = &reply.body["data"];
    assert_eq!(data["old_pid"], old);
    assert_eq!(data["state_kept"], true);
    assert_eq!(data["state_bytes"], 8);
    let new = data["pid"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    host.get(&format!("/api/v1/processes/{}", encode(&old)))
        .await
        .assert_error(404, "process_not_found");
    assert_eq!(table.whereis("keeper").unwrap().to_string(), new);
    assert_eq!(table.call("keeper", None, "get", WAIT).await.unwrap(), "41");
    // The link moved to the new pid, and `friend` did not die with the old one.
    assert_eq!(table.info("friend").unwrap().links, vec![new.clone()]);

    host.post("/api/v1/processes/nobody/restart", json!({}))
        .await
        .assert_error(404, "process_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_process_of_a_supervised_child_goes_through_its_supervisor() {
    let host = host_with_counters(&[]).await;
    let started = host
        .post(
            "/api/v1/supervisors",
            json!({ "name": "sup", "children": [{ "id": "kid", "worker": "counter", "name": "kid" }] }),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let table = host.host().processes();
    table.call("kid", None, "add 9", WAIT).await.unwrap();
    let reply = host.post("/api/v1/processes/kid/restart", json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let sup = table.whereis("sup").unwrap().to_string();
    assert_eq!(reply.body["data"]["supervisor"], sup);
    assert_eq!(table.call("kid", None, "get", WAIT).await.unwrap(), "9");
    let history = host.get("/api/v1/supervisors/sup/restarts").await;
    assert_eq!(history.body["data"]["total"], 1);
    assert_eq!(
        history.body["data"]["restarts"][0]["new_pid"],
        reply.body["data"]["pid"]
    );

    host.post("/api/v1/processes/sup/restart", json!({}))
        .await
        .assert_error(409, "not_restartable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_info_and_process_tree_cover_every_process() {
    let host = host_with_counters(&["loose"]).await;
    let started = host
        .post(
            "/api/v1/supervisors",
            json!({ "name": "root", "children": [{ "id": "w", "worker": "counter" }] }),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.body);

    let memory = host.get("/api/v1/system/memory").await;
    assert_eq!(memory.status, 200, "{}", memory.body);
    let processes = &memory.body["data"]["processes"];
    assert_eq!(processes["count"], 3);
    assert_eq!(processes["resident"], 2);
    let counter = processes["by_worker"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["worker"] == "counter")
        .unwrap();
    assert_eq!(counter["processes"], 2);
    assert!(
        counter["memory_bytes"].as_u64().unwrap() >= 2 * 65_536,
        "{counter}"
    );
    assert!(memory.body["data"]["host"]["rss_bytes"].as_u64().unwrap() > 0);

    let tree = host.get("/api/v1/system/process-tree").await;
    assert_eq!(tree.status, 200, "{}", tree.body);
    let data = &tree.body["data"];
    assert_eq!(data["total_processes"], 3);
    assert_eq!(data["trees"].as_array().unwrap().len(), 1);
    assert_eq!(data["trees"][0]["children"][0]["id"], "w");
    assert_eq!(data["unsupervised"]["total"], 1);
    assert_eq!(data["unsupervised"]["processes"][0]["name"], "loose");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_bottlenecks_finds_a_backlog() {
    let host = host_with_counters(&["jammed", "idle"]).await;
    let table = host.host().processes();
    table.suspend("jammed").unwrap();
    for _ in 0..12 {
        table.send("jammed", None, "inc").unwrap();
    }
    let reply = host.get("/api/v1/system/bottlenecks").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let found = reply.body["data"]["bottlenecks"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["name"], "jammed");
    let reasons: Vec<_> = found[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["12 messages queued", "suspended with messages queued"]
    );
    host.get("/api/v1/system/bottlenecks?busy_ratio=2")
        .await
        .assert_error(422, "validation_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_deadlocks_finds_two_processes_calling_each_other() {
    let host = host_with_counters(&["a", "b"]).await;
    let table = host.host().processes();
    let (a, b) = (
        table.whereis("a").unwrap().to_string(),
        table.whereis("b").unwrap().to_string(),
    );
    let none = host.get("/api/v1/system/deadlocks").await;
    assert_eq!(none.body["data"]["deadlocks"], json!([]), "{}", none.body);
    // a calls b, whose handling calls a, which is busy in its own call: a cycle until
    // the calls time out (10 s), far longer than seeing it takes.
    table
        .send("a", None, &format!("ask {b} ask {a} get"))
        .unwrap();
    let started = Instant::now();
    let deadlock = loop {
        let reply = host.get("/api/v1/system/deadlocks").await;
        if let Some(found) = reply.body["data"]["deadlocks"]
            .as_array()
            .and_then(|d| d.first())
        {
            break found.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "no deadlock seen: {}",
            reply.body
        );
        tokio::task::yield_now().await;
    };
    let mut cycle: Vec<_> = deadlock["cycle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["name"].as_str().unwrap().to_owned())
        .collect();
    cycle.sort();
    assert_eq!(cycle, ["a", "b"], "{deadlock}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_memory_leaks_flags_steady_growth_only() {
    let host = host_with_counters(&["steady"]).await;
    let code = host
        .host()
        .workers()
        .load(
            "leaky",
            &arsenal_tests::read(guests::LEAKY_WORKER),
            arsenal::Source::Builtin,
            guests::LEAKY_WORKER,
        )
        .await
        .unwrap()
        .live()
        .cloned()
        .unwrap();
    let table = host.host().processes();
    let options = SpawnOptions {
        name: Some("leaky".to_owned()),
        ..SpawnOptions::default()
    };
    table.spawn(code, "", options).await.unwrap();
    for _ in 0..4 {
        // One call at a time: each is its own batch, so each growth is sampled.
        table.call("leaky", None, "128", WAIT).await.unwrap();
        table.call("steady", None, "inc", WAIT).await.unwrap();
    }
    let reply = host.get("/api/v1/system/memory-leaks").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let suspects = reply.body["data"]["suspects"].as_array().unwrap();
    assert_eq!(suspects.len(), 1, "{suspects:?}");
    assert_eq!(suspects[0]["name"], "leaky");
    assert!(suspects[0]["growth_bytes"].as_u64().unwrap() >= 3 * 128 * 1024);
    host.get("/api/v1/system/memory-leaks?min_growths=1")
        .await
        .assert_error(422, "validation_error");
}
