//! Built-in operation `stop_trace`: stop a trace and delete it.

use arsenal_sdk::prelude::*;
use arsenal_sdk::tracing;

struct StopTrace;

impl Operation for StopTrace {
    fn config() -> Config {
        Config::delete("stop_trace", "/api/v1/traces/:id")
            .category(Category::Tracing)
            .summary("Stop and delete a trace")
            .description(
                "Stops recording and forgets the trace, answering it as it ended (read its \
                 events first). A second DELETE answers 404.",
            )
            .param(Param::path("id").integer().min(1))
            .response_schema(json!({ "type": "object", "required": ["id", "status"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let id: u64 = request.param("id")?;
        Ok(tracing::info_json(&tracing::stop(id)?))
    }
}

arsenal_sdk::export!(StopTrace);
