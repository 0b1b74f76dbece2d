//! Parameter decoding and validation end to end, through the real router: text coerced to
//! the declared types, JSON body types, every constraint, unknown and misplaced
//! parameters, defaults, malformed and oversized bodies, the mapping of every operation
//! error, the headers every answer carries, routing, execution by name and the catalogue.
//!
//! The fixtures are the `typed` test guest (every location, type and constraint), the
//! `greet` example and the built-in `echo`.

use arsenal_testing::{Reply, TestHost};
use axum::body::Body;
use http::Method;
use serde_json::{Value, json};

use crate::{guests, settings, test_host, test_host_with};

const TYPED: &str = "/api/v1/test/typed";

/// A host with the built-ins, `typed` and `greet`.
async fn host() -> TestHost {
    test_host(&[guests::TYPED, guests::GREET]).await
}

/// The `(field, message)` pairs of a validation error, asserting its status and code.
#[track_caller]
fn rejected_fields(reply: &Reply) -> Vec<(String, String)> {
    reply.assert_error(422, "validation_error");
    reply.body["error"]["details"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no details.fields: {}", reply.body))
        .iter()
        .map(|field| {
            (
                field["field"]
                    .as_str()
                    .expect("field is a string")
                    .to_owned(),
                field["message"]
                    .as_str()
                    .expect("message is a string")
                    .to_owned(),
            )
        })
        .collect()
}

/// The names of the rejected fields, in the order the host reports them (sorted).
#[track_caller]
fn rejected(reply: &Reply) -> Vec<String> {
    rejected_fields(reply)
        .into_iter()
        .map(|(field, _)| field)
        .collect()
}

/// The `data` of a success answer, asserting the status.
#[track_caller]
fn data(reply: &Reply, status: u16) -> &Value {
    assert_eq!(reply.status.as_u16(), status, "body: {}", reply.body);
    &reply.body["data"]
}

/// The `data` of a 200 answer.
#[track_caller]
fn data_of(reply: &Reply) -> &Value {
    data(reply, 200)
}

/// POST a raw (possibly invalid) body.
async fn post_raw(host: &TestHost, uri: &str, body: impl Into<Body>) -> Reply {
    host.send(
        Method::POST,
        uri,
        body.into(),
        &[("content-type", "application/json")],
    )
    .await
}

/// A body `{"name": "abc", "meta": {"a": {"a": ... {}}}}` whose arrays and objects nest
/// `depth` levels deep in all, the outer object included.
fn nested_body(depth: usize) -> String {
    let inner = depth - 2;
    format!(
        r#"{{"name": "abc", "meta": {}{{}}{}}}"#,
        r#"{"a": "#.repeat(inner),
        "}".repeat(inner)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_and_query_text_is_coerced_to_the_declared_types() {
    let host = host().await;
    let reply = host
        .post(
            &format!("{TYPED}/7?mode=slow&verbose=true&ratio=0.25&tags=a,b,c"),
            json!({ "name": "abc" }),
        )
        .await;
    let echoed = data(&reply, 201);
    assert_eq!(echoed["id"], json!(7));
    assert_eq!(echoed["mode"], json!("slow"));
    assert_eq!(echoed["verbose"], json!(true));
    assert_eq!(echoed["ratio"], json!(0.25));
    assert_eq!(echoed["tags"], json!(["a", "b", "c"]));

    let reply = host
        .post(
            &format!("{TYPED}/8?verbose=false&ratio=1&tags=x&tags=y"),
            json!({ "name": "abc" }),
        )
        .await;
    let echoed = data(&reply, 201);
    assert_eq!(echoed["id"], json!(8));
    assert_eq!(echoed["verbose"], json!(false));
    assert_eq!(echoed["ratio"].as_f64(), Some(1.0));
    assert_eq!(
        echoed["tags"],
        json!(["x", "y"]),
        "repeated keys form an array"
    );

    // A single value is still an array for an array parameter.
    let reply = host
        .post(&format!("{TYPED}/9?tags=solo"), json!({ "name": "abc" }))
        .await;
    assert_eq!(data(&reply, 201)["tags"], json!(["solo"]));

    let reply = host.get("/api/v1/greet/ann?times=3").await;
    assert_eq!(
        data(&reply, 200)["greeting"],
        json!("hello, ann! hello, ann! hello, ann!")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_that_does_not_parse_as_the_declared_type_is_rejected() {
    let host = host().await;
    for (query, field) in [
        ("", "id"), // the path is `/abc`
        ("?verbose=yes", "verbose"),
        ("?verbose=1", "verbose"),
        ("?ratio=half", "ratio"),
        ("?ratio=NaN", "ratio"),
    ] {
        let id = if field == "id" { "abc" } else { "1" };
        let reply = host
            .post(&format!("{TYPED}/{id}{query}"), json!({ "name": "abc" }))
            .await;
        assert_eq!(rejected(&reply), [field], "{query}");
        assert_eq!(reply.header("x-operation-version"), "1.2.3");
    }
    let reply = host.get("/api/v1/greet/ann?times=twice").await;
    assert_eq!(rejected(&reply), ["times"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_body_values_keep_their_types() {
    let host = host().await;
    let body = json!({
        "name": "abc",
        "count": 5,
        "meta": { "nested": [1, "two", null], "flag": true },
        "scores": [1.5, 2, -3.25],
    });
    let reply = host.post(&format!("{TYPED}/1"), body.clone()).await;
    let echoed = data(&reply, 201);
    for key in ["name", "count", "meta", "scores"] {
        assert_eq!(echoed[key], body[key], "{key}");
    }

    // A string for a non-string body parameter is coerced like text.
    let reply = host
        .post(
            &format!("{TYPED}/1"),
            json!({ "name": "abc", "count": "12", "scores": ["1.5"] }),
        )
        .await;
    let echoed = data(&reply, 201);
    assert_eq!(echoed["count"], json!(12));
    assert_eq!(echoed["scores"], json!([1.5]));

    for (body, field) in [
        (json!({ "name": 5 }), "name"),
        (json!({ "name": "abc", "count": 1.5 }), "count"),
        (json!({ "name": "abc", "count": "many" }), "count"),
        (json!({ "name": "abc", "count": true }), "count"),
        (json!({ "name": "abc", "meta": [1] }), "meta"),
        (json!({ "name": "abc", "meta": "text" }), "meta"),
        (json!({ "name": "abc", "scores": {} }), "scores"),
    ] {
        let reply = host.post(&format!("{TYPED}/1"), body.clone()).await;
        assert_eq!(rejected(&reply), [field], "{body}");
    }
    // A wrong item type is reported at its JSON pointer inside the parameter.
    let reply = host
        .post(
            &format!("{TYPED}/1"),
            json!({ "name": "abc", "scores": [1, "x"] }),
        )
        .await;
    assert_eq!(rejected(&reply), ["scores/1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integral_json_number_reaches_an_integer_parameter_as_an_integer() {
    // JSON Schema counts `2.0` and `1e2` as integers; the operation must receive them as
    // integers too, and whole numbers beyond 64 bits are refused.
    let host = host().await;
    let reply = host
        .post(
            "/api/v1/operations/greet/execute",
            json!({ "name": "ann", "times": 2.0 }),
        )
        .await;
    assert_eq!(
        data_of(&reply)["greeting"],
        json!("hello, ann! hello, ann!")
    );

    let reply = post_raw(
        &host,
        &format!("{TYPED}/1"),
        r#"{"name": "abc", "count": 1e2}"#,
    )
    .await;
    assert_eq!(data(&reply, 201)["count"], json!(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_constraint_is_enforced_and_names_the_field() {
    let host = host().await;
    let name = |name: &str| json!({ "name": name });
    let cases = [
        ("minimum", "/0", name("abc"), "id", "less than the minimum"),
        (
            "maximum",
            "/1001",
            name("abc"),
            "id",
            "greater than the maximum",
        ),
        ("minimum", "/1?ratio=-0.5", name("abc"), "ratio", "minimum"),
        ("maximum", "/1?ratio=1.5", name("abc"), "ratio", "maximum"),
        ("min_length", "/1", name("a"), "name", "shorter than 2"),
        (
            "max_length",
            "/1",
            name("abcdefghijk"),
            "name",
            "longer than 10",
        ),
        ("pattern", "/1", name("ABC"), "name", "^[a-z]+$"),
        ("one_of", "/1?mode=medium", name("abc"), "mode", "fast"),
        (
            "max items",
            "/1?tags=a,b,c,d",
            name("abc"),
            "tags",
            "more than 3",
        ),
    ];
    for (constraint, path, body, field, message) in cases {
        let reply = host.post(&format!("{TYPED}{path}"), body).await;
        let fields = rejected_fields(&reply);
        assert_eq!(fields.len(), 1, "{constraint}: {fields:?}");
        assert_eq!(fields[0].0, field, "{constraint}");
        assert!(
            fields[0].1.contains(message),
            "{constraint}: {:?} should mention {message:?}",
            fields[0].1
        );
    }
    // The boundaries themselves are accepted.
    let reply = host
        .post(
            &format!("{TYPED}/1000?ratio=0&tags=a,b,c"),
            name("abcdefghij"),
        )
        .await;
    data(&reply, 201);

    for uri in ["/api/v1/greet/ann?times=0", "/api/v1/greet/ann?times=6"] {
        assert_eq!(rejected(&host.get(uri).await), ["times"], "{uri}");
    }
    let long = "x".repeat(33);
    let reply = host.get(&format!("/api/v1/greet/{long}")).await;
    assert_eq!(rejected(&reply), ["name"]);

    let long = "x".repeat(257);
    let reply = host.get(&format!("/api/v1/echo/{long}")).await;
    assert_eq!(rejected(&reply), ["id"]);
    assert_eq!(reply.header("x-operation-version"), "0.1.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_required_parameter_is_named() {
    let host = host().await;
    let reply = host.post(&format!("{TYPED}/1"), json!({})).await;
    assert_eq!(
        rejected_fields(&reply),
        [(
            "name".to_owned(),
            "required parameter is missing".to_owned()
        )]
    );
    assert_eq!(
        reply.body["error"]["message"],
        json!("1 parameter failed validation")
    );

    // No body at all is an empty object, so the same answer.
    let reply = post_raw(&host, &format!("{TYPED}/1"), Body::empty()).await;
    assert_eq!(rejected(&reply), ["name"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_parameters_are_rejected_by_name() {
    let host = host().await;
    let reply = host
        .post(&format!("{TYPED}/1?bogus=1"), json!({ "name": "abc" }))
        .await;
    assert_eq!(
        rejected_fields(&reply),
        [("bogus".to_owned(), "unknown parameter".to_owned())]
    );

    let reply = host
        .post(&format!("{TYPED}/1"), json!({ "name": "abc", "extra": 1 }))
        .await;
    assert_eq!(
        rejected_fields(&reply),
        [("extra".to_owned(), "unknown parameter".to_owned())]
    );

    // Every problem is reported at once, sorted by field.
    let reply = host
        .post(
            &format!("{TYPED}/0?zzz=1"),
            json!({ "name": "abc", "aaa": true }),
        )
        .await;
    assert_eq!(rejected(&reply), ["aaa", "id", "zzz"]);
    assert_eq!(
        reply.body["error"]["message"],
        json!("3 parameters failed validation")
    );

    let reply = host.get("/api/v1/greet/ann?loud=true").await;
    assert_eq!(rejected(&reply), ["loud"]);

    // `echo` takes additional parameters, so nothing is unknown to it.
    let reply = host.get("/api/v1/echo/abc?x=1&y=two").await;
    assert_eq!(
        data(&reply, 200),
        &json!({ "id": "abc", "query": { "x": "1", "y": "two" } })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parameter_in_the_wrong_location_is_rejected() {
    let host = host().await;
    // A query parameter in the body.
    let reply = host
        .post(
            &format!("{TYPED}/1"),
            json!({ "name": "abc", "mode": "fast" }),
        )
        .await;
    assert_eq!(
        rejected_fields(&reply),
        [(
            "mode".to_owned(),
            "a query parameter, sent in the body".to_owned()
        )]
    );

    // A path parameter in the body.
    let reply = host
        .post(&format!("{TYPED}/1"), json!({ "name": "abc", "id": 2 }))
        .await;
    assert_eq!(
        rejected_fields(&reply),
        [(
            "id".to_owned(),
            "a path parameter, sent in the body".to_owned()
        )]
    );

    // A body parameter in the query: reported once, as misplaced (not also as missing).
    let reply = host.post(&format!("{TYPED}/1?name=abc"), json!({})).await;
    assert_eq!(
        rejected_fields(&reply),
        [(
            "name".to_owned(),
            "a body parameter, sent in the query".to_owned()
        )]
    );

    // A path parameter in the query.
    let reply = host
        .post(&format!("{TYPED}/1?id=2"), json!({ "name": "abc" }))
        .await;
    assert_eq!(
        rejected_fields(&reply),
        [(
            "id".to_owned(),
            "a path parameter, sent in the query".to_owned()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_operation_takes_no_body_parameters() {
    let host = host().await;
    // `greet` declares no body parameters, so a body field is refused.
    let reply = host
        .send(
            Method::GET,
            "/api/v1/greet/ann",
            Body::from(r#"{"times": 2}"#),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(rejected(&reply), ["times"]);

    // A GET operation takes no body parameters, even one that accepts extra parameters.
    let reply = host
        .send(
            Method::GET,
            "/api/v1/echo/x",
            Body::from(r#"{"b": 1}"#),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(rejected(&reply), ["b"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_are_applied() {
    let host = host().await;
    let reply = host
        .post(&format!("{TYPED}/3"), json!({ "name": "abc" }))
        .await;
    let echoed = data(&reply, 201);
    assert_eq!(echoed["mode"], json!("fast"));
    assert_eq!(echoed["count"], json!(1));
    // Optional parameters without a default stay absent.
    for absent in ["verbose", "ratio", "tags", "meta", "scores"] {
        assert!(echoed.get(absent).is_none(), "{absent} in {echoed}");
    }
    // The helpers send local mode's admin token.
    assert_eq!(echoed["caller"]["principal"], json!(arsenal::LOCAL_ADMIN));

    let reply = host.get("/api/v1/greet/ann").await;
    assert_eq!(data_of(&reply), &json!({ "greeting": "hello, ann!" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_a_json_object_is_malformed() {
    let host = host().await;
    for body in [
        r#"{"name": "abc""#,
        "not json",
        r#"{"name": "abc"} trailing"#,
        "[1, 2]",
        r#""abc""#,
        "42",
        "null",
    ] {
        let reply = post_raw(&host, &format!("{TYPED}/1"), body).await;
        reply.assert_error(400, "malformed_request");
        assert_eq!(reply.header("x-operation-version"), "1.2.3", "{body}");
    }
    let reply = post_raw(&host, &format!("{TYPED}/1"), "[1]").await;
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("must be a JSON object")),
        "{}",
        reply.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_nesting_is_capped_at_64_levels() {
    let host = host().await;
    let reply = post_raw(&host, &format!("{TYPED}/1"), nested_body(65)).await;
    reply.assert_error(400, "malformed_request");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("64")),
        "{}",
        reply.body
    );
    // Brackets inside strings are not nesting.
    let brackets = "[".repeat(100);
    let reply = host
        .post(
            &format!("{TYPED}/1"),
            json!({ "name": "abc", "meta": { "text": brackets } }),
        )
        .await;
    data(&reply, 201);

    let body = nested_body(64);
    let reply = post_raw(&host, &format!("{TYPED}/1"), body.clone()).await;
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(data(&reply, 201)["meta"], sent["meta"]);

    // The cap applies to execution by name too.
    let reply = post_raw(&host, "/api/v1/operations/typed/execute", nested_body(65)).await;
    reply.assert_error(400, "malformed_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_refused() {
    let mut settings = settings();
    settings.server.max_body_bytes = 64;
    let host = test_host_with(settings, &[guests::TYPED]).await;
    let big = json!({ "name": "abc", "meta": { "pad": "x".repeat(100) } }).to_string();
    assert!(big.len() > 64);

    // Without a Content-Length: the limit is found while reading.
    let reply = post_raw(&host, &format!("{TYPED}/1"), big.clone()).await;
    reply.assert_error(413, "payload_too_large");
    assert_eq!(reply.body["error"]["details"], json!({ "limit_bytes": 64 }));
    assert_eq!(reply.header("x-operation-version"), "1.2.3");

    // With a Content-Length over the cap: refused before reading.
    let length = big.len().to_string();
    let reply = host
        .send(
            Method::POST,
            &format!("{TYPED}/1"),
            Body::from(big.clone()),
            &[
                ("content-type", "application/json"),
                ("content-length", &length),
            ],
        )
        .await;
    reply.assert_error(413, "payload_too_large");

    let reply = post_raw(&host, "/api/v1/operations/typed/execute", big).await;
    reply.assert_error(413, "payload_too_large");

    // A body at the cap is read.
    let small = json!({ "name": "abc", "meta": {} }).to_string();
    let padded = format!("{small}{}", " ".repeat(64 - small.len()));
    assert_eq!(padded.len(), 64);
    let reply = post_raw(&host, &format!("{TYPED}/1"), padded).await;
    data(&reply, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_error_keeps_its_status_code_message_and_details() {
    let host = host().await;
    let cases = [
        ("missing", 404, "not_found", "no such thing", Value::Null),
        (
            "conflict",
            409,
            "conflict",
            "it already exists",
            json!({ "name": "conflict" }),
        ),
        ("forbidden", 403, "forbidden", "not allowed", Value::Null),
        (
            "unavail",
            503,
            "unavailable",
            "try again later",
            Value::Null,
        ),
        ("timeout", 504, "timeout", "gave up waiting", Value::Null),
        ("internal", 500, "internal", "something broke", Value::Null),
        (
            "invalid",
            422,
            "invalid_params",
            "name is not acceptable",
            Value::Null,
        ),
    ];
    for (name, status, code, message, details) in cases {
        let reply = host
            .post(&format!("{TYPED}/1"), json!({ "name": name }))
            .await;
        reply.assert_error(status, code);
        assert_eq!(reply.body["error"]["message"], json!(message), "{name}");
        assert_eq!(reply.body["error"]["details"], details, "{name}");
        assert_eq!(reply.header("x-operation-version"), "1.2.3", "{name}");

        // The same through execution by name.
        let reply = host
            .post(
                "/api/v1/operations/typed/execute",
                json!({ "id": 1, "name": name }),
            )
            .await;
        reply.assert_error(status, code);
        assert_eq!(reply.body["error"]["message"], json!(message), "{name}");
        assert_eq!(reply.body["error"]["details"], details, "{name}");
    }

    let reply = host.get("/api/v1/greet/nobody").await;
    reply.assert_error(404, "not_found");
    assert_eq!(
        reply.body["error"]["message"],
        json!("there is nobody to greet")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_answers_with_the_declared_status() {
    let host = host().await;
    let reply = host
        .post(&format!("{TYPED}/1"), json!({ "name": "abc" }))
        .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    assert_eq!(reply.header("content-type"), "application/json");
    assert!(reply.body.get("error").is_none());
    let reply = host.get("/api/v1/echo/abc").await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_and_operation_version_are_on_every_answer() {
    let host = host().await;

    // Generated when the client sends none, and handed to the operation.
    let reply = host
        .post(&format!("{TYPED}/1"), json!({ "name": "abc" }))
        .await;
    let id = reply.header("x-request-id").to_owned();
    assert!(!id.is_empty());
    assert_eq!(data(&reply, 201)["caller"]["request_id"], json!(id));
    assert_eq!(reply.header("x-operation-version"), "1.2.3");
    let other = host
        .post(&format!("{TYPED}/1"), json!({ "name": "abc" }))
        .await;
    assert_ne!(other.header("x-request-id"), id, "ids are unique");

    // A well-formed client id is kept: in the header, the operation and error bodies.
    let client_id = "client-42_a.b:c";
    let headers = [
        ("content-type", "application/json"),
        ("x-request-id", client_id),
    ];
    let reply = host
        .send(
            Method::POST,
            &format!("{TYPED}/1"),
            Body::from(json!({ "name": "abc" }).to_string()),
            &headers,
        )
        .await;
    assert_eq!(reply.header("x-request-id"), client_id);
    assert_eq!(data(&reply, 201)["caller"]["request_id"], json!(client_id));

    for body in [json!({ "name": "A" }), json!({ "name": "forbidden" })] {
        let reply = host
            .send(
                Method::POST,
                &format!("{TYPED}/1"),
                Body::from(body.to_string()),
                &headers,
            )
            .await;
        assert!(reply.status.is_client_error(), "{}", reply.body);
        assert_eq!(reply.header("x-request-id"), client_id);
        assert_eq!(reply.body["error"]["request_id"], json!(client_id));
        assert_eq!(reply.header("x-operation-version"), "1.2.3");
    }

    // A malformed client id is replaced.
    for bad in ["has space", "semi;colon", &"x".repeat(129)] {
        let reply = host
            .send(
                Method::GET,
                "/api/v1/echo/abc",
                Body::empty(),
                &[("x-request-id", bad)],
            )
            .await;
        let id = reply.header("x-request-id");
        assert!(!id.is_empty() && id != bad, "{bad:?} was kept");
    }

    let reply = host.get("/api/v1/echo/abc").await;
    assert_eq!(reply.header("x-operation-version"), "0.1.0");
    assert!(!reply.header("x-request-id").is_empty());
    let reply = host.get("/api/v1/echo/abc?").await;
    assert_eq!(reply.header("x-operation-version"), "0.1.0");

    // Host answers carry a request id too.
    let reply = host.get("/api/v1/nope").await;
    reply.assert_error(404, "operation_not_found");
    assert!(reply.headers.get("x-operation-version").is_none());
    let reply = host.get("/api/v1/health").await;
    assert!(!reply.header("x-request-id").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_decodes_paths_and_answers_404_and_405() {
    let host = host().await;
    let reply = host.get("/api/v1/echo/a%20b%2Fc%3F").await;
    assert_eq!(data(&reply, 200)["id"], json!("a b/c?"));
    let reply = host.get("/api/v1/greet/J%C3%BCrgen").await;
    assert_eq!(data(&reply, 200)["greeting"], json!("hello, Jürgen!"));
    // Decoded before coercion: `%31%32` is `12`.
    let reply = host
        .post(&format!("{TYPED}/%31%32"), json!({ "name": "abc" }))
        .await;
    assert_eq!(data(&reply, 201)["id"], json!(12));

    // (`/` is the web console.)
    for uri in ["/api/v1/nope", "/api/v1/echo", "/api/v1/echo/a/b", "/api"] {
        let reply = host.get(uri).await;
        reply.assert_error(404, "operation_not_found");
        assert!(reply.headers.get("x-operation-version").is_none(), "{uri}");
    }

    let reply = host.get(&format!("{TYPED}/1")).await;
    reply.assert_error(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), "POST");
    assert_eq!(reply.body["error"]["details"], json!({ "allow": ["POST"] }));

    for method in [Method::DELETE, Method::POST, Method::PUT] {
        let reply = host
            .send(method.clone(), "/api/v1/echo/abc", Body::empty(), &[])
            .await;
        reply.assert_error(405, "method_not_allowed");
        assert_eq!(reply.header("allow"), "GET", "{method}");
    }

    // The host's own endpoints answer 405 the same way.
    let reply = host.get("/api/v1/operations/echo/execute").await;
    reply.assert_error(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), "POST");
    let reply = host.post("/api/v1/health", json!({})).await;
    reply.assert_error(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), "GET");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_by_name_takes_one_object_with_the_same_validation() {
    let host = host().await;
    let reply = host
        .post(
            "/api/v1/operations/typed/execute",
            json!({ "id": 5, "name": "abc", "tags": ["a", "b"], "verbose": true }),
        )
        .await;
    let echoed = data(&reply, 201);
    assert_eq!(echoed["id"], json!(5));
    assert_eq!(echoed["tags"], json!(["a", "b"]));
    assert_eq!(echoed["verbose"], json!(true));
    assert_eq!(echoed["mode"], json!("fast"), "defaults apply");
    assert_eq!(echoed["count"], json!(1), "defaults apply");
    assert_eq!(reply.header("x-operation-version"), "1.2.3");

    // Text values are coerced as on the command line (`arsenal call typed id=5`).
    let reply = host
        .post(
            "/api/v1/operations/typed/execute",
            json!({ "id": "6", "ratio": "0.5", "tags": "x,y", "name": "abc" }),
        )
        .await;
    let echoed = &reply.body["data"];
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    assert_eq!(echoed["id"], json!(6));
    assert_eq!(echoed["ratio"], json!(0.5));
    assert_eq!(echoed["tags"], json!(["x", "y"]));

    for (body, fields) in [
        (json!({ "name": "abc" }), vec!["id"]),
        (json!({ "id": 0, "name": "abc" }), vec!["id"]),
        (
            json!({ "id": 1, "name": "ABC", "mode": "medium" }),
            vec!["mode", "name"],
        ),
        (json!({ "id": 1, "name": "abc", "bogus": 1 }), vec!["bogus"]),
        (
            json!({ "id": 1, "name": "abc", "tags": ["a", "b", "c", "d"] }),
            vec!["tags"],
        ),
    ] {
        let reply = host
            .post("/api/v1/operations/typed/execute", body.clone())
            .await;
        assert_eq!(rejected(&reply), fields, "{body}");
    }

    let reply = post_raw(&host, "/api/v1/operations/typed/execute", "{oops").await;
    reply.assert_error(400, "malformed_request");
    let reply = post_raw(&host, "/api/v1/operations/typed/execute", "[]").await;
    reply.assert_error(400, "malformed_request");

    let reply = host
        .post(
            "/api/v1/operations/echo/execute",
            json!({ "id": "abc", "x": "1" }),
        )
        .await;
    assert_eq!(
        data_of(&reply),
        &json!({ "id": "abc", "query": { "x": "1" } })
    );
    let reply = host
        .post(
            "/api/v1/operations/greet/execute",
            json!({ "name": "ann", "times": 2 }),
        )
        .await;
    assert_eq!(
        data_of(&reply)["greeting"],
        json!("hello, ann! hello, ann!")
    );

    let reply = host
        .post("/api/v1/operations/nope/execute", json!({}))
        .await;
    reply.assert_error(404, "operation_not_found");
    assert!(reply.headers.get("x-operation-version").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_lists_filters_and_describes() {
    let host = host().await;
    let names = |reply: &Reply| -> Vec<String> {
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        reply.body["data"]
            .as_array()
            .expect("data is an array")
            .iter()
            .map(|op| op["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let reply = host.get("/api/v1/operations").await;
    assert_eq!(
        names(&reply),
        crate::catalogue_with(&["greet", "typed"]),
        "sorted by name"
    );
    let echo = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|op| op["name"] == "echo")
        .unwrap();
    assert_eq!(echo["method"], json!("GET"));
    assert_eq!(echo["path"], json!("/api/v1/echo/:id"));
    assert_eq!(echo["category"], json!("system"));
    assert_eq!(echo["version"], json!("0.1.0"));

    let reply = host.get("/api/v1/operations?category=messaging").await;
    assert_eq!(
        names(&reply),
        ["analyze_message_queue", "inspect_mailbox", "send_message"]
    );
    let reply = host.get("/api/v1/operations?category=test").await;
    assert_eq!(names(&reply), ["typed"]);
    let reply = host.get("/api/v1/operations?category=none").await;
    assert!(names(&reply).is_empty());
    for q in ["echo", "ECHO", "Echo%20the"] {
        let reply = host.get(&format!("/api/v1/operations?q={q}")).await;
        assert_eq!(names(&reply), ["echo"], "q={q}");
    }
    // `q` searches summaries too.
    let reply = host.get("/api/v1/operations?q=facts").await;
    assert_eq!(names(&reply), ["engine_info", "system_info"]);
    let reply = host
        .get("/api/v1/operations?category=system&q=engine")
        .await;
    assert_eq!(names(&reply), ["engine_info"]);

    let reply = host.get("/api/v1/operations?kind=system").await;
    assert_eq!(
        rejected_fields(&reply),
        [("kind".to_owned(), "unknown parameter".to_owned())]
    );

    let reply = host.get("/api/v1/operations/echo").await;
    let echo = data_of(&reply);
    assert_eq!(echo["name"], json!("echo"));
    assert_eq!(echo["method"], json!("GET"));
    assert_eq!(echo["path"], json!("/api/v1/echo/:id"));
    assert_eq!(echo["version"], json!("0.1.0"));
    assert_eq!(echo["additional_params"], json!(true));
    assert_eq!(echo["success_status"], json!(200));
    assert_eq!(
        echo["params"],
        json!([{
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": 256,
                "description": "Any identifier",
            },
            "sensitive": false,
        }])
    );

    let reply = host.get("/api/v1/operations/typed").await;
    let typed = data_of(&reply);
    assert_eq!(typed["success_status"], json!(201));
    assert_eq!(typed["version"], json!("1.2.3"));

    let reply = host.get("/api/v1/operations/nope").await;
    reply.assert_error(404, "operation_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_ok() {
    let host = host().await;
    let reply = host.get("/api/v1/health").await;
    let health = data_of(&reply);
    assert_eq!(health["status"], json!("ok"));
    assert_eq!(health["operations"], json!(crate::BUILTINS.len() + 2));
    assert_eq!(health["instances_in_use"], json!(0));
    assert_eq!(health["max_instances"], json!(8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_is_get_without_a_body() {
    let host = host().await;
    let reply = host
        .send(Method::HEAD, "/api/v1/echo/x", Body::empty(), &[])
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-operation-version"), "0.1.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_parameter_that_is_not_utf8_is_malformed() {
    let host = host().await;
    host.get("/api/v1/echo/%FF")
        .await
        .assert_error(400, "malformed_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scalar_query_parameter_given_twice_is_one_error() {
    let host = host().await;
    let reply = host
        .post(
            "/api/v1/test/typed/1?mode=fast&mode=slow",
            json!({ "name": "abc" }),
        )
        .await;
    reply.assert_error(422, "validation_error");
    assert_eq!(
        reply.body["error"]["details"]["fields"],
        json!([{ "field": "mode", "message": "given 2 times; expected one value" }])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_refuses_parameters_in_the_query() {
    let host = host().await;
    let reply = host
        .post("/api/v1/operations/echo/execute?id=1", json!({ "id": "x" }))
        .await;
    reply.assert_error(422, "validation_error");
    assert_eq!(reply.body["error"]["details"]["fields"][0]["field"], "id");
}
