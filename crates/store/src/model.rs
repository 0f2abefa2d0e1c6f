//! The data the store keeps and the rules its input must follow.
//!
//! These types are what callers see; they derive `sqlx::FromRow` where a row maps onto them
//! column for column, so the queries read them directly. Validation lives here, beside the types,
//! and runs before any transaction starts, so a bad input never leaves half a write behind.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The PDQ distance HMA uses when a bank does not say.
pub const DEFAULT_PDQ_THRESHOLD: i32 = 31;

/// The longest bank name HMA accepts.
pub const MAX_BANK_NAME: usize = 255;

/// How long a first-run setup link stays usable: a day, in milliseconds.
pub const SETUP_TOKEN_LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// A bank to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBank {
    /// UPPER_SNAKE_CASE, as in HMA: `^[A-Z_][A-Z0-9_]*$`, at most 255 characters.
    pub name: String,
    /// Who supplied the hashes (an organisation, a list's name).
    pub source: Option<String>,
    /// The category a content of this bank has when it gives none.
    pub default_category: Option<String>,
    /// The largest PDQ Hamming distance that counts as a match, 0 to 256.
    pub pdq_threshold: i32,
    /// HMA's switch: 1.0 matches, 0.0 does not (contents stay stored either way).
    pub matching_enabled_ratio: f64,
}

impl NewBank {
    /// A bank with HMA's defaults: no source, no category, threshold 31, matching enabled.
    pub fn named(name: impl Into<String>) -> Self {
        NewBank {
            name: name.into(),
            source: None,
            default_category: None,
            pdq_threshold: DEFAULT_PDQ_THRESHOLD,
            matching_enabled_ratio: 1.0,
        }
    }
}

/// A stored bank.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Bank {
    pub id: i64,
    pub name: String,
    pub source: Option<String>,
    pub default_category: Option<String>,
    pub pdq_threshold: i32,
    pub matching_enabled_ratio: f64,
    pub created_at: i64,
}

/// Changes to a bank; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BankUpdate {
    pub name: Option<String>,
    pub source: Option<Option<String>>,
    pub default_category: Option<Option<String>>,
    pub pdq_threshold: Option<i32>,
    pub matching_enabled_ratio: Option<f64>,
}

/// One item to add to a bank, with its signals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewContent {
    /// The source's id or URL for the item.
    pub label: Option<String>,
    pub category: Option<String>,
    pub note: Option<String>,
    /// (signal type, lowercase hex): `pdq` (64 digits), `md5` (32), `sha1` (40), `sha256` (64).
    pub signals: Vec<(String, String)>,
}

/// A stored content item with its signals, in the order they were added.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Content {
    pub id: i64,
    /// The bank's name.
    pub bank: String,
    pub label: Option<String>,
    pub category: Option<String>,
    pub note: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    #[sqlx(skip)]
    pub signals: Vec<(String, String)>,
}

/// One signal of a bank, as exported page by page.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SignalRow {
    pub id: i64,
    pub content_id: i64,
    pub signal_type: String,
    pub value: String,
}

/// Whether a change puts a signal into the indexes or takes it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Remove,
}

impl ChangeKind {
    /// The text stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Add => "add",
            ChangeKind::Remove => "remove",
        }
    }
}

impl FromStr for ChangeKind {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, StoreError> {
        match text {
            "add" => Ok(ChangeKind::Add),
            "remove" => Ok(ChangeKind::Remove),
            other => Err(StoreError::Invalid(format!("change kind {other:?}"))),
        }
    }
}

impl TryFrom<String> for ChangeKind {
    type Error = StoreError;

    fn try_from(text: String) -> Result<Self, StoreError> {
        text.parse()
    }
}

/// One row of the change log that index replicas follow.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChangeRow {
    pub seq: i64,
    pub bank_id: i64,
    pub content_id: i64,
    pub signal_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: ChangeKind,
    pub signal_type: String,
    pub value: String,
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Analyst,
    ReadOnly,
}

impl Role {
    /// The text stored in the `role` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::ReadOnly => "readonly",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, StoreError> {
        match text {
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            "readonly" => Ok(Role::ReadOnly),
            other => Err(StoreError::Invalid(format!("role {other:?}"))),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = StoreError;

    fn try_from(text: String) -> Result<Self, StoreError> {
        text.parse()
    }
}

/// A person's account.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
    /// The password hash as the caller made it (the store never sees a password).
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub disabled: bool,
    pub created_at: i64,
}

/// What an API key may do, kept as JSON text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scopes {
    /// e.g. "lookup", "hash", "bank.read", "bank.write".
    pub operations: Vec<String>,
    /// The banks the key may use; `None` means all banks.
    pub banks: Option<Vec<String>>,
}

