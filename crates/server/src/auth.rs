//! Who is calling, and what they may do.
//!
//! Nothing is open by default: every route names the [`Permission`] it needs in the route table
//! (`routes.rs`), and a request passes only if its [`Principal`] holds it. People sign in with
//! a password (argon2) and get a session cookie; machines send an API key as a bearer token.
//! Keys are scoped to operations and, optionally, to banks. Secrets (keys, session and setup
//! tokens) are stored only as SHA-256 digests, so a copy of the database opens nothing.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use vigie_store::{ApiKey, Role, User};

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Anyone, signed in or not: liveness, the setup and sign-in pages.
    Public,
    /// Look hashes up in the banks (a sensitive read: audited).
    Lookup,
    /// Hash an uploaded file.
    Hash,
    /// See banks and their contents.
    BankRead,
    /// Create, change and delete banks and their contents.
    BankWrite,
    /// Scrape `/metrics` (a monitoring system's key).
    Metrics,
    /// Send reports to the hotline through the partner API (a platform's or hotline's key).
    Report,
    /// Manage users and keys, read the audit log.
    Admin,
    /// Work the hotline's queue: claim, reveal, classify and decide items, build and export
    /// cases. People only (analysts and administrators): a reveal is a person's exposure, so
    /// no API key holds it.
    Triage,
    /// Read the hotline's figures (counts only, no report content): every signed-in person,
    /// read-only accounts included, and keys with the `figures` scope.
    Figures,
}

impl Permission {
    /// Every permission, for the authorisation matrix.
    pub const ALL: [Permission; 10] = [
        Permission::Public,
        Permission::Lookup,
        Permission::Hash,
        Permission::BankRead,
        Permission::BankWrite,
        Permission::Metrics,
        Permission::Report,
        Permission::Admin,
        Permission::Triage,
        Permission::Figures,
    ];

    /// The name an API key's scopes use.
    pub fn scope_name(self) -> &'static str {
        match self {
            Permission::Public => "public",
            Permission::Lookup => "lookup",
            Permission::Hash => "hash",
            Permission::BankRead => "bank.read",
            Permission::BankWrite => "bank.write",
            Permission::Metrics => "metrics",
            Permission::Report => "report",
            Permission::Admin => "admin",
            Permission::Triage => "triage",
            Permission::Figures => "figures",
        }
    }
}

/// Whether a role holds a permission.
pub fn role_permits(role: Role, permission: Permission) -> bool {
    match (role, permission) {
        (_, Permission::Public) => true,
        (Role::Admin, _) => true,
        (Role::Analyst, Permission::Admin) => false,
        (Role::Analyst, _) => true,
        (
            Role::ReadOnly,
            Permission::Lookup | Permission::Hash | Permission::BankRead | Permission::Figures,
        ) => true,
        (Role::ReadOnly, _) => false,
    }
}

/// The caller of a request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Nobody signed in.
    Anonymous,
    /// A person, by session cookie.
    User(User),
    /// A machine, by API key.
    Key(ApiKey),
}

impl Principal {
    /// Whether this caller holds `permission`, on `bank` when the route names one.
    pub fn permits(&self, permission: Permission, bank: Option<&str>) -> bool {
        match self {
            _ if permission == Permission::Public => true,
            Principal::Anonymous => false,
            Principal::User(user) => !user.disabled && role_permits(user.role, permission),
            Principal::Key(key) => {
                // An admin scope is never granted to keys: people manage people. Nor is
                // triage: what an analyst sees is counted against a person.
                !matches!(permission, Permission::Admin | Permission::Triage)
                    && key
                        .scopes
                        .operations
                        .iter()
                        .any(|op| op == permission.scope_name())
                    && bank.is_none_or(|bank| self.sees_bank(bank))
            }
        }
    }

    /// Whether results from this bank may be shown to this caller (a key scoped to some banks
    /// sees only those).
    pub fn sees_bank(&self, bank: &str) -> bool {
        match self {
            Principal::Key(key) => key
                .scopes
                .banks
                .as_ref()
                .is_none_or(|banks| banks.iter().any(|b| b == bank)),
            _ => true,
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        match self {
            Principal::Anonymous => "anonymous".into(),
            Principal::User(user) => format!("user:{}", user.name),
            Principal::Key(key) => format!("key:{}", key.id),
        }
    }
}

/// A new random secret (API key, session or setup token): 32 bytes from the OS, as hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    vigie_hash::hex(&bytes)
}

/// What is stored of a secret: its SHA-256, as hex.
pub fn secret_digest(secret: &str) -> String {
    vigie_hash::hex(&Sha256::digest(secret.as_bytes()))
}

/// An argon2 hash of a password, with a fresh salt, in the PHC string form.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether a password matches its stored argon2 hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .and_then(|hash| Argon2::default().verify_password(password.as_bytes(), &hash))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let stored = hash_password("correct horse battery staple").unwrap();
        assert!(verify_password("correct horse battery staple", &stored));
        assert!(!verify_password("correct horse battery stapl", &stored));
        assert!(!verify_password("anything", "not a PHC string"));
    }

    #[test]
    fn roles_hold_what_their_job_needs() {
        assert!(role_permits(Role::ReadOnly, Permission::Lookup));
        assert!(!role_permits(Role::ReadOnly, Permission::BankWrite));
        assert!(role_permits(Role::Analyst, Permission::BankWrite));
        assert!(!role_permits(Role::Analyst, Permission::Admin));
        assert!(role_permits(Role::Admin, Permission::Admin));
        assert!(role_permits(Role::Analyst, Permission::Triage));
        assert!(!role_permits(Role::ReadOnly, Permission::Triage));
        assert!(role_permits(Role::ReadOnly, Permission::Figures));
    }

    #[test]
    fn secrets_are_random_and_stored_as_digests() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(secret_digest(&a), secret_digest(&a));
        assert_ne!(secret_digest(&a), a);
    }
}

/// How long a key found in the store is trusted without asking again. A key revoked on one
/// replica is refused there at once and by the others within this time.
pub const KEY_CACHE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(2);

/// API keys by the digest of their secret, as recently read from the store. Platforms send
/// thousands of lookups a second with one key; reading it from the database each time would
/// cost more than the lookup.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: std::sync::Mutex<std::collections::HashMap<String, (ApiKey, std::time::Instant)>>,
}

impl KeyCache {
    /// The key of this digest, if read from the store less than [`KEY_CACHE_LIFETIME`] ago.
    pub fn get(&self, digest: &str) -> Option<ApiKey> {
        let keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.get(digest)
            .filter(|(_, read)| read.elapsed() < KEY_CACHE_LIFETIME)
            .map(|(key, _)| key.clone())
    }

    /// Remembers a key just read from the store, forgetting the expired ones.
    pub fn insert(&self, digest: String, key: ApiKey) {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.retain(|_, (_, read)| read.elapsed() < KEY_CACHE_LIFETIME);
        keys.insert(digest, (key, std::time::Instant::now()));
    }

    /// Forgets every key (after one is revoked here).
    pub fn clear(&self) {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}
