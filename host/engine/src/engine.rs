//! The one place that configures wasmtime for operations: component model, async,
//! epoch interruption with a ticker on its own OS thread, and a pooling allocator sized
//! from one knob (instances × memory cap), with `pagemap_scan` + keep-resident where the
//! kernel supports it. The rest of the host never touches a raw `wasmtime::Config`.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::settings::LimitSettings;

const MIB: usize = 1024 * 1024;

/// Instances reserved beyond `max_instances` for `describe` calls at load time, so loading
/// never competes with serving for a slot.
const DESCRIBE_HEADROOM: u32 = 8;

/// How the engine was built, for diagnostics and the `engine_info` operation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EngineFacts {
    pub wasmtime_version: &'static str,
    pub pooling: bool,
    pub pagemap_scan: bool,
    pub max_instances: u32,
    pub default_memory_mib: u32,
    pub default_timeout_ms: u32,
}

impl EngineFacts {
    /// The facts of an engine without pooling.
    fn of(limits: &LimitSettings, max_instances: u32) -> EngineFacts {
        EngineFacts {
            wasmtime_version: WASMTIME_VERSION,
            pooling: false,
            pagemap_scan: false,
            max_instances,
            default_memory_mib: limits.memory_mib,
            default_timeout_ms: limits.timeout_ms,
        }
    }
}

/// The wasmtime engine for operations and its epoch ticker.
pub struct OperationEngine {
    engine: Engine,
    facts: EngineFacts,
    fingerprint: String,
    recipe: EngineRecipe,
    /// Kept for its `Drop`, which stops the ticker thread.
    _ticker: EpochTicker,
}

impl OperationEngine {
    /// Build the engine. Pooling is preferred; if the machine refuses the reservation
    /// (e.g. a virtual-memory ulimit), it falls back to on-demand allocation with a warning.
    pub fn new(limits: &LimitSettings) -> wasmtime::Result<Arc<OperationEngine>> {
        let max_instances = effective_max_instances(limits);
        let pagemap_scan = PoolingAllocationConfig::is_pagemap_scan_available();
        let (engine, pooling) = match Engine::new(&base_config(Some(pooling_config(
            limits,
            max_instances,
            pagemap_scan,
        )))) {
            Ok(engine) => (engine, true),
            Err(error) => {
                tracing::warn!(%error, "pooling allocator unavailable; using on-demand instances");
                (Engine::new(&base_config(None))?, false)
            }
        };
        let fingerprint = fingerprint(&engine);
        let facts = EngineFacts {
            pooling,
            pagemap_scan: pooling && pagemap_scan,
            ..EngineFacts::of(limits, max_instances)
        };
        Ok(OperationEngine::running(
            engine,
            EngineRecipe::Operations,
            fingerprint,
            facts,
            limits,
        ))
    }

    /// The engine for asynchronous operations. Its instances are made on demand: they
    /// are meant to be reused, serving many calls each, so the pool's fast instantiation
    /// matters less than leaving the synchronous engine's slots to synchronous calls.
    pub fn asynchronous(limits: &LimitSettings) -> wasmtime::Result<Arc<OperationEngine>> {
        let recipe = EngineRecipe::AsyncOperations;
        let engine = Engine::new(&recipe.config())?;
        // Its artifacts never meet the synchronous engine's, whatever the hash covers.
        let fingerprint = format!("{}-async", fingerprint(&engine));
        let facts = EngineFacts::of(limits, effective_max_instances(limits));
        Ok(OperationEngine::running(
            engine,
            recipe,
            fingerprint,
            facts,
            limits,
        ))
    }

