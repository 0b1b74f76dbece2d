//! Clusters of Arsenal nodes on a real nats-server (started by the tests, JetStream on):
//! three in-process hosts serving HTTP on loopback, driven over HTTP like any client.
//! Membership, remote execution, propagation of a hot-loaded component, a node killed and
//! detected, NATS restarted, migration of a stateful process, a forged forwarded identity,
//! a replayed forwarded call, local operations while NATS is down.

mod nats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arsenal::Host;
use arsenal::config::Settings;
use serde_json::{Value, json};

use nats::NatsServer;

const ADMIN_TOKEN: &str = "cluster-admin-token";
const SECRET: &str = "a-cluster-secret-of-more-than-32-characters";
/// Tight timings so that a stopped node is seen down quickly.
const HEARTBEAT_MS: u64 = 200;
const DOWN_AFTER_MS: u64 = 1_000;

/// One node: a host serving HTTP on a loopback port.
struct Node {
    id: String,
    base: String,
    host: Option<Arc<Host>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    http: reqwest::Client,
}

fn settings(node: &str, nats_url: &str) -> Settings {
    let mut settings =
        Settings::default().with_cache_dir(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
    settings.server.node = node.to_owned();
    settings.server.host_services = false;
    settings.server.persist = false;
    settings.limits.idle_hibernate_ms = 0;
    settings.auth.admin_token = Some(ADMIN_TOKEN.to_owned());
    settings.rate_limits = arsenal::config::RateLimitSettings::off();
    settings.cluster.nats_url = Some(nats_url.to_owned());
    settings.cluster.secret = Some(SECRET.to_owned());
    settings.cluster.heartbeat_ms = HEARTBEAT_MS;
    settings.cluster.down_after_ms = DOWN_AFTER_MS;
    settings.cluster.call_timeout_ms = 3_000;
    settings
}

impl Node {
    async fn start(id: &str, nats: &NatsServer) -> Node {
        let host = Arc::new(
            Host::start(settings(id, &nats.url()))
                .await
                .expect("the node starts"),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(arsenal::http::serve(host.clone(), listener, async move {
            let _ = stopped.await;
        }));
        Node {
            id: id.to_owned(),
            base: format!("http://{addr}"),
            host: Some(host),
            stop: Some(stop),
            served: Some(served),
            http: reqwest::Client::new(),
        }
    }

    /// Stop serving and drop the host: its heartbeat stops, as when a node dies.
    async fn kill(&mut self) {
        drop(self.stop.take());
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
        drop(self.host.take());
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        node: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .timeout(Duration::from_secs(20));
        if let Some(node) = node {
            request = request.header("x-arsenal-node", node);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the node answers HTTP");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body, headers)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (status, body, _) = self.send(reqwest::Method::GET, path, None, None).await;
        (status, body)
    }

    async fn get_on(&self, node: &str, path: &str) -> (u16, Value, reqwest::header::HeaderMap) {
        self.send(reqwest::Method::GET, path, Some(node), None)
            .await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, body, _) = self
            .send(reqwest::Method::POST, path, None, Some(body))
            .await;
        (status, body)
    }

    async fn upload_worker(&self, name: &str, bytes: Vec<u8>) {
        let response = self
            .http
            .put(format!("{}/api/v1/admin/workers/{name}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );
    }
}

/// Poll `check` until it answers `Some`, for at most `within`.
async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The nodes `node` sees with `status`, sorted.
async fn nodes_with_status(node: &Node, status: &str) -> Vec<String> {
    let (code, body) = node.get("/api/v1/cluster/topology").await;
    assert_eq!(code, 200, "{body}");
    let mut nodes: Vec<String> = body["data"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|member| member["status"] == status)
        .map(|member| member["node"].as_str().unwrap().to_owned())
        .collect();
    nodes.sort();
    nodes
}

/// Three nodes `a`, `b`, `c` that all see each other up.
async fn three_nodes(nats: &NatsServer) -> Vec<Node> {
    // `ARSENAL_TEST_LOG=arsenal=debug` shows the nodes' logs when a test fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("ARSENAL_TEST_LOG"))
        .with_test_writer()
        .try_init();
    let nodes = vec![
        Node::start("a", nats).await,
        Node::start("b", nats).await,
        Node::start("c", nats).await,
    ];
    for node in &nodes {
        let others: Vec<String> = ["a", "b", "c"]
            .iter()
            .filter(|id| **id != node.id)
            .map(|id| (*id).to_owned())
            .collect();
        eventually(Duration::from_secs(10), "membership", || async {
            (nodes_with_status(node, "up").await == others).then_some(())
        })
        .await;
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_form_a_cluster_and_run_calls_on_each_other() {
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let a = &nodes[0];

    let (status, health) = a.get("/api/v1/cluster/health").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["data"]["status"], "healthy");
    assert_eq!(health["data"]["nodes"], 3);
    assert_eq!(health["data"]["connection"], "connected");

    let (status, info) = a.get("/api/v1/cluster/nodes/b").await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["data"]["status"], "up");
    assert_eq!(
        info["data"]["address"].as_str().unwrap(),
        nodes[1].base.trim_start_matches("http://")
    );
    assert!(
        info["data"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "cluster_health")
    );
    let (status, missing) = a.get("/api/v1/cluster/nodes/nowhere").await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("node_not_found"))
    );

    // Remote execution: the call runs on b, as the caller, and says so.
    let (status, body, headers) = a.get_on("b", "/api/v1/system/info").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["node"], "b");
    assert_eq!(headers["x-arsenal-node"], "b");
    assert!(headers.contains_key("x-operation-version"));
    // Validation happens on the node that runs the call.
    let (status, body, _) = a.get_on("c", "/api/v1/processes?status=nonsense").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("validation_error"))
    );

    // An unknown node: 503 naming it, at once.
    let started = Instant::now();
    let (status, body, _) = a.get_on("zz", "/api/v1/system/info").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("node_unavailable")),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["node"], "zz");
    assert!(started.elapsed() < Duration::from_secs(2));

    // Processes of every node, through one call.
    nodes[2]
        .upload_worker(
            "counter",
            arsenal_tests::read(arsenal_tests::guests::COUNTER_WORKER),
        )
        .await;
    let (status, body) = nodes[2]
        .post(
            "/api/v1/processes",
            json!({ "worker": "counter", "args": "1", "name": "on-c" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = a.get("/api/v1/cluster/processes").await;
    assert_eq!(status, 200, "{body}");
    let listed: Vec<&str> = body["data"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["a", "b", "c"]);
    let on_c = &body["data"]["nodes"][2]["processes"];
    assert_eq!(on_c[0]["name"], "on-c", "{body}");
    let (status, body) = a.get("/api/v1/cluster/processes?node=c").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["total"], 1);

    let (status, body) = a.get("/api/v1/cluster/supervision-trees").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["nodes"].as_array().unwrap().len(), 3);

    // The name registered on c is global; the same name on a is a conflict c wins.
    let (_, names) = eventually(Duration::from_secs(10), "a global name", || async {
        let (status, body) = a.get("/api/v1/cluster/registry").await;
        (status == 200
            && body["data"]["names"]
                .as_array()
                .is_some_and(|names| !names.is_empty()))
        .then_some((status, body))
    })
    .await;
    assert_eq!(names["data"]["names"][0]["name"], "on-c");
    assert_eq!(names["data"]["names"][0]["node"], "c");
    eventually(Duration::from_secs(10), "the worker on a", || async {
        let (_, workers) = a.get("/api/v1/workers").await;
        workers.to_string().contains("counter").then_some(())
    })
    .await;
    let (status, body) = a
        .post(
            "/api/v1/processes",
            json!({ "worker": "counter", "args": "1", "name": "on-c" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let conflicts = eventually(Duration::from_secs(10), "a name conflict", || async {
        let (_, body) = a.get("/api/v1/cluster/registry").await;
        let conflicts = body["data"]["conflicts"].clone();
        conflicts
            .as_array()
            .is_some_and(|c| !c.is_empty())
            .then_some(conflicts)
    })
    .await;
    assert_eq!(conflicts[0]["name"], "on-c");
    assert!(
        conflicts[0]["winner"].as_str().unwrap().starts_with("c:"),
        "{conflicts}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_is_marked_down_and_calls_to_it_answer_503() {
    let nats = NatsServer::start();
    let mut nodes = three_nodes(&nats).await;
    nodes[2].kill().await;
    let killed = Instant::now();
    let a = &nodes[0];
    eventually(Duration::from_secs(5), "c marked down", || async {
        (nodes_with_status(a, "down").await == ["c"]).then_some(())
    })
    .await;
    // Bounded: down_after plus a heartbeat and the poll.
    assert!(
        killed.elapsed() < Duration::from_millis(DOWN_AFTER_MS * 3),
        "{:?}",
        killed.elapsed()
    );
    let (status, health) = a.get("/api/v1/cluster/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["data"]["status"], "degraded");
    assert_eq!(health["data"]["down_nodes"], json!(["c"]));
    let started = Instant::now();
    let (status, body, _) = a.get_on("c", "/api/v1/system/info").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("node_unavailable"))
    );
    assert_eq!(body["error"]["details"]["node"], "c");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The others still work together.
    let (status, body, _) = a.get_on("b", "/api/v1/system/info").await;
    assert_eq!((status, body["data"]["node"].as_str()), (200, Some("b")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_loaded_operation_reaches_every_node_including_one_that_joins_later() {
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let greet = arsenal_tests::read(arsenal_tests::guests::GREET);
    let response = nodes[0]
        .http
        .post(format!("{}/api/v1/admin/operations", nodes[0].base))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/wasm")
        .body(greet.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let served = |node: &Node| {
        let http = node.http.clone();
        let url = format!("{}/api/v1/greet/ann", node.base);
        async move {
            let response = http.get(url).bearer_auth(ADMIN_TOKEN).send().await.ok()?;
            (response.status() == 200)
                .then(|| response.headers().get("x-operation-revision").cloned())?
        }
    };
    let revision = served(&nodes[0])
        .await
        .expect("greet served where it was loaded");
    for node in &nodes[1..] {
        let seen = eventually(Duration::from_secs(10), "greet propagated", || served(node)).await;
        assert_eq!(seen, revision, "the same version everywhere");
    }
    let late = Node::start("d", &nats).await;
    eventually(
        Duration::from_secs(10),
        "greet on a node that joined later",
        || served(&late),
    )
    .await;
    // Versions agree across the cluster.
    eventually(Duration::from_secs(10), "consistent versions", || async {
        let (_, body) = nodes[0].get("/api/v1/cluster/topology").await;
        (body["data"]["nodes"].as_array().unwrap().len() == 4
            && body["data"]["inconsistent"] == json!([]))
        .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_keep_working_while_nats_is_down_and_reconnect_after() {
    let mut nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let a = &nodes[0];
    nats.kill();
    let health = eventually(Duration::from_secs(10), "a sees NATS gone", || async {
        let (_, body) = a.get("/api/v1/cluster/health").await;
        (body["data"]["status"] == "isolated").then_some(body)
    })
    .await;
    assert_eq!(health["data"]["unknown_nodes"], json!(["b", "c"]));
    // Local operations still work.
    let (status, body) = a.get("/api/v1/system/info").await;
    assert_eq!((status, body["data"]["node"].as_str()), (200, Some("a")));
    let (status, body) = a.get("/api/v1/cluster/topology").await;
    assert_eq!(status, 200, "{body}");
    // A remote call says it cannot reach the node, at once.
    let started = Instant::now();
    let (status, body, _) = a.get_on("b", "/api/v1/system/info").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("node_unavailable"))
    );
    assert_eq!(body["error"]["details"]["node"], "b");
    assert!(started.elapsed() < Duration::from_secs(2));

    nats.restart();
    for node in &nodes {
        eventually(
            Duration::from_secs(20),
            "reconnected and healthy",
            || async {
                let (_, body) = node.get("/api/v1/cluster/health").await;
                (body["data"]["status"] == "healthy" && body["data"]["up"] == 3).then_some(())
            },
        )
        .await;
    }
    let (status, body) = eventually(Duration::from_secs(10), "remote calls again", || async {
        let (status, body, _) = a.get_on("b", "/api/v1/system/info").await;
        (status == 200).then_some((status, body))
    })
    .await;
    assert_eq!((status, body["data"]["node"].as_str()), (200, Some("b")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateful_process_migrates_with_its_state() {
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    a.upload_worker(
        "counter",
        arsenal_tests::read(arsenal_tests::guests::COUNTER_WORKER),
    )
    .await;
    eventually(Duration::from_secs(10), "the worker on b", || async {
        let (_, workers, _) = a.get_on("b", "/api/v1/workers").await;
        workers.to_string().contains("counter").then_some(())
    })
    .await;
    let (status, started) = a
        .post(
            "/api/v1/processes",
            json!({ "worker": "counter", "args": "41", "name": "tally" }),
        )
        .await;
    assert_eq!(status, 201, "{started}");
    let pid = started["data"]["pid"].as_str().unwrap().to_owned();
    let (status, _) = a
        .post(
            "/api/v1/processes/tally/messages",
            json!({ "payload": "inc" }),
        )
        .await;
    assert_eq!(status, 200);
    let path = format!(
        "/api/v1/processes/{}/migrate",
        pid.replace('<', "%3C").replace('>', "%3E")
    );
    let (status, moved) = a.post(&path, json!({ "node": "b" })).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["data"]["from"], pid.as_str());
    assert_eq!(moved["data"]["node"], "b");
    assert!(
        moved["data"]["to"].as_str().unwrap().starts_with("<b."),
        "{moved}"
    );
    assert_eq!(moved["data"]["state_bytes"], 8);
    // Gone from a, running on b with its state and name.
    let (status, body) = a.get("/api/v1/processes/tally").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("process_not_found"))
    );
    let (status, reply) = b
        .post(
            "/api/v1/processes/tally/messages",
            json!({ "payload": "get", "call": true }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["reply"], "42");
    // A missing process, and a node that is not there.
    let (status, body) = a
        .post("/api/v1/processes/nobody/migrate", json!({ "node": "b" }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("process_not_found"))
    );
    let (status, body) = b
        .post("/api/v1/processes/tally/migrate", json!({ "node": "zz" }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("node_unavailable")),
        "{body}"
    );
    // The balance plan sees the lone process on b and moves nothing (one above the mean).
    let (status, plan) = a.post("/api/v1/cluster/balance", json!({})).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["data"]["applied"], false);
    assert_eq!(plan["data"]["plan"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balancing_moves_processes_from_the_busiest_node() {
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let a = &nodes[0];
    a.upload_worker(
        "counter",
        arsenal_tests::read(arsenal_tests::guests::COUNTER_WORKER),
    )
    .await;
    for node in ["b", "c"] {
        eventually(Duration::from_secs(10), "the worker everywhere", || async {
            let (_, workers, _) = a.get_on(node, "/api/v1/workers").await;
            workers.to_string().contains("counter").then_some(())
        })
        .await;
    }
    for n in 0..6 {
        let (status, body) = a
            .post(
                "/api/v1/processes",
                json!({ "worker": "counter", "args": n.to_string() }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, plan) = a
        .post("/api/v1/cluster/balance", json!({ "apply": true }))
        .await;
    assert_eq!(status, 200, "{plan}");
    let steps = plan["data"]["plan"].as_array().unwrap();
    assert_eq!(steps.len(), 4, "{plan}");
    assert!(
        steps
            .iter()
            .all(|step| step["from"] == "a" && step["outcome"]["moved"] == true),
        "{plan}"
    );
    let (_, processes) = a.get("/api/v1/cluster/processes").await;
    let totals: Vec<u64> = processes["data"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["total"].as_u64().unwrap())
        .collect();
    assert_eq!(totals, [2, 2, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_forwarded_identity_is_refused() {
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let claims = json!({
        "origin": "a", "target": "b", "principal": "mallory", "role": "admin",
        "authenticated": true, "request_id": "forged", "method": "DELETE",
        "path": "/api/v1/processes/x", "content_type": null,
        "issued_unix_ms": 0, "deadline_unix_ms": u64::MAX, "body_sha256": ""
    })
    .to_string();
    let ask = |headers: async_nats::HeaderMap| {
        let client = client.clone();
        async move {
            let reply = client
                .request_with_headers("arsenal.call.b", headers, "".into())
                .await
                .expect("b answers");
            let status = reply
                .headers
                .as_ref()
                .and_then(|h| h.get("Arsenal-Status"))
                .map(|s| s.to_string());
            let body: Value = serde_json::from_slice(&reply.payload).unwrap();
            (status, body)
        }
    };
    let mut forged = async_nats::HeaderMap::new();
    forged.insert("Arsenal-Claims", claims.as_str());
    forged.insert("Arsenal-Signature", "00".repeat(32).as_str());
    let (status, body) = ask(forged).await;
    assert_eq!(status.as_deref(), Some("401"));
    assert_eq!(body["error"]["code"], "forwarded_identity_invalid");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{body}"
    );
    let (status, body) = ask(async_nats::HeaderMap::new()).await;
    assert_eq!(status.as_deref(), Some("401"));
    assert_eq!(body["error"]["code"], "forwarded_identity_invalid");
    // b still answers real forwarded calls.
    let (status, _, _) = nodes[0].get_on("b", "/api/v1/system/info").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_forwarded_call_is_refused() {
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    a.upload_worker(
        "counter",
        arsenal_tests::read(arsenal_tests::guests::COUNTER_WORKER),
    )
    .await;
    eventually(Duration::from_secs(10), "the worker on b", || async {
        let (_, workers, _) = a.get_on("b", "/api/v1/workers").await;
        workers.to_string().contains("counter").then_some(())
    })
    .await;
    // Listen on b's subject as anyone on NATS could, and capture a call a forwards there.
    let client = async_nats::connect(nats.url()).await.unwrap();
    let mut captured = client.subscribe("arsenal.call.b").await.unwrap();
    client.flush().await.unwrap();
    let (status, body, _) = a
        .send(
            reqwest::Method::POST,
            "/api/v1/processes",
            Some("b"),
            Some(json!({ "worker": "counter", "args": "1" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let call = tokio::time::timeout(
        Duration::from_secs(10),
        futures::StreamExt::next(&mut captured),
    )
    .await
    .expect("the call was seen on NATS")
    .unwrap();
    // Sent again, within its deadline, with its claims and signature intact: refused.
    let reply = client
        .request_with_headers(
            "arsenal.call.b",
            call.headers.clone().unwrap(),
            call.payload.clone(),
        )
        .await
        .expect("b answers");
    let status = reply
        .headers
        .as_ref()
        .and_then(|h| h.get("Arsenal-Status"))
        .map(|s| s.to_string());
    let body: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(status.as_deref(), Some("401"), "{body}");
    assert_eq!(body["error"]["code"], "forwarded_identity_invalid");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("replay"),
        "{body}"
    );
    // The call ran once: b runs one process.
    let (status, body) = b.get("/api/v1/processes").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["total"], 1, "{body}");
    // New calls still go through.
    let (status, _, _) = a.get_on("b", "/api/v1/system/info").await;
    assert_eq!(status, 200);
}
