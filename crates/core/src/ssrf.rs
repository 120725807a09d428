//! Where outgoing webhooks may go. Internal addresses are refused unless an operator allows
//! them (`--webhook-allow-cidr`): a webhook URL is user input, and without this policy it is a
//! way to make the server call its own network (SSRF).
//!
//! IPv6 forms that embed an IPv4 address (`::ffff:a.b.c.d`, `::a.b.c.d`, NAT64 `64:ff9b::/96`,
//! 6to4 `2002::/16`) are unwrapped and judged as that IPv4 address. Hostnames are judged by
//! name here (`localhost`, `*.localhost`, `*.local`) and, once resolved, by address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IP network such as `10.0.0.0/8` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a CIDR block such as 10.0.0.0/8 or fd00::/8")]
pub struct InvalidCidr(pub String);

impl FromStr for Cidr {
    type Err = InvalidCidr;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCidr(text.to_owned());
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.trim().parse().map_err(|_| invalid())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(invalid)?,
            None => max,
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    pub const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Self {
        Self { network: IpAddr::V4(Ipv4Addr::new(a, b, c, d)), prefix }
    }

    const fn v6(segments: [u16; 8], prefix: u8) -> Self {
        let [a, b, c, d, e, f, g, h] = segments;
        Self { network: IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)), prefix }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Forbidden {
    #[error("{host} is a local name")]
    LocalName { host: String },
    #[error("{ip} is a {range} address")]
    Address { ip: IpAddr, range: &'static str },
}

/// IPv4 ranges no webhook may reach unless allowed.
const FORBIDDEN_V4: &[(Cidr, &str)] = &[
    (Cidr::v4(0, 0, 0, 0, 8), "\"this network\" (0.0.0.0/8)"),
    (Cidr::v4(10, 0, 0, 0, 8), "private (10.0.0.0/8)"),
    (Cidr::v4(100, 64, 0, 0, 10), "carrier-grade NAT (100.64.0.0/10)"),
    (Cidr::v4(127, 0, 0, 0, 8), "loopback (127.0.0.0/8)"),
    (Cidr::v4(169, 254, 0, 0, 16), "link-local (169.254.0.0/16)"),
    (Cidr::v4(172, 16, 0, 0, 12), "private (172.16.0.0/12)"),
    (Cidr::v4(192, 0, 0, 0, 24), "IETF protocol assignments (192.0.0.0/24)"),
    (Cidr::v4(192, 0, 2, 0, 24), "documentation (192.0.2.0/24)"),
    (Cidr::v4(192, 168, 0, 0, 16), "private (192.168.0.0/16)"),
    (Cidr::v4(198, 18, 0, 0, 15), "benchmarking (198.18.0.0/15)"),
    (Cidr::v4(198, 51, 100, 0, 24), "documentation (198.51.100.0/24)"),
    (Cidr::v4(203, 0, 113, 0, 24), "documentation (203.0.113.0/24)"),
    (Cidr::v4(224, 0, 0, 0, 4), "multicast (224.0.0.0/4)"),
    (Cidr::v4(240, 0, 0, 0, 4), "reserved (240.0.0.0/4, with broadcast)"),
];

/// IPv6 ranges no webhook may reach unless allowed (IPv4-embedding forms are unwrapped first).
const FORBIDDEN_V6: &[(Cidr, &str)] = &[
    (Cidr::v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "unspecified (::)"),
    (Cidr::v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback (::1)"),
    (Cidr::v6([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32), "documentation (2001:db8::/32)"),
    (Cidr::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), "unique local (fc00::/7)"),
    (Cidr::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local (fe80::/10)"),
    (Cidr::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast (ff00::/8)"),
];

/// The IPv4 address an IPv6 address stands for, if it embeds one.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // ::ffff:a.b.c.d (mapped)
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // ::a.b.c.d (compatible, deprecated); :: and ::1 are judged as IPv6
        [0, 0, 0, 0, 0, 0, _, _] if u32::from(low) > 1 => Some(low),
        // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        // 2002:AABB:CCDD::/48 (6to4)
        [0x2002, high, low16, ..] => {
            Some(Ipv4Addr::new((high >> 8) as u8, high as u8, (low16 >> 8) as u8, low16 as u8))
        }
        _ => None,
    }
}

/// The destination policy: everything public, plus what the operator allows.
#[derive(Debug, Clone, Default)]
pub struct DestinationPolicy {
    allowed: Vec<Cidr>,
}

impl DestinationPolicy {
    pub fn new(allowed: Vec<Cidr>) -> Self {
        Self { allowed }
    }

    /// Judges an address: allowed ranges win, then the forbidden tables.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Forbidden> {
        if self.allowed.iter().any(|cidr| cidr.contains(ip)) {
            return Ok(());
        }
        let judged = match ip {
            IpAddr::V6(v6) => match embedded_ipv4(v6) {
                Some(v4) => IpAddr::V4(v4),
                None => ip,
            },
            v4 => v4,
        };
        if judged != ip && self.allowed.iter().any(|cidr| cidr.contains(judged)) {
            return Ok(());
        }
        let table = if judged.is_ipv4() { FORBIDDEN_V4 } else { FORBIDDEN_V6 };
        match table.iter().find(|(cidr, _)| cidr.contains(judged)) {
            Some((_, range)) => Err(Forbidden::Address { ip, range }),
            None => Ok(()),
        }
    }

    /// Judges a hostname by name (addresses it resolves to are judged by [`Self::check_ip`]).
    pub fn check_host_name(&self, host: &str) -> Result<(), Forbidden> {
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        let local = name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local");
        if local {
            return Err(Forbidden::LocalName { host: host.to_owned() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(text: &str) -> Result<(), Forbidden> {
        DestinationPolicy::default().check_ip(text.parse().unwrap())
    }

    #[test]
    fn every_forbidden_range_is_refused() {
        let refused = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.1.2.3",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.10",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "2001:db8::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
        ];
        for ip in refused {
            assert!(judge(ip).is_err(), "{ip} was allowed");
        }
    }

    #[test]
    fn public_addresses_and_the_edges_of_ranges_are_allowed() {
        let allowed = [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450::1",
            "fec0::1",
        ];
        for ip in allowed {
            assert_eq!(judge(ip), Ok(()), "{ip} was refused");
        }
    }

    #[test]
    fn ipv6_forms_that_embed_ipv4_are_judged_as_that_ipv4() {
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "::a00:1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::1",
            "2002:c0a8:101::",
        ] {
            assert!(judge(ip).is_err(), "{ip} was allowed");
        }
        for ip in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"] {
            assert_eq!(judge(ip), Ok(()), "{ip} was refused");
        }
    }

    #[test]
    fn local_names_are_refused_by_name() {
        let policy = DestinationPolicy::default();
        for host in ["localhost", "LOCALHOST", "localhost.", "api.localhost", "printer.local", "box.LOCAL"] {
            assert!(policy.check_host_name(host).is_err(), "{host} was allowed");
        }
        for host in ["example.com", "localhost.example.com", "local", "notlocal.com", "hooks.invalid"] {
            assert_eq!(policy.check_host_name(host), Ok(()), "{host} was refused");
        }
    }

    #[test]
    fn operators_allow_internal_ranges_explicitly() {
        let policy = DestinationPolicy::new(vec!["127.0.0.1/32".parse().unwrap(), "fd00::/8".parse().unwrap()]);
        assert_eq!(policy.check_ip("127.0.0.1".parse().unwrap()), Ok(()));
        assert_eq!(policy.check_ip("::ffff:127.0.0.1".parse().unwrap()), Ok(()));
        assert_eq!(policy.check_ip("fd00::5".parse().unwrap()), Ok(()));
        assert!(policy.check_ip("127.0.0.2".parse().unwrap()).is_err());
        assert!(policy.check_ip("10.0.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn cidr_blocks_parse_with_or_without_a_prefix() {
        assert_eq!("10.0.0.0/8".parse::<Cidr>().unwrap().to_string(), "10.0.0.0/8");
        assert_eq!("::1".parse::<Cidr>().unwrap().to_string(), "::1/128");
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("fd00::/129".parse::<Cidr>().is_err());
        assert!("ten/8".parse::<Cidr>().is_err());
        let zero: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(zero.contains("8.8.8.8".parse().unwrap()));
        assert!(!zero.contains("::1".parse().unwrap()));
    }
}
