//! Serving one HTTP request to an operation that is a `wasi:http` handler: a fresh
//! instance under the operation's limits (memory and table caps, epoch deadline, outer
//! timeout), the request put into its table, `handle` called while its answer is read up
//! to the response cap. The answer counts only once the handler has returned normally:
//! a trap, a limit hit or the deadline fail the call as for any operation.

use std::sync::Arc;

use arsenal_wasi::http::{CallScope, Exchange, HandlerResponse, exchange};
use bytes::Bytes;

use crate::facts::HostFacts;
use crate::handler::OperationPre;
use crate::invoke::{CallError, CallLimits, arm_deadline, classify, new_store, outer_timeout};
use crate::permits::Permits;
use arsenal_engine::failure::GuestFailure;

/// How the handler's call ended when it did not answer.
enum Ended {
    Trapped(wasmtime::Error),
    Answer(arsenal_wasi::http::AnswerError),
}

/// Serve `request` to a fresh instance of `pre` (an HTTP handler) for a caller holding
/// `permits`, within `limits`; its outbound requests are `scope`'s.
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
) -> Result<HandlerResponse, CallError> {
    let handler = pre
        .http_handler()
        .expect("only an HTTP handler's requests are served here");
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

    let work = async {
        let call = async {
            let instance = pre.instantiate_async(&mut store).await?;
            handler
                .handle(&mut store, instance.instance(), request, outparam)
                .await
        };
        // The handler writes its body while this reads it; both must finish.
        let (_, response) =
            tokio::try_join!(async { call.await.map_err(Ended::Trapped) }, async {
                answer
                    .collect(limits.max_response_bytes)
                    .await
                    .map_err(Ended::Answer)
            },)?;
        Ok::<_, Ended>(response)
    };
    let outcome = tokio::time::timeout(outer_timeout(limits), work).await;
    store.data_mut().flush_output();
    match outcome {
        Err(_elapsed) => Err(GuestFailure::Timeout(limits.timeout).into()),
        Ok(Ok(response)) => Ok(response),
        Ok(Err(Ended::Trapped(error))) => {
            Err(classify(error, store.data().limiter.refusal(), limits.timeout).into())
        }
        Ok(Err(Ended::Answer(error))) => Err(CallError::Handler(error)),
    }
}
