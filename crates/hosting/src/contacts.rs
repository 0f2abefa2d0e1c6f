//! Whom to tell: the abuse contact of where content is hosted, and the partner hotline of a
//! country.
//!
//! Both directories are CSV files the hotline keeps (and imports again when they change):
//!
//! ```text
//! scope,value,email,webhook,language
//! domain,example-host.net,abuse@example-host.net,,en
//! network,203.0.113.0/24,noc@example.org,,fr
//! asn,16276,abuse@ovh.net,https://abuse.example/api/notices,fr
//! ```
//!
//! A contact is looked up from the most specific to the least: the host name and each of its
//! parent domains (`cdn.files.example.net`, then `files.example.net`, then `example.net`),
//! then the smallest network block holding the address, then the autonomous system: the
//! fallback per network when nobody more specific is known.
//!
//! ```text
//! country,hotline,email,webhook
//! NL,Offlimits,reports@offlimits.example,
//! ```

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

use crate::{Country, HostingError, Problem};

/// Where notices for some hosting go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbuseContact {
    pub email: Option<String>,
    /// An HTTPS endpoint that takes signed notices instead of (or besides) e-mail.
    pub webhook: Option<String>,
    /// The language notices are written in (`fr`, `en`); English when not given.
    pub language: String,
    /// What matched, for the record: `domain example.net`, `network 203.0.113.0/24`, `asn 16276`.
    pub matched: String,
}

#[derive(Debug, Deserialize)]
struct ContactRow {
    scope: String,
    value: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    webhook: String,
    #[serde(default)]
    language: String,
}

/// The abuse contacts of domains, network blocks and autonomous systems.
#[derive(Debug, Clone, Default)]
pub struct AbuseDirectory {
    domains: HashMap<String, AbuseContact>,
    /// Blocks, most specific (longest prefix) first.
    networks: Vec<(IpNet, AbuseContact)>,
    systems: HashMap<u32, AbuseContact>,
}

impl AbuseDirectory {
    /// Reads the directory's CSV (columns `scope,value,email,webhook,language`; `email` or
    /// `webhook` must be given). Bad lines are reported and left out.
    pub fn read_csv(reader: impl Read) -> Result<(AbuseDirectory, Vec<Problem>), HostingError> {
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(reader);
        require_columns(&mut csv, &["scope", "value"])?;
        let mut directory = AbuseDirectory::default();
        let mut problems = Vec::new();
        for (index, row) in csv.deserialize::<ContactRow>().enumerate() {
            // Line 1 is the header.
            let line = index as u64 + 2;
            let row = match row {
                Ok(row) => row,
                Err(error) => {
                    problems.push(Problem {
                        line,
                        reason: error.to_string(),
                    });
                    continue;
                }
            };
            if let Err(reason) = directory.add(row) {
                problems.push(Problem { line, reason });
            }
        }
        directory
            .networks
            .sort_by_key(|(network, _)| std::cmp::Reverse(network.prefix_len()));
        Ok((directory, problems))
    }

    fn add(&mut self, row: ContactRow) -> Result<(), String> {
        let email = Some(row.email).filter(|email| !email.is_empty());
        let webhook = Some(row.webhook).filter(|webhook| !webhook.is_empty());
        if email.as_deref().is_some_and(|email| !email.contains('@')) {
            return Err(format!(
                "'{}' is not an e-mail address",
                email.unwrap_or_default()
            ));
        }
        if let Some(url) = &webhook {
            check_webhook(url)?;
        }
        if email.is_none() && webhook.is_none() {
            return Err("neither an e-mail address nor a webhook".into());
        }
        let language = if row.language.is_empty() {
            "en".to_string()
        } else {
            row.language.to_ascii_lowercase()
        };
        let contact = |matched: String| AbuseContact {
            email: email.clone(),
            webhook: webhook.clone(),
            language: language.clone(),
            matched,
        };
        match row.scope.to_ascii_lowercase().as_str() {
            "domain" => {
                let domain = normalise_domain(&row.value);
                if domain.is_empty() {
                    return Err("an empty domain".into());
                }
                let entry = contact(format!("domain {domain}"));
                self.domains.insert(domain, entry);
            }
            "network" => {
                let network: IpNet = row
                    .value
                    .parse()
                    .map_err(|_| format!("'{}' is not a network block (CIDR)", row.value))?;
                let network = network.trunc();
                self.networks
                    .push((network, contact(format!("network {network}"))));
            }
            "asn" => {
                let digits = row.value.trim_start_matches(['A', 'S', 'a', 's']);
                let asn: u32 = digits
                    .parse()
                    .map_err(|_| format!("'{}' is not an AS number", row.value))?;
                self.systems.insert(asn, contact(format!("asn {asn}")));
            }
            other => return Err(format!("unknown scope '{other}' (domain, network or asn)")),
        }
        Ok(())
    }

