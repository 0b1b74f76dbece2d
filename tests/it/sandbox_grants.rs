//! Grants per sandbox (`[sandboxes.<name>]`): a worker process in a sandbox reaches its own
//! grant and its sandbox's — destinations, shared buckets, configuration values and
//! secrets — while the same worker elsewhere does not; its own value of a key wins over
//! its sandbox's; the admin API's worker listing shows what each reaches, where, and never
//! a secret's value.

use std::collections::BTreeMap;
use std::time::Duration;

use arsenal::Host;
use arsenal::config::ComponentGrants;
use arsenal_testing::{TestHost, TestHostBuilder, Upstream};
use arsenal_wasi::config::ConfigSource;
use serde_json::{Value, json};

use crate::health_prober::upstream;
use crate::keyvalue::supervised;
use crate::{builder, guests, settings, within};

const WAIT: Duration = Duration::from_secs(10);
const SECRET: &str = "sandbox-token-7d2f41b0";

/// The prober's own grant (its targets, the healthy endpoint, and its interval), and two
/// sandbox grants: `edge` (the upstream, the `probes` bucket, the secret token, and other
/// targets that lose to the prober's own), `shelf` (the bucket alone).
fn granting(upstream: &Upstream) -> TestHostBuilder {
    builder()
        .settings(|settings| settings.limits.idle_hibernate_ms = 0)
        .worker("health_prober", guests::HEALTH_PROBER)
        .grant("health_prober", |grant| {
            grant
                .config("targets", upstream.url("/healthy"))
                // Long enough that only the test's own calls probe.
                .config("interval_ms", "3600000")
        })
        .grant_sandbox("edge", |grant| {
            grant
                .upstream(upstream)
                .bucket("probes")
                .config("targets", upstream.url("/broken"))
                // Read from its file less the newline.
                .secret("token", format!("{SECRET}\n"))
        })
        .grant_sandbox("shelf", |grant| grant.bucket("probes"))
}

