//! Signals: one hash of one piece of content, checked and normalised once, here.
//!
//! Every list format hands its raw hash strings to [`Signal::parse`] (the type is known) or
//! [`Signal::detect`] (only the shape of the value says what it is), so that a hash means the
//! same thing whichever file it came from: lowercase hex of the right length for PDQ, MD5,
//! SHA-1 and SHA-256, and PhotoDNA kept exactly as given because it is an opaque value that only
//! Microsoft's matcher interprets.
//!
//! Type names are ours (`pdq`, `md5`, `sha1`, `sha256`, `photodna`) plus the names other tools
//! write, so that their files read as they are: python-threatexchange's signal names (the class
//! name in snake case, `photo_md5`, `video_md5`, `video_sha256`), ThreatExchange indicator types
//! (`HASH_PDQ`, `HASH_MD5`, `HASH_VIDEO_MD5`, ...), NCMEC's `pdna` and VICS's `PhotoDNA`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::BankError;

/// The kind of hash a signal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalType {
    Pdq,
    Md5,
    Sha1,
    Sha256,
    PhotoDna,
}

impl SignalType {
    /// Every signal type, in the order list exports write their columns.
    pub const ALL: [SignalType; 5] = [
        SignalType::Pdq,
        SignalType::Md5,
        SignalType::Sha1,
        SignalType::Sha256,
        SignalType::PhotoDna,
    ];

    /// Our own name of the type, as `Display` writes it.
    pub fn name(self) -> &'static str {
        match self {
            SignalType::Pdq => "pdq",
            SignalType::Md5 => "md5",
            SignalType::Sha1 => "sha1",
            SignalType::Sha256 => "sha256",
            SignalType::PhotoDna => "photodna",
        }
    }

    /// Finds the type another tool's name stands for, ignoring case; `None` for names of
    /// hashes this crate does not keep (TMK, vPDQ, URLs ...).
    pub fn from_alias(name: &str) -> Option<SignalType> {
        let lower = name.trim().to_ascii_lowercase();
        let signal_type = match lower.as_str() {
            "pdq" | "hash_pdq" | "photo_pdq" => SignalType::Pdq,
            "md5" | "photo_md5" | "video_md5" | "hash_md5" | "hash_video_md5"
            | "video_hash_md5" | "hash_photo_md5" => SignalType::Md5,
            "sha1" | "sha-1" | "hash_sha1" => SignalType::Sha1,
            "sha256" | "sha-256" | "video_sha256" | "photo_sha256" | "hash_sha256"
            | "hash_video_sha256" => SignalType::Sha256,
            "photodna" | "photo_dna" | "pdna" | "hash_photodna" => SignalType::PhotoDna,
            _ => return None,
        };
        Some(signal_type)
    }

    /// How error messages name a hash of this type ("an MD5 hash").
    fn article_name(self) -> &'static str {
        match self {
            SignalType::Pdq => "a PDQ hash",
            SignalType::Md5 => "an MD5 hash",
            SignalType::Sha1 => "a SHA-1 hash",
            SignalType::Sha256 => "a SHA-256 hash",
            SignalType::PhotoDna => "a PhotoDNA hash",
        }
    }

    /// The number of hex digits of a fixed-length hex type; `None` for PhotoDNA.
    fn hex_len(self) -> Option<usize> {
        match self {
            SignalType::Pdq | SignalType::Sha256 => Some(64),
            SignalType::Md5 => Some(32),
            SignalType::Sha1 => Some(40),
            SignalType::PhotoDna => None,
        }
    }
}

impl fmt::Display for SignalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SignalType {
    type Err = BankError;

    /// Accepts our names and every alias of [`SignalType::from_alias`].
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        SignalType::from_alias(name).ok_or_else(|| BankError::UnknownName {
            what: "signal type",
            name: name.to_string(),
        })
    }
}

/// One hash of one piece of content, normalised (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Signal {
    pub signal_type: SignalType,
    pub value: String,
}

/// Length of the base64 text of a 144-byte PhotoDNA hash (no padding is needed: 144 = 3 x 48).
const PHOTODNA_BASE64_LEN: usize = 192;
/// Length of the hex text of a 144-byte PhotoDNA hash.
const PHOTODNA_HEX_LEN: usize = 288;
/// Values longer than this are cut in error messages, so that a garbage line of megabytes does
/// not become a problem report of megabytes.
const SHOWN_VALUE_LEN: usize = 80;

