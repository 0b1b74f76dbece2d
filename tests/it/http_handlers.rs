//! `wasi:http` handler components served as operations: a component exporting
//! `wasi:http/incoming-handler@0.2.x` (the `http_echo` guest, written with the `wasip2`
//! crate alone) at the route the operator declares — in the configuration or in the admin
//! upload's query — or the one it describes itself (`http_described`). Arsenal's own
//! authentication, roles, parameter validation, limits, catalogue and OpenAPI apply; the
//! handler is handed the request (never the caller's credential) and its own status,
//! headers and body are the answer.

use arsenal::Role;
use arsenal::config::HttpHandlerFile;
use arsenal::spec::{DeclaredParam, DeclaredRoute, Location, ParamType};
use arsenal_testing::{Reply, TestHost};
use axum::body::Body;
use bytes::Bytes;
use http::Method;
use serde_json::Value;

use crate::{guests, keyed, settings, test_host, test_host_with};

/// The operator's route for `http_echo`: `POST /api/v1/test/echo/:item`, with a query
/// parameter `limit` (an integer up to 10).
fn echo_route(path: &str) -> DeclaredRoute {
    DeclaredRoute {
        name: "http_echo".to_owned(),
        method: "POST".to_owned(),
        path: path.to_owned(),
        version: Some("2.0.0".to_owned()),
        category: None,
        summary: "Echoes over wasi:http".to_owned(),
        description: String::new(),
        params: vec![DeclaredParam {
            name: "limit".to_owned(),
            location: Location::Query,
            ty: ParamType::Integer,
            items: None,
            required: false,
            default: None,
            description: "At most 10.".to_owned(),
            minimum: Some(0.0),
            maximum: Some(10.0),
            min_length: None,
            max_length: None,
            pattern: None,
            one_of: Vec::new(),
            sensitive: false,
        }],
        additional_params: None,
    }
}

/// The test settings with `http_echo` declared in `[[operations.http_handlers]]`.
fn with_echo(mut settings: arsenal::config::Settings) -> arsenal::config::Settings {
    settings.operations.http_handlers.push(HttpHandlerFile {
        file: guests::HTTP_ECHO.into(),
        route: echo_route("/api/v1/test/echo/:item"),
    });
    settings
}

async fn echo_host() -> TestHost {
    let host = test_host_with(with_echo(settings()), &[]).await;
    assert!(
        host.host().problems().is_empty(),
        "{:?}",
        host.host().problems()
    );
    host
}