    /// `engine` with its epoch ticker started.
    fn running(
        engine: Engine,
        recipe: EngineRecipe,
        fingerprint: String,
        facts: EngineFacts,
        limits: &LimitSettings,
    ) -> Arc<OperationEngine> {
        let ticker = EpochTicker::start(
            engine.clone(),
            Duration::from_millis(limits.epoch_tick_ms.max(1)),
        );
        Arc::new(OperationEngine {
            engine,
            facts,
            fingerprint,
            recipe,
            _ticker: ticker,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn facts(&self) -> &EngineFacts {
        &self.facts
    }

    /// Identifies the wasmtime version and every setting that affects compiled code; the
    /// compile cache is keyed on it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The settings a compiler child process needs to compile for this engine.
    pub fn recipe(&self) -> EngineRecipe {
        self.recipe
    }
}

/// The wasmtime version this host is built with (kept in step with Cargo.toml's pin).
pub(crate) const WASMTIME_VERSION: &str = "48.0.10";

/// Every setting of an engine that shapes the code it compiles, in a form a compiler child
/// process can be handed: the child builds the same configuration, so the artifact it
/// writes is one the server's engine accepts (wasmtime checks this when deserializing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "engine")]
pub enum EngineRecipe {
    /// The operation engine: 4 GiB memory reservations, so compiled code needs no bounds
    /// checks.
    Operations,
    /// The engine for operations exporting the asynchronous contract: as `Operations`,
    /// with component-model async and the store's concurrency support, so one instance
    /// may serve several calls at once. Kept apart so that synchronous calls pay nothing
    /// for the concurrency machinery.
    AsyncOperations,
    /// The worker engine: memories reserved only up to the worker cap.
    Workers { max_memory_bytes: usize },
}

impl EngineRecipe {
    /// The configuration for compiling (and running, once the allocator is added).
    pub fn config(&self) -> Config {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let concurrent = *self == EngineRecipe::AsyncOperations;
        config.concurrency_support(concurrent);
        config.wasm_component_model_async(concurrent);
        match *self {
            EngineRecipe::Operations | EngineRecipe::AsyncOperations => {
                // A 4 GiB reservation (wasmtime's default on 64-bit) plus the guard covers
                // every address a 32-bit memory can form, so compiled code carries no
                // bounds checks nor their Spectre guards, which guest code pays on every
                // load and store. Growth stays capped below it by the pool's slot size
                // (`limits.max_memory_mib`) and the per-call limiter; what it costs is
                // address space, not memory.
                config.memory_reservation(4 << 30);
                config.memory_guard_size(32 * MIB as u64);
            }
            EngineRecipe::Workers { max_memory_bytes } => {
                // Each resident worker costs kernel memory mappings (65,530 per OS
                // process): no guard region and no copy-on-write image keep a memory to as
                // few mappings as possible.
                config.memory_reservation(max_memory_bytes as u64);
                config.memory_guard_size(0);
                config.memory_reservation_for_growth(0);
                config.memory_init_cow(false);
            }
        }
        config
    }
}

fn base_config(pooling: Option<PoolingAllocationConfig>) -> Config {
    let mut config = EngineRecipe::Operations.config();
    if let Some(pooling) = pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    config
}

fn pooling_config(
    limits: &LimitSettings,
    max_instances: u32,
    pagemap_scan: bool,
) -> PoolingAllocationConfig {
    let slots = max_instances + DESCRIBE_HEADROOM + limits.warm_instances;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots);
    // A Rust wasip2 component has one memory and a few small shim modules with tables;
    // larger runtimes (JS, Python) have a handful of core instances.
    pool.total_memories(slots * 2);
    pool.total_tables(slots * 4);
    pool.total_core_instances(slots * 8);
    pool.total_stacks(slots);
    pool.max_memory_size(limits.max_memory_mib as usize * MIB);
    pool.table_elements(limits.table_elements as usize * 2);
    pool.max_component_instance_size(1024 * 1024);
    pool.max_core_instance_size(1024 * 1024);
    pool.decommit_batch_size(limits.decommit_batch.max(1) as usize);
    if pagemap_scan {
        // With pagemap_scan a reused slot resets only the pages its last instance
        // dirtied, within the keep-resident region. Without pagemap_scan, keep-resident
        // would memset the whole region on every reuse, so it stays off.
        pool.pagemap_scan(Enabled::Yes);
        pool.linear_memory_keep_resident(limits.keep_resident_kib as usize * 1024);
        pool.table_keep_resident(64 * 1024);
        pool.async_stack_keep_resident(64 * 1024);
    }
    pool
}

/// Instances × memory cap must fit in half of the machine's memory.
fn effective_max_instances(limits: &LimitSettings) -> u32 {
    if limits.max_instances > 0 {
        return limits.max_instances;
    }
    let total = crate::system_facts::memory_total_bytes().unwrap_or(4 << 30);
    let per_instance = (limits.memory_mib.max(1) as u64) * MIB as u64;
    ((total / 2) / per_instance).clamp(4, 1024) as u32
}

pub fn fingerprint(engine: &Engine) -> String {
    // `DefaultHasher::new()` uses fixed keys, so the value is stable across processes.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("wasmtime-{WASMTIME_VERSION}-{:016x}", hasher.finish())
}

/// How many workers may be resident at once and what a free slot keeps, as the operator
/// sets them (`limits.worker_slots`, `limits.worker_keep_resident_kib`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerSlots {
    /// Resident workers at once; 0 for no pool.
    pub count: u32,
    /// Memory of a free slot kept mapped and reset in place for its next worker, in
    /// bytes; 0 returns all of it to the kernel when the slot is freed.
    pub keep_resident: usize,
}

impl From<&LimitSettings> for WorkerSlots {
    fn from(limits: &LimitSettings) -> WorkerSlots {
        WorkerSlots {
            count: limits.worker_slots,
            keep_resident: limits.worker_keep_resident_kib as usize * 1024,
        }
    }
}

/// The pool of the worker engine: how many workers may be resident at once and what each
/// may hold. See [`worker_engine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerPool {
    /// Resident workers at once and what a free slot keeps.
    pub slots: WorkerSlots,
    /// Linear memory cap of one worker, in bytes: the size of a memory slot.
    pub max_memory_bytes: usize,
    /// Table elements one worker may grow a table to: the size of a table slot.
    pub table_elements: usize,
}

