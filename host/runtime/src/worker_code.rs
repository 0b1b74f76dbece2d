//! Worker components: the contract a component meets to be a worker (it exports
//! `arsenal:process/worker`, imports the baseline and the `process` interface), the
//! compiled code every process running it shares, and the set of worker components live
//! under their names. Loading goes through the engine's one component pipeline; versions
//! through its one version store.

use std::sync::Arc;

use wasmtime::component::InstancePre;

use crate::state::ProcessState;
use arsenal_engine::bindings::process::WorkerProcessIndices;
use arsenal_engine::component::{Contract, Kind, Linked, LiveSet, LoadError, Versioned};
use arsenal_engine::inspect::ComponentShape;
use arsenal_engine::policy::{Capability, Source};

pub(crate) const STATE_INTERFACE: &str = "arsenal:process/state@0.1.0";
const WORKER_INTERFACE: &str = "arsenal:process/worker@0.1.0";
/// The worker interface at any version, up to the `@`.
const WORKER_INTERFACE_UNVERSIONED: &str = "arsenal:process/worker@";
const PROCESS_INTERFACE: &str = "arsenal:process/process@";
const FILESYSTEM_PACKAGE: &str = "wasi:filesystem/";

/// The worker contract version this host accepts.
pub fn supported_contract() -> &'static str {
    WORKER_INTERFACE
        .strip_prefix(WORKER_INTERFACE_UNVERSIONED)
        .expect("the worker interface is versioned")
}

/// A compiled worker component, shared by every process running it.
pub struct WorkerCode {
    pub(crate) name: String,
    /// The start of its content hash.
    pub(crate) version: String,
    /// Hex SHA-256 of the component bytes.
    content_hash: String,
    source: Source,
    origin: String,
    pub(crate) instance_pre: InstancePre<ProcessState>,
    /// Where the worker interface's exports are, found once: bindgen's
    /// `WorkerProcess::new` looks them up by name again for every instance.
    pub(crate) indices: WorkerProcessIndices,
    stateful: bool,
    /// It imports `wasi:filesystem`: it reaches a directory only in a sandbox granting one.
    uses_filesystem: bool,
    /// The named capabilities it imports.
    capabilities: Vec<Capability>,
}

impl WorkerCode {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }

    pub fn source(&self) -> Source {
        self.source
    }

    /// Whether the worker exports `state` (can hibernate and upgrade with its state).
    pub fn is_stateful(&self) -> bool {
        self.stateful
    }

    /// Whether the worker imports `wasi:filesystem`.
    pub fn uses_filesystem(&self) -> bool {
        self.uses_filesystem
    }

    /// The named capabilities it imports (the baseline and `process` not listed).
    pub fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }
}

impl std::fmt::Debug for WorkerCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerCode")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish()
    }
}

impl Versioned for WorkerCode {
    const KIND: Kind = Kind::Worker;

    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> &str {
        &self.version
    }

    fn content_hash(&self) -> &str {
        &self.content_hash
    }

    fn source(&self) -> Source {
        self.source
    }

    fn origin(&self) -> &str {
        &self.origin
    }
}

/// The worker components live under their names. Processes started from now on run the
/// live version; running ones keep the code they started with.
#[derive(Debug, Default)]
pub struct WorkerSet {
    workers: Vec<Arc<WorkerCode>>,
}

impl LiveSet for WorkerSet {
    type Item = WorkerCode;

    fn items(&self) -> &[Arc<WorkerCode>] {
        &self.workers
    }

    fn build(workers: Vec<Arc<WorkerCode>>, _changed: Option<&str>) -> Result<Self, LoadError> {
        Ok(WorkerSet { workers })
    }
}

/// What a worker component offers, read before it is compiled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Offers {
    stateful: bool,
    uses_filesystem: bool,
}

/// The worker contract, for a component loaded under `name` (a worker is named by whoever
/// loads it, not by itself).
pub(crate) struct WorkerContract<'a> {
    pub(crate) name: &'a str,
}

impl Contract<ProcessState> for WorkerContract<'_> {
    type Facts = Offers;
    type Loaded = Arc<WorkerCode>;

    /// It must export the worker interface; the `process` interface is every worker's own
    /// baseline (never an operation's), so the policy does not judge it.
    fn inspect(&self, shape: &ComponentShape) -> Result<(Offers, Vec<String>), LoadError> {
        if !shape
            .exports
            .iter()
            .any(|export| export == WORKER_INTERFACE)
        {
            // Built against another version of the contract: say which, and which this
            // host takes.
            if let Some(found) = shape
                .exports
                .iter()
                .find_map(|export| export.strip_prefix(WORKER_INTERFACE_UNVERSIONED))
            {
                return Err(LoadError::UnsupportedContract {
                    found: found.to_owned(),
                    supported: vec![supported_contract().to_owned()],
                });
            }
            return Err(LoadError::InvalidComponent(format!(
                "it does not export `{WORKER_INTERFACE}`"
            )));
        }
        let uses_filesystem = shape
            .imports
            .iter()
            .any(|import| import.starts_with(FILESYSTEM_PACKAGE));
        let judged = shape
            .imports
            .iter()
            .filter(|import| !import.starts_with(PROCESS_INTERFACE))
            .cloned()
            .collect();
        let offers = Offers {
            stateful: shape.exports.iter().any(|export| export == STATE_INTERFACE),
            uses_filesystem,
        };
        Ok((offers, judged))
    }

    async fn finish(
        &self,
        linked: Linked<ProcessState, Offers>,
    ) -> Result<Arc<WorkerCode>, LoadError> {
        let indices = WorkerProcessIndices::new(&linked.pre)
            .map_err(|error| LoadError::InvalidComponent(format!("{error:#}")))?;
        Ok(Arc::new(WorkerCode {
            name: self.name.to_owned(),
            version: linked.content_hash[..12].to_owned(),
            content_hash: linked.content_hash,
            source: linked.source,
            origin: linked.origin,
            instance_pre: linked.pre,
            indices,
            stateful: linked.facts.stateful,
            uses_filesystem: linked.facts.uses_filesystem,
            capabilities: linked.capabilities,
        }))
    }
}
