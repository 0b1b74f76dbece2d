//! Sandboxes through HTTP: created from a spec with budgets and policy, isolated from the
//! rest of the node, held to their memory, process and CPU budgets, changed at runtime,
//! hot-reloaded in place across worker versions (and rolled back when that fails), and
//! destroyed without leaving anything behind.

use std::time::Duration;

use arsenal::Source;
use arsenal_testing::TestHost;
use serde_json::{Value, json};

use crate::{guests, host_with_counters, within};

const WAIT: Duration = Duration::from_secs(5);

/// A host with `counter` (and `outsider`, a counter outside any sandbox) and a sandbox
/// `lab` of two counters `in-a` and `in-b`.
async fn lab(limits: Value) -> TestHost {
    let host = host_with_counters(&["outsider"]).await;
    let reply = host
        .post(
            "/api/v1/sandboxes",
            json!({
                "id": "lab",
                "supervisor": { "children": [
                    { "id": "a", "worker": "counter", "name": "in-a" },
                    { "id": "b", "worker": "counter", "name": "in-b" }
                ] },
                "limits": limits,
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    host
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_and_get_a_sandbox() {
    let host = lab(json!({ "total_memory_mib": 8, "max_processes": 5 })).await;
    let info = host.get("/api/v1/sandboxes/lab").await;
    assert_eq!(info.status, 200, "{}", info.body);
    let data = &info.body["data"];
    assert_eq!(data["status"], "running");
    assert_eq!(
        data["usage"]["processes"], 3,
        "the root supervisor and two workers"
    );
    assert_eq!(data["members"].as_array().unwrap().len(), 3);
    assert_eq!(data["limits"]["total_memory_bytes"], 8 << 20);
    assert_eq!(data["limits"]["max_processes"], 5);
    assert_eq!(data["policy"]["external_messaging"], false);
    let held = data["usage"]["memory_bytes"].as_u64().unwrap();
    assert!(
        held >= 2 * 65_536,
        "two counters' memory is counted: {held}"
    );

    let list = host.get("/api/v1/sandboxes").await;
    assert_eq!(list.body["data"]["total"], 1);
    assert_eq!(list.body["data"]["sandboxes"][0]["id"], "lab");

    host.get("/api/v1/sandboxes/nowhere")
        .await
        .assert_error(404, "sandbox_not_found");
    host.post(
        "/api/v1/sandboxes",
        json!({ "id": "lab", "supervisor": { "children": [] } }),
    )
    .await
    .assert_error(409, "sandbox_conflict");
    host.post(
        "/api/v1/sandboxes",
        json!({ "id": "bad", "supervisor": {}, "limits": { "process_memory_mib": 100000 } }),
    )
    .await
    .assert_error(422, "validation_error");
    host.post(
        "/api/v1/sandboxes",
        json!({ "id": "bad", "supervisor": {}, "limits": { "memory": 1 } }),
    )
    .await
    .assert_error(422, "validation_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_in_a_sandbox_reach_only_their_sandbox_unless_allowed() {
    let host = lab(json!({})).await;
    let table = host.host().processes();
    let outsider = table.whereis("outsider").unwrap().to_string();
    let in_b = table.whereis("in-b").unwrap().to_string();
    // Inside reaches inside.
    table
        .call("in-a", None, &format!("tell {in_b} inc"), WAIT)
        .await
        .unwrap();
    assert_eq!(table.call("in-b", None, "get", WAIT).await.unwrap(), "1");
    // Outside is invisible: whereis answers nothing and a send crashes the worker as
    // sending to a process that does not exist does.
    assert_eq!(
        table
            .call("in-a", None, "whereis outsider", WAIT)
            .await
            .unwrap(),
        ""
    );
    let refused = table
        .call("in-b", None, &format!("tell {outsider} inc"), WAIT)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("NoProcess"), "{refused}");
    assert_eq!(
        table.call("outsider", None, "get", WAIT).await.unwrap(),
        "0"
    );

    let policy = host
        .put(
            "/api/v1/sandboxes/lab/policy",
            json!({ "external_messaging": true }),
        )
        .await;
    assert_eq!(policy.status, 200, "{}", policy.body);
    assert_eq!(policy.body["data"]["policy"]["external_messaging"], true);
    table
        .call("in-a", None, &format!("tell {outsider} inc"), WAIT)
        .await
        .unwrap();
    assert_eq!(
        table.call("outsider", None, "get", WAIT).await.unwrap(),
        "1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_refuse_processes_and_memory_beyond_them() {
    let host = lab(json!({ "max_processes": 3, "total_memory_mib": 4 })).await;
    // A third worker would be a fourth process.
    let run = host
        .post(
            "/api/v1/sandboxes/lab/run",
            json!({ "worker": "counter", "payload": "get" }),
        )
        .await;
    run.assert_error(409, "sandbox_conflict");
    assert!(
        run.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maximum of 3")
    );

    // With room for one more process, a grow past the shared 4 MiB is refused.
    let raised = host
        .put(
            "/api/v1/sandboxes/lab/limits",
            json!({ "max_processes": 4 }),
        )
        .await;
    assert_eq!(raised.status, 200, "{}", raised.body);
    let bytes = arsenal_tests::read(guests::LEAKY_WORKER);
    host.host()
        .workers()
        .load("leaky", &bytes, Source::Builtin, guests::LEAKY_WORKER)
        .await
        .unwrap();
    let exhausted = host
        .post(
            "/api/v1/sandboxes/lab/run",
            json!({ "worker": "leaky", "payload": "2048" }),
        )
        .await;
    exhausted.assert_error(422, "sandbox_run_failed");
    let reason = exhausted.body["error"]["details"]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("shared budget"), "{reason}");
    // Nothing of the one-shot process is left; the budget holds only the tree again.
    let info = host.get("/api/v1/sandboxes/lab").await;
    assert_eq!(info.body["data"]["usage"]["processes"], 3, "{}", info.body);

    host.put(
        "/api/v1/sandboxes/lab/limits",
        json!({ "max_processes": 1 }),
    )
    .await
    .assert_error(409, "sandbox_conflict");
    host.put(
        "/api/v1/sandboxes/lab/limits",
        json!({ "max_processes": 0 }),
    )
    .await
    .assert_error(422, "validation_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_in_sandbox_answers_the_reply_and_leaves_nothing() {
    let host = lab(json!({})).await;
    let reply = host
        .post(
            "/api/v1/sandboxes/lab/run",
            json!({ "worker": "counter", "args": "41", "payload": "get" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["reply"], "41");
    let pid = reply.body["data"]["pid"].as_str().unwrap();
    assert!(
        host.host().processes().resolve(pid).is_err(),
        "the one-shot process is gone"
    );
    host.post(
        "/api/v1/sandboxes/lab/run",
        json!({ "worker": "nonesuch", "payload": "get" }),
    )
    .await
    .assert_error(422, "validation_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_cpu_budget_stops_the_sandbox_until_restarted() {
    let host = lab(json!({ "cpu_time_ms": 1 })).await;
    let table = host.host().processes();
    let root = table
        .whereis("in-a")
        .and_then(|pid| table.info(&pid.to_string()).ok())
        .unwrap()
        .parent
        .unwrap();
    let exited = table.await_exit(&root).unwrap();
    // Work until the handling time passes 1 ms, however fast the machine: one call at a
    // time (each answered before the next, so the mailbox never fills) until the tree has
    // exited. Once the budget is spent the worker crashes, its restarts are refused, the
    // restart intensity runs out and the tree exits; a call in between fails, and the
    // next one finds the worker gone or restarting.
    within("the tree's exit once its 1 ms CPU budget is spent", async {
        let mut exited = std::pin::pin!(exited);
        loop {
            tokio::select! {
                biased;
                _ = &mut exited => return,
                answered = table.call("in-a", None, "inc", WAIT) => {
                    if answered.is_err() {
                        tokio::task::yield_now().await;
                    }
                }
            }
        }
    })
    .await;
    let info = host.get("/api/v1/sandboxes/lab").await;
    assert_eq!(info.body["data"]["status"], "exhausted", "{}", info.body);
    assert_eq!(info.body["data"]["usage"]["processes"], 0);

    let restarted = host.post("/api/v1/sandboxes/lab/restart", json!({})).await;
    assert_eq!(restarted.status, 200, "{}", restarted.body);
    assert_eq!(restarted.body["data"]["status"], "running");
    assert_eq!(restarted.body["data"]["usage"]["processes"], 3);
    assert_ne!(restarted.body["data"]["root"], root);
}

/// A host with `ledger` version 1 loaded and a sandbox `books` running one ledger per
/// id, registered as `ID-ledger`.
async fn books(ids: &[&str]) -> TestHost {
    let host = host_with_counters(&[]).await;
    let bytes = arsenal_tests::read(guests::LEDGER_V1);
    host.host()
        .workers()
        .load("ledger", &bytes, Source::Builtin, guests::LEDGER_V1)
        .await
        .unwrap();
    let children: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "id": id, "worker": "ledger", "name": format!("{id}-ledger") }))
        .collect();
    let created = host
        .post(
            "/api/v1/sandboxes",
            json!({ "id": "books", "supervisor": { "children": children } }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    host
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_moves_processes_to_the_new_version_with_their_state() {
    let host = books(&["main", "spare"]).await;
    let workers = host.host().workers();
    let table = host.host().processes();
    table
        .call("main-ledger", None, "add 5", WAIT)
        .await
        .unwrap();
    table
        .call("main-ledger", None, "add 7", WAIT)
        .await
        .unwrap();
    let main_pid = table.whereis("main-ledger").unwrap();
    assert_eq!(
        table.call("main-ledger", None, "get", WAIT).await.unwrap(),
        "v1:12"
    );

    let v2 = workers
        .load(
            "ledger",
            &arsenal_tests::read(guests::LEDGER_V2),
            Source::Builtin,
            guests::LEDGER_V2,
        )
        .await
        .unwrap();
    let reloaded = host
        .post(
            "/api/v1/sandboxes/books/hot-reload",
            json!({ "worker": "ledger" }),
        )
        .await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.body);
    assert_eq!(
        reloaded.body["data"]["version"],
        v2.live().unwrap().version()
    );
    assert_eq!(
        reloaded.body["data"]["upgraded"].as_array().unwrap().len(),
        2
    );
    assert_eq!(table.whereis("main-ledger").unwrap(), main_pid, "same pid");
    assert_eq!(
        table.call("main-ledger", None, "get", WAIT).await.unwrap(),
        "v2:12/0",
        "state kept, upgraded"
    );

    // The supervisor now starts version 2: a restarted child runs it.
    let sup = table.info(&main_pid.to_string()).unwrap().parent.unwrap();
    let restart = host
        .post(
            &format!(
                "/api/v1/supervisors/{}/children/spare/restart",
                crate::encode(&sup)
            ),
            json!({}),
        )
        .await;
    assert_eq!(restart.status, 200, "{}", restart.body);
    assert_eq!(
        table.call("spare-ledger", None, "get", WAIT).await.unwrap(),
        "v2:0/0"
    );

    // Reloading again changes nothing.
    let again = host
        .post(
            "/api/v1/sandboxes/books/hot-reload",
            json!({ "worker": "ledger" }),
        )
        .await;
    assert_eq!(again.body["data"]["upgraded"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_hot_reload_rolls_back_and_says_why() {
    let host = books(&["main"]).await;
    let workers = host.host().workers();
    let table = host.host().processes();
    table
        .call("main-ledger", None, "add 3", WAIT)
        .await
        .unwrap();
    let pid = table.whereis("main-ledger").unwrap();
    // The counter cannot read a ledger's state.
    workers
        .load(
            "ledger",
            &arsenal_tests::read(guests::COUNTER_WORKER),
            Source::Builtin,
            guests::COUNTER_WORKER,
        )
        .await
        .unwrap();
    let failed = host
        .post(
            "/api/v1/sandboxes/books/hot-reload",
            json!({ "worker": "ledger" }),
        )
        .await;
    failed.assert_error(422, "sandbox_failed");
    let message = failed.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("a counter snapshot is 8 bytes"),
        "{message}"
    );
    assert_eq!(table.whereis("main-ledger").unwrap(), pid);
    assert_eq!(
        table.call("main-ledger", None, "get", WAIT).await.unwrap(),
        "v1:3",
        "still version 1 with its state"
    );
    host.post(
        "/api/v1/sandboxes/books/hot-reload",
        json!({ "worker": "ghost" }),
    )
    .await
    .assert_error(422, "validation_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_directory_is_granted_by_policy_and_confined() {
    let host = host_with_counters(&[]).await;
    let bytes = arsenal_tests::read(guests::FILE_WORKER);
    host.host()
        .workers()
        .load("files", &bytes, Source::Builtin, guests::FILE_WORKER)
        .await
        .unwrap();
    let spec = |directory: bool| {
        json!({
            "id": "vault",
            "supervisor": { "children": [{ "id": "f", "worker": "files", "name": "files" }] },
            "policy": { "directory": directory },
        })
    };
    // Without the policy's directory the worker runs and reaches no file: not in a
    // sandbox, nor outside one.
    let closed = host.post("/api/v1/sandboxes", spec(false)).await;
    assert_eq!(closed.status, 201, "{}", closed.body);
    let loose = host
        .post(
            "/api/v1/processes",
            json!({ "worker": "files", "name": "loose" }),
        )
        .await;
    assert_eq!(loose.status, 201, "{}", loose.body);
    let table = host.host().processes();
    for name in ["files", "loose"] {
        for command in [
            "write note hello",
            "read /data/note",
            "read /etc/hostname",
            "list",
        ] {
            let answer = table.call(name, None, command, WAIT).await.unwrap();
            assert!(answer.starts_with("error:"), "{name} {command}: {answer}");
        }
    }
    host.delete("/api/v1/sandboxes/vault").await.assert_ok(200);

    let created = host.post("/api/v1/sandboxes", spec(true)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["data"]["policy"]["directory"], true);
    assert_eq!(
        table
            .call("files", None, "write note hello", WAIT)
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(
        table
            .call("files", None, "read /data/note", WAIT)
            .await
            .unwrap(),
        "hello"
    );
    assert_eq!(
        table.call("files", None, "list", WAIT).await.unwrap(),
        "note"
    );
    // Nothing outside the directory is reachable.
    for path in ["/data/../../etc/hostname", "/etc/hostname", "../note"] {
        let answer = table
            .call("files", None, &format!("read {path}"), WAIT)
            .await
            .unwrap();
        assert!(answer.starts_with("error:"), "{path}: {answer}");
    }
    let sandbox = table.sandbox("vault").unwrap();
    let dir = sandbox.private_dir().unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("note")).unwrap(), "hello");

    // Destroying the sandbox removes its directory.
    let destroyed = host.delete("/api/v1/sandboxes/vault").await;
    assert_eq!(destroyed.status, 200, "{}", destroyed.body);
    assert!(!dir.exists(), "{} is left behind", dir.display());
}
