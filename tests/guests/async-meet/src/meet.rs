// The asynchronous contract (`arsenal:operation/async-handler`): `execute` is an async
// function, so calls can be inside one instance at the same time. `POST
// /api/v1/test/async-meet` with a JSON body of any of:
// - `"sleep_ms": n` — wait n ms on the WASI 0.3 clock (`wait-for`) first;
// - `"meet": "key", "parties": n` — wait until n calls have arrived at `key` in this
//   instance (run one at a time, n > 1 calls never meet);
// - `"then": "trap"` — trap once met; `"then": "hang"` — never return once met.
// It answers this instance's id, the calls it has served (this one included), the most
// calls it had inside at once, the caller's principal and the component's version.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::poll_fn;
use std::hash::{BuildHasher as _, RandomState};
use std::task::{Poll, Waker};

wit_bindgen::generate!({
    path: "wit",
    world: "test:async-meet/async-meet",
    generate_all,
});

use arsenal::operation::types::{
    Config, ErrorInfo, HttpMethod, LimitHints, OpError, Request, Response,
};
use wasi::clocks::monotonic_clock;

struct Meet;

/// A meeting point: how many calls arrived, and the wakers of those waiting.
#[derive(Default)]
struct Meeting {
    arrived: u32,
    waiting: Vec<Waker>,
}

thread_local! {
    static INSTANCE: u64 = RandomState::new().hash_one(0u8);
    static CALLS: Cell<u32> = const { Cell::new(0) };
    static INSIDE: Cell<u32> = const { Cell::new(0) };
    static MOST_INSIDE: Cell<u32> = const { Cell::new(0) };
    static MEETINGS: RefCell<HashMap<String, Meeting>> = RefCell::new(HashMap::new());
}

fn invalid(message: &str) -> OpError {
    OpError::InvalidParams(ErrorInfo {
        message: message.to_owned(),
        details: None,
        code: None,
    })
}

/// Arrive at `key` and wait until `parties` calls have.
async fn meet(key: String, parties: u32) {
    let arrived = MEETINGS.with_borrow_mut(|meetings| {
        let meeting = meetings.entry(key.clone()).or_default();
        meeting.arrived += 1;
        if meeting.arrived >= parties {
            meeting.waiting.drain(..).for_each(Waker::wake);
        }
        meeting.arrived
    });
    if arrived >= parties {
        return;
    }
    poll_fn(|context| {
        MEETINGS.with_borrow_mut(|meetings| {
            let meeting = meetings.get_mut(&key).expect("arrived above");
            if meeting.arrived >= parties {
                Poll::Ready(())
            } else {
                meeting.waiting.push(context.waker().clone());
                Poll::Pending
            }
        })
    })
    .await;
}

impl exports::arsenal::operation::async_handler::Guest for Meet {
    fn describe() -> Config {
        Config {
            name: "async_meet".into(),
            version: VERSION.into(),
            category: "test".into(),
            summary: "Calls that meet inside one instance".into(),
            description: "An asynchronous operation whose calls wait on each other.".into(),
            method: HttpMethod::Post,
            path: "/api/v1/test/async-meet".into(),
            params: Vec::new(),
            success_status: 200,
            response_schema: None,
            limits: LimitHints {
                memory_mib: None,
                timeout_ms: None,
            },
            additional_params: true,
            outbound_hosts: Vec::new(),
            buckets: Vec::new(),
        }
    }

    async fn execute(request: Request) -> Result<Response, OpError> {
        let calls = CALLS.get() + 1;
        CALLS.set(calls);
        let inside = INSIDE.get() + 1;
        INSIDE.set(inside);
        MOST_INSIDE.set(MOST_INSIDE.get().max(inside));

        let params: serde_json::Value =
            serde_json::from_str(&request.params).map_err(|_| invalid("params are JSON"))?;
        if let Some(ms) = params["sleep_ms"].as_u64() {
            monotonic_clock::wait_for(ms * 1_000_000).await;
        }
        if let Some(key) = params["meet"].as_str() {
            let parties = params["parties"].as_u64().unwrap_or(2) as u32;
            meet(key.to_owned(), parties).await;
        }
        match params["then"].as_str() {
            Some("trap") => panic!("async_meet trapped on purpose"),
            Some("hang") => std::future::pending::<()>().await,
            _ => {}
        }
        INSIDE.set(INSIDE.get() - 1);
        let answer = serde_json::json!({
            "instance": INSTANCE.with(|id| format!("{id:016x}")),
            "calls": calls,
            "most_inside": MOST_INSIDE.get(),
            "principal": request.caller.principal,
            "version": VERSION,
        });
        Ok(Response {
            data: answer.to_string(),
        })
    }
}

export!(Meet);
