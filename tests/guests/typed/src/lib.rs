//! Test guest `typed`: declares every parameter location, type and constraint the contract
//! has, so the host's decoding and validation can be tested end to end. A valid call
//! answers the parameters it received (defaults applied) plus `caller`; a few values of
//! `name` return each kind of operation error instead.

use arsenal_sdk::prelude::*;

struct Typed;

impl Operation for Typed {
    fn config() -> Config {
        Config::post("typed", "/api/v1/test/typed/:id")
            .version("1.2.3")
            .category("test")
            .summary("Validate every parameter kind")
            .description(
                "Answers the validated parameters and the caller. A `name` of `missing`, \
                 `conflict`, `forbidden`, `unavail`, `timeout`, `internal` or `invalid` \
                 returns that kind of error instead.",
            )
            .param(
                Param::path("id")
                    .integer()
                    .min(1)
                    .max(1000)
                    .describe("A number from 1 to 1000"),
            )
            .param(
                Param::query("mode")
                    .string()
                    .one_of(["fast", "slow"])
                    .default("fast"),
            )
            .param(Param::query("verbose").boolean().optional())
            .param(Param::query("ratio").number().min(0).max(1).optional())
            .param(
                Param::query("tags")
                    .array(ParamType::String)
                    .max_length(3)
                    .optional(),
            )
            .param(
                Param::body("name")
                    .string()
                    .min_length(2)
                    .max_length(10)
                    .pattern("^[a-z]+$"),
            )
            .param(Param::body("count").integer().default(1))
            .param(Param::body("meta").object().optional())
            .param(Param::body("scores").array(ParamType::Number).optional())
            .response_schema(json!({
                "type": "object",
                "required": ["id", "mode", "name", "count", "caller"],
                "properties": {
                    "id": { "type": "integer", "minimum": 1, "maximum": 1000 },
                    "mode": { "type": "string", "enum": ["fast", "slow"] },
                    "verbose": { "type": "boolean" },
                    "ratio": { "type": "number", "minimum": 0, "maximum": 1 },
                    "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 3 },
                    "name": { "type": "string" },
                    "count": { "type": "integer" },
                    "meta": { "type": "object" },
                    "scores": { "type": "array", "items": { "type": "number" } },
                    "caller": {
                        "type": "object",
                        "required": ["principal", "request_id"],
                        "properties": {
                            "principal": { "type": "string" },
                            "roles": { "type": "array", "items": { "type": "string" } },
                            "request_id": { "type": "string" }
                        }
                    }
                }
            }))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let name: String = request.param("name")?;
        // Every name is at most 10 characters (the declared `max_length`), hence
        // `unavail` rather than `unavailable`.
        match name.as_str() {
            "missing" => return Err(Error::not_found("no such thing")),
            "conflict" => {
                return Err(
                    Error::conflict("it already exists").with_details(json!({ "name": name }))
                );
            }
            "forbidden" => return Err(Error::forbidden("not allowed")),
            "unavail" => return Err(Error::unavailable("try again later")),
            "timeout" => return Err(Error::timeout("gave up waiting")),
            "internal" => return Err(Error::internal("something broke")),
            "invalid" => return Err(Error::invalid_params("name is not acceptable")),
            _ => {}
        }
        let caller = request.caller();
        let mut data = request.raw_params().clone();
        data.insert(
            "caller".to_owned(),
            json!({
                "principal": caller.principal,
                "roles": caller.roles,
                "request_id": caller.request_id,
            }),
        );
        Ok(data)
    }
}

arsenal_sdk::export!(Typed);
