//! The batch request body, parsed once into typed calls with every problem reported
//! together. Only the envelope is checked here; whether a call names a route, and whether
//! its parameters are valid, is decided by the router when the call runs.

use std::num::NonZeroUsize;

use bytes::Bytes;
use http::Method;
use http::uri::PathAndQuery;
use serde_json::{Map, Value, json};

use arsenal_core::validation::{FieldError, ValidationError};

use crate::error::{ApiError, ErrorCode};

/// Calls one batch may hold.
pub(crate) const MAX_CALLS: usize = 1_000;
/// Calls in flight at once when the request does not say.
pub(crate) const DEFAULT_CONCURRENCY: usize = 8;
/// The most calls in flight at once a request may ask for.
pub(crate) const MAX_CONCURRENCY: usize = 64;
/// Nesting the envelope adds above a call's body (the object, `calls`, the call), so a
/// body that a request of its own could send also fits in a batch.
pub(crate) const ENVELOPE_DEPTH: usize = 3;
/// The methods a call may use: those an operation can declare.
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// A parsed batch.
#[derive(Debug)]
pub(crate) struct BatchRequest {
    pub(crate) calls: Vec<Call>,
    /// Calls in flight at once, as asked (the runner may lower it to the instance pool).
    pub(crate) concurrency: NonZeroUsize,
    /// Whether a failed call stops the calls not yet started.
    pub(crate) stop_on_error: bool,
}

/// One call of a batch, ready to become a request.
#[derive(Debug)]
pub(crate) struct Call {
    /// The client's id for the call, echoed in its result; `null` when not given.
    pub(crate) id: Value,
    pub(crate) method: Method,
    /// The path with the query: the call's own `?...` followed by `query`.
    pub(crate) target: PathAndQuery,
    /// The JSON body; `None` when absent or `null`.
    pub(crate) body: Option<Bytes>,
}

/// Why a batch was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BatchError {
    #[error("run {count} calls in one batch; the limit is {limit}")]
    TooManyCalls { count: usize, limit: usize },
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

impl BatchRequest {
    /// Parse the body of `POST /api/v1/batch`.
    pub(crate) fn parse(mut body: Map<String, Value>) -> Result<BatchRequest, BatchError> {
        // Counted before anything else, so an oversized batch costs no per-call work.
        if let Some(Value::Array(calls)) = body.get("calls")
            && calls.len() > MAX_CALLS
        {
            return Err(BatchError::TooManyCalls {
                count: calls.len(),
                limit: MAX_CALLS,
            });
        }
        let mut problems = Problems::default();
        let calls = match body.remove("calls") {
            None => {
                problems.push("calls", "required field is missing");
                Vec::new()
            }
            Some(Value::Array(calls)) if calls.is_empty() => {
                problems.push("calls", "must hold at least one call");
                Vec::new()
            }
            Some(Value::Array(calls)) => calls
                .into_iter()
                .enumerate()
                .filter_map(|(index, call)| Call::parse(index, call, &mut problems))
                .collect(),
            Some(_) => {
                problems.push("calls", "must be an array of calls");
                Vec::new()
            }
        };
        let mut concurrency = NonZeroUsize::new(DEFAULT_CONCURRENCY).expect("not zero");
        let mut stop_on_error = false;
        for (key, value) in body {
            match key.as_str() {
                "concurrency" => match value
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|n| *n <= MAX_CONCURRENCY)
                    .and_then(NonZeroUsize::new)
                {
                    Some(n) => concurrency = n,
                    None => problems.push(
                        "concurrency",
                        format!("must be an integer from 1 to {MAX_CONCURRENCY}"),
                    ),
                },
                "stop_on_error" => match value {
                    Value::Bool(stop) => stop_on_error = stop,
                    _ => problems.push("stop_on_error", "must be a boolean"),
                },
                _ => problems.push(key, "unknown field"),
            }
        }
        problems.into_result()?;
        Ok(BatchRequest {
            calls,
            concurrency,
            stop_on_error,
        })
    }
}

