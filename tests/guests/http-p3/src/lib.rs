//! Test guest `http_p3`: a WASI 0.3 `wasi:http` handler (the `service` world), written
//! with `wit-bindgen` alone. By default it answers 201 with its own headers
//! (`x-handled-by`, `x-echo` copied from the request, and `x-instance`, `x-calls`,
//! `x-most-inside`: this instance's id, the calls it has served, this one included, and
//! the most calls it had inside at once) and a JSON body naming the method, path, query,
//! the `x-echo` header, whether an `authorization` header reached it, and the body it read
//! — the body `http_echo` answers for the same request. The query may add:
//! - `meet=K&parties=N`: wait until N calls have arrived at `K` in this instance first
//!   (one call per instance never meets), then `then=trap` traps and `then=hang` never
//!   answers;
//! - `…/trap` traps at once; `…/refuse` returns the error code `internal-error` instead of
//!   a response; `…/grow?mib=N` holds N MiB more of memory while it answers; `…/big?bytes=N` answers a JSON string of N characters;
//! - `…/stream?chunks=N&ms=M` answers at once and writes N lines, M ms apart;
//! - `…/fetch?url=http://HOST:PORT/PATH` sends a GET through `wasi:http/client` and
//!   answers `{"status": n}` or `{"error": "…"}`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::poll_fn;
use std::hash::{BuildHasher as _, RandomState};
use std::task::{Poll, Waker};

wit_bindgen::generate!({
    path: "wit",
    world: "test:http-p3/http-p3",
    generate_all,
});

use wasi::clocks::monotonic_clock;
use wasi::http::client;
use wasi::http::types::{ErrorCode, Fields, Method, Request, Response, Scheme};

struct Service;

export!(Service);

/// A meeting point: how many calls arrived, and the wakers of those waiting.
#[derive(Default)]
struct Meeting {
    arrived: u32,
    waiting: Vec<Waker>,
}

thread_local! {
    static INSTANCE: u64 = RandomState::new().hash_one(0u8);
    static CALLS: Cell<u32> = const { Cell::new(0) };
    static INSIDE: Cell<u32> = const { Cell::new(0) };
    static MOST_INSIDE: Cell<u32> = const { Cell::new(0) };
    static MEETINGS: RefCell<HashMap<String, Meeting>> = RefCell::new(HashMap::new());
}

/// Arrive at `key` and wait until `parties` calls have.
async fn meet(key: String, parties: u32) {
    let arrived = MEETINGS.with_borrow_mut(|meetings| {
        let meeting = meetings.entry(key.clone()).or_default();
        meeting.arrived += 1;
        if meeting.arrived >= parties {
            meeting.waiting.drain(..).for_each(Waker::wake);
        }
        meeting.arrived
    });
    if arrived >= parties {
        return;
    }
    poll_fn(|context| {
        MEETINGS.with_borrow_mut(|meetings| {
            let meeting = meetings.get_mut(&key).expect("arrived above");
            if meeting.arrived >= parties {
                Poll::Ready(())
            } else {
                meeting.waiting.push(context.waker().clone());
                Poll::Pending
            }
        })
    })
    .await;
}

/// Counts a call inside the instance while it lives.
struct Inside;

impl Inside {
    fn enter() -> Inside {
        CALLS.set(CALLS.get() + 1);
        INSIDE.set(INSIDE.get() + 1);
        MOST_INSIDE.set(MOST_INSIDE.get().max(INSIDE.get()));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        INSIDE.set(INSIDE.get() - 1);
    }
}

