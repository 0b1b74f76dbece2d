//! Test guest `loop_forever`: `execute` spins forever without calling the host.
//! The host must interrupt it at its deadline (epoch interruption) and answer 504.

use std::hint::black_box;

use arsenal_sdk::prelude::*;

struct LoopForever;

impl Operation for LoopForever {
    fn config() -> Config {
        Config::get("loop_forever", "/api/v1/test/loop")
            .category("test")
            .summary("Spin forever")
            .description("Never returns and never calls the host: only a deadline stops it.")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok(spin())
    }
}

/// Count forever. `black_box` keeps the optimiser from deleting the loop (an infinite loop
/// without side effects is otherwise fair game); the declared return type only gives
/// `execute` a value to name.
fn spin() -> u64 {
    let mut spins: u64 = 0;
    loop {
        spins = black_box(spins.wrapping_add(1));
    }
}

arsenal_sdk::export!(LoopForever);
