//! What the standard capabilities cost, each against the same work done without Arsenal,
//! in one run:
//! - **Outbound HTTP**: the cost of one more GET from a guest (`outbound_call`, a fresh
//!   instance per call through the router: a call making 16 requests less a call making
//!   one, over 15), against a native client (reqwest) GETting the same loopback server on
//!   a fresh connection each time (as the host's sender does) and on a kept-alive one.
//! - **Key-value get/put**: through a guest (`kv_store`, the whole call), through the
//!   host's store (`KeyValueStore`, what a host call does), and raw redb; clustered, the
//!   host's store on JetStream against raw async-nats key-value on a nats-server started
//!   here.
//!
//! The cases of each group run interleaved (one of each per round), so that each sees the
//! same machine. Prints p50 / p99 per case; the figures are recorded in BENCHMARKS.md.
//! `cargo bench -p arsenal-tests --bench standard_capabilities [-- ROUNDS]` (default
//! 2,000; `-- --test` runs 20, for CI).

#[path = "../cluster/nats.rs"]
mod nats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arsenal::config::{ComponentGrants, Settings};
use arsenal_testing::TestHost;
use arsenal_tests::{guests, percentile};
use arsenal_wasi::Granted;
use arsenal_wasi::keyvalue::{
    BucketId, ClusterStore, KeyValue, KeyValueSettings, KeyValueStore, LocalStore, Quotas,
    key_value_stream,
};
use axum::body::Body;
use http::Request;
use redb::{ReadableDatabase, TableDefinition};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A value of the size a counter or a small record has.
const VALUE: &[u8] = b"{\"status\":200,\"healthy\":true}";
/// The local admin token: the guests' calls change state, so they need it.
const ADMIN_TOKEN: &str = "bench-admin-token";
const RAW: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("raw");

fn main() {
    let rounds = arsenal_tests::BenchArgs::read().size(0, 2_000, 20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        println!("{:<58} {:>10} {:>10}", "case", "p50 µs", "p99 µs");
        outbound(rounds).await;
        keyvalue_local(rounds).await;
        keyvalue_clustered(rounds).await;
    });
}

/// How long `step` takes.
async fn timed(step: impl std::future::Future<Output = ()>) -> Duration {
    let started = Instant::now();
    step.await;
    started.elapsed()
}

/// The samples of a group's cases, one per round after the warm-up rounds.
struct Samples {
    warm_up: usize,
    round: usize,
    cases: Vec<(&'static str, Vec<Duration>)>,
}

impl Samples {
    fn new(rounds: usize, labels: &[&'static str]) -> Samples {
        Samples {
            warm_up: rounds / 10 + 1,
            round: 0,
            cases: labels
                .iter()
                .map(|label| (*label, Vec::with_capacity(rounds)))
                .collect(),
        }
    }

    /// Keep one round's times, in the order of the labels.
    fn keep(&mut self, taken: &[Duration]) {
        if self.round >= self.warm_up {
            for ((_, samples), took) in self.cases.iter_mut().zip(taken) {
                samples.push(*took);
            }
        }
        self.round += 1;
    }

    fn rounds(&self, measured: usize) -> std::ops::Range<usize> {
        0..self.warm_up + measured
    }

    fn print(&mut self) {
        for (label, samples) in &mut self.cases {
            print(label, samples);
        }
    }

    fn p50(&mut self, case: usize) -> Duration {
        percentile(&mut self.cases[case].1, 0.5)
    }
}

fn print(label: &str, samples: &mut [Duration]) {
    let (p50, p99) = (percentile(samples, 0.5), percentile(samples, 0.99));
    println!(
        "{label:<58} {:>10.1} {:>10.1}",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

fn settings(state: &std::path::Path) -> Settings {
    let mut settings =
        Settings::default().with_cache_dir(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
    settings.server.host_services = false;
    settings.server.state_dir = Some(state.to_owned());
    settings.rate_limits = arsenal::config::RateLimitSettings::off();
    settings.auth.admin_token = Some(ADMIN_TOKEN.to_owned());
    settings
}

/// A host serving the built-ins and the component at `path`.
async fn serving(settings: Settings, path: &str) -> TestHost {
    TestHost::with_settings(settings, &[std::path::Path::new(path)])
        .await
        .unwrap()
}

/// One call through the router; panics unless it answers `status`.
async fn call(router: &axum::Router, path: &str, body: &Value, status: u16) {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let got = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(got, status, "{}", String::from_utf8_lossy(&bytes));
}

async fn outbound(rounds: usize) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route("/ok", axum::routing::get(|| async { "hello" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://127.0.0.1:{port}/ok");
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let kept = reqwest::Client::new();

    let state = tempfile::tempdir().unwrap();
    let mut settings = settings(state.path());
    let directory = &mut settings.capabilities.directory;
    directory.push("outbound_http".to_owned());
    settings.components.insert(
        "outbound_call".to_owned(),
        ComponentGrants {
            outbound_hosts: vec![format!("http://127.0.0.1:{port}").parse().unwrap()],
            ..ComponentGrants::default()
        },
    );
    let host = serving(settings, guests::OUTBOUND_CALL).await;
    let router = host.router();
    let one = json!({ "url": url, "count": 1 });
    let sixteen = json!({ "url": url, "count": 16 });

    let mut samples = Samples::new(
        rounds,
        &[
            "outbound GET: native, fresh connection",
            "outbound GET: native, kept-alive connection",
            "outbound: a guest call making 1 GET (whole call)",
            "outbound: a guest call making 16 GETs (whole call)",
        ],
    );
    for _ in samples.rounds(rounds) {
        let taken = [
            timed(async {
                fresh.get(&url).send().await.unwrap().bytes().await.unwrap();
            })
            .await,
            timed(async {
                kept.get(&url).send().await.unwrap().bytes().await.unwrap();
            })
            .await,
            timed(call(router, "/api/v1/test/outbound", &one, 201)).await,
            timed(call(router, "/api/v1/test/outbound", &sixteen, 201)).await,
        ];
        samples.keep(&taken);
    }
    samples.print();
    let per_request = samples.p50(3).saturating_sub(samples.p50(2)) / 15;
    println!(
        "{:<58} {:>10.1} {:>10}",
        "outbound GET: Arsenal guest, per request beyond the first",
        per_request.as_secs_f64() * 1e6,
        "-"
    );
}

async fn keyvalue_local(rounds: usize) {
    // Raw redb: one write transaction per put, one read transaction per get.
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(redb::Database::create(dir.path().join("raw.redb")).unwrap());
    let raw_put = || {
        let db = db.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let txn = db.begin_write().unwrap();
                txn.open_table(RAW).unwrap().insert("key", VALUE).unwrap();
                txn.commit().unwrap();
            })
            .await
            .unwrap();
        }
    };
    let raw_get = || {
        let db = db.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let txn = db.begin_read().unwrap();
                let table = txn.open_table(RAW).unwrap();
                assert!(table.get("key").unwrap().is_some());
            })
            .await
            .unwrap();
        }
    };
    let quotas = Quotas::from(&KeyValueSettings::default());
    let store_dir = tempfile::tempdir().unwrap();
    let store = KeyValueStore::local(
        LocalStore::open(Some(store_dir.path()), 16 << 20).unwrap(),
        quotas,
    );
    let bucket = bench_bucket(&store);

