//! `GET /api/v1/events`: the live state the console draws, pushed as server-sent events.
//!
//! Each stream sends what its caller could read itself, read the same way: every tick it
//! sends the catalogue, the process list, the process tree and the sandboxes as requests
//! through the router, carrying the caller's [`Principal`] (as a batch's calls do), so
//! each answer — data or error, a role too low for sandboxes included — is exactly the
//! API's. Operation stats come from the telemetry the `/stats` endpoints read. A section
//! is sent when its answer changed since the stream last sent it, so a quiet host sends
//! only keep-alives.
//!
//! Events are `event: <section>` with the answer's JSON body as `data`; sections are
//! `catalog`, `processes`, `tree`, `sandboxes` and `stats`.
//!
//! Streams are bounded ([`MAX_STREAMS`] at once; more answer 503 `too_many_streams`) and
//! end when the server starts shutting down, so a drain never waits on an open console.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use bytes::Bytes;
use futures::Stream;
use http::Method;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use super::error::{ApiError, ErrorCode};
use super::extract::Caller;
use arsenal_core::auth::Principal;
use arsenal_core::host::Host;

/// Where the endpoint is served.
pub(crate) const PATH: &str = "/api/v1/events";

/// Streams open at once, per server. A console holds one; each costs a few operation calls
/// per tick, so the bound keeps many forgotten tabs from adding up to real load.
pub const MAX_STREAMS: usize = 32;

/// How often a stream reads the state. The console's views lag by at most this much.
const TICK: Duration = Duration::from_secs(1);

/// One kind of event: a section of the state.
pub(crate) struct Section {
    /// The event's name.
    pub(crate) name: &'static str,
    /// What `GET` through the router reads it; `None` for the stats, read from telemetry.
    pub(crate) path: Option<&'static str>,
    pub(crate) description: &'static str,
}

/// The sections, in the order they are sent.
pub(crate) const SECTIONS: &[Section] = &[
    Section {
        name: "catalog",
        path: Some("/api/v1/operations"),
        description: "The answer of `GET /api/v1/operations`.",
    },
    Section {
        name: "processes",
        path: Some("/api/v1/processes?limit=1000"),
        description: "The answer of `GET /api/v1/processes?limit=1000`.",
    },
    Section {
        name: "tree",
        path: Some("/api/v1/system/process-tree?limit=1000"),
        description: "The answer of `GET /api/v1/system/process-tree?limit=1000`.",
    },
    Section {
        name: "sandboxes",
        path: Some("/api/v1/sandboxes"),
        description: "The answer of `GET /api/v1/sandboxes`.",
    },
    Section {
        name: "stats",
        path: None,
        description: "Every loaded operation's totals and last minute, as `/api/v1/operations/{name}/stats` counts them: `{\"data\": [{\"name\", \"totals\", \"last_minute\"}]}`.",
    },
];

/// The server's event streams: the bound on how many are open, and the signal that ends
/// them all.
#[derive(Debug, Clone)]
pub(crate) struct EventStreams {
    slots: Arc<Semaphore>,
    stop: CancellationToken,
}

impl EventStreams {
    /// Streams that end when `stop` is cancelled.
    pub(crate) fn new(stop: CancellationToken) -> EventStreams {
        EventStreams {
            slots: Arc::new(Semaphore::new(MAX_STREAMS)),
            stop,
        }
    }
}

/// The endpoint's state: the host, the router a stream's reads go through, and the streams.
#[derive(Clone)]
pub(super) struct Events {
    host: Arc<Host>,
    /// Every endpoint but batches and events, with the layers of a request of its own.
    calls: Router,
    streams: EventStreams,
}

impl Events {
    pub(super) fn new(host: Arc<Host>, calls: Router, streams: EventStreams) -> Events {
        Events {
            host,
            calls,
            streams,
        }
    }
}

