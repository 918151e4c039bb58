//! `/keys`: create, list, rotate and revoke the tenant's API keys (admins only). A key's secret
//! is shown once, when it is created or rotated; only its hash is stored.

use chrono::{DateTime, Utc};
use jobs::auth::{self, IssuedKey, KeyInfo, NewKey, Role};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::{ApiTags, audited};
use crate::{
    api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

/// A key, never its secret.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Key {
    /// Its id.
    pub id: Uuid,
    /// What it is for.
    pub name: String,
    /// The visible start of the key, to tell keys apart.
    pub prefix: String,
    /// viewer, operator or admin.
    pub role: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last rotated.
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still works.
    pub previous_expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<KeyInfo> for Key {
    fn from(k: KeyInfo) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            role: k.role,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            rotated_at: k.rotated_at,
            previous_expires_at: k.previous_expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A key with its secret: the only time the secret is shown.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewKeyCreated {
    /// The key.
    #[oai(flatten)]
    pub info: Key,
    /// The whole secret: send it as `X-API-Key`. It cannot be shown again.
    pub key: String,
}

/// The request body of `createKey`.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewKeySchema {
    /// What the key is for (1 to 100 characters).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: String,
    /// viewer, operator or admin.
    pub role: RoleName,
    /// When it stops working (a future time); never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A role.
#[derive(Debug, Clone, Copy, poem_openapi::Enum)]
#[oai(rename_all = "lowercase")]
pub enum RoleName {
    /// Reads.
    Viewer,
    /// Reads, enqueues, cancels, retries and deletes.
    Operator,
    /// Everything, including keys, tenant settings and the audit log.
    Admin,
}

/// The tenant's keys.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct KeyList {
    /// Newest first.
    pub items: Vec<Key>,
}

/// The `/keys` operations.
pub struct KeysApi;

#[OpenApi(tag = "ApiTags::Access")]
impl KeysApi {
    /// Create a key
    ///
    /// The secret is in the response and nowhere else. A tenant holds at most the server's
    /// number of live keys (`TENANT_MAX_KEYS`, default 100): beyond, a 409. Needs the admin role.
    #[oai(path = "/keys", method = "post", operation_id = "createKey")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The new key.
        body: Json<JsonAs<NewKeySchema>>,
    ) -> CreateKeyResponse {
        respond(create_key(&state, &auth, &origin, body.0.value).await)
    }

    /// List keys
    ///
    /// Never shows secrets. Revoked keys are listed only with `include_revoked=true`. Needs the
    /// admin role.
    #[oai(path = "/keys", method = "get", operation_id = "listKeys")]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Also list revoked keys.
        include_revoked: Query<Option<bool>>,
    ) -> ListKeysResponse {
        respond(list_keys(&state, &auth, include_revoked.0.unwrap_or(false)).await)
    }

    /// Rotate a key
    ///
    /// Issues a new secret for the key. The old secret keeps working for the grace period
    /// (`KEY_ROTATION_GRACE_SECS`, default 24 h; see `previous_expires_at`), then stops. Needs
    /// the admin role.
    #[oai(path = "/keys/:id/rotate", method = "post", operation_id = "rotateKey")]
    async fn rotate(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> RotateKeyResponse {
        respond(rotate_key(&state, &auth, &origin, id.0).await)
    }

    /// Revoke a key
    ///
    /// The api process that revokes it refuses it at once, every other one within 5 seconds.
    /// The key stays listed (with `include_revoked=true`) for the history. Needs the admin role.
    #[oai(path = "/keys/:id", method = "delete", operation_id = "revokeKey")]
    async fn revoke(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> RevokeKeyResponse {
        respond(revoke_key(&state, &auth, &origin, id.0).await)
    }
}

api_responses! {
    /// Outcomes of `createKey`.
    pub enum CreateKeyResponse {
        /// The key, with its secret.
        #[oai(status = 201)]
        Created(Json<NewKeyCreated>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        409 => Conflict: "The tenant holds as many live keys as the server allows; revoke one first.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listKeys`.
    pub enum ListKeysResponse {
        /// The keys.
        #[oai(status = 200)]
        Ok(Json<KeyList>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `rotateKey`.
    pub enum RotateKeyResponse {
        /// The key with its new secret.
        #[oai(status = 200)]
        Ok(Json<NewKeyCreated>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such live key in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `revokeKey`.
    pub enum RevokeKeyResponse {
        /// The key, revoked.
        #[oai(status = 200)]
        Ok(Json<Key>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such key in this tenant.",
        409 => Conflict: "The key is already revoked.",
        429 => TooManyRequests,
    }
}

fn issued(key: &IssuedKey, info: KeyInfo) -> NewKeyCreated {
    NewKeyCreated {
        info: info.into(),
        key: key.secret.expose_secret().to_owned(),
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn create_key(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: serde_json::Value,
) -> Result<CreateKeyResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let new = NewKey::parse(body)?;
    let mut tx = state.pool.begin().await?;
    let key = auth::create_key_within(&mut tx, principal.tenant_id, &new, state.ceilings.max_keys)
        .await?;
    let info = auth::get_key(&mut tx, principal.tenant_id, key.id).await?;
    audited(
        &mut tx,
        &principal,
        origin,
        "key.create",
        ("key", key.id),
        None,
        &info,
    )
    .await?;
    tx.commit().await?;
    Ok(CreateKeyResponse::Created(Json(issued(&key, info))))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_keys(
    state: &AppState,
    auth: &Auth,
    include_revoked: bool,
) -> Result<ListKeysResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let keys = auth::list_keys(&state.pool, principal.tenant_id, include_revoked).await?;
    Ok(ListKeysResponse::Ok(Json(KeyList {
        items: keys.into_iter().map(Key::from).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, key_id = %id))]
async fn rotate_key(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<RotateKeyResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let before = auth::get_key(&mut tx, principal.tenant_id, id).await?;
    let key = auth::rotate_key(&mut tx, principal.tenant_id, id, state.key_rotation_grace).await?;
    let after = auth::get_key(&mut tx, principal.tenant_id, id).await?;
    audited(
        &mut tx,
        &principal,
        origin,
        "key.rotate",
        ("key", id),
        Some(&before),
        &after,
    )
    .await?;
    tx.commit().await?;
    Ok(RotateKeyResponse::Ok(Json(issued(&key, after))))
}

#[tracing::instrument(skip_all, fields(tenant_id, key_id = %id))]
async fn revoke_key(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<RevokeKeyResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let before = auth::get_key(&mut tx, principal.tenant_id, id).await?;
    let after = auth::revoke_key(&mut tx, principal.tenant_id, id).await?;
    audited(
        &mut tx,
        &principal,
        origin,
        "key.revoke",
        ("key", id),
        Some(&before),
        &after,
    )
    .await?;
    tx.commit().await?;
    state.authenticator.forget_key(id);
    Ok(RevokeKeyResponse::Ok(Json(after.into())))
}
