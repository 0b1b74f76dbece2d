//! Example worker driven by timers: with args `N` it ticks every N milliseconds (default
//! 1000) and counts its ticks; a call `ticks` answers the count, `stop` stops ticking.

use std::cell::Cell;

wit_bindgen::generate!({
    path: ["../../wit/operation", "../../wit/process"],
    world: "arsenal:process/worker-process",
    generate_all,
});

use arsenal::process::process;
use arsenal::process::types::Event;
use exports::arsenal::process::worker::Guest;

thread_local! {
    static EVERY: Cell<u32> = const { Cell::new(1_000) };
    static TICKS: Cell<u64> = const { Cell::new(0) };
    static TIMER: Cell<Option<u64>> = const { Cell::new(None) };
}

fn schedule() {
    let id = process::start_timer(EVERY.with(Cell::get), "tick");
    TIMER.with(|timer| timer.set(Some(id)));
}

struct Ticker;

impl Guest for Ticker {
    fn init(args: String) -> Result<(), String> {
        if !args.trim().is_empty() {
            let every: u32 = args
                .trim()
                .parse()
                .map_err(|_| format!("bad period `{args}`"))?;
            EVERY.with(|cell| cell.set(every.max(1)));
        }
        schedule();
        Ok(())
    }

    fn handle(events: Vec<Event>) -> Result<Vec<Option<String>>, String> {
        let mut replies = Vec::with_capacity(events.len());
        for event in events {
            let reply = match event {
                Event::Timer(_) => {
                    TICKS.with(|ticks| ticks.set(ticks.get() + 1));
                    schedule();
                    None
                }
                Event::Call(call) if call.payload == "ticks" => {
                    Some(TICKS.with(Cell::get).to_string())
                }
                Event::Call(call) | Event::Message(call) if call.payload == "stop" => {
                    if let Some(id) = TIMER.with(|timer| timer.take()) {
                        process::cancel_timer(id);
                    }
                    None
                }
                _ => None,
            };
            replies.push(reply);
        }
        Ok(replies)
    }
}

export!(Ticker);
