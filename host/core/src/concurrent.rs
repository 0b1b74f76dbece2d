//! Instance reuse for operations with an asynchronous `execute` (component-model async):
//! one instance serves up to `at_once` calls at the same time and `max_calls` in all, the
//! way `wasmtime serve` reuses WASI 0.3 instances.
//!
//! The guarantees, as for sequential reuse (`warm.rs`): an instance serves one principal
//! with one set of roles unless the operator shares it (`warm_across_principals`); any
//! trap, timeout or refused growth drops the instance and fails the calls inside it, and
//! only those; it is dropped when idle too long and when its version stops being live
//! (after the calls inside it finish). Each live instance holds one slot of the
//! instance gate for as long as it lives, and is driven by its own task, which owns the
//! store and hands each call in to the guest as it arrives.
//!
//! Calls inside one instance share its store: a log line or an outbound request is tagged
//! with the most recent call that entered it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use wasmtime::component::TypedFunc;
use wasmtime::{Store, UpdateDeadline};

use crate::bindings::wit;
use crate::facts::HostFacts;
use crate::gate::{InstanceGate, InstancePermit};
use crate::handler::{ExecuteResults, OperationPre, OwnedParams};
use crate::invoke::{CallLimits, GuestFailure, GuestReturn, new_store, outer_timeout};
use crate::permits::Permits;
use crate::store::CallState;
use crate::warm::Owner;
use arsenal_engine::failure::classify;
use arsenal_wasi::http::CallScope;

/// What an instance's call returns to its caller.
type Outcome = Result<Result<wit::Response, wit::OpError>, GuestFailure>;

/// How instances of one operation are reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ConcurrentReuse {
    /// Calls one instance serves in all.
    pub max_calls: u32,
    /// Calls one instance serves at the same time.
    pub at_once: u32,
    /// Whether one instance serves callers of different principals or roles.
    pub across_principals: bool,
    #[serde(skip)]
    pub max_idle: Duration,
}

/// What the pool reports about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ConcurrentFacts {
    #[serde(flatten)]
    pub reuse: ConcurrentReuse,
    /// Instances alive now.
    pub instances: usize,
    /// Calls inside them now.
    pub in_flight: u32,
    /// Calls served by an instance that was already running.
    pub reused: u64,
}

/// The live instances of one operation version.
#[derive(Debug)]
pub struct ConcurrentPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    reuse: ConcurrentReuse,
    live: Mutex<Vec<Arc<Live>>>,
    reused: AtomicU64,
    /// Set once the version is no longer live: no instance takes new calls.
    retired: AtomicBool,
}

/// One live instance, as callers see it.
#[derive(Debug)]
struct Live {
    /// The caller it serves; `None` when shared between principals.
    serves: Option<Owner>,
    jobs: mpsc::UnboundedSender<Job>,
    /// Calls handed to it so far.
    admitted: AtomicU32,
    /// Calls handed to it and not answered yet.
    in_flight: AtomicU32,
    /// Takes no more calls; ends once the calls inside it are answered.
    closed: AtomicBool,
    /// Ends it now, failing the calls inside it.
    kill: CancellationToken,
    /// Why it ended, when a call in it failed.
    failure: OnceLock<GuestFailure>,
}

/// How a call found its instance.
enum Admitted {
    /// A live instance took it.
    Joined(Arc<Live>),
    /// A new instance was listed for it, to be started.
    Listed {
        live: Arc<Live>,
        inbox: mpsc::UnboundedReceiver<Job>,
        permit: InstancePermit,
    },
}

/// One call handed to an instance.
struct Job {
    request: wit::Request,
    scope: CallScope,
    timeout: Duration,
    reply: oneshot::Sender<Outcome>,
}

/// The latest deadline of the calls inside one store: its epoch callback interrupts the
/// guest only once every call's time is up (each caller also bounds its own wait).
#[derive(Debug)]
struct SharedDeadline {
    base: Instant,
    /// Milliseconds after `base`.
    at: AtomicU64,
}

impl SharedDeadline {
    fn new() -> Arc<SharedDeadline> {
        Arc::new(SharedDeadline {
            base: Instant::now(),
            at: AtomicU64::new(0),
        })
    }

