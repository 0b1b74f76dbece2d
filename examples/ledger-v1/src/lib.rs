//! Example stateful worker, version 1 of 2: a ledger keeping a running total. Messages
//! `add N`; a call `get` answers `v1:TOTAL`. Its state is the text `v1 total=N`, which
//! version 2 knows how to upgrade (see `ledger-v2`).

use std::cell::Cell;

wit_bindgen::generate!({
    path: ["../../wit/operation", "../../wit/process"],
    world: "arsenal:process/stateful-worker-process",
    generate_all,
});

use arsenal::process::types::Event;
use exports::arsenal::process::state::Guest as State;
use exports::arsenal::process::worker::Guest as Worker;

thread_local! {
    static TOTAL: Cell<u64> = const { Cell::new(0) };
}

struct Ledger;

impl Worker for Ledger {
    fn init(_args: String) -> Result<(), String> {
        Ok(())
    }

    fn handle(events: Vec<Event>) -> Result<Vec<Option<String>>, String> {
        let mut replies = Vec::with_capacity(events.len());
        for event in events {
            let reply = match event {
                Event::Message(message) | Event::Call(message) => {
                    match message.payload.split_once(' ') {
                        Some(("add", n)) => {
                            let n: u64 = n.parse().map_err(|_| format!("bad amount `{n}`"))?;
                            TOTAL.with(|total| total.set(total.get() + n));
                            None
                        }
                        None if message.payload == "get" => {
                            Some(format!("v1:{}", TOTAL.with(Cell::get)))
                        }
                        _ => return Err(format!("unknown command `{}`", message.payload)),
                    }
                }
                _ => None,
            };
            replies.push(reply);
        }
        Ok(replies)
    }
}

impl State for Ledger {
    fn snapshot() -> Vec<u8> {
        format!("v1 total={}", TOTAL.with(Cell::get)).into_bytes()
    }

    fn restore(_from_version: String, state: Vec<u8>) -> Result<(), String> {
        let text = String::from_utf8(state).map_err(|_| "a v1 ledger state is text".to_owned())?;
        let total = text
            .strip_prefix("v1 total=")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("not a v1 ledger state: `{text}`"))?;
        TOTAL.with(|cell| cell.set(total));
        Ok(())
    }
}

export!(Ledger);