impl Call {
    /// Parse call `index`, adding its problems; `Some` only when it has none.
    fn parse(index: usize, call: Value, problems: &mut Problems) -> Option<Call> {
        let field = |name: &str| format!("calls/{index}/{name}");
        let Value::Object(call) = call else {
            problems.push(
                format!("calls/{index}"),
                "must be an object with `method` and `path`",
            );
            return None;
        };
        let before = problems.0.len();
        let (mut method, mut path, mut query, mut body, mut id) =
            (None, None, Vec::new(), None, Value::Null);
        for (key, value) in call {
            match key.as_str() {
                "method" => match value.as_str().and_then(method_named) {
                    Some(found) => method = Some(found),
                    None => problems.push(
                        field("method"),
                        "must be one of GET, POST, PUT, PATCH, DELETE",
                    ),
                },
                "path" => match value {
                    Value::String(text) if text.starts_with('/') && !text.contains('#') => {
                        path = Some(text);
                    }
                    _ => problems.push(
                        field("path"),
                        "must be a path starting with `/`, such as `/api/v1/echo/abc`",
                    ),
                },
                "query" => match value {
                    Value::Object(pairs) => {
                        for (name, value) in pairs {
                            match query_values(value) {
                                Some(values) => {
                                    query.extend(values.into_iter().map(|v| (name.clone(), v)));
                                }
                                None => problems.push(
                                    format!("calls/{index}/query/{name}"),
                                    "must be a string, number, boolean or an array of them",
                                ),
                            }
                        }
                    }
                    _ => problems.push(field("query"), "must be an object"),
                },
                "body" => match value {
                    Value::Null => {}
                    value => body = Some(Bytes::from(value.to_string())),
                },
                "id" => match value {
                    Value::String(_) | Value::Number(_) => id = value,
                    _ => problems.push(field("id"), "must be a string or a number"),
                },
                _ => problems.push(field(&key), "unknown field"),
            }
        }
        if method.is_none() && !problems.mentions(&field("method")) {
            problems.push(field("method"), "required field is missing");
        }
        if path.is_none() && !problems.mentions(&field("path")) {
            problems.push(field("path"), "required field is missing");
        }
        let target = path.and_then(|path| match target(path, &query) {
            Ok(target) => Some(target),
            Err(error) => {
                problems.push(field("path"), format!("is not a valid path: {error}"));
                None
            }
        });
        if problems.0.len() > before {
            return None;
        }
        Some(Call {
            id,
            method: method?,
            target: target?,
            body,
        })
    }
}

/// `get` and `GET` alike: methods are case-sensitive on the wire, but a lowercase method
/// in a JSON field is a spelling, not a different method.
fn method_named(name: &str) -> Option<Method> {
    METHODS
        .into_iter()
        .find(|method| method.as_str().eq_ignore_ascii_case(name))
}

/// The text of a query value: scalars as written, an array as a repeated key.
fn query_values(value: Value) -> Option<Vec<String>> {
    match value {
        Value::String(text) => Some(vec![text]),
        Value::Number(number) => Some(vec![number.to_string()]),
        Value::Bool(flag) => Some(vec![flag.to_string()]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Array(_) => None,
                item => query_values(item).and_then(|mut text| text.pop()),
            })
            .collect(),
        Value::Null | Value::Object(_) => None,
    }
}

/// The path with `query` appended to whatever query it already has.
fn target(path: String, query: &[(String, String)]) -> Result<PathAndQuery, http::uri::InvalidUri> {
    if query.is_empty() {
        return PathAndQuery::try_from(path);
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let joiner = match path.split_once('?') {
        Some((_, "")) => "",
        Some(_) => "&",
        None => "?",
    };
    PathAndQuery::try_from(format!("{path}{joiner}{encoded}"))
}

/// Field problems, in the order found.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    fn mentions(&self, field: &str) -> bool {
        self.0.iter().any(|problem| problem.field == field)
    }

    fn into_result(self) -> Result<(), ValidationError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ValidationError(self.0))
        }
    }
}

