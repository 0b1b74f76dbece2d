//! Test worker using `wasi:filesystem` through std: calls `write NAME TEXT`, `read PATH`
//! and `list` work in `/data`, the private directory a sandbox may grant. Failures are
//! answered as `error: ...` so a refused path does not crash it.

wit_bindgen::generate!({
    path: ["../../../wit/operation", "../../../wit/process"],
    world: "arsenal:process/worker-process",
    generate_all,
});

use arsenal::process::types::Event;
use exports::arsenal::process::worker::Guest;

struct Files;

fn answer(command: &str) -> Result<String, String> {
    let text = |error: std::io::Error| error.to_string();
    match command.split_once(' ') {
        Some(("write", rest)) => {
            let (name, content) = rest.split_once(' ').ok_or("write NAME TEXT")?;
            std::fs::write(format!("/data/{name}"), content).map_err(text)?;
            Ok("ok".to_owned())
        }
        Some(("read", path)) => std::fs::read_to_string(path).map_err(text),
        None if command == "list" => {
            let mut names: Vec<String> = std::fs::read_dir("/data")
                .map_err(text)?
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            Ok(names.join(","))
        }
        _ => Err(format!("unknown command `{command}`")),
    }
}

impl Guest for Files {
    fn init(_args: String) -> Result<(), String> {
        Ok(())
    }

    fn handle(events: Vec<Event>) -> Result<Vec<Option<String>>, String> {
        Ok(events
            .into_iter()
            .map(|event| match event {
                Event::Call(call) => {
                    Some(answer(&call.payload).unwrap_or_else(|error| format!("error: {error}")))
                }
                _ => None,
            })
            .collect())
    }
}

export!(Files);
