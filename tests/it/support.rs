//! What the integration tests share beside `arsenal-testing`'s `TestHost` and `Reply`: the
//! built-in catalogue, hosts with counter processes, settings with a shared compile cache,
//! bounded waits, and a log capture.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arsenal::config::Settings;
use arsenal::runtime::{ChildInfo, ExitReason, ProcessTable, SupervisorHandle};
use arsenal_testing::{ADMIN_TOKEN, Reply, TestHost, TestHostBuilder};

pub(crate) use arsenal_tests::guests;

/// The built-in operations, by name.
pub(crate) const BUILTINS: &[&str] = &[
    "add_child",
    "analyze_deadlocks",
    "analyze_message_queue",
    "balance_cluster_load",
    "change_strategy",
    "cluster_health",
    "cluster_processes",
    "cluster_registry",
    "cluster_supervision_trees",
    "cluster_topology",
    "create_sandbox",
    "delete_child",
    "delete_key",
    "destroy_sandbox",
    "detect_bottlenecks",
    "detect_memory_leaks",
    "echo",
    "engine_info",
    "get_key",
    "get_process_info",
    "get_process_links",
    "get_process_state",
    "get_sandbox_info",
    "get_supervision_tree",
    "get_supervisor_flags",
    "get_trace",
    "hibernate_process",
    "hot_reload_sandbox",
    "inspect_mailbox",
    "kill_process",
    "list_buckets",
    "list_keys",
    "list_processes",
    "list_registered",
    "list_sandboxes",
    "list_supervisors",
    "list_workers",
    "memory_info",
    "migrate_process",
    "node_info",
    "process_tree",
    "profile_process",
    "put_key",
    "restart_child",
    "restart_history",
    "restart_process",
    "restart_sandbox",
    "resume_process",
    "run_in_sandbox",
    "send_message",
    "set_sandbox_limits",
    "set_sandbox_policy",
    "start_process",
    "start_supervisor",
    "stop_supervisor",
    "stop_trace",
    "suspend_process",
    "system_info",
    "trace_process",
    "which_children",
];

/// The built-ins and `extra` operation names, sorted as the catalogue lists them.
pub(crate) fn catalogue_with(extra: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = BUILTINS
        .iter()
        .chain(extra)
        .map(|name| (*name).to_owned())
        .collect();
    names.sort();
    names
}

/// A host with the built-ins and one counter process registered under each name.
pub(crate) async fn host_with_counters(names: &[&str]) -> TestHost {
    host_with_counters_in(settings(), names).await
}

/// [`host_with_counters`] with `settings`.
pub(crate) async fn host_with_counters_in(settings: Settings, names: &[&str]) -> TestHost {
    let host = test_host_with(settings, &[]).await;
    let bytes = arsenal_tests::read(guests::COUNTER_WORKER);
    let code = host
        .host()
        .workers()
        .load(
            "counter",
            &bytes,
            arsenal::Source::Builtin,
            guests::COUNTER_WORKER,
        )
        .await
        .unwrap()
        .live()
        .cloned()
        .unwrap();
    for name in names {
        let options = arsenal::runtime::SpawnOptions {
            name: Some((*name).to_owned()),
            ..Default::default()
        };
        host.host()
            .processes()
            .spawn(code.clone(), "", options)
            .await
            .unwrap();
    }
    host
}

/// A pid made safe for a URI path.
pub(crate) fn encode(pid: &str) -> String {
    pid.replace('<', "%3C").replace('>', "%3E")
}

/// The test settings with these API keys, `(name, secret, role)` (and so no local mode).
pub(crate) fn keyed(keys: &[(&str, &str, arsenal::Role)]) -> Settings {
    let mut settings = settings();
    settings.auth.keys = keys
        .iter()
        .map(|(name, secret, role)| arsenal::config::ApiKey {
            name: (*name).to_owned(),
            sha256: arsenal::hash_key(secret),
            roles: vec![*role],
        })
        .collect();
    settings
}

