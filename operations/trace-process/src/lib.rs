//! Built-in operation `trace_process`: start recording a process's events.

use arsenal_sdk::prelude::*;
use arsenal_sdk::processes;
use arsenal_sdk::tracing::{self, TraceOptions};

struct TraceProcess;

impl Operation for TraceProcess {
    fn config() -> Config {
        Config::post("trace_process", "/api/v1/processes/:pid/trace")
            .category(Category::Tracing)
            .summary("Trace a process")
            .description(
                "Records the process's events of the kinds in `events` — send (messages and \
                 calls it sends), receive (what it handles), lifecycle (suspend, resume, \
                 hibernate, wake, upgrade, exit), host_calls (its other runtime calls) — for \
                 `duration_ms` or until `max_events`, whichever comes first. Read it with GET \
                 /api/v1/traces/:id; delete it with DELETE. At most 100 traces are kept.",
            )
            .param(processes::target_param())
            .param(
                Param::body("events")
                    .array(ParamType::String)
                    .default(json!(["send", "receive", "lifecycle", "host_calls"]))
                    .describe("Any of send, receive, lifecycle, host_calls"),
            )
            .param(
                Param::body("duration_ms")
                    .integer()
                    .min(1)
                    .max(3_600_000)
                    .default(60_000),
            )
            .param(
                Param::body("max_events")
                    .integer()
                    .min(1)
                    .max(100_000)
                    .default(1_000),
            )
            .response_schema(json!({ "type": "object", "required": ["id", "pid", "status"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let events: Vec<String> = request.param("events")?;
        let mut options = TraceOptions {
            send: false,
            receive: false,
            lifecycle: false,
            host_calls: false,
            duration_ms: request.param("duration_ms")?,
            max_events: request.param("max_events")?,
        };
        for event in &events {
            match event.as_str() {
                "send" => options.send = true,
                "receive" => options.receive = true,
                "lifecycle" => options.lifecycle = true,
                "host_calls" => options.host_calls = true,
                other => {
                    return Err(Error::invalid_params(format!(
                        "events: unknown kind `{other}` (send, receive, lifecycle, host_calls)"
                    ))
                    .with_code("validation_error"));
                }
            }
        }
        let info = tracing::start(&target, options)?;
        log::info(&format!("tracing {} as trace {}", info.pid, info.id));
        Ok(tracing::info_json(&info))
    }
}

arsenal_sdk::export!(TraceProcess);
