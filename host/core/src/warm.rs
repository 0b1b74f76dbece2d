//! Warm-instance mode, per operation (`warm_instance_calls`; on by default for the
//! built-ins only): an instance that returned normally is kept and serves the next call of
//! the same principal, up to a number of calls, instead of a fresh instance per call. For
//! large runtimes (JavaScript, Python) whose instantiation costs far more than the call,
//! and for the built-ins, whose calls are short beside an instantiation.
//!
//! The guarantees: an instance serves one call at a time (it is taken out of the pool for
//! the call); it never serves another principal, nor the same principal with other roles,
//! unless the operator shares it (`warm_across_principals`; each call then still runs
//! with its own caller's permits);
//! it is discarded after any trap, timeout or refused memory/table growth, after its
//! call budget, when idle too long, and when its version stops being live. Idle instances
//! over all operations are bounded by `limits.warm_instances` (the [`WarmShelf`]), for
//! which the engine's pool reserves slots beyond `max_instances`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::Store;

use crate::bindings::wit;
use crate::handler::Handler;
use crate::policy::Source;
use crate::store::CallState;

/// Calls an instance of a built-in operation serves when the operator set none: built-ins
/// keep nothing of one call for the next, and an instance still serves one principal.
pub(crate) const BUILTIN_WARM_CALLS: u32 = 128;

/// The calls one instance of a synchronous operation from `source` serves: the operator's
/// `warm_instance_calls` (0 or 1: a fresh instance per call), else [`BUILTIN_WARM_CALLS`]
/// for a built-in and fresh instances for any other.
pub(crate) fn sequential_calls(configured: Option<u32>, source: Source) -> Option<u32> {
    configured.or((source == Source::Builtin).then_some(BUILTIN_WARM_CALLS))
}

/// The host-wide bound on idle warm instances.
#[derive(Debug)]
pub(crate) struct WarmShelf {
    capacity: u32,
    idle: AtomicU32,
    max_idle: Duration,
}

/// One idle instance's place on the shelf; given back when the instance leaves the pool.
#[derive(Debug)]
struct ShelfTicket(Arc<WarmShelf>);

impl Drop for ShelfTicket {
    fn drop(&mut self) {
        self.0.idle.fetch_sub(1, Ordering::AcqRel);
    }
}

impl WarmShelf {
    pub(crate) fn new(capacity: u32, max_idle: Duration) -> Arc<WarmShelf> {
        Arc::new(WarmShelf {
            capacity,
            idle: AtomicU32::new(0),
            max_idle,
        })
    }

    fn reserve(self: &Arc<Self>) -> Option<ShelfTicket> {
        self.idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |idle| {
                (idle < self.capacity).then_some(idle + 1)
            })
            .ok()
            .map(|_| ShelfTicket(self.clone()))
    }

    /// Idle instances kept now, over all operations.
    pub(crate) fn idle(&self) -> u32 {
        self.idle.load(Ordering::Acquire)
    }
}

/// An instance between calls, with what it served so far.
pub(crate) struct WarmInstance {
    pub(crate) store: Store<CallState>,
    pub(crate) handler: Handler,
    pub(crate) calls: u32,
    pub(crate) owner: Owner,
}

/// The caller a kept instance serves: one principal with one set of roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    principal: String,
    roles: Vec<String>,
}

impl Owner {
    pub(crate) fn new(principal: &str, roles: &[String]) -> Owner {
        Owner {
            principal: principal.to_owned(),
            roles: roles.to_vec(),
        }
    }

    pub(crate) fn of(caller: &wit::Caller) -> Owner {
        Owner::new(&caller.principal, &caller.roles)
    }

    pub(crate) fn is(&self, caller: &wit::Caller) -> bool {
        self.principal == caller.principal && self.roles == caller.roles
    }

    /// What an instance serving it may do of the host's runtime.
    pub(crate) fn permits(&self) -> crate::permits::Permits {
        crate::permits::Permits::for_caller(&self.principal, &self.roles)
    }
}

