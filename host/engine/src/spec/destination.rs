//! A destination pattern, `scheme://host:port`, as a component requests outbound HTTP
//! destinations in its config and an operator grants them: the scheme `http`, `https` or
//! `*`; the host a name, an IP address (IPv6 in brackets), `*.` and a name for its
//! subdomains, or `*`; the port a number or `*`. Parsed once, at load; the text it
//! displays is the pattern with its scheme and host in lowercase.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A parsed `scheme://host:port` pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    scheme: SchemePattern,
    host: HostPattern,
    port: PortPattern,
}

/// The scheme part of a [`Destination`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemePattern {
    /// `*`: either scheme.
    Any,
    Http,
    Https,
}

/// The host part of a [`Destination`].
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

/// The port part of a [`Destination`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortPattern {
    /// `*`: any port.
    Any,
    Port(u16),
}

/// Why a text is not a destination pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
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

impl Destination {
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

impl FromStr for Destination {
    type Err = DestinationError;

    fn from_str(text: &str) -> Result<Destination, DestinationError> {
        let (scheme, authority) = text.split_once("://").ok_or(DestinationError::Shape)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "*" => SchemePattern::Any,
            "http" => SchemePattern::Http,
            "https" => SchemePattern::Https,
            _ => return Err(DestinationError::Scheme(scheme.to_owned())),
        };
        if authority.contains(['/', '?', '#', '@']) {
            return Err(DestinationError::BeyondAuthority);
        }
        let (host, port) = split_port(authority)?;
        let port = match port {
            "*" => PortPattern::Any,
            digits => match digits.parse::<u16>() {
                Ok(port) if port > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                    PortPattern::Port(port)
                }
                _ => return Err(DestinationError::Port(digits.to_owned())),
            },
        };
        Ok(Destination {
            scheme,
            host: parse_host(host)?,
            port,
        })
    }
}

/// `host` and `port` of `authority`, an IPv6 host in brackets.
fn split_port(authority: &str) -> Result<(&str, &str), DestinationError> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (address, after) = rest
            .split_once(']')
            .ok_or_else(|| DestinationError::Host(authority.to_owned()))?;
        let port = after.strip_prefix(':').ok_or(DestinationError::NoPort)?;
        return Ok((&authority[..address.len() + 2], port));
    }
    authority.rsplit_once(':').ok_or(DestinationError::NoPort)
}

fn parse_host(host: &str) -> Result<HostPattern, DestinationError> {
    let invalid = || DestinationError::Host(host.to_owned());
    if host == "*" {
        return Ok(HostPattern::Any);
    }
    if let Some(address) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return address
            .parse::<Ipv6Addr>()
            .map(|address| HostPattern::Ip(IpAddr::V6(address)))
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

impl fmt::Display for Destination {
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

impl Serialize for Destination {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Destination, DestinationError> {
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
            ("example.com:443", DestinationError::Shape),
            (
                "ftp://example.com:21",
                DestinationError::Scheme("ftp".into()),
            ),
            (
                "https://example.com:443/path",
                DestinationError::BeyondAuthority,
            ),
            (
                "https://user@example.com:443",
                DestinationError::BeyondAuthority,
            ),
            ("https://example.com", DestinationError::NoPort),
            ("http://[::1]", DestinationError::NoPort),
            ("https://example.com:0", DestinationError::Port("0".into())),
            (
                "https://example.com:65536",
                DestinationError::Port("65536".into()),
            ),
            (
                "https://example.com:+1",
                DestinationError::Port("+1".into()),
            ),
            (
                "https://ex*ample.com:443",
                DestinationError::Host("ex*ample.com".into()),
            ),
            (
                "https://a.*.com:443",
                DestinationError::Host("a.*.com".into()),
            ),
            (
                "https://-a.com:443",
                DestinationError::Host("-a.com".into()),
            ),
            (
                "https://a..com:443",
                DestinationError::Host("a..com".into()),
            ),
            ("https://:443", DestinationError::Host(String::new())),
            ("http://[nope]:80", DestinationError::Host("[nope]".into())),
        ];
        for (text, error) in cases {
            assert_eq!(parse(text), Err(error), "{text}");
        }
    }
}
