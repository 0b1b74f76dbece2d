//! Test guest `instance-counter`: answers how many calls this instance has served,
//! counting the current one, and who called. A fresh instance always answers 1; an instance
//! reused by the warm-instance mode counts on. `trap=true` panics after counting (the
//! instance must then be discarded); `fail=true` returns an operation error (a normal
//! return: the instance may be reused).

use std::sync::atomic::{AtomicU32, Ordering};

use arsenal_sdk::prelude::*;

static CALLS: AtomicU32 = AtomicU32::new(0);

struct InstanceCounter;

impl Operation for InstanceCounter {
    fn config() -> Config {
        Config::get("instance_counter", "/api/v1/test/instance-counter")
            .category("test")
            .summary("Count the calls of this instance")
            .description("Answers the number of calls this instance served and the caller.")
            .param(Param::query("trap").boolean().default(false))
            .param(Param::query("fail").boolean().default(false))
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let calls = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
        if request.param::<bool>("trap")? {
            panic!("instance-counter trapped on purpose after {calls} calls");
        }
        if request.param::<bool>("fail")? {
            return Err(Error::conflict(format!("failing on purpose at call {calls}")));
        }
        Ok(json!({ "calls": calls, "principal": request.caller().principal }))
    }
}

arsenal_sdk::export!(InstanceCounter);
