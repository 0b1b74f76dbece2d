//! The web console's server side: the page and its assets (open, typed, revalidated,
//! confined by a content security policy), `GET /api/v1/whoami`, and the event stream —
//! authenticated like any read, sending what the caller may read (and the API's own error
//! where it may not), pushing changes, bounded in number, and ended by server shutdown.
//! The console itself is driven in a real browser by the `console` test binary.

use std::time::{Duration, Instant};

use arsenal::Role;
use arsenal::config::Settings;
use arsenal_testing::{ADMIN_TOKEN, TestHost};
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{encode, host_with_counters_in, settings, test_host, test_host_with};

const VIEWER: &str = "key-of-the-console-viewer";
const ADMIN: &str = "key-of-the-console-admin";

/// Settings with a viewer and an admin key (and so no local mode).
fn keyed() -> Settings {
    crate::keyed(&[
        ("viewer", VIEWER, Role::Viewer),
        ("admin", ADMIN, Role::Admin),
    ])
}

async fn get_raw(
    host: &TestHost,
    token: Option<&str>,
    uri: &str,
    headers: &[(&str, &str)],
) -> http::Response<Body> {
    let mut request = Request::builder().method(Method::GET).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    host.router()
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn header_of(response: &http::Response<Body>, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_assets_are_served_to_anyone_with_their_types() {
    // Keys mode: every API request needs a key, the console's files do not.
    let host = test_host_with(keyed(), &[]).await;
    let page = get_raw(&host, None, "/", &[]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        header_of(&page, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(header_of(&page, header::CACHE_CONTROL), "no-cache");
    assert_eq!(header_of(&page, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let policy = header_of(&page, header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    let body = page.into_body().collect().await.unwrap().to_bytes();
    let html = String::from_utf8(body.to_vec()).unwrap();
    assert!(html.contains("<script type=\"module\" src=\"/console/app.js\">"));

    for (file, content_type) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("explorer.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
    ] {
        let asset = get_raw(&host, None, &format!("/console/{file}"), &[]).await;
        assert_eq!(asset.status(), StatusCode::OK, "{file}");
        assert_eq!(header_of(&asset, header::CONTENT_TYPE), content_type);
        // Revalidation: the same bytes answer 304 with no body.
        let etag = header_of(&asset, header::ETAG).to_owned();
        let again = get_raw(
            &host,
            None,
            &format!("/console/{file}"),
            &[("if-none-match", &etag)],
        )
        .await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{file}");
        assert!(
            again
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .is_empty()
        );
    }

    let missing = get_raw(&host, None, "/console/nothing.js", &[]).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value =
        serde_json::from_slice(&missing.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["code"], "not_found");

    // The data behind the page is not open.
    let operations = get_raw(&host, None, "/api/v1/operations", &[]).await;
    assert_eq!(operations.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_names_the_caller_and_its_role() {
    let keyed_host = test_host_with(keyed(), &[]).await;
    let viewer = keyed_host
        .send_as(
            Some(VIEWER),
            Method::GET,
            "/api/v1/whoami",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(viewer.status, StatusCode::OK, "{}", viewer.body);
    assert_eq!(
        viewer.body["data"],
        json!({ "principal": "viewer", "role": "viewer", "authenticated": true, "mode": "keys" })
    );
    let admin = keyed_host
        .send_as(
            Some(ADMIN),
            Method::GET,
            "/api/v1/whoami",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(admin.body["data"]["role"], "admin");
    let nobody = keyed_host
        .send_as(None, Method::GET, "/api/v1/whoami", Body::empty(), &[])
        .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    assert_eq!(nobody.code(), "unauthenticated");
    let wrong = keyed_host
        .send_as(
            Some("not-a-key"),
            Method::GET,
            "/api/v1/whoami",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    // Local mode: the admin token is the admin; without it, an anonymous reader.
    let local = test_host(&[]).await;
    let token = local.get("/api/v1/whoami").await;
    assert_eq!(token.body["data"]["role"], "admin", "{}", token.body);
    assert_eq!(token.body["data"]["mode"], "local");
    let anonymous = local
        .send_as(None, Method::GET, "/api/v1/whoami", Body::empty(), &[])
        .await;
    assert_eq!(
        anonymous.body["data"],
        json!({ "principal": "anonymous", "role": "viewer", "authenticated": false, "mode": "local" })
    );
}

/// Events of an open stream, read as they come.
struct EventReader {
    body: Body,
    buffer: String,
}

impl EventReader {
    fn new(response: http::Response<Body>) -> EventReader {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "text/event-stream"
        );
        EventReader {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// The next event as (name, data), waiting at most until `deadline`.
    async fn next(&mut self, deadline: Instant) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return (
                    name,
                    serde_json::from_str(&data).expect("event data is JSON"),
                );
            }
            let frame = tokio::time::timeout_at(deadline.into(), self.body.frame())
                .await
                .expect("an event before the deadline")
                .expect("the stream is open")
                .expect("a frame");
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(std::str::from_utf8(&data).unwrap());
            }
        }
    }

    /// The next `section` event whose data passes `check`.
    async fn until(&mut self, section: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (name, data) = self.next(deadline).await;
            if name == section && check(&data) {
                return data;
            }
        }
    }
}

fn pids(processes: &Value) -> Vec<String> {
    processes["data"]["processes"]
        .as_array()
        .expect("a process list")
        .iter()
        .map(|process| process["pid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_sends_what_the_caller_may_read() {
    let host = test_host_with(keyed(), &[]).await;
    let refused = get_raw(&host, None, "/api/v1/events", &[]).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // A viewer reads processes, trees and the catalogue; sandboxes need an admin, and the
    // stream says so with the API's own error.
    let mut viewer = EventReader::new(get_raw(&host, Some(VIEWER), "/api/v1/events", &[]).await);
    let catalog = viewer.until("catalog", |_| true).await;
    assert!(
        catalog["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|op| op["name"] == "list_processes")
    );
    let processes = viewer.until("processes", |_| true).await;
    assert_eq!(processes["data"]["total"], 0, "{processes}");
    let tree = viewer.until("tree", |_| true).await;
    assert!(tree["data"]["trees"].is_array(), "{tree}");
    let sandboxes = viewer.until("sandboxes", |_| true).await;
    assert_eq!(sandboxes["error"]["code"], "forbidden", "{sandboxes}");
    let stats = viewer.until("stats", |_| true).await;
    assert!(stats["data"].as_array().unwrap().len() > 10, "{stats}");

    let mut admin = EventReader::new(get_raw(&host, Some(ADMIN), "/api/v1/events", &[]).await);
    let sandboxes = admin.until("sandboxes", |_| true).await;
    assert_eq!(sandboxes["data"]["total"], 0, "{sandboxes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_pushes_changes() {
    let host = host_with_counters_in(settings(), &["one"]).await;
    let mut events =
        EventReader::new(get_raw(&host, Some(ADMIN_TOKEN), "/api/v1/events", &[]).await);
    let first = events.until("processes", |_| true).await;
    assert_eq!(pids(&first).len(), 1, "{first}");
    let pid = pids(&first).remove(0);

    // A call shows in the stats; a killed process leaves the list.
    let killed = host
        .delete(&format!("/api/v1/processes/{}", encode(&pid)))
        .await;
    assert_eq!(killed.status, StatusCode::OK, "{}", killed.body);
    let after = events
        .until("processes", |data| pids(data).is_empty())
        .await;
    assert_eq!(after["data"]["total"], 0);
    let stats = events
        .until("stats", |data| {
            data["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|op| op["name"] == "kill_process" && op["totals"]["calls"] == 1)
        })
        .await;
    assert!(stats["data"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_bounded() {
    let host = test_host(&[]).await;
    let mut open = Vec::new();
    for _ in 0..arsenal::http::MAX_EVENT_STREAMS {
        let response = get_raw(&host, Some(ADMIN_TOKEN), "/api/v1/events", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        open.push(response);
    }
    let refused = get_raw(&host, Some(ADMIN_TOKEN), "/api/v1/events", &[]).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    let body: Value =
        serde_json::from_slice(&refused.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams");
    assert_eq!(
        body["error"]["details"]["limit_streams"],
        arsenal::http::MAX_EVENT_STREAMS
    );

    // A closed stream gives its place back.
    open.pop();
    let again = get_raw(&host, Some(ADMIN_TOKEN), "/api/v1/events", &[]).await;
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_event_streams() {
    // A long grace: a drain that waited for the stream would take all of it.
    let mut settings = settings();
    settings.server.shutdown_grace_ms = 60_000;
    let host = test_host_with(settings, &[]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(arsenal::http::serve(
        host.host().clone(),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::new();
    let mut stream = client
        .get(format!("http://{addr}/api/v1/events"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let first = tokio::time::timeout(Duration::from_secs(20), stream.chunk())
        .await
        .expect("a first event")
        .unwrap();
    assert!(first.is_some());

    let started = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server stops without waiting out the grace")
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "shutdown took {:?}",
        started.elapsed()
    );
    // The client sees its stream end (rather than hang).
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the stream ended");
}

/// `value` with every local `$ref` replaced by what it points to in `document`.
fn inline_refs(value: &Value, document: &Value) -> Value {
    match value {
        Value::Object(object) => match object.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let target = document
                    .pointer(reference.trim_start_matches('#'))
                    .unwrap_or_else(|| panic!("{reference} does not resolve"));
                inline_refs(target, document)
            }
            None => Value::Object(
                object
                    .iter()
                    .map(|(key, value)| (key.clone(), inline_refs(value, document)))
                    .collect(),
            ),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| inline_refs(item, document))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_has_the_schema_the_document_gives_its_kind() {
    let host = test_host_with(keyed(), &[]).await;
    let document = serde_json::from_slice::<Value>(
        &get_raw(&host, Some(ADMIN), "/api/v1/openapi.json", &[])
            .await
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes(),
    )
    .unwrap();
    let stream = &document["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
        ["schema"];
    // One schema per kind of event, its `data` JSON of a documented shape.
    let kinds: Vec<(String, jsonschema::Validator)> = stream["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("one schema per kind: {stream}"))
        .iter()
        .map(|kind| {
            let name = kind["properties"]["event"]["const"].as_str().unwrap();
            let data = &kind["properties"]["data"];
            assert_eq!(data["contentMediaType"], "application/json", "{kind}");
            let schema = inline_refs(&data["contentSchema"], &document);
            let validator = jsonschema::validator_for(&schema)
                .unwrap_or_else(|error| panic!("{name}: {error}: {schema}"));
            (name.to_owned(), validator)
        })
        .collect();
    let names: Vec<&str> = kinds.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["catalog", "processes", "tree", "sandboxes", "stats"]
    );

    // A viewer's stream (its sandboxes an error) and an admin's: every event sent when the
    // stream opens has its kind's schema.
    for token in [VIEWER, ADMIN] {
        let mut events = EventReader::new(get_raw(&host, Some(token), "/api/v1/events", &[]).await);
        let deadline = Instant::now() + Duration::from_secs(20);
        for _ in 0..kinds.len() {
            let (name, data) = events.next(deadline).await;
            let (_, validator) = kinds
                .iter()
                .find(|(kind, _)| *kind == name)
                .unwrap_or_else(|| panic!("an event of no documented kind: {name}"));
            let problems: Vec<String> = validator
                .iter_errors(&data)
                .map(|error| error.to_string())
                .collect();
            assert!(problems.is_empty(), "{name} {data}: {problems:?}");
        }
    }
}
