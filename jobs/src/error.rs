//! The domain's error type: what went wrong, in words a caller can act on, with no HTTP in it,
//! and how it becomes a job's error when a handler meets it.

use std::error::Error;

use crate::queue::JobError;

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

/// A domain failure inside a job: retried (the database may be back, the row may appear). The
/// message is what the job stores and the worker logs, so it keeps the whole cause chain: a
/// database error reads `database: error returned from database: <what Postgres said>`, not
/// the opaque `database error` an API caller sees.
impl From<DomainError> for JobError {
    fn from(e: DomainError) -> Self {
        JobError::retry(match &e {
            DomainError::Database(cause) => format!("database: {}", chain(cause)),
            _ => chain(&e),
        })
    }
}

/// A secret that could not be sealed for storage (no operator key configured): the write is
/// refused as a conflict with the server's set-up, never stored in clear.
impl From<crate::secrets::SecretError> for DomainError {
    fn from(e: crate::secrets::SecretError) -> Self {
        DomainError::Conflict(e.to_string())
    }
}

/// A query that failed inside a job: as [`DomainError::Database`].
impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        DomainError::Database(e).into()
    }
}

/// `e` and its sources, joined by `: `. A source whose text its parent already shows (sqlx
/// prints its cause inside its own message) is not repeated.
pub(crate) fn chain(e: &(dyn Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: JobError) -> String {
        match e {
            JobError::Retry {
                message,
                retry_after: None,
            } => message,
            other => panic!("a domain error is retried: {other:?}"),
        }
    }

    #[test]
    fn a_database_error_in_a_job_keeps_its_underlying_message() {
        let e = DomainError::Database(sqlx::Error::Protocol("the server hung up".into()));
        assert_eq!(
            e.to_string(),
            "database error",
            "callers of the API see no more"
        );
        assert_eq!(
            message(e.into()),
            "database: encountered unexpected or invalid data: the server hung up"
        );
        let e: JobError = sqlx::Error::PoolTimedOut.into();
        assert_eq!(
            message(e),
            "database: pool timed out while waiting for an open connection"
        );
    }

    #[test]
    fn every_cause_of_the_chain_is_kept_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("tls handshake failed")]
        struct Outer(#[source] std::io::Error);
        let root = std::io::Error::other("certificate expired");
        let e = DomainError::Database(sqlx::Error::Tls(Box::new(Outer(root))));
        assert_eq!(
            message(e.into()),
            "database: error occurred while attempting to establish a TLS connection: \
             tls handshake failed: certificate expired"
        );
    }

    #[test]
    fn other_domain_errors_are_retried_with_their_own_words() {
        assert_eq!(
            message(DomainError::NotFound("reservation").into()),
            "reservation not found"
        );
        assert_eq!(message(DomainError::Conflict("busy".into()).into()), "busy");
    }

    #[sqlx::test(migrations = false)]
    async fn what_postgres_said_reaches_the_job_error(pool: sqlx::PgPool) {
        let e = sqlx::query("SELECT * FROM no_such_table")
            .execute(&pool)
            .await
            .unwrap_err();
        let text = message(DomainError::from(e).into());
        assert!(
            text.starts_with("database: error returned from database: ")
                && text.contains("\"no_such_table\" does not exist"),
            "{text}"
        );
    }
}
