//! The health prober example: a supervised worker that reaches the world through the
//! three standard capabilities — its targets and secret token from `wasi:config`, two
//! upstreams over `wasi:http`, its results in a shared `wasi:keyvalue` bucket — keeps its
//! data across its own crash, and the `probe_report` operation reads the same bucket. The
//! secret reaches the upstream and appears nowhere the host writes.

use arsenal::config::SecretSource;
use arsenal::runtime::ExitReason;
use arsenal_testing::{TestHostBuilder, Upstream};
use axum::Router;
use axum::routing::get;
use http::StatusCode;
use serde_json::{Value, json};

use crate::{LogCapture, builder, guests};

const SECRET: &str = "prober-token-5c1e9a77";

/// An upstream on 127.0.0.1 with a healthy and a broken endpoint.
pub(crate) async fn upstream() -> Upstream {
    let routes = Router::new()
        .route("/healthy", get(|| async { "ok" }))
        .route(
            "/broken",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        );
    Upstream::start(routes).await.unwrap()
}

/// The prober worker and the report operation, granted what an operator grants them: the
/// upstream, the shared bucket and their settings (the prober's secret is each test's).
fn granting(upstream: &Upstream) -> TestHostBuilder {
    let targets = format!("{}, {}", upstream.url("/healthy"), upstream.url("/broken"));
    builder()
        .settings(|settings| settings.limits.idle_hibernate_ms = 0)
        .worker("health_prober", guests::HEALTH_PROBER)
        .operation(guests::PROBE_REPORT)
        .grant("health_prober", |grant| {
            grant
                .upstream(upstream)
                .bucket("probes")
                .config("targets", targets)
                // Long enough that only the test's own calls probe.
                .config("interval_ms", "3600000")
        })
        .grant("probe_report", |grant| {
            grant.bucket("probes").config("title", "Edge health")
        })
}

#[tokio::test(flavor = "current_thread")]
async fn a_supervised_prober_reaches_out_keeps_its_results_and_survives_its_crash() {
    let upstream = upstream().await;
    // The host reads the secret from a file less its newline.
    let host = granting(&upstream)
        .grant("health_prober", |grant| {
            grant.secret("token", format!("{SECRET}\n"))
        })
        .start()
        .await
        .unwrap();
    let logs = LogCapture::default();
    let _logging = tracing::subscriber::set_default(logs.json_subscriber());

    let prober = host.supervise("health_prober", "", 5).await.unwrap();
    let healthy = upstream.url("/healthy");
    let broken = upstream.url("/broken");
    let results = json!({
        healthy.clone(): { "status": 200, "healthy": true },
        broken.clone(): { "status": 500, "healthy": false },
    });
    let round: Value = serde_json::from_str(&prober.call("probe").await.unwrap()).unwrap();
    assert_eq!(round, json!({ "round": 1, "results": results }));
    // The secret, read from its file less the newline, went to the upstream alone.
    let credentials: Vec<_> = upstream
        .requests()
        .iter()
        .map(|request| request.header("authorization").map(str::to_owned))
        .collect();
    let bearer = Some(format!("Bearer {SECRET}"));
    assert_eq!(credentials, [bearer.clone(), bearer]);

    // Crashed and restarted by its supervisor, it finds what it kept.
    let reason = prober.crash("crash").await.unwrap();
    assert!(matches!(reason, ExitReason::Crash(_)), "{reason:?}");
    assert_eq!(prober.restarts().await.unwrap(), 1);
    let report: Value = serde_json::from_str(&prober.call("report").await.unwrap()).unwrap();
    assert_eq!(report, json!({ "rounds": 1, "targets": results }));
    let round: Value = serde_json::from_str(&prober.call("probe").await.unwrap()).unwrap();
    assert_eq!(round["round"], 2);
    // The operation reads the same bucket under its own configured title.
    let reply = host.get("/api/v1/probes").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["data"],
        json!({ "title": "Edge health", "rounds": 2, "targets": results })
    );
    let described = host.get("/api/v1/operations/probe_report").await;
    assert_eq!(
        described.body["data"]["granted"],
        json!({
            "outbound_hosts": [],
            "buckets": ["probes"],
            "config": { "title": { "value": "Edge health" } },
        }),
        "{}",
        described.body
    );

    // Nowhere the host writes names the secret.
    for path in [
        "/api/v1/operations",
        "/api/v1/openapi.json",
        "/api/v1/audit",
        "/api/v1/workers",
    ] {
        let reply = host.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert!(!reply.body.to_string().contains(SECRET), "{path}");
    }
    let logged = logs.text();
    assert!(
        logged.contains("/api/v1/probes"),
        "the capture saw the calls: {logged}"
    );
    assert!(!logged.contains(SECRET), "{logged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_shows_as_set_or_not_set_and_the_import_needs_the_capability() {
    let upstream = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let host = granting(&upstream)
        .grant("probe_report", |grant| grant.secret("present", SECRET))
        .settings(|settings| {
            let mut secret = |component: &str, key: &str, source| {
                let grants = settings.components.entry(component.to_owned());
                grants.or_default().secrets.insert(key.to_owned(), source);
            };
            let env = "ARSENAL_TEST_SECRET_NOBODY_SETS".to_owned();
            secret("probe_report", "missing", SecretSource::Env { env });
            // The token file does not exist: the key is not set, and the prober runs
            // without it.
            let file = dir.path().join("absent");
            secret("health_prober", "token", SecretSource::File { file });
        })
        .start()
        .await
        .unwrap();
    let described = host.get("/api/v1/operations/probe_report").await;
    assert_eq!(
        described.body["data"]["granted"]["config"],
        json!({ "missing": "not_set", "present": "set", "title": { "value": "Edge health" } })
    );
    assert!(!described.body.to_string().contains(SECRET));

    let prober = host.supervise("health_prober", "", 5).await.unwrap();
    let round: Value = serde_json::from_str(&prober.call("probe").await.unwrap()).unwrap();
    assert_eq!(round["round"], 1);
    assert_eq!(upstream.requests()[0].header("authorization"), None);

    // Without `config` granted to uploads, the report cannot be uploaded.
    let refused = builder()
        .settings(|settings| settings.capabilities.upload.retain(|name| name != "config"))
        .start()
        .await
        .unwrap();
    let reply = crate::upload(&refused, guests::PROBE_REPORT).await;
    reply.assert_error(422, "unsupported_imports");
    assert!(
        reply.body.to_string().contains("wasi:config/store"),
        "{}",
        reply.body
    );
}
