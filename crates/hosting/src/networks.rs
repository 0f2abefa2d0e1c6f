//! Address ranges to the network and country that hold them.
//!
//! Every address is kept as a `u128` (IPv4 as its IPv4-mapped IPv6 form), so one sorted table
//! of disjoint ranges answers both families by binary search: hundreds of thousands of ranges,
//! a lookup in about twenty comparisons.

use std::io::Read;
use std::net::{IpAddr, Ipv6Addr};

use crate::{Country, HostingError, Problem};

/// The network an address belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// The autonomous system number; 0 when the table gives only a country.
    pub asn: u32,
    /// The organisation's name as the table gives it (`CLOUDFLARENET`).
    pub organisation: String,
    pub country: Option<Country>,
}

/// One range, its bounds inclusive.
#[derive(Debug, Clone)]
struct Range {
    first: u128,
    last: u128,
    network: usize,
}

/// Disjoint address ranges, sorted, each naming a network.
#[derive(Debug, Clone, Default)]
pub struct NetworkTable {
    ranges: Vec<Range>,
    /// The distinct networks the ranges name (a network holds many ranges).
    networks: Vec<Network>,
}

impl NetworkTable {
    /// Reads the iptoasn.com table (`ip2asn-combined.tsv`, `ip2asn-v4.tsv`, `ip2asn-v6.tsv`):
    /// tab-separated `range_start range_end AS_number country_code AS_description`, no header.
    /// Ranges that are not routed (AS 0) are left out: an address in them is on no network.
    pub fn read_iptoasn(reader: impl Read) -> Result<(NetworkTable, Vec<Problem>), HostingError> {
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(b'\t')
            .has_headers(false)
            .flexible(true)
            .quoting(false)
            .from_reader(reader);
        let mut builder = Builder::default();
        for (index, record) in csv.records().enumerate() {
            let line = index as u64 + 1;
            let record = record?;
            let field = |i: usize| record.get(i).unwrap_or("").trim();
            let parsed = parse_range(field(0), field(1)).and_then(|(first, last)| {
                let asn: u32 = field(2)
                    .parse()
                    .map_err(|_| format!("'{}' is not an AS number", field(2)))?;
                Ok((first, last, asn))
            });
            match parsed {
                Ok((_, _, 0)) => {}
                Ok((first, last, asn)) => builder.push(
                    first,
                    last,
                    Network {
                        asn,
                        organisation: field(4).to_string(),
                        country: Country::parse(field(3)),
                    },
                ),
                Err(reason) => builder.problems.push(Problem { line, reason }),
            }
        }
        Ok(builder.finish())
    }

    /// Reads a country table of `start,end,country` lines (DB-IP's free "IP to Country Lite"
    /// CSV, and the like), with or without a header line.
    pub fn read_country_csv(
        reader: impl Read,
    ) -> Result<(NetworkTable, Vec<Problem>), HostingError> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let mut builder = Builder::default();
        for (index, record) in csv.records().enumerate() {
            let line = index as u64 + 1;
            let record = record?;
            let field = |i: usize| record.get(i).unwrap_or("").trim();
            if line == 1 && field(0).parse::<IpAddr>().is_err() {
                continue; // a header
            }
            let parsed = parse_range(field(0), field(1)).and_then(|range| {
                let country = Country::parse(field(2))
                    .ok_or_else(|| format!("'{}' is not a country code", field(2)))?;
                Ok((range, country))
            });
            match parsed {
                Ok(((first, last), country)) => builder.push(
                    first,
                    last,
                    Network {
                        asn: 0,
                        organisation: String::new(),
                        country: Some(country),
                    },
                ),
                Err(reason) => builder.problems.push(Problem { line, reason }),
            }
        }
        Ok(builder.finish())
    }

    /// The network holding `address`, if a range covers it.
    pub fn lookup(&self, address: IpAddr) -> Option<&Network> {
        let key = to_u128(address);
        let after = self.ranges.partition_point(|range| range.first <= key);
        let range = self.ranges.get(after.checked_sub(1)?)?;
        (key <= range.last).then(|| &self.networks[range.network])
    }

    /// How many ranges the table holds.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// Gathers ranges while reading, then sorts them and drops overlaps.
#[derive(Default)]
struct Builder {
    ranges: Vec<Range>,
    networks: Vec<Network>,
    problems: Vec<Problem>,
}

impl Builder {
    fn push(&mut self, first: u128, last: u128, network: Network) {
        // Tables list a network's ranges together: reuse the last entry when it is the same.
        if self.networks.last() != Some(&network) {
            self.networks.push(network);
        }
        let network = self.networks.len() - 1;
        self.ranges.push(Range {
            first,
            last,
            network,
        });
    }

