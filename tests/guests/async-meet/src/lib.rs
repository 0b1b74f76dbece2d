//! Test guest `async_meet`, version 1.0.0: see `meet.rs`.

const VERSION: &str = "1.0.0";

include!("meet.rs");
