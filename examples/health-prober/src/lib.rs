//! Example worker: a health prober. Run it under a supervisor; it reads its settings
//! through `wasi:config` (`targets`: URLs separated by commas; `interval_ms`, default
//! 30000; the secret `token`, sent as a bearer credential when set), probes each target
//! over `wasi:http` every interval, and keeps each target's last result in the shared
//! bucket `probes` (`wasi:keyvalue`), so a restart of the prober, or the `probe_report`
//! operation, finds them there.
//!
//! Calls: `probe` probes now and answers the round's results, `report` answers what the
//! bucket holds, `crash` crashes the worker (for its supervisor to restart).

wit_bindgen::generate!({
    inline: "
        package example:health-prober;
        world prober {
            include arsenal:process/worker-process@0.1.0;
            import wasi:keyvalue/store@0.2.0-draft;
            import wasi:keyvalue/atomics@0.2.0-draft;
            import wasi:config/store@0.2.0-rc.1;
        }
    ",
    path: [
        "../../wit/operation",
        "../../wit/process",
        "../../wit/deps/keyvalue",
        "../../wit/deps/config",
    ],
    world: "example:health-prober/prober",
    generate_all,
});

use arsenal::process::process;
use arsenal::process::types::Event;
use exports::arsenal::process::worker::Guest;
use serde_json::{Map, Value, json};
use wasi::config::store as config;
use wasi::keyvalue::{atomics, store};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

/// The bucket the results are kept in, shared with `probe_report` by the operator.
const BUCKET: &str = "probes";
/// The key counting the rounds probed.
const ROUNDS: &str = "rounds";

struct Prober;

impl Guest for Prober {
    fn init(_args: String) -> Result<(), String> {
        process::start_timer(interval_ms()?, "probe");
        Ok(())
    }

    fn handle(events: Vec<Event>) -> Result<Vec<Option<String>>, String> {
        let mut replies = Vec::with_capacity(events.len());
        for event in events {
            let reply = match event {
                Event::Timer(_) => {
                    probe_all()?;
                    process::start_timer(interval_ms()?, "probe");
                    None
                }
                Event::Call(message) | Event::Message(message) => {
                    match message.payload.trim_matches('"') {
                        "probe" => Some(probe_all()?.to_string()),
                        "report" => Some(report()?.to_string()),
                        "crash" => return Err("asked to crash".to_owned()),
                        other => Some(format!("unknown command `{other}`")),
                    }
                }
                Event::Exit(_) | Event::Down(_) => None,
            };
            replies.push(reply);
        }
        Ok(replies)
    }
}

fn setting(key: &str) -> Result<Option<String>, String> {
    config::get(key).map_err(|error| format!("config `{key}`: {error:?}"))
}

fn interval_ms() -> Result<u32, String> {
    match setting("interval_ms")? {
        Some(text) => text
            .parse()
            .map_err(|_| format!("interval_ms `{text}` is not a number")),
        None => Ok(30_000),
    }
}

fn bucket() -> Result<store::Bucket, String> {
    store::open(BUCKET).map_err(|error| format!("bucket `{BUCKET}`: {error:?}"))
}

/// Probe every target now; keep and answer each one's result.
fn probe_all() -> Result<Value, String> {
    let targets = setting("targets")?.unwrap_or_default();
    let token = setting("token")?;
    let bucket = bucket()?;
    let mut results = Map::new();
    for target in targets.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let result = match get(target, token.as_deref()) {
            Ok(status) => json!({ "status": status, "healthy": (200..300).contains(&status) }),
            Err(error) => json!({ "error": error, "healthy": false }),
        };
        bucket
            .set(target, result.to_string().as_bytes())
            .map_err(|error| format!("keeping `{target}`: {error:?}"))?;
        results.insert(target.to_owned(), result);
    }
    let round = atomics::increment(&bucket, ROUNDS, 1).map_err(|e| format!("{e:?}"))?;
    Ok(json!({ "round": round, "results": results }))
}

/// What the bucket holds: the rounds and each target's last result.
fn report() -> Result<Value, String> {
    let bucket = bucket()?;
    let mut targets = Map::new();
    let mut rounds = 0;
    let mut cursor = None;
    loop {
        let page = bucket.list_keys(cursor).map_err(|e| format!("{e:?}"))?;
        for key in page.keys {
            let value = bucket.get(&key).map_err(|e| format!("{e:?}"))?;
            let text = String::from_utf8_lossy(&value.unwrap_or_default()).into_owned();
            if key == ROUNDS {
                rounds = text.parse().unwrap_or(0);
            } else {
                targets.insert(key, serde_json::from_str(&text).unwrap_or(Value::Null));
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(json!({ "rounds": rounds, "targets": targets }))
}

/// `GET url`: the response's status, or why there is none.
fn get(url: &str, token: Option<&str>) -> Result<u16, String> {
    let (scheme, rest) = url.split_once("://").ok_or("not a URL")?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(format!("scheme `{other}` is not http or https")),
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    let headers = Fields::new();
    if let Some(token) = token {
        headers
            .append("authorization", format!("Bearer {token}").as_bytes())
            .map_err(|error| format!("{error:?}"))?;
    }
    let request = OutgoingRequest::new(headers);
    let invalid = |()| format!("`{url}` is not a valid request");
    request.set_method(&Method::Get).map_err(invalid)?;
    request.set_scheme(Some(&scheme)).map_err(invalid)?;
    request.set_authority(Some(authority)).map_err(invalid)?;
    request.set_path_with_query(Some(path)).map_err(invalid)?;
    let body = request.body().map_err(invalid)?;
    let future = outgoing_handler::handle(request, None).map_err(|code| format!("{code:?}"))?;
    OutgoingBody::finish(body, None).map_err(|code| format!("{code:?}"))?;
    let response = loop {
        match future.get() {
            Some(Ok(result)) => break result.map_err(|code| format!("{code:?}"))?,
            Some(Err(())) => return Err("the response was taken twice".to_owned()),
            None => future.subscribe().block(),
        }
    };
    Ok(response.status())
}

export!(Prober);
