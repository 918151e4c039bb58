//! Reading settings from the environment.
//!
//! Every binary has one settings type built from these helpers at start; a missing or
//! malformed variable stops the process with one line that names it and says what is expected.

use std::{fmt, str::FromStr, time::Duration};

use secrecy::SecretString;

/// The default database: the local server, database `demandflow`.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/demandflow";

/// A variable that is set but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name.
    pub var: String,
    /// What a valid value looks like.
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: expected {}", self.var, self.expected)
    }
}

impl std::error::Error for ConfigError {}

fn raw(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// `var` when it is set and not empty, for values a caller parses itself.
pub fn optional(var: &str) -> Option<String> {
    raw(var)
}

/// `var` parsed as `T`, or `default` when it is unset or empty.
pub fn parse<T: FromStr>(var: &str, default: T, expected: &str) -> Result<T, ConfigError> {
    match raw(var) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError {
            var: var.to_owned(),
            expected: expected.to_owned(),
        }),
    }
}

/// A whole number within `range`, or `default`.
pub fn number(
    var: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let expected = format!("a whole number from {} to {}", range.start(), range.end());
    let v: u64 = parse(var, default, &expected)?;
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError {
            var: var.to_owned(),
            expected,
        })
    }
}

/// A duration given in milliseconds, within `range` (milliseconds), or `default`.
pub fn millis(
    var: &str,
    default: Duration,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    number(var, default.as_millis() as u64, range).map(Duration::from_millis)
}

/// A duration given in seconds, within `range` (seconds), or `default`.
pub fn seconds(
    var: &str,
    default: Duration,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    number(var, default.as_secs(), range).map(Duration::from_secs)
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`), or `default`.
pub fn flag(var: &str, default: bool) -> Result<bool, ConfigError> {
    match raw(var).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "true" | "1" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "false" | "0" | "no" | "off") => Ok(false),
        Some(_) => Err(ConfigError {
            var: var.to_owned(),
            expected: "true or false".to_owned(),
        }),
    }
}

/// One of `choices`, or `default`.
pub fn choice(
    var: &str,
    default: &'static str,
    choices: &[&'static str],
) -> Result<&'static str, ConfigError> {
    match raw(var) {
        None => Ok(default),
        Some(v) => choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(v.trim()))
            .copied()
            .ok_or_else(|| ConfigError {
                var: var.to_owned(),
                expected: format!("one of {}", choices.join(", ")),
            }),
    }
}

/// Where the database is and how many connections to hold.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// `DATABASE_URL`; may carry a password, so it is a secret.
    pub url: SecretString,
    /// `DATABASE_POOL_SIZE`.
    pub pool_size: u32,
    /// The URL, parsed once when it was validated.
    options: sqlx::postgres::PgConnectOptions,
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &"[redacted]")
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl DatabaseSettings {
    /// `DATABASE_URL` (default [`DEFAULT_DATABASE_URL`]) and `DATABASE_POOL_SIZE`.
    pub fn from_env(default_pool: u32) -> Result<Self, ConfigError> {
        let url = raw("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError {
                var: "DATABASE_URL".to_owned(),
                expected: "a postgres:// URL".to_owned(),
            });
        }
        let options = url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .map_err(|_| ConfigError {
                var: "DATABASE_URL".to_owned(),
                expected: "a valid postgres:// URL".to_owned(),
            })?;
        let pool_size = number("DATABASE_POOL_SIZE", default_pool.into(), 1..=500)? as u32;
        Ok(Self {
            url: SecretString::from(url),
            pool_size,
            options,
        })
    }

    /// Connection options for this database.
    pub fn connect_options(&self) -> sqlx::postgres::PgConnectOptions {
        self.options.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_nests_paths() {
        use crate::FieldError;
        assert_eq!(FieldError::new("url", "x").under("args").path, "args.url");
        assert_eq!(FieldError::new("", "x").under("args").path, "args");
        assert_eq!(
            FieldError::new("[2].kind", "x").under("jobs").path,
            "jobs[2].kind"
        );
    }

    #[test]
    fn config_error_names_the_variable() {
        let e = ConfigError {
            var: "PORT".into(),
            expected: "a port".into(),
        };
        assert_eq!(e.to_string(), "invalid PORT: expected a port");
    }

    #[test]
    fn database_settings_debug_hides_the_url() {
        let url = "postgres://u:hunter2@h/db";
        let s = DatabaseSettings {
            url: SecretString::from(url.to_owned()),
            pool_size: 5,
            options: url.parse().unwrap(),
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
