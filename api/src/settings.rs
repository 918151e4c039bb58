//! The api's one settings type, read from the environment and validated at start.

use std::time::Duration;

use jobs::{
    config::{self, ConfigError, DatabaseSettings},
    tenants::Ceilings,
};

use crate::{proxies::TrustedProxies, streams::StreamLimits};

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
    /// Access rules: key rotation, CORS and bad-key throttling.
    pub access: Access,
    /// `LLM_*`: the model, provider and prices cost estimates use (the workers' settings).
    pub llm: jobs::llm::LlmSettings,
}

/// How keys rotate, who may call from where, and what one caller may hold.
#[derive(Debug, Clone)]
pub struct Access {
    /// `KEY_ROTATION_GRACE_SECS` (default 24 h): how long a rotated key's old secret still works.
    pub key_rotation_grace: Duration,
    /// `CORS_ORIGINS`: comma-separated origins browsers may call from (none by default).
    pub cors_origins: Vec<String>,
    /// `BAD_KEY_LIMIT` (default 20): bad keys from one address in a minute before it cools off.
    pub bad_key_limit: u32,
    /// `BAD_KEY_COOLDOWN_SECS` (default 60): how long such an address is refused.
    pub bad_key_cooldown: Duration,
    /// `TRUSTED_PROXIES`: comma-separated CIDRs or addresses whose `X-Forwarded-For` names the
    /// client (none by default).
    pub trusted_proxies: TrustedProxies,
    /// `TENANT_MAX_RATE_PER_SECOND`, `TENANT_MAX_BURST`, `TENANT_MAX_KEYS`, `JOB_PRIORITY_MAX`:
    /// what a tenant admin cannot exceed.
    pub ceilings: Ceilings,
    /// `STREAM_MAX_PER_KEY`, `STREAM_MAX_PER_TENANT`, `STREAM_MAX_LIFETIME_SECS`.
    pub streams: StreamLimits,
    /// `HOOK_RATE_PER_MINUTE` (default 600): keyless calls a minute to one webhook or push
    /// source ([`crate::hook_limits`]).
    pub hook_rate_per_minute: u32,
    /// `ALLOW_PRIVATE_NETWORKS` (default false): destinations and subscriptions may point at
    /// private addresses (the workers' setting of the same name decides whether they are sent).
    pub allow_private_networks: bool,
}

impl Default for Access {
    fn default() -> Self {
        Self {
            key_rotation_grace: Duration::from_secs(24 * 3600),
            cors_origins: Vec::new(),
            bad_key_limit: 20,
            bad_key_cooldown: Duration::from_secs(60),
            trusted_proxies: TrustedProxies::default(),
            ceilings: Ceilings::default(),
            streams: StreamLimits::default(),
            hook_rate_per_minute: crate::hook_limits::DEFAULT_PER_MINUTE,
            allow_private_networks: false,
        }
    }
}

impl Access {
    /// Reads the access settings.
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let cors_origins = std::env::var("CORS_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>();
        if let Some(bad) = cors_origins
            .iter()
            .find(|o| !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/'))
        {
            return Err(ConfigError {
                var: "CORS_ORIGINS".into(),
                expected: format!(
                    "comma-separated origins like https://app.example.com (not {bad:?})"
                ),
            });
        }
        let trusted_proxies = TrustedProxies::parse(
            &std::env::var("TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|bad| ConfigError {
            var: "TRUSTED_PROXIES".into(),
            expected: format!(
                "comma-separated CIDRs or addresses like 10.0.0.0/8,192.0.2.7 (not {bad:?})"
            ),
        })?;
        Ok(Self {
            key_rotation_grace: config::seconds(
                "KEY_ROTATION_GRACE_SECS",
                d.key_rotation_grace,
                0..=30 * 24 * 3600,
            )?,
            cors_origins,
            bad_key_limit: config::number("BAD_KEY_LIMIT", d.bad_key_limit.into(), 1..=100_000)?
                as u32,
            bad_key_cooldown: config::seconds(
                "BAD_KEY_COOLDOWN_SECS",
                d.bad_key_cooldown,
                1..=86_400,
            )?,
            trusted_proxies,
            ceilings: ceilings_from_env(d.ceilings)?,
            streams: streams_from_env(d.streams)?,
            hook_rate_per_minute: config::number(
                "HOOK_RATE_PER_MINUTE",
                d.hook_rate_per_minute.into(),
                1..=1_000_000,
            )? as u32,
            allow_private_networks: config::flag("ALLOW_PRIVATE_NETWORKS", false)?,
        })
    }
}

fn ceilings_from_env(d: Ceilings) -> Result<Ceilings, ConfigError> {
    let rate =
        |var, default: i32| config::number(var, default as u64, 1..=100_000).map(|n| n as i32);
    Ok(Ceilings {
        max_rate_per_second: rate("TENANT_MAX_RATE_PER_SECOND", d.max_rate_per_second)?,
        max_burst: rate("TENANT_MAX_BURST", d.max_burst)?,
        max_keys: config::number("TENANT_MAX_KEYS", d.max_keys as u64, 1..=100_000)? as i64,
        max_priority: config::number("JOB_PRIORITY_MAX", d.max_priority as u64, 0..=100)? as i16,
    })
}

fn streams_from_env(d: StreamLimits) -> Result<StreamLimits, ConfigError> {
    let per_tenant = config::number(
        "STREAM_MAX_PER_TENANT",
        d.per_tenant as u64,
        1..=crate::streams::MAX_PER_TENANT as u64,
    )? as usize;
    let per_key = config::number(
        "STREAM_MAX_PER_KEY",
        d.per_key as u64,
        1..=per_tenant as u64,
    )? as usize;
    Ok(StreamLimits {
        per_key,
        per_tenant,
        max_lifetime: config::seconds("STREAM_MAX_LIFETIME_SECS", d.max_lifetime, 1..=86_400)?,
    })
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
            access: Access::from_env()?,
            llm: jobs::llm::LlmSettings::from_env()?,
        })
    }
}
