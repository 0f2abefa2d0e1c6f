//! The address rule: which IP addresses a fetch may connect to.
//!
//! A URL from a report may name any address, so the rule is written the safe way round for IPv6:
//! only global unicast (`2000::/3`) is allowed, with the special ranges inside it refused, and
//! everything outside it is refused as reserved unless a more precise reason applies. For IPv4 the
//! special-purpose ranges of the IANA registry (RFC 6890 and its updates) are refused one by one.
//!
//! IPv6 forms that carry an IPv4 address are where SSRF guards usually leak, because some stacks
//! and tunnels end up talking to the embedded IPv4 address: IPv4-mapped (`::ffff:a.b.c.d`),
//! IPv4-compatible (`::a.b.c.d`) and IPv4-translated (`::ffff:0:a.b.c.d`) addresses are refused
//! whatever they embed (no public host publishes them), and NAT64 (`64:ff9b::/96`), 6to4
//! (`2002::/16`), Teredo (`2001::/32`) and ISATAP addresses are refused when the IPv4 address
//! they embed is itself refused.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address may not be fetched from. Its `Display` names the range, so a refusal can be
/// shown as it is to whoever submitted the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Forbidden {
    /// `127.0.0.0/8` or `::1`: this machine.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// `169.254.0.0/16` or `fe80::/10`.
    LinkLocal,
    /// `224.0.0.0/4` or `ff00::/8`.
    Multicast,
    /// `0.0.0.0` or `::`, which many stacks treat as this machine.
    Unspecified,
    /// `255.255.255.255`.
    Broadcast,
    /// `100.64.0.0/10` (RFC 6598), the inside of a provider's NAT.
    CarrierGradeNat,
    /// `0.0.0.0/8` but `0.0.0.0` itself.
    ThisNetwork,
    /// `192.0.0.0/24`, IETF protocol assignments (RFC 6890).
    ProtocolAssignments,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15` or `2001:2::/48`.
    Benchmarking,
    /// `240.0.0.0/4` but the broadcast address.
    Reserved,
    /// `192.88.99.0/24`, the deprecated 6to4 relay anycast (RFC 7526).
    SixToFourRelay,
    /// A cloud provider's metadata service, which hands out credentials to whoever asks from
    /// inside: `169.254.169.254`, `fd00:ec2::254` (AWS), `100.100.100.200` (Alibaba),
    /// `168.63.129.16` (Azure), `192.0.0.192` (Oracle).
    CloudMetadata,
    /// `fc00::/7` (RFC 4193).
    UniqueLocal,
    /// `fec0::/10`, deprecated but still routed inside some networks.
    SiteLocal,
    /// `100::/64`, the discard prefix (RFC 6666).
    Discard,
    /// `64:ff9b:1::/48`, NAT64 for local use (RFC 8215), whose translation is the network's own.
    LocalNat64,
    /// `2001:10::/28` and `2001:20::/28`, ORCHID identifiers, not routable.
    Orchid,
    /// IPv6 outside global unicast `2000::/3` and outside every named range: reserved by IANA.
    ReservedV6,
    /// An IPv6 address carrying an IPv4 address, refused either always (mapped, compatible,
    /// translated) or because the IPv4 address is itself refused (NAT64, 6to4, Teredo, ISATAP).
    Embedded {
        /// How the IPv4 address is carried.
        form: Embedding,
        /// The IPv4 address carried.
        v4: Ipv4Addr,
    },
}

/// The ways an IPv6 address carries an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Embedding {
    /// `::ffff:a.b.c.d`: always refused.
    Mapped,
    /// `::a.b.c.d` (deprecated): always refused.
    Compatible,
    /// `::ffff:0:a.b.c.d` (SIIT): always refused.
    Translated,
    /// `64:ff9b::a.b.c.d`: refused when `a.b.c.d` is.
    Nat64,
    /// `2002:aabb:ccdd::/48`: refused when `a.b.c.d` is.
    SixToFour,
    /// `2001:0:aabb:ccdd::/64`, the Teredo server: refused when `a.b.c.d` is.
    TeredoServer,
    /// The last 32 bits of a Teredo address, inverted: the client. Refused when it is.
    TeredoClient,
    /// An interface identifier `0:5efe:a.b.c.d` (or `200:5efe:`): refused when `a.b.c.d` is.
    Isatap,
}

impl Embedding {
    /// Whether the address is refused whatever IPv4 address it carries.
    fn always_refused(self) -> bool {
        matches!(
            self,
            Embedding::Mapped | Embedding::Compatible | Embedding::Translated
        )
    }
}

impl fmt::Display for Embedding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Embedding::Mapped => "IPv4-mapped IPv6 (::ffff:0:0/96)",
            Embedding::Compatible => "IPv4-compatible IPv6 (::/96, deprecated)",
            Embedding::Translated => "IPv4-translated IPv6 (::ffff:0:0:0/96)",
            Embedding::Nat64 => "NAT64 (64:ff9b::/96)",
            Embedding::SixToFour => "6to4 (2002::/16)",
            Embedding::TeredoServer => "Teredo (2001::/32) server",
            Embedding::TeredoClient => "Teredo (2001::/32) client",
            Embedding::Isatap => "ISATAP",
        })
    }
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Forbidden::Loopback => "loopback (127.0.0.0/8, ::1)",
            Forbidden::Private => "private (RFC 1918)",
            Forbidden::LinkLocal => "link-local (169.254.0.0/16, fe80::/10)",
            Forbidden::Multicast => "multicast (224.0.0.0/4, ff00::/8)",
            Forbidden::Unspecified => "unspecified (0.0.0.0, ::)",
            Forbidden::Broadcast => "broadcast (255.255.255.255)",
            Forbidden::CarrierGradeNat => "carrier-grade NAT 100.64/10",
            Forbidden::ThisNetwork => "this network 0/8",
            Forbidden::ProtocolAssignments => "IETF protocol assignments 192.0.0.0/24",
            Forbidden::Documentation => "documentation (TEST-NET, 2001:db8::/32, 3fff::/20)",
            Forbidden::Benchmarking => "benchmarking (198.18/15, 2001:2::/48)",
            Forbidden::Reserved => "reserved 240/4",
            Forbidden::SixToFourRelay => "6to4 relay anycast 192.88.99.0/24",
            Forbidden::CloudMetadata => "cloud metadata service",
            Forbidden::UniqueLocal => "unique local fc00::/7",
            Forbidden::SiteLocal => "site-local fec0::/10",
            Forbidden::Discard => "discard-only 100::/64",
            Forbidden::LocalNat64 => "local-use NAT64 64:ff9b:1::/48",
            Forbidden::Orchid => "ORCHID (2001:10::/28, 2001:20::/28)",
            Forbidden::ReservedV6 => "reserved IPv6 (outside global unicast 2000::/3)",
            Forbidden::Embedded { form, v4 } => {
                return match check_v4(*v4, false) {
                    Err(inner) => write!(f, "{form} embedding {v4}, which is {inner}"),
                    // Only the always-refused forms get here with a public address.
                    Ok(()) => write!(f, "{form}, refused whatever it embeds (here {v4})"),
                };
            }
        };
        f.write_str(text)
    }
}

impl std::error::Error for Forbidden {}

/// Whether `ip` may be connected to, and if not, why.
///
/// `allow_loopback` lets `127.0.0.0/8` and `::1` through and nothing else: it exists for tests,
/// which serve on loopback, and must never be set in production. An IPv4 address embedded in an
/// IPv6 one is always judged without it, so `::ffff:127.0.0.1` stays refused.
pub fn check_address(ip: IpAddr, allow_loopback: bool) -> Result<(), Forbidden> {
    match ip {
        IpAddr::V4(v4) => check_v4(v4, allow_loopback),
        IpAddr::V6(v6) => check_v6(v6, allow_loopback),
    }
}

/// The IPv4 ranges refused, most precise first: `(network, prefix length, reason)`.
const V4_RULES: &[([u8; 4], u8, Forbidden)] = &[
    ([0, 0, 0, 0], 32, Forbidden::Unspecified),
    ([0, 0, 0, 0], 8, Forbidden::ThisNetwork),
    ([10, 0, 0, 0], 8, Forbidden::Private),
    ([100, 100, 100, 200], 32, Forbidden::CloudMetadata),
    ([100, 64, 0, 0], 10, Forbidden::CarrierGradeNat),
    ([127, 0, 0, 0], 8, Forbidden::Loopback),
    ([168, 63, 129, 16], 32, Forbidden::CloudMetadata),
    ([169, 254, 169, 254], 32, Forbidden::CloudMetadata),
    ([169, 254, 0, 0], 16, Forbidden::LinkLocal),
    ([172, 16, 0, 0], 12, Forbidden::Private),
    ([192, 0, 0, 192], 32, Forbidden::CloudMetadata),
    ([192, 0, 0, 0], 24, Forbidden::ProtocolAssignments),
    ([192, 0, 2, 0], 24, Forbidden::Documentation),
    ([192, 88, 99, 0], 24, Forbidden::SixToFourRelay),
    ([192, 168, 0, 0], 16, Forbidden::Private),
    ([198, 18, 0, 0], 15, Forbidden::Benchmarking),
    ([198, 51, 100, 0], 24, Forbidden::Documentation),
    ([203, 0, 113, 0], 24, Forbidden::Documentation),
    ([224, 0, 0, 0], 4, Forbidden::Multicast),
    ([255, 255, 255, 255], 32, Forbidden::Broadcast),
    ([240, 0, 0, 0], 4, Forbidden::Reserved),
];

fn check_v4(ip: Ipv4Addr, allow_loopback: bool) -> Result<(), Forbidden> {
    let bits = u32::from(ip);
    for &(network, length, reason) in V4_RULES {
        let mask = u32::MAX.checked_shl(32 - u32::from(length)).unwrap_or(0);
        if bits & mask == u32::from_be_bytes(network) {
            if reason == Forbidden::Loopback && allow_loopback {
                return Ok(());
            }
            return Err(reason);
        }
    }
    Ok(())
}

/// Whether `bits` lies in `network/length`.
fn in_v6(bits: u128, network: Ipv6Addr, length: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - length).unwrap_or(0);
    bits & mask == u128::from(network)
}

/// The IPv6 ranges refused outright, most precise first, all inside `2000::/3` or tested before
/// the catch-all for what lies outside it.
const V6_RULES: &[(Ipv6Addr, u32, Forbidden)] = &[
    (
        Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
        128,
        Forbidden::CloudMetadata,
    ),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        Forbidden::UniqueLocal,
    ),
    (
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        10,
        Forbidden::LinkLocal,
    ),
    (
        Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0),
        10,
        Forbidden::SiteLocal,
    ),
    (
        Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
        8,
        Forbidden::Multicast,
    ),
    (
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        48,
        Forbidden::LocalNat64,
    ),
    (
        Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),
        64,
        Forbidden::Discard,
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        Forbidden::Documentation,
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        Forbidden::Documentation,
    ),
    (
        Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0),
        48,
        Forbidden::Benchmarking,
    ),
    (
        Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0),
        28,
        Forbidden::Orchid,
    ),
    (
        Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0),
        28,
        Forbidden::Orchid,
    ),
];

fn check_v6(ip: Ipv6Addr, allow_loopback: bool) -> Result<(), Forbidden> {
    let bits = u128::from(ip);
    let low_v4 = Ipv4Addr::from(bits as u32);
    let embedded = |form: Embedding, v4: Ipv4Addr| {
        if form.always_refused() || check_v4(v4, false).is_err() {
            Err(Forbidden::Embedded { form, v4 })
        } else {
            Ok(())
        }
    };

    if ip == Ipv6Addr::UNSPECIFIED {
        return Err(Forbidden::Unspecified);
    }
    if ip == Ipv6Addr::LOCALHOST {
        return if allow_loopback {
            Ok(())
        } else {
            Err(Forbidden::Loopback)
        };
    }
    if in_v6(bits, Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96) {
        return embedded(Embedding::Mapped, low_v4);
    }
    if in_v6(bits, Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0), 96) {
        return embedded(Embedding::Translated, low_v4);
    }
    if in_v6(bits, Ipv6Addr::UNSPECIFIED, 96) {
        return embedded(Embedding::Compatible, low_v4);
    }
    if in_v6(bits, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return embedded(Embedding::Nat64, low_v4);
    }
    for &(network, length, reason) in V6_RULES {
        if in_v6(bits, network, length) {
            return Err(reason);
        }
    }
    if !in_v6(bits, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3) {
        return Err(Forbidden::ReservedV6);
    }
    if in_v6(bits, Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        embedded(Embedding::SixToFour, Ipv4Addr::from((bits >> 80) as u32))?;
    }
    if in_v6(bits, Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32) {
        embedded(Embedding::TeredoServer, Ipv4Addr::from((bits >> 64) as u32))?;
        embedded(Embedding::TeredoClient, Ipv4Addr::from(!(bits as u32)))?;
    }
    // ISATAP: the interface identifier is `0:5efe` or `200:5efe` (the universal/local bit set)
    // followed by the IPv4 address, under any prefix.
    let segments = ip.segments();
    if segments[4] & 0xfdff == 0 && segments[5] == 0x5efe {
        embedded(Embedding::Isatap, low_v4)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(text: &str) -> IpAddr {
        IpAddr::V4(text.parse().expect("an IPv4 address"))
    }

    fn v6(text: &str) -> IpAddr {
        IpAddr::V6(text.parse().expect("an IPv6 address"))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an IP address")
    }

    #[track_caller]
    fn refused(text: &str, reason: Forbidden) {
        assert_eq!(
            check_address(ip(text), false),
            Err(reason),
            "{text} should be refused as {reason}"
        );
        // Allowing loopback must change nothing for anything that is not loopback.
        if reason != Forbidden::Loopback {
            assert_eq!(
                check_address(ip(text), true),
                Err(reason),
                "{text} with loopback allowed"
            );
        }
    }

    #[track_caller]
    fn allowed(text: &str) {
        assert_eq!(
            check_address(ip(text), false),
            Ok(()),
            "{text} should be allowed"
        );
        assert_eq!(
            check_address(ip(text), true),
            Ok(()),
            "{text} (loopback allowed)"
        );
    }

    #[track_caller]
    fn embeds(text: &str, form: Embedding, inner: &str) {
        let inner: Ipv4Addr = inner.parse().expect("an IPv4 address");
        refused(text, Forbidden::Embedded { form, v4: inner });
    }

    #[test]
    fn public_v4_is_allowed() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "1.0.0.0",
            "223.255.255.255",
        ] {
            allowed(text);
        }
    }

    #[test]
    fn this_network_and_unspecified() {
        refused("0.0.0.0", Forbidden::Unspecified);
        refused("0.0.0.1", Forbidden::ThisNetwork);
        refused("0.255.255.255", Forbidden::ThisNetwork);
        allowed("1.0.0.0");
    }

    #[test]
    fn loopback_and_the_test_switch() {
        refused("127.0.0.1", Forbidden::Loopback);
        refused("127.0.0.0", Forbidden::Loopback);
        refused("127.255.255.255", Forbidden::Loopback);
        refused("::1", Forbidden::Loopback);
        allowed("126.255.255.255");
        allowed("128.0.0.0");
        assert_eq!(check_address(v4("127.0.0.1"), true), Ok(()));
        assert_eq!(check_address(v4("127.255.255.254"), true), Ok(()));
        assert_eq!(check_address(v6("::1"), true), Ok(()));
    }

    #[test]
    fn private_ranges_both_sides() {
        allowed("9.255.255.255");
        refused("10.0.0.0", Forbidden::Private);
        refused("10.255.255.255", Forbidden::Private);
        allowed("11.0.0.0");
        allowed("172.15.255.255");
        refused("172.16.0.0", Forbidden::Private);
        refused("172.31.255.255", Forbidden::Private);
        allowed("172.32.0.0");
        allowed("192.167.255.255");
        refused("192.168.0.0", Forbidden::Private);
        refused("192.168.255.255", Forbidden::Private);
        allowed("192.169.0.0");
    }

    #[test]
    fn carrier_grade_nat() {
        allowed("100.63.255.255");
        refused("100.64.0.0", Forbidden::CarrierGradeNat);
        refused("100.127.255.255", Forbidden::CarrierGradeNat);
        allowed("100.128.0.0");
    }

    #[test]
    fn link_local_and_metadata() {
        allowed("169.253.255.255");
        refused("169.254.0.0", Forbidden::LinkLocal);
        refused("169.254.169.253", Forbidden::LinkLocal);
        refused("169.254.169.254", Forbidden::CloudMetadata);
        refused("169.254.169.255", Forbidden::LinkLocal);
        refused("169.254.170.2", Forbidden::LinkLocal);
        refused("169.254.255.255", Forbidden::LinkLocal);
        allowed("169.255.0.0");
        refused("100.100.100.200", Forbidden::CloudMetadata);
        refused("168.63.129.16", Forbidden::CloudMetadata);
        allowed("168.63.129.15");
        allowed("168.63.129.17");
        refused("192.0.0.192", Forbidden::CloudMetadata);
        refused("fd00:ec2::254", Forbidden::CloudMetadata);
        refused("fd00:ec2::253", Forbidden::UniqueLocal);
    }

    #[test]
    fn protocol_assignments_documentation_and_relay() {
        allowed("191.255.255.255");
        refused("192.0.0.0", Forbidden::ProtocolAssignments);
        refused("192.0.0.170", Forbidden::ProtocolAssignments);
        refused("192.0.0.255", Forbidden::ProtocolAssignments);
        allowed("192.0.1.0");
        allowed("192.0.1.255");
        refused("192.0.2.0", Forbidden::Documentation);
        refused("192.0.2.255", Forbidden::Documentation);
        allowed("192.0.3.0");
        allowed("198.51.99.255");
        refused("198.51.100.0", Forbidden::Documentation);
        refused("198.51.100.255", Forbidden::Documentation);
        allowed("198.51.101.0");
        allowed("203.0.112.255");
        refused("203.0.113.0", Forbidden::Documentation);
        refused("203.0.113.255", Forbidden::Documentation);
        allowed("203.0.114.0");
        allowed("192.88.98.255");
        refused("192.88.99.0", Forbidden::SixToFourRelay);
        refused("192.88.99.255", Forbidden::SixToFourRelay);
        allowed("192.88.100.0");
    }

    #[test]
    fn benchmarking() {
        allowed("198.17.255.255");
        refused("198.18.0.0", Forbidden::Benchmarking);
        refused("198.19.255.255", Forbidden::Benchmarking);
        allowed("198.20.0.0");
    }

    #[test]
    fn multicast_reserved_and_broadcast() {
        allowed("223.255.255.255");
        refused("224.0.0.0", Forbidden::Multicast);
        refused("239.255.255.255", Forbidden::Multicast);
        refused("240.0.0.0", Forbidden::Reserved);
        refused("255.255.255.254", Forbidden::Reserved);
        refused("255.255.255.255", Forbidden::Broadcast);
    }

    #[test]
    fn public_v6_is_allowed() {
        for text in [
            "2001:4860:4860::8888",
            "2606:4700:4700::1111",
            "2a00:1450:4007:80e::200e",
            "2000::",
            "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "3fff:1000::",
        ] {
            allowed(text);
        }
    }

    #[test]
    fn special_v6_ranges_both_sides() {
        refused("::", Forbidden::Unspecified);
        refused(
            "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Forbidden::ReservedV6,
        );
        refused("fc00::", Forbidden::UniqueLocal);
        refused("fd00::1", Forbidden::UniqueLocal);
        refused(
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Forbidden::UniqueLocal,
        );
        refused("fe00::", Forbidden::ReservedV6);
        refused("fe80::", Forbidden::LinkLocal);
        refused("fe80::1", Forbidden::LinkLocal);
        refused(
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Forbidden::LinkLocal,
        );
        refused("fec0::", Forbidden::SiteLocal);
        refused(
            "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Forbidden::SiteLocal,
        );
        refused("ff00::", Forbidden::Multicast);
        refused("ff02::1", Forbidden::Multicast);
        refused("100::", Forbidden::Discard);
        refused("100::ffff:ffff:ffff:ffff", Forbidden::Discard);
        refused("100:0:0:1::", Forbidden::ReservedV6);
        refused(
            "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Forbidden::ReservedV6,
        );
        refused("4000::", Forbidden::ReservedV6);
        refused(
            "::2",
            Forbidden::Embedded {
                form: Embedding::Compatible,
                v4: "0.0.0.2".parse().expect("IPv4"),
            },
        );
    }

    #[test]
    fn documentation_benchmarking_and_orchid_v6() {
        allowed("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff");
        refused("2001:db8::", Forbidden::Documentation);
        refused(
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            Forbidden::Documentation,
        );
        allowed("2001:db9::");
        refused("3fff::", Forbidden::Documentation);
        refused(
            "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
            Forbidden::Documentation,
        );
        allowed("3fff:1000::");
        refused("2001:2::", Forbidden::Benchmarking);
        refused("2001:2:0:ffff:ffff:ffff:ffff:ffff", Forbidden::Benchmarking);
        allowed("2001:2:1::");
        allowed("2001:1:ffff:ffff:ffff:ffff:ffff:ffff");
        refused("2001:10::", Forbidden::Orchid);
        refused("2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", Forbidden::Orchid);
        refused("2001:20::", Forbidden::Orchid);
        refused("2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", Forbidden::Orchid);
        allowed("2001:30::");
    }

    #[test]
    fn mapped_compatible_and_translated_are_always_refused() {
        embeds("::ffff:127.0.0.1", Embedding::Mapped, "127.0.0.1");
        embeds("::ffff:10.0.0.1", Embedding::Mapped, "10.0.0.1");
        embeds(
            "::ffff:169.254.169.254",
            Embedding::Mapped,
            "169.254.169.254",
        );
        embeds("::ffff:8.8.8.8", Embedding::Mapped, "8.8.8.8");
        embeds("::ffff:0.0.0.0", Embedding::Mapped, "0.0.0.0");
        embeds("::127.0.0.1", Embedding::Compatible, "127.0.0.1");
        embeds("::8.8.8.8", Embedding::Compatible, "8.8.8.8");
        embeds("::ffff:0:10.0.0.1", Embedding::Translated, "10.0.0.1");
        embeds("::ffff:0:8.8.8.8", Embedding::Translated, "8.8.8.8");
        // Loopback allowed for tests does not open the mapped form of loopback.
        assert!(check_address(v6("::ffff:127.0.0.1"), true).is_err());
        assert!(check_address(v6("::127.0.0.1"), true).is_err());
        // The message names the embedded address's own reason.
        let message = check_address(v6("::ffff:10.0.0.1"), false)
            .expect_err("refused")
            .to_string();
        assert!(message.contains("private (RFC 1918)"), "{message}");
        assert!(message.contains("IPv4-mapped"), "{message}");
    }

    #[test]
    fn nat64_is_judged_by_what_it_embeds() {
        allowed("64:ff9b::8.8.8.8");
        allowed("64:ff9b::1.1.1.1");
        embeds("64:ff9b::127.0.0.1", Embedding::Nat64, "127.0.0.1");
        embeds("64:ff9b::10.1.2.3", Embedding::Nat64, "10.1.2.3");
        embeds(
            "64:ff9b::169.254.169.254",
            Embedding::Nat64,
            "169.254.169.254",
        );
        embeds("64:ff9b::192.168.1.1", Embedding::Nat64, "192.168.1.1");
        assert!(check_address(v6("64:ff9b::127.0.0.1"), true).is_err());
        refused("64:ff9b:1::8.8.8.8", Forbidden::LocalNat64);
        // Just outside the /96, inside nothing allowed.
        refused("64:ff9b:0:0:0:1::", Forbidden::ReservedV6);
    }

    #[test]
    fn six_to_four_is_judged_by_what_it_embeds() {
        allowed("2002:0808:0808::1");
        embeds("2002:7f00:0001::1", Embedding::SixToFour, "127.0.0.1");
        embeds("2002:0a00:0001::", Embedding::SixToFour, "10.0.0.1");
        embeds(
            "2002:a9fe:a9fe:1234::1",
            Embedding::SixToFour,
            "169.254.169.254",
        );
        embeds("2002:c0a8:0101::1", Embedding::SixToFour, "192.168.1.1");
    }

    #[test]
    fn teredo_is_judged_by_both_addresses_it_embeds() {
        // Server 8.8.8.8, client 1.1.1.1 (stored inverted: fefe:fefe).
        allowed("2001:0:808:808::fefe:fefe");
        // Server 10.0.0.1.
        embeds(
            "2001:0:a00:1::fefe:fefe",
            Embedding::TeredoServer,
            "10.0.0.1",
        );
        // Client 127.0.0.1, inverted: 80ff:fffe.
        embeds(
            "2001:0:808:808::80ff:fffe",
            Embedding::TeredoClient,
            "127.0.0.1",
        );
        // Client 192.168.1.1, inverted: 3f57:fefe.
        embeds(
            "2001:0:808:808::3f57:fefe",
            Embedding::TeredoClient,
            "192.168.1.1",
        );
    }

    #[test]
    fn isatap_is_judged_by_what_it_embeds() {
        allowed("2001:4860::5efe:808:808");
        embeds("2001:4860::5efe:a00:1", Embedding::Isatap, "10.0.0.1");
        embeds("2001:4860::200:5efe:7f00:1", Embedding::Isatap, "127.0.0.1");
    }

    #[test]
    fn every_reason_reads_as_a_reason() {
        let message = Forbidden::Private.to_string();
        assert_eq!(message, "private (RFC 1918)");
        let message = Forbidden::Embedded {
            form: Embedding::Mapped,
            v4: Ipv4Addr::new(8, 8, 8, 8),
        }
        .to_string();
        assert!(message.contains("whatever it embeds"), "{message}");
    }
}
