//! Test guest `host_call_loop`: `execute` calls the host's `log` function forever. The
//! deadline must still fire although the guest keeps crossing into the host.

use arsenal_sdk::prelude::*;

struct HostCallLoop;

impl Operation for HostCallLoop {
    fn config() -> Config {
        Config::get("host_call_loop", "/api/v1/test/host-call-loop")
            .category("test")
            .summary("Log forever")
            .description("Calls `log::trace` in an endless loop.")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        Ok(log_forever())
    }
}

/// Each iteration is a host call, which the optimiser cannot remove.
fn log_forever() -> u64 {
    loop {
        log::trace("host_call_loop: still looping");
    }
}

arsenal_sdk::export!(HostCallLoop);
