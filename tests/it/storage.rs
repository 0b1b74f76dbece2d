//! The storage built-ins (`list_buckets`, `list_keys`, `get_key`, `put_key`,
//! `delete_key`): what components wrote through `wasi:keyvalue`, listed, read, written
//! and deleted over HTTP with the roles the data warrants — reading needs `operator`,
//! writing `admin` — a secret key's value in no answer and no audit record, quotas and
//! malformed names answered with their own codes.

use arsenal::Role;
use arsenal::config::Settings;
use axum::body::Body;
use http::Method;
use serde_json::{Value, json};

use arsenal_testing::{Reply, TestHost};

use crate::{guests, test_host_with};

const VIEWER: &str = "storage-viewer-key";
const OPERATOR: &str = "storage-operator-key";
const ADMIN: &str = "storage-admin-key";

/// One key per role, and `key_value` granted to components from directories.
fn keyed() -> Settings {
    let mut settings = crate::keyed(&[
        ("viewer", VIEWER, Role::Viewer),
        ("operator", OPERATOR, Role::Operator),
        ("admin", ADMIN, Role::Admin),
    ]);
    settings.capabilities.directory.push("key_value".to_owned());
    settings
}

async fn get(host: &TestHost, token: &str, uri: &str) -> Reply {
    host.send_as(Some(token), Method::GET, uri, Body::empty(), &[])
        .await
}

async fn delete(host: &TestHost, token: &str, uri: &str) -> Reply {
    host.send_as(Some(token), Method::DELETE, uri, Body::empty(), &[])
        .await
}

async fn put(host: &TestHost, token: &str, body: Value) -> Reply {
    let headers = [("content-type", "application/json")];
    host.send_as(
        Some(token),
        Method::PUT,
        "/api/v1/storage/key",
        Body::from(body.to_string()),
        &headers,
    )
    .await
}

