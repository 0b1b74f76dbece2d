//! Restoring an unloaded operation through the admin API: a built-in (or an operation from
//! a configured directory) unloaded stays unloaded across restarts, is listed by
//! `versions` as the version to restore, and `restore` brings it back for good.

use std::path::Path;

use axum::body::Body;
use http::Method;
use serde_json::json;

use arsenal_testing::{Reply, TestHost};

use crate::{guests, settings, test_host, test_host_with};

/// Hosts that keep their admin changes in `state`, as one server restarted would.
fn restarting(state: &Path) -> impl Fn() -> arsenal::config::Settings {
    move || {
        let mut settings = settings();
        settings.server.state_dir = Some(state.to_owned());
        settings
    }
}

async fn restore(host: &TestHost, name: &str) -> Reply {
    host.post(
        &format!("/api/v1/admin/operations/{name}/restore"),
        json!({}),
    )
    .await
}

async fn versions(host: &TestHost, name: &str) -> Reply {
    host.get(&format!("/api/v1/admin/operations/{name}/versions"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unloaded_builtin_is_restored_and_stays_across_restarts() {
    let state = crate::fresh_state_dir();
    let settings = restarting(&state);
    {
        let host = test_host_with(settings(), &[]).await;
        assert_eq!(host.get("/api/v1/echo/ping").await.status, 200);
        let unloaded = host.delete("/api/v1/admin/operations/echo").await;
        assert_eq!(unloaded.status, 200, "{}", unloaded.body);
        host.get("/api/v1/echo/ping")
            .await
            .assert_error(404, "operation_not_found");
    }

    // Restarted: still unloaded, and listed as the version to restore.
    let host = test_host_with(settings(), &[]).await;
    host.get("/api/v1/echo/ping")
        .await
        .assert_error(404, "operation_not_found");
    let listed = versions(&host, "echo").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["data"]["loaded"], false);
    let kept = listed.body["data"]["versions"].as_array().unwrap();
    assert_eq!(kept.len(), 1, "{}", listed.body);
    assert_eq!(
        (&kept[0]["source"], &kept[0]["live"], &kept[0]["version"]),
        (&json!("builtin"), &json!(false), &json!("0.1.0"))
    );
    // Not loaded, it has nothing to roll back.
    host.post("/api/v1/admin/operations/echo/rollback", json!({}))
        .await
        .assert_error(404, "operation_not_found");

    let restored = restore(&host, "echo").await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["data"]["name"], "echo");
    assert_eq!(restored.body["data"]["source"], "builtin");
    assert_eq!(restored.body["data"]["live"], true);
    let echo = host.get("/api/v1/echo/ping").await;
    assert_eq!(echo.status, 200, "{}", echo.body);
    assert_eq!(echo.header("x-operation-version"), "0.1.0");
    // Live now: nothing to restore, and `versions` lists it as loaded.
    restore(&host, "echo")
        .await
        .assert_error(409, "operation_exists");
    assert_eq!(versions(&host, "echo").await.body["data"]["loaded"], true);
    drop(host);

    // Restarted again: the restore was kept.
    let host = test_host_with(settings(), &[]).await;
    assert!(
        host.host().problems().is_empty(),
        "{:?}",
        host.host().problems()
    );
    assert_eq!(host.get("/api/v1/echo/ping").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_builtin_unloaded_comes_back_as_the_builtin() {
    let state = crate::fresh_state_dir();
    let settings = restarting(&state);
    {
        let host = test_host_with(settings(), &[]).await;
        let replaced = host
            .send(
                Method::PUT,
                "/api/v1/admin/operations/echo",
                Body::from(arsenal_tests::read(guests::ECHO_V2)),
                &[("content-type", "application/wasm")],
            )
            .await;
        assert_eq!(replaced.status, 200, "{}", replaced.body);
        assert_eq!(
            host.delete("/api/v1/admin/operations/echo").await.status,
            200
        );
        // The upload went with the unload; the built-in is what comes back.
        let listed = versions(&host, "echo").await;
        assert_eq!(listed.body["data"]["versions"][0]["version"], "0.1.0");
        let restored = restore(&host, "echo").await;
        assert_eq!(restored.status, 200, "{}", restored.body);
        assert_eq!(restored.body["data"]["version"], "0.1.0");
        // Restored with no history: the upload is gone.
        host.post("/api/v1/admin/operations/echo/rollback", json!({}))
            .await
            .assert_error(409, "no_earlier_version");
    }
    let host = test_host_with(settings(), &[]).await;
    let echo = host.get("/api/v1/echo/ping").await;
    assert_eq!(echo.status, 200, "{}", echo.body);
    assert_eq!(echo.header("x-operation-version"), "0.1.0");
}

/// An operation from a configured directory loads at start on its own, like a built-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unloaded_directory_operation_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guests::GREET, dir.path().join("greet.wasm")).unwrap();
    let state = crate::fresh_state_dir();
    let settings = {
        let restarting = restarting(&state);
        let dir = dir.path().to_owned();
        move || {
            let mut settings = restarting();
            settings.operations.dirs = vec![dir.clone()];
            settings
        }
    };
    {
        let host = test_host_with(settings(), &[]).await;
        assert_eq!(host.get("/api/v1/greet/ann").await.status, 200);
        assert_eq!(
            host.delete("/api/v1/admin/operations/greet").await.status,
            200
        );
    }
    let host = test_host_with(settings(), &[]).await;
    host.get("/api/v1/greet/ann")
        .await
        .assert_error(404, "operation_not_found");
    let restored = restore(&host, "greet").await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["data"]["source"], "directory");
    assert_eq!(host.get("/api/v1/greet/ann").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unloaded_upload_has_nothing_to_restore() {
    let host = test_host(&[]).await;
    let added = host
        .send(
            Method::POST,
            "/api/v1/admin/operations",
            Body::from(arsenal_tests::read(guests::GREET)),
            &[("content-type", "application/wasm")],
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(
        host.delete("/api/v1/admin/operations/greet").await.status,
        200
    );
    restore(&host, "greet")
        .await
        .assert_error(404, "nothing_to_restore");
    versions(&host, "greet")
        .await
        .assert_error(404, "operation_not_found");
    restore(&host, "never-loaded")
        .await
        .assert_error(404, "nothing_to_restore");
}

/// A worker component from a configured directory (`--workers`) comes back the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unloaded_directory_worker_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guests::COUNTER_WORKER, dir.path().join("counter.wasm")).unwrap();
    let state = crate::fresh_state_dir();
    let settings = {
        let restarting = restarting(&state);
        let dir = dir.path().to_owned();
        move || {
            let mut settings = restarting();
            settings.operations.worker_dirs = vec![dir.clone()];
            settings
        }
    };
    let spawn = async |host: &TestHost| {
        host.post("/api/v1/processes", json!({ "worker": "counter" }))
            .await
    };
    {
        let host = test_host_with(settings(), &[]).await;
        assert_eq!(spawn(&host).await.status, 201);
        let unloaded = host.delete("/api/v1/admin/workers/counter").await;
        assert_eq!(unloaded.status, 200, "{}", unloaded.body);
    }
    let host = test_host_with(settings(), &[]).await;
    spawn(&host).await.assert_error(404, "worker_not_found");
    let listed = host.get("/api/v1/admin/workers/counter/versions").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["data"]["loaded"], false);
    assert_eq!(listed.body["data"]["versions"][0]["source"], "directory");
    let restored = host
        .post("/api/v1/admin/workers/counter/restore", json!({}))
        .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["data"]["name"], "counter");
    assert_eq!(spawn(&host).await.status, 201);
    host.post("/api/v1/admin/workers/counter/restore", json!({}))
        .await
        .assert_error(409, "worker_exists");
    host.post("/api/v1/admin/workers/nobody/restore", json!({}))
        .await
        .assert_error(404, "nothing_to_restore");
    drop(host);
    let host = test_host_with(settings(), &[]).await;
    assert_eq!(spawn(&host).await.status, 201);
}