/// Settings for tests: a compile cache shared by every test process (so each guest
/// compiles once per machine), a small instance pool, and a 1 s deadline so timeout
/// tests stay quick.
pub(crate) fn settings() -> Settings {
    let mut settings =
        Settings::default().with_cache_dir(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
    settings.limits.max_instances = 8;
    settings.limits.timeout_ms = 1_000;
    // Test binaries run several hosts at once: a small worker pool each keeps them far
    // from the kernel's mappings per OS process.
    settings.limits.worker_slots = 1_024;
    // Tests count processes; the host's service tree is tested on its own.
    settings.server.host_services = false;
    // Each host keeps its admin changes in a directory of its own.
    settings.server.state_dir = Some(fresh_state_dir());
    // Local mode with the admin token `TestHost`'s request helpers send; rate limits
    // off, since tests send bursts (the auth tests set their own).
    settings.auth.admin_token = Some(ADMIN_TOKEN.to_owned());
    settings.rate_limits = arsenal::config::RateLimitSettings::off();
    settings
}

/// A test host builder starting from the test [`settings`] (the builder sets the state
/// directory, admin token and rate limits itself).
pub(crate) fn builder() -> TestHostBuilder {
    TestHost::builder().settings(|test| *test = settings())
}

/// A new, empty directory under the target directory, for one host's state.
pub(crate) fn fresh_state_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "state/{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A host with the built-in operations and the given guest files (source `directory`),
/// started with [`settings`]; panics, naming the guest, when one fails to load.
pub(crate) async fn test_host(guests: &[&str]) -> TestHost {
    test_host_with(settings(), guests).await
}

/// [`test_host`] with `settings` as they are.
pub(crate) async fn test_host_with(settings: Settings, guests: &[&str]) -> TestHost {
    let paths: Vec<&Path> = guests.iter().map(Path::new).collect();
    TestHost::with_settings(settings, &paths)
        .await
        .unwrap_or_else(|error| panic!("the test host: {}", chain(&error)))
}

/// An error and its sources, outermost first, joined by `: `.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// How long a test waits for something the host does on its own (an exit, a restart, the
/// end of a compilation) before failing: long beside what it takes even on a loaded
/// machine, so only a broken host runs out of it, and a hang fails the test instead of
/// holding up the suite.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// `future`'s output, or a failure naming `what` when it has not come within
/// [`PATIENCE`]. No test waits without a bound.
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within {PATIENCE:?}"))
}

/// The exit of `target`, watched from now (take it before causing the exit) and awaited
/// within [`PATIENCE`].
pub(crate) fn exit_of(
    table: &ProcessTable,
    target: &str,
) -> impl Future<Output = ExitReason> + use<> {
    let exit = table
        .await_exit(target)
        .unwrap_or_else(|error| panic!("cannot watch `{target}` exit: {error}"));
    let what = format!("the exit of `{target}`");
    async move { within(&what, exit).await }
}

/// Pids of a supervisor's children, in order.
pub(crate) fn pids(children: &[ChildInfo]) -> Vec<Option<String>> {
    children.iter().map(|child| child.pid.clone()).collect()
}

/// Crash the child `id` and wait until the supervisor has dealt with it (its children
/// differ from before, or the supervisor is gone).
pub(crate) async fn crash(
    table: &Arc<ProcessTable>,
    supervisor: &SupervisorHandle,
    id: &str,
) -> Vec<ChildInfo> {
    let before = supervisor.which_children().await.unwrap();
    let pid = before
        .iter()
        .find(|child| child.id == id)
        .unwrap()
        .pid
        .clone()
        .unwrap();
    let exited = exit_of(table, &pid);
    table.send(&pid, None, "crash").unwrap();
    exited.await;
    settle(supervisor, &before).await
}

/// Wait until a supervisor's children differ from `before`.
pub(crate) async fn settle(supervisor: &SupervisorHandle, before: &[ChildInfo]) -> Vec<ChildInfo> {
    within("the supervisor's reaction", async {
        loop {
            match supervisor.which_children().await {
                Ok(now) if pids(&now) != pids(before) || now.len() != before.len() => return now,
                Ok(_) => tokio::task::yield_now().await,
                Err(_) => return Vec::new(),
            }
        }
    })
    .await
}

/// The role the catalogue `catalogue` (a `GET /api/v1/operations` answer) says
/// operation `name` needs.
pub(crate) fn required_role(catalogue: &Reply, name: &str) -> serde_json::Value {
    catalogue.body["data"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|op| op["name"] == name)
        .map(|op| op["required_role"].clone())
        .unwrap_or_else(|| panic!("no `{name}` in {}", catalogue.body))
}

/// Upload the component at `path` as an operation (`POST /api/v1/admin/operations`).
pub(crate) async fn upload(host: &TestHost, path: &str) -> Reply {
    host.send(
        http::Method::POST,
        "/api/v1/admin/operations",
        axum::body::Body::from(arsenal_tests::read(path)),
        &[("content-type", "application/wasm")],
    )
    .await
}

/// A `tracing` writer into a shared buffer, for tests that read what was logged.
#[derive(Clone, Default)]
pub(crate) struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// A subscriber writing JSON lines (INFO and up) here; set it with
    /// `tracing::subscriber::set_default` around what should be captured.
    pub(crate) fn json_subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        // tracing-core takes a lone dispatcher for the global one, and then asks a thread
        // registering a new callsite about its own default (none, in another test): the
        // callsite is disabled for this capture too. A second one, kept for the process,
        // has every live dispatcher asked.
        static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
        SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
        let writer = self.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish()
    }

    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The JSON lines written so far whose target is `target` (`guest` for what guests
    /// log).
    pub(crate) fn lines(&self, target: &str) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON")
            })
            .filter(|line| line["target"] == target)
            .collect()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
