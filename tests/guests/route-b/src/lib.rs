//! Test guest `route_b`: answers `GET /api/v1/test/conflict/:x`, the same route as
//! `route_a`, so loading both is a route conflict.

use arsenal_sdk::prelude::*;

struct RouteB;

impl Operation for RouteB {
    fn config() -> Config {
        Config::get("route_b", "/api/v1/test/conflict/:x")
            .category("test")
            .summary("Claim a contested route")
            .description("Shares its route with `route_a`.")
            .param(Param::path("x").string())
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let x: String = request.param("x")?;
        Ok(json!({ "operation": "route_b", "x": x }))
    }
}

arsenal_sdk::export!(RouteB);
