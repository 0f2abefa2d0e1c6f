//! The countries a partner hotline can be in: the ISO 3166-1 alpha-2 codes officially assigned.
//!
//! A forwarded item names the country whose hotline takes it over, and the ICCAM export tells
//! the network so; a code that names no country (`XX`, `EU`, a typo) would send it nowhere, so
//! the form takes only assigned codes. The list is the country type of NCMEC's CyberTipline
//! schema without its few codes that are not ISO 3166-1 assignments; a test holds it to that
//! schema (`shared/schemas/ncmec-cybertipline/cyber_tipline.xsd`).

/// The officially assigned ISO 3166-1 alpha-2 codes, sorted.
const ASSIGNED: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// The code of an assigned country, in upper case, from what an analyst typed (either case,
/// spaces around); `None` for anything else.
pub(crate) fn parse(typed: &str) -> Option<&'static str> {
    let code = typed.trim().to_ascii_uppercase();
    ASSIGNED
        .binary_search(&code.as_str())
        .ok()
        .map(|index| ASSIGNED[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes of the `country` type of NCMEC's schema.
    fn ncmec_countries() -> Vec<String> {
        let shared = std::env::var_os("VIGIE_SHARED")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
            });
        let xsd =
            std::fs::read_to_string(shared.join("schemas/ncmec-cybertipline/cyber_tipline.xsd"))
                .expect("the schemas beside the checkout");
        let start = xsd
            .find("<xs:simpleType name=\"country\">")
            .expect("the country type");
        let end = start + xsd[start..].find("</xs:simpleType>").unwrap();
        xsd[start..end]
            .split("<xs:enumeration value=\"")
            .skip(1)
            .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
            .filter(|code| !code.is_empty())
            .collect()
    }

    #[test]
    fn the_assigned_codes_are_ncmec_s_countries_less_what_iso_does_not_assign() {
        // NCMEC's list adds GeoIP's pseudo-countries (A1 anonymous proxy, A2 satellite, O1
        // other, AP Asia-Pacific, EU Europe), codes ISO withdrew or only reserves (AN the
        // Netherlands Antilles, FX metropolitan France) and XK, Kosovo's user-assigned code.
        let not_assigned = ["A1", "A2", "O1", "AP", "EU", "AN", "FX", "XK"];
        let mut expected: Vec<String> = ncmec_countries()
            .into_iter()
            .filter(|code| !not_assigned.contains(&code.as_str()))
            .collect();
        expected.sort();
        assert_eq!(expected, ASSIGNED);
    }

    #[test]
    fn only_assigned_codes_parse() {
        assert_eq!(parse("de"), Some("DE"));
        assert_eq!(parse(" NL "), Some("NL"));
        for refused in ["", "XX", "EU", "D", "DEU", "Deutschland", "é1"] {
            assert_eq!(parse(refused), None, "{refused}");
        }
    }
}