/// One call of the `kv_store` guest, as the admin; what the guest answered.
async fn kv(host: &TestHost, call: Value) -> Value {
    let headers = [("content-type", "application/json")];
    let reply = host
        .send_as(
            Some(ADMIN),
            Method::POST,
            "/api/v1/test/kv",
            Body::from(call.to_string()),
            &headers,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"].clone()
}

async fn set(host: &TestHost, bucket: &str, key: &str, value: &str) {
    kv(
        host,
        json!({"op": "set", "bucket": bucket, "key": key, "value": value}),
    )
    .await;
}

const NOTES: &str = "operation/kv_store/notes";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_components_stored_is_listed_read_written_and_deleted() {
    let host = test_host_with(keyed(), &[guests::KV_STORE]).await;
    set(&host, "notes", "greeting", "hello").await;
    set(&host, "notes", "db_password", "hunter2").await;
    set(&host, "other", "n", "1").await;

    // The buckets, with their owner and usage (keys and values together).
    let listed = get(&host, OPERATOR, "/api/v1/storage/buckets").await;
    let data = listed.assert_ok(200);
    assert_eq!(data["total"], 2, "{data}");
    assert_eq!(
        data["buckets"][0],
        json!({
            "name": NOTES,
            "owner_kind": "operation",
            "owner": "kv_store",
            "identifier": "notes",
            "keys": 2,
            "bytes": ("greeting".len() + 5 + "db_password".len() + 7),
        })
    );
    assert_eq!(data["buckets"][1]["name"], "operation/kv_store/other");
    let paged = get(&host, OPERATOR, "/api/v1/storage/buckets?offset=1&limit=1").await;
    let paged = paged.assert_ok(200);
    assert_eq!(
        (
            paged["total"].clone(),
            paged["buckets"].as_array().unwrap().len()
        ),
        (json!(2), 1)
    );
    assert_eq!(paged["buckets"][0]["name"], "operation/kv_store/other");

    // A bucket's keys, the secret one marked.
    let keys = get(
        &host,
        OPERATOR,
        &format!("/api/v1/storage/keys?bucket={NOTES}"),
    )
    .await;
    let keys = keys.assert_ok(200);
    assert_eq!(
        keys["keys"],
        json!([
            {"key": "db_password", "secret": true},
            {"key": "greeting", "secret": false},
        ])
    );
    assert_eq!(
        (keys["total"].clone(), keys["bucket"]["keys"].clone()),
        (json!(2), json!(2))
    );
    let second = get(
        &host,
        OPERATOR,
        &format!("/api/v1/storage/keys?bucket={NOTES}&offset=1&limit=1"),
    )
    .await;
    assert_eq!(
        second.assert_ok(200)["keys"],
        json!([{"key": "greeting", "secret": false}])
    );

    // A value as text; a secret one's size only.
    let value = get(
        &host,
        OPERATOR,
        &format!("/api/v1/storage/key?bucket={NOTES}&key=greeting"),
    )
    .await;
    assert_eq!(
        *value.assert_ok(200),
        json!({"bucket": NOTES, "key": "greeting", "size": 5, "secret": false, "encoding": "utf8", "value": "hello"})
    );
    let secret = get(
        &host,
        ADMIN,
        &format!("/api/v1/storage/key?bucket={NOTES}&key=db_password"),
    )
    .await;
    assert_eq!(
        *secret.assert_ok(200),
        json!({"bucket": NOTES, "key": "db_password", "size": 7, "secret": true})
    );

    // The admin writes: bytes that are not text come back as base64, and the component
    // reads what was written.
    let written = put(
        &host,
        ADMIN,
        json!({"bucket": NOTES, "key": "raw", "value": "/wA=", "encoding": "base64"}),
    )
    .await;
    assert_eq!(
        *written.assert_ok(200),
        json!({"bucket": NOTES, "key": "raw", "size": 2, "secret": false})
    );
    let raw = get(
        &host,
        OPERATOR,
        &format!("/api/v1/storage/key?bucket={NOTES}&key=raw"),
    )
    .await;
    assert_eq!(
        (raw.data()["encoding"].clone(), raw.data()["value"].clone()),
        (json!("base64"), json!("/wA="))
    );
    put(
        &host,
        ADMIN,
        json!({"bucket": NOTES, "key": "greeting", "value": "changed"}),
    )
    .await
    .assert_ok(200);
    assert_eq!(
        kv(
            &host,
            json!({"op": "get", "bucket": "notes", "key": "greeting"})
        )
        .await,
        json!({"value": "changed"})
    );
    // A secret written is answered as one, its value nowhere.
    let token = put(
        &host,
        ADMIN,
        json!({"bucket": "shared/team", "key": "API_TOKEN", "value": "s3cr3t-t0ken"}),
    )
    .await;
    assert_eq!(
        *token.assert_ok(200),
        json!({"bucket": "shared/team", "key": "API_TOKEN", "size": 12, "secret": true})
    );

    // The admin deletes; a second delete finds nothing, and neither does the component.
    delete(
        &host,
        ADMIN,
        &format!("/api/v1/storage/key?bucket={NOTES}&key=greeting"),
    )
    .await
    .assert_ok(200);
    delete(
        &host,
        ADMIN,
        &format!("/api/v1/storage/key?bucket={NOTES}&key=greeting"),
    )
    .await
    .assert_error(404, "key_not_found");
    assert_eq!(
        kv(
            &host,
            json!({"op": "get", "bucket": "notes", "key": "greeting"})
        )
        .await,
        json!({"value": null})
    );

    // No answer and no audit record holds a secret's value.
    let audit = get(&host, ADMIN, "/api/v1/audit?limit=500").await;
    let audit = audit.body.to_string();
    assert!(audit.contains("put_key"), "{audit}");
    for reply in [&secret, &token] {
        assert!(!reply.body.to_string().contains("hunter2"));
    }
    assert!(!audit.contains("s3cr3t-t0ken"), "{audit}");
    assert!(
        !audit.contains("\"changed\""),
        "values are never audited: {audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_needs_an_operator_and_writing_an_admin() {
    let host = test_host_with(keyed(), &[guests::KV_STORE]).await;
    set(&host, "notes", "greeting", "hello").await;
    let read = format!("/api/v1/storage/key?bucket={NOTES}&key=greeting");
    for uri in [
        "/api/v1/storage/buckets".to_owned(),
        format!("/api/v1/storage/keys?bucket={NOTES}"),
        read.clone(),
    ] {
        let refused = get(&host, VIEWER, &uri).await;
        refused.assert_error(403, "forbidden");
        assert_eq!(
            refused.body["error"]["details"]["required_role"],
            "operator"
        );
        get(&host, OPERATOR, &uri).await.assert_ok(200);
    }
    let write = json!({"bucket": NOTES, "key": "greeting", "value": "mine"});
    for token in [VIEWER, OPERATOR] {
        let refused = put(&host, token, write.clone()).await;
        refused.assert_error(403, "forbidden");
        assert_eq!(refused.body["error"]["details"]["required_role"], "admin");
        delete(&host, token, &read)
            .await
            .assert_error(403, "forbidden");
    }
    // Nothing changed.
    assert_eq!(get(&host, OPERATOR, &read).await.data()["value"], "hello");
    let catalogue = get(&host, VIEWER, "/api/v1/operations").await;
    let role_of = |name: &str| crate::required_role(&catalogue, name);
    for (name, role) in [
        ("list_buckets", "operator"),
        ("list_keys", "operator"),
        ("get_key", "operator"),
        ("put_key", "admin"),
        ("delete_key", "admin"),
    ] {
        assert_eq!(role_of(name), json!(role), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_missing_keys_and_quotas_have_their_codes() {
    let mut settings = keyed();
    settings.keyvalue.max_keys = 2;
    settings.keyvalue.max_value_bytes = 8;
    settings.keyvalue.secret_keys = vec!["pin*".to_owned()];
    let host = test_host_with(settings, &[guests::KV_STORE]).await;
    set(&host, "q", "a", "1").await;

    for bucket in [
        "nonsense",
        "operation/kv_store",
        "shared/a/b",
        "process/x/y",
        "operation/kv_store/bad%20name",
    ] {
        get(
            &host,
            OPERATOR,
            &format!("/api/v1/storage/keys?bucket={bucket}"),
        )
        .await
        .assert_error(422, "invalid_bucket");
        put(
            &host,
            ADMIN,
            json!({"bucket": bucket.replace("%20", " "), "key": "k", "value": "v"}),
        )
        .await
        .assert_error(422, "invalid_bucket");
    }
    for uri in [
        "/api/v1/storage/keys?bucket=shared/nothing",
        "/api/v1/storage/key?bucket=shared/nothing&key=k",
    ] {
        get(&host, OPERATOR, uri)
            .await
            .assert_error(404, "bucket_not_found");
    }
    delete(
        &host,
        ADMIN,
        "/api/v1/storage/key?bucket=shared/nothing&key=k",
    )
    .await
    .assert_error(404, "bucket_not_found");
    get(
        &host,
        OPERATOR,
        "/api/v1/storage/key?bucket=operation/kv_store/q&key=b",
    )
    .await
    .assert_error(404, "key_not_found");
    // Parameters the operations declare: missing, too long, not one of the encodings.
    get(&host, OPERATOR, "/api/v1/storage/keys")
        .await
        .assert_error(422, "validation_error");
    let long_key = "k".repeat(1025);
    get(
        &host,
        OPERATOR,
        &format!("/api/v1/storage/key?bucket=operation/kv_store/q&key={long_key}"),
    )
    .await
    .assert_error(422, "validation_error");
    put(
        &host,
        ADMIN,
        json!({"bucket": "shared/x", "key": "k", "value": "v", "encoding": "hex"}),
    )
    .await
    .assert_error(422, "validation_error");
    put(
        &host,
        ADMIN,
        json!({"bucket": "shared/x", "key": "k", "value": "not base64!", "encoding": "base64"}),
    )
    .await
    .assert_error(422, "invalid_value");

    // Quotas: the value's size, the bucket's keys. A refused write changes nothing.
    let over = put(
        &host,
        ADMIN,
        json!({"bucket": "operation/kv_store/q", "key": "a", "value": "123456789"}),
    )
    .await;
    over.assert_error(409, "quota_exceeded");
    assert!(
        over.message().contains("over the limit of 8 bytes"),
        "{}",
        over.message()
    );
    put(
        &host,
        ADMIN,
        json!({"bucket": "operation/kv_store/q", "key": "pin", "value": "1234"}),
    )
    .await
    .assert_ok(200);
    put(
        &host,
        ADMIN,
        json!({"bucket": "operation/kv_store/q", "key": "c", "value": "3"}),
    )
    .await
    .assert_error(409, "quota_exceeded");
    let keys = get(
        &host,
        OPERATOR,
        "/api/v1/storage/keys?bucket=operation/kv_store/q",
    )
    .await;
    assert_eq!(
        keys.assert_ok(200)["keys"],
        json!([{"key": "a", "secret": false}, {"key": "pin", "secret": true}]),
        "the configured patterns mark secrets"
    );
    assert_eq!(
        kv(&host, json!({"op": "get", "bucket": "q", "key": "a"})).await,
        json!({"value": "1"})
    );
}
