//! Test guest `future_worker`: a worker exporting `arsenal:process/worker@0.9.0`, a
//! contract version the host does not accept (see `../wit-future-process`). The host must
//! refuse to load it and say which versions it accepts.
//!
//! Built with wit-bindgen directly: the SDK binds only the current contract.

wit_bindgen::generate!({
    path: "../wit-future-process",
    world: "arsenal:process/future-worker@0.9.0",
});

use exports::arsenal::process::worker::Guest;

struct FutureWorker;

impl Guest for FutureWorker {
    fn init(_args: String) -> Result<(), String> {
        Ok(())
    }
}

export!(FutureWorker);
