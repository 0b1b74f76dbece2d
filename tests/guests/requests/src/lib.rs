//! Test guest `requests`: requests two outbound destinations (one with a wildcard host,
//! one with a wildcard port) and a shared bucket in its config. The host must show them as
//! requested in the catalogue and the OpenAPI document.

use arsenal_sdk::prelude::*;

struct Requests;

impl Operation for Requests {
    fn config() -> Config {
        Config::get("requests", "/api/v1/test/requests")
            .category("test")
            .summary("Request destinations and a bucket")
            .outbound_host("https://*.Example.com:443")
            .outbound_host("http://127.0.0.1:*")
            .bucket("shared-flags")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok(json!({}))
    }
}

arsenal_sdk::export!(Requests);
