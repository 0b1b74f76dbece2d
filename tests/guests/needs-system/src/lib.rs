//! Test guest `needs_system`: calls `system::host_info`, so the component imports the
//! `arsenal:runtime/system` capability. Loads only where that capability is granted.

use arsenal_sdk::prelude::*;
use arsenal_sdk::system;

struct NeedsSystem;

impl Operation for NeedsSystem {
    fn config() -> Config {
        Config::get("needs_system", "/api/v1/test/needs-system")
            .category("test")
            .summary("Use the system capability")
            .description("Answers the host's version and node from `system::host_info`.")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let info = system::host_info();
        Ok(json!({ "version": info.version, "node": info.node }))
    }
}

arsenal_sdk::export!(NeedsSystem);
