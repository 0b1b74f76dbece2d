//! Test guest `async_meet`, version 2.0.0: the same source as `async-meet`.

const VERSION: &str = "2.0.0";

include!("../../async-meet/src/meet.rs");