/// Start sandbox `id` running the prober as `name`.
async fn sandbox(host: &TestHost, id: &str, name: &str) {
    let reply = host
        .post(
            "/api/v1/sandboxes",
            json!({
                "id": id,
                "supervisor": { "children": [
                    { "id": "prober", "worker": "health_prober", "name": name }
                ] },
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

/// Ask the process `target` to probe now: the round it answers, or why it failed.
async fn probe(host: &TestHost, target: &str) -> Result<Value, String> {
    let table = host.host().processes();
    within("a probe", table.call(target, None, "probe", WAIT))
        .await
        .map(|text| serde_json::from_str(&text).unwrap())
        .map_err(|error| error.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_reaches_what_its_sandbox_is_granted_and_nothing_of_it_elsewhere() {
    let upstream = upstream().await;
    let port = upstream.port();
    let host = granting(&upstream).start().await.unwrap();
    let code = host.worker_code("health_prober").unwrap();
    sandbox(&host, "edge", "edge-prober").await;
    sandbox(&host, "shelf", "shelf-prober").await;
    sandbox(&host, "bare", "bare-prober").await;
    let healthy = format!("http://127.0.0.1:{port}/healthy");

    // In `edge`: the upstream, the bucket and the secret, all the sandbox's; the targets
    // are the prober's own, not the sandbox's.
    let round = probe(&host, "edge-prober").await.unwrap();
    assert_eq!(
        round,
        json!({ "round": 1, "results": { healthy.clone(): { "status": 200, "healthy": true } } })
    );
    let credentials: Vec<_> = upstream
        .requests()
        .iter()
        .map(|request| request.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(credentials, [Some(format!("Bearer {SECRET}"))]);

    // In `shelf`: the bucket, but no destination.
    let round = probe(&host, "shelf-prober").await.unwrap();
    let result = &round["results"][&healthy];
    assert_eq!(result["healthy"], false, "{round}");
    assert!(
        result["error"]
            .as_str()
            .is_some_and(|error| error.contains("HttpRequestDenied")),
        "{round}"
    );
    assert_eq!(upstream.requests().len(), 1, "nothing reached the upstream");

    // The listing says what the prober reaches outside a sandbox and in each it runs in,
    // the secret only as set.
    let listed = host.get("/api/v1/admin/workers").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(!listed.body.to_string().contains(SECRET), "{}", listed.body);
    let prober = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|worker| worker["name"] == "health_prober")
        .unwrap_or_else(|| panic!("{}", listed.body));
    let own = json!({
        "interval_ms": { "value": "3600000" },
        "targets": { "value": healthy },
    });
    assert_eq!(
        prober["granted"],
        json!({ "outbound_hosts": [], "buckets": [], "config": own }),
        "{prober}"
    );
    for capability in ["config", "key_value", "outbound_http"] {
        assert!(
            prober["capabilities"]
                .as_array()
                .unwrap()
                .contains(&json!(capability)),
            "{prober}"
        );
    }
    let places: BTreeMap<String, Value> = prober["sandboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|place| {
            assert_eq!(place["processes"].as_array().unwrap().len(), 1, "{place}");
            (
                place["sandbox"].as_str().unwrap().to_owned(),
                place["granted"].clone(),
            )
        })
        .collect();
    let mut with_token = own.clone();
    with_token["token"] = json!("set");
    assert_eq!(
        places,
        BTreeMap::from([
            (
                "bare".to_owned(),
                json!({ "outbound_hosts": [], "buckets": [], "config": own })
            ),
            (
                "edge".to_owned(),
                json!({
                    "outbound_hosts": [format!("http://127.0.0.1:{port}")],
                    "buckets": ["probes"],
                    "config": with_token,
                })
            ),
            (
                "shelf".to_owned(),
                json!({ "outbound_hosts": [], "buckets": ["probes"], "config": own })
            ),
        ])
    );

    // In a sandbox granted nothing, and outside any, the shared bucket is refused.
    let refused = probe(&host, "bare-prober").await.unwrap_err();
    assert!(
        refused.contains("bucket `probes`") && refused.contains("AccessDenied"),
        "{refused}"
    );
    let outside = supervised(&host, code, "").await;
    let children = outside.which_children().await.unwrap();
    let pid = children[0].pid.clone().expect("the worker runs");
    let refused = probe(&host, &pid).await.unwrap_err();
    assert!(
        refused.contains("bucket `probes`") && refused.contains("AccessDenied"),
        "{refused}"
    );
    assert_eq!(upstream.requests().len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_sandbox_grant_that_cannot_be_used_stops_the_start() {
    let refusal = |change: fn(&mut ComponentGrants), name: &str| {
        let mut settings = settings();
        let mut grants = ComponentGrants::default();
        change(&mut grants);
        settings.sandboxes = BTreeMap::from([(name.to_owned(), grants)]);
        Host::empty(settings)
            .err()
            .expect("the host refuses to start")
            .to_string()
    };
    assert_eq!(
        refusal(
            |grants| grants.buckets = vec!["no/slash".to_owned()],
            "edge"
        ),
        "invalid grants: sandboxes.edge.buckets: `no/slash` is not a bucket name (1 to 64 letters, digits, `-`, `_` or `.`)"
    );
    assert_eq!(
        refusal(
            |grants| {
                grants.config =
                    BTreeMap::from([("a key".to_owned(), ConfigSource::Text("x".into()))]);
            },
            "edge"
        ),
        "invalid grants: sandboxes.edge: the key `a key` is not 1 to 256 letters, digits, `-`, `_` or `.`"
    );
    assert_eq!(
        refusal(|_| {}, "no sandbox"),
        "invalid grants: sandboxes.no sandbox: not a sandbox name (1 to 64 letters, digits, `_`, `-` or `.`)"
    );
}
