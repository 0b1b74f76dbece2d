//! The one table of error codes: every code the API answers with, its HTTP status and
//! what it means. Handlers build an [`ApiError`](super::ApiError) from a code (its status
//! comes from here), and the OpenAPI document reads the same table to describe each
//! status an endpoint can answer, so a code and its status cannot drift apart.
//!
//! An operation may answer a more specific code of its own (`process_not_found`, ...);
//! its status is then that of the kind it chose (`not_found`, `conflict`, ...), which is
//! the code in this table it stands for.

use http::StatusCode;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = ($code:literal, $status:ident, $meaning:literal),)+) => {
        /// An error code of the API: the `error.code` of an error answer.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in the table's order (by status).
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as it is sent.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// The status every answer with this code has.
            pub const fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)+
                }
            }

            /// What the code means, as a sentence for people (the document and the docs).
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)+
                }
            }
        }
    };
}

error_codes! {
    MalformedRequest = ("malformed_request", BAD_REQUEST,
        "The request cannot be read: its body is not JSON or not a JSON object, nests too deep, or a header or path parameter is not valid text."),
    Unauthenticated = ("unauthenticated", UNAUTHORIZED,
        "No valid credential: send `Authorization: Bearer <key>` (answered with `WWW-Authenticate: Bearer`)."),
    Forbidden = ("forbidden", FORBIDDEN,
        "The caller's role is below the one needed (`details.required_role`), or the operation refused the caller."),
    CapabilityDenied = ("capability_denied", FORBIDDEN,
        "A host call of the operation needs a capability the caller's role does not grant."),
    OperationNotFound = ("operation_not_found", NOT_FOUND,
        "No operation is loaded under this name or route."),
    WorkerNotFound = ("worker_not_found", NOT_FOUND,
        "No worker component is loaded under this name."),
    NothingToRestore = ("nothing_to_restore", NOT_FOUND,
        "The name has no version of its own (built in, or from a configured directory) to restore."),
    NodeNotFound = ("node_not_found", NOT_FOUND,
        "No node of this id is a member of the cluster."),
    NotFound = ("not_found", NOT_FOUND,
        "What the request names does not exist (an operation's own answer, or a console file)."),
    MethodNotAllowed = ("method_not_allowed", METHOD_NOT_ALLOWED,
        "The path is served, but not for this method (answered with `Allow`)."),
    Conflict = ("conflict", CONFLICT,
        "The request conflicts with the current state (an operation's own answer)."),
    RouteConflict = ("route_conflict", CONFLICT,
        "The component's route is already served by another operation."),
    ServedAtRoute = ("served_at_route", CONFLICT,
        "The operation is a `wasi:http` handler: call it at its route with an HTTP request, not by name."),
    OperationExists = ("operation_exists", CONFLICT,
        "An operation of this name is loaded already; replace it with `PUT`."),
    WorkerExists = ("worker_exists", CONFLICT,
        "A worker component of this name is loaded already; replace it with `PUT`."),
    OperationDisabled = ("operation_disabled", CONFLICT,
        "The operation is disabled by configuration (`operations.disabled`)."),
    NoEarlierVersion = ("no_earlier_version", CONFLICT,
        "No earlier version is kept to roll back to."),
    ClusterConflict = ("cluster_conflict", CONFLICT,
        "Another node changed this name first; this node follows that change."),
    PayloadTooLarge = ("payload_too_large", PAYLOAD_TOO_LARGE,
        "The body is over the size limit (`details.limit_bytes`)."),
    BatchTooLarge = ("batch_too_large", PAYLOAD_TOO_LARGE,
        "The batch holds more calls than one batch may (`details.limit_calls`)."),
    UnsupportedMediaType = ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE,
        "The body is not sent as the media type the endpoint reads."),
    ValidationError = ("validation_error", UNPROCESSABLE_ENTITY,
        "Parameters failed validation; `details.fields` names each field and why."),
    InvalidParams = ("invalid_params", UNPROCESSABLE_ENTITY,
        "The operation refused its parameters (its own answer)."),
    InvalidComponent = ("invalid_component", UNPROCESSABLE_ENTITY,
        "The upload is not a component the host can load."),
    UnsupportedContractVersion = ("unsupported_contract_version", UNPROCESSABLE_ENTITY,
        "The component targets a contract version this host does not support."),
    UnsupportedImports = ("unsupported_imports", UNPROCESSABLE_ENTITY,
        "The component imports interfaces its source is not granted (`details.imports`)."),
    InvalidConfig = ("invalid_config", UNPROCESSABLE_ENTITY,
        "The component's self-description is invalid: `details.problems` lists each `field` and `message`, with the `cap` of a field over one."),
    NameMismatch = ("name_mismatch", UNPROCESSABLE_ENTITY,
        "The component describes an operation of another name than the one it replaces."),
    CompileTimeout = ("compile_timeout", UNPROCESSABLE_ENTITY,
        "Compiling the component took longer than `compile.timeout_ms`."),
    NestedBatch = ("nested_batch", UNPROCESSABLE_ENTITY,
        "A call of a batch named the batch endpoint itself."),
    Skipped = ("skipped", FAILED_DEPENDENCY,
        "A call of a batch was not run: an earlier one failed under `stop_on_error`."),
    RateLimited = ("rate_limited", TOO_MANY_REQUESTS,
        "Over a rate limit (`details.limit`); retry after `Retry-After` seconds."),
    HeadersTooLarge = ("headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE,
        "The request has more headers, or more header bytes, than the server accepts."),
    InternalError = ("internal_error", INTERNAL_SERVER_ERROR,
        "The server hit an internal error; the cause is in its log under the request id."),
    Internal = ("internal", INTERNAL_SERVER_ERROR,
        "The operation failed (its own answer)."),
    OperationCrashed = ("operation_crashed", INTERNAL_SERVER_ERROR,
        "The operation trapped; the cause is in the server log under the request id."),
    ResourceExhausted = ("resource_exhausted", INTERNAL_SERVER_ERROR,
        "The operation exceeded its memory or table limits."),
    ResponseTooLarge = ("response_too_large", INTERNAL_SERVER_ERROR,
        "The operation answered more than `limits.max_response_bytes` (a `wasi:http` handler's body counts)."),
    InvalidResponse = ("invalid_response", INTERNAL_SERVER_ERROR,
        "The operation answered data that is not valid JSON, or a `wasi:http` handler answered no usable response."),
    StateNotSaved = ("state_not_saved", INTERNAL_SERVER_ERROR,
        "The change is live but could not be written to the state directory: a restart loses it."),
    Overloaded = ("overloaded", SERVICE_UNAVAILABLE,
        "The server or the operation's instances are at their limit; retry after `Retry-After` seconds."),
    Unavailable = ("unavailable", SERVICE_UNAVAILABLE,
        "Something the operation depends on is unavailable (its own answer)."),
    VersionRetired = ("version_retired", SERVICE_UNAVAILABLE,
        "The version serving the call was replaced or unloaded and the call outlasted `operations.drain_ms`; retry to reach the live version."),
    CompilerUnavailable = ("compiler_unavailable", SERVICE_UNAVAILABLE,
        "The compiler process could not run."),
    ClusterUnavailable = ("cluster_unavailable", SERVICE_UNAVAILABLE,
        "The cluster could not record the change; nothing was changed."),
    NodeUnavailable = ("node_unavailable", SERVICE_UNAVAILABLE,
        "The node named by `x-arsenal-node` is down, unreachable or did not answer in time."),
    AuditUnavailable = ("audit_unavailable", SERVICE_UNAVAILABLE,
        "The audit log could not record the change (which was made) or could not be read."),
    TooManyStreams = ("too_many_streams", SERVICE_UNAVAILABLE,
        "The server has its limit of event streams open; retry after `Retry-After` seconds."),
    ShuttingDown = ("shutting_down", SERVICE_UNAVAILABLE,
        "The server is shutting down."),
    OperationTimeout = ("operation_timeout", GATEWAY_TIMEOUT,
        "The operation ran past its deadline."),
    Timeout = ("timeout", GATEWAY_TIMEOUT,
        "The operation gave up waiting on something (its own answer)."),
    RequestTimeout = ("request_timeout", GATEWAY_TIMEOUT,
        "The request did not finish within `server.request_timeout_ms`."),
}

impl ErrorCode {
    /// The codes of the kinds of an operation's own answers (`op-error` in the contract),
    /// which an operation may replace with a more specific code of its own.
    pub const OPERATION_KINDS: &[ErrorCode] = &[
        ErrorCode::InvalidParams,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::Forbidden,
        ErrorCode::Unavailable,
        ErrorCode::Timeout,
        ErrorCode::Internal,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_snake_case_errors_in_status_order() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{text}"
            );
            assert!(code.status().as_u16() >= 400, "{text}");
            assert!(code.meaning().ends_with('.'), "{text}");
        }
        assert!(
            ErrorCode::ALL
                .windows(2)
                .all(|pair| pair[0].status() <= pair[1].status()),
            "the table is ordered by status"
        );
    }
}
