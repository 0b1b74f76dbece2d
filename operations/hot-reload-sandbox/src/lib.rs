//! Built-in operation `hot_reload_sandbox`: move a sandbox's processes to a worker's
//! loaded version.

use arsenal_sdk::prelude::*;
use arsenal_sdk::sandboxes;

struct HotReloadSandbox;

impl Operation for HotReloadSandbox {
    fn config() -> Config {
        Config::post("hot_reload_sandbox", "/api/v1/sandboxes/:id/hot-reload")
            .category(Category::Sandbox)
            .summary("Hot-reload a worker in a sandbox")
            .description(
                "Processes running an older version of `worker` move to the loaded one. Where \
                 the new version exports `state`, each moves in place with its pid: its state \
                 is snapshotted and restored into the new code, told the old version (OTP's \
                 code_change). If one fails, those already moved go back and the answer says \
                 why (422 `sandbox_failed`). Workers without `state` restart on the new code. \
                 The sandbox's supervisors start the new version from then on.",
            )
            .status(200)
            .param(sandboxes::id_param())
            .param(Param::body("worker").string().min_length(1).max_length(128))
            .response_schema(json!({
                "type": "object",
                "required": ["worker", "version", "upgraded", "restarted"]
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let id: String = request.param("id")?;
        let worker: String = request.param("worker")?;
        let reloaded = sandboxes::hot_reload(&id, &worker)?;
        log::info(&format!(
            "sandbox {id}: {} moved and {} restarted on {worker} {}",
            reloaded.upgraded.len(),
            reloaded.restarted.len(),
            reloaded.version
        ));
        let restarted: Vec<Value> = reloaded
            .restarted
            .iter()
            .map(|(old, new)| json!({ "old_pid": old, "pid": new }))
            .collect();
        Ok(json!({
            "worker": reloaded.worker,
            "version": reloaded.version,
            "upgraded": reloaded.upgraded,
            "restarted": restarted,
        }))
    }
}

arsenal_sdk::export!(HotReloadSandbox);