impl WarmInstance {
    pub(crate) fn new(
        store: Store<CallState>,
        handler: Handler,
        calls: u32,
        owner: Owner,
    ) -> WarmInstance {
        WarmInstance {
            store,
            handler,
            calls,
            owner,
        }
    }

    fn serves(&self, caller: &wit::Caller, across_principals: bool) -> bool {
        across_principals || self.owner.is(caller)
    }
}

struct Idle {
    instance: WarmInstance,
    since: Instant,
    _ticket: ShelfTicket,
}

/// The idle instances of one operation version.
pub struct WarmPool {
    max_calls: u32,
    /// Whether an instance serves callers of other principals and roles (the operator's
    /// `warm_across_principals`); each call still runs with its own caller's permits.
    across_principals: bool,
    shelf: Arc<WarmShelf>,
    idle: Mutex<Vec<Idle>>,
    reused: AtomicU64,
    /// Set once the version is no longer live: nothing is kept any more.
    retired: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for WarmPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmPool")
            .field("max_calls", &self.max_calls)
            .field("idle", &self.idle_count())
            .finish()
    }
}

/// What the pool reports about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WarmFacts {
    pub max_calls: u32,
    pub across_principals: bool,
    pub idle: usize,
    pub reused: u64,
}

impl WarmPool {
    /// A pool for instances serving up to `max_calls` calls; `None` when that is at most
    /// one call (fresh instances).
    pub(crate) fn new(
        max_calls: Option<u32>,
        across_principals: bool,
        shelf: &Arc<WarmShelf>,
    ) -> Option<WarmPool> {
        let max_calls = max_calls.filter(|calls| *calls > 1)?;
        Some(WarmPool {
            max_calls,
            across_principals,
            shelf: shelf.clone(),
            idle: Mutex::new(Vec::new()),
            reused: AtomicU64::new(0),
            retired: Default::default(),
        })
    }

    /// The most recently used idle instance that may serve `caller`. Instances idle too
    /// long are dropped on the way (after the lock is released).
    pub(crate) fn take(&self, caller: &wit::Caller) -> Option<WarmInstance> {
        let (found, stale) = {
            let mut idle = self.lock();
            let stale = self.sweep(&mut idle);
            let found = idle
                .iter()
                .rposition(|entry| entry.instance.serves(caller, self.across_principals))
                .map(|index| idle.remove(index).instance);
            (found, stale)
        };
        drop(stale);
        if found.is_some() {
            self.reused.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Keep `instance` for a later call, unless it used up its calls, the version is
    /// retired, or the shelf is full — then it is dropped.
    pub(crate) fn put(&self, instance: WarmInstance) {
        if instance.calls >= self.max_calls || self.retired.load(Ordering::Acquire) {
            return;
        }
        let Some(ticket) = self.shelf.reserve() else {
            return;
        };
        let stale = {
            let mut idle = self.lock();
            let stale = self.sweep(&mut idle);
            idle.push(Idle {
                instance,
                since: Instant::now(),
                _ticket: ticket,
            });
            stale
        };
        drop(stale);
    }

    /// Keep instances again: the version is live again (a rollback to it).
    pub(crate) fn reinstate(&self) {
        self.retired.store(false, Ordering::Release);
    }

    /// Drop every idle instance and keep none from now on: the version is not live.
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Release);
        let idle = std::mem::take(&mut *self.lock());
        drop(idle);
    }

    pub fn facts(&self) -> WarmFacts {
        WarmFacts {
            max_calls: self.max_calls,
            across_principals: self.across_principals,
            idle: self.idle_count(),
            reused: self.reused.load(Ordering::Relaxed),
        }
    }

    fn idle_count(&self) -> usize {
        self.lock().len()
    }

    /// Take out the instances idle too long, to be dropped once the lock is released.
    /// Allocates only when there are some.
    fn sweep(&self, idle: &mut Vec<Idle>) -> Vec<Idle> {
        let now = Instant::now();
        let max_idle = self.shelf.max_idle;
        idle.extract_if(.., |entry| now.duration_since(entry.since) >= max_idle)
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
