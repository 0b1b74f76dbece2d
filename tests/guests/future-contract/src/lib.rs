//! Test guest `future_contract`: implements `arsenal:operation@0.9.0`, a contract version
//! the host does not accept (see `../wit-future`). The host must refuse to load it and
//! say which versions it accepts.
//!
//! Built with wit-bindgen directly: the SDK binds only the current contract.

wit_bindgen::generate!({
    path: "../wit-future",
    world: "arsenal:operation/operation@0.9.0",
});

use arsenal::operation::types::{Config, HttpMethod, LimitHints, OpError, Request, Response};
use exports::arsenal::operation::handler::Guest;

struct FutureContract;

impl Guest for FutureContract {
    fn describe() -> Config {
        Config {
            name: "future_contract".to_owned(),
            version: "0.1.0".to_owned(),
            category: "test".to_owned(),
            summary: "Implement a future contract".to_owned(),
            description: "Exports `arsenal:operation/handler@0.9.0`.".to_owned(),
            method: HttpMethod::Get,
            path: "/api/v1/test/future-contract".to_owned(),
            params: Vec::new(),
            success_status: 200,
            response_schema: None,
            limits: LimitHints {
                memory_mib: None,
                timeout_ms: None,
            },
            additional_params: false,
        }
    }

    fn execute(_request: Request) -> Result<Response, OpError> {
        Ok(Response {
            data: "{}".to_owned(),
        })
    }
}

export!(FutureContract);
