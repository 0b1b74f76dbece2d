//! HTTP through `wasmtime-wasi-http`: outbound (`wasi:http/outgoing-handler` 0.2, with
//! Arsenal's own sender behind it) and inbound (a `wasi:http/incoming-handler` served).
//!
//! - **Grant**: the operator grants destination patterns per source and per component;
//!   a component may narrow them in its config (`outbound_hosts`), and a request outside
//!   the grant refuses the load ([`OutboundPolicy::grant`]).
//! - **Check** ([`OutboundState`]'s sender, once per request): inside the grant, within
//!   the call's request budget; the name is resolved here and every address checked
//!   (loopback, private, link-local and metadata addresses only through a pattern naming
//!   them), then the connection goes to a checked address. A redirect is a new request
//!   the guest makes, checked again.
//! - **Bounds**: connect and first-byte timeouts, a response body cap, all ending before
//!   the call's own deadline; a refusal or failure is the guest's error code, never a trap.
//! - Inbound, [`IncomingHandlerPre`] and [`exchange`] serve a request to a component that
//!   exports `wasi:http/incoming-handler` 0.2 (an HTTP handler served as an operation),
//!   [`ServicePre`] one that exports WASI 0.3's `wasi:http/handler`; 0.3's
//!   `wasi:http/client` sends through the same checks as 0.2's `outgoing-handler`.
//! - The calling request's `traceparent` travels on; requests are counted by host and
//!   outcome ([`OutboundMetrics`]) and the destinations a call reached are kept for its
//!   audit record ([`Reached`]).

mod address;
mod client;
mod destination;
mod grant;
mod incoming;
mod metrics;
mod policy;
mod service;
mod settings;
mod state;

pub use destination::{Destination, DestinationPattern, Host, PatternError, Scheme};
pub use grant::{NotGranted, OutboundGrant};
pub use incoming::{
    Answer, AnswerError, Exchange, HandlerBody, HandlerResponse, Head, IncomingHandlerPre,
    StreamError, Unanswered, WrittenBody, exchange,
};
pub use metrics::{OutboundMetrics, Outcome};
pub use policy::{OutboundAccess, OutboundPolicy};
pub use service::{ServiceHandle, ServicePre};
pub use settings::{OutboundLimits, OutboundSettings};
pub use state::{CallScope, OutboundState, OutboundView, Reached, add_p3_to_linker, add_to_linker};