async fn post(host: &TestHost, uri: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    host.send(Method::POST, uri, Body::from(body.to_owned()), headers)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_answers_at_the_declared_route_with_its_own_response() {
    let host = echo_host().await;
    let reply = post(
        &host,
        "/api/v1/test/echo/abc?limit=3&extra=yes",
        "the body",
        &[("x-echo", "hi"), ("content-type", "text/plain")],
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("x-handled-by"), "http-echo");
    assert_eq!(reply.header("x-echo"), "hi");
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.header("x-operation-version"), "2.0.0");
    assert_eq!(reply.body["method"], "POST");
    assert_eq!(reply.body["path"], "/api/v1/test/echo/abc");
    assert_eq!(reply.body["query"], "limit=3&extra=yes");
    assert_eq!(reply.body["echo"], "hi");
    assert_eq!(reply.body["body"], "the body");
    // The admin's bearer credential was sent, and stays with the host.
    assert_eq!(reply.body["authorization"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_parameters_are_validated_before_the_handler_runs() {
    let host = echo_host().await;
    post(&host, "/api/v1/test/echo/abc?limit=11", "", &[])
        .await
        .assert_error(422, "validation_error");
    post(&host, "/api/v1/test/echo/abc?limit=many", "", &[])
        .await
        .assert_error(422, "validation_error");
    // The method is the declared one.
    host.get("/api/v1/test/echo/abc")
        .await
        .assert_error(405, "method_not_allowed");
    // A handler takes an HTTP request, not JSON parameters by name.
    let by_name = host
        .post(
            "/api/v1/operations/http_echo/execute",
            serde_json::json!({}),
        )
        .await;
    by_name.assert_error(409, "served_at_route");
    assert_eq!(
        by_name.body["error"]["details"]["path"],
        "/api/v1/test/echo/:item"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_are_authenticated_and_their_role_checked_as_for_any_operation() {
    let settings = with_echo(keyed(&[
        ("reader", "reader-secret", Role::Viewer),
        ("writer", "writer-secret", Role::Operator),
    ]));
    let host = test_host_with(settings, &[]).await;
    let uri = "/api/v1/test/echo/abc";
    let send =
        |token: Option<&'static str>| host.send_as(token, Method::POST, uri, Body::from("x"), &[]);
    send(None).await.assert_error(401, "unauthenticated");
    send(Some("reader-secret"))
        .await
        .assert_error(403, "forbidden");
    let reply = send(Some("writer-secret")).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["authorization"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_handler_costs_its_own_call_only() {
    let mut settings = with_echo(settings());
    settings.limits.max_response_bytes = 1_000;
    let host = test_host_with(settings, &[]).await;
    post(&host, "/api/v1/test/echo/trap", "", &[])
        .await
        .assert_error(500, "operation_crashed");
    post(&host, "/api/v1/test/echo/spin", "", &[])
        .await
        .assert_error(504, "operation_timeout");
    post(&host, "/api/v1/test/echo/unset", "", &[])
        .await
        .assert_error(500, "invalid_response");
    let over = post(&host, "/api/v1/test/echo/big?bytes=5000", "", &[]).await;
    over.assert_error(500, "response_too_large");
    assert_eq!(over.body["error"]["details"]["limit_bytes"], 1_000);
    let under = post(&host, "/api/v1/test/echo/big?bytes=900", "", &[]).await;
    assert_eq!(under.status, 201);
    assert_eq!(under.body.as_str().map(str::len), Some(900));
    // The handler still serves.
    let reply = post(&host, "/api/v1/test/echo/after", "still here", &[]).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["body"], "still here");
}

/// The status of a response to a POST at `uri` and its body's frames as they come: the
/// data, and the error that stopped the body short, if one did.
pub(crate) async fn frames(host: &TestHost, uri: &str) -> (u16, Vec<Bytes>, Option<String>) {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let request = http::Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(
            "authorization",
            format!("Bearer {}", arsenal_testing::ADMIN_TOKEN),
        )
        .body(Body::empty())
        .expect("a request");
    let response = host
        .router()
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut data = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => data.extend(frame.into_data().ok()),
            Err(error) => return (status, data, Some(error.to_string())),
        }
    }
    (status, data, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_or_slow_body_is_streamed_within_the_cap() {
    let mut settings = with_echo(settings());
    settings.limits.max_response_bytes = 100_000;
    settings.limits.timeout_ms = 1_000;
    let host = test_host_with(settings, &[]).await;

    // Longer than what is read before answering, within the cap: streamed whole.
    let (status, data, failed) = frames(&host, "/api/v1/test/echo/big?bytes=90000").await;
    assert_eq!((status, failed), (201, None));
    assert_eq!(data.iter().map(Bytes::len).sum::<usize>(), 90_002);

    // Over the cap once streaming: the answer has begun, and its body stops at the cap.
    let (status, data, failed) = frames(&host, "/api/v1/test/echo/big?bytes=200000").await;
    assert_eq!(status, 201);
    let sent: usize = data.iter().map(Bytes::len).sum();
    assert!(sent <= 100_000, "{sent} bytes sent");
    let failed = failed.expect("the body stops short");
    assert!(failed.contains("response cap of 100000 bytes"), "{failed}");

    // A handler that stalls mid-body: what it wrote reaches the client, then its
    // deadline ends the call and the body fails.
    let (status, data, failed) = frames(&host, "/api/v1/test/echo/stall").await;
    assert_eq!(status, 201);
    assert_eq!(data.concat(), b"\"first\"");
    let failed = failed.expect("the body stops short");
    assert!(failed.contains("run past its deadline of 1s"), "{failed}");

    // The handler still serves.
    let reply = post(&host, "/api/v1/test/echo/after", "still here", &[]).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_reaches_no_file_and_no_socket() {
    let host = echo_host().await;
    // A real listener, so a refusal is the host's and not an empty port's.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let reply = post(
        &host,
        &format!("/api/v1/test/echo/reach?port={port}"),
        "",
        &[],
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let refused = |what: &str| {
        reply.body[what]
            .as_str()
            .is_some_and(|text| text.starts_with("refused"))
    };
    assert!(refused("file"), "{}", reply.body);
    assert!(refused("socket"), "{}", reply.body);
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_is_in_the_catalogue_and_the_openapi_document() {
    let host = echo_host().await;
    let described = host.get("/api/v1/operations/http_echo").await;
    let data = described.assert_ok(200);
    assert_eq!(data["interface"], "http_handler");
    assert_eq!(data["method"], "POST");
    assert_eq!(data["path"], "/api/v1/test/echo/:item");
    assert_eq!(data["source"], "directory");
    let names: Vec<&str> = data["params"]
        .as_array()
        .expect("params")
        .iter()
        .map(|param| param["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["limit", "item"]);

    let document = host.get("/api/v1/openapi.json").await;
    let page = &document.body["paths"]["/api/v1/test/echo/{item}"]["post"];
    assert_eq!(page["x-arsenal-interface"], "http_handler");
    assert!(
        page["responses"]["default"]["description"]
            .as_str()
            .is_some_and(|text| text.contains("handler's own response")),
        "{page}"
    );
    assert!(page["responses"]["422"].is_object(), "{page}");
    let params: Vec<&Value> = page["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .collect();
    assert!(
        params
            .iter()
            .any(|param| param["name"] == "limit" && param["in"] == "query"),
        "{page}"
    );
}

/// What the admin API sends for a component file at `path`, with `query`.
async fn upload(host: &TestHost, method: Method, uri: &str, path: &str) -> Reply {
    host.send(
        method,
        uri,
        Body::from(arsenal_tests::read(path)),
        &[("content-type", "application/wasm")],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_handler_is_routed_by_the_query_replaced_and_rolled_back() {
    let host = test_host(&[]).await;
    // Neither a describe export nor a declared route.
    let refused = upload(
        &host,
        Method::POST,
        "/api/v1/admin/operations",
        guests::HTTP_ECHO,
    )
    .await;
    refused.assert_error(422, "invalid_config");
    assert_eq!(
        refused.body["error"]["details"]["problems"][0]["field"],
        "route"
    );
    // Half a route.
    upload(
        &host,
        Method::POST,
        "/api/v1/admin/operations?name=http_echo&method=POST",
        guests::HTTP_ECHO,
    )
    .await
    .assert_error(422, "validation_error");
    // A body parameter: the handler reads its own body.
    let params = r#"[{"name":"size","in":"body","type":"integer"}]"#;
    let uri = format!(
        "/api/v1/admin/operations?name=http_echo&method=POST&path=/api/v1/up/:item&params={}",
        urlencode(params)
    );
    let body_param = upload(&host, Method::POST, &uri, guests::HTTP_ECHO).await;
    body_param.assert_error(422, "invalid_config");
    assert_eq!(
        body_param.body["error"]["details"]["problems"][0]["field"],
        "params[0].location"
    );

    let added = upload(
        &host,
        Method::POST,
        "/api/v1/admin/operations?name=http_echo&method=post&path=/api/v1/up/:item&version=1.0.0",
        guests::HTTP_ECHO,
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["data"]["interface"], "http_handler");
    let reply = post(&host, "/api/v1/up/one", "first", &[]).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("x-operation-version"), "1.0.0");

    // A new version at a new path: the old one is gone, the new one serves.
    let replaced = upload(
        &host,
        Method::PUT,
        "/api/v1/admin/operations/http_echo?method=PUT&path=/api/v1/moved/:item&version=1.1.0",
        guests::HTTP_ECHO,
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    post(&host, "/api/v1/up/one", "", &[])
        .await
        .assert_error(404, "operation_not_found");
    let moved = host
        .send(Method::PUT, "/api/v1/moved/two", Body::from("second"), &[])
        .await;
    assert_eq!(moved.status, 201, "{}", moved.body);
    assert_eq!(moved.body["method"], "PUT");
    assert_eq!(moved.header("x-operation-version"), "1.1.0");

    let rolled = host
        .post(
            "/api/v1/admin/operations/http_echo/rollback",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(rolled.status, 200, "{}", rolled.body);
    let back = post(&host, "/api/v1/up/three", "third", &[]).await;
    assert_eq!(back.status, 201, "{}", back.body);
    assert_eq!(back.header("x-operation-version"), "1.0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_with_the_describe_export_names_its_own_route() {
    let host = test_host(&[guests::HTTP_DESCRIBED]).await;
    let reply = host.get("/api/v1/test/greet/ann?times=2").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("x-operation-version"), "1.2.0");
    assert_eq!(
        reply.body["greetings"],
        serde_json::json!(["hello, ann", "hello, ann"])
    );
    host.get("/api/v1/test/greet/ann?times=5")
        .await
        .assert_error(422, "validation_error");
    // Its own config says no parameters beyond the declared ones.
    host.get("/api/v1/test/greet/ann?loud=yes")
        .await
        .assert_error(422, "validation_error");
    let data = host.get("/api/v1/operations/http_described").await;
    assert_eq!(data.assert_ok(200)["interface"], "http_handler");
}

/// `text` percent-encoded for a query value.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A handler of another language's toolchain, loaded from `file` under the declared
/// route `POST /api/v1/test/{name}/:item`, answers as the Rust one does.
async fn serves_the_same_echo(file: &str, name: &str, handled_by: &str) {
    let mut settings = settings();
    // A fresh JavaScript or Python runtime takes longer than the suite's 1 s deadline on a
    // loaded machine, and compiling one longer than the default compile bound.
    settings.limits.timeout_ms = 10_000;
    settings.compile.timeout_ms = 600_000;
    let mut route = echo_route(&format!("/api/v1/test/{name}/:item"));
    route.name = name.to_owned();
    settings.operations.http_handlers.push(HttpHandlerFile {
        file: file.into(),
        route,
    });
    let host = test_host_with(settings, &[]).await;
    assert!(
        host.host().problems().is_empty(),
        "{:?}",
        host.host().problems()
    );
    let reply = post(
        &host,
        &format!("/api/v1/test/{name}/abc?limit=3"),
        "the body",
        &[("x-echo", "hi")],
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("x-handled-by"), handled_by);
    assert_eq!(reply.header("x-echo"), "hi");
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.body["method"], "POST");
    assert_eq!(reply.body["path"], format!("/api/v1/test/{name}/abc"));
    assert_eq!(reply.body["query"], "limit=3");
    assert_eq!(reply.body["echo"], "hi");
    assert_eq!(reply.body["body"], "the body");
    assert_eq!(reply.body["authorization"], false);
    post(&host, &format!("/api/v1/test/{name}/abc?limit=11"), "", &[])
        .await
        .assert_error(422, "validation_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_fetch_event_handler_is_served() {
    let file = crate::toolchains::http_js().await;
    serves_the_same_echo(file, "http_js", "http-js").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_proxy_handler_is_served() {
    let file = crate::toolchains::http_py().await;
    serves_the_same_echo(file, "http_py", "http-py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_c_proxy_handler_is_served() {
    let file = crate::toolchains::http_c().await;
    serves_the_same_echo(file, "http_c", "http-c").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_c_handler_answers_callers_over_a_socket_and_is_audited() {
    let file = crate::toolchains::http_c().await;
    let mut settings = keyed(&[
        ("owner", "owner-secret", Role::Admin),
        ("writer", "writer-secret", Role::Operator),
    ]);
    // Room for a body past the handler's own 1 MiB bound, and for reading it on a loaded
    // machine in a debug build.
    settings.server.max_body_bytes = 2 * 1024 * 1024;
    settings.limits.timeout_ms = 10_000;
    let host = test_host_with(settings, &[]).await;
    let added = host
        .send_as(
            Some("owner-secret"),
            Method::POST,
            "/api/v1/admin/operations?name=http_c&method=PUT&path=/api/v1/c/:item&version=1.0.0",
            Body::from(arsenal_tests::read(file)),
            &[("content-type", "application/wasm")],
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["data"]["interface"], "http_handler");

    let (addr, stop, server) = crate::serve::start(&host).await;
    let url = format!("http://{addr}/api/v1/c/abc?limit=3&tag=%C3%A9");
    let client = reqwest::Client::new();
    let refused = client.put(&url).body("x").send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "unauthenticated");

    // Past one read of the body stream, with what JSON must escape and UTF-8 beyond ASCII.
    let body = "a \"quoted\" \\ line\n\u{e9}\u{1f600}".repeat(2_000);
    let reply = client
        .put(&url)
        .bearer_auth("writer-secret")
        .header("x-request-id", "http-c-1")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    assert_eq!(reply.headers()["content-type"], "application/json");
    assert_eq!(reply.headers()["x-handled-by"], "http-c");
    assert_eq!(reply.headers()["x-operation-version"], "1.0.0");
    let echoed: Value = reply.json().await.unwrap();
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["path"], "/api/v1/c/abc");
    assert_eq!(echoed["query"], "limit=3&tag=%C3%A9");
    assert_eq!(echoed["echo"], Value::Null);
    assert_eq!(echoed["authorization"], false);
    assert_eq!(echoed["body"], body.as_str());

    // Bytes that are not UTF-8 are read as U+FFFD; past 1 MiB the handler answers 413.
    let reply = client
        .put(&url)
        .bearer_auth("writer-secret")
        .body(vec![b'o', 0xff, b'k'])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    assert_eq!(reply.json::<Value>().await.unwrap()["body"], "o\u{fffd}k");
    let reply = client
        .put(&url)
        .bearer_auth("writer-secret")
        .body(vec![b'x'; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 413);
    assert_eq!(
        reply.json::<Value>().await.unwrap()["error"],
        "the body is over 1 MiB"
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    let records = host
        .send_as(
            Some("owner-secret"),
            Method::GET,
            "/api/v1/audit?operation=http_c",
            Body::empty(),
            &[],
        )
        .await;
    let records = records.body["data"]["records"].as_array().unwrap().clone();
    let call = records
        .iter()
        .find(|record| record["request_id"] == "http-c-1")
        .unwrap_or_else(|| panic!("the call is audited: {records:#?}"));
    assert_eq!(call["principal"], "writer");
    assert_eq!(call["operation"], "http_c");
    assert_eq!(call["version"], "1.0.0");
    assert_eq!(call["status"], 201);
    assert_eq!(call["outcome"], "succeeded");
}
