//! The catalogue under load: with 10,000 processes present (plus supervisor trees, a
//! sandbox and the host services), how long each catalogue operation takes through the
//! router, in process. The target is every operation within 100 ms (lists are
//! paginated). Prints a table of p50 / p99 / max per operation; the figures are recorded
//! in BENCHMARKS.md.
//!
//! `cargo bench -p arsenal-tests --bench catalogue_latency [-- PROCESSES]` (default 10,000;
//! `-- --test` runs 300, for CI).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arsenal::Host;
use arsenal::Source;
use arsenal::config::Settings;
use arsenal::runtime::SpawnOptions;
use arsenal_tests::{guests, percentile};
use axum::body::Body;
use http::{Method, Request};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Requests per operation.
const ROUNDS: usize = 30;

/// The host's local admin token: changes need it (reads are open in local mode).
const ADMIN_TOKEN: &str = "bench-admin-token";

async fn send(
    router: &axum::Router,
    method: Method,
    uri: &str,
    body: Option<&Value>,
) -> (u16, Duration) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"));
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let started = Instant::now();
    let response = router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
    (status, started.elapsed())
}

fn main() {
    // `--test` (the CI smoke run): a few hundred processes, enough to run every request.
    let count = arsenal_tests::BenchArgs::read().size(0, 10_000, 300);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let cache = tempfile::tempdir().unwrap();
        let mut settings = Settings::default().with_cache_dir(cache.path());
        settings.limits.mailbox_capacity = 64;
        settings.server.persist = false;
        settings.auth.admin_token = Some(ADMIN_TOKEN.to_owned());
        // One principal sends every request, faster than the default quotas allow.
        settings.rate_limits = arsenal::config::RateLimitSettings::off();
        let host = Arc::new(Host::start(settings).await.unwrap());
        let bytes = arsenal_tests::read(guests::COUNTER_WORKER);
        let code = host
            .workers()
            .load("counter", &bytes, Source::Builtin, guests::COUNTER_WORKER)
            .await
            .unwrap()
            .live()
            .cloned()
            .unwrap();
        let table = host.processes();
        let started = Instant::now();
        for index in 0..count {
            let options = SpawnOptions {
                name: (index % 10 == 0).then(|| format!("p{index}")),
                ..SpawnOptions::default()
            };
            table.spawn(code.clone(), "", options).await.unwrap();
        }
        eprintln!("{count} processes started in {:?}", started.elapsed());
        let router = arsenal::http::router(host.clone());
        let children: Vec<Value> = (0..100)
            .map(|i| json!({ "id": format!("c{i}"), "worker": "counter" }))
            .collect();
        let (status, _) = send(&router, Method::POST, "/api/v1/supervisors", Some(&json!({ "name": "tree", "children": children }))).await;
        assert_eq!(status, 201);
        let (status, _) = send(&router, Method::POST, "/api/v1/sandboxes", Some(&json!({ "id": "lab", "supervisor": { "children": [{ "id": "a", "worker": "counter" }] } }))).await;
        assert_eq!(status, 201);
        let (status, _) = send(&router, Method::POST, "/api/v1/processes/p10/trace", Some(&json!({}))).await;
        assert_eq!(status, 201);
        for _ in 0..10 {
            table.send("p20", None, "inc").unwrap();
        }

        // A registered process in the middle of the table (every tenth is named).
        let middle = format!("/api/v1/processes/p{}", count / 2 / 10 * 10);
        let (links, state) = (format!("{middle}/links"), format!("{middle}/state"));
        let reads = [
            "/api/v1/processes?limit=100",
            "/api/v1/processes?sort=messages_in&limit=100",
            middle.as_str(),
            links.as_str(),
            state.as_str(),
            "/api/v1/processes/p20/mailbox",
            "/api/v1/processes/p20/mailbox/analysis",
            "/api/v1/registry",
            "/api/v1/workers",
            "/api/v1/supervisors",
            "/api/v1/supervisors/tree/tree",
            "/api/v1/supervisors/tree/children",
            "/api/v1/supervisors/tree/flags",
            "/api/v1/supervisors/tree/restarts",
            "/api/v1/supervisors/arsenal/tree",
            "/api/v1/system/info",
            "/api/v1/system/engine",
            "/api/v1/system/memory",
            "/api/v1/system/process-tree",
            "/api/v1/system/bottlenecks",
            "/api/v1/system/deadlocks",
            "/api/v1/system/memory-leaks",
            "/api/v1/sandboxes",
            "/api/v1/sandboxes/lab",
            "/api/v1/traces/1",
        ];
        println!("{:<44} {:>9} {:>9} {:>9}", "operation (GET unless said)", "p50 ms", "p99 ms", "max ms");
        let mut worst = Duration::ZERO;
        let mut report = |label: &str, mut samples: Vec<Duration>| {
            let (p50, p99) = (percentile(&mut samples, 0.5), percentile(&mut samples, 0.99));
            let max = *samples.last().unwrap();
            worst = worst.max(max);
            println!(
                "{label:<44} {:>9.2} {:>9.2} {:>9.2}",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            );
        };
        for uri in reads {
            let mut samples = Vec::with_capacity(ROUNDS);
            for _ in 0..ROUNDS {
                let (status, took) = send(&router, Method::GET, uri, None).await;
                assert_eq!(status, 200, "{uri}");
                samples.push(took);
            }
            report(uri, samples);
        }
        let writes: [(&str, Method, &str, Value); 6] = [
            ("POST messages (send)", Method::POST, "/api/v1/processes/p30/messages", json!({ "payload": "inc" })),
            ("POST messages (call)", Method::POST, "/api/v1/processes/p30/messages", json!({ "payload": "get", "call": true })),
            ("POST suspend", Method::POST, "/api/v1/processes/p40/suspend", json!({})),
            ("POST resume", Method::POST, "/api/v1/processes/p40/resume", json!({})),
            ("POST hibernate", Method::POST, "/api/v1/processes/p50/hibernate", json!({})),
            ("POST sandbox run", Method::POST, "/api/v1/sandboxes/lab/run", json!({ "worker": "counter", "payload": "get" })),
        ];
        for (label, method, uri, body) in writes {
            let mut samples = Vec::with_capacity(ROUNDS);
            for _ in 0..ROUNDS {
                let (status, took) = send(&router, method.clone(), uri, Some(&body)).await;
                assert_eq!(status, 200, "{label}");
                samples.push(took);
            }
            report(label, samples);
        }
        let mut samples = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS {
            let (status, took) = send(&router, Method::POST, "/api/v1/processes", Some(&json!({ "worker": "counter", "name": format!("new{round}") }))).await;
            assert_eq!(status, 201);
            samples.push(took);
            let (status, _) = send(&router, Method::DELETE, &format!("/api/v1/processes/new{round}"), None).await;
            assert_eq!(status, 200);
        }
        report("POST start_process", samples);
        println!("processes present: {}; slowest request: {:.2} ms", table.len(), worst.as_secs_f64() * 1e3);
    });
}