impl TryFrom<String> for Scopes {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<Self, serde_json::Error> {
        serde_json::from_str(&text)
    }
}

/// An API key to create. The caller makes the secret and gives only its SHA-256 hex.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApiKey {
    pub name: String,
    pub key_hash: String,
    pub scopes: Scopes,
    pub created_by: Option<i64>,
}

/// A stored API key.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub key_hash: String,
    #[sqlx(try_from = "String")]
    pub scopes: Scopes,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// An event to append to the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub at: i64,
    /// "user:alice", "key:12", "anonymous", "system".
    pub actor: String,
    /// "bank.create", "content.add", "lookup", "user.login"...
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

/// A row of the audit log with its place in the hash chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The outcome of walking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    /// Every row links to the one before and matches its hash.
    Intact { rows: u64 },
    /// The first row that does not check out, and why ("row edited", "row deleted or reordered").
    Broken { seq: i64, reason: String },
}

/// Checks HMA's bank name rule: `^[A-Z_][A-Z0-9_]*$`, at most 255 characters.
pub(crate) fn check_bank_name(name: &str) -> Result<(), StoreError> {
    let mut characters = name.chars();
    let first_ok = characters
        .next()
        .is_some_and(|first| first.is_ascii_uppercase() || first == '_');
    let rest_ok =
        characters.all(|next| next.is_ascii_uppercase() || next.is_ascii_digit() || next == '_');
    if first_ok && rest_ok && name.len() <= MAX_BANK_NAME {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "bank name {name:?}: must match ^[A-Z_][A-Z0-9_]*$ and have at most {MAX_BANK_NAME} characters"
        )))
    }
}

/// Checks a PDQ threshold: a Hamming distance between 256-bit hashes.
pub(crate) fn check_pdq_threshold(pdq_threshold: i32) -> Result<(), StoreError> {
    if (0..=256).contains(&pdq_threshold) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "pdq_threshold {pdq_threshold}: must be between 0 and 256"
        )))
    }
}

/// Checks HMA's matching switch, a ratio between 0.0 (off) and 1.0 (on).
pub(crate) fn check_enabled_ratio(ratio: f64) -> Result<(), StoreError> {
    if (0.0..=1.0).contains(&ratio) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "matching_enabled_ratio {ratio}: must be between 0.0 and 1.0"
        )))
    }
}

/// Checks a content's signals: a known type, and lowercase hex of that type's length.
pub(crate) fn check_content(content: &NewContent) -> Result<(), StoreError> {
    if content.signals.is_empty() {
        return Err(StoreError::Invalid(
            "a content needs at least one signal".into(),
        ));
    }
    for (signal_type, value) in &content.signals {
        let digits = match signal_type.as_str() {
            "md5" => 32,
            "sha1" => 40,
            "pdq" | "sha256" => 64,
            other => {
                return Err(StoreError::Invalid(format!(
                    "signal type {other:?}: expected pdq, md5, sha1 or sha256"
                )))
            }
        };
        let hex = value
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        if value.len() != digits || !hex {
            return Err(StoreError::Invalid(format!(
                "{signal_type} value {value:?}: expected {digits} lowercase hex digits"
            )));
        }
    }
    Ok(())
}

/// Checks a page size given by a caller.
pub(crate) fn check_limit(limit: i64) -> Result<i64, StoreError> {
    if limit < 0 {
        Err(StoreError::Invalid(format!(
            "limit {limit}: must not be negative"
        )))
    } else {
        Ok(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_names_follow_hma() {
        for good in ["A", "_", "TEST_BANK_2", "_X9", &"B".repeat(255)] {
            assert!(check_bank_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "lower",
            "9LEADING",
            "WITH-DASH",
            "SPACE D",
            "É",
            &"B".repeat(256),
        ] {
            assert!(check_bank_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signals_are_known_types_of_lowercase_hex() {
        let with = |signal_type: &str, value: &str| NewContent {
            signals: vec![(signal_type.into(), value.into())],
            ..NewContent::default()
        };
        assert!(check_content(&with("md5", &"0a".repeat(16))).is_ok());
        assert!(check_content(&with("pdq", &"f".repeat(64))).is_ok());
        assert!(check_content(&with("md5", &"0A".repeat(16))).is_err());
        assert!(check_content(&with("sha1", &"0".repeat(39))).is_err());
        assert!(check_content(&with("crc", &"0".repeat(8))).is_err());
        assert!(check_content(&NewContent::default()).is_err());
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in [Role::Admin, Role::Analyst, Role::ReadOnly] {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