    /// The most specific contact for content at `host`, served from `address` on the
    /// autonomous system `asn`.
    pub fn contact_for(
        &self,
        host: &str,
        address: Option<IpAddr>,
        asn: Option<u32>,
    ) -> Option<&AbuseContact> {
        let host = normalise_domain(host);
        let mut suffix = host.as_str();
        loop {
            if let Some(contact) = self.domains.get(suffix) {
                return Some(contact);
            }
            match suffix.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => suffix = parent,
                _ => break,
            }
        }
        if let Some(address) = address {
            if let Some((_, contact)) = self
                .networks
                .iter()
                .find(|(network, _)| network.contains(&address))
            {
                return Some(contact);
            }
        }
        asn.and_then(|asn| self.systems.get(&asn))
    }
}

/// Host names compare in lower case, without the trailing dot of a fully qualified name.
/// A notice's body names reported URLs, so a webhook must be HTTPS; plain HTTP is allowed to
/// loopback only (a receiver on the same machine), which the fetcher refuses anyway unless
/// a test lets it.
fn check_webhook(url: &str) -> Result<(), String> {
    let loopback = [
        "http://127.0.0.1:",
        "http://127.0.0.1/",
        "http://localhost:",
        "http://localhost/",
        "http://[::1]:",
        "http://[::1]/",
    ];
    if url.starts_with("https://") || loopback.iter().any(|prefix| url.starts_with(prefix)) {
        Ok(())
    } else {
        Err(format!("'{url}': a webhook must be an https:// URL"))
    }
}

fn normalise_domain(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// A partner hotline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub country: Country,
    pub hotline: String,
    pub email: Option<String>,
    pub webhook: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PartnerRow {
    country: String,
    hotline: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    webhook: String,
}

/// The partner hotline of each country (one per country: the one this hotline works with).
#[derive(Debug, Clone, Default)]
pub struct PartnerDirectory {
    partners: HashMap<Country, Partner>,
}

impl PartnerDirectory {
    /// Reads the directory's CSV (columns `country,hotline,email,webhook`).
    pub fn read_csv(reader: impl Read) -> Result<(PartnerDirectory, Vec<Problem>), HostingError> {
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(reader);
        require_columns(&mut csv, &["country", "hotline"])?;
        let mut directory = PartnerDirectory::default();
        let mut problems = Vec::new();
        for (index, row) in csv.deserialize::<PartnerRow>().enumerate() {
            let line = index as u64 + 2;
            let parsed = row.map_err(|error| error.to_string()).and_then(|row| {
                let country = Country::parse(&row.country)
                    .ok_or_else(|| format!("'{}' is not a country code", row.country))?;
                if row.hotline.is_empty() {
                    return Err("the hotline has no name".to_string());
                }
                if row.email.is_empty() && row.webhook.is_empty() {
                    return Err("neither an e-mail address nor a webhook".to_string());
                }
                if !row.webhook.is_empty() {
                    check_webhook(&row.webhook)?;
                }
                Ok(Partner {
                    country,
                    hotline: row.hotline,
                    email: Some(row.email).filter(|e| !e.is_empty()),
                    webhook: Some(row.webhook).filter(|w| !w.is_empty()),
                })
            });
            match parsed {
                Ok(partner) => match directory.partners.entry(partner.country) {
                    std::collections::hash_map::Entry::Occupied(_) => problems.push(Problem {
                        line,
                        reason: format!(
                            "a second hotline for {}; the first is kept",
                            partner.country
                        ),
                    }),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(partner);
                    }
                },
                Err(reason) => problems.push(Problem { line, reason }),
            }
        }
        Ok((directory, problems))
    }

    pub fn partner_in(&self, country: Country) -> Option<&Partner> {
        self.partners.get(&country)
    }
}

