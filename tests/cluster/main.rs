//! Clusters of Arsenal nodes on a real nats-server (started by the tests, JetStream on):
//! three in-process hosts serving HTTP on loopback, driven over HTTP like any client.
//! Membership, remote execution, propagation of a hot-loaded component, a node killed and
//! detected, NATS restarted, migration of a stateful process (and of the messages waiting
//! for it), a forged forwarded identity, a replayed forwarded call, local operations while
//! NATS is down; every kind of admin change reaching every node (late joiners too),
//! concurrent changes ordered cluster-wide, a node that cannot follow one reported; NATS
//! over mutual TLS and with a password, and nodes such a server refuses (`secure`).

mod certs;
mod keyvalue;
mod nats;
mod secure;

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
    // Several nodes run in this one process: a small worker pool each keeps them far
    // from the kernel's mappings per OS process.
    settings.limits.worker_slots = 1_024;
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
        Node::start_with(settings(id, &nats.url())).await
    }

    async fn start_with(settings: Settings) -> Node {
        let id = settings.server.node.clone();
        let host = Arc::new(Host::start(settings).await.expect("the node starts"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(arsenal::http::serve(host.clone(), listener, async move {
            let _ = stopped.await;
        }));
        Node {
            id,
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
            let _ = tokio::time::timeout(Duration::from_secs(60), served)
                .await
                .expect("the node stops serving within a minute");
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

    /// An admin API call sending `component` (if any) as `application/wasm`.
    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        component: Option<Vec<u8>>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/api/v1/admin/{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .timeout(Duration::from_secs(60));
        if let Some(bytes) = component {
            request = request
                .header("content-type", "application/wasm")
                .body(bytes);
        }
        let response = request.send().await.expect("the node answers HTTP");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The live version of operation or worker `name` here: an operation's content hash,
    /// a worker's version (the start of its content hash); `None` when not loaded (an
    /// unloaded built-in is listed, not loaded, with the version to restore).
    async fn live(&self, kind: &str, name: &str) -> Option<String> {
        let (status, body) = self
            .admin(
                reqwest::Method::GET,
                &format!("{kind}s/{name}/versions"),
                None,
            )
            .await;
        if status == 404 || body["data"]["loaded"] == false {
            return None;
        }
        assert_eq!(status, 200, "{body}");
        let live = &body["data"]["versions"][0];
        assert_eq!(live["live"], true, "{body}");
        let field = if kind == "operation" {
            "content_hash"
        } else {
            "version"
        };
        Some(live[field].as_str().unwrap().to_owned())
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

/// Wait until every node in `nodes` serves `expected` as the live version of `name`
/// (`None`: not loaded).
async fn converged(nodes: &[&Node], kind: &str, name: &str, expected: Option<&str>) {
    for node in nodes {
        let what = format!("{kind} {name} at {expected:?} on {}", node.id);
        eventually(Duration::from_secs(30), &what, || async {
            (node.live(kind, name).await.as_deref() == expected).then_some(())
        })
        .await;
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

/// `ARSENAL_TEST_LOG=arsenal=debug` shows the nodes' logs when a test fails.
fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("ARSENAL_TEST_LOG"))
        .with_test_writer()
        .try_init();
}

/// The counter worker uploaded on `a`, once `b` has it live too.
async fn counter_on_a_and_b(a: &Node, b: &Node) {
    a.upload_worker(
        "counter",
        arsenal_tests::read(arsenal_tests::guests::COUNTER_WORKER),
    )
    .await;
    eventually(Duration::from_secs(10), "the worker on b", || async {
        b.live("worker", "counter").await
    })
    .await;
}

/// A counter process named `name` started on `node` with `args`, and the path that
/// migrates it (its pid percent-encoded).
async fn counter_process(node: &Node, args: &str, name: &str) -> (String, String) {
    let (status, started) = node
        .post(
            "/api/v1/processes",
            json!({ "worker": "counter", "args": args, "name": name }),
        )
        .await;
    assert_eq!(status, 201, "{started}");
    let pid = started["data"]["pid"].as_str().unwrap().to_owned();
    let migrate = format!(
        "/api/v1/processes/{}/migrate",
        pid.replace('<', "%3C").replace('>', "%3E")
    );
    (pid, migrate)
}

/// Three nodes `a`, `b`, `c` that all see each other up.
async fn three_nodes(nats: &NatsServer) -> Vec<Node> {
    logs();
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

    // An unknown node: 404 naming it, at once.
    let started = Instant::now();
    let (status, body, _) = a.get_on("zz", "/api/v1/system/info").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("node_not_found")),
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
    // An admin change could not reach the others: refused, nothing changed.
    let counter = arsenal_tests::read(arsenal_tests::guests::COUNTER_WORKER);
    let (status, body) = a
        .admin(reqwest::Method::PUT, "workers/counter", Some(counter))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("cluster_unavailable")),
        "{body}"
    );
    assert_eq!(a.live("worker", "counter").await, None);

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
    counter_on_a_and_b(a, b).await;
    let (pid, path) = counter_process(a, "41", "tally").await;
    let (status, _) = a
        .post(
            "/api/v1/processes/tally/messages",
            json!({ "payload": "inc" }),
        )
        .await;
    assert_eq!(status, 200);
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
        (404, Some("node_not_found")),
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
async fn every_admin_change_reaches_every_node_and_nodes_that_join_later() {
    use reqwest::Method;
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let all = [a, b, c];
    let greet = arsenal_tests::read(arsenal_tests::guests::GREET);

    // An operation loaded on a, replaced on b, rolled back on c: every node follows.
    let (status, body) = a
        .admin(Method::POST, "operations", Some(greet.clone()))
        .await;
    assert_eq!(status, 201, "{body}");
    let v1 = body["data"]["content_hash"].as_str().unwrap().to_owned();
    converged(&all, "operation", "greet", Some(&v1)).await;
    let greet_v2 = arsenal_tests::distinct(&greet, "v2");
    let (status, body) = b
        .admin(Method::PUT, "operations/greet", Some(greet_v2))
        .await;
    assert_eq!(status, 200, "{body}");
    let v2 = body["data"]["live"]["content_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(v1, v2);
    converged(&all, "operation", "greet", Some(&v2)).await;
    let (status, body) = c
        .admin(Method::POST, "operations/greet/rollback", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["live"]["content_hash"], v1.as_str());
    converged(&all, "operation", "greet", Some(&v1)).await;

    // A worker loaded on c, replaced on a, rolled back on b.
    let counter = arsenal_tests::read(arsenal_tests::guests::COUNTER_WORKER);
    let (status, body) = c
        .admin(Method::PUT, "workers/counter", Some(counter.clone()))
        .await;
    assert_eq!(status, 201, "{body}");
    let w1 = body["data"]["live"]["version"].as_str().unwrap().to_owned();
    converged(&all, "worker", "counter", Some(&w1)).await;
    let counter_v2 = arsenal_tests::distinct(&counter, "v2");
    let (status, body) = a
        .admin(Method::PUT, "workers/counter", Some(counter_v2))
        .await;
    assert_eq!(status, 200, "{body}");
    let w2 = body["data"]["live"]["version"].as_str().unwrap().to_owned();
    converged(&all, "worker", "counter", Some(&w2)).await;
    let (status, body) = b
        .admin(Method::POST, "workers/counter/rollback", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["live"]["version"], w1.as_str());
    converged(&all, "worker", "counter", Some(&w1)).await;

    // A built-in unloaded on a is unloaded everywhere.
    let (status, body) = a.admin(Method::DELETE, "operations/echo", None).await;
    assert_eq!(status, 200, "{body}");
    converged(&all, "operation", "echo", None).await;

    // A node that joins now comes to the same state: greet rolled back, the worker rolled
    // back, the built-in it starts with unloaded.
    let d = Node::start("d", &nats).await;
    converged(&[&d], "operation", "greet", Some(&v1)).await;
    converged(&[&d], "worker", "counter", Some(&w1)).await;
    converged(&[&d], "operation", "echo", None).await;
    let (status, body) = d.get("/api/v1/echo/x").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("operation_not_found")),
        "{body}"
    );

    // And follows what comes after: the worker unloaded on b, greet unloaded on d.
    let (status, body) = b.admin(Method::DELETE, "workers/counter", None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = d.admin(Method::DELETE, "operations/greet", None).await;
    assert_eq!(status, 200, "{body}");
    let everyone = [a, b, c, &d];
    converged(&everyone, "worker", "counter", None).await;
    converged(&everyone, "operation", "greet", None).await;

    // The built-in unloaded everywhere, restored on c: every node restores its own.
    let (status, body) = c.admin(Method::POST, "operations/echo/restore", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["source"], "builtin", "{body}");
    let echo = body["data"]["content_hash"].as_str().unwrap().to_owned();
    converged(&everyone, "operation", "echo", Some(&echo)).await;
    let (status, body) = d.get("/api/v1/echo/x").await;
    assert_eq!(status, 200, "{body}");
    eventually(Duration::from_secs(10), "consistent versions", || async {
        let (_, body) = a.get("/api/v1/cluster/topology").await;
        (body["data"]["nodes"].as_array().unwrap().len() == 4
            && body["data"]["inconsistent"] == json!([]))
        .then_some(())
    })
    .await;
}

/// Nodes `ids` that see each other up, each compiling into a cache of its own (so that
/// following another node's new version costs a compile), which starts as a copy of the
/// tests' shared cache (hard links: what the built-ins compiled to).
async fn nodes_with_own_caches(
    nats: &NatsServer,
    ids: &[&str],
) -> (Vec<Node>, Vec<tempfile::TempDir>) {
    fn link_tree(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let target = to.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                link_tree(&entry.path(), &target)?;
            } else {
                std::fs::hard_link(entry.path(), &target)?;
            }
        }
        Ok(())
    }
    logs();
    let shared = std::path::Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
    let mut nodes = Vec::new();
    let mut caches = Vec::new();
    for id in ids {
        let cache = tempfile::tempdir().unwrap();
        if shared.is_dir() {
            link_tree(shared, cache.path()).expect("the shared compile cache links");
        }
        nodes.push(Node::start_with(settings(id, &nats.url()).with_cache_dir(cache.path())).await);
        caches.push(cache);
    }
    for node in &nodes {
        let mut others: Vec<String> = ids
            .iter()
            .filter(|id| **id != node.id)
            .map(|id| (*id).to_owned())
            .collect();
        others.sort();
        eventually(Duration::from_secs(10), "membership", || async {
            (nodes_with_status(node, "up").await == others).then_some(())
        })
        .await;
    }
    (nodes, caches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_lost_to_another_node_answers_409_and_every_node_follows_the_winner() {
    use reqwest::Method;
    let nats = NatsServer::start();
    let (nodes, _caches) = nodes_with_own_caches(&nats, &["a", "b"]).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let both = [a, b];
    // Versions no cache has seen before this run.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let greet = arsenal_tests::read(arsenal_tests::guests::GREET);
    let version = |tag: &str| arsenal_tests::distinct(&greet, &format!("{tag}-{run}"));
    let (status, body) = a
        .admin(Method::POST, "operations", Some(version("v1")))
        .await;
    assert_eq!(status, 201, "{body}");
    let v1 = body["data"]["content_hash"].as_str().unwrap().to_owned();
    converged(&both, "operation", "greet", Some(&v1)).await;
    // b's versions: `kept` compiled on b and kept in its history (so its compiled code
    // stays in b's cache), then `later` live everywhere.
    let kept = version("kept-on-b");
    let (status, body) = b
        .admin(Method::PUT, "operations/greet", Some(kept.clone()))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = b
        .admin(Method::PUT, "operations/greet", Some(version("later")))
        .await;
    assert_eq!(status, 200, "{body}");
    let later = body["data"]["live"]["content_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    converged(&both, "operation", "greet", Some(&later)).await;

    // a replaces greet with a version b has never compiled, 16 MiB long (a custom
    // section). Following it costs b fetching, checking and compiling it, while b's own
    // replacement with the small version it keeps compiled costs b next to nothing, so b's
    // change is made against the state before a's: it lost.
    let padding = "x".repeat(16 << 20);
    let (status, body) = a
        .admin(
            Method::PUT,
            "operations/greet",
            Some(version(&format!("from-a-{padding}"))),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let from_a = body["data"]["live"]["content_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = b
        .admin(Method::PUT, "operations/greet", Some(kept.clone()))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("cluster_conflict")),
        "{body}"
    );
    let details = &body["error"]["details"];
    assert_eq!(details["kind"], "operation");
    assert_eq!(details["name"], "greet");
    assert_eq!(details["node"], "a");
    assert_eq!(details["content_hash"], from_a.as_str());
    // Every node, b included, serves the winner.
    converged(&both, "operation", "greet", Some(&from_a)).await;
    // Having followed it, b's change now goes through, after a's.
    let (status, body) = b.admin(Method::PUT, "operations/greet", Some(kept)).await;
    assert_eq!(status, 200, "{body}");
    let kept = body["data"]["live"]["content_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    converged(&both, "operation", "greet", Some(&kept)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_changes_on_three_nodes_converge_on_one_winner() {
    use reqwest::Method;
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let all: Vec<&Node> = nodes.iter().collect();
    let greet = arsenal_tests::read(arsenal_tests::guests::GREET);
    let (status, body) = nodes[0]
        .admin(Method::POST, "operations", Some(greet.clone()))
        .await;
    assert_eq!(status, 201, "{body}");
    let v1 = body["data"]["content_hash"].as_str().unwrap().to_owned();
    converged(&all, "operation", "greet", Some(&v1)).await;
    for round in 0..3 {
        let version = |node: &Node| {
            let bytes = arsenal_tests::distinct(&greet, &format!("{round}-{}", node.id));
            Some(bytes)
        };
        let (x, y, z) = tokio::join!(
            nodes[0].admin(Method::PUT, "operations/greet", version(&nodes[0])),
            nodes[1].admin(Method::PUT, "operations/greet", version(&nodes[1])),
            nodes[2].admin(Method::PUT, "operations/greet", version(&nodes[2])),
        );
        let answers = [x, y, z];
        let made: Vec<String> = answers
            .iter()
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| {
                body["data"]["live"]["content_hash"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert!(!made.is_empty(), "round {round}: {answers:?}");
        for (status, body) in &answers {
            if *status != 200 {
                assert_eq!(
                    (*status, body["error"]["code"].as_str()),
                    (409, Some("cluster_conflict")),
                    "{body}"
                );
                let winner = body["error"]["details"]["content_hash"].as_str().unwrap();
                assert!(
                    made.iter().any(|hash| hash == winner),
                    "round {round}: {answers:?}"
                );
            }
        }
        // Every node ends on the same version, one of those made live.
        let first = eventually(
            Duration::from_secs(30),
            "one version everywhere",
            || async {
                let mut seen = Vec::new();
                for node in &nodes {
                    seen.push(node.live("operation", "greet").await?);
                }
                seen.dedup();
                (seen.len() == 1).then(|| seen.remove(0))
            },
        )
        .await;
        assert!(
            made.contains(&first),
            "round {round}: {first} of {answers:?}"
        );
    }
}

/// Return once the NATS server has taken every subscription `client` made so far. The
/// client's `flush` only writes them out: a publish from another connection (a node's)
/// could still reach the server first and miss them, as it did under load. The server
/// reads a connection in order, so a message the client sends itself comes back only
/// after what the client sent before it.
async fn subscriptions_taken(client: &async_nats::Client) {
    // Not under `_INBOX.`, which a test may be watching.
    let probe = format!("probe.{}", client.new_inbox());
    let mut back = client.subscribe(probe.clone()).await.unwrap();
    client.publish(probe, "probe".into()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), futures::StreamExt::next(&mut back))
        .await
        .expect("the probe came back")
        .expect("the probe's subscription is open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_forwarded_call_is_refused() {
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    counter_on_a_and_b(a, b).await;
    // Listen on b's subject as anyone on NATS could, and capture a call a forwards there.
    let client = async_nats::connect(nats.url()).await.unwrap();
    let mut captured = client.subscribe("arsenal.call.b").await.unwrap();
    subscriptions_taken(&client).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_follow_a_change_is_listed_as_inconsistent() {
    use reqwest::Method;
    logs();
    let nats = NatsServer::start();
    let a = Node::start("a", &nats).await;
    // b's configuration disables greet: it cannot follow a's upload of it.
    let mut refusing = settings("b", &nats.url());
    refusing.operations.disabled = vec!["greet".to_owned()];
    let b = Node::start_with(refusing).await;
    for (node, other) in [(&a, "b"), (&b, "a")] {
        eventually(Duration::from_secs(10), "membership", || async {
            (nodes_with_status(node, "up").await == [other]).then_some(())
        })
        .await;
    }
    let greet = arsenal_tests::read(arsenal_tests::guests::GREET);
    let (status, body) = a.admin(Method::POST, "operations", Some(greet)).await;
    assert_eq!(status, 201, "{body}");
    let revision = body["data"]["revision"].as_str().unwrap().to_owned();
    let inconsistent = eventually(Duration::from_secs(10), "greet reported", || async {
        let (_, body) = b.get("/api/v1/cluster/topology").await;
        let inconsistent = body["data"]["inconsistent"].clone();
        (inconsistent != json!([])).then_some(inconsistent)
    })
    .await;
    assert_eq!(
        inconsistent,
        json!([{ "component": "operation/greet", "revisions": { revision: ["a"], "absent": ["b"] } }])
    );
    assert_eq!(b.live("operation", "greet").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_waiting_at_the_source_move_with_the_process() {
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    counter_on_a_and_b(a, b).await;
    let (_, path) = counter_process(a, "10", "queued").await;
    // Suspended, it handles nothing: three messages wait in its mailbox.
    let (status, body) = a.post("/api/v1/processes/queued/suspend", json!({})).await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..3 {
        let (status, body) = a
            .post(
                "/api/v1/processes/queued/messages",
                json!({ "payload": "inc" }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // A move that fails puts them back: resumed on a, it handles all three.
    let (status, body) = a.post(&path, json!({ "node": "zz" })).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("node_not_found")),
        "{body}"
    );
    let get = json!({ "payload": "get", "call": true });
    let (status, reply) = a
        .post("/api/v1/processes/queued/messages", get.clone())
        .await;
    assert_eq!(
        (status, reply["data"]["reply"].as_str()),
        (200, Some("13")),
        "{reply}"
    );
    let (status, body) = a.post("/api/v1/processes/queued/suspend", json!({})).await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..2 {
        let (status, body) = a
            .post(
                "/api/v1/processes/queued/messages",
                json!({ "payload": "inc" }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, moved) = a.post(&path, json!({ "node": "b" })).await;
    assert_eq!(status, 200, "{moved}");
    // On b, with its state (13) and the two messages that waited handled after it.
    let (status, reply) = b.post("/api/v1/processes/queued/messages", get).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["reply"], "15");
    let (status, body) = a.get("/api/v1/processes/queued").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("process_not_found"))
    );
}

/// A call run on another node continues the caller's trace there: the forwarded claims
/// carry the trace context under the forwarding node's span, and the other node answers
/// within the same trace under a span of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_call_continues_the_callers_trace() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER_SPAN: &str = "00f067aa0ba902b7";
    let nats = NatsServer::start();
    let nodes = three_nodes(&nats).await;
    let a = &nodes[0];
    // Watch the call a forwards to b, and b's answer, as anyone on NATS could.
    let client = async_nats::connect(nats.url()).await.unwrap();
    let mut calls = client.subscribe("arsenal.call.b").await.unwrap();
    let mut replies = client.subscribe("_INBOX.>").await.unwrap();
    subscriptions_taken(&client).await;

    let response = a
        .http
        .get(format!("{}/api/v1/system/info", a.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("x-arsenal-node", "b")
        .header("traceparent", format!("00-{TRACE}-{CALLER_SPAN}-01"))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("a answers");
    assert_eq!(response.status(), 200);
    let continued = format!("00-{TRACE}-");
    let answered = response.headers()["traceparent"].to_str().unwrap();
    assert!(answered.starts_with(&continued), "{answered}");

    let within = Duration::from_secs(10);
    let call = tokio::time::timeout(within, futures::StreamExt::next(&mut calls))
        .await
        .expect("the call was seen on NATS")
        .unwrap();
    let headers = call.headers.expect("a signed call has headers");
    let claims: Value =
        serde_json::from_str(headers.get("Arsenal-Claims").unwrap().as_str()).unwrap();
    let forwarded = claims["traceparent"].as_str().expect("the claims carry it");
    assert!(forwarded.starts_with(&continued), "{claims}");
    assert!(
        !forwarded.contains(CALLER_SPAN),
        "under a's span: {forwarded}"
    );

    let reply = loop {
        let message = tokio::time::timeout(within, futures::StreamExt::next(&mut replies))
            .await
            .expect("b's answer was seen on NATS")
            .unwrap();
        if let Some(headers) = message.headers
            && headers.get("Arsenal-Status").is_some()
        {
            break headers;
        }
    };
    let on_b = reply
        .get("traceparent")
        .expect("b's trace context")
        .as_str();
    assert!(on_b.starts_with(&continued), "{on_b}");
    assert_ne!(on_b, forwarded, "b answers under a span of its own");
}
