//! Built-in operation `set_sandbox_policy`: change what a sandbox's processes may reach.

use arsenal_sdk::prelude::*;
use arsenal_sdk::sandboxes;

struct SetSandboxPolicy;

impl Operation for SetSandboxPolicy {
    fn config() -> Config {
        Config::put("set_sandbox_policy", "/api/v1/sandboxes/:id/policy")
            .category(Category::Sandbox)
            .summary("Change a sandbox's policy")
            .description(
                "external_messaging: whether its processes may send to, call, link to, monitor \
                 and look up processes outside the sandbox (default false, deny); takes effect \
                 at their next host call. directory: whether its workers get a private \
                 directory at /data (default false); applies to instances started afterwards \
                 (a restart or a wake from hibernation); the directory and its files stay \
                 until the sandbox is destroyed.",
            )
            .status(200)
            .param(sandboxes::id_param())
            .param(Param::body("external_messaging").boolean().optional())
            .param(Param::body("directory").boolean().optional())
            .response_schema(json!({ "type": "object", "required": ["id", "policy"] }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let id: String = request.param("id")?;
        let mut update = request.raw_params().clone();
        update.remove("id");
        let info = sandboxes::set_policy(&id, &Value::Object(update).to_string())?;
        Ok(sandboxes::info_json(&info))
    }
}

arsenal_sdk::export!(SetSandboxPolicy);
