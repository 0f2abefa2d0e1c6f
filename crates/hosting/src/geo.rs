//! MaxMind's GeoLite2 (and GeoIP2) databases, and the [`Locator`] that asks every imported
//! source in turn.
//!
//! An administrator downloads `GeoLite2-ASN.mmdb` and `GeoLite2-Country.mmdb` under MaxMind's
//! licence and imports them; the caller reads the file and hands the bytes to
//! [`GeoDatabase::from_bytes`], which reads them with the `maxminddb` crate (its
//! `Reader::from_source` over the caller's buffer: no file is opened here). Which of the two a
//! database is comes from its metadata's `database_type`, not from the file's name.

use std::net::IpAddr;

use serde::Deserialize;

use crate::networks::{Network, NetworkTable};
use crate::{Country, HostingError};

/// What a MaxMind database answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoKind {
    /// The autonomous system (`GeoLite2-ASN`, `GeoIP2-ISP`).
    Asn,
    /// The country (`GeoLite2-Country`, `GeoIP2-Country`, and the City databases, which hold
    /// the country too).
    Country,
}

/// A MaxMind DB file in memory.
pub struct GeoDatabase {
    reader: maxminddb::Reader<Vec<u8>>,
    kind: GeoKind,
}

impl std::fmt::Debug for GeoDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDatabase")
            .field("database_type", &self.database_type())
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The fields of an ASN record this crate uses.
#[derive(Deserialize)]
struct AsnRecord {
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<String>,
}

/// The fields of a country record this crate uses.
#[derive(Deserialize)]
struct CountryRecord {
    country: Option<CountryField>,
    registered_country: Option<CountryField>,
}

#[derive(Deserialize)]
struct CountryField {
    iso_code: Option<String>,
}

impl GeoDatabase {
    /// Reads a MaxMind DB from its bytes. A file that is not one, or one of a kind that
    /// answers neither networks nor countries (an anonymous-IP or a domain database, say), is
    /// [`HostingError::Unreadable`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GeoDatabase, HostingError> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|error| {
            HostingError::Unreadable(format!("not a MaxMind database: {error}"))
        })?;
        let database_type = reader.metadata().database_type.as_str();
        let kind = if database_type.contains("ASN") || database_type.contains("ISP") {
            GeoKind::Asn
        } else if database_type.contains("Country") || database_type.contains("City") {
            GeoKind::Country
        } else {
            return Err(HostingError::Unreadable(format!(
                "the MaxMind database '{database_type}' gives neither networks nor countries"
            )));
        };
        Ok(GeoDatabase { reader, kind })
    }

    pub fn kind(&self) -> GeoKind {
        self.kind
    }

    /// The metadata's `database_type` (`GeoLite2-ASN`).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// What the database says of `address`: from an ASN database the number and organisation
    /// (no country), from a country one the country (AS number 0, no organisation). `None`
    /// when the database has no record for it, or the record has none of those fields, or the
    /// record cannot be decoded (a damaged file answers nothing rather than something wrong).
    pub fn lookup(&self, address: IpAddr) -> Option<Network> {
        let address = address.to_canonical();
        let result = self.reader.lookup(address).ok()?;
        match self.kind {
            GeoKind::Asn => {
                let record: AsnRecord = result.decode().ok()??;
                let asn = record.autonomous_system_number?;
                Some(Network {
                    asn,
                    organisation: record.autonomous_system_organization.unwrap_or_default(),
                    country: None,
                })
            }
            GeoKind::Country => {
                let record: CountryRecord = result.decode().ok()??;
                let code = |field: Option<CountryField>| {
                    field
                        .and_then(|field| field.iso_code)
                        .and_then(|code| Country::parse(&code))
                };
                // Where the address is used first; where its network is registered else.
                let country = code(record.country).or_else(|| code(record.registered_country))?;
                Some(Network {
                    asn: 0,
                    organisation: String::new(),
                    country: Some(country),
                })
            }
        }
    }
}

/// Where an address is: what the imported sources know of it, each field possibly unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub asn: Option<u32>,
    pub organisation: Option<String>,
    pub country: Option<Country>,
}

/// Every source of hosting data the administrator imported, asked in turn.
///
/// The network (AS number and organisation) comes from the ASN database, else the iptoasn
/// table. The country comes from a country source first (the country database, else the
/// country table), and only then from the iptoasn table, whose country is where the network
/// is registered rather than where the address is used.
#[derive(Debug, Default)]
pub struct Locator {
    asn_table: Option<NetworkTable>,
    country_table: Option<NetworkTable>,
    asn_database: Option<GeoDatabase>,
    country_database: Option<GeoDatabase>,
}

