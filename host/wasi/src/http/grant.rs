//! What one component may reach over HTTP, decided when it is loaded: the destinations the
//! operator grants it (per source and per component name), narrowed to those it requests
//! in its own config when it requests any. A request outside the grant refuses the load.

use std::net::IpAddr;

use super::address::AddressClass;
use super::destination::{Destination, DestinationPattern};

/// The destinations granted to one loaded component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundGrant {
    /// The operator's patterns for this component (its source's and its own).
    granted: Vec<DestinationPattern>,
    /// The component's own request; empty takes the grant as it is.
    requested: Vec<DestinationPattern>,
}

/// One requested destination the grant does not cover.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{requested}` is not granted to this component (granted: {granted})")]
pub struct NotGranted {
    pub requested: String,
    pub granted: String,
}

/// Why a destination is refused for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No granted (and requested) pattern matches it.
    NotGranted,
    /// It resolves only to addresses no matching pattern names (loopback, private,
    /// link-local, metadata).
    RestrictedAddress,
}

impl OutboundGrant {
    /// The grant of a component whose operator patterns are `granted` and which requests
    /// `requested`: each request must lie inside one granted pattern. Problems are listed
    /// by the request's index.
    pub fn decide(
        granted: Vec<DestinationPattern>,
        requested: &[DestinationPattern],
    ) -> Result<OutboundGrant, Vec<(usize, NotGranted)>> {
        let problems: Vec<_> = requested
            .iter()
            .enumerate()
            .filter(|(_, pattern)| !granted.iter().any(|grant| grant.covers(pattern)))
            .map(|(index, pattern)| {
                let granted = if granted.is_empty() {
                    "nothing".to_owned()
                } else {
                    let texts: Vec<_> = granted.iter().map(ToString::to_string).collect();
                    texts.join(", ")
                };
                (
                    index,
                    NotGranted {
                        requested: pattern.to_string(),
                        granted,
                    },
                )
            })
            .collect();
        if problems.is_empty() {
            Ok(OutboundGrant {
                granted,
                requested: requested.to_vec(),
            })
        } else {
            Err(problems)
        }
    }

    /// The patterns the component reaches, for the catalogue: its request when it made
    /// one, else the grant.
    pub fn destinations(&self) -> Vec<String> {
        let effective = if self.requested.is_empty() {
            &self.granted
        } else {
            &self.requested
        };
        effective.iter().map(ToString::to_string).collect()
    }

    /// Whether the grant reaches anything at all.
    pub fn is_empty(&self) -> bool {
        self.granted.is_empty()
    }

    /// Whether `destination` is inside the grant, before its address is known.
    pub fn admits(&self, destination: &Destination) -> Result<(), Refusal> {
        let requested =
            self.requested.is_empty() || self.requested.iter().any(|p| p.matches(destination));
        if requested && self.granted.iter().any(|p| p.matches(destination)) {
            Ok(())
        } else {
            Err(Refusal::NotGranted)
        }
    }

