//! Built-in operation `run_in_sandbox`: a one-shot call of a worker under a sandbox's
//! budgets and policy.

use arsenal_sdk::prelude::*;
use arsenal_sdk::sandboxes;

struct RunInSandbox;

impl Operation for RunInSandbox {
    fn config() -> Config {
        Config::post("run_in_sandbox", "/api/v1/sandboxes/:id/run")
            .category(Category::Sandbox)
            .summary("Run a worker once inside a sandbox")
            .description(
                "Starts a process of `worker` in the sandbox (initialised with `args`, counted \
                 against its process, memory and CPU budgets, under its deadline and policy), \
                 sends it `payload` as a call, and stops it. Answers the reply, or 422 \
                 `sandbox_run_failed` with why the call failed (a trap, memory refused by a \
                 budget, the deadline).",
            )
            .status(200)
            .param(sandboxes::id_param())
            .param(Param::body("worker").string().min_length(1).max_length(128))
            .param(Param::body("args").string().max_length(65536).default(""))
            .param(Param::body("payload").string().max_length(1 << 20))
            .param(
                Param::body("timeout_ms")
                    .integer()
                    .min(1)
                    .max(60_000)
                    .default(5_000),
            )
            .response_schema(json!({
                "type": "object",
                "required": ["pid", "reply"],
                "properties": {
                    "pid": { "type": "string" },
                    "reply": { "type": "string" },
                    "memory_bytes": { "type": "integer" },
                    "busy_ms": { "type": "integer" }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let id: String = request.param("id")?;
        let worker: String = request.param("worker")?;
        let args: String = request.param("args")?;
        let payload: String = request.param("payload")?;
        let timeout: u32 = request.param("timeout_ms")?;
        let outcome = sandboxes::run(&id, &worker, &args, &payload, timeout)?;
        match outcome.reply {
            Ok(reply) => Ok(json!({
                "pid": outcome.pid,
                "reply": reply,
                "memory_bytes": outcome.memory_bytes,
                "busy_ms": outcome.busy_ms,
            })),
            Err(reason) => Err(Error::invalid_params(format!(
                "the call to {worker} in sandbox {id} failed: {reason}"
            ))
            .with_code("sandbox_run_failed")
            .with_details(json!({ "pid": outcome.pid, "reason": reason }))),
        }
    }
}

arsenal_sdk::export!(RunInSandbox);
