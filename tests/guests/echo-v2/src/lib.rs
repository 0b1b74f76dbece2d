//! Test guest `echo_v2`: version 2.0.0 of the built-in `echo` (same name and route),
//! answering `"v": 2` so a test can tell which version served a request after a replacement.

use arsenal_sdk::prelude::*;

struct EchoV2;

impl Operation for EchoV2 {
    fn config() -> Config {
        Config::get("echo", "/api/v1/echo/:id")
            .version("2.0.0")
            .category(Category::System)
            .summary("Echo the path parameter and query parameters (version 2)")
            .description("Answers `id`, every query parameter as sent, and `v: 2`.")
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
                "required": ["id", "query", "v"],
                "properties": {
                    "id": { "type": "string" },
                    "query": { "type": "object", "additionalProperties": { "type": "string" } },
                    "v": { "const": 2 }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let mut query = request.raw_params().clone();
        let id = query.remove("id").unwrap_or(Value::Null);
        Ok(json!({ "id": id, "query": query, "v": 2 }))
    }
}

arsenal_sdk::export!(EchoV2);
