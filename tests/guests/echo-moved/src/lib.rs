//! Test guest `echo_moved`: version 3.0.0 of the built-in `echo` on another route —
//! `GET /api/v1/test/conflict/:x`, the route `route_a` and `route_b` claim. Replacing echo
//! with it moves echo's route when that route is free, and is a route conflict naming
//! `route_a` when `route_a` is loaded.

use arsenal_sdk::prelude::*;

struct EchoMoved;

impl Operation for EchoMoved {
    fn config() -> Config {
        Config::get("echo", "/api/v1/test/conflict/:x")
            .version("3.0.0")
            .category(Category::System)
            .summary("Echo the path parameter (version 3, moved)")
            .description("Answers `x` and `v: 3` from a route of its own.")
            .param(Param::path("x").string().min_length(1).max_length(256))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let x: String = request.param("x")?;
        Ok(json!({ "x": x, "v": 3 }))
    }
}

arsenal_sdk::export!(EchoMoved);
