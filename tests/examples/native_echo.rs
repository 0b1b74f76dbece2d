//! The yardstick of the HTTP bench (`cargo xtask bench-http`): a native axum handler doing
//! the work of the built-in `echo` operation — the path parameter and the query
//! parameters answered as `{"data": {"id": ..., "query": {...}}}` — with no wasm, no
//! validation and no middleware. Arsenal's throughput is reported as a share of this
//! one's, measured in the same run on the same core.
//!
//! `cargo run --release -p arsenal-tests --example native_echo -- 127.0.0.1:4100`

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query};
use axum::routing::get;
use serde_json::{Value, json};

async fn echo(
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Json<Value> {
    Json(json!({ "data": { "id": id, "query": query } }))
}

fn main() {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .map(|addr| addr.parse().expect("an address such as 127.0.0.1:4100"))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4100)));
    // The same runtime shape as `arsenal serve`: tokio's multi-thread runtime with a
    // worker per core it may run on (the bench pins both servers to the same core).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let app = Router::new().route("/api/v1/echo/{id}", get(echo));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("the bench address is free");
        eprintln!("native echo listening on {addr}");
        axum::serve(listener, app).await.expect("serving");
    });
}
