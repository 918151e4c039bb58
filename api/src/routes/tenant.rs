//! `/tenant`: the caller's own tenant and its settings (admins only).

use chrono::{DateTime, Utc};
use jobs::{auth::Role, tenants};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{ApiTags, audited};
use crate::{
    api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

/// A tenant and its settings.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Tenant {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Requests a second each of its keys may make, sustained (per api process; no more than
    /// the server's ceiling, whatever is stored).
    pub rate_limit_per_second: i32,
    /// Requests a key may make in a burst (per api process).
    pub rate_limit_burst: i32,
    /// How long its succeeded and cancelled jobs are kept, in seconds; null means the server's
    /// default (`JOB_RETENTION_SECS`).
    pub job_retention_secs: Option<i32>,
    /// Its weight when tenants share the workers: a tenant of weight 3 gets three times the
    /// claims of one of weight 1 while both have work. Set by the operator (`api
    /// set-tenant-queue`), not through the API.
    pub queue_weight: i16,
    /// Most of its jobs running at once across every worker; absent: no cap. Operator-set.
    pub max_running: Option<i32>,
    /// Most of its jobs of a kind running at once, per kind (`{"classify_signal": 4}`); such
    /// jobs carry the concurrency key `kind:<kind>`. Operator-set.
    pub kind_limits: std::collections::BTreeMap<String, i32>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its settings last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<tenants::Tenant> for Tenant {
    fn from(t: tenants::Tenant) -> Self {
        Self {
            id: t.id,
            name: t.name,
            rate_limit_per_second: t.rate_limit_per_second,
            rate_limit_burst: t.rate_limit_burst,
            job_retention_secs: t.job_retention_secs,
            queue_weight: t.queue_weight,
            max_running: t.max_running,
            kind_limits: serde_json::from_value(t.kind_limits).unwrap_or_default(),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// The request body of `updateTenant`: only the fields to change.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantPatchSchema {
    /// 1 to 100000, and no more than the server's ceiling (`TENANT_MAX_RATE_PER_SECOND`).
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub rate_limit_per_second: Option<i32>,
    /// 1 to 100000, and no more than the server's ceiling (`TENANT_MAX_BURST`).
    #[oai(validator(minimum(value = "1"), maximum(value = "100000")))]
    pub rate_limit_burst: Option<i32>,
    /// 60 to 31536000 seconds, or null for the server's default.
    #[oai(validator(minimum(value = "60"), maximum(value = "31536000")))]
    pub job_retention_secs: Option<i32>,
}

/// The `/tenant` operations.
pub struct TenantApi;

#[OpenApi(tag = "ApiTags::Access")]
impl TenantApi {
    /// Get the tenant
    ///
    /// The caller's tenant and its settings. Needs the admin role.
    #[oai(path = "/tenant", method = "get", operation_id = "getTenant")]
    async fn get(&self, auth: Auth, state: Data<&AppState>) -> GetTenantResponse {
        respond(get_tenant(&state, &auth).await)
    }

    /// Change the tenant's settings
    ///
    /// Rate limits apply to the next request in the api process that made the change, and in
    /// the others within 10 seconds. Neither may exceed the server's ceilings
    /// (`TENANT_MAX_RATE_PER_SECOND`, `TENANT_MAX_BURST`): above one, a 422 names the field and
    /// the ceiling. Needs the admin role.
    #[oai(path = "/tenant", method = "patch", operation_id = "updateTenant")]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The settings to change.
        body: Json<JsonAs<TenantPatchSchema>>,
    ) -> UpdateTenantResponse {
        respond(update_tenant(&state, &auth, &origin, body.0.value).await)
    }
}

api_responses! {
    /// Outcomes of `getTenant`.
    pub enum GetTenantResponse {
        /// The tenant.
        #[oai(status = 200)]
        Ok(Json<Tenant>),
    }
    problems {
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `updateTenant`.
    pub enum UpdateTenantResponse {
        /// The tenant, changed.
        #[oai(status = 200)]
        Ok(Json<Tenant>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn get_tenant(state: &AppState, auth: &Auth) -> Result<GetTenantResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let tenant = tenants::get(&state.pool, principal.tenant_id).await?;
    Ok(GetTenantResponse::Ok(Json(tenant.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn update_tenant(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: serde_json::Value,
) -> Result<UpdateTenantResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let patch = tenants::SettingsPatch::parse(body)?;
    patch.within(&state.ceilings)?;
    let mut tx = state.pool.begin().await?;
    let (before, after) = tenants::update(&mut tx, principal.tenant_id, &patch).await?;
    let target = ("tenant", principal.tenant_id);
    audited(
        &mut tx,
        &principal,
        origin,
        "tenant.update",
        target,
        Some(&before),
        &after,
    )
    .await?;
    tx.commit().await?;
    state.limits.forget_tenant(principal.tenant_id).await;
    Ok(UpdateTenantResponse::Ok(Json(after.into())))
}
