//! Which addresses a request may reach without a grant naming them: the public ones. A
//! guest that may call `https://*` must not reach the host's loopback, the operator's
//! private network, a link-local neighbour or the cloud's metadata service — by an IP
//! literal or by a name that resolves to one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arsenal_engine::spec::canonical;

/// What kind of address an outbound connection would reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AddressClass {
    /// Reachable under any matching pattern.
    Public,
    /// Loopback, private, shared (CGNAT), link-local, unspecified, multicast, broadcast
    /// or reserved: reachable only through a pattern naming the host exactly.
    Restricted,
    /// A cloud metadata service: reachable only through a pattern naming the IP literally.
    Metadata,
}

impl AddressClass {
    pub(super) fn of(ip: IpAddr) -> AddressClass {
        match canonical(ip) {
            IpAddr::V4(v4) => v4_class(v4),
            IpAddr::V6(v6) => v6_class(v6),
        }
    }
}

/// The metadata services of the clouds: AWS, GCP and Azure (169.254.169.254, also
/// link-local), AWS ECS task metadata, Alibaba, Azure's wire server.
const METADATA_V4: [Ipv4Addr; 4] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
];

/// AWS's metadata service over IPv6.
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

fn v4_class(ip: Ipv4Addr) -> AddressClass {
    if METADATA_V4.contains(&ip) {
        return AddressClass::Metadata;
    }
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    let reserved = a == 0 || a >= 240 || (a == 192 && b == 0) || (a == 198 && (b & 0xfe) == 18);
    if ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || shared
        || reserved
    {
        AddressClass::Restricted
    } else {
        AddressClass::Public
    }
}

fn v6_class(ip: Ipv6Addr) -> AddressClass {
    if ip == METADATA_V6 {
        return AddressClass::Metadata;
    }
    let first = ip.segments()[0];
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = ip.octets();
        return v4_class(Ipv4Addr::new(a, b, c, d));
    }
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
    if ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || documentation
        || ip.to_ipv4().is_some()
    {
        AddressClass::Restricted
    } else {
        AddressClass::Public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> AddressClass {
        AddressClass::of(text.parse().unwrap())
    }

    #[test]
    fn loopback_private_and_link_local_are_restricted() {
        for address in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ] {
            assert_eq!(class(address), AddressClass::Restricted, "{address}");
        }
    }

    #[test]
    fn metadata_services_are_their_own_class() {
        for address in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200",
        ] {
            assert_eq!(class(address), AddressClass::Metadata, "{address}");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for address in [
            "93.184.215.14",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert_eq!(class(address), AddressClass::Public, "{address}");
        }
    }
}
