//! The per-instance state of outbound HTTP, and the check each request passes before it
//! leaves: inside the grant, within the call's request budget, tagged with the call's
//! request id and trace, and bounded by the call's deadline.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi_http::p2::bindings;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttp, WasiHttpCtx, WasiHttpCtxView};

use super::client::Attempt;
use super::destination::Destination;
use super::grant::{OutboundGrant, Refusal};
use super::metrics::{OutboundMetrics, Outcome};
use super::settings::OutboundLimits;

/// Store data that holds an [`OutboundState`] and the guest's resource table: what
/// `wasi:http` is linked against, so that it never names a store type.
pub trait OutboundView: Send + 'static {
    fn outbound(&mut self) -> (&mut OutboundState, &mut ResourceTable);
}

/// Link `wasi:http/outgoing-handler` and `wasi:http/types` for store data `T`.
pub fn add_to_linker<T: OutboundView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let options = bindings::LinkOptions::default();
    bindings::http::outgoing_handler::add_to_linker::<T, WasiHttp>(linker, http_view::<T>)?;
    bindings::http::types::add_to_linker::<T, WasiHttp>(linker, &options.into(), http_view::<T>)
}

/// Link `wasi:http/client` and `wasi:http/types` of WASI 0.3 for store data `T`, on an
/// engine with component-model async: the same sender and checks as 0.2's.
pub fn add_p3_to_linker<T: OutboundView>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    use wasmtime_wasi_http::p3::bindings::http::{client, types};
    client::add_to_linker::<T, WasiHttp>(linker, http_view::<T>)?;
    types::add_to_linker::<T, WasiHttp>(linker, http_view::<T>)
}

pub(super) fn http_view<T: OutboundView>(data: &mut T) -> WasiHttpCtxView<'_> {
    let (state, table) = data.outbound();
    WasiHttpCtxView {
        ctx: &mut state.ctx,
        hooks: &mut state.sender,
        table,
    }
}

/// The destinations one call reached, for its audit record.
#[derive(Debug, Default)]
pub struct Reached(Mutex<BTreeSet<String>>);

impl Reached {
    /// The destinations, as `scheme://host:port`, in order.
    pub fn destinations(&self) -> Vec<String> {
        let reached = self.0.lock().unwrap_or_else(|p| p.into_inner());
        reached.iter().cloned().collect()
    }
}

/// The call an instance serves now: its request id, its trace, when its outbound
/// waits end, and where the destinations it reaches are written down.
#[derive(Debug, Clone)]
pub struct CallScope {
    pub(super) request_id: Arc<str>,
    pub(super) traceparent: Option<Arc<str>>,
    pub(super) deadline: Instant,
    reached: Option<Arc<Reached>>,
}

impl CallScope {
    /// A call that began now with `timeout`. Outbound waits end a tenth of the timeout
    /// (at most a quarter second) before the call's own deadline, so the guest still has
    /// time to answer with the upstream's failure instead of being stopped mid-wait.
    pub fn new(
        request_id: Arc<str>,
        timeout: Duration,
        traceparent: Option<Arc<str>>,
        reached: Option<Arc<Reached>>,
    ) -> CallScope {
        let reserve = (timeout / 10).min(Duration::from_millis(250));
        CallScope {
            request_id,
            traceparent,
            deadline: Instant::now() + timeout.saturating_sub(reserve),
            reached,
        }
    }

    pub(super) fn reached(&self, destination: &Destination) {
        if let Some(reached) = &self.reached {
            let mut reached = reached.0.lock().unwrap_or_else(|p| p.into_inner());
            reached.insert(destination.to_string());
        }
    }
}

/// What one instance holds for `wasi:http`: the interface's context and the sender that
/// checks and sends its requests.
pub struct OutboundState {
    ctx: WasiHttpCtx,
    sender: Sender,
}

/// The grant, limits and counters one instance's requests are checked against.
pub(super) struct Sender {
    pub(super) component: Arc<str>,
    pub(super) grant: Arc<OutboundGrant>,
    pub(super) limits: OutboundLimits,
    pub(super) metrics: Arc<OutboundMetrics>,
    /// The call being served; none (as in `describe`) refuses every request.
    pub(super) scope: Option<CallScope>,
    /// Requests made in this call.
    pub(super) sent: u32,
}

impl OutboundState {
    pub(super) fn new(sender: Sender) -> OutboundState {
        OutboundState {
            ctx: WasiHttpCtx::new(),
            sender,
        }
    }

    /// An instance that may reach nothing (a `describe`, a component granted nothing).
    pub fn none() -> OutboundState {
        OutboundState::new(Sender {
            component: Arc::from(""),
            grant: Arc::default(),
            limits: super::settings::OutboundSettings::default().limits(),
            metrics: Arc::default(),
            scope: None,
            sent: 0,
        })
    }

    /// Serve a new call: its own request budget, deadline, trace and ledger.
    pub fn begin_call(&mut self, scope: CallScope) {
        self.sender.scope = Some(scope);
        self.sender.sent = 0;
    }
}

impl Sender {
    /// Check a request before it leaves; a refusal is counted and logged with the call's
    /// request id, and answered to the guest as the standard error code.
    fn admit(&mut self, request: &http::Request<WasiBody>) -> Result<Attempt, Error> {
        let request_id = self.scope.as_ref().map_or("", |scope| &*scope.request_id);
        let Some(destination) = super::destination::of_uri(request.uri()) else {
            return Err(Error::HttpRequestUriInvalid);
        };
        let refuse = |error: Error, reason: &str| {
            tracing::warn!(
                target: "outbound",
                component = &*self.component,
                request_id,
                destination = %destination,
                reason,
                "outbound request refused"
            );
            self.metrics
                .count(&destination.host.to_string(), Outcome::Denied);
            error
        };
        let Some(scope) = &self.scope else {
            return Err(refuse(
                Error::HttpRequestDenied,
                "no call is being served (describe)",
            ));
        };
        if let Err(Refusal::NotGranted | Refusal::RestrictedAddress) =
            self.grant.admits(&destination)
        {
            return Err(refuse(
                Error::HttpRequestDenied,
                "the destination is not granted to the component",
            ));
        }
        if self.sent >= self.limits.max_requests_per_call {
            return Err(refuse(
                Error::ConnectionLimitReached,
                "the call made its allowed number of outbound requests",
            ));
        }
        self.sent += 1;
        let now = Instant::now();
        let scope = scope.clone();
        Ok(Attempt {
            connect_by: (now + self.limits.connect_timeout).min(scope.deadline),
            first_byte_by: (now + self.limits.first_byte_timeout).min(scope.deadline),
            destination,
            grant: self.grant.clone(),
            metrics: self.metrics.clone(),
            component: self.component.clone(),
            scope,
            max_response_bytes: self.limits.max_response_bytes,
        })
    }
}

impl wasmtime_wasi_http::WasiHttpHooks for Sender {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), Error>> + Send>,
                    ),
                    Error,
                >,
            > + Send,
    > {
        match self.admit(&request) {
            Err(error) => Box::new(async move { Err(error) }),
            Ok(attempt) => Box::new(attempt.send(request, options)),
        }
    }
}
