//! Destinations of outbound HTTP and the patterns that grant them.
//!
//! A pattern, `scheme://host:port`, is how a component requests destinations in its
//! config and how an operator grants them: the scheme `http`, `https` or `*`; the host a
//! name, an IP address (IPv6 in brackets), `*.` and a name for its subdomains, or `*`; the
//! port a number or `*`. Parsed once, at load; it displays with its scheme and host in
//! lowercase. A [`Destination`] is where one request goes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A parsed `scheme://host:port` pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DestinationPattern {
    scheme: SchemePattern,
    host: HostPattern,
    port: PortPattern,
}

/// The scheme part of a [`DestinationPattern`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemePattern {
    /// `*`: either scheme.
    Any,
    Http,
    Https,
}

/// The host part of a [`DestinationPattern`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// `*`: any host.
    Any,
    /// `*.example.com`: any name below `example.com` (not `example.com` itself); holds
    /// the name without `*.`.
    Subdomains(String),
    /// A name, in lowercase.
    Name(String),
    /// An IP address.
    Ip(IpAddr),
}

/// The port part of a [`DestinationPattern`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortPattern {
    /// `*`: any port.
    Any,
    Port(u16),
}

/// Why a text is not a destination pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("it is not `scheme://host:port`")]
    Shape,
    #[error("the scheme `{0}` is not `http`, `https` or `*`")]
    Scheme(String),
    #[error("it holds a path, query, fragment or user: only `scheme://host:port` is allowed")]
    BeyondAuthority,
    #[error("it names no port: add one (`:443`) or `:*` for any")]
    NoPort,
    #[error("the port `{0}` is not a number from 1 to 65535 nor `*`")]
    Port(String),
    #[error(
        "the host `{0}` is not a name, an IP address (IPv6 in brackets), `*.` and a name, nor `*`"
    )]
    Host(String),
}

impl DestinationPattern {
    pub fn scheme(&self) -> SchemePattern {
        self.scheme
    }

    pub fn host(&self) -> &HostPattern {
        &self.host
    }

    pub fn port(&self) -> PortPattern {
        self.port
    }
}

impl FromStr for DestinationPattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<DestinationPattern, PatternError> {
        let (scheme, authority) = text.split_once("://").ok_or(PatternError::Shape)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "*" => SchemePattern::Any,
            "http" => SchemePattern::Http,
            "https" => SchemePattern::Https,
            _ => return Err(PatternError::Scheme(scheme.to_owned())),
        };
        if authority.contains(['/', '?', '#', '@']) {
            return Err(PatternError::BeyondAuthority);
        }
        let (host, port) = split_port(authority)?;
        let port = match port {
            "*" => PortPattern::Any,
            digits => match digits.parse::<u16>() {
                Ok(port) if port > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                    PortPattern::Port(port)
                }
                _ => return Err(PatternError::Port(digits.to_owned())),
            },
        };
        Ok(DestinationPattern {
            scheme,
            host: parse_host(host)?,
            port,
        })
    }
}

/// `host` and `port` of `authority`, an IPv6 host in brackets.
fn split_port(authority: &str) -> Result<(&str, &str), PatternError> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (address, after) = rest
            .split_once(']')
            .ok_or_else(|| PatternError::Host(authority.to_owned()))?;
        let port = after.strip_prefix(':').ok_or(PatternError::NoPort)?;
        return Ok((&authority[..address.len() + 2], port));
    }
    authority.rsplit_once(':').ok_or(PatternError::NoPort)
}

fn parse_host(host: &str) -> Result<HostPattern, PatternError> {
    let invalid = || PatternError::Host(host.to_owned());
    if host == "*" {
        return Ok(HostPattern::Any);
    }
    if let Some(address) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return address
            .parse::<Ipv6Addr>()
            .map(|address| HostPattern::Ip(canonical(IpAddr::V6(address))))
            .map_err(|_| invalid());
    }
    if let Ok(address) = host.parse::<Ipv4Addr>() {
        return Ok(HostPattern::Ip(IpAddr::V4(address)));
    }
    let (subdomains, name) = match host.strip_prefix("*.") {
        Some(name) => (true, name),
        None => (false, host),
    };
    let name = name.to_ascii_lowercase();
    if !is_dns_name(&name) {
        return Err(invalid());
    }
    Ok(if subdomains {
        HostPattern::Subdomains(name)
    } else {
        HostPattern::Name(name)
    })
}

/// A DNS name: dot-separated labels of letters, digits and `-` (not at either end of a
/// label), each at most 63 bytes, the whole at most 253.
fn is_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

