//! Test guest `big_memory`: its core module declares 128 MiB more initial linear memory
//! than it otherwise would, so instantiating it already exceeds a 64 MiB memory cap
//! before `execute` runs.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use arsenal_sdk::prelude::*;

const BYTES: usize = 128 << 20;

/// 128 MiB of zeroes in `.bss`. The linker sizes the initial memory to hold all of `.bss`,
/// so this raises the module's minimum memory to more than 128 MiB. Atomics give interior
/// mutability without `unsafe`; a plain immutable array could go into read-only data instead.
static BIG: [AtomicU64; BYTES / 8] = [const { AtomicU64::new(0) }; BYTES / 8];

struct BigMemory;

impl Operation for BigMemory {
    fn config() -> Config {
        Config::get("big_memory", "/api/v1/test/big-memory")
            .category("test")
            .summary("Start with 128 MiB of linear memory")
            .description("Its initial memory is larger than the default per-call memory cap.")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        // Index through `black_box` so the array is used and cannot be dropped.
        let last = black_box(BIG.len() - 1);
        BIG[last].fetch_add(1, Ordering::Relaxed);
        Ok(json!({ "bytes": BYTES, "last": BIG[last].load(Ordering::Relaxed) }))
    }
}

arsenal_sdk::export!(BigMemory);
