//! A tenant's own settings: request rate limits and job retention, within the ceilings the
//! operator sets for every tenant ([`Ceilings`]). Its share of the workers is shown here but set
//! by the operator only ([`crate::queue::share`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{DomainError, FieldError};

/// A tenant and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Tenant {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Requests a second each of its keys may make (sustained).
    pub rate_limit_per_second: i32,
    /// Requests a key may make in a burst.
    pub rate_limit_burst: i32,
    /// How long its finished jobs are kept (none: the server's `JOB_RETENTION_SECS`).
    pub job_retention_secs: Option<i32>,
    /// Its weight in the fair claim (operator-set, see [`crate::queue::share`]).
    pub queue_weight: i16,
    /// Most of its jobs running at once (operator-set; none: no cap).
    pub max_running: Option<i32>,
    /// Most of its jobs of a kind running at once (operator-set): `{kind: n}`.
    pub kind_limits: serde_json::Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its settings last changed.
    pub updated_at: DateTime<Utc>,
}

/// A change to a tenant's settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsPatch {
    /// New sustained rate.
    pub rate_limit_per_second: Option<i32>,
    /// New burst.
    pub rate_limit_burst: Option<i32>,
    /// New retention (`Some(None)` returns to the server default).
    pub job_retention_secs: Option<Option<i32>>,
}

impl SettingsPatch {
    /// Parses a PATCH body (`{rate_limit_per_second?, rate_limit_burst?, job_retention_secs?}`;
    /// `job_retention_secs: null` returns to the server default), naming the offending field.
    pub fn parse(body: serde_json::Value) -> Result<Self, FieldError> {
        let serde_json::Value::Object(map) = body else {
            return Err(FieldError::new("", "expected a JSON object"));
        };
        let int = |name: &str, v: &serde_json::Value| -> Result<i32, FieldError> {
            v.as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| FieldError::new(name, "expected a whole number"))
        };
        let mut patch = Self::default();
        for (name, value) in &map {
            match name.as_str() {
                "rate_limit_per_second" => patch.rate_limit_per_second = Some(int(name, value)?),
                "rate_limit_burst" => patch.rate_limit_burst = Some(int(name, value)?),
                "job_retention_secs" if value.is_null() => patch.job_retention_secs = Some(None),
                "job_retention_secs" => patch.job_retention_secs = Some(Some(int(name, value)?)),
                other => {
                    return Err(FieldError::new(
                        other,
                        "unknown field; expected rate_limit_per_second, rate_limit_burst or job_retention_secs",
                    ));
                }
            }
        }
        patch.validate()?;
        Ok(patch)
    }

    /// Checks the ranges, naming the field.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self
            .rate_limit_per_second
            .is_some_and(|r| !(1..=100_000).contains(&r))
        {
            return Err(FieldError::new(
                "rate_limit_per_second",
                "expected 1 to 100000",
            ));
        }
        if self
            .rate_limit_burst
            .is_some_and(|r| !(1..=100_000).contains(&r))
        {
            return Err(FieldError::new("rate_limit_burst", "expected 1 to 100000"));
        }
        if let Some(Some(r)) = self.job_retention_secs
            && !(60..=31_536_000).contains(&r)
        {
            return Err(FieldError::new(
                "job_retention_secs",
                "expected 60 to 31536000, or null",
            ));
        }
        Ok(())
    }

    /// Refuses a rate or burst above the operator's ceilings, naming the field and the ceiling.
    pub fn within(&self, ceilings: &Ceilings) -> Result<(), FieldError> {
        for (path, value, max) in [
            (
                "rate_limit_per_second",
                self.rate_limit_per_second,
                ceilings.max_rate_per_second,
            ),
            (
                "rate_limit_burst",
                self.rate_limit_burst,
                ceilings.max_burst,
            ),
        ] {
            if value.is_some_and(|v| v > max) {
                return Err(FieldError::new(
                    path,
                    format!("expected 1 to {max}: {max} is this server's ceiling"),
                ));
            }
        }
        Ok(())
    }
}

