//! Live facts about this host: its node, engine and instance figures, how many
//! operations are loaded, its process table, its place in the cluster and its key-value store — read by the
//! registry, the invoker and the `system` and runtime capabilities.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use crate::bindings::arsenal::runtime::system::{EngineInfo, HostInfo};
use crate::engine::EngineFacts;
use crate::gate::InstanceGate;
use crate::policy::CONTRACT_VERSIONS;
use crate::system_facts;

/// Live facts about this host, shared by the registry, the invoker and host functions.
#[derive(Debug)]
pub(crate) struct HostFacts {
    pub(crate) node: String,
    pub(crate) started: Instant,
    pub(crate) engine: EngineFacts,
    pub(crate) instances: Arc<InstanceGate>,
    pub(crate) operations_loaded: AtomicU32,
    /// The process table (weak: the host owns it).
    pub(crate) processes: std::sync::Weak<crate::runtime::ProcessTable>,
    /// Compile-cache lookups of operation components, for `/metrics`.
    pub(crate) compile_cache: Arc<arsenal_engine::lookups::CacheLookups>,
    /// This node's place in the cluster: alone until `Host::start` joins NATS.
    pub(crate) cluster: arc_swap::ArcSwap<crate::cluster::Cluster>,
    /// Every component's buckets, for the `storage` capability, and which keys are secret.
    pub(crate) keyvalue: arsenal_wasi::keyvalue::KeyValueStore,
    pub(crate) secret_keys: arsenal_wasi::keyvalue::SecretKeys,
}

impl HostFacts {
    pub(crate) fn host_info(&self) -> HostInfo {
        HostInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            node: self.node.clone(),
            hostname: system_facts::hostname(),
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            cpus: system_facts::cpus(),
            uptime_seconds: self.started.elapsed().as_secs(),
            pid: std::process::id(),
            rss_bytes: system_facts::rss_bytes().unwrap_or(0),
            memory_total_bytes: system_facts::memory_total_bytes().unwrap_or(0),
            memory_available_bytes: system_facts::memory_available_bytes().unwrap_or(0),
            load_average: system_facts::load_average(),
        }
    }

    pub(crate) fn engine_info(&self) -> EngineInfo {
        EngineInfo {
            wasmtime_version: self.engine.wasmtime_version.to_owned(),
            contract_versions: CONTRACT_VERSIONS.iter().map(|v| (*v).to_owned()).collect(),
            pooling: self.engine.pooling,
            pagemap_scan: self.engine.pagemap_scan,
            max_instances: self.engine.max_instances,
            instances_in_use: self.instances.in_use(),
            default_memory_mib: self.engine.default_memory_mib,
            default_timeout_ms: self.engine.default_timeout_ms,
            operations_loaded: self.operations_loaded.load(Ordering::Relaxed),
        }
    }
}
