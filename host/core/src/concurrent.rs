//! Instance reuse for operations called with component-model async — an asynchronous
//! `execute`, or a WASI 0.3 `wasi:http/handler` — one instance serves up to `at_once`
//! calls at the same time and `max_calls` in all, the way `wasmtime serve` reuses WASI 0.3
//! instances. A 0.3 handler that does not reuse runs here too, one call per instance: its
//! body is read from the guest while the instance's event loop runs.
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

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use wasmtime::component::TypedFunc;
use wasmtime::{Store, UpdateDeadline};

use crate::bindings::wit;
use crate::facts::HostFacts;
use crate::gate::{InstanceGate, InstancePermit};
use crate::handler::{ExecuteResults, OperationPre, OwnedParams};
use crate::invoke::{
    CallError, CallLimits, GuestFailure, GuestReturn, HandlerResponse, new_store, outer_timeout,
};
use crate::permits::Permits;
use crate::store::CallState;
use crate::warm::Owner;
use arsenal_engine::failure::classify;
use arsenal_wasi::http::{Answer, CallScope, Head, ServiceHandle};

/// What an `execute` call returns to its caller.
type Outcome = Result<Result<wit::Response, wit::OpError>, GuestFailure>;

/// How a served HTTP request ended, once its body was sent.
type Served = Result<(), GuestFailure>;

/// Where a call runs: the operation's component and name, the host, its instance gate and
/// the call's limits.
pub(crate) struct Site<'a> {
    pub(crate) pre: &'a OperationPre,
    pub(crate) host: &'a Arc<HostFacts>,
    pub(crate) gate: &'a Arc<InstanceGate>,
    pub(crate) limits: CallLimits,
    pub(crate) operation: Arc<str>,
}

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
    work: Work,
    /// Where the caller hears how the call ended.
    waiting: Waiting,
    request_id: Arc<str>,
    scope: CallScope,
    timeout: Duration,
}

/// What a call asks of the instance.
enum Work {
    /// `execute` with this request.
    Execute(wit::Request),
    /// This HTTP request to a 0.3 handler; its response goes to the head sender.
    Serve(http::Request<Bytes>, oneshot::Sender<Head>),
}

/// A caller waiting for its call's end.
enum Waiting {
    Execute(oneshot::Sender<Outcome>),
    Serve(oneshot::Sender<Served>),
}

/// What a call gave back when it ended normally.
enum Done {
    Executed(Result<wit::Response, wit::OpError>),
    /// The response was handed over and its body sent (or dropped).
    Served,
}

impl Waiting {
    fn answer(self, done: Done) {
        match (self, done) {
            (Waiting::Execute(reply), Done::Executed(result)) => {
                let _ = reply.send(Ok(result));
            }
            (Waiting::Serve(ended), Done::Served) => {
                let _ = ended.send(Ok(()));
            }
            (waiting, _) => waiting.fail(GuestFailure::Crashed(
                "the call ended with another kind of result".to_owned(),
            )),
        }
    }

    fn fail(self, failure: GuestFailure) {
        match self {
            Waiting::Execute(reply) => {
                let _ = reply.send(Err(failure));
            }
            Waiting::Serve(ended) => {
                let _ = ended.send(Err(failure));
            }
        }
    }
}

