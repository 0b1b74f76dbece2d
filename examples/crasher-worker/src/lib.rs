//! Example worker that fails on demand, for supervision: `init` fails when its args are
//! `fail`; the message `crash` returns an error, `trap` hits `unreachable`, `exhaust`
//! grows memory until the cap refuses; with args `after N` it crashes on its Nth message.
//! A call `ping` answers `pong`.

use std::cell::Cell;

wit_bindgen::generate!({
    path: ["../../wit/operation", "../../wit/process"],
    world: "arsenal:process/worker-process",
    generate_all,
});

use arsenal::process::types::Event;
use exports::arsenal::process::worker::Guest;

thread_local! {
    static LEFT: Cell<Option<u32>> = const { Cell::new(None) };
}

struct Crasher;

impl Guest for Crasher {
    fn init(args: String) -> Result<(), String> {
        match args.trim() {
            "fail" => Err("asked to fail in init".to_owned()),
            "" => Ok(()),
            other => {
                let n = other
                    .strip_prefix("after ")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("unknown args `{other}`"))?;
                LEFT.with(|left| left.set(Some(n)));
                Ok(())
            }
        }
    }

    fn handle(events: Vec<Event>) -> Result<Vec<Option<String>>, String> {
        let mut replies = Vec::with_capacity(events.len());
        for event in events {
            if let Some(n) = LEFT.with(Cell::get) {
                if n <= 1 {
                    return Err("crashed after its last allowed message".to_owned());
                }
                LEFT.with(|left| left.set(Some(n - 1)));
            }
            let payload = match &event {
                Event::Message(message) | Event::Call(message) => message.payload.as_str(),
                _ => "",
            };
            let reply = match payload {
                "crash" => return Err("asked to crash".to_owned()),
                "trap" => core::arch::wasm32::unreachable(),
                "exhaust" => {
                    let mut hoard = Vec::new();
                    loop {
                        hoard.push(vec![1u8; 1 << 20]);
                    }
                }
                "ping" => Some("pong".to_owned()),
                _ => None,
            };
            replies.push(reply);
        }
        Ok(replies)
    }
}

export!(Crasher);
