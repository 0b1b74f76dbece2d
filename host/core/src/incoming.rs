//! Serving one HTTP request to an operation that is a `wasi:http` handler: a fresh
//! instance under the operation's limits (memory and table caps, epoch deadline, outer
//! timeout), the request put into its table, `handle` called in a task of its own while
//! its answer is read. A short, quick answer counts only once the handler has returned
//! normally: a trap, a limit hit or the deadline fail the call as for any operation. A
//! longer or slower body is streamed as the handler writes it, up to the response cap,
//! and stops short (the client sees the body fail) if the call fails meanwhile.

use std::sync::Arc;

use arsenal_wasi::http::{CallScope, Exchange, exchange};
use bytes::Bytes;
use tokio::sync::oneshot;
use tracing::Instrument as _;

use crate::facts::HostFacts;
use crate::gate::InstancePermit;
use crate::handler::OperationPre;
use crate::invoke::{
    CallError, CallLimits, HandlerResponse, arm_deadline, classify, new_store, outer_timeout,
};
use crate::permits::Permits;
use arsenal_engine::failure::GuestFailure;

/// Serve `request` to a fresh instance of `pre` (an HTTP handler) for a caller holding
/// `permits`, within `limits`; its outbound requests are `scope`'s. The instance runs in
/// its own task, holding `permit`, so that a streamed body goes on after this returns.
#[expect(
    clippy::too_many_arguments,
    reason = "one call's parts, as `run_guest` takes them"
)]
pub(crate) async fn run_handler(
    pre: &OperationPre,
    host: &Arc<HostFacts>,
    limits: CallLimits,
    operation: Arc<str>,
    request_id: Arc<str>,
    permits: Permits,
    request: http::Request<Bytes>,
    scope: CallScope,
    permit: InstancePermit,
) -> Result<HandlerResponse, CallError> {
    let mut store = new_store(pre, host, limits, operation, request_id);
    store.data_mut().serve_outbound(scope);
    store.data_mut().permits = permits;
    arm_deadline(&mut store, limits.timeout);
    let Exchange {
        request,
        outparam,
        answer,
    } = exchange(store.data_mut(), request).map_err(|error| {
        GuestFailure::Crashed(format!("the request was not handed over: {error:#}"))
    })?;

    let (ended, end) = oneshot::channel();
    let pre = pre.clone();
    let guest = async move {
        let handler = pre
            .http_handler()
            .expect("only an HTTP handler's requests are served here");
        let call = async {
            let instance = pre.instantiate_async(&mut store).await?;
            handler
                .handle(&mut store, instance.instance(), request, outparam)
                .await
        };
        let outcome = tokio::time::timeout(outer_timeout(limits), call).await;
        store.data_mut().flush_output();
        let outcome = match outcome {
            Err(_elapsed) => Err(GuestFailure::Timeout(limits.timeout).into()),
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                Err(classify(error, store.data().limiter.refusal(), limits.timeout).into())
            }
        };
        // The store (and the body's writing end) goes before the slot is given back.
        drop(store);
        drop(permit);
        let _ = ended.send(outcome);
    };
    tokio::spawn(guest.in_current_span());
    answer
        .read(limits.max_response_bytes, end)
        .await
        .map_err(CallError::from)
}
