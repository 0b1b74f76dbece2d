//! The settings the engine layer reads: per-call limits and the instance pool, compiling
//! components from outside the binary, and the capabilities granted per source. They are
//! part of the host's configuration (`arsenal_core::config::Settings`), parsed there.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::policy::CapabilitySettings;

/// Sandboxes one host runs at most, unless configured.
pub const DEFAULT_MAX_SANDBOXES: usize = 64;

/// Per-call limits and the instance pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Linear memory of one call, in MiB. Default 64.
    pub memory_mib: u32,
    /// The largest memory any operation may be given (by hint or override), in MiB; sizes
    /// the pool's memory slots. Default 256.
    pub max_memory_mib: u32,
    /// Wall-clock deadline of one call, in milliseconds. Default 5,000.
    pub timeout_ms: u32,
    /// Largest `data` an operation may return, in bytes. Default 8 MiB.
    pub max_response_bytes: usize,
    /// Concurrent instances; 0 sizes it from the machine's memory so that instances ×
    /// memory cap fits in half of it (clamped to 4..=1024). Default 0.
    pub max_instances: u32,
    /// Table elements one instance may grow to. Default 10,000.
    pub table_elements: u32,
    /// Epoch tick, in milliseconds: the resolution of deadlines. Default 10.
    pub epoch_tick_ms: u64,
    /// Linear memory of one worker process, in MiB. Default 16.
    pub worker_memory_mib: u32,
    /// Worker processes resident at once (hibernated ones do not count): the slots of the
    /// worker engine's pool, whose instances reuse the memory and stack of the last one
    /// in their slot. A spawn, wake or restart that finds them all held hibernates the
    /// least recently active idle stateful worker to make room; only when none can
    /// hibernate does it fail with "no worker slot".
    /// Each slot costs two kernel mappings up front and two more once used (65,530 per OS
    /// process: lower it for several hosts in one process); 0 makes worker instances on
    /// demand (no cap but the mappings; slower restarts and wakes). Default 12,288.
    pub worker_slots: u32,
    /// Memory a free worker slot keeps mapped for its next worker, in KiB: the pages the
    /// last worker dirtied, up to this much linear memory (and up to 64 KiB of its table
    /// and fiber stack), reset in place with `pagemap_scan` (Linux 6.7+), so the next
    /// spawn or wake in that slot faults fewer pages in. 0 returns everything to the
    /// kernel as soon as a worker hibernates or exits. Default 0.
    pub worker_keep_resident_kib: u32,
    /// Deadline of one worker call (`init`, a batch of messages, a snapshot), in
    /// milliseconds. Default 1,000.
    pub worker_timeout_ms: u32,
    /// Messages a process's mailbox holds; a send beyond is refused. Default 1,024.
    pub mailbox_capacity: usize,
    /// Idle time after which a stateful worker hibernates, in milliseconds; 0 never.
    /// Default 30,000.
    pub idle_hibernate_ms: u64,
    /// Sandboxes the host runs at most.
    pub max_sandboxes: usize,
    /// Idle instances kept for reuse, over all operations in warm-instance mode
    /// (`operations.overrides.<name>.warm_instance_calls`). The pool reserves this many
    /// slots beyond `max_instances`, so an idle instance never takes a request's slot.
    /// Default 16.
    pub warm_instances: u32,
    /// How long an idle warm instance is kept, in milliseconds. Default 60,000.
    pub warm_idle_ms: u64,
    /// Linear memory of a pooled instance slot kept mapped between instances and reset in
    /// place (only the pages the last instance dirtied, found with `pagemap_scan`); memory
    /// beyond it is returned to the kernel. Used only where the kernel has `pagemap_scan`
    /// (Linux 6.7+). In KiB. Default 4,096.
    pub keep_resident_kib: u32,
    /// Freed instance slots whose memory is returned to the kernel in one batch; larger
    /// batches make fewer system calls per instance. Default 1.
    pub decommit_batch: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            memory_mib: 64,
            max_memory_mib: 256,
            timeout_ms: 5_000,
            max_response_bytes: 8 * 1024 * 1024,
            max_instances: 0,
            table_elements: 10_000,
            epoch_tick_ms: 10,
            worker_memory_mib: 16,
            worker_slots: 12_288,
            worker_keep_resident_kib: 0,
            worker_timeout_ms: 1_000,
            mailbox_capacity: 1_024,
            idle_hibernate_ms: 30_000,
            max_sandboxes: DEFAULT_MAX_SANDBOXES,
            warm_instances: 16,
            warm_idle_ms: 60_000,
            keep_resident_kib: 4 * 1024,
            decommit_batch: 1,
        }
    }
}

/// Compiling components that come from outside the binary (see `compiler`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompileSettings {
    /// The bound on one compilation, in milliseconds; past it the upload is refused with
    /// `compile_timeout`. Default 60,000.
    pub timeout_ms: u64,
    /// Compilations running at once; more wait their turn. Default 2.
    pub max_concurrent: usize,
    /// The executable that compiles in a child process (run as `PROGRAM compile-child`).
    /// The `arsenal` binary uses itself; a host embedded in another program without one
    /// compiles on a blocking thread, which the bound cannot stop.
    pub program: Option<PathBuf>,
}

impl Default for CompileSettings {
    fn default() -> Self {
        CompileSettings {
            timeout_ms: 60_000,
            max_concurrent: 2,
            program: None,
        }
    }
}
