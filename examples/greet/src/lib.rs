//! Example operation `greet`: typed parameters, an error path and a log line.

use arsenal_sdk::prelude::*;

struct Greet;

impl Operation for Greet {
    fn config() -> Config {
        Config::get("greet", "/api/v1/greet/:name")
            .summary("Greet someone")
            .param(
                Param::path("name")
                    .string()
                    .max_length(32)
                    .describe("Who to greet"),
            )
            .param(Param::query("times").integer().min(1).max(5).default(1))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let name: String = request.param("name")?;
        let times: usize = request.param("times")?;
        if name == "nobody" {
            return Err(Error::not_found("there is nobody to greet"));
        }
        log::info(&format!("greeting {name} {times} time(s)"));
        Ok(json!({ "greeting": vec![format!("hello, {name}!"); times].join(" ") }))
    }
}

arsenal_sdk::export!(Greet);
