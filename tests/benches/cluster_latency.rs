//! Remote-call latency across a cluster: two nodes on a real nats-server (started here,
//! as the cluster tests do), both serving HTTP on loopback; a client calls `echo` on node
//! `a` over HTTP, first locally, then forwarded to `b` with `x-arsenal-node: b`. Prints
//! p50 / p99 / max of each; the target is a remote call's p99 within 500 ms.
//! The figures are recorded in BENCHMARKS.md.
//!
//! `cargo bench -p arsenal-tests --bench cluster_latency [-- CALLS]` (default 1,000;
//! `-- --test` runs 50, for CI).

#[path = "../cluster/nats.rs"]
mod nats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arsenal::Host;
use arsenal::config::Settings;
use arsenal_tests::percentile;

const ADMIN_TOKEN: &str = "bench-admin-token";

fn settings(node: &str, nats_url: &str) -> Settings {
    let mut settings =
        Settings::default().with_cache_dir(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
    settings.server.node = node.to_owned();
    settings.server.host_services = false;
    settings.server.persist = false;
    // Two nodes run in this one process: a small worker pool each.
    settings.limits.worker_slots = 1_024;
    settings.auth.admin_token = Some(ADMIN_TOKEN.to_owned());
    settings.rate_limits = arsenal::config::RateLimitSettings::off();
    settings.cluster.nats_url = Some(nats_url.to_owned());
    settings.cluster.secret = Some("a-bench-secret-of-more-than-32-characters".to_owned());
    settings.cluster.heartbeat_ms = 200;
    settings.cluster.down_after_ms = 1_000;
    settings
}

async fn serve(node: &str, nats_url: &str) -> (Arc<Host>, String) {
    let host = Arc::new(
        Host::start(settings(node, nats_url))
            .await
            .expect("the node starts"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(arsenal::http::serve(
        host.clone(),
        listener,
        std::future::pending(),
    ));
    (host, base)
}

async fn measure(
    client: &reqwest::Client,
    url: &str,
    node: Option<&str>,
    calls: usize,
) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let mut request = client.get(url).bearer_auth(ADMIN_TOKEN);
        if let Some(node) = node {
            request = request.header("x-arsenal-node", node);
        }
        let started = Instant::now();
        let response = request.send().await.expect("the node answers");
        assert_eq!(response.status(), 200);
        let _ = response.bytes().await;
        samples.push(started.elapsed());
    }
    samples
}

fn report(what: &str, samples: &mut [Duration]) {
    let p50 = percentile(samples, 0.50);
    let p99 = percentile(samples, 0.99);
    let max = percentile(samples, 1.0);
    println!(
        "{what:<28} {:>6} calls  p50 {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}",
        samples.len(),
        p50,
        p99,
        max
    );
}

fn main() {
    let calls = arsenal_tests::BenchArgs::read().size(0, 1_000, 50);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let nats = nats::NatsServer::start();
        let (_a, base) = serve("a", &nats.url()).await;
        let (_b, _) = serve("b", &nats.url()).await;
        let client = reqwest::Client::new();
        let url = format!("{base}/api/v1/echo/x?q=1");
        // Until a sees b up and b answers forwarded calls.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let response = client
                .get(&url)
                .bearer_auth(ADMIN_TOKEN)
                .header("x-arsenal-node", "b")
                .send()
                .await
                .unwrap();
            if response.status() == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "b never answered a forwarded call"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = measure(&client, &url, Some("b"), calls / 10 + 1).await;
        let mut local = measure(&client, &url, None, calls).await;
        let mut remote = measure(&client, &url, Some("b"), calls).await;
        report("echo on a (local)", &mut local);
        report("echo on b via a (remote)", &mut remote);
    });
}
