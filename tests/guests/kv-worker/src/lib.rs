//! Test worker keeping its state in a bucket (the one its start arguments name, else
//! `state`): `init` counts its starts, a call
//! `count` increments the counter and answers it, `get` answers it, `starts` answers the
//! starts, and `crash` crashes the worker (for its supervisor to restart).

wit_bindgen::generate!({
    inline: "
        package test:kv-worker;
        world kv-worker {
            include arsenal:process/worker-process@0.1.0;
            import wasi:keyvalue/store@0.2.0-draft;
            import wasi:keyvalue/atomics@0.2.0-draft;
        }
    ",
    path: ["../../../wit/operation", "../../../wit/process", "../../../wit/deps/keyvalue"],
    world: "test:kv-worker/kv-worker",
    generate_all,
});

use arsenal::process::types::Event;
use exports::arsenal::process::worker::Guest;
use wasi::keyvalue::{atomics, store};

struct Counter;

/// The bucket's name, from the start arguments.
static BUCKET: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn bucket() -> Result<store::Bucket, String> {
    let name = BUCKET.get().map_or("state", String::as_str);
    store::open(name).map_err(|error| format!("{error:?}"))
}

fn read(key: &str) -> Result<String, String> {
    let value = bucket()?.get(key).map_err(|error| format!("{error:?}"))?;
    Ok(value.map_or_else(|| "0".to_owned(), |value| String::from_utf8_lossy(&value).into_owned()))
}

fn answer(command: &str) -> Result<String, String> {
    match command {
        "count" => atomics::increment(&bucket()?, "counter", 1)
            .map(|value| value.to_string())
            .map_err(|error| format!("{error:?}")),
        "get" => read("counter"),
        "starts" => read("starts"),
        "crash" => Err("asked to crash".to_owned()),
        other => Ok(format!("unknown command `{other}`")),
    }
}

impl Guest for Counter {
    fn init(args: String) -> Result<(), String> {
        if !args.is_empty() {
            let _ = BUCKET.set(args);
        }
        atomics::increment(&bucket()?, "starts", 1).map_err(|error| format!("{error:?}"))?;
        Ok(())
    }

    fn handle(events: Vec<Event>) -> Result<Vec<Option<String>>, String> {
        let mut replies = Vec::new();
        for event in events {
            replies.push(match event {
                Event::Call(call) => Some(answer(&call.payload)?),
                Event::Message(message) => {
                    answer(&message.payload)?;
                    None
                }
                _ => None,
            });
        }
        Ok(replies)
    }
}

export!(Counter);
