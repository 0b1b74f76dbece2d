//! Example worker process: a counter. Messages `"inc"` and `"add N"` change it, a call
//! with `"get"` replies with the value; `snapshot`/`restore` carry it across hibernation
//! and upgrades. It also drives the `process` import for tests: `tell TO MSG` (send),
//! `ask TO MSG` (call, waiting up to 10 s, replying with the answer), `self`, `timer MS`
//! (an `inc` later), `link TO`, `monitor TO`, `trap on|off`, `whereis NAME`. Written
//! against the process world directly with wit-bindgen.

use std::cell::Cell;

wit_bindgen::generate!({
    path: ["../../wit/operation", "../../wit/process"],
    world: "arsenal:process/stateful-worker-process",
    generate_all,
});

use arsenal::process::process;
use arsenal::process::types::Event;
use exports::arsenal::process::state::Guest as State;
use exports::arsenal::process::worker::Guest as Worker;

thread_local! {
    static COUNT: Cell<i64> = const { Cell::new(0) };
}

struct Counter;

impl Worker for Counter {
    fn init(args: String) -> Result<(), String> {
        let start = if args.trim().is_empty() {
            0
        } else {
            args.trim()
                .parse()
                .map_err(|_| format!("bad start value `{args}`"))?
        };
        COUNT.with(|count| count.set(start));
        Ok(())
    }

    fn handle(events: Vec<Event>) -> Result<Vec<Option<String>>, String> {
        let mut replies = Vec::with_capacity(events.len());
        for event in events {
            let reply = match event {
                Event::Message(message) | Event::Call(message) => apply(&message.payload)?,
                Event::Timer(_) => apply("inc")?,
                Event::Exit(_) | Event::Down(_) => None,
            };
            replies.push(reply);
        }
        Ok(replies)
    }
}

fn apply(payload: &str) -> Result<Option<String>, String> {
    let command = payload.trim_matches('"');
    match command.split_once(' ') {
        None if command == "inc" => COUNT.with(|count| count.set(count.get() + 1)),
        None if command == "get" => return Ok(Some(COUNT.with(Cell::get).to_string())),
        None if command == "crash" => return Err("asked to crash".to_owned()),
        None if command == "self" => return Ok(Some(process::self_pid())),
        Some(("tell", rest)) => {
            let (to, message) = rest.split_once(' ').ok_or("tell TO MSG")?;
            process::send(to, message).map_err(|error| format!("send failed: {error:?}"))?;
        }
        Some(("ask", rest)) => {
            let (to, message) = rest.split_once(' ').ok_or("ask TO MSG")?;
            // Long enough that a test sees two workers asking each other stay deadlocked
            // however loaded the machine.
            let answer = process::call(to, message, 10_000)
                .map_err(|error| format!("call failed: {error:?}"))?;
            return Ok(Some(answer));
        }
        Some(("timer", ms)) => {
            let ms: u32 = ms.parse().map_err(|_| format!("bad delay `{ms}`"))?;
            return Ok(Some(process::start_timer(ms, "inc").to_string()));
        }
        Some(("link", to)) => {
            process::link(to).map_err(|error| format!("link failed: {error:?}"))?
        }
        Some(("monitor", to)) => {
            let id = process::monitor(to).map_err(|error| format!("monitor failed: {error:?}"))?;
            return Ok(Some(id.to_string()));
        }
        Some(("trap", flag)) => process::trap_exit(flag == "on"),
        Some(("whereis", name)) => return Ok(process::whereis(name)),
        Some(("add", n)) => {
            let n: i64 = n.parse().map_err(|_| format!("bad number `{n}`"))?;
            COUNT.with(|count| count.set(count.get() + n));
        }
        _ => return Err(format!("unknown command `{command}`")),
    }
    Ok(None)
}

impl State for Counter {
    fn snapshot() -> Vec<u8> {
        COUNT.with(Cell::get).to_le_bytes().to_vec()
    }

    fn restore(_from_version: String, state: Vec<u8>) -> Result<(), String> {
        let bytes: [u8; 8] = state
            .try_into()
            .map_err(|_| "a counter snapshot is 8 bytes".to_owned())?;
        COUNT.with(|count| count.set(i64::from_le_bytes(bytes)));
        Ok(())
    }
}

export!(Counter);