impl fmt::Display for DestinationPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            SchemePattern::Any => "*",
            SchemePattern::Http => "http",
            SchemePattern::Https => "https",
        };
        write!(f, "{scheme}://")?;
        match &self.host {
            HostPattern::Any => f.write_str("*")?,
            HostPattern::Subdomains(name) => write!(f, "*.{name}")?,
            HostPattern::Name(name) => f.write_str(name)?,
            HostPattern::Ip(IpAddr::V4(address)) => write!(f, "{address}")?,
            HostPattern::Ip(IpAddr::V6(address)) => write!(f, "[{address}]")?,
        }
        match self.port {
            PortPattern::Any => f.write_str(":*"),
            PortPattern::Port(port) => write!(f, ":{port}"),
        }
    }
}

impl Serialize for DestinationPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DestinationPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|error| serde::de::Error::custom(format!("`{text}`: {error}")))
    }
}

impl DestinationPattern {
    /// Whether `destination` is one of this pattern's.
    pub fn matches(&self, destination: &Destination) -> bool {
        let scheme = match self.scheme {
            SchemePattern::Any => true,
            SchemePattern::Http => destination.scheme == Scheme::Http,
            SchemePattern::Https => destination.scheme == Scheme::Https,
        };
        let port = match self.port {
            PortPattern::Any => true,
            PortPattern::Port(port) => port == destination.port,
        };
        let host = match (&self.host, &destination.host) {
            (HostPattern::Any, _) => true,
            (HostPattern::Subdomains(parent), Host::Name(name)) => is_below(name, parent),
            (HostPattern::Name(named), Host::Name(name)) => named == name,
            (HostPattern::Ip(named), Host::Ip(ip)) => *named == canonical(*ip),
            _ => false,
        };
        scheme && port && host
    }

    /// Whether every destination of `other` is one of this pattern's.
    pub fn covers(&self, other: &DestinationPattern) -> bool {
        let scheme = match (self.scheme, other.scheme) {
            (SchemePattern::Any, _) => true,
            (mine, theirs) => mine == theirs,
        };
        let port = match (self.port, other.port) {
            (PortPattern::Any, _) => true,
            (mine, theirs) => mine == theirs,
        };
        let host = match (&self.host, &other.host) {
            (HostPattern::Any, _) => true,
            (HostPattern::Subdomains(mine), HostPattern::Subdomains(theirs)) => {
                mine == theirs || is_below(theirs, mine)
            }
            (HostPattern::Subdomains(mine), HostPattern::Name(name)) => is_below(name, mine),
            (HostPattern::Name(mine), HostPattern::Name(theirs)) => mine == theirs,
            (HostPattern::Ip(mine), HostPattern::Ip(theirs)) => mine == theirs,
            _ => false,
        };
        scheme && port && host
    }

    /// Whether the pattern names `host` itself, not through a wildcard: only such a
    /// pattern reaches a loopback, private or link-local address.
    pub fn names_host(&self, host: &Host) -> bool {
        match (&self.host, host) {
            (HostPattern::Name(named), Host::Name(name)) => named == name,
            (HostPattern::Ip(named), Host::Ip(ip)) => *named == canonical(*ip),
            _ => false,
        }
    }

    /// Whether the pattern names the IP address `ip` literally: only such a pattern
    /// reaches a cloud metadata address.
    pub fn names_ip(&self, ip: IpAddr) -> bool {
        matches!(&self.host, HostPattern::Ip(named) if *named == canonical(ip))
    }
}

