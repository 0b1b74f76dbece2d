//! Test guest `route_a`: answers `GET /api/v1/test/conflict/:x`, the same route as
//! `route_b`, so loading both is a route conflict.

use arsenal_sdk::prelude::*;

struct RouteA;

impl Operation for RouteA {
    fn config() -> Config {
        Config::get("route_a", "/api/v1/test/conflict/:x")
            .category("test")
            .summary("Claim a contested route")
            .description("Shares its route with `route_b`.")
            .param(Param::path("x").string())
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let x: String = request.param("x")?;
        Ok(json!({ "operation": "route_a", "x": x }))
    }
}

arsenal_sdk::export!(RouteA);
