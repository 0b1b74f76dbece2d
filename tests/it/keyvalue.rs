//! Key-value storage through `wasi:keyvalue`: values that survive a restart of the host on
//! the same state directory, quotas answered as the interface's error, buckets namespaced
//! per component with shared ones only where granted, the import refused where not
//! granted, and a supervised worker keeping a counter across its own restart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arsenal::config::{ComponentGrants, Settings};
use arsenal::runtime::{ChildSpec, Flags, SupervisorHandle, SupervisorSpec, WorkerCode};
use serde_json::{Value, json};

use arsenal_testing::TestHost;

use crate::{crash, guests, settings, test_host_with, within};

const WAIT: Duration = Duration::from_secs(10);

/// Settings granting `key_value` to components from directories.
fn granted() -> Settings {
    let mut settings = settings();
    settings.capabilities.directory.push("key_value".to_owned());
    settings
}

async fn kv(host: &TestHost, call: Value) -> Value {
    let reply = host.post("/api/v1/test/kv", call).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_survive_a_restart_on_the_same_state_dir() {
    let settings = granted();
    let host = test_host_with(settings.clone(), &[guests::KV_STORE]).await;
    kv(
        &host,
        json!({"op": "set", "bucket": "notes", "key": "k", "value": "kept"}),
    )
    .await;
    assert_eq!(
        kv(
            &host,
            json!({"op": "increment", "bucket": "notes", "key": "n", "count": 5})
        )
        .await,
        json!({"value": 5})
    );
    drop(host);

    let host = test_host_with(settings, &[guests::KV_STORE]).await;
    assert_eq!(
        kv(&host, json!({"op": "get", "bucket": "notes", "key": "k"})).await,
        json!({"value": "kept"})
    );
    assert_eq!(
        kv(
            &host,
            json!({"op": "increment", "bucket": "notes", "key": "n", "count": 2})
        )
        .await,
        json!({"value": 7})
    );
    assert_eq!(
        kv(&host, json!({"op": "keys", "bucket": "notes"})).await,
        json!({"keys": ["k", "n"]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_and_batch_calls_answer_what_was_stored() {
    let host = test_host_with(granted(), &[guests::KV_STORE]).await;
    let call = |op: &str| json!({"op": op, "bucket": "b", "key": "k", "value": "v", "count": 3});
    assert_eq!(kv(&host, call("exists")).await, json!({"exists": false}));
    assert_eq!(kv(&host, call("get")).await, json!({"value": null}));
    assert_eq!(kv(&host, call("set_many")).await, json!({"set": 3}));
    assert_eq!(kv(&host, call("get_many")).await, json!({"found": 3}));
    assert_eq!(
        kv(&host, call("keys")).await,
        json!({"keys": ["k0", "k1", "k2"]})
    );
    kv(&host, json!({"op": "delete", "bucket": "b", "key": "k1"})).await;
    assert_eq!(kv(&host, call("get_many")).await, json!({"found": 2}));
    assert_eq!(
        kv(
            &host,
            json!({"op": "increment", "bucket": "b", "key": "k0"})
        )
        .await,
        json!({"error": {"kind": "other", "message": "the value of `k0` is not a decimal u64"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_are_the_interfaces_error() {
    let mut settings = granted();
    settings.keyvalue.max_keys = 2;
    settings.keyvalue.max_value_bytes = 8;
    settings.keyvalue.max_bucket_bytes = 16;
    let host = test_host_with(settings, &[guests::KV_STORE]).await;
    let set =
        |key: &str, value: &str| json!({"op": "set", "bucket": "q", "key": key, "value": value});
    kv(&host, set("a", "1")).await;
    kv(&host, set("b", "2")).await;
    assert_eq!(
        kv(&host, set("c", "3")).await,
        json!({"error": {"kind": "other", "message": "quota exceeded: bucket `operation/kv_store/q` holds its limit of 2 keys"}})
    );
    // Overwriting a key is no new key.
    kv(&host, set("a", "12345678")).await;
    assert_eq!(
        kv(&host, set("a", "123456789")).await,
        json!({"error": {"kind": "other", "message": "quota exceeded: the value of `a` is 9 bytes, over the limit of 8 bytes"}})
    );
    // Keys and values together: `a` 9 bytes, `b` 8 more.
    assert_eq!(
        kv(&host, set("b", "1234567")).await,
        json!({"error": {"kind": "other", "message": "quota exceeded: bucket `operation/kv_store/q` would hold 17 bytes, over its limit of 16 bytes"}})
    );
    // A refused write changed nothing.
    assert_eq!(
        kv(&host, json!({"op": "get", "bucket": "q", "key": "b"})).await,
        json!({"value": "2"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_is_refused_where_not_granted() {
    let host = test_host_with(settings(), &[]).await;
    let reply = crate::upload(&host, guests::KV_STORE).await;
    reply.assert_error(422, "unsupported_imports");
    let imports: Vec<&str> = reply.body["error"]["details"]["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|problem| problem["import"].as_str().unwrap())
        .collect();
    assert!(
        imports.contains(&"wasi:keyvalue/store@0.2.0-draft"),
        "{imports:?}"
    );
    assert_eq!(
        reply.body["error"]["details"]["imports"][0]["reason"],
        "capability `key_value` is not granted to uploaded components"
    );
}

/// `worker` started under a one-for-one supervisor with `args`.
pub(crate) async fn supervised(
    host: &TestHost,
    code: Arc<WorkerCode>,
    args: &str,
) -> SupervisorHandle {
    host.host()
        .processes()
        .start_supervisor(SupervisorSpec {
            name: None,
            flags: Flags {
                intensity: 5,
                ..Flags::default()
            },
            children: vec![ChildSpec::worker("worker", code, args)],
            sandbox: None,
        })
        .await
        .expect("the worker starts")
}

/// Call the supervisor's first child with `payload`; its answer.
pub(crate) async fn call(host: &TestHost, supervisor: &SupervisorHandle, payload: &str) -> String {
    let children = supervisor.which_children().await.unwrap();
    let pid = children[0].pid.clone().expect("the worker runs");
    within(
        "a call to the worker",
        host.host().processes().call(&pid, None, payload, WAIT),
    )
    .await
    .unwrap()
}

async fn worker(host: &TestHost, name: &str) -> Arc<WorkerCode> {
    load_worker(host, name, guests::KV_WORKER).await
}

/// The worker component at `path`, loaded as `name` from a directory.
pub(crate) async fn load_worker(host: &TestHost, name: &str, path: &str) -> Arc<WorkerCode> {
    host.host()
        .workers()
        .load(
            name,
            &arsenal_tests::read(path),
            arsenal::Source::Directory,
            path,
        )
        .await
        .expect("the worker loads")
        .live()
        .cloned()
        .expect("the worker is live")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervised_worker_keeps_its_counter_across_its_restart() {
    let mut settings = granted();
    settings.limits.idle_hibernate_ms = 0;
    let host = test_host_with(settings, &[]).await;
    let code = worker(&host, "kv_counter").await;
    let supervisor = supervised(&host, code, "").await;
    assert_eq!(call(&host, &supervisor, "count").await, "1");
    assert_eq!(call(&host, &supervisor, "count").await, "2");
    let after = crash(host.host().processes(), &supervisor, "worker").await;
    assert_eq!(after[0].restarts, 1);
    assert_eq!(call(&host, &supervisor, "starts").await, "2");
    assert_eq!(call(&host, &supervisor, "count").await, "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_buckets_only_where_the_operator_grants_them() {
    let mut settings = granted();
    settings.limits.idle_hibernate_ms = 0;
    settings.components = BTreeMap::from([
        (
            "kv_a".to_owned(),
            ComponentGrants {
                buckets: vec!["team".to_owned()],
                ..ComponentGrants::default()
            },
        ),
        (
            "kv_b".to_owned(),
            ComponentGrants {
                buckets: vec!["team".to_owned()],
                ..ComponentGrants::default()
            },
        ),
    ]);
    let host = test_host_with(settings, &[guests::KV_STORE]).await;
    let a = supervised(&host, worker(&host, "kv_a").await, "team").await;
    let b = supervised(&host, worker(&host, "kv_b").await, "team").await;
    assert_eq!(call(&host, &a, "count").await, "1");
    assert_eq!(call(&host, &b, "count").await, "2", "one bucket for both");

    // A worker not granted `team` cannot open it: its `init` fails with the error.
    let Err(refused) = host
        .host()
        .processes()
        .start_supervisor(SupervisorSpec {
            name: None,
            flags: Flags::default(),
            children: vec![ChildSpec::worker(
                "worker",
                worker(&host, "kv_c").await,
                "team",
            )],
            sandbox: None,
        })
        .await
    else {
        panic!("the worker's init must be refused the bucket");
    };
    assert!(refused.to_string().contains("AccessDenied"), "{refused}");

    // Nor can an operation; and its own `state` bucket is not the workers'.
    assert_eq!(
        kv(
            &host,
            json!({"op": "get", "bucket": "team", "key": "counter"})
        )
        .await,
        json!({"error": {"kind": "access_denied", "message": "access to the bucket is denied"}})
    );
    let own = supervised(&host, worker(&host, "kv_d").await, "state").await;
    assert_eq!(call(&host, &own, "count").await, "1");
    assert_eq!(
        kv(
            &host,
            json!({"op": "get", "bucket": "state", "key": "counter"})
        )
        .await,
        json!({"value": null})
    );
    assert_eq!(
        kv(&host, json!({"op": "get", "bucket": "a/b"})).await,
        json!({"error": {"kind": "no_such_store", "message": "no such bucket"}})
    );
}
