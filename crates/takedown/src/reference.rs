//! The hosting reference data: what an administrator imports (`vigie hosting import`) and
//! every worker reads from the store, so that workers on several machines locate hosts and
//! address notices alike.

use vigie_hosting::{
    AbuseDirectory, GeoDatabase, GeoKind, Locator, NetworkTable, PartnerDirectory, Problem,
};
use vigie_store::ReferenceData;

use crate::TakedownError;

/// The kinds of reference data, each stored under its own name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    /// The iptoasn.com table (`ip2asn-v4.tsv`, `ip2asn-v6.tsv`, combined): address ranges,
    /// AS number, country of registration, organisation.
    IpAsn,
    /// An address-range-to-country CSV (`first,last,country`, as the public tables give it).
    IpCountry,
    /// A MaxMind database (GeoLite2 ASN, Country or City `.mmdb`), stored by what it answers.
    GeoIp,
    /// The abuse contacts of domains, networks and autonomous systems (CSV).
    AbuseContacts,
    /// The partner hotline of each country (CSV).
    PartnerHotlines,
}

impl ReferenceKind {
    pub const ALL: [ReferenceKind; 5] = [
        ReferenceKind::IpAsn,
        ReferenceKind::IpCountry,
        ReferenceKind::GeoIp,
        ReferenceKind::AbuseContacts,
        ReferenceKind::PartnerHotlines,
    ];

    /// The name the command line gives it.
    pub fn code(self) -> &'static str {
        match self {
            ReferenceKind::IpAsn => "ip-asn",
            ReferenceKind::IpCountry => "ip-country",
            ReferenceKind::GeoIp => "geoip",
            ReferenceKind::AbuseContacts => "abuse-contacts",
            ReferenceKind::PartnerHotlines => "partner-hotlines",
        }
    }

    pub fn from_code(code: &str) -> Option<ReferenceKind> {
        ReferenceKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
    }
}

/// Reference data read and found usable, ready to be stored.
#[derive(Debug)]
pub struct CheckedReference {
    /// The name it is stored under (`geoip-asn` and `geoip-country` for the two kinds of
    /// MaxMind database, which are kept side by side).
    pub name: String,
    /// What was read, in words (`412,003 ranges`).
    pub summary: String,
    /// The lines left out, each with its reason.
    pub problems: Vec<Problem>,
}

/// Reads `bytes` as reference data of `kind`, so that an import stores only what workers can
/// read. Lines that cannot be used are reported and left out by the readers; a file that
/// cannot be read at all is refused.
pub fn check_reference(
    kind: ReferenceKind,
    bytes: &[u8],
) -> Result<CheckedReference, TakedownError> {
    let refused = |error: vigie_hosting::HostingError| TakedownError::InvalidReference {
        kind: kind.code(),
        reason: error.to_string(),
    };
    let (name, summary, problems) = match kind {
        ReferenceKind::IpAsn => {
            let (table, problems) = NetworkTable::read_iptoasn(bytes).map_err(refused)?;
            (
                kind.code().to_owned(),
                format!("{} ranges", table.len()),
                problems,
            )
        }
        ReferenceKind::IpCountry => {
            let (table, problems) = NetworkTable::read_country_csv(bytes).map_err(refused)?;
            (
                kind.code().to_owned(),
                format!("{} ranges", table.len()),
                problems,
            )
        }
        ReferenceKind::GeoIp => {
            let database = GeoDatabase::from_bytes(bytes.to_vec()).map_err(refused)?;
            let name = match database.kind() {
                GeoKind::Asn => "geoip-asn",
                GeoKind::Country => "geoip-country",
            };
            (
                name.to_owned(),
                database.database_type().to_owned(),
                Vec::new(),
            )
        }
        ReferenceKind::AbuseContacts => {
            let (_, problems) = AbuseDirectory::read_csv(bytes).map_err(refused)?;
            (
                kind.code().to_owned(),
                "abuse contacts".to_owned(),
                problems,
            )
        }
        ReferenceKind::PartnerHotlines => {
            let (_, problems) = PartnerDirectory::read_csv(bytes).map_err(refused)?;
            (
                kind.code().to_owned(),
                "partner hotlines".to_owned(),
                problems,
            )
        }
    };
    Ok(CheckedReference {
        name,
        summary,
        problems,
    })
}

