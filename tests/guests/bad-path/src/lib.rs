//! Test guest `bad_path`: describes a path template without a leading `/` and with an
//! unnamed `:` segment. The host must refuse to load it.

use arsenal_sdk::prelude::*;

struct BadPath;

impl Operation for BadPath {
    fn config() -> Config {
        Config::get("bad_path", "api/v1/no-leading-slash/:")
            .category("test")
            .summary("Describe an invalid path")
            .description("Its path template is invalid.")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok(json!({}))
    }
}

arsenal_sdk::export!(BadPath);