/// What the operator lets any tenant have: a tenant admin cannot set more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ceilings {
    /// Highest `rate_limit_per_second` (`TENANT_MAX_RATE_PER_SECOND`).
    pub max_rate_per_second: i32,
    /// Highest `rate_limit_burst` (`TENANT_MAX_BURST`).
    pub max_burst: i32,
    /// Most live keys a tenant may hold (`TENANT_MAX_KEYS`).
    pub max_keys: i64,
    /// Highest job priority a tenant may ask for (`JOB_PRIORITY_MAX`): priorities order every
    /// tenant's jobs of a kind in one queue, so above 0 a tenant's jobs overtake the others'.
    pub max_priority: i16,
}

impl Default for Ceilings {
    fn default() -> Self {
        Self {
            max_rate_per_second: 1000,
            max_burst: 2000,
            max_keys: 100,
            max_priority: 100,
        }
    }
}

impl Ceilings {
    /// `rate` and `burst` as they apply: a stored value above a ceiling (set before the ceiling
    /// was lowered) counts as the ceiling.
    pub fn clamp_rate(&self, rate: i32, burst: i32) -> (i32, i32) {
        (
            rate.min(self.max_rate_per_second),
            burst.min(self.max_burst),
        )
    }
}

/// The tenant `id`.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Tenant, DomainError> {
    sqlx::query_as!(
        Tenant,
        r#"SELECT id, name, rate_limit_per_second, rate_limit_burst, job_retention_secs, queue_weight,
                  max_running, kind_limits, created_at, updated_at
           FROM tenants WHERE id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(DomainError::NotFound("tenant"))
}

/// Applies `patch` to tenant `id`, returning (before, after).
pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    patch: &SettingsPatch,
) -> Result<(Tenant, Tenant), DomainError> {
    patch.validate()?;
    let before = sqlx::query_as!(
        Tenant,
        r#"SELECT id, name, rate_limit_per_second, rate_limit_burst, job_retention_secs, queue_weight,
                  max_running, kind_limits, created_at, updated_at
           FROM tenants WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("tenant"))?;
    let retention = match patch.job_retention_secs {
        Some(v) => v,
        None => before.job_retention_secs,
    };
    let after = sqlx::query_as!(
        Tenant,
        r#"UPDATE tenants SET rate_limit_per_second = $2, rate_limit_burst = $3, job_retention_secs = $4,
                  updated_at = now()
           WHERE id = $1
           RETURNING id, name, rate_limit_per_second, rate_limit_burst, job_retention_secs, queue_weight,
                     max_running, kind_limits, created_at, updated_at"#,
        id,
        patch.rate_limit_per_second.unwrap_or(before.rate_limit_per_second),
        patch.rate_limit_burst.unwrap_or(before.rate_limit_burst),
        retention
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((before, after))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_patch_above_a_ceiling_names_the_field_and_the_ceiling() {
        let ceilings = Ceilings {
            max_rate_per_second: 100,
            max_burst: 200,
            ..Ceilings::default()
        };
        let ok =
            SettingsPatch::parse(json!({"rate_limit_per_second": 100, "rate_limit_burst": 200}))
                .unwrap();
        assert_eq!(ok.within(&ceilings), Ok(()));
        for (body, path) in [
            (
                json!({"rate_limit_per_second": 101}),
                "rate_limit_per_second",
            ),
            (json!({"rate_limit_burst": 100_000}), "rate_limit_burst"),
        ] {
            let err = SettingsPatch::parse(body)
                .unwrap()
                .within(&ceilings)
                .unwrap_err();
            assert_eq!(err.path, path);
            assert!(err.message.contains("ceiling"), "{}", err.message);
        }
        assert_eq!(ceilings.clamp_rate(5000, 50), (100, 50));
    }

    #[test]
    fn patches_are_parsed_with_paths() {
        let p =
            SettingsPatch::parse(json!({"rate_limit_per_second": 5, "job_retention_secs": null}))
                .unwrap();
        assert_eq!(p.rate_limit_per_second, Some(5));
        assert_eq!(p.job_retention_secs, Some(None));
        for (body, path) in [
            (json!({"rate_limit_burst": 0}), "rate_limit_burst"),
            (
                json!({"rate_limit_per_second": "fast"}),
                "rate_limit_per_second",
            ),
            (json!({"job_retention_secs": 5}), "job_retention_secs"),
            (json!({"colour": "red"}), "colour"),
            (json!([]), ""),
        ] {
            assert_eq!(
                SettingsPatch::parse(body.clone()).unwrap_err().path,
                path,
                "{body}"
            );
        }
    }
}