    fn extend(&self, timeout: Duration) {
        let at = (self.base.elapsed() + timeout).as_millis() as u64;
        self.at.fetch_max(at, Ordering::AcqRel);
    }

    fn passed(&self) -> bool {
        self.base.elapsed().as_millis() as u64 >= self.at.load(Ordering::Acquire)
    }

    fn arm(self: &Arc<Self>, store: &mut Store<CallState>) {
        let deadline = self.clone();
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if deadline.passed() {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });
    }
}

impl Live {
    fn takes(&self, caller: &wit::Caller, reuse: &ConcurrentReuse) -> bool {
        !self.closed.load(Ordering::Acquire)
            && self.in_flight.load(Ordering::Acquire) < reuse.at_once
            && self.admitted.load(Ordering::Acquire) < reuse.max_calls
            && self.serves.as_ref().is_none_or(|owner| owner.is(caller))
    }

    /// Count one more call in; the last one it may take closes it.
    fn admit(&self, reuse: &ConcurrentReuse) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        if self.admitted.fetch_add(1, Ordering::AcqRel) + 1 >= reuse.max_calls {
            self.closed.store(true, Ordering::Release);
        }
    }

    fn failure(&self, timeout: Duration) -> GuestFailure {
        self.failure
            .get()
            .cloned()
            .unwrap_or(GuestFailure::Timeout(timeout))
    }
}

impl ConcurrentPool {
    pub(crate) fn new(reuse: ConcurrentReuse) -> ConcurrentPool {
        ConcurrentPool {
            inner: Arc::new(Inner {
                reuse,
                live: Mutex::new(Vec::new()),
                reused: AtomicU64::new(0),
                retired: AtomicBool::new(false),
            }),
        }
    }

