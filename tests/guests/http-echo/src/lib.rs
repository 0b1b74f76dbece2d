//! Test guest `http_echo`: a plain `wasi:http` handler, as Spin or `wasmtime serve` would
//! run it. It answers 201 with its own headers (`x-handled-by`, and `x-echo` copied from
//! the request) and a JSON body naming the method, path, query, the `x-echo` header,
//! whether an `authorization` header reached it, and the body it read. Some paths
//! misbehave on purpose: `…/trap` panics, `…/spin` never returns, `…/big?bytes=N`
//! answers a JSON string of N characters, `…/unset` returns without setting a response,
//! `…/reach?port=N` tries to read `/etc/hostname` and to connect to 127.0.0.1:N and
//! answers what each attempt gave, `…/stall` writes `"first"` and then never finishes.

use std::io::{Read as _, Write as _};

use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Echo;

wasip2::http::proxy::export!(Echo);

impl wasip2::exports::http::incoming_handler::Guest for Echo {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path_with_query = request.path_with_query().unwrap_or_default();
        let (path, query) = match path_with_query.split_once('?') {
            Some((path, query)) => (path.to_owned(), query.to_owned()),
            None => (path_with_query.clone(), String::new()),
        };
        if path.ends_with("/trap") {
            panic!("the http-echo guest traps on purpose");
        }
        if path.ends_with("/spin") {
            #[expect(clippy::empty_loop, reason = "spinning until the host's deadline is the point")]
            loop {}
        }
        if path.ends_with("/unset") {
            return;
        }
        let headers = request.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .first()
                .map(|value| String::from_utf8_lossy(value).into_owned())
        };
        let echo = header("x-echo");
        let authorization = header("authorization").is_some();
        drop(headers);

        let body = if path.ends_with("/reach") {
            let port = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("port="))
                .and_then(|n| n.parse::<u16>().ok())
                .unwrap_or(1);
            let file = match std::fs::read("/etc/hostname") {
                Ok(_) => "read".to_owned(),
                Err(error) => format!("refused: {error}"),
            };
            let socket = match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Ok(_) => "connected".to_owned(),
                Err(error) => format!("refused: {error}"),
            };
            format!("{{\"file\":{},\"socket\":{}}}", text(&file), text(&socket)).into_bytes()
        } else if path.ends_with("/stall") {
            b"\"first\"".to_vec()
        } else if path.ends_with("/big") {
            let bytes = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("bytes="))
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![b'x'; bytes + 2];
            body[0] = b'"';
            body[bytes + 1] = b'"';
            body
        } else {
            let mut received = Vec::new();
            let incoming = request.consume().expect("the body is consumed once");
            let mut stream = incoming.stream().expect("the stream is taken once");
            stream.read_to_end(&mut received).expect("the body reads");
            drop(stream);
            format!(
                "{{\"method\":{},\"path\":{},\"query\":{},\"echo\":{},\"authorization\":{},\"body\":{}}}",
                text(&method(&request.method())),
                text(&path),
                text(&query),
                echo.as_deref().map_or("null".to_owned(), text),
                authorization,
                text(&String::from_utf8_lossy(&received)),
            )
            .into_bytes()
        };

        let headers = Fields::new();
        headers
            .append("content-type", b"application/json")
            .expect("a valid header");
        headers
            .append("x-handled-by", b"http-echo")
            .expect("a valid header");
        if let Some(echo) = &echo {
            headers
                .append("x-echo", echo.as_bytes())
                .expect("a valid header");
        }
        let response = OutgoingResponse::new(headers);
        response.set_status_code(201).expect("a valid status");
        let outgoing = response.body().expect("the body is taken once");
        ResponseOutparam::set(out, Ok(response));
        let mut stream = outgoing.write().expect("the stream is taken once");
        for chunk in body.chunks(4096) {
            stream.write_all(chunk).expect("the body writes");
        }
        stream.flush().expect("the body flushes");
        if path.ends_with("/stall") {
            #[expect(clippy::empty_loop, reason = "stalling mid-body until the deadline is the point")]
            loop {}
        }
        drop(stream);
        OutgoingBody::finish(outgoing, None).expect("the body finishes");
    }
}

fn method(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other.clone(),
    }
}

/// `value` as a JSON string.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
