//! Built-in operation `change_strategy`: change a running supervisor's flags.

use arsenal_sdk::prelude::*;
use arsenal_sdk::supervisors::{self, SupervisorFlags};

struct ChangeStrategy;

impl Operation for ChangeStrategy {
    fn config() -> Config {
        Config::put("change_strategy", "/api/v1/supervisors/:id/flags")
            .category(Category::Supervisor)
            .summary("Change a supervisor's strategy and intensity")
            .description(
                "Sets any of strategy, intensity and period_ms; the others keep their values. \
                 Takes effect for the next child exit.",
            )
            .status(200)
            .param(supervisors::target_param())
            .param(
                Param::body("strategy")
                    .string()
                    .one_of(["one_for_one", "one_for_all", "rest_for_one"])
                    .optional(),
            )
            .param(
                Param::body("intensity")
                    .integer()
                    .min(0)
                    .max(10_000)
                    .optional(),
            )
            .param(
                Param::body("period_ms")
                    .integer()
                    .min(1)
                    .max(86_400_000)
                    .optional(),
            )
            .response_schema(json!({
                "type": "object",
                "required": ["pid", "strategy", "intensity", "period_ms"]
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let target: String = request.param("id")?;
        let current = supervisors::get(&target)?;
        let strategy = match request.param::<Option<String>>("strategy")? {
            Some(name) => supervisors::parse_strategy(&name)
                .ok_or_else(|| Error::invalid_params(format!("unknown strategy `{name}`")))?,
            None => current.flags.strategy,
        };
        let wanted = SupervisorFlags {
            strategy,
            intensity: request
                .param::<Option<u32>>("intensity")?
                .unwrap_or(current.flags.intensity),
            period_ms: request
                .param::<Option<u64>>("period_ms")?
                .unwrap_or(current.flags.period_ms),
        };
        let flags = supervisors::set_flags(&target, wanted)?;
        log::info(&format!(
            "supervisor {} now {} with intensity {} in {} ms",
            current.pid,
            supervisors::strategy_name(flags.strategy),
            flags.intensity,
            flags.period_ms
        ));
        let mut answer = supervisors::flags_json(&flags);
        answer["pid"] = json!(current.pid);
        Ok(answer)
    }
}

arsenal_sdk::export!(ChangeStrategy);