impl From<BatchError> for ApiError {
    fn from(error: BatchError) -> ApiError {
        match error {
            // 413 like a body over the byte limit: the remedy is the same, send less at once.
            BatchError::TooManyCalls { count, limit } => ApiError::new(
                ErrorCode::BatchTooLarge,
                format!("the batch holds {count} calls, over the limit of {limit}; split it"),
            )
            .with_details(json!({ "calls": count, "limit_calls": limit })),
            BatchError::Invalid(error) => ApiError::from(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: Value) -> Result<BatchRequest, BatchError> {
        let Value::Object(body) = body else {
            panic!("an object")
        };
        BatchRequest::parse(body)
    }

    /// The problems, sorted: their order follows the body's keys, which is sorted or as
    /// sent depending on whether `serde_json` preserves order in this build.
    fn fields(body: Value) -> Vec<String> {
        match parse(body) {
            Err(BatchError::Invalid(ValidationError(problems))) => {
                let mut fields: Vec<_> = problems
                    .into_iter()
                    .map(|problem| format!("{}: {}", problem.field, problem.message))
                    .collect();
                fields.sort();
                fields
            }
            other => panic!("expected field problems, got {other:?}"),
        }
    }

    #[test]
    fn a_call_becomes_method_target_and_body() {
        let batch = parse(json!({
            "calls": [{
                "method": "post",
                "path": "/api/v1/processes/a/messages?x=1",
                "query": { "tag": ["a b", 2, true] },
                "body": { "payload": "inc" },
                "id": "first"
            }],
            "concurrency": 2,
            "stop_on_error": true
        }))
        .unwrap();
        assert_eq!((batch.concurrency.get(), batch.stop_on_error), (2, true));
        let call = &batch.calls[0];
        assert_eq!(call.method, Method::POST);
        assert_eq!(
            call.target.as_str(),
            "/api/v1/processes/a/messages?x=1&tag=a+b&tag=2&tag=true"
        );
        assert_eq!(call.body.as_deref(), Some(&br#"{"payload":"inc"}"#[..]));
        assert_eq!(call.id, json!("first"));
    }

    #[test]
    fn defaults_apply_and_a_null_body_is_no_body() {
        let batch =
            parse(json!({ "calls": [{ "method": "GET", "path": "/x", "body": null }] })).unwrap();
        assert_eq!(
            (batch.concurrency.get(), batch.stop_on_error),
            (DEFAULT_CONCURRENCY, false)
        );
        assert_eq!(batch.calls[0].body, None);
        assert_eq!(batch.calls[0].id, Value::Null);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        assert_eq!(
            fields(json!({
                "calls": [
                    { "method": "TRACE", "path": "api", "extra": 1 },
                    "GET /x",
                    { "query": { "a": null }, "id": [] }
                ],
                "concurrency": 65,
                "stop_on_error": "yes",
                "parallel": true
            })),
            [
                "calls/0/extra: unknown field",
                "calls/0/method: must be one of GET, POST, PUT, PATCH, DELETE",
                "calls/0/path: must be a path starting with `/`, such as `/api/v1/echo/abc`",
                "calls/1: must be an object with `method` and `path`",
                "calls/2/id: must be a string or a number",
                "calls/2/method: required field is missing",
                "calls/2/path: required field is missing",
                "calls/2/query/a: must be a string, number, boolean or an array of them",
                "concurrency: must be an integer from 1 to 64",
                "parallel: unknown field",
                "stop_on_error: must be a boolean",
            ]
        );
        assert_eq!(fields(json!({})), ["calls: required field is missing"]);
        assert_eq!(
            fields(json!({ "calls": [] })),
            ["calls: must hold at least one call"]
        );
        assert_eq!(
            fields(json!({ "calls": [{ "method": "GET", "path": "/a b" }] })),
            ["calls/0/path: is not a valid path: invalid uri character"]
        );
    }

    #[test]
    fn more_than_the_limit_is_refused_before_anything_else() {
        let calls = vec![json!("not even a call"); MAX_CALLS + 1];
        assert_eq!(
            parse(json!({ "calls": calls, "concurrency": 0 })).unwrap_err(),
            BatchError::TooManyCalls {
                count: MAX_CALLS + 1,
                limit: MAX_CALLS
            }
        );
    }
}
