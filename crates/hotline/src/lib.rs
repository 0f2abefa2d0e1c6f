//! The hotline's vocabulary: what a report is about, how an analyst classifies what it names,
//! what is decided, and the formats a case leaves the hotline in.
//!
//! A hotline works with partners that each have their own codes: INHOPE's ICCAM (and SCART, the
//! open-source hotline tool that speaks it) for classifications and actions between hotlines,
//! NCMEC's industry categories for platforms, Project VIC's categories for forensic tools. This
//! crate holds them all in one place, each as an enum with
//! - a stable lowercase `code()` the store keeps and `from_code()` reads back, so that a row
//!   written today reads the same after a rename in the code, and
//! - the partner's own identifier (ICCAM id, NCMEC letter and digit, VICS number), so that an
//!   export never guesses it.
//!
//! - [`url`]: [`normalise_url`], the deduplication key of a reported URL.
//! - [`category`]: [`ReportCategory`], what the reporter says a report is about, and its
//!   urgency in the queue.
//! - [`classification`]: the analyst's classification in each partner's scheme, and the
//!   [`Decision`] taken on an item.
//! - [`export`]: a case ([`export::CaseExport`]) written as NCMEC CyberTipline XML, ICCAM JSON,
//!   Project VIC VICS 2.0 JSON, or a police referral package (a zip).
//!
//! **Architecture invariant:** this crate is pure. It knows no file, network, database or HTTP,
//! and no other Vigie crate: exports write to the `Write` (or `Write + Seek`) the caller hands
//! in, from plain data the caller has gathered, so the same code serves the server, a command
//! and a test. Evidence reaches it already encrypted: nothing here sees a key.

pub mod category;
pub mod classification;
pub mod export;
pub mod url;

pub use category::ReportCategory;
pub use classification::{
    AgeGroup, Decision, Gender, IccamAction, IccamClassification, NcmecCategory, SiteType,
    VicsCategory,
};
pub use url::{normalise_url, UrlError};

/// A code read back from the store that this version does not know: the row was written by a
/// newer version or edited by hand, and the caller refuses it rather than guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {scheme} code '{code}'")]
pub struct UnknownCode {
    /// Which vocabulary was asked ("report category", "ICCAM site type", ...).
    pub scheme: &'static str,
    /// The code as found.
    pub code: String,
}

/// Declares an enum with a stable lowercase code per variant, the list of all variants (for
/// forms and menus), `code()`, `from_code()` and a `Display` that prints the code.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident: $scheme:literal {
            $( $(#[$variant_meta:meta])* $variant:ident = $code:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every variant, in the order a form lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code the store keeps.
            pub fn code(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )+
                }
            }

            /// The variant a stored code names.
            pub fn from_code(code: &str) -> Result<$name, $crate::UnknownCode> {
                match code {
                    $( $code => Ok($name::$variant), )+
                    _ => Err($crate::UnknownCode { scheme: $scheme, code: code.to_string() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use coded_enum;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every coded vocabulary reads back each code it writes, and no two variants share one.
    #[test]
    fn every_code_reads_back_and_is_unique() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            code: fn(T) -> &'static str,
            from_code: fn(&str) -> Result<T, UnknownCode>,
        ) {
            let mut seen = std::collections::BTreeSet::new();
            for &value in all {
                let text = code(value);
                assert!(seen.insert(text), "{text} is used twice");
                assert_eq!(from_code(text), Ok(value));
                assert!(
                    text.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{text} is not a lowercase code"
                );
            }
            assert!(from_code("no_such_code").is_err());
        }
        check(
            ReportCategory::ALL,
            ReportCategory::code,
            ReportCategory::from_code,
        );
        check(
            IccamClassification::ALL,
            IccamClassification::code,
            IccamClassification::from_code,
        );
        check(SiteType::ALL, SiteType::code, SiteType::from_code);
        check(AgeGroup::ALL, AgeGroup::code, AgeGroup::from_code);
        check(Gender::ALL, Gender::code, Gender::from_code);
        check(IccamAction::ALL, IccamAction::code, IccamAction::from_code);
        check(
            NcmecCategory::ALL,
            NcmecCategory::code,
            NcmecCategory::from_code,
        );
        check(Decision::ALL, Decision::code, Decision::from_code);
    }

    #[test]
    fn an_unknown_code_says_which_scheme_and_code() {
        let error = Decision::from_code("Law_Enforcement").unwrap_err();
        assert_eq!(error.to_string(), "unknown decision code 'Law_Enforcement'");
    }
}
