//! Built-in operation `profile_process`: time and memory per message kind over a window.

use arsenal_sdk::prelude::*;
use arsenal_sdk::{processes, tracing};

struct ProfileProcess;

impl Operation for ProfileProcess {
    fn config() -> Config {
        Config::post("profile_process", "/api/v1/processes/:pid/profile")
            .category(Category::Tracing)
            .summary("Profile a process")
            .description(
                "Watches the process for `window_ms` and answers, per message kind (a JSON \
                 message's type, kind, op or command field, otherwise the first word of the \
                 payload), how many were handled, the total and longest handling time, and \
                 the memory they grew. While profiled the process handles one message per \
                 call so each is timed alone. The window must end within the call's \
                 deadline: it is at most the deadline less a tenth (the host's \
                 `limits.timeout_ms`, 5 s by default, gives 4.5 s), the schema's `maximum`; \
                 a longer one answers 422 `validation_error`.",
            )
            .status(200)
            .timeout_ms(30_000)
            .param(processes::target_param())
            .param(
                Param::body("window_ms")
                    .integer()
                    .min(1)
                    .within_deadline()
                    .default(1_000)
                    .describe("How long to watch, in milliseconds"),
            )
            .response_schema(json!({ "type": "object", "required": ["pid", "kinds", "messages"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("pid")?;
        let window: u32 = request.param("window_ms")?;
        let profile = tracing::profile(&target, window)?;
        let messages: u64 = profile.kinds.iter().map(|kind| kind.count).sum();
        let mut kinds: Vec<_> = profile.kinds.iter().collect();
        kinds.sort_by(|a, b| {
            b.total_us
                .cmp(&a.total_us)
                .then_with(|| a.kind.cmp(&b.kind))
        });
        let kinds: Vec<Value> = kinds
            .into_iter()
            .map(|kind| {
                json!({
                    "kind": kind.kind,
                    "count": kind.count,
                    "total_us": kind.total_us,
                    "mean_us": kind.total_us / kind.count.max(1),
                    "max_us": kind.max_us,
                    "memory_growth_bytes": kind.memory_growth_bytes,
                })
            })
            .collect();
        Ok(json!({
            "pid": profile.pid,
            "window_ms": profile.window_ms,
            "messages": messages,
            "kinds": kinds,
            "memory_start_bytes": profile.memory_start_bytes,
            "memory_end_bytes": profile.memory_end_bytes,
            "exited": profile.exited,
        }))
    }
}

arsenal_sdk::export!(ProfileProcess);
