//! Built-in operation `echo`: answers its path parameter and any query parameters.
//! Used for latency checks; it does no work beyond decoding and encoding JSON.

use arsenal_sdk::prelude::*;

struct Echo;

impl Operation for Echo {
    fn config() -> Config {
        Config::get("echo", "/api/v1/echo/:id")
            .category(Category::System)
            .summary("Echo the path parameter and query parameters")
            .description("Answers `id` and every query parameter as sent. Used for latency checks.")
            .param(
                Param::path("id")
                    .string()
                    .min_length(1)
                    .max_length(256)
                    .describe("Any identifier"),
            )
            .additional_params()
            .response_schema(json!({
                "type": "object",
                "required": ["id", "query"],
                "properties": {
                    "id": { "type": "string" },
                    "query": { "type": "object", "additionalProperties": { "type": "string" } }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let mut query = request.raw_params().clone();
        let id = query.remove("id").unwrap_or(Value::Null);
        Ok(json!({ "id": id, "query": query }))
    }
}

arsenal_sdk::export!(Echo);
