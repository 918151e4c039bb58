//! A workflow's webhook: `/workflows/{id}/webhook`, and its inbound URL `/hooks/{id}` that
//! starts runs. A workflow's other trigger, its cron schedules, is in [`super::schedules`].
//!
//! Changes need the operator role and are audited in their own transaction. A webhook's secret
//! is in the response that creates or rotates it, and nowhere else. `/hooks/{id}` takes no API
//! key: the signature made with the webhook's secret is the credential.

use chrono::{DateTime, Utc};
use jobs::{
    audit,
    auth::Role,
    workflows::webhooks::{self, HookError, Webhook},
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Path},
    payload::Json,
};
use secrecy::ExposeSecret;
use serde_json::Value;
use uuid::Uuid;

use super::{
    ApiTags, MAX_CORRELATION_ID, audited, runs::RunView, schedules::DeleteResponse,
    sources_models::RawJson, wake,
};
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    hook_limits::retry_after_secs,
    problem::{ApiError, Problem, respond},
};

// ---------------------------------------------------------------------------------------------
// Schemas

/// A workflow's webhook (never its secret).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "Webhook")]
pub struct WebhookView {
    /// Its id.
    pub id: Uuid,
    /// Its workflow.
    pub workflow_id: Uuid,
    /// Where to send signed requests: `POST /api/v1/hooks/{id}`.
    pub url: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its secret was last rotated.
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the previous secret still verifies.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When a signed request last started a run.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            url: format!("{API_PREFIX}/hooks/{}", w.id),
            id: w.id,
            workflow_id: w.workflow_id,
            created_at: w.created_at,
            rotated_at: w.rotated_at,
            previous_secret_expires_at: w.previous_secret_expires_at,
            last_used_at: w.last_used_at,
        }
    }
}

/// A webhook with its new secret: shown here, and never again.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "WebhookSecret")]
pub struct WebhookSecret {
    /// The webhook.
    pub webhook: WebhookView,
    /// `whsec_` + 64 hex digits. Sign each request with it: `X-Demandflow-Signature:
    /// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
    pub secret: String,
}

// ---------------------------------------------------------------------------------------------
// Operations

/// The webhook operations.
pub struct WebhooksApi;

