//! What one endpoint of the host is (its method, path, body, handler and page) and what it
//! can answer: its handler's codes plus those of the layers every request passes, added by
//! construction from the path and method — the gate authentication keeps
//! ([`auth::gate`]), whether the audit log records it ([`audit::audited`]), the body it
//! reads, the edge's caps, load shedding and request bound, and the node selector. The
//! table itself is `endpoints`; the document is written from these, in `openapi`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::routing::{MethodFilter, MethodRouter};
use http::Method;
use serde_json::Value;

use crate::auth::Gate;
use crate::error::ErrorCode;
use crate::{audit, auth, batch, events};
use arsenal_core::host::Host;
use arsenal_core::registry::Catalog;

use ErrorCode::*;

/// The request body an endpoint reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reads {
    Nothing,
    /// A JSON object within `server.max_body_bytes`.
    Json,
    /// An `application/wasm` component within `server.max_upload_bytes`.
    Wasm,
}

/// The states a router's handlers are given. The router that a batch's calls and an event
/// stream's reads go through has neither batches nor events.
pub(crate) struct Handlers {
    pub(crate) host: Arc<Host>,
    pub(crate) batches: Option<batch::Batches>,
    pub(crate) events: Option<events::Events>,
}

/// The handler of an endpoint, for its method; `None` where the router does not serve it.
pub(crate) type Serve = fn(MethodFilter, &Handlers) -> Option<MethodRouter<Arc<Host>>>;

/// One endpoint of the host.
pub(crate) struct Endpoint {
    pub(crate) method: Method,
    /// In the router's and OpenAPI's syntax: `/api/v1/operations/{name}`.
    pub(crate) path: &'static str,
    pub(crate) reads: Reads,
    /// The codes the handler itself answers.
    pub(crate) errors: &'static [ErrorCode],
    /// Whether an operation's own codes may stand in for the codes of their kind (the
    /// handler calls operations).
    pub(crate) calls_operations: bool,
    pub(crate) serve: Serve,
    /// Its operation object in the OpenAPI document, without the error answers (added
    /// from [`Endpoint::answers`]).
    pub(crate) page: fn(&Catalog) -> Value,
}

/// What an operation call can answer once it is routed: the operation gone meanwhile,
/// its parameters refused, its caller refused, and every way a call can fail, with the
/// codes of the kinds an operation answers itself.
pub(crate) const OPERATION_CALL: &[ErrorCode] = &[
    // The operation unloaded since: gone (404), or gone from a path another operation
    // still serves with another method (405).
    OperationNotFound,
    MethodNotAllowed,
    ValidationError,
    // Its role and its per-operation rate limit, checked before the call.
    Unauthenticated,
    Forbidden,
    RateLimited,
    // The call.
    CapabilityDenied,
    OperationTimeout,
    ResourceExhausted,
    OperationCrashed,
    VersionRetired,
    Overloaded,
    ResponseTooLarge,
    InvalidResponse,
    // A `wasi:http` handler called by name.
    ServedAtRoute,
    // The kinds of an operation's own answers.
    InvalidParams,
    NotFound,
    Conflict,
    Unavailable,
    Timeout,
    Internal,
];

/// The codes one endpoint can answer, by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answers {
    pub(crate) codes: BTreeSet<ErrorCode>,
    /// Whether an operation's own codes may stand in for the codes of their kind.
    pub(crate) operation_codes: bool,
}

impl Answers {
    /// Every code of the layers a request of `method` to `path` passes, a body of `reads`
    /// read, and `own` codes.
    fn of(method: &Method, path: &str, reads: Reads, own: &[ErrorCode]) -> Answers {
        let mut codes: BTreeSet<ErrorCode> = own.iter().copied().collect();
        // The edge (`hardening`): header caps, load shedding, the request bound; and a
        // panic caught.
        codes.extend([HeadersTooLarge, Overloaded, RequestTimeout, InternalError]);
        // The node selector (`cluster`): an unreadable `x-arsenal-node`, an unknown or
        // unavailable node, a body too large to forward.
        codes.extend([
            MalformedRequest,
            NodeNotFound,
            NodeUnavailable,
            PayloadTooLarge,
        ]);
        let gate = auth::gate(path);
        if gate != Gate::Open {
            codes.extend([Unauthenticated, RateLimited]);
            if audit::audited(method, path) {
                codes.insert(AuditUnavailable);
            }
        }
        if gate == Gate::Admin {
            codes.insert(Forbidden);
        }
        match reads {
            Reads::Nothing => {}
            Reads::Json => codes.extend([MalformedRequest, PayloadTooLarge]),
            Reads::Wasm => codes.extend([UnsupportedMediaType, PayloadTooLarge]),
        }
        if path.contains('{') {
            // A path parameter that is not valid UTF-8 once percent-decoded.
            codes.insert(MalformedRequest);
        }
        Answers {
            codes,
            operation_codes: false,
        }
    }

    /// The error codes, grouped by status, in status order.
    pub(crate) fn by_status(&self) -> Vec<(http::StatusCode, Vec<ErrorCode>)> {
        let mut grouped: Vec<(http::StatusCode, Vec<ErrorCode>)> = Vec::new();
        for code in &self.codes {
            match grouped.last_mut() {
                Some((status, codes)) if *status == code.status() => codes.push(*code),
                _ => grouped.push((code.status(), vec![*code])),
            }
        }
        grouped.sort_by_key(|(status, _)| *status);
        grouped
    }
}

impl Endpoint {
    /// Every code this endpoint can answer.
    pub(crate) fn answers(&self) -> Answers {
        Answers {
            operation_codes: self.calls_operations,
            ..Answers::of(&self.method, self.path, self.reads, self.errors)
        }
    }

    /// The method filter the router serves it under.
    pub(crate) fn filter(&self) -> MethodFilter {
        MethodFilter::try_from(self.method.clone())
            .unwrap_or_else(|_| unreachable!("{} is a method axum routes", self.method))
    }

    /// Whether this endpoint's path template matches `path`.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let mut template = self.path.split('/');
        let mut actual = path.split('/');
        loop {
            match (template.next(), actual.next()) {
                (None, None) => return true,
                (Some(expected), Some(segment)) => {
                    let is_param = expected.starts_with('{') && expected.ends_with('}');
                    if !(is_param && !segment.is_empty() || expected == segment) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }
}

/// What a call of a catalogued operation declared with `method` at `path` can answer.
pub(crate) fn operation_answers(method: &Method, path: &str) -> Answers {
    let mut answers = Answers {
        operation_codes: true,
        // Every call reads its body as a JSON object, whatever its method.
        ..Answers::of(method, path, Reads::Json, OPERATION_CALL)
    };
    // At its own route a handler is served: only a call by name is refused as one.
    answers.codes.remove(&ServedAtRoute);
    answers
}
