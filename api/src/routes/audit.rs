//! `/audit`: the tenant's audit log (admins only): who did what, with the state before and
//! after, newest first.

use chrono::{DateTime, Utc};
use jobs::{FieldError, audit, auth::Role, paging};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Query, payload::Json};
use uuid::Uuid;

use super::{
    ApiTags,
    common::{time_param, uuid_param},
};
use crate::{
    api_responses,
    app::AppState,
    auth::Auth,
    problem::{ApiError, respond},
};

/// One change.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditEntry {
    /// Its id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// The key that made the change (none for the command line).
    pub actor_key_id: Option<Uuid>,
    /// That key's role.
    pub actor_role: Option<String>,
    /// What was done, e.g. `job.cancel`, `key.rotate`.
    pub action: String,
    /// The kind of thing changed: `job`, `job_batch`, `key`, `tenant`.
    pub target_type: String,
    /// Its id.
    pub target_id: String,
    /// The state before (none when created); secrets are redacted.
    pub before: Option<serde_json::Value>,
    /// The state after (none when deleted); secrets are redacted.
    pub after: Option<serde_json::Value>,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
}

impl From<audit::Entry> for AuditEntry {
    fn from(e: audit::Entry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_key_id: e.actor_key_id,
            actor_role: e.actor_role,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            before: e.before,
            after: e.after,
            request_id: e.request_id,
            client_addr: e.client_addr,
        }
    }
}

/// A page of the audit log.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent at the end.
    pub next_cursor: Option<Uuid>,
}

/// The `/audit` operation.
pub struct AuditApi;

#[OpenApi(tag = "ApiTags::Access")]
impl AuditApi {
    /// List the audit log
    ///
    /// Every change made through the api, newest first. Needs the admin role.
    #[oai(path = "/audit", method = "get", operation_id = "listAudit")]
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only entries about this id (a job's, a key's, ...).
        target: Query<Option<String>>,
        /// Only entries made with this key id.
        actor: Query<Option<String>>,
        /// Only entries at or after this time (RFC 3339).
        since: Query<Option<String>>,
        /// The previous page's `next_cursor`.
        cursor: Query<Option<String>>,
        /// Page size, 1 to 500 (default 50).
        limit: Query<Option<i64>>,
    ) -> ListAuditResponse {
        let params = (target.0, actor.0, since.0, cursor.0, limit.0);
        respond(list_audit(&state, &auth, params).await)
    }
}

api_responses! {
    /// Outcomes of `listAudit`.
    pub enum ListAuditResponse {
        /// A page of entries.
        #[oai(status = 200)]
        Ok(Json<AuditPage>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read (`limit` is not a number).",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

type Params = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

fn filter((target, actor, since, cursor, limit): Params) -> Result<audit::Filter, FieldError> {
    let since = time_param("since", since)?;
    let limit = paging::check_limit(limit.unwrap_or(50))?;
    Ok(audit::Filter {
        target: target.filter(|s| !s.is_empty()),
        actor: uuid_param("actor", "a UUID", actor)?,
        since,
        before: uuid_param("cursor", "a UUID", cursor)?,
        limit,
    })
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_audit(
    state: &AppState,
    auth: &Auth,
    params: Params,
) -> Result<ListAuditResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let filter = filter(params)?;
    let (entries, next_cursor) = audit::list(&state.pool, principal.tenant_id, &filter).await?;
    Ok(ListAuditResponse::Ok(Json(AuditPage {
        items: entries.into_iter().map(AuditEntry::from).collect(),
        next_cursor,
    })))
}