impl Locator {
    /// A locator knowing nothing: every address is of unknown network and country.
    pub fn new() -> Locator {
        Locator::default()
    }

    /// Uses an iptoasn table ([`NetworkTable::read_iptoasn`]), replacing any before it.
    pub fn with_asn_table(mut self, table: NetworkTable) -> Locator {
        self.asn_table = Some(table);
        self
    }

    /// Uses a country table ([`NetworkTable::read_country_csv`]), replacing any before it.
    pub fn with_country_table(mut self, table: NetworkTable) -> Locator {
        self.country_table = Some(table);
        self
    }

    /// Uses a MaxMind database as the ASN or the country database, as its kind says,
    /// replacing any before it of that kind.
    pub fn with_database(mut self, database: GeoDatabase) -> Locator {
        match database.kind() {
            GeoKind::Asn => self.asn_database = Some(database),
            GeoKind::Country => self.country_database = Some(database),
        }
        self
    }

    /// Whether any source was imported.
    pub fn is_empty(&self) -> bool {
        self.asn_table.is_none()
            && self.country_table.is_none()
            && self.asn_database.is_none()
            && self.country_database.is_none()
    }

    /// What the sources say of `address`.
    pub fn locate(&self, address: IpAddr) -> Location {
        let from_table = self
            .asn_table
            .as_ref()
            .and_then(|table| table.lookup(address));
        let network = self
            .asn_database
            .as_ref()
            .and_then(|database| database.lookup(address))
            .or_else(|| from_table.cloned());
        let country = self
            .country_database
            .as_ref()
            .and_then(|database| database.lookup(address))
            .and_then(|network| network.country)
            .or_else(|| {
                self.country_table
                    .as_ref()
                    .and_then(|table| table.lookup(address))
                    .and_then(|network| network.country)
            })
            .or_else(|| from_table.and_then(|network| network.country));
        let (asn, organisation) = match network {
            Some(network) => (
                Some(network.asn),
                Some(network.organisation).filter(|name| !name.is_empty()),
            ),
            None => (None, None),
        };
        Location {
            asn,
            organisation,
            country,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_mmdb::{build, Value};

    fn asn(number: u32, organisation: &'static str) -> Value {
        Value::Map(vec![
            ("autonomous_system_number", Value::U32(number)),
            ("autonomous_system_organization", Value::Str(organisation)),
        ])
    }

    fn country(code: &'static str, name: &'static str) -> Value {
        Value::Map(vec![(
            "country",
            Value::Map(vec![
                ("geoname_id", Value::U32(3017382)),
                ("iso_code", Value::Str(code)),
                ("names", Value::Map(vec![("en", Value::Str(name))])),
            ]),
        )])
    }

    fn asn_database() -> Vec<u8> {
        build(
            "GeoLite2-ASN",
            &[
                ("5.39.0.0/16", asn(16276, "OVH SAS")),
                ("1.1.0.0/16", asn(13335, "CLOUDFLARENET")),
                ("2001:41d0::/32", asn(16276, "OVH SAS")),
                // A record without the number: no network, rather than AS 0.
                (
                    "9.9.0.0/16",
                    Value::Map(vec![("autonomous_system_organization", Value::Str("?"))]),
                ),
            ],
        )
    }

    fn country_database() -> Vec<u8> {
        build(
            "GeoLite2-Country",
            &[
                ("5.39.0.0/16", country("FR", "France")),
                ("2a00:1450::/32", country("IE", "Ireland")),
                (
                    "1.1.0.0/16",
                    Value::Map(vec![(
                        "registered_country",
                        Value::Map(vec![("iso_code", Value::Str("AU"))]),
                    )]),
                ),
            ],
        )
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_asn_database_gives_number_and_organisation() {
        let database = GeoDatabase::from_bytes(asn_database()).unwrap();
        assert_eq!(database.kind(), GeoKind::Asn);
        assert_eq!(database.database_type(), "GeoLite2-ASN");
        let ovh = database.lookup(ip("5.39.12.34")).unwrap();
        assert_eq!((ovh.asn, ovh.organisation.as_str()), (16276, "OVH SAS"));
        assert_eq!(ovh.country, None);
        assert_eq!(database.lookup(ip("1.1.255.255")).unwrap().asn, 13335);
        assert_eq!(database.lookup(ip("2001:41d0:8::1")).unwrap().asn, 16276);
        // IPv4 written as an IPv4-mapped IPv6 address is the same address.
        assert_eq!(database.lookup(ip("::ffff:5.39.0.1")).unwrap().asn, 16276);
        for outside in ["5.40.0.1", "1.0.255.255", "8.8.8.8", "2001:41d1::1", "::1"] {
            assert_eq!(database.lookup(ip(outside)), None, "{outside}");
        }
        assert_eq!(database.lookup(ip("9.9.1.1")), None, "no AS number");
    }

    #[test]
    fn a_country_database_gives_the_country_or_else_the_registered_one() {
        let database = GeoDatabase::from_bytes(country_database()).unwrap();
        assert_eq!(database.kind(), GeoKind::Country);
        let france = database.lookup(ip("5.39.200.1")).unwrap();
        assert_eq!(france.country, Country::parse("FR"));
        assert_eq!((france.asn, france.organisation.as_str()), (0, ""));
        assert_eq!(
            database.lookup(ip("2a00:1450:4007::1")).unwrap().country,
            Country::parse("IE")
        );
        assert_eq!(
            database.lookup(ip("1.1.1.1")).unwrap().country,
            Country::parse("AU")
        );
        assert_eq!(database.lookup(ip("192.0.2.1")), None);
    }

    #[test]
    fn what_is_not_a_usable_database_is_refused() {
        let refused = |bytes: Vec<u8>| match GeoDatabase::from_bytes(bytes) {
            Err(HostingError::Unreadable(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(refused(Vec::new()).contains("not a MaxMind database"));
        assert!(
            refused(b"1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n".to_vec())
                .contains("not a MaxMind database")
        );
        let mut truncated = asn_database();
        truncated.truncate(truncated.len() - 20);
        refused(truncated);
        let anonymous = build(
            "GeoIP2-Anonymous-IP",
            &[(
                "5.39.0.0/16",
                Value::Map(vec![("is_anonymous", Value::U32(1))]),
            )],
        );
        assert!(refused(anonymous).contains("neither networks nor countries"));
    }

    #[test]
    fn a_damaged_file_is_refused_or_answers_without_panicking() {
        let good = asn_database();
        // Flip every byte in turn: each database either is refused or answers without panic.
        for position in 0..good.len() {
            let mut damaged = good.clone();
            damaged[position] ^= 0xA5;
            if let Ok(database) = GeoDatabase::from_bytes(damaged) {
                for address in ["5.39.1.1", "1.1.1.1", "2001:41d0::1", "8.8.8.8"] {
                    let _ = database.lookup(ip(address));
                }
            }
        }
    }

    const IPTOASN: &str = "5.39.0.0\t5.39.255.255\t16276\tFR\tOVH\n\
        8.8.8.0\t8.8.8.255\t15169\tUS\tGOOGLE\n\
        1.1.0.0\t1.1.255.255\t13335\tUS\tCLOUDFLARENET\n";

    #[test]
    fn the_locator_asks_each_source_in_turn() {
        let (asn_table, _) = NetworkTable::read_iptoasn(IPTOASN.as_bytes()).unwrap();
        let (country_table, _) =
            NetworkTable::read_country_csv("8.8.8.0,8.8.8.255,DE\n".as_bytes()).unwrap();

        let nothing = Locator::new();
        assert!(nothing.is_empty());
        assert_eq!(nothing.locate(ip("5.39.1.1")), Location::default());

        // The iptoasn table alone gives the network and its registered country.
        let table_only = Locator::new().with_asn_table(asn_table.clone());
        assert_eq!(
            table_only.locate(ip("8.8.8.8")),
            Location {
                asn: Some(15169),
                organisation: Some("GOOGLE".into()),
                country: Country::parse("US"),
            }
        );

        let everything = Locator::new()
            .with_asn_table(asn_table)
            .with_country_table(country_table)
            .with_database(GeoDatabase::from_bytes(asn_database()).unwrap())
            .with_database(GeoDatabase::from_bytes(country_database()).unwrap());
        // The ASN database before the table, the country database before both.
        assert_eq!(
            everything.locate(ip("5.39.1.1")),
            Location {
                asn: Some(16276),
                organisation: Some("OVH SAS".into()),
                country: Country::parse("FR"),
            }
        );
        assert_eq!(
            everything.locate(ip("1.1.1.1")),
            Location {
                asn: Some(13335),
                organisation: Some("CLOUDFLARENET".into()),
                country: Country::parse("AU"),
            },
            "the country database's registered country before the table's"
        );
        // Not in the databases: the table's network, the country table's country.
        assert_eq!(
            everything.locate(ip("8.8.8.8")),
            Location {
                asn: Some(15169),
                organisation: Some("GOOGLE".into()),
                country: Country::parse("DE"),
            }
        );
        // Only the country database knows this one.
        assert_eq!(
            everything.locate(ip("2a00:1450::1")),
            Location {
                asn: None,
                organisation: None,
                country: Country::parse("IE"),
            }
        );
        assert_eq!(everything.locate(ip("192.0.2.1")), Location::default());
    }
}