    /// Whether `destination` may be reached at `ip`, one of the addresses it resolved to.
    /// A public address needs only the destination admitted; any other needs an
    /// operator's pattern naming the host exactly (a metadata address: naming the IP).
    pub fn admits_address(&self, destination: &Destination, ip: IpAddr) -> Result<(), Refusal> {
        self.admits(destination)?;
        let named = |named: &dyn Fn(&DestinationPattern) -> bool| {
            self.granted
                .iter()
                .any(|pattern| pattern.matches(destination) && named(pattern))
        };
        let allowed = match AddressClass::of(ip) {
            AddressClass::Public => true,
            AddressClass::Restricted => named(&|p| p.names_host(&destination.host)),
            AddressClass::Metadata => named(&|p| p.names_ip(ip)),
        };
        if allowed {
            Ok(())
        } else {
            Err(Refusal::RestrictedAddress)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(texts: &[&str]) -> Vec<DestinationPattern> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    fn destination(uri: &str) -> Destination {
        crate::http::destination::of_uri(&uri.parse().unwrap()).unwrap()
    }

    #[test]
    fn a_request_outside_the_grant_is_named() {
        let problems = OutboundGrant::decide(
            patterns(&["https://*.example.com:443"]),
            &patterns(&[
                "https://api.example.com:443",
                "https://evil.net:443",
                "https://*.api.example.com:*",
            ]),
        )
        .unwrap_err();
        let described: Vec<_> = problems
            .iter()
            .map(|(index, problem)| format!("{index}: {problem}"))
            .collect();
        assert_eq!(
            described,
            [
                "1: `https://evil.net:443` is not granted to this component (granted: https://*.example.com:443)",
                "2: `https://*.api.example.com:*` is not granted to this component (granted: https://*.example.com:443)",
            ]
        );
        let nothing = OutboundGrant::decide(vec![], &patterns(&["https://a.org:443"])).unwrap_err();
        assert_eq!(
            nothing[0].1.to_string(),
            "`https://a.org:443` is not granted to this component (granted: nothing)"
        );
    }

    #[test]
    fn the_request_narrows_the_grant() {
        let grant = OutboundGrant::decide(
            patterns(&["https://*.example.com:443"]),
            &patterns(&["https://api.example.com:443"]),
        )
        .unwrap();
        assert_eq!(grant.destinations(), ["https://api.example.com:443"]);
        assert_eq!(
            grant.admits(&destination("https://api.example.com/x")),
            Ok(())
        );
        assert_eq!(
            grant.admits(&destination("https://www.example.com/x")),
            Err(Refusal::NotGranted)
        );
        let whole = OutboundGrant::decide(patterns(&["https://*.example.com:443"]), &[]).unwrap();
        assert_eq!(whole.destinations(), ["https://*.example.com:443"]);
        assert_eq!(
            whole.admits(&destination("https://www.example.com/x")),
            Ok(())
        );
    }

    #[test]
    fn restricted_addresses_need_a_pattern_naming_them() {
        let wildcard = OutboundGrant::decide(patterns(&["http://*:*"]), &[]).unwrap();
        let localhost = destination("http://localhost:8080/");
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(wildcard.admits(&localhost), Ok(()));
        assert_eq!(
            wildcard.admits_address(&localhost, loopback),
            Err(Refusal::RestrictedAddress)
        );
        assert_eq!(
            wildcard.admits_address(&localhost, "93.184.215.14".parse().unwrap()),
            Ok(())
        );

        let named =
            OutboundGrant::decide(patterns(&["http://localhost:*", "http://*:*"]), &[]).unwrap();
        assert_eq!(named.admits_address(&localhost, loopback), Ok(()));

        let literal = OutboundGrant::decide(patterns(&["http://127.0.0.1:*"]), &[]).unwrap();
        let by_ip = destination("http://127.0.0.1:9/");
        assert_eq!(literal.admits_address(&by_ip, loopback), Ok(()));

        let metadata = destination("http://metadata.internal/");
        let by_name =
            OutboundGrant::decide(patterns(&["http://metadata.internal:80"]), &[]).unwrap();
        assert_eq!(
            by_name.admits_address(&metadata, "169.254.169.254".parse().unwrap()),
            Err(Refusal::RestrictedAddress)
        );
    }

    #[test]
    fn a_component_request_cannot_name_what_the_operator_did_not() {
        // The operator granted a wildcard; the component asking for loopback by IP gets
        // the destination but not the restricted address.
        let grant = OutboundGrant::decide(
            patterns(&["http://*:*"]),
            &patterns(&["http://127.0.0.1:8080"]),
        )
        .unwrap();
        let by_ip = destination("http://127.0.0.1:8080/");
        assert_eq!(
            grant.admits_address(&by_ip, "127.0.0.1".parse().unwrap()),
            Err(Refusal::RestrictedAddress)
        );
    }
}
