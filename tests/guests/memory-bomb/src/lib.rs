//! Test guest `memory_bomb`: `execute` allocates 1 MiB chunks, writing every byte, until
//! the allocator fails. With the host's memory cap, `memory.grow` returns -1, the Rust
//! allocator aborts and the call traps; the host must survive and answer an error.

use std::hint::black_box;

use arsenal_sdk::prelude::*;

const CHUNK: usize = 1 << 20;

struct MemoryBomb;

impl Operation for MemoryBomb {
    fn config() -> Config {
        Config::get("memory_bomb", "/api/v1/test/memory-bomb")
            .category("test")
            .summary("Allocate until memory runs out")
            .description("Keeps 1 MiB chunks alive until allocation fails, which aborts.")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok(allocate_forever())
    }
}

/// Keep every chunk alive so memory only grows. `vec![1; ..]` writes each byte, so the
/// pages are really touched; `black_box` keeps the chunks from being optimised away.
fn allocate_forever() -> usize {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        chunks.push(vec![1; CHUNK]);
        black_box(&chunks);
    }
}

arsenal_sdk::export!(MemoryBomb);
