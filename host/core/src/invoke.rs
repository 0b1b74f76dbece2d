//! Running guest code: one fresh instance per call from a pre-instantiated component (or,
//! opt-in, a warm one: `warm.rs`),
//! under the three layers of limits — the pool (a cap on concurrent instances, 503 when
//! exhausted), the store (memory/table limiter, epoch deadline) and the call (a timeout
//! around the call future). A misbehaving guest costs its own call, never the host.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use wasmtime::Store;

use crate::bindings::wit;
use crate::facts::HostFacts;
pub use crate::gate::InstanceGate;
use crate::handler::OperationPre;
use crate::limits::CallLimiter;
use crate::permits::Permits;
use crate::spec::Described;
use crate::store::CallState;
use crate::warm::{Owner, WarmInstance, WarmPool};
pub use arsenal_engine::failure::{GuestFailure, arm_deadline, classify};
pub use arsenal_wasi::http::AnswerError;
use arsenal_wasi::http::{CallScope, Reached, Unanswered};

/// A `wasi:http` handler's answer; its body fails with the call's error if the call fails
/// while the body is streamed.
pub type HandlerResponse = arsenal_wasi::http::HandlerResponse<CallError>;

/// Limits of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CallLimits {
    pub memory_bytes: usize,
    pub table_elements: usize,
    #[serde(with = "millis")]
    pub timeout: Duration,
    pub max_response_bytes: usize,
}

mod millis {
    pub(super) fn serialize<S: serde::Serializer>(
        duration: &std::time::Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(duration.as_millis() as u64)
    }
}

/// The caller of one call, as the operation sees it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: String,
    pub roles: Vec<String>,
    pub request_id: String,
    /// What the call's outbound requests carry on and report back.
    pub onward: Onward,
}

/// What a call hands on to the outbound HTTP requests it makes: the calling request's
/// trace context (`traceparent`), and where the destinations it reaches are written
/// down for its audit record.
#[derive(Debug, Clone, Default)]
pub struct Onward {
    pub traceparent: Option<Arc<str>>,
    pub reached: Option<Arc<Reached>>,
}

impl Onward {
    /// The outbound scope of a call of `caller` that begins now under `timeout`.
    pub(crate) fn scope(&self, request_id: Arc<str>, timeout: Duration) -> CallScope {
        CallScope::new(
            request_id,
            timeout,
            self.traceparent.clone(),
            self.reached.clone(),
        )
    }
}

/// Why a call failed, from the host's point of view.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("{0}")]
    Guest(#[from] GuestFailure),
    /// The operation returned its own error.
    #[error("the operation reported {kind:?}: {message}")]
    Operation {
        kind: OpErrorKind,
        message: String,
        details: Option<Value>,
        /// A more specific code than the kind's default, when the operation gave a valid one.
        code: Option<String>,
    },
    #[error("return a response of {size} bytes, over the cap of {cap}")]
    ResponseTooLarge { size: usize, cap: usize },
    #[error("return valid JSON data: {0}")]
    InvalidResponse(String),
    /// A `wasi:http` handler gave no usable answer.
    #[error("answer: {0}")]
    Handler(#[from] AnswerError),
    /// A `wasi:http` handler was called by name (with JSON parameters) rather than at
    /// its route with an HTTP request.
    #[error("be called by name: `{name}` is a wasi:http handler, served at {method} {path}")]
    ServedAtRoute {
        name: String,
        method: String,
        path: String,
    },
}

/// A handler's call that gave no answer: its call failed, or its answer is unusable.
impl From<Unanswered<CallError>> for CallError {
    fn from(unanswered: Unanswered<CallError>) -> CallError {
        match unanswered {
            Unanswered::Guest(error) => error,
            Unanswered::Answer(error) => CallError::Handler(error),
        }
    }
}

/// The cases of the WIT `op-error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpErrorKind {
    InvalidParams,
    NotFound,
    Conflict,
    Forbidden,
    Unavailable,
    Timeout,
    Internal,
}

