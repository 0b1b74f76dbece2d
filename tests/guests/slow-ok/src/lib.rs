//! Test guest `slow_ok`: sleeps for `ms` milliseconds (through WASI clocks), then
//! succeeds. Used for deadlines that should not fire, in-flight requests during reloads
//! and concurrency limits.

use std::time::Duration;

use arsenal_sdk::prelude::*;

struct SlowOk;

impl Operation for SlowOk {
    fn config() -> Config {
        Config::get("slow_ok", "/api/v1/test/slow")
            .category("test")
            .summary("Sleep, then succeed")
            .description("Sleeps `ms` milliseconds and answers `{\"slept_ms\": ms}`.")
            .param(
                Param::query("ms")
                    .integer()
                    .default(200)
                    .min(0)
                    .max(2000)
                    .describe("How long to sleep"),
            )
            .response_schema(json!({
                "type": "object",
                "required": ["slept_ms"],
                "properties": { "slept_ms": { "type": "integer", "minimum": 0 } }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let ms: u64 = request.param("ms")?;
        std::thread::sleep(Duration::from_millis(ms));
        Ok(json!({ "slept_ms": ms }))
    }
}

arsenal_sdk::export!(SlowOk);
