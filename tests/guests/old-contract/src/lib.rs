//! Test guest `old_contract`: an operation built against `arsenal:operation@0.1.0`, the
//! contract before `outbound-hosts` and `buckets`, from the host's frozen copy of its WIT.
//! The host must keep loading and serving it: its config read without the fields added
//! since, its `log` and `types` imports of 0.1.0 linked.
//!
//! Built with wit-bindgen directly: the SDK binds only the current contract.

wit_bindgen::generate!({
    path: "../../../host/engine/wit/operation-0.1.0",
    world: "arsenal:operation/operation@0.1.0",
});

use arsenal::operation::log::{Level, log};
use arsenal::operation::types::{
    Config, Constraints, HttpMethod, LimitHints, OpError, Param, ParamLocation, ParamType,
    Request, Response,
};
use exports::arsenal::operation::handler::Guest;

struct OldContract;

impl Guest for OldContract {
    fn describe() -> Config {
        Config {
            name: "old_contract".to_owned(),
            version: "0.1.0".to_owned(),
            category: "test".to_owned(),
            summary: "Answer from the contract 0.1.0".to_owned(),
            description: String::new(),
            method: HttpMethod::Get,
            path: "/api/v1/test/old-contract".to_owned(),
            params: vec![Param {
                name: "word".to_owned(),
                location: ParamLocation::Query,
                type_: ParamType::String,
                items: None,
                required: true,
                default: None,
                description: "Echoed back".to_owned(),
                constraints: Constraints {
                    minimum: None,
                    maximum: None,
                    min_length: None,
                    max_length: Some(16),
                    pattern: None,
                    one_of: Vec::new(),
                },
                sensitive: false,
            }],
            success_status: 200,
            response_schema: None,
            limits: LimitHints {
                memory_mib: None,
                timeout_ms: None,
            },
            additional_params: false,
        }
    }

    fn execute(request: Request) -> Result<Response, OpError> {
        log(Level::Info, "answering from the contract 0.1.0");
        Ok(Response {
            data: format!(r#"{{"contract":"0.1.0","params":{}}}"#, request.params),
        })
    }
}

export!(OldContract);
