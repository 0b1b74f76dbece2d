//! The operation contract across its versions: a component built against 0.1.0 (from the
//! host's frozen copy of that WIT) loads and serves beside components of 0.2.0, and logs
//! through the 0.1.0 `log`; a 0.2.0 config's requested destinations and buckets are parsed
//! at load and shown as requested in the catalogue and the OpenAPI document, and a
//! malformed one is refused with 422 `invalid_config` naming it.

use arsenal_testing::TestHost;
use serde_json::{Value, json};

use arsenal::config::{ComponentGrants, Settings};

use crate::{LogCapture, guests, settings, test_host, test_host_with, upload};

/// The catalogue entry named `name`.
async fn catalogue_entry(host: &TestHost, name: &str) -> Value {
    let catalogue = host.get("/api/v1/operations").await;
    assert_eq!(catalogue.status, 200, "{}", catalogue.body);
    catalogue.body["data"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|entry| entry["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {}", catalogue.body))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_the_contract_0_1_0_loads_and_answers_beside_0_2_0() {
    let host = test_host(&[guests::OLD_CONTRACT, guests::GREET]).await;

    let reply = host.get("/api/v1/test/old-contract?word=hi").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["data"],
        json!({ "contract": "0.1.0", "params": { "word": "hi" } })
    );
    // Its 0.1.0 config's constraints are the ones enforced.
    host.get("/api/v1/test/old-contract?word=longer-than-sixteen")
        .await
        .assert_error(422, "validation_error");

    let old = host.get("/api/v1/operations/old_contract").await;
    assert_eq!(old.status, 200, "{}", old.body);
    assert_eq!(old.body["data"]["contract_version"], "0.1.0");
    assert_eq!(
        old.body["data"]["requested"],
        json!({ "outbound_hosts": [], "buckets": [] })
    );
    let current = host.get("/api/v1/operations/greet").await;
    assert_eq!(
        current.body["data"]["contract_version"], "0.2.0",
        "{}",
        current.body
    );
    assert_eq!(
        host.get("/api/v1/greet/ann").await.status,
        200,
        "a 0.2.0 component serves beside it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_the_contract_0_1_0_can_be_uploaded() {
    let host = test_host(&[]).await;
    let uploaded = upload(&host, guests::OLD_CONTRACT).await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let reply = host.get("/api/v1/test/old-contract?word=up").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["params"], json!({ "word": "up" }));
}

#[tokio::test(flavor = "current_thread")]
async fn a_component_of_the_contract_0_1_0_logs_through_its_log() {
    let host = test_host(&[guests::OLD_CONTRACT]).await;
    let buffer = LogCapture::default();
    let reply = {
        let _logging = tracing::subscriber::set_default(buffer.json_subscriber());
        host.get("/api/v1/test/old-contract?word=log").await
    };
    assert_eq!(reply.status, 200, "{}", reply.body);
    let guest_lines = buffer.lines("guest");
    assert_eq!(guest_lines.len(), 1, "{}", buffer.text());
    assert_eq!(guest_lines[0]["level"], "INFO");
    assert_eq!(
        guest_lines[0]["fields"]["message"],
        "answering from the contract 0.1.0"
    );
    assert_eq!(guest_lines[0]["span"]["operation"], "old_contract");
}