#[OpenApi(tag = "ApiTags::Workflows")]
impl WebhooksApi {
    /// Create or rotate a workflow's webhook
    ///
    /// Gives the workflow a URL (`/api/v1/hooks/{id}`) where HMAC-signed requests start runs
    /// with their body as input, and answers its secret — shown here and never again. When the
    /// workflow has one already, its secret is rotated: the URL stays, and the previous secret
    /// keeps working for 24 hours. Needs the operator role.
    #[oai(
        path = "/workflows/:id/webhook",
        method = "post",
        operation_id = "createWebhook"
    )]
    async fn create_webhook(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> CreateWebhookResponse {
        respond(create_webhook(&state, &auth, &origin, id.0).await)
    }

    /// Get a workflow's webhook
    ///
    /// Its URL and dates, never its secret.
    #[oai(
        path = "/workflows/:id/webhook",
        method = "get",
        operation_id = "getWebhook"
    )]
    async fn get_webhook(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> GetWebhookResponse {
        respond(get_webhook(&state, &auth, id.0).await)
    }

    /// Delete a workflow's webhook
    ///
    /// Its URL stops working at once. Needs the operator role.
    #[oai(
        path = "/workflows/:id/webhook",
        method = "delete",
        operation_id = "deleteWebhook"
    )]
    async fn delete_webhook(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeleteResponse {
        respond(delete_webhook(&state, &auth, &origin, id.0).await)
    }

    /// Start a run through a webhook
    ///
    /// No API key: the request must carry `X-Demandflow-Signature: t=<unix seconds>,v1=<hex
    /// HMAC-SHA256 of "<t>.<raw body>">` made with the webhook's secret, at most 5 minutes off.
    /// The body (a JSON object) becomes the run's input. An unknown webhook, or a missing,
    /// malformed, stale or wrong signature, is the same 401; a disabled workflow, or a signed
    /// request sent again (each is accepted once), is a 409. Each webhook takes at most
    /// `HOOK_RATE_PER_MINUTE` calls a minute (429 with `Retry-After` beyond).
    #[oai(path = "/hooks/:id", method = "post", operation_id = "triggerWebhook")]
    async fn trigger(
        &self,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
        #[oai(name = "X-Demandflow-Signature")]
        signature: Header<Option<String>>,
        /// Any JSON object: the run's input.
        body: RawJson<Value>,
    ) -> TriggerWebhookResponse {
        respond(trigger(&state, &origin, id.0, signature.0, &body.bytes).await)
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// The one answer to a webhook request that is not signed with the webhook's secret, or to an
/// unknown webhook.
pub const HOOK_REFUSED: &str = "a valid X-Demandflow-Signature made with this webhook's secret \
     is required: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\"> (no more detail is \
     given to unsigned callers)";

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %workflow_id))]
async fn create_webhook(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    workflow_id: Uuid,
) -> Result<CreateWebhookResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    let (before, after, secret) =
        webhooks::create_or_rotate(&mut tx, principal.tenant_id, workflow_id).await?;
    let action = if before.is_some() {
        "webhook.rotate"
    } else {
        "webhook.create"
    };
    audited(
        &mut tx,
        &principal,
        origin,
        action,
        ("webhook", after.id),
        before.as_ref(),
        &after,
    )
    .await?;
    tx.commit().await?;
    Ok(CreateWebhookResponse::Created(Json(WebhookSecret {
        webhook: after.into(),
        secret: secret.expose_secret().to_owned(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %workflow_id))]
async fn get_webhook(
    state: &AppState,
    auth: &Auth,
    workflow_id: Uuid,
) -> Result<GetWebhookResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let w = webhooks::get(&state.pool, principal.tenant_id, workflow_id).await?;
    Ok(GetWebhookResponse::Ok(Json(w.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, workflow_id = %workflow_id))]
async fn delete_webhook(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    workflow_id: Uuid,
) -> Result<DeleteResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    let before = webhooks::delete(&mut tx, principal.tenant_id, workflow_id).await?;
    audit::record(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        audit::Change {
            action: "webhook.delete",
            target_type: "webhook",
            target_id: before.id.to_string(),
            before: serde_json::to_value(&before).ok(),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(DeleteResponse::Deleted)
}

#[tracing::instrument(skip_all, fields(tenant_id, webhook_id = %id, run_id))]
async fn trigger(
    state: &AppState,
    origin: &Origin,
    id: Uuid,
    signature: Option<String>,
    body: &[u8],
) -> Result<TriggerWebhookResponse, ApiError> {
    if let Err(wait) = state.hook_limits.take(id).await {
        return Ok(TriggerWebhookResponse::RateLimited(
            Json(
                ApiError::TooManyRequests(
                    "this webhook is over its rate of calls (HOOK_RATE_PER_MINUTE); see Retry-After"
                        .into(),
                )
                .to_problem(),
            ),
            retry_after_secs(wait),
        ));
    }
    let actor = audit::Actor {
        request_id: Some(origin.request_id.chars().take(MAX_CORRELATION_ID).collect()),
        client_addr: origin.client_addr.clone(),
        ..audit::Actor::default()
    };
    match webhooks::trigger(&state.pool, id, signature.as_deref(), body, &actor).await {
        Ok(t) => {
            let span = tracing::Span::current();
            span.record("tenant_id", tracing::field::display(t.tenant_id));
            span.record("run_id", tracing::field::display(t.run.id));
            wake(state, &t.kinds);
            Ok(TriggerWebhookResponse::Created(Json(RunView::of(
                t.run, true,
            ))))
        }
        // One answer for every refusal, whatever the reason (logged for the operator), so a
        // caller without the secret cannot tell a known webhook from an unknown one.
        Err(HookError::Refused(why)) => {
            tracing::info!(reason = why, "refused a webhook request");
            Err(ApiError::Other(
                poem::http::StatusCode::UNAUTHORIZED,
                HOOK_REFUSED.to_owned(),
            ))
        }
        Err(e @ HookError::Replayed) => Err(ApiError::Conflict(e.to_string())),
        Err(HookError::Domain(e)) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

api_responses! {
    /// Outcomes of `createWebhook`.
    pub enum CreateWebhookResponse {
        /// The webhook and its new secret (shown only here).
        #[oai(status = 201)]
        Created(Json<WebhookSecret>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        403 => Forbidden: "The key's role is too low for this operation.",
        404 => NotFound: "No such workflow in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getWebhook`.
    pub enum GetWebhookResponse {
        /// The webhook (without its secret).
        #[oai(status = 200)]
        Ok(Json<WebhookView>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        404 => NotFound: "No such workflow in this tenant, or it has no webhook.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `triggerWebhook`.
    pub enum TriggerWebhookResponse {
        /// The run, with its root steps' jobs enqueued.
        #[oai(status = 201)]
        Created(Json<RunView>),
        /// Over this webhook's rate of calls (`HOOK_RATE_PER_MINUTE`), or too many bad keys
        /// from this address.
        #[oai(status = 429, content_type = "application/problem+json")]
        RateLimited(
            Json<Problem>,
            /// Seconds to wait before calling again.
            #[oai(header = "Retry-After")]
            u64,
        ),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized: "No such webhook, or the signature is missing, malformed, stale or wrong.",
        409 => Conflict: "The workflow is disabled, or this signed request was already accepted (a replay).",
        413 => PayloadTooLarge,
        422 => Invalid: "The signed body is not a JSON object, or holds a NUL character.",
    }
}
