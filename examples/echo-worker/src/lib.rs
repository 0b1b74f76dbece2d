//! Example worker: the smallest useful process. A call is answered with its payload; a
//! message `to PID TEXT` forwards TEXT to another process. No state, so it never
//! hibernates: an idle echo costs only its instance.

wit_bindgen::generate!({
    path: ["../../wit/operation", "../../wit/process"],
    world: "arsenal:process/worker-process",
    generate_all,
});

use arsenal::process::process;
use arsenal::process::types::Event;
use exports::arsenal::process::worker::Guest;

struct Echo;

impl Guest for Echo {
    fn init(_args: String) -> Result<(), String> {
        Ok(())
    }

    fn handle(events: Vec<Event>) -> Result<Vec<Option<String>>, String> {
        Ok(events
            .into_iter()
            .map(|event| match event {
                Event::Call(call) => Some(call.payload),
                Event::Message(message) => {
                    if let Some((to, text)) = message
                        .payload
                        .strip_prefix("to ")
                        .and_then(|rest| rest.split_once(' '))
                    {
                        // A refused forward is reported in the log, not a crash.
                        if let Err(error) = process::send(to, text) {
                            eprintln!("forward to {to} failed: {error:?}");
                        }
                    }
                    None
                }
                _ => None,
            })
            .collect())
    }
}

export!(Echo);
