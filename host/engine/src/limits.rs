//! Store-level limits of one guest instance: a memory and table limiter that records
//! what it refused, so a trap that follows a refused grow is reported as
//! `resource_exhausted` rather than as a crash.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::ResourceLimiter;

/// What the limiter refused, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A memory grow (or an initial memory) beyond the cap, in bytes.
    Memory { requested: usize, cap: usize },
    /// A table grow beyond the cap, in elements.
    Table { requested: usize, cap: usize },
    /// A memory grow beyond a budget shared by several stores (a sandbox's total).
    Budget {
        requested: usize,
        used: u64,
        cap: u64,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Memory { requested, cap } => write!(
                f,
                "linear memory of {} MiB requested, cap is {} MiB",
                requested.div_ceil(1 << 20),
                cap / (1 << 20)
            ),
            Refusal::Table { requested, cap } => {
                write!(f, "table of {requested} elements requested, cap is {cap}")
            }
            Refusal::Budget {
                requested,
                used,
                cap,
            } => write!(
                f,
                "{} KiB more memory requested with {} KiB of the shared budget of {} KiB in use",
                requested.div_ceil(1024),
                used / 1024,
                cap / 1024
            ),
        }
    }
}

/// A memory budget shared by several stores: what they hold together stays under `cap`.
#[derive(Debug)]
pub struct SharedBudget {
    used: AtomicU64,
    cap: AtomicU64,
}

impl SharedBudget {
    pub fn new(cap: u64) -> SharedBudget {
        SharedBudget {
            used: AtomicU64::new(0),
            cap: AtomicU64::new(cap),
        }
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    pub(crate) fn cap(&self) -> u64 {
        self.cap.load(Ordering::Acquire)
    }

    pub fn set_cap(&self, cap: u64) {
        self.cap.store(cap, Ordering::Release);
    }

    /// Take `bytes` if they fit; on refusal, what was in use.
    fn take(&self, bytes: u64) -> Result<(), u64> {
        let cap = self.cap();
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used + bytes <= cap).then_some(used + bytes)
            })
            .map(|_| ())
    }

    fn give_back(&self, bytes: u64) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Caps linear memory and tables of one store and remembers the first refusal.
#[derive(Debug)]
pub struct CallLimiter {
    memory_cap: usize,
    table_cap: usize,
    refusal: Option<Refusal>,
    /// Linear memory granted so far, in bytes (memories only grow).
    memory_bytes: usize,
    /// A budget this store's memory also counts against, given back when it is dropped.
    shared: Option<Arc<SharedBudget>>,
}

impl Drop for CallLimiter {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.give_back(self.memory_bytes as u64);
        }
    }
}

impl CallLimiter {
    pub fn new(memory_cap: usize, table_cap: usize) -> CallLimiter {
        CallLimiter {
            memory_cap,
            table_cap,
            refusal: None,
            memory_bytes: 0,
            shared: None,
        }
    }

    /// Count this store's memory against `budget` as well.
    pub fn sharing(mut self, budget: Arc<SharedBudget>) -> CallLimiter {
        self.shared = Some(budget);
        self
    }

    /// Linear memory of the store, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    pub fn refusal(&self) -> Option<Refusal> {
        self.refusal
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.refusal.get_or_insert(Refusal::Memory {
                requested: desired,
                cap: self.memory_cap,
            });
            return Ok(false);
        }
        let grow = desired.saturating_sub(current);
        if let Some(shared) = &self.shared
            && let Err(used) = shared.take(grow as u64)
        {
            self.refusal.get_or_insert(Refusal::Budget {
                requested: grow,
                used,
                cap: shared.cap(),
            });
            return Ok(false);
        }
        self.memory_bytes += grow;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_cap {
            self.refusal.get_or_insert(Refusal::Table {
                requested: desired,
                cap: self.table_cap,
            });
            return Ok(false);
        }
        Ok(true)
    }
}
