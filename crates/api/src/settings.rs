//! The api's one settings type, read from the environment and validated at start.

use jobs::config::{self, ConfigError, DatabaseSettings};

/// Default `MAX_BODY_BYTES`: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;

/// Everything the api reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `PORT` (default 8080; 0 picks a free port). The api binds `0.0.0.0:PORT`.
    pub port: u16,
    /// `DATABASE_URL` and `DATABASE_POOL_SIZE` (default 10).
    pub database: DatabaseSettings,
    /// `MAX_BODY_BYTES` (default 1 MiB, 1 KiB to 64 MiB): larger request bodies get a 413.
    pub max_body_bytes: usize,
}

impl Settings {
    /// Reads and checks every variable; the error names the first bad one.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            port: config::number("PORT", 8080, 0..=u64::from(u16::MAX))? as u16,
            database: DatabaseSettings::from_env(10)?,
            max_body_bytes: config::number(
                "MAX_BODY_BYTES",
                DEFAULT_MAX_BODY_BYTES,
                1024..=64 * 1024 * 1024,
            )? as usize,
        })
    }
}
