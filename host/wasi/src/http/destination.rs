//! Where a request goes, in the engine's terms: the destinations and patterns are
//! `arsenal_engine::spec`'s, shared with the operation config that requests them.

pub use arsenal_engine::spec::{Destination, DestinationPattern, Host, PatternError, Scheme};

/// Where a request with `uri` goes; `None` when its scheme or host is not one requests
/// may use.
pub(crate) fn of_uri(uri: &http::Uri) -> Option<Destination> {
    let scheme = Scheme::parse(uri.scheme_str()?)?;
    let host = Host::of_request(uri.host()?)?;
    Some(Destination {
        scheme,
        host,
        port: uri.port_u16().unwrap_or(scheme.default_port()),
    })
}
