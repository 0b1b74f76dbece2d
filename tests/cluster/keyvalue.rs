//! Key-value storage in a cluster: buckets live in JetStream key-value, so a value set
//! through one node is read through another, and increments racing from two nodes lose
//! nothing — each write is conditional on the revision it read, and one lost to the other
//! node is tried again or reported, never silently overwritten.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::nats::NatsServer;
use crate::{Node, logs, settings};

/// A node serving the `kv_store` test operation from a directory, granted `key_value`.
async fn node(id: &str, nats: &NatsServer, dir: &std::path::Path) -> Node {
    let mut settings = settings(id, &nats.url());
    settings.operations.dirs = vec![dir.to_owned()];
    settings.capabilities.directory.push("key_value".to_owned());
    Node::start_with(settings).await
}

async fn kv(node: &Node, call: Value) -> Value {
    let (status, body) = node.post("/api/v1/test/kv", call).await;
    assert_eq!(status, 201, "{body}");
    body["data"].clone()
}

fn operation_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        arsenal_tests::guests::KV_STORE,
        dir.path().join("kv_store.wasm"),
    )
    .unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_is_shared_by_every_node() {
    logs();
    let nats = NatsServer::start();
    let dir = operation_dir();
    let a = node("a", &nats, dir.path()).await;
    let b = node("b", &nats, dir.path()).await;

    kv(
        &a,
        json!({"op": "set", "bucket": "notes", "key": "k", "value": "from a"}),
    )
    .await;
    assert_eq!(
        kv(&b, json!({"op": "get", "bucket": "notes", "key": "k"})).await,
        json!({"value": "from a"})
    );
    kv(&b, json!({"op": "delete", "bucket": "notes", "key": "k"})).await;
    assert_eq!(
        kv(&a, json!({"op": "exists", "bucket": "notes", "key": "k"})).await,
        json!({"exists": false})
    );
    kv(
        &b,
        json!({"op": "set_many", "bucket": "notes", "key": "n", "value": "v", "count": 3}),
    )
    .await;
    assert_eq!(
        kv(&a, json!({"op": "keys", "bucket": "notes"})).await,
        json!({"keys": ["n0", "n1", "n2"]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increments_racing_from_two_nodes_lose_nothing() {
    logs();
    let nats = NatsServer::start();
    let dir = operation_dir();
    let a = node("a", &nats, dir.path()).await;
    let b = node("b", &nats, dir.path()).await;
    let increment = json!({"op": "increment", "bucket": "race", "key": "n"});

    // Sixteen increments at once, half through each node, all on one key.
    let calls = (0..16).map(|i| {
        let node = if i % 2 == 0 { &a } else { &b };
        kv(node, increment.clone())
    });
    let answers = futures::future::join_all(calls).await;
    let mut counted = BTreeSet::new();
    let mut conflicts = 0;
    for answer in &answers {
        match answer["value"].as_u64() {
            Some(value) => assert!(counted.insert(value), "{value} answered twice: {answers:?}"),
            None => {
                // A race lost past the retries is the guest's error, naming the key.
                assert_eq!(
                    answer["error"]["message"], "conflict: `n` was changed by another writer",
                    "{answer}"
                );
                conflicts += 1;
            }
        }
    }
    // Every increment that succeeded is in the value, and only those.
    let total = counted.len() as u64;
    assert_eq!(counted, (1..=total).collect::<BTreeSet<_>>());
    assert_eq!(total + conflicts, 16);
    assert_eq!(
        kv(&a, json!({"op": "get", "bucket": "race", "key": "n"})).await,
        json!({"value": total.to_string()})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_builtins_answer_from_jetstream_on_every_node() {
    logs();
    let nats = NatsServer::start();
    let dir = operation_dir();
    let a = node("a", &nats, dir.path()).await;
    let b = node("b", &nats, dir.path()).await;
    for (key, value) in [
        ("greeting", "hello"),
        ("db_password", "hunter2"),
        ("gone", "x"),
    ] {
        kv(
            &a,
            json!({"op": "set", "bucket": "notes", "key": key, "value": value}),
        )
        .await;
    }
    kv(
        &b,
        json!({"op": "delete", "bucket": "notes", "key": "gone"}),
    )
    .await;
    let notes = "operation/kv_store/notes";

    // Node b lists what a wrote: a deleted key's marker is no key.
    let (status, listed) = b.get("/api/v1/storage/buckets").await;
    assert_eq!(status, 200, "{listed}");
    let bucket = &listed["data"]["buckets"][0];
    assert_eq!(listed["data"]["total"], 1, "{listed}");
    assert_eq!(
        (
            &bucket["name"],
            &bucket["owner_kind"],
            &bucket["owner"],
            &bucket["keys"]
        ),
        (
            &json!(notes),
            &json!("operation"),
            &json!("kv_store"),
            &json!(2)
        ),
        "{bucket}"
    );
    assert!(bucket["bytes"].as_u64().unwrap() > 0, "{bucket}");
    let (status, keys) = b.get(&format!("/api/v1/storage/keys?bucket={notes}")).await;
    assert_eq!(status, 200, "{keys}");
    assert_eq!(
        keys["data"]["keys"],
        json!([{"key": "db_password", "secret": true}, {"key": "greeting", "secret": false}])
    );
    let (_, greeting) = b
        .get(&format!("/api/v1/storage/key?bucket={notes}&key=greeting"))
        .await;
    assert_eq!(greeting["data"]["value"], "hello", "{greeting}");
    let (_, secret) = b
        .get(&format!(
            "/api/v1/storage/key?bucket={notes}&key=db_password"
        ))
        .await;
    assert_eq!(
        secret["data"],
        json!({"bucket": notes, "key": "db_password", "size": 7, "secret": true})
    );

    // Written through b, read by the component through a; a bucket never made is 404
    // (and looking does not make it).
    let (status, put, _) = b
        .send(
            reqwest::Method::PUT,
            "/api/v1/storage/key",
            None,
            Some(json!({"bucket": notes, "key": "greeting", "value": "from b"})),
        )
        .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(
        kv(
            &a,
            json!({"op": "get", "bucket": "notes", "key": "greeting"})
        )
        .await,
        json!({"value": "from b"})
    );
    let (status, missing) = a.get("/api/v1/storage/keys?bucket=shared/nothing").await;
    assert_eq!(
        (status, &missing["error"]["code"]),
        (404, &json!("bucket_not_found"))
    );
    let (status, deleted, _) = a
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/storage/key?bucket={notes}&key=greeting"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{deleted}");
    let (_, listed) = b.get("/api/v1/storage/buckets").await;
    assert_eq!(listed["data"]["buckets"][0]["keys"], 1, "{listed}");
}
