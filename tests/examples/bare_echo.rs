//! The ceiling of the HTTP bench (`cargo xtask bench-http`): the same axum shape as
//! `native_echo`, whose handler calls an operation through Arsenal's registry — the route
//! resolved, the parameters validated, a fresh wasm instance per request, as `arsenal
//! serve` does — with nothing else: no authentication, rate limits, audit, telemetry or
//! tracing. What separates `native_echo` from this one is the wasm call itself; what
//! separates this one from `arsenal serve` is everything the product adds around it.
//!
//! `cargo run --release -p arsenal-tests --example bare_echo -- 127.0.0.1:4101 [COMPONENT]`
//!
//! `echo` runs on a fresh instance per request; with `BARE_ECHO_WARM_CALLS=N` (N > 1) it
//! reuses one for N calls instead, the floor of a warm call over HTTP.
//!
//! It serves the built-in operations (`GET /api/v1/echo/42?color=blue`); a component file
//! given after the address is loaded too, so the floor of a fresh instance can be measured
//! over HTTP with the smallest operation the contract allows (`greet-wat`:
//! `GET /api/v1/greet/ann?times=2`).

use std::net::SocketAddr;
use std::sync::Arc;

use arsenal::config::{OperationOverride, Settings};
use arsenal::{Caller, Host, RawInput, Resolved};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::Map;

struct Bare {
    host: Host,
    caller: Caller,
}

async fn call(
    State(bare): State<Arc<Bare>>,
    request: Request,
) -> Result<impl IntoResponse, StatusCode> {
    let Resolved::Found { operation, params } = bare
        .host
        .registry()
        .snapshot()
        .resolve(request.method(), request.uri().path())
    else {
        return Err(StatusCode::NOT_FOUND);
    };
    let query = request.uri().query().map(url_pairs).unwrap_or_default();
    let input = RawInput {
        path: params,
        query,
        body: Map::new(),
    };
    let params = operation
        .validator
        .from_http(input)
        .map_err(|_| StatusCode::BAD_REQUEST)?;
    let data = bare
        .host
        .registry()
        .call(&operation, &params, &bare.caller)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    // As `arsenal serve` answers: the operation's JSON passed on inside `{"data": ...}`.
    Ok(([(CONTENT_TYPE, "application/json")], data.enveloped()))
}

/// The query's pairs, percent-decoded.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .map(|addr| addr.parse().expect("an address such as 127.0.0.1:4101"))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4101)));
    let component = args.next();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let mut settings = Settings::default();
        settings.server.persist = false;
        settings.server.host_services = false;
        // A fresh instance per request unless told otherwise (built-ins reuse theirs by
        // default).
        let calls = std::env::var("BARE_ECHO_WARM_CALLS")
            .ok()
            .map(|calls| calls.parse().expect("BARE_ECHO_WARM_CALLS is a number"))
            .unwrap_or(0);
        let reuse = OperationOverride {
            warm_instance_calls: Some(calls),
            ..OperationOverride::default()
        };
        settings
            .operations
            .overrides
            .insert("echo".to_owned(), reuse);
        if let Some(dir) = std::env::var_os("ARSENAL_CACHE__DIR") {
            settings.cache.dir = Some(dir.into());
        }
        let mut host = Host::start(settings).await.expect("the host starts");
        if let Some(component) = component {
            host.load_file(std::path::Path::new(&component))
                .await
                .unwrap_or_else(|| panic!("{component} loads: {:?}", host.problems()));
        }
        let caller = Caller {
            principal: "bench".to_owned(),
            roles: vec!["viewer".to_owned()],
            request_id: "bench".to_owned(),
            onward: Default::default(),
        };
        let bare = Arc::new(Bare { host, caller });
        let app = Router::new().fallback(call).with_state(bare);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("the bench address is free");
        eprintln!("bare echo listening on {addr}");
        axum::serve(listener, app).await.expect("serving");
    });
}
