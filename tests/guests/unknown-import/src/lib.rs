//! Test guest `unknown_import`: an operation that also imports `example:unknown/thing`,
//! an interface no host provides, and calls it in `execute` so the import stays in the
//! component. The host must refuse to load it, naming the import.
//!
//! Built with wit-bindgen directly: the SDK binds only the interfaces Arsenal defines.

wit_bindgen::generate!({
    path: ["../../../wit/operation", "../wit-unknown"],
    world: "example:unknown/unknown-import",
    // The contract's types live in another package; generate them here too.
    generate_all,
});

use arsenal::operation::types::{Config, HttpMethod, LimitHints, OpError, Request, Response};
use example::unknown::thing;
use exports::arsenal::operation::handler::Guest;

struct UnknownImport;

impl Guest for UnknownImport {
    fn describe() -> Config {
        Config {
            name: "unknown_import".to_owned(),
            version: "0.1.0".to_owned(),
            category: "test".to_owned(),
            summary: "Import an unknown interface".to_owned(),
            description: "Calls `example:unknown/thing.poke`, which no host provides.".to_owned(),
            method: HttpMethod::Get,
            path: "/api/v1/test/unknown-import".to_owned(),
            params: Vec::new(),
            success_status: 200,
            response_schema: None,
            limits: LimitHints {
                memory_mib: None,
                timeout_ms: None,
            },
            additional_params: false,
            outbound_hosts: Vec::new(),
            buckets: Vec::new(),
        }
    }

    fn execute(_request: Request) -> Result<Response, OpError> {
        let poked = thing::poke();
        Ok(Response {
            data: format!("{{\"poked\":{poked}}}"),
        })
    }
}

export!(UnknownImport);
