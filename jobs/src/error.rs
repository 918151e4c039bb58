//! The domain's error type: what went wrong, in words a caller can act on, with no HTTP in it.

/// A value that failed validation, with the path of the offending field (`args.url`,
/// `jobs[3].kind`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    /// Dotted path of the field, with `[i]` for list items; empty for the whole document.
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl FieldError {
    /// A new error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error, nested under `prefix` (`args` + `url` → `args.url`).
    #[must_use]
    pub fn under(self, prefix: &str) -> Self {
        let path = match (prefix.is_empty(), self.path.is_empty()) {
            (true, _) => self.path,
            (false, true) => prefix.to_owned(),
            (false, false) if self.path.starts_with('[') => format!("{prefix}{}", self.path),
            (false, false) => format!("{prefix}.{}", self.path),
        };
        Self { path, ..self }
    }
}

/// Everything a domain operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The input does not fit the contract.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// No such row for this tenant (another tenant's rows do not exist, as far as you know).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The row exists, but its state forbids the operation.
    #[error("{0}")]
    Conflict(String),
    /// The database failed; the cause is for the logs, not for the caller.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}