fn require_columns<R: Read>(
    csv: &mut csv::Reader<R>,
    columns: &[&'static str],
) -> Result<(), HostingError> {
    let headers = csv.headers()?.clone();
    for &column in columns {
        if !headers.iter().any(|header| header == column) {
            return Err(HostingError::MissingColumn(column));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTACTS: &str = "scope,value,email,webhook,language\n\
        domain,example-host.net,abuse@example-host.net,,en\n\
        domain,files.example-host.net,files-abuse@example-host.net,,\n\
        network,203.0.113.0/24,noc@example.org,,fr\n\
        network,203.0.113.128/25,small@example.org,,\n\
        asn,AS16276,,https://abuse.example/api/notices,FR\n\
        asn,notanumber,x@y.z,,\n\
        domain,nobody.example,,,\n\
        planet,mars,x@y.z,,\n\
        asn,64500,x@y.z,http://plain.example/,\n\
        asn,64501,,http://127.0.0.1:8025/notices,\n";

    #[test]
    fn the_most_specific_contact_wins() {
        let (directory, problems) = AbuseDirectory::read_csv(CONTACTS.as_bytes()).unwrap();
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [7, 8, 9, 10], "{problems:?}");
        // Plain HTTP only to a receiver on this machine.
        assert!(problems[3].reason.contains("https://"), "{problems:?}");
        assert_eq!(
            directory
                .contact_for("x.example", None, Some(64501))
                .and_then(|c| c.webhook.as_deref()),
            Some("http://127.0.0.1:8025/notices")
        );
        let address: IpAddr = "203.0.113.200".parse().unwrap();
        let find = |host, address, asn| {
            directory
                .contact_for(host, address, asn)
                .map(|c| c.matched.clone())
        };
        assert_eq!(
            find("CDN.Files.Example-Host.net.", Some(address), Some(16276)).as_deref(),
            Some("domain files.example-host.net")
        );
        assert_eq!(
            find("www.example-host.net", None, None).as_deref(),
            Some("domain example-host.net")
        );
        assert_eq!(
            find("elsewhere.example", Some(address), Some(16276)).as_deref(),
            Some("network 203.0.113.128/25")
        );
        let lower: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(
            find("elsewhere.example", Some(lower), None).as_deref(),
            Some("network 203.0.113.0/24")
        );
        let by_asn = directory
            .contact_for("elsewhere.example", None, Some(16276))
            .unwrap();
        assert_eq!(by_asn.language, "fr");
        assert_eq!(
            by_asn.webhook.as_deref(),
            Some("https://abuse.example/api/notices")
        );
        assert_eq!(find("elsewhere.example", None, Some(1)), None);
    }

    #[test]
    fn partners_are_one_per_country() {
        let csv = "country,hotline,email,webhook\nnl,Offlimits,reports@offlimits.example,\n\
                   NL,Another,x@y.z,\nXX1,Bad,x@y.z,\nDE,Nobody,,\n";
        let (directory, problems) = PartnerDirectory::read_csv(csv.as_bytes()).unwrap();
        assert_eq!(problems.len(), 3, "{problems:?}");
        let nl = directory.partner_in(Country::parse("NL").unwrap()).unwrap();
        assert_eq!(nl.hotline, "Offlimits");
        assert!(directory
            .partner_in(Country::parse("DE").unwrap())
            .is_none());
    }

    #[test]
    fn a_table_without_its_columns_is_refused() {
        let error = PartnerDirectory::read_csv("land,name\nNL,x\n".as_bytes()).unwrap_err();
        assert!(matches!(error, HostingError::MissingColumn("country")));
    }
}
