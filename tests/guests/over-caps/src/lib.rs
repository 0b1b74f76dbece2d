//! Test guest `over_caps`: its `describe` returns a summary of 1 KiB and 65 parameters,
//! each over its own cap (256 bytes, 64 parameters) while the whole config is well within
//! its own. The host must refuse it, naming both fields.

use arsenal_sdk::prelude::*;

struct OverCaps;

impl Operation for OverCaps {
    fn config() -> Config {
        let config = Config::get("over_caps", "/api/v1/test/over-caps")
            .category("test")
            .summary(&"s".repeat(1024));
        (0..65).fold(config, |config, i| {
            config.param(Param::query(&format!("p{i}")).integer().optional())
        })
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok(json!({}))
    }
}

arsenal_sdk::export!(OverCaps);