/// What the worker knows of hosting: where addresses are, whom to tell.
#[derive(Debug, Default)]
pub struct HostingData {
    pub locator: Locator,
    pub abuse: AbuseDirectory,
    pub partners: PartnerDirectory,
}

impl HostingData {
    /// Reads the stored reference data. Unknown names are skipped (a newer version's data);
    /// the lines the readers leave out were reported at import.
    pub fn from_reference(data: &[ReferenceData]) -> Result<HostingData, TakedownError> {
        let mut hosting = HostingData::default();
        for reference in data {
            let refused = |error: vigie_hosting::HostingError| TakedownError::InvalidReference {
                kind: "stored",
                reason: format!("{}: {error}", reference.name),
            };
            let bytes = reference.content.as_slice();
            hosting = match reference.name.as_str() {
                "ip-asn" => {
                    let (table, _) = NetworkTable::read_iptoasn(bytes).map_err(refused)?;
                    HostingData {
                        locator: hosting.locator.with_asn_table(table),
                        ..hosting
                    }
                }
                "ip-country" => {
                    let (table, _) = NetworkTable::read_country_csv(bytes).map_err(refused)?;
                    HostingData {
                        locator: hosting.locator.with_country_table(table),
                        ..hosting
                    }
                }
                "geoip-asn" | "geoip-country" => {
                    let database =
                        GeoDatabase::from_bytes(reference.content.clone()).map_err(refused)?;
                    HostingData {
                        locator: hosting.locator.with_database(database),
                        ..hosting
                    }
                }
                "abuse-contacts" => HostingData {
                    abuse: AbuseDirectory::read_csv(bytes).map_err(refused)?.0,
                    ..hosting
                },
                "partner-hotlines" => HostingData {
                    partners: PartnerDirectory::read_csv(bytes).map_err(refused)?.0,
                    ..hosting
                },
                _ => hosting,
            };
        }
        Ok(hosting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_code() {
        for kind in ReferenceKind::ALL {
            assert_eq!(ReferenceKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ReferenceKind::from_code("ip2asn"), None);
    }

    #[test]
    fn an_unreadable_table_is_refused_and_bad_lines_are_reported() {
        let error = check_reference(ReferenceKind::AbuseContacts, b"nothing,useful\n1,2\n")
            .expect_err("no scope column");
        assert!(error.to_string().contains("abuse-contacts"), "{error}");
        let checked = check_reference(
            ReferenceKind::AbuseContacts,
            b"scope,value,email,webhook,language\ndomain,example.net,abuse@example.net,,en\nplanet,mars,,,\n",
        )
        .expect("readable");
        assert_eq!(checked.name, "abuse-contacts");
        assert_eq!(checked.problems.len(), 1, "{:?}", checked.problems);
    }

    #[test]
    fn stored_data_makes_the_directories() {
        let data = vec![
            ReferenceData {
                name: "abuse-contacts".into(),
                content: b"scope,value,email,webhook,language\ndomain,example.net,abuse@example.net,,fr\n".to_vec(),
                imported_at: 1,
            },
            ReferenceData {
                name: "partner-hotlines".into(),
                content: b"country,hotline,email,webhook\nNL,Offlimits,reports@offlimits.example,\n"
                    .to_vec(),
                imported_at: 1,
            },
        ];
        let hosting = HostingData::from_reference(&data).expect("readable");
        let contact = hosting
            .abuse
            .contact_for("cdn.example.net", None, None)
            .expect("by parent domain");
        assert_eq!(contact.language, "fr");
        let netherlands = vigie_hosting::Country::parse("NL").unwrap();
        assert!(hosting.partners.partner_in(netherlands).is_some());
    }
}
