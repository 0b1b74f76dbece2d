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
//!   exports `wasi:http/incoming-handler` (an HTTP handler served as an operation).
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
mod settings;
mod state;

pub use destination::{Destination, DestinationPattern, Host, PatternError, Scheme};
pub use grant::{NotGranted, OutboundGrant};
pub use incoming::{
    Answer, AnswerError, Exchange, HandlerBody, HandlerResponse, IncomingHandlerPre, StreamError,
    Unanswered, exchange,
};
pub use metrics::{OutboundMetrics, Outcome};
pub use policy::{OutboundAccess, OutboundPolicy};
pub use settings::{OutboundLimits, OutboundSettings};
pub use state::{CallScope, OutboundState, OutboundView, Reached, add_to_linker};
