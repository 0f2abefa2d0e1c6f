//! The one error type of the store, named for what the caller decides.
//!
//! `NotFound`, `Conflict` and `Invalid` carry a message a user may read (they name the bank, the
//! content or the field). `Database` and `Migration` are internal: the server logs them and
//! answers with a generic failure, because their text can reveal table names or connection details.

/// What went wrong in a store call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing named does not exist (or is no longer usable: a revoked key, an expired session).
    #[error("not found: {0}")]
    NotFound(String),
    /// The write clashes with what is stored (a bank or user name taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's input breaks a rule (a bank name not in UPPER_SNAKE_CASE, a malformed hash).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database failed or returned something the store cannot read.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date when opening.
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Names the constraint a failed write broke: a unique value already taken is
    /// `Conflict("{taken} already exists")`, a missing referenced row is `NotFound(referenced)`;
    /// anything else stays an internal `Database` error.
    pub(crate) fn from_write(error: sqlx::Error, taken: &str, referenced: &str) -> Self {
        match error.as_database_error() {
            Some(database) if database.is_unique_violation() => {
                StoreError::Conflict(format!("{taken} already exists"))
            }
            Some(database) if database.is_foreign_key_violation() => {
                StoreError::NotFound(referenced.to_owned())
            }
            _ => StoreError::Database(error),
        }
    }

    /// A stored value the store cannot read back (bad JSON in a text column).
    pub(crate) fn undecodable(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Database(sqlx::Error::Decode(Box::new(error)))
    }
}
