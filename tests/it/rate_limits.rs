//! Rate limits under load, over a real loopback socket and with the default quotas: a load
//! test against a local-mode server is never refused, while a key is still held to its
//! per-key and per-operation limits; and local mode limits its callers when configured to.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use arsenal::Role;
use arsenal::config::{RateLimitSettings, RateQuota, Settings};
use arsenal_testing::ADMIN_TOKEN;
use axum::body::Body;
use futures::{StreamExt, stream};
use http::{HeaderMap, Method};
use serde_json::Value;

use crate::{settings, test_host_with};

const KEY: &str = "key-of-the-load-tester";

/// Requests in flight at once: within the test hosts' instance pool, so that no request
/// is shed for want of an instance.
const CONNECTIONS: usize = 4;

/// A load test: five times the default burst of a principal (200), ten times an
/// operation's (100), sent faster than their buckets refill (100 and 50 a second).
const LOAD: usize = 1_000;

/// Requests a key may send before it must have met its limit: the limits refill in real
/// time, so a key sends until refused, however fast the machine answers.
const UNTIL_REFUSED: usize = 50_000;

/// The bound on a whole load run.
const RUN_BOUND: Duration = Duration::from_secs(120);

/// One answer: its status, headers and body.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn get(client: &reqwest::Client, url: &str, token: Option<&str>) -> Answer {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("the body arrives");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// `count` GETs of `path`, [`CONNECTIONS`] at a time, answered by their first 429 if one
/// comes, else by how many of each status there were.
async fn load(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    count: usize,
) -> Result<BTreeMap<u16, usize>, Answer> {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}{path}");
    let run = async {
        let mut answers = stream::iter(0..count)
            .map(|_| get(&client, &url, token))
            .buffer_unordered(CONNECTIONS);
        let mut statuses = BTreeMap::new();
        while let Some(answer) = answers.next().await {
            if answer.status == 429 {
                return Err(answer);
            }
            *statuses.entry(answer.status).or_default() += 1;
        }
        Ok(statuses)
    };
    tokio::time::timeout(RUN_BOUND, run)
        .await
        .expect("the load run ends within its bound")
}

/// Test settings with the default rate limits (the tests' own turn them off).
fn default_limits(mut settings: Settings) -> Settings {
    settings.rate_limits = RateLimitSettings::default();
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_test_on_a_local_server_is_never_refused() {
    let host = test_host_with(default_limits(settings()), &[]).await;
    assert!(host.host().access().is_local());
    let (addr, _stop, _server) = crate::serve::start(&host).await;
    let statuses = load(addr, "/api/v1/echo/42", None, LOAD)
        .await
        .unwrap_or_else(|refused| panic!("an anonymous read was refused: {}", refused.body));
    assert_eq!(statuses, BTreeMap::from([(200, LOAD)]));
    // The admin token is local mode's other principal: it is not limited either.
    let statuses = load(addr, "/api/v1/operations", Some(ADMIN_TOKEN), LOAD)
        .await
        .unwrap_or_else(|refused| panic!("the admin token was refused: {}", refused.body));
    assert_eq!(statuses, BTreeMap::from([(200, LOAD)]));
}

/// The wait a 429 names, in its body and its `Retry-After` header (whole seconds, rounded
/// up), checked to agree.
fn named_wait(refused: &Answer) -> Duration {
    assert_eq!(refused.body["error"]["code"], "rate_limited");
    let exact = refused.body["error"]["details"]["retry_after_ms"]
        .as_u64()
        .map(Duration::from_millis)
        .unwrap_or_else(|| panic!("no retry_after_ms: {}", refused.body));
    let header: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let header = Duration::from_secs(header);
    assert!(
        exact > Duration::ZERO && header >= exact && header - exact < Duration::from_secs(1),
        "Retry-After {header:?} for a wait of {exact:?}"
    );
    exact
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_load_from_a_key_meets_its_limits() {
    let keyed = crate::keyed(&[("load-tester", KEY, Role::Viewer)]);
    let host = test_host_with(default_limits(keyed), &[]).await;
    let (addr, _stop, _server) = crate::serve::start(&host).await;

    // An operation's bucket (100 at once) runs dry before the key's (200).
    let refused = load(addr, "/api/v1/echo/42", Some(KEY), UNTIL_REFUSED)
        .await
        .expect_err("a key's calls of one operation are limited");
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["error"]["details"]["limit"], "operation");
    named_wait(&refused);

    // The catalogue is no operation call: only the key's own bucket counts it.
    let refused = load(addr, "/api/v1/operations", Some(KEY), UNTIL_REFUSED)
        .await
        .expect_err("a key's requests are limited");
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["error"]["details"]["limit"], "key");
    named_wait(&refused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_limits_its_callers_when_configured_to() {
    let mut settings = settings();
    settings.rate_limits = RateLimitSettings {
        per_key: RateQuota {
            burst: 2,
            replenish_ms: 60_000,
        },
        in_local_mode: true,
        ..RateLimitSettings::default()
    };
    let host = test_host_with(settings, &[]).await;
    for _ in 0..2 {
        let reply = host
            .send_as(None, Method::GET, "/api/v1/operations", Body::empty(), &[])
            .await;
        assert_eq!(reply.status, 200);
    }
    let refused = host
        .send_as(None, Method::GET, "/api/v1/operations", Body::empty(), &[])
        .await;
    refused.assert_error(429, "rate_limited");
    assert_eq!(refused.body["error"]["details"]["limit"], "key");
    assert!(!refused.header("retry-after").is_empty());
}
