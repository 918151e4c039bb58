//! `/deliveries`: the delivery log — every message to a destination or subscription, its state
//! and every attempt with what the other side answered — and sending again: one delivery, or
//! every dead one since a time.
//!
//! Viewers read; operators redeliver and recover.

use chrono::{DateTime, Utc};
use jobs::{
    FieldError,
    auth::Role,
    deliveries::{DeliveryState, log},
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use serde_json::Value;
use uuid::Uuid;

use super::{ApiTags, common::parse_cursor};
use crate::{
    api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

/// One attempt of a delivery.
#[derive(Debug, Clone, Object)]
#[oai(rename = "DeliveryAttempt", skip_serializing_if_is_none)]
pub struct Attempt {
    /// When.
    pub attempted_at: DateTime<Utc>,
    /// `delivered`, `rate_limited`, `gone`, `rejected` or `failed`.
    pub outcome: String,
    /// The answer's HTTP (or SMTP) status; none when nothing answered.
    pub status: Option<i32>,
    /// How long the call took.
    pub latency_ms: i32,
    /// The start of the answer (never a credential).
    pub excerpt: String,
}

/// A message to a destination or a subscription.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Delivery {
    /// Its id: the `webhook-id` a receiver sees, and the email's Message-ID.
    pub id: Uuid,
    /// Its unique key: one delivery per key, ever.
    pub delivery_key: String,
    /// The event it tells of (none for digests and tests).
    pub event_id: Option<Uuid>,
    /// The event's type.
    pub event_type: String,
    /// What it is about (`signal:<id>`, `lead:<id>`, `digest:<rule>`, ...).
    pub subject: String,
    /// The rule that made it.
    pub rule_id: Option<Uuid>,
    /// Its destination, for an alert.
    pub destination_id: Option<Uuid>,
    /// Its subscription, for an event webhook.
    pub subscription_id: Option<Uuid>,
    /// `pending`, `sent`, `confirmed`, `failed` (retrying), `dead` or `suppressed`.
    pub state: String,
    /// Why it is dead or suppressed.
    pub reason: Option<String>,
    /// Attempts made (a 429 does not count).
    pub attempts: i32,
    /// The last answer's status.
    pub last_status: Option<i32>,
    /// The provider's message id (Discord, Telegram), or the email's Message-ID.
    pub receipt: Option<String>,
    /// The latest `deliver` job.
    pub job_id: Option<Uuid>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the service accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// The message's data (on `getDelivery` only).
    pub data: Option<Value>,
    /// Every attempt, oldest first (on `getDelivery` only).
    pub attempts_log: Option<Vec<Attempt>>,
}

impl From<log::Delivery> for Delivery {
    fn from(d: log::Delivery) -> Self {
        Self {
            id: d.id,
            delivery_key: d.delivery_key,
            event_id: d.event_id,
            event_type: d.event_type,
            subject: d.subject,
            rule_id: d.rule_id,
            destination_id: d.destination_id,
            subscription_id: d.subscription_id,
            state: d.state.as_str().to_owned(),
            reason: d.reason,
            attempts: d.attempts,
            last_status: d.last_status,
            receipt: d.receipt,
            job_id: d.job_id,
            created_at: d.created_at,
            updated_at: d.updated_at,
            sent_at: d.sent_at,
            data: None,
            attempts_log: None,
        }
    }
}

impl From<log::DeliveryDetail> for Delivery {
    fn from(d: log::DeliveryDetail) -> Self {
        Self {
            data: Some(d.data),
            attempts_log: Some(
                d.attempts_log
                    .into_iter()
                    .map(|a| Attempt {
                        attempted_at: a.attempted_at,
                        outcome: a.outcome,
                        status: a.status,
                        latency_ms: a.latency_ms,
                        excerpt: a.excerpt,
                    })
                    .collect(),
            ),
            ..Delivery::from(d.delivery)
        }
    }
}

/// A page of deliveries.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DeliveryPage {
    /// Newest first.
    pub items: Vec<Delivery>,
    /// Pass as `cursor` for the next page; absent at the end.
    pub next_cursor: Option<Uuid>,
}