    /// Sorts the ranges. A range overlapping the one before it is dropped and reported: the
    /// public tables have none, and a lookup must have one answer, not whichever came first.
    fn finish(mut self) -> (NetworkTable, Vec<Problem>) {
        self.ranges.sort_by_key(|range| (range.first, range.last));
        let mut kept: Vec<Range> = Vec::with_capacity(self.ranges.len());
        for range in self.ranges {
            match kept.last() {
                Some(previous) if range.first <= previous.last => self.problems.push(Problem {
                    line: 0,
                    reason: format!(
                        "the range starting at {} overlaps the one before it; left out",
                        from_u128(range.first)
                    ),
                }),
                _ => kept.push(range),
            }
        }
        let table = NetworkTable {
            ranges: kept,
            networks: self.networks,
        };
        (table, self.problems)
    }
}

/// Two addresses of one family, the first not after the last.
fn parse_range(first: &str, last: &str) -> Result<(u128, u128), String> {
    let parse = |text: &str| {
        text.parse::<IpAddr>()
            .map_err(|_| format!("'{text}' is not an IP address"))
    };
    let (first, last) = (parse(first)?, parse(last)?);
    if first.is_ipv4() != last.is_ipv4() {
        return Err(format!("{first} and {last} are not of one address family"));
    }
    let (first, last) = (to_u128(first), to_u128(last));
    if first > last {
        return Err("the range ends before it starts".into());
    }
    Ok((first, last))
}

fn to_u128(address: IpAddr) -> u128 {
    match address {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(value: u128) -> IpAddr {
    let v6 = Ipv6Addr::from(value);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ipv4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    const IPTOASN: &str = "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n\
        1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n\
        5.39.0.0\t5.39.127.255\t16276\tFR\tOVH\n\
        5.39.128.0\t5.39.255.255\t16276\tFR\tOVH\n\
        2001:41d0::\t2001:41d0:ffff:ffff:ffff:ffff:ffff:ffff\t16276\tFR\tOVH\n\
        not-an-ip\t1.2.3.4\t1\tUS\tBAD\n\
        9.9.9.9\t9.9.9.1\t1\tUS\tBACKWARDS\n";

    #[test]
    fn iptoasn_ranges_answer_both_families_and_skip_unrouted_space() {
        let (table, problems) = NetworkTable::read_iptoasn(IPTOASN.as_bytes()).unwrap();
        assert_eq!(table.len(), 4);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].line, 6);
        assert!(problems[0].reason.contains("not-an-ip"));
        let cloudflare = table.lookup(ipv4(1, 0, 0, 1)).unwrap();
        assert_eq!(
            (cloudflare.asn, cloudflare.organisation.as_str()),
            (13335, "CLOUDFLARENET")
        );
        assert_eq!(cloudflare.country, Country::parse("US"));
        assert_eq!(table.lookup(ipv4(1, 0, 2, 1)), None, "not routed");
        assert_eq!(table.lookup(ipv4(5, 39, 200, 7)).unwrap().asn, 16276);
        let v6 = table.lookup("2001:41d0:8:1::1".parse().unwrap()).unwrap();
        assert_eq!(v6.country, Country::parse("FR"));
        assert_eq!(table.lookup("2001:41d1::1".parse().unwrap()), None);
        // The bounds are inclusive, and nothing outside them matches.
        assert!(table.lookup(ipv4(1, 0, 0, 255)).is_some());
        assert!(table.lookup(ipv4(0, 255, 255, 255)).is_none());
        assert!(table.lookup(ipv4(255, 255, 255, 255)).is_none());
    }

    #[test]
    fn country_tables_read_with_or_without_a_header() {
        let csv = "ip_start,ip_end,country\n1.0.0.0,1.0.0.255,AU\n\
                   2a00::,2a00:ffff:ffff:ffff:ffff:ffff:ffff:ffff,NL\n1.0.4.0,1.0.7.255,ZZ\n";
        let (table, problems) = NetworkTable::read_country_csv(csv.as_bytes()).unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            table.lookup(ipv4(1, 0, 0, 9)).unwrap().country,
            Country::parse("AU")
        );
        assert_eq!(
            table
                .lookup("2a00:1450::1".parse().unwrap())
                .unwrap()
                .country,
            Country::parse("NL")
        );
    }

    #[test]
    fn overlapping_ranges_are_reported_not_guessed_between() {
        let tsv = "10.0.0.0\t10.0.0.255\t1\tFR\tA\n10.0.0.128\t10.0.1.0\t2\tDE\tB\n";
        let (table, problems) = NetworkTable::read_iptoasn(tsv.as_bytes()).unwrap();
        assert_eq!(table.len(), 1);
        assert!(problems[0].reason.contains("overlaps"));
        assert_eq!(table.lookup(ipv4(10, 0, 0, 200)).unwrap().asn, 1);
    }
}
