//! Test guest `panic`: `execute` panics. The panic message goes to the guest's stderr
//! (captured into the host log) and the call traps with `unreachable`.

use arsenal_sdk::prelude::*;

/// The panic message, for tests that look for it in the host log.
const MESSAGE: &str = "the panic test guest panicked on purpose";

struct Panic;

impl Operation for Panic {
    fn config() -> Config {
        Config::get("panic", "/api/v1/test/panic")
            .category("test")
            .summary("Panic")
            .description("Panics with a fixed message on every call.")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok(explode())
    }
}

/// Typed as returning a value so `execute` has a concrete success type.
fn explode() -> Value {
    panic!("{MESSAGE}")
}

arsenal_sdk::export!(Panic);
