//! Test guest `http_described`: the world `arsenal:operation/http-operation` (the
//! `describe` export, through wit-bindgen) beside the `wasi:http` proxy world (through
//! the `wasip2` crate). It declares `GET /api/v1/test/greet/:who` with a query parameter
//! `times` (an integer from 1 to 3) and answers `{"greetings": ["hello, <who>", ...]}`.

use std::io::Write as _;

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

wit_bindgen::generate!({
    path: "../../../wit/operation",
    world: "arsenal:operation/http-operation",
});

use arsenal::operation::types::{
    Config, Constraints, HttpMethod, LimitHints, Param, ParamLocation, ParamType,
};

struct Greet;

impl exports::arsenal::operation::describe::Guest for Greet {
    fn describe() -> Config {
        let constraints = |minimum: Option<f64>, maximum: Option<f64>| Constraints {
            minimum,
            maximum,
            min_length: None,
            max_length: None,
            pattern: None,
            one_of: Vec::new(),
        };
        Config {
            name: "http_described".into(),
            version: "1.2.0".into(),
            category: "test".into(),
            summary: "Greets over wasi:http".into(),
            description: "A wasi:http handler that describes its own route.".into(),
            method: HttpMethod::Get,
            path: "/api/v1/test/greet/:who".into(),
            params: vec![
                Param {
                    name: "who".into(),
                    location: ParamLocation::Path,
                    type_: ParamType::String,
                    items: None,
                    required: true,
                    default: None,
                    description: "Who to greet.".into(),
                    constraints: constraints(None, None),
                    sensitive: false,
                },
                Param {
                    name: "times".into(),
                    location: ParamLocation::Query,
                    type_: ParamType::Integer,
                    items: None,
                    required: false,
                    default: Some("1".into()),
                    description: "How many greetings.".into(),
                    constraints: constraints(Some(1.0), Some(3.0)),
                    sensitive: false,
                },
            ],
            success_status: 200,
            response_schema: None,
            limits: LimitHints {
                memory_mib: None,
                timeout_ms: None,
            },
            additional_params: false,
            outbound_hosts: Vec::new(),
            buckets: Vec::new(),
        }
    }
}

export!(Greet);

impl wasip2::exports::http::incoming_handler::Guest for Greet {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path_with_query = request.path_with_query().unwrap_or_default();
        let (path, query) = path_with_query
            .split_once('?')
            .unwrap_or((path_with_query.as_str(), ""));
        let who = path.rsplit('/').next().unwrap_or_default();
        let times = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("times="))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1);
        let greeting = format!("\"hello, {who}\"");
        let text = format!("{{\"greetings\":[{}]}}", vec![greeting; times].join(","));

        let headers = Fields::new();
        headers
            .append("content-type", b"application/json")
            .expect("a valid header");
        let response = OutgoingResponse::new(headers);
        let outgoing = response.body().expect("the body is taken once");
        ResponseOutparam::set(out, Ok(response));
        let mut stream = outgoing.write().expect("the stream is taken once");
        stream.write_all(text.as_bytes()).expect("the body writes");
        stream.flush().expect("the body flushes");
        drop(stream);
        OutgoingBody::finish(outgoing, None).expect("the body finishes");
    }
}

wasip2::http::proxy::export!(Greet);
