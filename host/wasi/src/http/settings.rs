//! The `[outbound]` settings: destinations granted per source of components, and the
//! bounds on every outbound request.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::destination::DestinationPattern;

/// Outbound HTTP: what each source of components may reach, and how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundSettings {
    /// Destinations (`scheme://host:port` patterns) granted to every component loaded
    /// from `operations.dirs`, `workers.dirs` and files. Default none.
    pub directory: Vec<DestinationPattern>,
    /// Destinations granted to every uploaded component. Default none.
    pub upload: Vec<DestinationPattern>,
    /// Outbound requests one call (or one message of a worker) may make; further ones
    /// fail in the guest with `connection-limit-reached`. Default 16.
    pub max_requests_per_call: u32,
    /// Largest response body a guest may read, in bytes; reading past it fails with
    /// `http-response-body-size`. Default 8 MiB.
    pub max_response_bytes: u64,
    /// Time to resolve and connect (and the TLS handshake), at most what is left of
    /// the call. Default 5000 ms.
    pub connect_timeout_ms: u64,
    /// Time from sending to the response's head, at most what is left of the call.
    /// Default 10000 ms.
    pub first_byte_timeout_ms: u64,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        OutboundSettings {
            directory: Vec::new(),
            upload: Vec::new(),
            max_requests_per_call: 16,
            max_response_bytes: 8 * 1024 * 1024,
            connect_timeout_ms: 5_000,
            first_byte_timeout_ms: 10_000,
        }
    }
}

/// The bounds every outbound request of a component is under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundLimits {
    pub max_requests_per_call: u32,
    pub max_response_bytes: u64,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
}

impl OutboundSettings {
    pub fn limits(&self) -> OutboundLimits {
        OutboundLimits {
            max_requests_per_call: self.max_requests_per_call,
            max_response_bytes: self.max_response_bytes,
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            first_byte_timeout: Duration::from_millis(self.first_byte_timeout_ms),
        }
    }
}
