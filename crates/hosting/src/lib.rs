//! Where reported content is hosted, and whom to tell.
//!
//! A hotline that finds abuse material at a URL asks three questions: which network serves it
//! (the autonomous system and the organisation behind it), in which country, and who there acts
//! on a notice. The answers come from data an administrator imports, never from a live lookup:
//! a query to an outside service would tell it which addresses the hotline investigates.
//!
//! - [`networks`]: [`NetworkTable`], address ranges to network and country, read from the
//!   public IP-to-ASN tables (the iptoasn.com TSV, and `start,end,country` CSV tables such as
//!   DB-IP's free country table).
//! - [`contacts`]: [`AbuseDirectory`], the abuse contact of a domain, a network block or an
//!   autonomous system, the most specific first; [`PartnerDirectory`], the hotline of each
//!   country (INHOPE's members, as the hotline keeps them).
//! - [`geo`]: [`GeoDatabase`], MaxMind's GeoLite2 ASN and Country databases (`.mmdb`) from
//!   their bytes, and [`Locator`], every imported source asked in turn for an address's
//!   network and country.
//! - [`route`]: the rule that turns a hosting country into who is told.
//!
//! **Architecture invariant:** pure. Readers take the caller's streams; nothing here opens a
//! file, resolves a name or touches a network.

pub mod contacts;
pub mod geo;
pub mod networks;
mod routing;
#[cfg(test)]
mod test_mmdb;

pub use contacts::{AbuseContact, AbuseDirectory, Partner, PartnerDirectory};
pub use geo::{GeoDatabase, GeoKind, Location, Locator};
pub use networks::{Network, NetworkTable};
pub use routing::{route, Route};

/// A country, as its ISO 3166-1 alpha-2 code in upper case (`FR`, `NL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// Reads a two-letter code in either case; `None` for anything else, including the
    /// placeholders tables use for "unknown" (`None`, `ZZ`, `--`).
    pub fn parse(code: &str) -> Option<Country> {
        let bytes = code.trim().as_bytes();
        match bytes {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                let country = Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()]);
                (country.code() != "ZZ").then_some(country)
            }
            _ => None,
        }
    }

    pub fn code(&self) -> &str {
        // Both bytes are ASCII letters (checked in `parse`).
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }
}

impl std::fmt::Display for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A line of an imported table that could not be used: the import goes on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line number, from 1.
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Why a table could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum HostingError {
    /// The stream failed, or is not text of the format.
    #[error("cannot read the table: {0}")]
    Unreadable(String),
    /// The header names no column the format needs.
    #[error("the table lacks the column '{0}'")]
    MissingColumn(&'static str),
}

impl From<csv::Error> for HostingError {
    fn from(error: csv::Error) -> Self {
        HostingError::Unreadable(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_are_two_letters_in_upper_case() {
        assert_eq!(Country::parse("fr").unwrap().code(), "FR");
        assert_eq!(Country::parse(" NL ").unwrap().to_string(), "NL");
        for unknown in ["None", "ZZ", "--", "", "F", "FRA", "1A"] {
            assert_eq!(Country::parse(unknown), None, "{unknown}");
        }
    }
}
