//! Tests that measure the host's resident memory. They run in their own binary, one at
//! a time, because RSS is a figure of the whole test process: tests running beside them
//! would move it.

#[path = "../it/support.rs"]
#[allow(
    dead_code,
    reason = "shared with the `it` binary, which uses all of it"
)]
mod support;

use std::sync::Arc;
use std::time::Duration;

use arsenal::runtime::{
    ChildSpec, ChildStart, Flags, Restart, Shutdown, Strategy, SupervisorSpec, WorkerCode,
};
use arsenal::{Host, Source};
use axum::body::Body;
use http::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use support::{crash, host_with_counters};

/// A host with no operations and the counter worker compiled.
async fn counter_host() -> (Host, Arc<WorkerCode>) {
    let mut settings = support::settings();
    settings.limits.idle_hibernate_ms = 0;
    let host = Host::empty(settings).expect("the host starts");
    let bytes = arsenal_tests::read(support::guests::COUNTER_WORKER);
    let code = host
        .workers()
        .prepare("counter", &bytes, Source::Builtin, "builtin:counter")
        .await
        .unwrap();
    (host, code)
}

/// One measuring test at a time.
static MEASURING: Mutex<()> = Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_crashes_keeps_history_bounded_and_memory_flat() {
    let _alone = MEASURING.lock().await;
    let (host, code) = counter_host().await;
    let table = host.processes();
    let supervisor = table
        .start_supervisor(SupervisorSpec {
            flags: Flags {
                strategy: Strategy::OneForOne,
                intensity: 10_000,
                period: Duration::from_secs(5),
            },
            children: vec![ChildSpec {
                restart: Restart::Permanent,
                start: ChildStart::Worker {
                    code,
                    args: String::new(),
                    name: None,
                },
                id: "victim".into(),
                shutdown: Shutdown::BrutalKill,
            }],
            ..SupervisorSpec::default()
        })
        .await
        .unwrap();
    // Warm up allocator pools before measuring.
    for _ in 0..50 {
        crash(table, &supervisor, "victim").await;
    }
    let before = arsenal_tests::rss_bytes();
    for _ in 0..1_000 {
        crash(table, &supervisor, "victim").await;
    }
    let grown = arsenal_tests::rss_bytes().saturating_sub(before);
    let history = supervisor.history().await.unwrap();
    assert_eq!(history.len(), 100, "the history stays at its bound");
    assert_eq!(
        supervisor.which_children().await.unwrap()[0].restarts,
        1_050
    );
    assert!(grown < 10 << 20, "RSS grew by {grown} bytes");
    assert_eq!(table.len(), 2, "the supervisor and its one child");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_leaves_nothing_behind_and_a_second_destroy_is_404() {
    let _alone = MEASURING.lock().await;
    let host = host_with_counters(&[]).await;
    let table = host.host().processes();
    let baseline_processes = table.len();
    // Warm up allocator arenas with one sandbox first so the RSS comparison measures what
    // a sandbox keeps, not first-use growth.
    for round in 0..2 {
        let children: Vec<Value> = (0..50)
            .map(|i| json!({ "id": format!("w{i}"), "worker": "counter" }))
            .collect();
        let before = arsenal_tests::rss_bytes();
        let created = host
            .post(
                "/api/v1/sandboxes",
                json!({ "id": "big", "supervisor": { "children": children }, "limits": { "max_processes": 100 } }),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let held = created.body["data"]["usage"]["memory_bytes"]
            .as_u64()
            .unwrap();
        let destroyed = host
            .send(Method::DELETE, "/api/v1/sandboxes/big", Body::empty(), &[])
            .await;
        assert_eq!(destroyed.status, 200, "{}", destroyed.body);
        assert_eq!(destroyed.body["data"]["processes_stopped"], 51);
        assert_eq!(
            destroyed.body["data"]["memory_freed_bytes"], held,
            "the whole budget came back"
        );
        assert_eq!(table.len(), baseline_processes);
        assert!(table.sandboxes().is_empty());
        let after = arsenal_tests::rss_bytes();
        if round == 1 {
            assert!(
                after < before + (5 << 20),
                "RSS grew by {} KiB",
                (after.saturating_sub(before)) / 1024
            );
        }
    }
    host.send(Method::DELETE, "/api/v1/sandboxes/big", Body::empty(), &[])
        .await
        .assert_error(404, "sandbox_not_found");
}

/// Virtual memory of this process, in bytes (Linux `VmSize`).
fn address_space() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status is readable");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmSize:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("status has VmSize");
    kib * 1024
}

/// A dropped host gives back its engine's pooled reservation: its processes (the host
/// services among them, which hold the registry) go with it instead of outliving it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_host_gives_back_its_address_space() {
    let _alone = MEASURING.lock().await;
    let before = address_space();
    let mut settings = support::settings();
    settings.server.host_services = true;
    let host = arsenal::Host::start(settings)
        .await
        .expect("the host starts");
    let table = host.processes().clone();
    assert!(!table.is_empty(), "the host services run as processes");
    let reserved = address_space() - before;
    assert!(
        reserved > 1 << 30,
        "the pool reserves address space: {reserved}"
    );
    drop(host);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while address_space() > before + reserved / 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reservation was not given back: {} of {reserved} bytes still mapped, {} processes left",
            address_space() - before,
            table.len()
        );
        tokio::task::yield_now().await;
    }
    assert!(table.is_empty());
}
