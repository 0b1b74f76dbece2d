//! The server over a real loopback socket: graceful shutdown drains requests in flight,
//! and a client that disconnects mid-call frees its instance.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{TestHost, guests, settings};

async fn start(
    host: &TestHost,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(arsenal::http::serve(
        host.host.clone(),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stop, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_a_request_in_flight() {
    let host = TestHost::new(&[guests::SLOW_OK]).await;
    let (addr, stop, server) = start(&host).await;
    let client = reqwest::Client::new();
    let request = tokio::spawn(
        client
            .get(format!("http://{addr}/api/v1/test/slow?ms=300"))
            .send(),
    );
    host.host.registry().instances().busy_at_least(1).await;
    stop.send(()).unwrap();
    let response = request
        .await
        .unwrap()
        .expect("the request in flight completes");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["data"]["slept_ms"], 300);
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_disconnecting_mid_call_frees_the_instance() {
    let mut settings = settings();
    settings.limits.timeout_ms = 5_000;
    let host = TestHost::with_settings(settings, &[guests::SLOW_OK]).await;
    let (addr, _stop, _server) = start(&host).await;
    let instances = host.host.registry().instances().clone();

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/test/slow?ms=2000 HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    instances.busy_at_least(1).await;
    drop(stream);
    // The guest would sleep for 2 s; the instance must be released well before that.
    tokio::time::timeout(Duration::from_millis(1_500), instances.settled_at(0))
        .await
        .expect("the instance is freed when the client goes away");

    // The server still answers.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/echo/after HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_every_process_trees_in_order() {
    let host = crate::host_with_counters(&["alone"]).await;
    let tree = host
        .post(
            "/api/v1/supervisors",
            serde_json::json!({ "name": "tree", "children": [
                { "id": "a", "worker": "counter" },
                { "id": "b", "worker": "counter" }
            ] }),
        )
        .await;
    assert_eq!(tree.status, 201, "{}", tree.body);
    let table = host.host.processes().clone();
    assert_eq!(
        table.len(),
        4,
        "a standalone counter, a supervisor and its two children"
    );
    let tree_pid = table.whereis("tree").expect("the tree is registered");
    let tree_exit = table.await_exit(&tree_pid.to_string()).unwrap();
    let alone_exit = table.await_exit("alone").unwrap();

    let (_addr, stop, server) = start(&host).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    assert!(table.is_empty(), "{:?}", table.list());
    assert_eq!(tree_exit.await, arsenal::runtime::ExitReason::Shutdown);
    assert_eq!(alone_exit.await, arsenal::runtime::ExitReason::Shutdown);
}
