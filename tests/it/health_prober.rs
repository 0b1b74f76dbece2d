//! The health prober example: a supervised worker that reaches the world through the
//! three standard capabilities — its targets and secret token from `wasi:config`, two
//! upstreams over `wasi:http`, its results in a shared `wasi:keyvalue` bucket — keeps its
//! data across its own crash, and the `probe_report` operation reads the same bucket. The
//! secret reaches the upstream and appears nowhere the host writes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arsenal::config::{ComponentGrants, Settings};
use arsenal_wasi::config::{ConfigSource, SecretSource};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::keyvalue::{call, load_worker, supervised};
use crate::{LogCapture, crash, guests, settings, test_host_with};

const SECRET: &str = "prober-token-5c1e9a77";

/// An upstream on 127.0.0.1 with a healthy and a broken endpoint, keeping the
/// `authorization` header of every request.
pub(crate) async fn upstream() -> (u16, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/healthy", get(|| async { "ok" }))
        .route(
            "/broken",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .layer(axum::middleware::from_fn_with_state(seen.clone(), keep))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, seen)
}

async fn keep(
    State(seen): State<Arc<Mutex<Vec<String>>>>,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let authorization = headers
        .get("authorization")
        .map_or("", |value| value.to_str().unwrap_or(""));
    seen.lock().unwrap().push(authorization.to_owned());
    next.run(request).await
}

/// What the operator grants the prober and the report: the upstream, the shared bucket,
/// their settings and the prober's secret (in `token_file`).
fn granting(port: u16, token_file: &std::path::Path) -> Settings {
    let mut settings = settings();
    settings.limits.idle_hibernate_ms = 0;
    let directory = &mut settings.capabilities.directory;
    directory.extend(["key_value".to_owned(), "outbound_http".to_owned()]);
    let text = |value: String| ConfigSource::Text(value);
    settings.components = BTreeMap::from([
        (
            "health_prober".to_owned(),
            ComponentGrants {
                outbound_hosts: vec![format!("http://127.0.0.1:{port}").parse().unwrap()],
                buckets: vec!["probes".to_owned()],
                config: BTreeMap::from([
                    (
                        "targets".to_owned(),
                        text(format!(
                            "http://127.0.0.1:{port}/healthy, http://127.0.0.1:{port}/broken"
                        )),
                    ),
                    // Long enough that only the test's own calls probe.
                    ("interval_ms".to_owned(), text("3600000".to_owned())),
                ]),
                secrets: BTreeMap::from([(
                    "token".to_owned(),
                    SecretSource::File {
                        file: token_file.to_owned(),
                    },
                )]),
            },
        ),
        (
            "probe_report".to_owned(),
            ComponentGrants {
                buckets: vec!["probes".to_owned()],
                config: BTreeMap::from([("title".to_owned(), text("Edge health".to_owned()))]),
                ..ComponentGrants::default()
            },
        ),
    ]);
    settings
}

#[tokio::test(flavor = "current_thread")]
async fn a_supervised_prober_reaches_out_keeps_its_results_and_survives_its_crash() {
    let (port, seen) = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{SECRET}\n")).unwrap();
    let host = test_host_with(granting(port, &token_file), &[guests::PROBE_REPORT]).await;
    let logs = LogCapture::default();
    let _logging = tracing::subscriber::set_default(logs.json_subscriber());

    let code = load_worker(&host, "health_prober", guests::HEALTH_PROBER).await;
    let supervisor = supervised(&host, code, "").await;
    let healthy = format!("http://127.0.0.1:{port}/healthy");
    let broken = format!("http://127.0.0.1:{port}/broken");
    let results = json!({
        healthy.clone(): { "status": 200, "healthy": true },
        broken.clone(): { "status": 500, "healthy": false },
    });
    let round: Value = serde_json::from_str(&call(&host, &supervisor, "probe").await).unwrap();
    assert_eq!(round, json!({ "round": 1, "results": results }));
    // The secret, read from its file less the newline, went to the upstream alone.
    assert_eq!(
        *seen.lock().unwrap(),
        [format!("Bearer {SECRET}"), format!("Bearer {SECRET}")]
    );

    // Crashed and restarted by its supervisor, it finds what it kept.
    let after = crash(host.host().processes(), &supervisor, "worker").await;
    assert_eq!(after[0].restarts, 1);
    let report: Value = serde_json::from_str(&call(&host, &supervisor, "report").await).unwrap();
    assert_eq!(report, json!({ "rounds": 1, "targets": results }));
    let round: Value = serde_json::from_str(&call(&host, &supervisor, "probe").await).unwrap();
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
    let (port, _) = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    // The token file does not exist: the key is not set, and the prober runs without it.
    let mut settings = granting(port, &dir.path().join("absent"));
    let grants = settings.components.get_mut("probe_report").unwrap();
    grants.secrets = BTreeMap::from([
        (
            "present".to_owned(),
            SecretSource::File {
                file: {
                    let file = dir.path().join("present");
                    std::fs::write(&file, SECRET).unwrap();
                    file
                },
            },
        ),
        (
            "missing".to_owned(),
            SecretSource::Env {
                env: "ARSENAL_TEST_SECRET_NOBODY_SETS".to_owned(),
            },
        ),
    ]);
    let host = test_host_with(settings, &[guests::PROBE_REPORT]).await;
    let described = host.get("/api/v1/operations/probe_report").await;
    assert_eq!(
        described.body["data"]["granted"]["config"],
        json!({ "missing": "not_set", "present": "set", "title": { "value": "Edge health" } })
    );
    assert!(!described.body.to_string().contains(SECRET));

    let code = load_worker(&host, "health_prober", guests::HEALTH_PROBER).await;
    let supervisor = supervised(&host, code, "").await;
    let round: Value = serde_json::from_str(&call(&host, &supervisor, "probe").await).unwrap();
    assert_eq!(round["round"], 1);

    // Without `config` granted to uploads, the report cannot be uploaded.
    let mut settings = granting(port, &dir.path().join("absent"));
    settings.capabilities.upload.retain(|name| name != "config");
    let refused = test_host_with(settings, &[]).await;
    let reply = crate::upload(&refused, guests::PROBE_REPORT).await;
    reply.assert_error(422, "unsupported_imports");
    assert!(
        reply.body.to_string().contains("wasi:config/store"),
        "{}",
        reply.body
    );
}