/// A call into guest code.
pub(crate) enum GuestCall {
    /// Make an instance and call nothing.
    Instantiate,
    Describe,
    Execute(wit::Request),
}

/// What guest code returned.
#[expect(
    clippy::large_enum_variant,
    reason = "a config is returned once per component loaded, straight to the loader"
)]
pub(crate) enum GuestReturn {
    Instantiated,
    Config(Described),
    Executed(Result<wit::Response, wit::OpError>),
}

/// A store for one instance under `limits`, its deadline not armed yet.
pub(crate) fn new_store(
    pre: &OperationPre,
    host: &Arc<HostFacts>,
    limits: CallLimits,
    operation: Arc<str>,
    request_id: Arc<str>,
) -> Store<CallState> {
    let limiter = CallLimiter::new(limits.memory_bytes, limits.table_elements);
    let mut store = Store::new(
        pre.engine(),
        CallState::new(host.clone(), limiter, operation, request_id, pre.reach()),
    );
    store.limiter(|state| &mut state.limiter);
    store
}

/// The epoch deadline stops guest code; this outer bound also covers time spent in host
/// calls. It fires slightly later so that, when both apply, the trap wins.
pub(crate) fn outer_timeout(limits: CallLimits) -> Duration {
    limits.timeout + Duration::from_millis(50)
}

/// Run one guest call in a fresh instance under `limits`; an `execute` serves the outbound
/// `scope` of its call.
pub(crate) async fn run_guest(
    pre: &OperationPre,
    host: &Arc<HostFacts>,
    limits: CallLimits,
    operation: Arc<str>,
    request_id: Arc<str>,
    call: GuestCall,
    scope: Option<CallScope>,
) -> Result<GuestReturn, GuestFailure> {
    let mut store = new_store(pre, host, limits, operation, request_id);
    if let Some(scope) = scope {
        store.data_mut().serve_outbound(scope);
    }
    arm_deadline(&mut store, limits.timeout);
    if let GuestCall::Execute(request) = &call {
        store.data_mut().permits =
            Permits::for_caller(&request.caller.principal, &request.caller.roles);
    }

    let work = async {
        let handler = pre.instantiate_async(&mut store).await?;
        match call {
            GuestCall::Instantiate => Ok(GuestReturn::Instantiated),
            GuestCall::Describe => handler
                .call_describe(&mut store)
                .await
                .map(GuestReturn::Config),
            GuestCall::Execute(request) => handler
                .call_execute(&mut store, &request)
                .await
                .map(GuestReturn::Executed),
        }
    };
    let outcome = tokio::time::timeout(outer_timeout(limits), work).await;
    store.data_mut().flush_output();
    match outcome {
        Err(_elapsed) => Err(GuestFailure::Timeout(limits.timeout)),
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(classify(
            error,
            store.data().limiter.refusal(),
            limits.timeout,
        )),
    }
}

/// Run `execute` in warm-instance mode: on an idle instance of `pool` that may serve the
/// caller, else a fresh one; an instance that returned normally and hit no limit goes back
/// to the pool, any other is dropped here.
pub(crate) async fn run_warm(
    pool: &WarmPool,
    pre: &OperationPre,
    host: &Arc<HostFacts>,
    limits: CallLimits,
    operation: Arc<str>,
    request: wit::Request,
    scope: CallScope,
) -> Result<GuestReturn, GuestFailure> {
    let request_id: Arc<str> = Arc::from(request.caller.request_id.as_str());
    let (mut store, handler, calls, owner) = match pool.take(&request.caller) {
        Some(idle) => (idle.store, Some(idle.handler), idle.calls, Some(idle.owner)),
        None => (
            new_store(pre, host, limits, operation, request_id.clone()),
            None,
            0,
            None,
        ),
    };
    store.data_mut().serve_outbound(scope);
    let caller = &request.caller;
    store
        .data_mut()
        .begin_call_of(request_id, &caller.principal, &caller.roles);
    arm_deadline(&mut store, limits.timeout);

    let work = async {
        let handler = match handler {
            Some(handler) => handler,
            None => pre.instantiate_async(&mut store).await?,
        };
        let result = handler.call_execute(&mut store, &request).await?;
        Ok::<_, wasmtime::Error>((handler, result))
    };
    let outcome = tokio::time::timeout(outer_timeout(limits), work).await;
    store.data_mut().flush_output();
    match outcome {
        Err(_elapsed) => Err(GuestFailure::Timeout(limits.timeout)),
        Ok(Err(error)) => Err(classify(
            error,
            store.data().limiter.refusal(),
            limits.timeout,
        )),
        Ok(Ok((handler, result))) => {
            // A refused grow the guest survived still ends the instance's reuse.
            if store.data().limiter.refusal().is_none() {
                // A kept instance goes back with the owner it had: `take` gave it only to
                // a caller it may serve.
                let owner = owner.unwrap_or_else(|| Owner::of(&request.caller));
                pool.put(WarmInstance::new(store, handler, calls + 1, owner));
            }
            Ok(GuestReturn::Executed(result))
        }
    }
}

