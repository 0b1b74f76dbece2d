//! Built-in operation `get_trace`: a trace and the events it recorded.

use arsenal_sdk::page;
use arsenal_sdk::prelude::*;
use arsenal_sdk::tracing;

struct GetTrace;

impl Operation for GetTrace {
    fn config() -> Config {
        Config::get("get_trace", "/api/v1/traces/:id")
            .category(Category::Tracing)
            .summary("A trace and its events")
            .description(
                "The trace's status (active, expired, full, process_exited) and its events \
                 in order, paginated: offset in microseconds from the start, kind and detail.",
            )
            .param(Param::path("id").integer().min(1))
            .param(page::offset_param())
            .param(page::limit_param(1_000, 10_000))
            .response_schema(json!({ "type": "object", "required": ["trace", "events"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let id: u64 = request.param("id")?;
        let offset: u32 = request.param("offset")?;
        let limit: u32 = request.param("limit")?;
        let (info, events) = tracing::get(id, offset, limit)?;
        let events: Vec<Value> = events
            .iter()
            .map(|event| {
                json!({ "offset_us": event.offset_us, "kind": event.kind, "detail": event.detail })
            })
            .collect();
        Ok(json!({ "trace": tracing::info_json(&info), "offset": offset, "events": events }))
    }
}

arsenal_sdk::export!(GetTrace);