/// How calls enter one instance.
enum Entry {
    Execute(TypedFunc<OwnedParams, ExecuteResults>),
    Serve(ServiceHandle),
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
    fn takes(&self, caller: &Owner, reuse: &ConcurrentReuse) -> bool {
        !self.closed.load(Ordering::Acquire)
            && self.in_flight.load(Ordering::Acquire) < reuse.at_once
            && self.admitted.load(Ordering::Acquire) < reuse.max_calls
            && self.serves.as_ref().is_none_or(|owner| owner == caller)
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

    /// How a call inside it ended, as `ended` says within the call's bound. Past it, the
    /// instance goes — a call past its time may hold the store — and with it the calls
    /// inside it.
    async fn wait<T>(
        &self,
        ended: oneshot::Receiver<Result<T, GuestFailure>>,
        limits: CallLimits,
    ) -> Result<T, GuestFailure> {
        match tokio::time::timeout(outer_timeout(limits), ended).await {
            Err(_elapsed) => {
                self.end(GuestFailure::Timeout(limits.timeout));
                Err(GuestFailure::Timeout(limits.timeout))
            }
            Ok(Err(_dropped)) => Err(self.failure(limits.timeout)),
            Ok(Ok(ended)) => ended,
        }
    }

    /// End it now for `failure`, failing the calls inside it.
    fn end(&self, failure: GuestFailure) {
        let _ = self.failure.set(failure);
        self.kill.cancel();
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
    /// one (which takes an instance slot from the site's gate for its whole life).
    pub(crate) async fn call(
        &self,
        site: Site<'_>,
        request: wit::Request,
        scope: CallScope,
    ) -> Result<GuestReturn, GuestFailure> {
        let limits = site.limits;
        let (reply, answer) = oneshot::channel();
        let caller = Owner::of(&request.caller);
        let job = Job {
            request_id: Arc::from(request.caller.request_id.as_str()),
            work: Work::Execute(request),
            waiting: Waiting::Execute(reply),
            scope,
            timeout: limits.timeout,
        };
        let live = self.enter(site, &caller, job).await?;
        live.wait(answer, limits).await.map(GuestReturn::Executed)
    }

    /// Serve `request` to a 0.3 `wasi:http` handler for `caller`, in a live instance that
    /// may take it, else in a new one. The answer's body is read from the instance as the
    /// guest writes it; past the call's deadline the instance goes, and the body stops.
    pub(crate) async fn serve(
        &self,
        site: Site<'_>,
        caller: &Owner,
        request_id: Arc<str>,
        request: http::Request<Bytes>,
        scope: CallScope,
    ) -> Result<HandlerResponse, CallError> {
        let limits = site.limits;
        let (head, answer) = Answer::channel();
        let (ended, end) = oneshot::channel();
        let job = Job {
            request_id,
            work: Work::Serve(request, head),
            waiting: Waiting::Serve(ended),
            scope,
            timeout: limits.timeout,
        };
        let live = self.enter(site, caller, job).await?;
        // The call's end, bounded by its deadline; it outlives this call while the body
        // is streamed.
        let (report, reported) = oneshot::channel();
        let watch = async move {
            let served = live.wait(end, limits).await;
            let _ = report.send(served.map_err(CallError::from));
        };
        tokio::spawn(watch.in_current_span());
        answer
            .read(limits.max_response_bytes, reported)
            .await
            .map_err(CallError::from)
    }

    /// Hand `job` (a call of `caller`) to a live instance that may take it, else to a new
    /// one, started here.
    async fn enter(
        &self,
        site: Site<'_>,
        caller: &Owner,
        job: Job,
    ) -> Result<Arc<Live>, GuestFailure> {
        let live = match self.inner.admit(caller, site.gate)? {
            Admitted::Joined(live) => {
                self.inner.reused.fetch_add(1, Ordering::Relaxed);
                live
            }
            Admitted::Listed {
                live,
                inbox,
                permit,
            } => {
                let request_id = job.request_id.clone();
                self.inner
                    .start(&site, request_id, caller, &live, inbox, permit)
                    .await?;
                live
            }
        };
        if live.jobs.send(job).is_err() {
            // It ended between taking the call and being handed it.
            return Err(live.failure(site.limits.timeout));
        }
        Ok(live)
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
    fn admit(&self, caller: &Owner, gate: &Arc<InstanceGate>) -> Result<Admitted, GuestFailure> {
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
            serves: (!self.reuse.across_principals).then(|| caller.clone()),
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
    async fn start(
        self: &Arc<Self>,
        site: &Site<'_>,
        request_id: Arc<str>,
        caller: &Owner,
        live: &Arc<Live>,
        inbox: mpsc::UnboundedReceiver<Job>,
        permit: InstancePermit,
    ) -> Result<(), GuestFailure> {
        let Site {
            pre, host, limits, ..
        } = *site;
        let mut store = new_store(pre, host, limits, site.operation.clone(), request_id);
        let deadline = SharedDeadline::new();
        deadline.extend(limits.timeout);
        deadline.arm(&mut store);
        let instantiate = async {
            let handler = pre.instantiate_async(&mut store).await?;
            match pre.service() {
                Some(service) => Ok(Entry::Serve(service.load(&mut store, handler.instance())?)),
                None => Ok(Entry::Execute(handler.concurrent_execute().ok_or_else(
                    || wasmtime::format_err!("the operation has no `execute`"),
                )?)),
            }
        };
        let instantiated = tokio::time::timeout(outer_timeout(limits), instantiate).await;
        let entry = match instantiated {
            Ok(Ok(entry)) => entry,
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
        let permits = if self.reuse.across_principals {
            // Shared between callers, it acts for none of them.
            Permits::for_caller("(shared instance)", &[])
        } else {
            caller.permits()
        };
        let instance = Instance {
            pool: self.clone(),
            live: live.clone(),
            entry,
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
    entry: Entry,
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
        let pending: Mutex<HashMap<u64, Waiting>> = Mutex::default();
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
        for (_, waiting) in pending {
            waiting.fail(failure.clone());
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
        pending: &Mutex<HashMap<u64, Waiting>>,
    ) -> wasmtime::Result<()> {
        let mut calls = FuturesUnordered::new();
        let mut next_id = 0u64;
        let reuse = self.pool.reuse;
        loop {
            tokio::select! {
                biased;
                Some((id, returned)) = calls.next(), if !calls.is_empty() => {
                    let done: Done = returned?;
                    accessor.with(|mut access| access.data_mut().flush_output());
                    let waiting = lock(pending).remove(&id);
                    if let Some(waiting) = waiting {
                        waiting.answer(done);
                    }
                    self.live.in_flight.fetch_sub(1, Ordering::AcqRel);
                }
                job = inbox.recv() => {
                    let Some(job) = job else { return Ok(()) };
                    let Job { work, waiting, request_id, scope, timeout } = job;
                    let permits = self.permits.clone();
                    accessor.with(|mut access| {
                        let state = access.data_mut();
                        state.serve_outbound(scope);
                        state.begin_call(request_id, permits);
                    });
                    self.deadline.extend(timeout);
                    let id = next_id;
                    next_id += 1;
                    lock(pending).insert(id, waiting);
                    let entry = &self.entry;
                    calls.push(async move { (id, entry.run(accessor, work).await) });
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

impl Entry {
    /// Run `work` inside the instance, from its event loop.
    async fn run(
        &self,
        accessor: &wasmtime::component::Accessor<CallState>,
        work: Work,
    ) -> wasmtime::Result<Done> {
        match (self, work) {
            (Entry::Execute(execute), Work::Execute(request)) => {
                let (result,) = execute.call_concurrent(accessor, (request,)).await?;
                Ok(Done::Executed(result))
            }
            (Entry::Serve(service), Work::Serve(request, head)) => {
                service.serve(accessor, request, head).await?;
                Ok(Done::Served)
            }
            _ => wasmtime::bail!("a call of another kind than the operation's"),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
