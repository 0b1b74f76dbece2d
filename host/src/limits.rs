//! Store-level limits of one guest instance: a memory and table limiter that records
//! what it refused, so a trap that follows a refused grow is reported as
//! `resource_exhausted` rather than as a crash.

use wasmtime::ResourceLimiter;

/// What the limiter refused, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A memory grow (or an initial memory) beyond the cap, in bytes.
    Memory { requested: usize, cap: usize },
    /// A table grow beyond the cap, in elements.
    Table { requested: usize, cap: usize },
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
        }
    }
}

/// Caps linear memory and tables of one store and remembers the first refusal.
#[derive(Debug)]
pub(crate) struct CallLimiter {
    memory_cap: usize,
    table_cap: usize,
    refusal: Option<Refusal>,
    /// Linear memory granted so far, in bytes (memories only grow).
    memory_bytes: usize,
}

impl CallLimiter {
    pub(crate) fn new(memory_cap: usize, table_cap: usize) -> CallLimiter {
        CallLimiter {
            memory_cap,
            table_cap,
            refusal: None,
            memory_bytes: 0,
        }
    }

    /// Linear memory of the store, in bytes.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    pub(crate) fn refusal(&self) -> Option<Refusal> {
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
        self.memory_bytes += desired.saturating_sub(current);
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