impl exports::wasi::http::handler::Guest for Service {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let _inside = Inside::enter();
        let path_with_query = request.get_path_with_query().unwrap_or_default();
        let (path, query) = match path_with_query.split_once('?') {
            Some((path, query)) => (path.to_owned(), query.to_owned()),
            None => (path_with_query.clone(), String::new()),
        };
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_owned)
        };
        if path.ends_with("/trap") {
            panic!("the http-p3 guest traps on purpose");
        }
        let _held: Vec<u8> = match param("mib").and_then(|n| n.parse::<usize>().ok()) {
            Some(mib) if path.ends_with("/grow") => vec![1; mib << 20],
            _ => Vec::new(),
        };
        if path.ends_with("/refuse") {
            return Err(ErrorCode::InternalError(Some("refused on purpose".to_owned())));
        }
        if let Some(key) = param("meet") {
            let parties = param("parties").and_then(|n| n.parse().ok()).unwrap_or(2);
            meet(key, parties).await;
            match param("then").as_deref() {
                Some("trap") => panic!("the http-p3 guest traps on purpose once met"),
                Some("hang") => std::future::pending::<()>().await,
                _ => {}
            }
        }
        let headers = request.get_headers();
        let header = |name: &str| {
            headers
                .get(name)
                .first()
                .map(|value| String::from_utf8_lossy(value).into_owned())
        };
        let echo = header("x-echo");
        let authorization = header("authorization").is_some();
        drop(headers);

        let body = if path.ends_with("/stream") {
            let chunks: u32 = param("chunks").and_then(|n| n.parse().ok()).unwrap_or(3);
            let pause: u64 = param("ms").and_then(|n| n.parse().ok()).unwrap_or(10);
            return Ok(respond(&echo, "text/plain", move |mut body| async move {
                for chunk in 0..chunks {
                    if chunk > 0 {
                        monotonic_clock::wait_for(pause * 1_000_000).await;
                    }
                    body.write_all(format!("chunk {chunk}\n").into_bytes()).await;
                }
            }));
        } else if path.ends_with("/big") {
            let bytes: usize = param("bytes").and_then(|n| n.parse().ok()).unwrap_or(0);
            let mut body = vec![b'x'; bytes + 2];
            body[0] = b'"';
            body[bytes + 1] = b'"';
            body
        } else if path.ends_with("/fetch") {
            let url = param("url").unwrap_or_default();
            match fetch(&url).await {
                Ok(status) => format!("{{\"status\":{status}}}").into_bytes(),
                Err(error) => format!("{{\"error\":{}}}", text(&error)).into_bytes(),
            }
        } else {
            let method = method(&request.get_method());
            let (_, body_ended) = wit_future::new(|| Ok(()));
            let (contents, _trailers) = Request::consume_body(request, body_ended);
            let received = contents.collect().await;
            format!(
                "{{\"method\":{},\"path\":{},\"query\":{},\"echo\":{},\"authorization\":{},\"body\":{}}}",
                text(&method),
                text(&path),
                text(&query),
                echo.as_deref().map_or("null".to_owned(), text),
                authorization,
                text(&String::from_utf8_lossy(&received)),
            )
            .into_bytes()
        };
        Ok(respond(&echo, "application/json", move |mut stream| async move {
            for chunk in body.chunks(4096) {
                stream.write_all(chunk.to_vec()).await;
            }
        }))
    }
}

/// A 201 response whose body `write` writes after `handle` returned it.
fn respond<F>(
    echo: &Option<String>,
    content_type: &str,
    write: impl FnOnce(wit_bindgen::StreamWriter<u8>) -> F,
) -> Response
where
    F: Future<Output = ()> + 'static,
{
    let headers = Fields::new();
    let set = |name: &str, value: &[u8]| {
        headers
            .append(name, value)
            .expect("a valid header the handler may set");
    };
    set("content-type", content_type.as_bytes());
    set("x-handled-by", b"http-p3");
    set("x-instance", INSTANCE.with(|id| id.to_string()).as_bytes());
    set("x-calls", CALLS.get().to_string().as_bytes());
    set("x-most-inside", MOST_INSIDE.get().to_string().as_bytes());
    if let Some(echo) = echo {
        set("x-echo", echo.as_bytes());
    }
    let (body, contents) = wit_stream::new::<u8>();
    let (trailers_sent, trailers) = wit_future::new(|| Ok(None));
    let (response, _sent) = Response::new(headers, Some(contents), trailers);
    response
        .set_status_code(201)
        .expect("201 is a valid status");
    let writing = write(body);
    wit_bindgen::spawn_local(async move {
        writing.await;
        drop(trailers_sent);
    });
    response
}

/// GET `url` (`http://host:port/path`) through `wasi:http/client`: its status, or why not.
async fn fetch(url: &str) -> Result<u16, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let (_, trailers) = wit_future::new(|| Ok(None));
    let (request, _sent) = Request::new(Fields::new(), None, trailers, None);
    let set = |done: Result<(), ()>, what: &str| done.map_err(|()| format!("invalid {what}"));
    set(request.set_scheme(Some(&Scheme::Http)), "scheme")?;
    set(request.set_authority(Some(authority)), "authority")?;
    set(request.set_path_with_query(Some(path)), "path")?;
    let response = client::send(request)
        .await
        .map_err(|code| format!("{code:?}"))?;
    Ok(response.get_status_code())
}

fn method(method: &Method) -> String {
    match method {
        Method::Get => "GET".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Connect => "CONNECT".to_owned(),
        Method::Options => "OPTIONS".to_owned(),
        Method::Trace => "TRACE".to_owned(),
        Method::Patch => "PATCH".to_owned(),
        Method::Other(other) => other.clone(),
    }
}

/// `value` as a JSON string.
fn text(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if (c as u32) < 0x20 => quoted.push_str(&format!("\\u{:04x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}