/// Build the WIT request for `params` and `caller`.
pub(crate) fn request(
    params: &Map<String, Value>,
    caller: &Caller,
    timeout: Duration,
) -> wit::Request {
    let deadline = SystemTime::now() + timeout;
    wit::Request {
        params: serde_json::to_string(params).expect("a JSON map serializes"),
        caller: wit::Caller {
            principal: caller.principal.clone(),
            roles: caller.roles.clone(),
            request_id: caller.request_id.clone(),
            deadline_ms: deadline
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        },
    }
}

/// Turn what `execute` returned into data or a call error.
/// The JSON an operation answered: checked to be one valid JSON value and kept as the
/// text it sent, so the host can pass it on without building a tree and serializing it
/// again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The answer's body, `{"data": ...}` around the text as it came.
    pub fn enveloped(&self) -> String {
        let mut body = String::with_capacity(self.0.len() + 9);
        body.push_str("{\"data\":");
        body.push_str(&self.0);
        body.push('}');
        body
    }

    /// The data as a JSON tree, for callers that look inside it.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).expect("checked to be valid JSON when received")
    }
}

pub(crate) fn interpret(
    result: Result<wit::Response, wit::OpError>,
    max_response_bytes: usize,
) -> Result<JsonText, CallError> {
    match result {
        Ok(response) => {
            if response.data.len() > max_response_bytes {
                return Err(CallError::ResponseTooLarge {
                    size: response.data.len(),
                    cap: max_response_bytes,
                });
            }
            // Checked without building anything: `IgnoredAny` only walks the text.
            serde_json::from_str::<serde::de::IgnoredAny>(&response.data)
                .map(|_| JsonText(response.data))
                .map_err(|error| CallError::InvalidResponse(error.to_string()))
        }
        Err(error) => {
            let (kind, info) = match error {
                wit::OpError::InvalidParams(info) => (OpErrorKind::InvalidParams, info),
                wit::OpError::NotFound(info) => (OpErrorKind::NotFound, info),
                wit::OpError::Conflict(info) => (OpErrorKind::Conflict, info),
                wit::OpError::Forbidden(info) => (OpErrorKind::Forbidden, info),
                wit::OpError::Unavailable(info) => (OpErrorKind::Unavailable, info),
                wit::OpError::Timeout(info) => (OpErrorKind::Timeout, info),
                wit::OpError::Internal(info) => (OpErrorKind::Internal, info),
            };
            // Details that are not JSON are passed on as a string rather than dropped.
            let details = info
                .details
                .map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text)));
            // A code must read like the host's own (snake_case); anything else is ignored.
            let code = info.code.filter(|code| {
                !code.is_empty()
                    && code.len() <= 64
                    && code.starts_with(|c: char| c.is_ascii_lowercase())
                    && code
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            });
            Err(CallError::Operation {
                kind,
                message: info.message,
                details,
                code,
            })
        }
    }
}