/// Send a delivery again.
#[derive(Object)]
#[oai(rename = "Redeliver")]
pub struct RedeliverSchema {
    /// Send even a delivery the service accepted (its receiver sees the same `webhook-id`).
    pub force: Option<bool>,
}

/// Send again every dead delivery since a time.
#[derive(Object)]
#[oai(rename = "Recover")]
pub struct RecoverSchema {
    /// Deliveries written at or after this time (RFC 3339).
    pub since: DateTime<Utc>,
    /// Only to this destination.
    pub destination_id: Option<Uuid>,
    /// Only to this subscription.
    pub subscription_id: Option<Uuid>,
}

/// What a redelivery enqueued.
#[derive(Debug, Clone, Object)]
pub struct Redelivered {
    /// The new `deliver` job.
    pub job_id: Uuid,
}

/// What a recovery enqueued.
#[derive(Debug, Clone, Object)]
pub struct Recovered {
    /// Deliveries sent again.
    pub deliveries: u64,
}

/// A `deliver` job: send one delivery, or a workflow step's alert.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "DeliverJob")]
pub struct DeliverJob {
    /// What to send.
    pub args: DeliverArgs,
    /// Options every kind takes.
    #[oai(flatten)]
    pub options: crate::models::JobOptions,
}

/// Args of a `deliver` job: `delivery_id` alone, or `destination_id` with `data` (and an
/// optional `subject`: one alert per subject and destination, ever).
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "DeliverArgs")]
pub struct DeliverArgs {
    /// A delivery of the caller's tenant (written by the dispatcher).
    pub delivery_id: Option<Uuid>,
    /// A destination of the caller's tenant.
    pub destination_id: Option<Uuid>,
    /// What the alert is about (`signal:<id>`), 1 to 200 bytes.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub subject: Option<String>,
    /// The message's data: title, url, score, category, contact...
    pub data: Option<Value>,
}

/// The `/deliveries` operations.
pub struct DeliveriesApi;

#[OpenApi(tag = "ApiTags::Deliveries")]
impl DeliveriesApi {
    /// List deliveries
    ///
    /// Newest first, filtered by destination, subscription, rule, state and time.
    #[oai(path = "/deliveries", method = "get", operation_id = "listDeliveries")]
    #[allow(clippy::too_many_arguments)] // poem-openapi takes one argument per query parameter
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only to this destination.
        destination_id: Query<Option<Uuid>>,
        /// Only to this subscription.
        subscription_id: Query<Option<Uuid>>,
        /// Only made by this rule.
        rule_id: Query<Option<Uuid>>,
        /// Only in this state (`pending`, `sent`, `confirmed`, `failed`, `dead`, `suppressed`).
        #[oai(name = "state")]
        delivery_state: Query<Option<String>>,
        /// Written at or after this time (RFC 3339).
        since: Query<Option<DateTime<Utc>>>,
        /// Written before this time (RFC 3339).
        until: Query<Option<DateTime<Utc>>>,
        /// The previous page's `next_cursor`.
        cursor: Query<Option<String>>,
        /// Page size, 1 to 500 (default 50).
        limit: Query<Option<i64>>,
    ) -> ListDeliveriesResponse {
        let filter = (|| {
            let delivery_state = delivery_state
                .0
                .filter(|s| !s.is_empty())
                .map(|s| {
                    DeliveryState::parse(&s).ok_or_else(|| {
                        FieldError::new(
                            "state",
                            format!("expected one of {}", DeliveryState::names()),
                        )
                    })
                })
                .transpose()?;
            Ok::<_, FieldError>(log::Filter {
                destination_id: destination_id.0,
                subscription_id: subscription_id.0,
                rule_id: rule_id.0,
                state: delivery_state,
                since: since.0,
                until: until.0,
                limit: jobs::paging::check_limit(limit.0.unwrap_or(jobs::paging::DEFAULT_PAGE))?,
                cursor: parse_cursor(cursor.0)?,
            })
        })();
        respond(list_deliveries(&state, &auth, filter).await)
    }

    /// Get a delivery
    ///
    /// With its data and every attempt.
    #[oai(path = "/deliveries/:id", method = "get", operation_id = "getDelivery")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetDeliveryResponse {
        respond(get_delivery(&state, &auth, id.0).await)
    }

    /// Send a delivery again
    ///
    /// A dead or suppressed delivery goes back to `pending` with a new `deliver` job; a sent
    /// one only with `force`. Needs the operator role.
    #[oai(
        path = "/deliveries/:id/redeliver",
        method = "post",
        operation_id = "redeliverDelivery"
    )]
    async fn redeliver(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// Options.
        body: Json<JsonAs<RedeliverSchema>>,
    ) -> RedeliverResponse {
        respond(redeliver(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Recover dead deliveries
    ///
    /// Sends again every dead delivery written since a time (at most 10,000 a call), to one
    /// destination or subscription or to all. Needs the operator role.
    #[oai(
        path = "/deliveries/recover",
        method = "post",
        operation_id = "recoverDeliveries"
    )]
    async fn recover(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// What to recover.
        body: Json<JsonAs<RecoverSchema>>,
    ) -> RecoverResponse {
        respond(recover(&state, &auth, &origin, body.0.value).await)
    }
}

