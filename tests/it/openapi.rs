//! The OpenAPI document served at `/api/v1/openapi.json`: it parses as OpenAPI 3.1 (with
//! the `oas3` crate, not only as JSON), documents every catalogued operation under its
//! path and method with its parameters, body and every error status, and matches the
//! blessed snapshot in `tests/snapshots/openapi.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arsenal_testing::{Reply, TestHost};
use http::Method;
use oas3::spec::{ObjectOrReference, ParameterIn, Schema};
use serde_json::{Value, json};

use crate::{guests, test_host, test_host_with};

/// Statuses every operation documents besides its success, all with the `Error` schema.
const ERROR_STATUSES: &[&str] = &[
    "400", "401", "403", "404", "405", "409", "413", "422", "429", "431", "500", "503", "504",
];

const ERROR_REF: &str = "#/components/schemas/Error";

/// A host with the built-ins, `typed` and `greet`.
async fn host() -> TestHost {
    test_host(&[guests::TYPED, guests::GREET]).await
}

/// The served document, as JSON.
async fn document(host: &TestHost) -> Value {
    let reply = host.get("/api/v1/openapi.json").await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), "application/json");
    reply.body
}

/// The served document, parsed by `oas3`.
fn parse(document: &Value) -> oas3::Spec {
    oas3::from_json(document.to_string())
        .unwrap_or_else(|error| panic!("the document is not OpenAPI 3.1: {error}"))
}

