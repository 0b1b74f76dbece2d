//! The ceiling of the HTTP bench (`cargo xtask bench-http`): the same axum shape as
//! `native_echo`, whose handler calls the built-in `echo` operation through Arsenal's
//! registry — a fresh wasm instance per request, as `arsenal serve` does — with nothing
//! else: no authentication, rate limits, validation, audit, telemetry or tracing. What
//! separates `native_echo` from this one is the wasm call itself; what separates this one
//! from `arsenal serve` is everything the product adds around it.
//!
//! `cargo run --release -p arsenal-tests --example bare_echo -- 127.0.0.1:4101`

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use arsenal::config::Settings;
use arsenal::{Caller, Host, LoadedOperation};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Map, Value};

struct Bare {
    host: Host,
    echo: Arc<LoadedOperation>,
    caller: Caller,
}

async fn call_echo(
    State(bare): State<Arc<Bare>>,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<impl IntoResponse, StatusCode> {
    let mut params = Map::new();
    params.insert("id".to_owned(), Value::String(id));
    for (name, value) in query {
        params.insert(name, Value::String(value));
    }
    let data = bare
        .host
        .registry()
        .call(&bare.echo, &params, &bare.caller)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    // As `arsenal serve` answers: the operation's JSON passed on inside `{"data": ...}`.
    Ok(([(CONTENT_TYPE, "application/json")], data.enveloped()))
}

fn main() {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .map(|addr| addr.parse().expect("an address such as 127.0.0.1:4101"))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4101)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let mut settings = Settings::default();
        settings.server.persist = false;
        settings.server.host_services = false;
        if let Some(dir) = std::env::var_os("ARSENAL_CACHE__DIR") {
            settings.cache.dir = Some(dir.into());
        }
        let host = Host::start(settings).await.expect("the host starts");
        let echo = host
            .registry()
            .snapshot()
            .get("echo")
            .cloned()
            .expect("the built-in echo is loaded");
        let caller = Caller {
            principal: "bench".to_owned(),
            roles: vec!["viewer".to_owned()],
            request_id: "bench".to_owned(),
        };
        let bare = Arc::new(Bare { host, echo, caller });
        let app = Router::new()
            .route("/api/v1/echo/{id}", get(call_echo))
            .with_state(bare);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("the bench address is free");
        eprintln!("bare echo listening on {addr}");
        axum::serve(listener, app).await.expect("serving");
    });
}
