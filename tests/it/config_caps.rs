//! A component's self-description is bounded: a config whose fields are over their caps, or
//! whose whole is over the cap of a config (the 64 MiB summary), is refused with 422
//! `invalid_config` naming the field and the cap — through the admin API and from an
//! operations directory — and the catalogue and OpenAPI document never carry it.

use arsenal::spec::caps::{MAX_CONFIG_BYTES, MAX_PARAMS, MAX_SUMMARY_BYTES};
use arsenal::{Host, LoadError};
use arsenal_testing::TestHost;
use serde_json::{Value, json};

use crate::{guests, settings, test_host, upload};

/// What the `huge_summary` guest must be refused with: its whole is over the cap.
fn whole_over_cap() -> Value {
    json!([{
        "field": "config",
        "message": format!(
            "over the cap of {MAX_CONFIG_BYTES} bytes for a whole config (its strings and list elements)"
        ),
        "cap": MAX_CONFIG_BYTES,
    }])
}

/// What the `over_caps` guest must be refused with: its summary and its parameters.
fn fields_over_caps() -> Value {
    json!([
        {
            "field": "summary",
            "message": format!("1024 bytes, over the cap of {MAX_SUMMARY_BYTES} bytes"),
            "cap": MAX_SUMMARY_BYTES,
        },
        {
            "field": "params",
            "message": format!("65 parameters, over the cap of {MAX_PARAMS}"),
            "cap": MAX_PARAMS,
        },
    ])
}

/// Neither the catalogue nor the OpenAPI document knows `name`.
async fn not_published(host: &TestHost, name: &str) {
    let catalogue = host.get("/api/v1/operations").await;
    assert_eq!(catalogue.status, 200);
    assert!(
        !catalogue.body.to_string().contains(name),
        "the catalogue lists `{name}`"
    );
    let document = host.get("/api/v1/openapi.json").await;
    assert_eq!(document.status, 200);
    assert!(
        !document.body.to_string().contains(name),
        "the OpenAPI document names `{name}`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_over_the_caps_is_refused_naming_the_field_and_the_cap() {
    let host = test_host(&[]).await;

    let refused = upload(&host, guests::HUGE_SUMMARY).await;
    refused.assert_error(422, "invalid_config");
    assert_eq!(
        refused.body["error"]["details"]["problems"],
        whole_over_cap()
    );
    not_published(&host, "huge_summary").await;

    let refused = upload(&host, guests::OVER_CAPS).await;
    refused.assert_error(422, "invalid_config");
    assert_eq!(
        refused.body["error"]["details"]["problems"],
        fields_over_caps()
    );
    not_published(&host, "over_caps").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_component_over_the_caps_is_refused_naming_the_field_and_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    for (guest, file) in [
        (guests::HUGE_SUMMARY, "huge_summary.wasm"),
        (guests::OVER_CAPS, "over_caps.wasm"),
    ] {
        std::fs::copy(guest, dir.path().join(file)).unwrap();
    }
    let mut settings = settings();
    settings.operations.dirs = vec![dir.path().to_owned()];
    let host = Host::start(settings).await.expect("the host starts");

    let mut problems: Vec<(String, Value)> = host
        .problems()
        .iter()
        .map(|problem| match &problem.error {
            LoadError::InvalidConfig(problems) => (
                std::path::Path::new(&problem.origin)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                serde_json::to_value(problems).unwrap(),
            ),
            other => panic!("{}: not an invalid config: {other:?}", problem.origin),
        })
        .collect();
    problems.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        problems,
        [
            ("huge_summary.wasm".to_owned(), whole_over_cap()),
            ("over_caps.wasm".to_owned(), fields_over_caps()),
        ]
    );

    let host = TestHost::serving(host);
    not_published(&host, "huge_summary").await;
    not_published(&host, "over_caps").await;
}