impl Signal {
    /// Checks and normalises a value whose type the source states.
    ///
    /// Surrounding whitespace is dropped and hex is lowercased. A PhotoDNA value is accepted
    /// as any non-empty text, because lists in the field carry it in several encodings (and
    /// NCMEC's own documentation examples shorten it), and Vigie never computes it.
    pub fn parse(signal_type: SignalType, raw: &str) -> Result<Signal, BankError> {
        let value = raw.trim();
        match signal_type.hex_len() {
            Some(len) => {
                if value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(Signal {
                        signal_type,
                        value: value.to_ascii_lowercase(),
                    })
                } else {
                    Err(BankError::InvalidSignal(format!(
                        "{} is not {}: expected {len} hex digits, found {}",
                        shown(value),
                        signal_type.article_name(),
                        describe(value)
                    )))
                }
            }
            None if value.is_empty() => Err(BankError::InvalidSignal(
                "empty value is not a PhotoDNA hash".to_string(),
            )),
            None => Ok(Signal {
                signal_type,
                value: value.to_string(),
            }),
        }
    }

    /// Recognises a bare value by its shape: 32 hex digits are MD5, 40 SHA-1, 64 `hex64` (PDQ
    /// and SHA-256 cannot be told apart, so the caller says which its list holds), 288 hex
    /// digits or 192 base64 characters PhotoDNA.
    pub fn detect(raw: &str, hex64: SignalType) -> Result<Signal, BankError> {
        let value = raw.trim();
        let all_hex = value.bytes().all(|b| b.is_ascii_hexdigit());
        let signal_type = match value.len() {
            32 if all_hex => SignalType::Md5,
            40 if all_hex => SignalType::Sha1,
            64 if all_hex => hex64,
            PHOTODNA_HEX_LEN if all_hex => SignalType::PhotoDna,
            PHOTODNA_BASE64_LEN if value.bytes().all(is_base64) => SignalType::PhotoDna,
            _ => {
                return Err(BankError::InvalidSignal(format!(
                    "{} is not a hash: expected 32, 40, 64 or 288 hex digits or 192 base64 \
                     characters, found {}",
                    shown(value),
                    describe(value)
                )))
            }
        };
        Signal::parse(signal_type, value)
    }
}

impl fmt::Display for Signal {
    /// Writes `TYPE VALUE`, the line [`crate::ListFormat::Text`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.signal_type, self.value)
    }
}

fn is_base64(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/' || byte == b'='
}

/// The value quoted for a message, cut if long.
fn shown(value: &str) -> String {
    match value.char_indices().nth(SHOWN_VALUE_LEN) {
        Some((cut, _)) => format!("'{}...'", &value[..cut]),
        None => format!("'{value}'"),
    }
}

/// What the value looks like, for a message that says what was expected instead.
fn describe(value: &str) -> String {
    let chars = value.chars().count();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("{chars} hex digits")
    } else {
        format!("{chars} characters")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_lowercases_and_trims_hex() {
        let signal =
            Signal::parse(SignalType::Md5, "  D41D8CD98F00B204E9800998ECF8427E\t").unwrap();
        assert_eq!(signal.value, "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn parse_rejects_wrong_length_with_a_reason() {
        let error = Signal::parse(SignalType::Sha1, "abc").unwrap_err();
        assert_eq!(
            error.to_string(),
            "'abc' is not a SHA-1 hash: expected 40 hex digits, found 3 hex digits"
        );
    }

    #[test]
    fn detect_by_length_and_hex64_choice() {
        let hex64 = "ab".repeat(32);
        assert_eq!(
            Signal::detect(&hex64, SignalType::Pdq).unwrap().signal_type,
            SignalType::Pdq
        );
        assert_eq!(
            Signal::detect(&hex64, SignalType::Sha256)
                .unwrap()
                .signal_type,
            SignalType::Sha256
        );
        assert_eq!(
            Signal::detect(&"0".repeat(40), SignalType::Pdq)
                .unwrap()
                .signal_type,
            SignalType::Sha1
        );
        let base64 = "Ab+/".repeat(48);
        let photodna = Signal::detect(&base64, SignalType::Pdq).unwrap();
        assert_eq!(photodna.signal_type, SignalType::PhotoDna);
        assert_eq!(photodna.value, base64, "PhotoDNA is kept exactly as given");
        assert_eq!(
            Signal::detect(&"F".repeat(288), SignalType::Pdq)
                .unwrap()
                .value,
            "F".repeat(288)
        );
    }

    #[test]
    fn long_garbage_is_cut_in_messages() {
        let message = Signal::detect(&"z".repeat(10_000), SignalType::Pdq)
            .unwrap_err()
            .to_string();
        assert!(message.len() < 300, "{message}");
        assert!(message.ends_with("found 10000 characters"), "{message}");
    }

    #[test]
    fn aliases_of_other_tools() {
        for (name, expected) in [
            ("pdq", SignalType::Pdq),
            ("HASH_PDQ", SignalType::Pdq),
            ("photo_md5", SignalType::Md5),
            ("video_md5", SignalType::Md5),
            ("HASH_VIDEO_MD5", SignalType::Md5),
            ("video_sha256", SignalType::Sha256),
            ("pdna", SignalType::PhotoDna),
            ("PhotoDNA", SignalType::PhotoDna),
        ] {
            assert_eq!(name.parse::<SignalType>().unwrap(), expected, "{name}");
        }
        assert!("tmk_pdqf".parse::<SignalType>().is_err());
        for signal_type in SignalType::ALL {
            assert_eq!(
                signal_type.to_string().parse::<SignalType>().unwrap(),
                signal_type
            );
        }
    }
}
