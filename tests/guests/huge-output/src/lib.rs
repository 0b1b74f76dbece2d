//! Test guest `huge_output`: answers a 9 MiB JSON string as its `data`, more than the
//! host accepts from an operation.

use arsenal_sdk::prelude::*;

const BYTES: usize = 9 << 20;

struct HugeOutput;

impl Operation for HugeOutput {
    fn config() -> Config {
        Config::get("huge_output", "/api/v1/test/huge-output")
            .category("test")
            .summary("Answer 9 MiB")
            .description("Returns a string of 9 MiB of `x` as `data`.")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok("x".repeat(BYTES))
    }
}

arsenal_sdk::export!(HugeOutput);
