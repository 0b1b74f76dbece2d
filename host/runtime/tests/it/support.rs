//! A worker engine and a process table assembled from the engine's limit settings as the
//! host assembles them, the counter worker compiled on it, and bounded waits.

use std::sync::Arc;
use std::time::Duration;

use arsenal_engine::compiler::Compiler;
use arsenal_engine::lookups::CacheLookups;
use arsenal_engine::policy::{CapabilitySettings, Grants, Source};
use arsenal_engine::settings::{CompileSettings, LimitSettings};
use arsenal_runtime::{
    ChildInfo, ExitReason, ProcessTable, SupervisorHandle, TableLimits, WorkerCode, WorkerEngine,
    WorkerLimits,
};

use arsenal_wasi::WasiCapabilities;
use arsenal_wasi::keyvalue::{KeyValueSettings, KeyValueStore, LocalStore, Quotas};

pub(crate) use arsenal_tests::guests;

/// The node the runtime's pids name.
const NODE: &str = "local";

/// A worker engine and the process table running on it. Its processes are killed when it
/// drops: their tasks hold the engine.
pub(crate) struct Runtime {
    workers: Arc<WorkerEngine>,
    table: Arc<ProcessTable>,
}

impl Runtime {
    /// A runtime with the test limits, changed by `configure`: a compile cache shared by
    /// every test process (so each guest compiles once per machine), a small worker pool
    /// (a test binary runs several runtimes at once), and no hibernation of idle processes
    /// unless a test asks for it.
    pub(crate) fn new(configure: impl FnOnce(&mut LimitSettings)) -> Runtime {
        let mut limits = LimitSettings {
            worker_slots: 1_024,
            idle_hibernate_ms: 0,
            ..LimitSettings::default()
        };
        configure(&mut limits);
        let grants = Grants::from_settings(&CapabilitySettings::default())
            .expect("the default capability settings name known capabilities");
        let cache = std::path::Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/compile-cache"));
        // Key-value storage in memory, no bucket shared: the runtime's tests grant none.
        let keyvalue = KeyValueStore::local(
            LocalStore::open(None, 1 << 20).expect("an in-memory store opens"),
            Quotas::from(&KeyValueSettings::default()),
        );
        // Nothing granted: the runtime's tests make no outbound requests.
        let none = Default::default();
        let wasi = WasiCapabilities::new(keyvalue, &Default::default(), &none, &none)
            .expect("no grants are valid grants");
        let workers = Arc::new(WorkerEngine::new(
            Arc::new(CacheLookups::default()),
            grants,
            Arc::new(wasi),
            WorkerLimits {
                memory_bytes: limits.worker_memory_mib as usize * 1024 * 1024,
                table_elements: limits.table_elements as usize,
                call_timeout: Duration::from_millis(limits.worker_timeout_ms as u64),
            },
            arsenal_engine::engine::WorkerSlots::from(&limits),
            Duration::from_millis(limits.epoch_tick_ms.max(1)),
            Some(cache),
            Arc::new(Compiler::new(&CompileSettings::default())),
            5,
        ));
        let table = ProcessTable::new(
            NODE,
            1,
            workers.clone(),
            TableLimits {
                mailbox_capacity: limits.mailbox_capacity,
                idle_hibernate: (limits.idle_hibernate_ms > 0)
                    .then(|| Duration::from_millis(limits.idle_hibernate_ms)),
                max_sandboxes: limits.max_sandboxes,
                sandbox_dir: concat!(env!("CARGO_TARGET_TMPDIR"), "/sandboxes").into(),
            },
        );
        Runtime { workers, table }
    }

    /// The process table.
    pub(crate) fn processes(&self) -> &Arc<ProcessTable> {
        &self.table
    }

    /// The worker engine.
    pub(crate) fn workers(&self) -> &WorkerEngine {
        &self.workers
    }

    /// The counter worker (`arsenal-tests`' `counter-worker` example), compiled here.
    pub(crate) async fn counter(&self) -> Arc<WorkerCode> {
        let bytes = arsenal_tests::read(guests::COUNTER_WORKER);
        self.workers
            .prepare("counter", &bytes, Source::Builtin, "builtin:counter")
            .await
            .expect("the counter compiles")
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.table.kill_all();
    }
}

/// A runtime with the test limits changed by `configure`, and the counter worker on it.
pub(crate) async fn counter_runtime(
    configure: impl FnOnce(&mut LimitSettings),
) -> (Runtime, Arc<WorkerCode>) {
    let runtime = Runtime::new(configure);
    let code = runtime.counter().await;
    (runtime, code)
}

/// How long a test waits for something the runtime does on its own (an exit, a restart)
/// before failing: long beside what it takes even on a loaded machine, so only a broken
/// runtime runs out of it, and a hang fails the test instead of holding up the suite.
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