/// `/api/v1/echo/:id` in OpenAPI syntax: `/api/v1/echo/{id}`.
fn openapi_path(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a response's JSON content is the shared `Error` schema: a reference to it, or
/// all of it with the codes of that status enumerated.
fn references_error(spec: &oas3::Spec, response: &ObjectOrReference<oas3::spec::Response>) -> bool {
    let Ok(response) = response.resolve(spec) else {
        return false;
    };
    fn is_ref(schema: &Schema) -> bool {
        matches!(schema, Schema::Object(object)
            if matches!(&**object, ObjectOrReference::Ref { ref_path, .. } if ref_path == ERROR_REF))
    }
    response
        .content
        .get("application/json")
        .and_then(|media| media.schema.as_ref())
        .is_some_and(|schema| {
            is_ref(schema)
                || matches!(schema, Schema::Object(object)
                    if matches!(&**object, ObjectOrReference::Object(all)
                        if all.all_of.first().is_some_and(is_ref)))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_openapi_3_1() {
    let host = host().await;
    let document = document(&host).await;
    let spec = parse(&document);
    assert_eq!(spec.openapi, "3.1.0");
    let version = spec
        .validate_version()
        .expect("a supported OpenAPI version");
    assert_eq!(version.to_string(), "3.1.0");
    assert_eq!(spec.info.title, "Arsenal");
    assert!(!spec.info.version.is_empty());
    let components = spec.components.as_ref().expect("components");
    assert!(components.schemas.contains_key("Error"), "{components:?}");
    // Every `$ref` in the document resolves.
    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is not local"));
        assert!(
            document.pointer(pointer).is_some(),
            "{reference} does not resolve"
        );
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => refs.push(reference.clone()),
                    _ => collect_refs(value, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalogued_operation_is_documented_with_its_parameters() {
    let host = host().await;
    let spec = parse(&document(&host).await);
    let catalogue = host.get("/api/v1/operations").await;
    let operations = catalogue.body["data"].as_array().expect("data is an array");
    assert_eq!(
        operations.len(),
        crate::BUILTINS.len() + 2,
        "{}",
        catalogue.body
    );
    for entry in operations {
        let name = entry["name"].as_str().expect("name");
        let method: Method = entry["method"].as_str().expect("method").parse().unwrap();
        let path = openapi_path(entry["path"].as_str().expect("path"));
        let operation = spec
            .operation(&method, &path)
            .unwrap_or_else(|| panic!("{name}: no {method} {path} in the document"));
        assert_eq!(operation.operation_id.as_deref(), Some(name));
        assert_eq!(
            operation.summary.as_deref(),
            entry["summary"].as_str(),
            "{name}"
        );
        assert_eq!(
            operation.tags,
            [entry["category"].as_str().unwrap()],
            "{name}"
        );

        let described = host.get(&format!("/api/v1/operations/{name}")).await;
        let params = described.body["data"]["params"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {}", described.body));
        let expected: BTreeSet<(String, &str, bool)> = params
            .iter()
            .filter(|param| param["in"] != "body")
            .map(|param| {
                (
                    param["name"].as_str().unwrap().to_owned(),
                    param["in"].as_str().unwrap(),
                    param["required"].as_bool().unwrap(),
                )
            })
            .collect();
        let documented: BTreeSet<(String, &str, bool)> = operation
            .parameters(&spec)
            .unwrap_or_else(|error| panic!("{name}: {error}"))
            .into_iter()
            .map(|param| {
                let location = match param.location {
                    ParameterIn::Path => "path",
                    ParameterIn::Query => "query",
                    ParameterIn::Header => "header",
                    other => panic!("{name}: parameter {} in {other:?}", param.name),
                };
                (param.name, location, param.required.unwrap_or(false))
            })
            .collect();
        // The operation's own parameters, and the node selector every endpoint has.
        let mut expected = expected;
        expected.insert(("x-arsenal-node".to_owned(), "header", false));
        assert_eq!(documented, expected, "{name}");

        // Body parameters are the properties of the request body's schema.
        let body: BTreeSet<&str> = params
            .iter()
            .filter(|param| param["in"] == "body")
            .map(|param| param["name"].as_str().unwrap())
            .collect();
        if body.is_empty() {
            assert!(operation.request_body.is_none(), "{name}");
        }

        let success = described.body["data"]["success_status"].to_string();
        let responses = operation.responses.as_ref().expect("responses");
        assert!(responses.contains_key(&success), "{name}: no {success}");
        for status in ERROR_STATUSES {
            let response = responses
                .get(*status)
                .unwrap_or_else(|| panic!("{name}: no {status} response"));
            assert!(
                references_error(&spec, response),
                "{name} {status}: {response:?}"
            );
        }

        assert_eq!(
            operation.extensions.get("arsenal-capabilities"),
            Some(&entry["capabilities"]),
            "{name}"
        );
    }

    // The host's own endpoints are documented as well.
    for (method, path) in [
        (Method::GET, "/api/v1/health"),
        (Method::GET, "/api/v1/openapi.json"),
        (Method::GET, "/api/v1/operations"),
        (Method::GET, "/api/v1/operations/{name}"),
        (Method::POST, "/api/v1/operations/{name}/execute"),
    ] {
        assert!(spec.operation(&method, path).is_some(), "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_documents_its_body_and_every_error() {
    let host = host().await;
    let document = document(&host).await;
    let spec = parse(&document);
    let typed = spec
        .operation(&Method::POST, "/api/v1/test/typed/{id}")
        .expect("typed is documented");

    let body = typed
        .request_body(&spec)
        .expect("the body resolves")
        .expect("typed has a request body");
    assert!(body.content.contains_key("application/json"));
    let raw = &document["paths"]["/api/v1/test/typed/{id}"]["post"];
    assert_eq!(raw["requestBody"]["required"], json!(true));
    let schema = &raw["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(schema["type"], json!("object"));
    assert_eq!(schema["additionalProperties"], json!(false));
    assert_eq!(schema["required"], json!(["name"]));
    let properties: BTreeSet<&str> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        properties,
        BTreeSet::from(["count", "meta", "name", "scores"])
    );
    assert_eq!(
        schema["properties"]["name"],
        json!({ "type": "string", "minLength": 2, "maxLength": 10, "pattern": "^[a-z]+$" })
    );

    let parameters: Vec<&Value> = raw["parameters"].as_array().unwrap().iter().collect();
    let id = parameters.iter().find(|p| p["name"] == "id").unwrap();
    assert_eq!(id["in"], json!("path"));
    assert_eq!(id["required"], json!(true));
    assert_eq!(id["schema"]["minimum"], json!(1));
    assert_eq!(id["schema"]["maximum"], json!(1000));
    let mode = parameters.iter().find(|p| p["name"] == "mode").unwrap();
    assert_eq!(mode["schema"]["enum"], json!(["fast", "slow"]));
    assert_eq!(mode["schema"]["default"], json!("fast"));
    let tags = parameters.iter().find(|p| p["name"] == "tags").unwrap();
    assert_eq!(tags["schema"]["maxItems"], json!(3));
    assert_eq!(tags["schema"]["items"], json!({ "type": "string" }));

    let responses = typed.responses.as_ref().expect("responses");
    let statuses: BTreeSet<&str> = responses.keys().map(String::as_str).collect();
    let mut expected: BTreeSet<&str> = ERROR_STATUSES.iter().copied().collect();
    expected.insert("201");
    assert_eq!(statuses, expected);
    for status in ERROR_STATUSES {
        assert!(references_error(&spec, &responses[*status]), "{status}");
    }
    // The success answer wraps the declared response schema in `data`.
    let success = &raw["responses"]["201"]["content"]["application/json"]["schema"];
    assert_eq!(success["required"], json!(["data"]));
    assert_eq!(
        success["properties"]["data"]["required"],
        json!(["id", "mode", "name", "count", "caller"])
    );

    // A GET has no body, even with additional parameters (`echo`).
    let echo = spec
        .operation(&Method::GET, "/api/v1/echo/{id}")
        .expect("echo is documented");
    assert!(echo.request_body.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_are_listed_per_operation() {
    let host = host().await;
    let spec = parse(&document(&host).await);
    let capabilities = |method: Method, path: &str| {
        spec.operation(&method, path)
            .unwrap_or_else(|| panic!("no {method} {path}"))
            .extensions
            .get("arsenal-capabilities")
            .cloned()
    };
    assert_eq!(
        capabilities(Method::GET, "/api/v1/system/info"),
        Some(json!(["system"]))
    );
    assert_eq!(
        capabilities(Method::GET, "/api/v1/system/engine"),
        Some(json!(["system"]))
    );
    assert_eq!(
        capabilities(Method::GET, "/api/v1/echo/{id}"),
        Some(json!([]))
    );
    assert_eq!(
        capabilities(Method::POST, "/api/v1/test/typed/{id}"),
        Some(json!([]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_matches_the_snapshot() {
    // Two hosts, loading in different orders, serve the same bytes: the document is
    // built from the catalogue sorted by name, not from load order.
    let first = host().await;
    let second = test_host(&[guests::GREET, guests::TYPED]).await;
    let a = document(&first).await;
    let b = document(&second).await;
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap(),
        "two hosts disagree on the document"
    );
    assert_eq!(
        document(&first).await,
        a,
        "the same host changed its answer"
    );
    assert_snapshot("openapi.json", &pretty(&a));
}

/// Pretty JSON with object keys sorted, so the snapshot does not depend on whether
/// `serde_json` preserves insertion order in this build (`oas3` turns that on).
fn pretty(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(object) => {
                let entries: BTreeMap<&String, &Value> = object.iter().collect();
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(key, value)| (key.clone(), sorted(value)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut text = serde_json::to_string_pretty(&sorted(value)).unwrap();
    text.push('\n');
    text
}

#[test]
fn the_error_table_in_the_docs_is_the_hosts() {
    use std::fmt::Write as _;
    let mut table = String::from(concat!(
        "# Error codes\n",
        "\n",
        "Every code the host answers with, its status and what it means: the table the\n",
        "handlers build their errors from and the OpenAPI document describes each status\n",
        "with (`ErrorCode` in `host/http/src/error_code.rs`; this page is generated from it\n",
        "and checked by `tests/it/openapi.rs`). An operation may answer a more specific\n",
        "code of its own in place of `invalid_params`, `not_found`, `conflict`,\n",
        "`forbidden`, `unavailable`, `timeout` or `internal`, with that code's status.\n",
        "\n",
        "| Code | Status | Meaning |\n",
        "| --- | --- | --- |\n",
    ));
    for code in arsenal::http::ErrorCode::ALL {
        let meaning = code.meaning().replace('|', "\\|");
        writeln!(table, "| `{code}` | {} | {meaning} |", code.status()).unwrap();
    }
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/errors.md");
    assert_file(&docs, &table);
}

/// Compare `actual` with `tests/snapshots/<name>`; with `ARSENAL_BLESS=1`, write it there
/// instead.
#[track_caller]
pub(crate) fn assert_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("snapshots")
        .join(name);
    assert_file(&path, actual);
}

/// Compare `actual` with the file at `path`; with `ARSENAL_BLESS=1`, write it there
/// instead.
#[track_caller]
fn assert_file(path: &Path, actual: &str) {
    let name = path.file_name().unwrap().to_string_lossy();
    if std::env::var_os("ARSENAL_BLESS").is_some_and(|value| value == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual)
            .unwrap_or_else(|error| panic!("failed to write {}: {error}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|error| {
        panic!(
            "failed to read the snapshot {}: {error}; run with ARSENAL_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the snapshot {} from line {}:\n- {}\n+ {}\n\
             Check the change, then run with ARSENAL_BLESS=1 to accept it.",
            name,
            path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

/// What the document allows `method path` (a path of the document) to answer with
/// `status`: `None` when the status is not documented, `Some(None)` for any code (an
/// operation's own codes may stand in), `Some(Some(codes))` for these codes only.
pub(crate) fn documented_codes(
    document: &Value,
    method: &Method,
    path: &str,
    status: u16,
) -> Option<Option<Vec<String>>> {
    let operation = &document["paths"][path][method.as_str().to_lowercase()];
    assert!(operation.is_object(), "{method} {path} is not documented");
    let mut response = &operation["responses"][status.to_string()];
    if let Some(reference) = response["$ref"].as_str() {
        response = document
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{reference} does not resolve"));
    }
    if response.is_null() {
        return None;
    }
    let schema = &response["content"]["application/json"]["schema"];
    let codes = schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
        .as_array()
        .map(|codes| {
            codes
                .iter()
                .map(|code| code.as_str().unwrap().to_owned())
                .collect()
        });
    Some(codes)
}

/// Assert the document allows `reply`, the answer to `method uri`, served at `path`.
#[track_caller]
pub(crate) fn assert_documented(document: &Value, method: &Method, path: &str, reply: &Reply) {
    let status = reply.status.as_u16();
    match documented_codes(document, method, path, status) {
        None => panic!(
            "{method} {path} answered {status}, which the document does not list: {}",
            reply.body
        ),
        Some(Some(codes)) => assert!(
            codes.iter().any(|code| code == reply.code()),
            "{method} {path} answered {status} `{}`, but the document lists only {codes:?}",
            reply.code()
        ),
        Some(None) => {}
    }
}

const VIEWER: &str = "key-of-a-viewer";
const ADMIN: &str = "key-of-an-admin";

async fn ask(host: &TestHost, token: Option<&str>, method: &Method, uri: &str) -> Reply {
    host.send_as(token, method.clone(), uri, axum::body::Body::empty(), &[])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_access_are_documented_where_they_are_answered() {
    let keys = [
        ("viewer", VIEWER, arsenal::Role::Viewer),
        ("admin", ADMIN, arsenal::Role::Admin),
    ];
    let host = test_host_with(crate::keyed(&keys), &[]).await;
    // A host whose keys may send one request an hour.
    let mut hasty = crate::keyed(&keys);
    hasty.rate_limits.per_key = arsenal::config::RateQuota {
        burst: 1,
        replenish_ms: 3_600_000,
    };
    let hasty = test_host_with(hasty, &[]).await;
    let document = ask(&host, Some(ADMIN), &Method::GET, "/api/v1/openapi.json")
        .await
        .body;
    // The one request the admin's bucket holds there; every later one answers 429.
    let first = ask(&hasty, Some(ADMIN), &Method::GET, "/api/v1/whoami").await;
    assert_eq!(first.status, 200, "{}", first.body);

    // The admin API, the audit log, whoami, metrics, batches, execute and versions: each
    // refused for each reason access has, and each refusal is in the document.
    let admin = |method: Method, path: &'static str| (method, path, true);
    let anyone = |method: Method, path: &'static str| (method, path, false);
    for (method, path, admins_only) in [
        admin(Method::POST, "/api/v1/admin/operations"),
        admin(Method::PUT, "/api/v1/admin/operations/{name}"),
        admin(Method::DELETE, "/api/v1/admin/operations/{name}"),
        admin(Method::GET, "/api/v1/admin/operations/{name}/versions"),
        admin(Method::POST, "/api/v1/admin/operations/{name}/rollback"),
        admin(Method::PUT, "/api/v1/admin/workers/{name}"),
        admin(Method::DELETE, "/api/v1/admin/workers/{name}"),
        admin(Method::GET, "/api/v1/admin/workers"),
        admin(Method::GET, "/api/v1/admin/workers/{name}/versions"),
        admin(Method::POST, "/api/v1/admin/workers/{name}/rollback"),
        admin(Method::GET, "/api/v1/audit"),
        anyone(Method::GET, "/api/v1/whoami"),
        anyone(Method::GET, "/metrics"),
        anyone(Method::POST, "/api/v1/batch"),
        anyone(Method::POST, "/api/v1/operations/{name}/execute"),
    ] {
        let uri = path.replace("{name}", "echo");
        let anonymous = ask(&host, None, &method, &uri).await;
        anonymous.assert_error(401, "unauthenticated");
        assert_documented(&document, &method, path, &anonymous);
        let hurried = ask(&hasty, Some(ADMIN), &method, &uri).await;
        hurried.assert_error(429, "rate_limited");
        assert_documented(&document, &method, path, &hurried);
        if admins_only {
            let viewer = ask(&host, Some(VIEWER), &method, &uri).await;
            viewer.assert_error(403, "forbidden");
            assert_documented(&document, &method, path, &viewer);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_the_host_cannot_read_is_refused_in_the_one_error_shape() {
    let host = test_host(&[]).await;
    let document = host.get("/api/v1/openapi.json").await.body;
    // `%FF` is not UTF-8 once percent-decoded.
    for (method, path) in [
        (Method::GET, "/api/v1/operations/{name}"),
        (Method::GET, "/api/v1/operations/{name}/stats"),
        (Method::GET, "/api/v1/operations/{name}/health"),
        (Method::POST, "/api/v1/operations/{name}/execute"),
        (Method::GET, "/api/v1/admin/operations/{name}/versions"),
        (Method::DELETE, "/api/v1/admin/workers/{name}"),
        (Method::GET, "/console/{file}"),
    ] {
        let uri = path.replace("{name}", "%FF").replace("{file}", "%FF");
        let reply = host
            .send(method.clone(), &uri, axum::body::Body::empty(), &[])
            .await;
        reply.assert_error(400, "malformed_request");
        assert_eq!(reply.header("content-type"), "application/json", "{uri}");
        assert_documented(&document, &method, path, &reply);
    }
}