api_responses! {
    /// Outcomes of `listDeliveries`.
    pub enum ListDeliveriesResponse {
        /// A page of deliveries.
        #[oai(status = 200)]
        Ok(Json<DeliveryPage>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getDelivery`.
    #[allow(clippy::large_enum_variant)] // short-lived; boxing would change nothing on the wire
    pub enum GetDeliveryResponse {
        /// The delivery with its attempts.
        #[oai(status = 200)]
        Ok(Json<Delivery>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such delivery in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `redeliverDelivery`.
    pub enum RedeliverResponse {
        /// The delivery is pending again.
        #[oai(status = 202)]
        Accepted(Json<Redelivered>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is a viewer's.",
        404 => NotFound: "No such delivery in this tenant.",
        409 => Conflict: "The delivery is pending or retrying, or was sent (pass `force`).",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `recoverDeliveries`.
    pub enum RecoverResponse {
        /// The dead deliveries are pending again.
        #[oai(status = 202)]
        Accepted(Json<Recovered>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is a viewer's.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_deliveries(
    state: &AppState,
    auth: &Auth,
    filter: Result<log::Filter, FieldError>,
) -> Result<ListDeliveriesResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let filter = filter?;
    let page = log::list(&state.pool, principal.tenant_id, &filter).await?;
    Ok(ListDeliveriesResponse::Ok(Json(DeliveryPage {
        items: page.items.into_iter().map(Delivery::from).collect(),
        next_cursor: page.next_cursor,
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, delivery_id = %id))]
async fn get_delivery(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<GetDeliveryResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let mut conn = state.pool.acquire().await?;
    let detail = log::get(&mut conn, principal.tenant_id, id).await?;
    Ok(GetDeliveryResponse::Ok(Json(detail.into())))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeliverBody {
    #[serde(default)]
    force: bool,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverBody {
    since: DateTime<Utc>,
    #[serde(default)]
    destination_id: Option<Uuid>,
    #[serde(default)]
    subscription_id: Option<Uuid>,
}

#[tracing::instrument(skip_all, fields(tenant_id, delivery_id = %id))]
async fn redeliver(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: Value,
) -> Result<RedeliverResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let body: RedeliverBody = jobs::kinds::from_value(body)?;
    let mut tx = state.pool.begin().await?;
    let job_id = log::redeliver(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        body.force,
    )
    .await?;
    tx.commit().await?;
    state.notifier.wake_kind("deliver");
    Ok(RedeliverResponse::Accepted(Json(Redelivered { job_id })))
}

#[tracing::instrument(skip_all, fields(tenant_id, recovered))]
async fn recover(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: Value,
) -> Result<RecoverResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let body: RecoverBody = jobs::kinds::from_value(body)?;
    let mut tx = state.pool.begin().await?;
    let n = log::recover(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        body.since,
        body.destination_id,
        body.subscription_id,
    )
    .await?;
    tx.commit().await?;
    tracing::Span::current().record("recovered", n);
    state.notifier.wake_kind("deliver");
    Ok(RecoverResponse::Accepted(Json(Recovered { deliveries: n })))
}
