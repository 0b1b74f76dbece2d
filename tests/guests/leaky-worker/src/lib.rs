//! Test worker that leaks on purpose: each message `"N"` makes it keep N KiB it never
//! frees, so its linear memory grows message after message (for `detect_memory_leaks`).

use std::cell::RefCell;

wit_bindgen::generate!({
    path: ["../../../wit/operation", "../../../wit/process"],
    world: "arsenal:process/worker-process",
    generate_all,
});

use arsenal::process::types::Event;
use exports::arsenal::process::worker::Guest;

thread_local! {
    static HOARD: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

struct Leaky;

impl Guest for Leaky {
    fn init(_args: String) -> Result<(), String> {
        Ok(())
    }

    fn handle(events: Vec<Event>) -> Result<Vec<Option<String>>, String> {
        let mut replies = Vec::with_capacity(events.len());
        for event in events {
            if let Event::Message(message) | Event::Call(message) = event {
                let kib: usize = message
                    .payload
                    .trim()
                    .parse()
                    .map_err(|_| "send a number of KiB".to_owned())?;
                // Touched, so the pages are really used.
                HOARD.with(|hoard| hoard.borrow_mut().push(vec![1u8; kib * 1024]));
            }
            replies.push(None);
        }
        Ok(replies)
    }
}

export!(Leaky);