/// Whether `name` is a subdomain of `parent`.
fn is_below(name: &str, parent: &str) -> bool {
    name.strip_suffix(parent)
        .is_some_and(|head| head.ends_with('.'))
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// A scheme outbound requests may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    /// The scheme named `text` (in lowercase), if requests may use it.
    pub fn parse(text: &str) -> Option<Scheme> {
        match text {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A host as a request names it: a (lowercase) name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    Name(String),
    Ip(IpAddr),
}

impl Host {
    /// The host of a request's URI: an IP address (IPv6 in brackets), else a DNS name
    /// (lowercased, without a trailing dot); `None` when it is neither.
    pub fn of_request(text: &str) -> Option<Host> {
        if let Some(inner) = text.strip_prefix('[') {
            return match inner.strip_suffix(']')?.parse::<IpAddr>() {
                Ok(ip @ IpAddr::V6(_)) => Some(Host::Ip(ip)),
                _ => None,
            };
        }
        if let Ok(ip) = text.parse::<Ipv4Addr>() {
            return Some(Host::Ip(IpAddr::V4(ip)));
        }
        let name = text.trim_end_matches('.').to_ascii_lowercase();
        // Underscores appear in real service names, so a request may use them.
        let valid = is_dns_name(&name.replace('_', "-"));
        valid.then_some(Host::Name(name))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

/// Where one outbound request goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Destination {
    pub scheme: Scheme,
    pub host: Host,
    pub port: u16,
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme.name(), self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DestinationPattern, PatternError> {
        text.parse()
    }

    #[test]
    fn patterns_parse_into_their_parts_and_print_in_lowercase() {
        let api = parse("HTTPS://API.Example.com:443").unwrap();
        assert_eq!(api.scheme(), SchemePattern::Https);
        assert_eq!(api.host(), &HostPattern::Name("api.example.com".into()));
        assert_eq!(api.port(), PortPattern::Port(443));
        assert_eq!(api.to_string(), "https://api.example.com:443");

        let wild = parse("https://*.example.com:443").unwrap();
        assert_eq!(wild.host(), &HostPattern::Subdomains("example.com".into()));
        let local = parse("http://127.0.0.1:*").unwrap();
        assert_eq!(local.host(), &HostPattern::Ip(Ipv4Addr::LOCALHOST.into()));
        assert_eq!(local.port(), PortPattern::Any);
        let any = parse("*://*:*").unwrap();
        assert_eq!(
            (any.scheme(), any.host(), any.port()),
            (SchemePattern::Any, &HostPattern::Any, PortPattern::Any)
        );
        let v6 = parse("http://[::1]:8080").unwrap();
        assert_eq!(v6.host(), &HostPattern::Ip(Ipv6Addr::LOCALHOST.into()));
        assert_eq!(v6.to_string(), "http://[::1]:8080");
    }

    #[test]
    fn malformed_patterns_say_what_is_wrong() {
        let cases = [
            ("example.com:443", PatternError::Shape),
            ("ftp://example.com:21", PatternError::Scheme("ftp".into())),
            (
                "https://example.com:443/path",
                PatternError::BeyondAuthority,
            ),
            (
                "https://user@example.com:443",
                PatternError::BeyondAuthority,
            ),
            ("https://example.com", PatternError::NoPort),
            ("http://[::1]", PatternError::NoPort),
            ("https://example.com:0", PatternError::Port("0".into())),
            (
                "https://example.com:65536",
                PatternError::Port("65536".into()),
            ),
            ("https://example.com:+1", PatternError::Port("+1".into())),
            (
                "https://ex*ample.com:443",
                PatternError::Host("ex*ample.com".into()),
            ),
            ("https://a.*.com:443", PatternError::Host("a.*.com".into())),
            ("https://-a.com:443", PatternError::Host("-a.com".into())),
            ("https://a..com:443", PatternError::Host("a..com".into())),
            ("https://:443", PatternError::Host(String::new())),
            ("http://[nope]:80", PatternError::Host("[nope]".into())),
        ];
        for (text, error) in cases {
            assert_eq!(parse(text), Err(error), "{text}");
        }
    }

    fn destination(scheme: Scheme, host: &str, port: u16) -> Destination {
        Destination {
            scheme,
            host: Host::of_request(host).unwrap(),
            port,
        }
    }

    #[test]
    fn patterns_match_scheme_host_and_port() {
        let api = parse("https://api.example.com:443").unwrap();
        assert!(api.matches(&destination(Scheme::Https, "API.example.com.", 443)));
        assert!(!api.matches(&destination(Scheme::Http, "api.example.com", 443)));
        assert!(!api.matches(&destination(Scheme::Https, "api.example.com", 8443)));
        let below = parse("*://*.example.com:*").unwrap();
        assert!(below.matches(&destination(Scheme::Http, "a.b.example.com", 80)));
        assert!(!below.matches(&destination(Scheme::Http, "example.com", 80)));
        assert!(!below.matches(&destination(Scheme::Http, "badexample.com", 80)));
        let mapped = parse("http://127.0.0.1:80").unwrap();
        assert!(mapped.matches(&destination(Scheme::Http, "[::ffff:127.0.0.1]", 80)));
        assert!(mapped.names_ip("::ffff:127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn a_pattern_covers_the_narrower_ones() {
        let wide = parse("https://*.example.com:*").unwrap();
        for narrower in [
            "https://api.example.com:443",
            "https://*.api.example.com:8443",
            "https://*.example.com:*",
        ] {
            assert!(wide.covers(&parse(narrower).unwrap()), "{narrower}");
        }
        for wider in [
            "*://api.example.com:443",
            "https://example.com:443",
            "https://*.example.org:443",
            "https://*:443",
        ] {
            assert!(!wide.covers(&parse(wider).unwrap()), "{wider}");
        }
    }
}
