//! Test guest `bad_requests`: requests a destination that is no `scheme://host:port`
//! pattern (no port), one of a scheme the host does not speak, and a bucket whose name
//! is not one. The host must refuse it at load, naming each.

use arsenal_sdk::prelude::*;

struct BadRequests;

impl Operation for BadRequests {
    fn config() -> Config {
        Config::get("bad_requests", "/api/v1/test/bad-requests")
            .category("test")
            .outbound_host("https://api.example.com")
            .outbound_host("ftp://files.example.com:21")
            .outbound_host("https://api.example.com:443")
            .bucket("Shared Flags")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok(json!({}))
    }
}

arsenal_sdk::export!(BadRequests);