/// `GET /api/v1/events`.
pub(super) async fn stream(
    State(events): State<Events>,
    Caller(caller): Caller,
) -> Result<impl IntoResponse, ApiError> {
    if events.streams.stop.is_cancelled() {
        return Err(ApiError::new(
            ErrorCode::ShuttingDown,
            "the server is shutting down",
        ));
    }
    let Ok(slot) = events.streams.slots.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            ErrorCode::TooManyStreams,
            format!(
                "the server has its limit of {MAX_STREAMS} event streams open; close one or retry shortly"
            ),
        )
        .with_details(json!({ "limit_streams": MAX_STREAMS }))
        .with_retry_after(Duration::from_secs(5)));
    };
    let mut ticker = tokio::time::interval(TICK);
    // Reads that overran a tick are not made up for with a burst.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let feed = Feed {
        host: events.host,
        calls: events.calls,
        caller,
        stop: events.streams.stop.clone(),
        sent: HashMap::new(),
        pending: Vec::new(),
        ticker,
        _slot: slot,
    };
    Ok(Sse::new(feed.into_stream()).keep_alive(KeepAlive::default()))
}

/// One open stream: what it last sent per section, and what it still has to send.
struct Feed {
    host: Arc<Host>,
    calls: Router,
    caller: Principal,
    stop: CancellationToken,
    /// The last body sent per section.
    sent: HashMap<&'static str, Bytes>,
    /// Events read but not sent yet, the next one last.
    pending: Vec<Event>,
    ticker: tokio::time::Interval,
    /// Held for the stream's life: the stream counts against [`MAX_STREAMS`] until dropped.
    _slot: OwnedSemaphorePermit,
}

impl Feed {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> + Send {
        futures::stream::unfold(self, |mut feed| async move {
            loop {
                if let Some(event) = feed.pending.pop() {
                    return Some((Ok(event), feed));
                }
                let stop = feed.stop.clone();
                tokio::select! {
                    biased;
                    () = stop.cancelled() => return None,
                    _ = feed.ticker.tick() => {}
                }
                // A shutdown during the reads ends the stream without waiting for them.
                stop.run_until_cancelled(feed.read()).await?;
            }
        })
    }

    /// Read every section, queueing the ones that changed.
    async fn read(&mut self) {
        let mut changed = Vec::new();
        for section in SECTIONS {
            let body = match section.path {
                Some(target) => self.get(target).await,
                None => self.stats(),
            };
            changed.push((section.name, body));
        }
        for (section, body) in changed {
            if self.sent.get(section) == Some(&body) {
                continue;
            }
            let event = Event::default()
                .event(section)
                .data(String::from_utf8_lossy(&body));
            self.sent.insert(section, body);
            self.pending.push(event);
        }
        self.pending.reverse();
    }

    /// The body `GET target` answers the caller, as JSON bytes.
    async fn get(&self, target: &str) -> Bytes {
        let request = http::Request::builder()
            .method(Method::GET)
            .uri(target)
            .extension(self.caller.clone())
            .body(Body::empty());
        let request = match request {
            Ok(request) => request,
            Err(error) => return internal(&error),
        };
        let response = match self.calls.clone().oneshot(request).await {
            Ok(response) => response,
            Err(infallible) => match infallible {},
        };
        // The router's answers are whole in memory already (JSON the host built, or an
        // operation's data under its response cap).
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_else(|error| internal(&error))
    }

    /// Every loaded operation's counts: totals, and the last minute's rate, errors and
    /// latency — what `/api/v1/operations/{name}/stats` answers, in brief.
    fn stats(&self) -> Bytes {
        let telemetry = self.host.telemetry();
        let operations: Vec<Value> = self
            .host
            .registry()
            .snapshot()
            .operations()
            .iter()
            .map(|operation| {
                let report = telemetry.stats(&operation.spec.name);
                json!({
                    "name": report.name,
                    "totals": report.totals,
                    "last_minute": report.windows.first(),
                })
            })
            .collect();
        Bytes::from(json!({ "data": operations }).to_string())
    }
}

/// The body of an internal error, after logging its cause.
fn internal(error: &dyn std::fmt::Display) -> Bytes {
    tracing::error!(%error, "an event stream failed to read a section");
    let error = ApiError::logged_fault();
    Bytes::from(error.body_for("").to_string())
}