    /// Run `execute` for `request` in a live instance that may take it, else in a new
    /// one (which takes an instance slot from `gate` for its whole life).
    #[expect(
        clippy::too_many_arguments,
        reason = "one call's parts, as `run_guest` takes them"
    )]
    pub(crate) async fn call(
        &self,
        pre: &OperationPre,
        host: &Arc<HostFacts>,
        gate: &Arc<InstanceGate>,
        limits: CallLimits,
        operation: Arc<str>,
        request: wit::Request,
        scope: CallScope,
    ) -> Result<GuestReturn, GuestFailure> {
        let (reply, answer) = oneshot::channel();
        let caller = request.caller.clone();
        let job = Job {
            request,
            scope,
            timeout: limits.timeout,
            reply,
        };
        let live = match self.inner.admit(&caller, gate)? {
            Admitted::Joined(live) => {
                self.inner.reused.fetch_add(1, Ordering::Relaxed);
                live
            }
            Admitted::Listed {
                live,
                inbox,
                permit,
            } => {
                let inner = &self.inner;
                inner
                    .start(pre, host, limits, operation, &caller, &live, inbox, permit)
                    .await?;
                live
            }
        };
        if live.jobs.send(job).is_err() {
            // It ended between taking the call and being handed it.
            return Err(live.failure(limits.timeout));
        }
        match tokio::time::timeout(outer_timeout(limits), answer).await {
            Err(_elapsed) => {
                // A call past its time may hold the store: the instance goes, and with it
                // the calls inside it.
                let _ = live.failure.set(GuestFailure::Timeout(limits.timeout));
                live.kill.cancel();
                Err(GuestFailure::Timeout(limits.timeout))
            }
            Ok(Err(_dropped)) => Err(live.failure(limits.timeout)),
            Ok(Ok(outcome)) => outcome.map(GuestReturn::Executed),
        }
    }

    /// Take no new calls into the instances alive now, and start none: the version is
    /// not live. Idle instances end now; busy ones once their calls are answered.
    pub(crate) fn retire(&self) {
        self.inner.retired.store(true, Ordering::Release);
        for live in self.inner.lock().drain(..) {
            live.closed.store(true, Ordering::Release);
            if live.in_flight.load(Ordering::Acquire) == 0 {
                live.kill.cancel();
            }
        }
    }

    /// Reuse instances again: the version is live again (a rollback to it).
    pub(crate) fn reinstate(&self) {
        self.inner.retired.store(false, Ordering::Release);
    }

    pub fn reuse(&self) -> ConcurrentReuse {
        self.inner.reuse
    }

    pub fn facts(&self) -> ConcurrentFacts {
        let live = self.inner.lock();
        ConcurrentFacts {
            reuse: self.inner.reuse,
            instances: live.len(),
            in_flight: live
                .iter()
                .map(|live| live.in_flight.load(Ordering::Relaxed))
                .sum(),
            reused: self.inner.reused.load(Ordering::Relaxed),
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Live>>> {
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A live instance that takes a call of `caller`, the call counted in; else a new
    /// one listed for it, holding an instance slot from `gate`, to be started. Finding and
    /// listing are one step under the lock, so calls arriving while a new instance starts
    /// join it (waiting in its inbox) rather than start instances of their own.
    fn admit(
        &self,
        caller: &wit::Caller,
        gate: &Arc<InstanceGate>,
    ) -> Result<Admitted, GuestFailure> {
        let mut listed = self.lock();
        let retired = self.retired.load(Ordering::Acquire);
        if !retired {
            listed.retain(|live| !live.closed.load(Ordering::Acquire));
            if let Some(found) = listed.iter().find(|live| live.takes(caller, &self.reuse)) {
                found.admit(&self.reuse);
                return Ok(Admitted::Joined(found.clone()));
            }
        }
        let permit = gate
            .try_acquire()
            .ok_or(GuestFailure::Overloaded(gate.max()))?;
        let (jobs, inbox) = mpsc::unbounded_channel();
        let live = Arc::new(Live {
            serves: (!self.reuse.across_principals).then(|| Owner::of(caller)),
            jobs,
            admitted: AtomicU32::new(0),
            in_flight: AtomicU32::new(0),
            // A retired version's instance serves this one call, unlisted.
            closed: AtomicBool::new(retired),
            kill: CancellationToken::new(),
            failure: OnceLock::new(),
        });
        live.admit(&self.reuse);
        if !retired {
            listed.push(live.clone());
        }
        Ok(Admitted::Listed {
            live,
            inbox,
            permit,
        })
    }

    /// Instantiate the new instance `live` (listed for `caller`) and hand it to its own
    /// task, which takes the calls in `inbox`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call's parts, and the instance it starts"
    )]
    async fn start(
        self: &Arc<Self>,
        pre: &OperationPre,
        host: &Arc<HostFacts>,
        limits: CallLimits,
        operation: Arc<str>,
        caller: &wit::Caller,
        live: &Arc<Live>,
        inbox: mpsc::UnboundedReceiver<Job>,
        permit: InstancePermit,
    ) -> Result<(), GuestFailure> {
        let request_id: Arc<str> = Arc::from(caller.request_id.as_str());
        let mut store = new_store(pre, host, limits, operation, request_id);
        let deadline = SharedDeadline::new();
        deadline.extend(limits.timeout);
        deadline.arm(&mut store);
        let instantiated =
            tokio::time::timeout(outer_timeout(limits), pre.instantiate_async(&mut store)).await;
        let handler = match instantiated {
            Ok(Ok(handler)) => handler,
            failed => {
                let failure = match failed {
                    Ok(Err(error)) => {
                        classify(error, store.data().limiter.refusal(), limits.timeout)
                    }
                    _ => GuestFailure::Timeout(limits.timeout),
                };
                // The calls that joined it meanwhile see its inbox close, and this failure.
                let _ = live.failure.set(failure.clone());
                live.closed.store(true, Ordering::Release);
                self.lock().retain(|listed| !Arc::ptr_eq(listed, live));
                return Err(failure);
            }
        };
        let execute = handler
            .concurrent_execute()
            .expect("an asynchronous operation has `execute`");
        let permits = if self.reuse.across_principals {
            // Shared between callers, it acts for none of them.
            Permits::for_caller("(shared instance)", &[])
        } else {
            Permits::for_caller(&caller.principal, &caller.roles)
        };
        let instance = Instance {
            pool: self.clone(),
            live: live.clone(),
            execute,
            deadline,
            permits,
            timeout: limits.timeout,
        };
        tokio::spawn(instance.run(store, inbox, permit));
        Ok(())
    }
}

