//! Test guest `deep_recursion`: `execute` recurses without bound until the stack
//! overflows and the call traps; the host must survive and answer an error.

use std::hint::black_box;

use arsenal_sdk::prelude::*;

struct DeepRecursion;

impl Operation for DeepRecursion {
    fn config() -> Config {
        Config::get("deep_recursion", "/api/v1/test/recursion")
            .category("test")
            .summary("Recurse until the stack overflows")
            .description("Unbounded, non-tail recursion.")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok(recurse(0))
    }
}

/// The addition after the call keeps it out of tail position, and `black_box` on both
/// sides stops LLVM from turning the accumulation into a loop.
#[expect(
    unconditional_recursion,
    reason = "the guest exists to overflow the stack"
)]
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    black_box(recurse(black_box(depth + 1))) + depth
}

arsenal_sdk::export!(DeepRecursion);