/// The engine for long-lived worker processes, with memories reserved only up to the
/// worker cap. Instances come from a pool of `slots` resident workers: a restart, spawn or
/// wake takes a slot whose memory, tables and fiber stack stay mapped from the last
/// instance, instead of mapping and unmapping them for every instance, which makes
/// restarts and wakes system-call bound; what a free slot keeps of its pages is
/// `keep_resident`. What a slot costs: two kernel mappings up
/// front (its fiber stack and the stack's guard page) and two more once its memory has
/// been used (the accessible part and the rest of the slot); the kernel allows 65,530 per
/// OS process, so a host of 12,288 slots holds its resident workers in ~49,000; reserving
/// them costs one `mprotect` per guard page. With 0 slots, or if the pool cannot
/// be reserved, instances are made on demand (each resident worker then costs four
/// mappings and nothing up front).
pub fn worker_engine(pool: WorkerPool, tick: Duration) -> wasmtime::Result<(Engine, EpochTicker)> {
    let recipe = EngineRecipe::Workers {
        max_memory_bytes: pool.max_memory_bytes,
    };
    let pooled = if pool.slots.count == 0 {
        None
    } else {
        let mut config = recipe.config();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(worker_pooling_config(
            pool,
        )));
        match Engine::new(&config) {
            Ok(engine) => Some(engine),
            Err(error) => {
                tracing::warn!(
                    %error,
                    slots = pool.slots.count,
                    "the worker pool cannot be reserved; worker instances are made on demand"
                );
                None
            }
        }
    };
    let engine = match pooled {
        Some(engine) => engine,
        None => Engine::new(&recipe.config())?,
    };
    let ticker = EpochTicker::start(engine.clone(), tick);
    Ok((engine, ticker))
}

fn worker_pooling_config(pool: WorkerPool) -> PoolingAllocationConfig {
    let slots = pool.slots.count;
    let mut config = PoolingAllocationConfig::default();
    config.total_component_instances(slots);
    config.total_stacks(slots);
    // A Rust wasip2 worker has one memory and a few small shim modules with tables (as for
    // operations); core instances cost only a count, memories and tables address space
    // (a memory slot is `max_memory_bytes`, a table slot `table_elements` pointers), and
    // neither costs a mapping before it is used.
    config.total_memories(slots.saturating_mul(2));
    config.total_tables(slots.saturating_mul(4));
    config.total_core_instances(slots.saturating_mul(8));
    config.max_memory_size(pool.max_memory_bytes);
    config.table_elements(pool.table_elements);
    // A free slot keeps the pages its last worker dirtied, up to `keep_resident` (found
    // with `pagemap_scan`, reset in place), and returns the rest to the kernel; with
    // nothing kept, everything is returned and the next worker faults its pages in again.
    // As for operations, keep-resident without `pagemap_scan` would clear the whole kept
    // region on every reuse, so both or neither.
    let keep = pool.slots.keep_resident;
    if keep > 0 && PoolingAllocationConfig::is_pagemap_scan_available() {
        config.pagemap_scan(Enabled::Yes);
        config.linear_memory_keep_resident(keep);
        config.table_keep_resident(keep.min(64 * 1024));
        config.async_stack_keep_resident(keep.min(64 * 1024));
    }
    config
}

/// Advances the engine's epoch at a fixed period on a dedicated OS thread, so deadlines
/// hold even when every tokio worker is busy running guests.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, period: Duration) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("arsenal-epoch".to_owned())
            .spawn({
                let stop = stop.clone();
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(period);
                        engine.increment_epoch();
                    }
                }
            })
            .expect("spawning the epoch ticker thread");
        EpochTicker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    /// The version the host reports and fingerprints its cache with is the one it is built
    /// with: the lock file's.
    #[test]
    fn the_reported_wasmtime_version_is_the_locked_one() {
        let lock = include_str!("../../../Cargo.lock");
        let locked = lock
            .split("[[package]]")
            .find(|package| package.contains("\nname = \"wasmtime\"\n"))
            .and_then(|package| {
                package
                    .lines()
                    .find_map(|line| line.strip_prefix("version = "))
            })
            .expect("Cargo.lock locks wasmtime");
        assert_eq!(locked.trim_matches('"'), super::WASMTIME_VERSION);
    }
}
