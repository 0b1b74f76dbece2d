//! Test guest `outbound_call`: GETs `url` `count` times over `wasi:http` (through the
//! SDK's client), following redirects itself when `follow` is set, and answers what each
//! request got — its status, body size and the body's start, or the standard error code
//! the host failed it with. Used for grants, address checks, redirects, the per-call
//! cap, deadlines, body caps and trace propagation.

use arsenal_sdk::http::{self, HttpError};
use arsenal_sdk::prelude::*;

struct OutboundCall;

/// Redirects followed at most, per request.
const MAX_HOPS: usize = 5;

impl Operation for OutboundCall {
    fn config() -> Config {
        Config::post("outbound_call", "/api/v1/test/outbound")
            .category("test")
            .summary("Call out over HTTP")
            .description("GETs `url` `count` times and reports each outcome.")
            .param(Param::body("url").string().max_length(2048).describe("What to GET"))
            .param(
                Param::body("count")
                    .integer()
                    .default(1)
                    .min(1)
                    .max(64)
                    .describe("How many times"),
            )
            .param(
                Param::body("follow")
                    .boolean()
                    .default(false)
                    .describe("Follow redirects"),
            )
    }

    fn execute(request: Request) -> Result<impl Serialize> {
        let url: String = request.param("url")?;
        let count: u32 = request.param("count")?;
        let follow: bool = request.param("follow")?;
        let results: Vec<Value> = (0..count).map(|_| fetch(&url, follow)).collect();
        Ok(json!({ "results": results }))
    }
}

/// One GET of `url` (and the redirects after it when `follow`): the last answer, and
/// every URL asked.
fn fetch(url: &str, follow: bool) -> Value {
    let mut asked = vec![url.to_owned()];
    let mut next = url.to_owned();
    loop {
        match http::get(&next).send() {
            Ok(response) => {
                let location = response.header("location").map(str::to_owned);
                if let (true, true, Some(location)) = (
                    follow,
                    (300..400).contains(&response.status),
                    location,
                ) && asked.len() <= MAX_HOPS
                {
                    asked.push(location.clone());
                    next = location;
                    continue;
                }
                let text = response.text();
                return json!({
                    "asked": asked,
                    "status": response.status,
                    "bytes": response.body.len(),
                    "body": text.chars().take(512).collect::<String>(),
                });
            }
            Err(HttpError::Failed(code)) => {
                let code = format!("{code:?}");
                let code = code.trim_start_matches("ErrorCode::");
                return json!({ "asked": asked, "error": code });
            }
            Err(other) => return json!({ "asked": asked, "error": other.to_string() }),
        }
    }
}

arsenal_sdk::export!(OutboundCall);
