//! Request ids: taken from a well-formed incoming `x-request-id`, otherwise generated;
//! echoed on every response and visible to error bodies and operations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;

pub(crate) const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: Arc<str>;
}

/// `future` run with the current request's id, for work spawned off the request's task.
pub(crate) fn carried<F: std::future::Future>(
    future: F,
) -> impl std::future::Future<Output = F::Output> {
    CURRENT.scope(current(), future)
}

/// The id of the request being handled, for error bodies; empty outside a request.
pub(crate) fn current() -> Arc<str> {
    CURRENT
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::from(""))
}

/// Ids are a per-process random-ish prefix (start time) and a counter: unique within the
/// process and very unlikely to repeat across restarts, without a random-number crate.
fn generate() -> String {
    static PREFIX: LazyLock<u32> = LazyLock::new(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        (nanos as u32) ^ std::process::id().rotate_left(16)
    });
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    // `{:08x}-{:012x}` (the counter's lowest six bytes), written without the formatting
    // machinery: one is made for nearly every request.
    let mut id = [b'-'; 21];
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    hex::encode_to_slice(PREFIX.to_be_bytes(), &mut id[..8]).expect("8 digits for 4 bytes");
    hex::encode_to_slice(&counter[2..], &mut id[9..]).expect("12 digits for 6 bytes");
    String::from_utf8(id.to_vec()).expect("hex digits and a dash are ASCII")
}

/// The id of call `index` of a batch: the batch's id, cut so that the whole stays within
/// the accepted length, then `.index`. It is predictable from the batch's id (which the
/// client may choose), so each call can be found in the log. `None` outside a request.
pub(crate) fn child(parent: &str, index: usize) -> Option<String> {
    let suffix = format!(".{index}");
    // Ids are ASCII (checked or generated), so every byte offset is a character boundary.
    let kept = parent.get(..parent.len().min(MAX_LEN - suffix.len()))?;
    let id = format!("{kept}{suffix}");
    (!parent.is_empty() && acceptable(&id)).then_some(id)
}

/// The longest id accepted from a client.
const MAX_LEN: usize = 128;

fn acceptable(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Middleware: assign the id, run the request inside its scope, echo it.
pub(crate) async fn assign(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .unwrap_or_else(generate);
    let header = HeaderValue::from_str(&id).expect("ids are ASCII");
    request.headers_mut().insert(HEADER, header.clone());
    let id: Arc<str> = Arc::from(id);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = CURRENT.scope(id, next.run(request)).await;
    response.headers_mut().insert(HEADER, header);
    response
}

/// The request id, as a request extension.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) Arc<str>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_read_as_the_format_would_write_them() {
        let id = generate();
        assert_eq!(id.len(), 21, "{id}");
        assert!(acceptable(&id), "{id}");
        let prefix = u32::from_str_radix(&id[..8], 16).expect("a hex prefix");
        let counter = u64::from_str_radix(&id[9..], 16).expect("a hex counter");
        assert_eq!(id, format!("{prefix:08x}-{counter:012x}"));
        let next = generate();
        assert_ne!(next, id);
        assert!(u64::from_str_radix(&next[9..], 16).expect("a hex counter") > counter);
    }
}
