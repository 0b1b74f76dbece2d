//! The audit log: state-changing calls and admin actions recorded with principal,
//! operation and version, redacted parameters, outcome, status, duration and request id;
//! reads not recorded; queried by admins with filters and pages; a change whose client hung
//! up is still made and recorded. (Durability under a hard kill: `host/arsenal/tests/server_process.rs`.)

use arsenal_testing::TestHost;
use axum::body::Body;
use http::Method;
use serde_json::{Value, json};

use crate::{guests, test_host, test_host_with};

const TYPED: &str = "/api/v1/test/typed/7";

async fn records(host: &TestHost, query: &str) -> Vec<Value> {
    let reply = host.get(&format!("/api/v1/audit{query}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"]["records"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_change_is_recorded_with_who_what_and_how_it_ended() {
    let host = test_host(&[guests::TYPED]).await;
    let called = host
        .send(
            Method::POST,
            TYPED,
            Body::from(
                json!({ "name": "ann", "meta": { "password": "hunter2", "colour": "red" } })
                    .to_string(),
            ),
            &[
                ("content-type", "application/json"),
                ("x-request-id", "audit-typed-1"),
            ],
        )
        .await;
    assert_eq!(called.status, 201, "{}", called.body);
    host.send(
        Method::POST,
        TYPED,
        Body::from(json!({ "name": "UPPER" }).to_string()),
        &[
            ("content-type", "application/json"),
            ("x-request-id", "audit-typed-2"),
        ],
    )
    .await
    .assert_error(422, "validation_error");
    // Reads are not recorded.
    assert_eq!(host.get("/api/v1/operations").await.status, 200);

    let all = records(&host, "").await;
    assert_eq!(all.len(), 2, "{all:#?}");
    let (refused, succeeded) = (&all[0], &all[1]);
    assert_eq!(succeeded["request_id"], "audit-typed-1");
    assert_eq!(succeeded["principal"], "local-admin");
    assert_eq!(succeeded["role"], "admin");
    assert_eq!(succeeded["method"], "POST");
    assert_eq!(succeeded["path"], TYPED);
    assert_eq!(succeeded["operation"], "typed");
    assert_eq!(succeeded["version"], called.header("x-operation-version"));
    assert_eq!(succeeded["revision"], called.header("x-operation-revision"));
    assert_eq!(succeeded["outcome"], "succeeded");
    assert_eq!(succeeded["status"], 201);
    assert_eq!(succeeded["client_disconnected"], false);
    assert_eq!(succeeded["params"]["meta"]["password"], "[redacted]");
    assert_eq!(succeeded["params"]["meta"]["colour"], "red");
    assert_eq!(succeeded["params"]["id"], 7);
    assert!(succeeded["duration_us"].as_u64().unwrap() > 0);
    assert!(succeeded["seq"].as_u64().unwrap() < refused["seq"].as_u64().unwrap());
    assert_eq!(refused["request_id"], "audit-typed-2");
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["status"], 422);
    assert_eq!(refused["error_code"], "validation_error");
    assert_eq!(
        refused["params"],
        Value::Null,
        "invalid parameters are not recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_actions_are_recorded_with_the_component_by_hash() {
    let host = test_host(&[]).await;
    let bytes = arsenal_tests::read(guests::ECHO_V2);
    let replaced = host
        .send(
            Method::PUT,
            "/api/v1/admin/operations/echo",
            Body::from(bytes.clone()),
            &[("content-type", "application/wasm")],
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    host.send(
        Method::PUT,
        "/api/v1/admin/operations/echo",
        Body::from("not wasm"),
        &[("content-type", "application/wasm")],
    )
    .await
    .assert_error(422, "invalid_component");
    let rolled = host
        .post("/api/v1/admin/operations/echo/rollback", json!({}))
        .await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);

    let all = records(&host, "?operation=echo").await;
    assert_eq!(all.len(), 3, "{all:#?}");
    let (rollback, bad, good) = (&all[0], &all[1], &all[2]);
    assert_eq!(good["path"], "/api/v1/admin/operations/echo");
    assert_eq!(good["version"], "2.0.0");
    assert_eq!(
        good["params"]["content_hash"],
        arsenal::content_hash(&bytes)
    );
    assert_eq!(good["params"]["component_bytes"], bytes.len());
    assert_eq!(bad["outcome"], "refused");
    assert_eq!(bad["error_code"], "invalid_component");
    assert_eq!(bad["version"], Value::Null);
    assert_eq!(rollback["path"], "/api/v1/admin/operations/echo/rollback");
    assert_eq!(rollback["version"], "0.1.0");
    assert_eq!(rollback["outcome"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_queried_by_filter_and_page_by_admins_only() {
    let host = test_host(&[guests::TYPED]).await;
    for n in 0..5 {
        let name = if n % 2 == 0 { "ok" } else { "NO" };
        host.send(
            Method::POST,
            TYPED,
            Body::from(json!({ "name": name }).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    }
    let refused = records(&host, "?outcome=refused").await;
    assert_eq!(refused.len(), 2);
    assert!(refused.iter().all(|record| record["status"] == 422));
    assert_eq!(records(&host, "?principal=someone-else").await.len(), 0);
    assert_eq!(records(&host, "?operation=typed").await.len(), 5);
    assert_eq!(
        records(
            &host,
            "?since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z"
        )
        .await
        .len(),
        0
    );

    // `since` and `until` keep exactly the records of their span: from `since`, before
    // `until`.
    let all = records(&host, "").await;
    let time_ms = |record: &Value| record["time_ms"].as_u64().unwrap();
    let middle = &all[2];
    let since = records(
        &host,
        &format!("?since={}", middle["time"].as_str().unwrap()),
    )
    .await;
    let expected: Vec<&Value> = all
        .iter()
        .filter(|r| time_ms(r) >= time_ms(middle))
        .collect();
    assert_eq!(since.iter().collect::<Vec<_>>(), expected);
    let until = records(
        &host,
        &format!("?until={}", middle["time"].as_str().unwrap()),
    )
    .await;
    let expected: Vec<&Value> = all
        .iter()
        .filter(|r| time_ms(r) < time_ms(middle))
        .collect();
    assert_eq!(until.iter().collect::<Vec<_>>(), expected);

    // Pages of two, newest first, following the cursor to the end.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = host.get(&format!("/api/v1/audit{query}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let records = page.body["data"]["records"].as_array().unwrap();
        assert!(records.len() <= 2);
        seen.extend(records.iter().map(|record| record["seq"].as_u64().unwrap()));
        match page.body["data"]["next"].as_u64() {
            Some(next) => query = format!("?limit=2&before={next}"),
            None => break,
        }
    }
    let mut expected = seen.clone();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    expected.dedup();
    assert_eq!(seen, expected, "newest first, none twice");
    assert_eq!(seen.len(), 5);

    host.get("/api/v1/audit?limit=0")
        .await
        .assert_error(422, "validation_error");
    host.get("/api/v1/audit?outcome=maybe")
        .await
        .assert_error(422, "validation_error");
    host.get("/api/v1/audit?since=yesterday")
        .await
        .assert_error(422, "validation_error");
    host.get("/api/v1/audit?colour=red")
        .await
        .assert_error(422, "validation_error");
    // A cursor is a record's position, from 1, as the document says.
    let before = host.get("/api/v1/audit?before=0").await;
    before.assert_error(422, "validation_error");
    assert_eq!(
        before.body["error"]["details"]["fields"][0]["field"],
        "before"
    );
    // Without the admin token: local mode asks the reader to authenticate.
    host.send_as(None, Method::GET, "/api/v1/audit", Body::empty(), &[])
        .await
        .assert_error(401, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_client_hung_up_is_made_and_recorded() {
    let host = test_host(&[]).await;
    // A component no cache has: compiling it keeps the request busy.
    let tag = format!("hang-up {:?}", std::time::SystemTime::now());
    let bytes = arsenal_tests::distinct(&arsenal_tests::read(guests::ECHO_V2), &tag);
    let upload = host.send(
        Method::PUT,
        "/api/v1/admin/operations/echo",
        Body::from(bytes.clone()),
        &[
            ("content-type", "application/wasm"),
            ("x-request-id", "hung-up"),
        ],
    );
    // Polled once, then dropped: the client hangs up while the upload runs.
    tokio::select! {
        biased;
        reply = upload => panic!("the upload finished at once: {}", reply.body),
        () = std::future::ready(()) => {}
    }

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let record = loop {
        let found = records(&host, "?request_id=hung-up").await;
        if let Some(record) = found.into_iter().next() {
            break record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the change was never recorded"
        );
        tokio::task::yield_now().await;
    };
    assert_eq!(record["client_disconnected"], true);
    assert_eq!(record["outcome"], "succeeded");
    assert_eq!(
        record["params"]["content_hash"],
        arsenal::content_hash(&bytes)
    );
    let echo = host.get("/api/v1/echo/ping").await;
    assert_eq!(
        echo.header("x-operation-version"),
        "2.0.0",
        "the change was made"
    );
}

/// An admin action attempted by a role too low is refused 403 and recorded as refused,
/// under the caller who tried; reads of the admin API and anonymous attempts are not
/// records (the latter are counted in `/metrics`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_admin_actions_are_recorded_under_who_tried() {
    use arsenal::Role;

    const OPERATOR: &str = "audit-operator-key";
    const VIEWER: &str = "audit-viewer-key";
    const ADMIN: &str = "audit-admin-key";
    let host = test_host_with(
        crate::keyed(&[
            ("operator", OPERATOR, Role::Operator),
            ("viewer", VIEWER, Role::Viewer),
            ("admin", ADMIN, Role::Admin),
        ]),
        &[],
    )
    .await;
    let wasm = [("content-type", "application/wasm")];
    let bytes = arsenal_tests::read(guests::ECHO_V2);
    host.send_as(
        Some(OPERATOR),
        Method::PUT,
        "/api/v1/admin/operations/echo",
        Body::from(bytes.clone()),
        &[
            ("content-type", "application/wasm"),
            ("x-request-id", "tried-put"),
        ],
    )
    .await
    .assert_error(403, "forbidden");
    host.send_as(
        Some(VIEWER),
        Method::DELETE,
        "/api/v1/admin/operations/echo",
        Body::empty(),
        &[("x-request-id", "tried-delete")],
    )
    .await
    .assert_error(403, "forbidden");
    host.send_as(
        Some(OPERATOR),
        Method::GET,
        "/api/v1/admin/operations/echo/versions",
        Body::empty(),
        &[],
    )
    .await
    .assert_error(403, "forbidden");
    host.send_as(
        None,
        Method::PUT,
        "/api/v1/admin/operations/echo",
        Body::from(bytes),
        &wasm,
    )
    .await
    .assert_error(401, "unauthenticated");

    let reply = host
        .send_as(
            Some(ADMIN),
            Method::GET,
            "/api/v1/audit",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let all = reply.body["data"]["records"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str, &str, u64, &str, &str)> = all
        .iter()
        .map(|record| {
            (
                record["request_id"].as_str().unwrap(),
                record["principal"].as_str().unwrap(),
                record["role"].as_str().unwrap(),
                record["method"].as_str().unwrap(),
                record["status"].as_u64().unwrap(),
                record["error_code"].as_str().unwrap(),
                record["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "tried-delete",
                "viewer",
                "viewer",
                "DELETE",
                403,
                "forbidden",
                "refused"
            ),
            (
                "tried-put",
                "operator",
                "operator",
                "PUT",
                403,
                "forbidden",
                "refused"
            ),
        ]
    );
    assert!(
        all.iter()
            .all(|record| record["path"] == "/api/v1/admin/operations/echo")
    );
    // Nothing was changed by them.
    let versions = host
        .send_as(
            Some(ADMIN),
            Method::GET,
            "/api/v1/admin/operations/echo/versions",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(
        versions.body["data"]["versions"].as_array().unwrap().len(),
        1
    );
}