/// The task that owns one instance's store.
struct Instance {
    pool: Arc<Inner>,
    live: Arc<Live>,
    execute: TypedFunc<OwnedParams, ExecuteResults>,
    deadline: Arc<SharedDeadline>,
    permits: Permits,
    timeout: Duration,
}

impl Instance {
    async fn run(
        self,
        mut store: Store<CallState>,
        mut inbox: mpsc::UnboundedReceiver<Job>,
        _permit: InstancePermit,
    ) {
        let pending: Mutex<HashMap<u64, oneshot::Sender<Outcome>>> = Mutex::default();
        let served = tokio::select! {
            served = store.run_concurrent(async |accessor| {
                self.serve(accessor, &mut inbox, &pending).await
            }) => served.and_then(|served| served),
            () = self.live.kill.cancelled() => Ok(()),
        };
        let failure = match served {
            Ok(()) => None,
            Err(error) => {
                let refusal = store.data().limiter.refusal();
                Some(classify(error, refusal, self.timeout))
            }
        };
        store.data_mut().flush_output();
        if let Some(failure) = failure {
            let _ = self.live.failure.set(failure);
        }
        self.live.closed.store(true, Ordering::Release);
        self.pool
            .lock()
            .retain(|live| !Arc::ptr_eq(live, &self.live));
        let failure = self.live.failure(self.timeout);
        let pending = pending
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (_, reply) in pending {
            let _ = reply.send(Err(failure.clone()));
        }
        // Calls still in the inbox, and any handed over now, are dropped with it: their
        // callers see the channel close, and this failure.
    }

    /// Hand each call in as it arrives and answer each as it returns, until the
    /// instance is closed and empty, idle too long, or a call fails.
    async fn serve(
        &self,
        accessor: &wasmtime::component::Accessor<CallState>,
        inbox: &mut mpsc::UnboundedReceiver<Job>,
        pending: &Mutex<HashMap<u64, oneshot::Sender<Outcome>>>,
    ) -> wasmtime::Result<()> {
        let mut calls = FuturesUnordered::new();
        let mut next_id = 0u64;
        let reuse = self.pool.reuse;
        loop {
            tokio::select! {
                biased;
                Some((id, returned)) = calls.next(), if !calls.is_empty() => {
                    let (result,): ExecuteResults = returned?;
                    accessor.with(|mut access| access.data_mut().flush_output());
                    let reply = lock(pending).remove(&id);
                    if let Some(reply) = reply {
                        let _ = reply.send(Ok(result));
                    }
                    self.live.in_flight.fetch_sub(1, Ordering::AcqRel);
                }
                job = inbox.recv() => {
                    let Some(job) = job else { return Ok(()) };
                    let Job { request, scope, timeout, reply } = job;
                    let request_id: Arc<str> = Arc::from(request.caller.request_id.as_str());
                    let permits = self.permits.clone();
                    accessor.with(|mut access| {
                        let state = access.data_mut();
                        state.serve_outbound(scope);
                        state.begin_call(request_id, permits);
                    });
                    self.deadline.extend(timeout);
                    let id = next_id;
                    next_id += 1;
                    lock(pending).insert(id, reply);
                    let execute = self.execute;
                    calls.push(async move { (id, execute.call_concurrent(accessor, (request,)).await) });
                }
                () = tokio::time::sleep(reuse.max_idle), if calls.is_empty() => {
                    if self.close_if_idle() {
                        return Ok(());
                    }
                }
            }
            if self.live.closed.load(Ordering::Acquire)
                && self.live.in_flight.load(Ordering::Acquire) == 0
            {
                return Ok(());
            }
        }
    }

    /// Close the instance if no call is inside it or on its way; under the pool's lock,
    /// so no call is let in meanwhile.
    fn close_if_idle(&self) -> bool {
        let mut live = self.pool.lock();
        if self.live.in_flight.load(Ordering::Acquire) != 0 {
            return false;
        }
        self.live.closed.store(true, Ordering::Release);
        live.retain(|live| !Arc::ptr_eq(live, &self.live));
        true
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