/// Settings granting the `requests` guest what it requests, and more.
fn granting_requests() -> Settings {
    let mut settings = settings();
    settings.components.insert(
        "requests".to_owned(),
        ComponentGrants {
            outbound_hosts: ["https://*.example.com:*", "http://127.0.0.1:*"]
                .iter()
                .map(|text| text.parse().expect("a pattern"))
                .collect(),
            buckets: vec!["shared-flags".to_owned(), "other".to_owned()],
            ..ComponentGrants::default()
        },
    );
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requested_destinations_and_buckets_show_in_the_catalogue_and_the_document() {
    let host = test_host_with(granting_requests(), &[guests::REQUESTS]).await;
    // The host names the patterns in lowercase, as it matches them.
    let requested = json!({
        "outbound_hosts": ["https://*.example.com:443", "http://127.0.0.1:*"],
        "buckets": ["shared-flags"],
    });

    assert_eq!(
        catalogue_entry(&host, "requests").await["requested"],
        requested
    );
    let description = host.get("/api/v1/operations/requests").await;
    assert_eq!(description.status, 200, "{}", description.body);
    assert_eq!(description.body["data"]["requested"], requested);
    let document = host.get("/api/v1/openapi.json").await;
    assert_eq!(
        document.body["paths"]["/api/v1/test/requests"]["get"]["x-arsenal-requested"],
        requested
    );
    // It imports neither `wasi:http` nor `wasi:keyvalue`: granted, it reaches nothing.
    assert_eq!(
        catalogue_entry(&host, "requests").await["granted"],
        json!({ "outbound_hosts": [], "buckets": [], "config": {} })
    );
    // An operation that requests nothing says so.
    assert_eq!(
        catalogue_entry(&host, "list_processes").await["requested"],
        json!({ "outbound_hosts": [], "buckets": [] })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_destination_or_bucket_is_refused_at_load_naming_it() {
    let host = test_host(&[]).await;
    let refused = upload(&host, guests::BAD_REQUESTS).await;
    refused.assert_error(422, "invalid_config");
    assert_eq!(
        refused.body["error"]["details"]["problems"],
        json!([
            {
                "field": "outbound_hosts",
                "message": "`https://api.example.com` is not a destination pattern: it names no port: add one (`:443`) or `:*` for any",
            },
            {
                "field": "outbound_hosts",
                "message": "`ftp://files.example.com:21` is not a destination pattern: the scheme `ftp` is not `http`, `https` or `*`",
            },
            {
                "field": "buckets",
                "message": "`Shared Flags` is not a valid bucket name: use a lowercase letter, then lowercase letters, digits, `-` and `_`",
            },
        ])
    );
    let catalogue = host.get("/api/v1/operations").await;
    assert!(
        !catalogue.body.to_string().contains("bad_requests"),
        "the refused operation is not published"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_outside_the_grant_is_refused_at_load_naming_it() {
    // Uploaded components are granted no destination and no shared bucket by default.
    let host = test_host(&[]).await;
    let refused = upload(&host, guests::REQUESTS).await;
    refused.assert_error(422, "invalid_config");
    assert_eq!(
        refused.body["error"]["details"]["problems"],
        json!([
            {
                "field": "outbound_hosts[0]",
                "message": "`https://*.example.com:443` is not granted to this component (granted: nothing)",
            },
            {
                "field": "outbound_hosts[1]",
                "message": "`http://127.0.0.1:*` is not granted to this component (granted: nothing)",
            },
            {
                "field": "buckets",
                "message": "requests buckets not granted to it: shared-flags",
            },
        ]),
        "{}",
        refused.body
    );

    // Granted the buckets but only one destination: the other is named by its index.
    let mut settings = granting_requests();
    settings
        .components
        .get_mut("requests")
        .unwrap()
        .outbound_hosts = vec!["https://api.example.com:443".parse().unwrap()];
    settings.outbound.upload = vec!["http://127.0.0.1:8080".parse().unwrap()];
    let host = test_host_with(settings, &[]).await;
    let refused = upload(&host, guests::REQUESTS).await;
    refused.assert_error(422, "invalid_config");
    assert_eq!(
        refused.body["error"]["details"]["problems"],
        json!([
            {
                "field": "outbound_hosts[0]",
                "message": "`https://*.example.com:443` is not granted to this component (granted: http://127.0.0.1:8080, https://api.example.com:443)",
            },
            {
                "field": "outbound_hosts[1]",
                "message": "`http://127.0.0.1:*` is not granted to this component (granted: http://127.0.0.1:8080, https://api.example.com:443)",
            },
        ]),
        "{}",
        refused.body
    );
    let catalogue = host.get("/api/v1/operations").await;
    assert!(!catalogue.body.to_string().contains("\"requests\""));
}
