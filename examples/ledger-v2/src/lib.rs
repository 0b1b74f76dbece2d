//! Example stateful worker, version 2 of 2: the ledger now also counts its entries and
//! keeps its state as JSON `{"total": N, "entries": K}`. `restore` takes the version the
//! state comes from, as OTP's `code_change` does: a version 1 state (`v1 total=N`) is
//! upgraded with 0 entries. A call `get` answers `v2:TOTAL/ENTRIES`.

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
    static ENTRIES: Cell<u64> = const { Cell::new(0) };
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
                            ENTRIES.with(|entries| entries.set(entries.get() + 1));
                            None
                        }
                        None if message.payload == "get" => Some(format!(
                            "v2:{}/{}",
                            TOTAL.with(Cell::get),
                            ENTRIES.with(Cell::get)
                        )),
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
        serde_json::json!({ "total": TOTAL.with(Cell::get), "entries": ENTRIES.with(Cell::get) })
            .to_string()
            .into_bytes()
    }

    fn restore(_from_version: String, state: Vec<u8>) -> Result<(), String> {
        let text = String::from_utf8(state).map_err(|_| "a ledger state is text".to_owned())?;
        // Version 1 wrote `v1 total=N`; version 2 writes JSON.
        let (total, entries) = match text.strip_prefix("v1 total=") {
            Some(total) => (
                total
                    .parse()
                    .map_err(|_| format!("bad v1 state `{text}`"))?,
                0,
            ),
            None => {
                let state: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|error| format!("bad v2 state: {error}"))?;
                let field = |name: &str| {
                    state[name]
                        .as_u64()
                        .ok_or_else(|| format!("v2 state without `{name}`"))
                };
                (field("total")?, field("entries")?)
            }
        };
        TOTAL.with(|cell| cell.set(total));
        ENTRIES.with(|cell| cell.set(entries));
        Ok(())
    }
}

export!(Ledger);