    let state = tempfile::tempdir().unwrap();
    let mut settings = settings(state.path());
    settings.capabilities.directory.push("key_value".to_owned());
    let host = serving(settings, guests::KV_STORE).await;
    let router = host.router();
    let set = json!({ "op": "set", "bucket": "b", "key": "k", "value": "v" });
    let get = json!({ "op": "get", "bucket": "b", "key": "k" });

    let mut samples = Samples::new(
        rounds,
        &[
            "key-value put: raw redb",
            "key-value put: host store (local)",
            "key-value put: guest call (kv_store, whole call)",
            "key-value get: raw redb",
            "key-value get: host store (local)",
            "key-value get: guest call (kv_store, whole call)",
        ],
    );
    for _ in samples.rounds(rounds) {
        let taken = [
            timed(raw_put()).await,
            timed(async { store.set(&bucket, "key", VALUE.to_vec()).await.unwrap() }).await,
            timed(call(router, "/api/v1/test/kv", &set, 201)).await,
            timed(raw_get()).await,
            timed(async { assert!(store.get(&bucket, "key").await.unwrap().is_some()) }).await,
            timed(call(router, "/api/v1/test/kv", &get, 201)).await,
        ];
        samples.keep(&taken);
    }
    samples.print();
}

/// An operation's bucket in `store`, as its host calls name it.
fn bench_bucket(store: &KeyValueStore) -> BucketId {
    KeyValue::new(store.clone(), &Granted::default())
        .unwrap()
        .for_operation("bench", &[])
        .unwrap()
        .bucket("b")
        .unwrap()
}

async fn keyvalue_clustered(rounds: usize) {
    let nats = nats::NatsServer::start();
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    // The bucket's stream made as the host's store makes one.
    js.get_or_create_stream(key_value_stream("raw"))
        .await
        .unwrap();
    let raw = js.get_key_value("raw").await.unwrap();
    let quotas = Quotas::from(&KeyValueSettings::default());
    let store = KeyValueStore::local(LocalStore::open(None, 1 << 20).unwrap(), quotas);
    store.use_cluster(ClusterStore::new(js, Duration::from_secs(5), quotas));
    let bucket = bench_bucket(&store);

    let mut samples = Samples::new(
        rounds,
        &[
            "key-value put: raw NATS key-value",
            "key-value put: host store (JetStream)",
            "key-value get: raw NATS key-value",
            "key-value get: host store (JetStream)",
        ],
    );
    for _ in samples.rounds(rounds) {
        let taken = [
            timed(async {
                raw.put("key", VALUE.to_vec().into()).await.unwrap();
            })
            .await,
            timed(async { store.set(&bucket, "key", VALUE.to_vec()).await.unwrap() }).await,
            timed(async { assert!(raw.get("key").await.unwrap().is_some()) }).await,
            timed(async { assert!(store.get(&bucket, "key").await.unwrap().is_some()) }).await,
        ];
        samples.keep(&taken);
    }
    samples.print();
}
