//! Test guest `huge_summary`: its `describe` returns a 64 MiB summary, far over the cap of
//! a whole config. The host must refuse it before copying the summary out of the guest.

use arsenal_sdk::prelude::*;

struct HugeSummary;

/// The summary's length.
const SUMMARY_BYTES: usize = 64 << 20;

impl Operation for HugeSummary {
    fn config() -> Config {
        Config::get("huge_summary", "/api/v1/test/huge-summary")
            .category("test")
            .summary(&"s".repeat(SUMMARY_BYTES))
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok(json!({}))
    }
}

arsenal_sdk::export!(HugeSummary);
