//! The built-in supervisor operations through HTTP, against live trees of counter workers:
//! starting and stopping trees, children added, restarted and deleted, flags changed at
//! runtime, the restart history, and the errors for bad specs and unknown targets.

use std::time::Duration;

use arsenal_testing::TestHost;
use serde_json::{Value, json};

use crate::{encode, exit_of, host_with_counters};

const WAIT: Duration = Duration::from_secs(5);

/// A host with the counter worker loaded and a tree `shop` (one_for_one) holding workers
/// `a` and `b` and a nested supervisor `inner` with worker `c`.
async fn shop() -> TestHost {
    let host = host_with_counters(&[]).await;
    let reply = host
        .post(
            "/api/v1/supervisors",
            json!({
                "name": "shop",
                "intensity": 5,
                "children": [
                    { "id": "a", "worker": "counter", "args": "10", "name": "worker-a" },
                    { "id": "b", "worker": "counter", "restart": "transient", "shutdown": 200 },
                    { "id": "inner", "supervisor": {
                        "name": "inner",
                        "strategy": "one_for_all",
                        "children": [{ "id": "c", "worker": "counter" }]
                    } }
                ]
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    host
}

fn child<'a>(children: &'a Value, id: &str) -> &'a Value {
    children
        .as_array()
        .unwrap()
        .iter()
        .find(|child| child["id"] == id)
        .unwrap_or_else(|| panic!("no child {id} in {children}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_supervisor_starts_the_whole_tree() {
    let host = shop().await;
    let tree = host.get("/api/v1/supervisors/shop/tree").await;
    assert_eq!(tree.status, 200, "{}", tree.body);
    let root = &tree.body["data"]["root"];
    assert_eq!(tree.body["data"]["size"], 5);
    assert_eq!(root["kind"], "supervisor");
    let ids: Vec<_> = root["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "inner"], "start order");
    let inner = &root["children"][2];
    assert_eq!(inner["children"][0]["id"], "c");
    assert_eq!(inner["children"][0]["status"], "running");
    assert_eq!(inner["children"][0]["worker"], "counter");

    // The child registered as `worker-a` runs with its args and knows its parent.
    let table = host.host().processes();
    let answer = table.call("worker-a", None, "get", WAIT).await.unwrap();
    assert_eq!(answer, "10");
    let info = host.get("/api/v1/processes/worker-a").await;
    let shop_pid = table.whereis("shop").unwrap().to_string();
    assert_eq!(info.body["data"]["parent"], shop_pid);

    let list = host.get("/api/v1/supervisors").await;
    assert_eq!(list.body["data"]["total"], 2, "{}", list.body);
    let roots = host.get("/api/v1/supervisors?root_only=true").await;
    assert_eq!(roots.body["data"]["total"], 1);
    let listed = &roots.body["data"]["supervisors"][0];
    assert_eq!(listed["pid"], shop_pid);
    assert_eq!(
        (listed["children"].as_u64(), listed["active"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(listed["flags"]["intensity"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_specs_are_refused_with_the_field_at_fault_and_leave_nothing() {
    let host = host_with_counters(&[]).await;
    let before = host.host().processes().len();
    let unknown = host
        .post(
            "/api/v1/supervisors",
            json!({ "children": [{ "id": "x", "worker": "nonesuch" }] }),
        )
        .await;
    unknown.assert_error(422, "validation_error");
    assert!(
        unknown.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("children[0].worker"),
        "{}",
        unknown.body
    );
    let typo = host
        .post(
            "/api/v1/supervisors",
            json!({ "children": [{ "id": "x", "wroker": "counter" }] }),
        )
        .await;
    typo.assert_error(422, "validation_error");
    assert!(
        typo.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wroker")
    );
    host.post(
        "/api/v1/supervisors",
        json!({ "children": [{ "id": "x", "worker": "counter" }, { "id": "x", "worker": "counter" }] }),
    )
    .await
    .assert_error(422, "validation_error");
    host.post("/api/v1/supervisors", json!({ "strategy": "one_for_some" }))
        .await
        .assert_error(422, "validation_error");
    // The second child fails in init (`bad start value`): the first is stopped again.
    host.post(
        "/api/v1/supervisors",
        json!({ "children": [
            { "id": "ok", "worker": "counter" },
            { "id": "broken", "worker": "counter", "args": "not a number" }
        ] }),
    )
    .await
    .assert_error(422, "start_failed");
    assert_eq!(
        host.host().processes().len(),
        before,
        "nothing left running"
    );
    assert!(host.host().processes().supervisors().is_empty());

    host.post("/api/v1/supervisors", json!({ "name": "taken" }))
        .await;
    host.post("/api/v1/supervisors", json!({ "name": "taken" }))
        .await
        .assert_error(409, "name_taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_supervisors_and_children_are_404() {
    let host = shop().await;
    host.get("/api/v1/supervisors/nobody/children")
        .await
        .assert_error(404, "supervisor_not_found");
    // A worker is a process but not a supervisor.
    host.get("/api/v1/supervisors/worker-a/flags")
        .await
        .assert_error(404, "supervisor_not_found");
    host.get(&format!("/api/v1/supervisors/{}/tree", encode("<local.x>")))
        .await
        .assert_error(422, "validation_error");
    host.post("/api/v1/supervisors/shop/children/zz/restart", json!({}))
        .await
        .assert_error(404, "child_not_found");
    host.delete("/api/v1/supervisors/shop/children/zz")
        .await
        .assert_error(404, "child_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_child_gives_a_new_pid_and_the_old_one_is_gone() {
    let host = shop().await;
    let reply = host
        .post("/api/v1/supervisors/shop/children/a/restart", json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let old = reply.body["data"]["old_pid"].as_str().unwrap().to_owned();
    let new = reply.body["data"]["pid"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    host.get(&format!("/api/v1/processes/{}", encode(&old)))
        .await
        .assert_error(404, "process_not_found");
    let fresh = host
        .get(&format!("/api/v1/processes/{}", encode(&new)))
        .await;
    assert_eq!(fresh.body["data"]["status"], "running");
    assert_eq!(
        fresh.body["data"]["restarts"], 1,
        "the process knows its restart count"
    );
    assert_eq!(fresh.body["data"]["name"], "worker-a", "re-registered");

    let history = host.get("/api/v1/supervisors/shop/restarts").await;
    assert_eq!(history.body["data"]["total"], 1, "{}", history.body);
    let record = &history.body["data"]["restarts"][0];
    assert_eq!(
        (
            record["child"].as_str(),
            record["old_pid"].as_str(),
            record["new_pid"].as_str()
        ),
        (Some("a"), Some(old.as_str()), Some(new.as_str()))
    );
    let children = host.get("/api/v1/supervisors/shop/children").await;
    assert_eq!(
        child(&children.body["data"]["children"], "a")["restarts"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_child_is_restarted_and_recorded() {
    let host = shop().await;
    let table = host.host().processes();
    let old = table.whereis("worker-a").unwrap();
    let exited = exit_of(table, &old.to_string());
    table.send("worker-a", None, "crash").unwrap();
    exited.await;
    // The restart is recorded before the supervisor handles its next request.
    let history = host.get("/api/v1/supervisors/shop/restarts").await;
    let record = &history.body["data"]["restarts"][0];
    assert_eq!(record["child"], "a", "{}", history.body);
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .contains("asked to crash")
    );
    assert_eq!(record["old_pid"], old.to_string());
    assert_ne!(table.whereis("worker-a"), Some(old));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_and_delete_child_change_the_tree() {
    let host = shop().await;
    let added = host
        .post(
            "/api/v1/supervisors/shop/children",
            json!({ "child_id": "d", "worker": "counter", "args": "7", "restart": "temporary" }),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let pid = added.body["data"]["child"]["pid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(added.body["data"]["child"]["restart"], "temporary");
    assert_eq!(
        host.host()
            .processes()
            .call(&pid, None, "get", WAIT)
            .await
            .unwrap(),
        "7"
    );
    host.post(
        "/api/v1/supervisors/shop/children",
        json!({ "child_id": "d", "worker": "counter" }),
    )
    .await
    .assert_error(409, "child_exists");
    host.post(
        "/api/v1/supervisors/shop/children",
        json!({ "child_id": "e" }),
    )
    .await
    .assert_error(422, "validation_error");

    let deleted = host.delete("/api/v1/supervisors/shop/children/d").await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    host.get(&format!("/api/v1/processes/{}", encode(&pid)))
        .await
        .assert_error(404, "process_not_found");
    let children = host.get("/api/v1/supervisors/shop/children").await;
    assert_eq!(
        children.body["data"]["children"].as_array().unwrap().len(),
        3
    );
    host.delete("/api/v1/supervisors/shop/children/d")
        .await
        .assert_error(404, "child_not_found");
    // Deleting a permanent child stops it and it is not restarted.
    let b = child(&children.body["data"]["children"], "b")["pid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        host.delete("/api/v1/supervisors/shop/children/b")
            .await
            .status,
        200
    );
    host.get(&format!("/api/v1/processes/{}", encode(&b)))
        .await
        .assert_error(404, "process_not_found");
    let history = host.get("/api/v1/supervisors/shop/restarts").await;
    assert_eq!(history.body["data"]["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_change_at_runtime() {
    let host = shop().await;
    let flags = host.get("/api/v1/supervisors/shop/flags").await;
    assert_eq!(
        (
            &flags.body["data"]["strategy"],
            &flags.body["data"]["intensity"],
            &flags.body["data"]["period_ms"]
        ),
        (&json!("one_for_one"), &json!(5), &json!(5000))
    );
    let changed = host
        .put(
            "/api/v1/supervisors/shop/flags",
            json!({ "strategy": "one_for_all", "period_ms": 1000 }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["data"]["strategy"], "one_for_all");
    assert_eq!(changed.body["data"]["intensity"], 5, "kept");
    host.put("/api/v1/supervisors/shop/flags", json!({ "period_ms": 0 }))
        .await
        .assert_error(422, "validation_error");

    // one_for_all now: a crash of `a` restarts `b` too.
    let table = host.host().processes();
    let children = host.get("/api/v1/supervisors/shop/children").await;
    let b_before = child(&children.body["data"]["children"], "b")["pid"].clone();
    let a = table.whereis("worker-a").unwrap();
    let exited = exit_of(table, &a.to_string());
    table.send("worker-a", None, "crash").unwrap();
    exited.await;
    let children = host.get("/api/v1/supervisors/shop/children").await;
    let b_after = &child(&children.body["data"]["children"], "b")["pid"];
    assert!(b_after.is_string());
    assert_ne!(*b_after, b_before, "one_for_all restarted b as well");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_supervisor_stops_the_tree_and_a_second_stop_is_404() {
    let host = shop().await;
    let table = host.host().processes();
    let before = table.len();
    assert_eq!(before, 5);
    // A nested supervisor is removed from its parent, not restarted by it.
    let inner = host.delete("/api/v1/supervisors/inner").await;
    assert_eq!(inner.status, 200, "{}", inner.body);
    assert_eq!(table.len(), 3, "inner and c are gone");
    let children = host.get("/api/v1/supervisors/shop/children").await;
    assert_eq!(
        children.body["data"]["children"].as_array().unwrap().len(),
        2
    );

    let stopped = host.delete("/api/v1/supervisors/shop").await;
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    assert_eq!(stopped.body["data"]["stopped"], true);
    assert_eq!(table.len(), 0, "every process of the tree exited");
    assert!(table.whereis("worker-a").is_none());
    host.delete("/api/v1/supervisors/shop")
        .await
        .assert_error(404, "supervisor_not_found");
}
