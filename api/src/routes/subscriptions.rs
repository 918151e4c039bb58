//! `/subscriptions`: customers' endpoints for event types, sent as signed Standard Webhooks
//! with retries on a published schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
//! 10 h, with jitter).
//!
//! Viewers read; admins change. The signing secret is shown once: when the subscription is
//! created, and when it is rotated.

use chrono::{DateTime, Utc};
use jobs::{
    auth::Role,
    deliveries::subscriptions::{self, NewSubscription, SubscriptionPatch},
};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use secrecy::ExposeSecret;
use serde_json::Value;
use uuid::Uuid;

use super::ApiTags;
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

/// A subscription to create.
#[derive(Object)]
#[oai(rename = "NewSubscription")]
pub struct NewSubscriptionSchema {
    /// The endpoint (https).
    #[oai(validator(max_length = 2000))]
    pub url: String,
    /// What it is for.
    #[oai(validator(max_length = 500))]
    pub description: Option<String>,
    /// Event types (`lead.created`), families (`lead.*`) or `*`: `signal.classified`,
    /// `lead.created`, `lead.scored`, `budget.alert`, `job.dead`, `run.succeeded`,
    /// `run.failed`, `subscription.disabled`, `destination.disabled`, `source.economics`.
    pub event_types: Vec<String>,
}

/// A change of a subscription; every field is optional.
#[derive(Object)]
#[oai(rename = "SubscriptionPatch")]
pub struct SubscriptionPatchSchema {
    /// A new endpoint.
    #[oai(validator(max_length = 2000))]
    pub url: Option<String>,
    /// A new description.
    #[oai(validator(max_length = 500))]
    pub description: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// Enable (forgetting how long it had been failing) or disable.
    pub enabled: Option<bool>,
}

/// Rotate the signing secret.
#[derive(Object)]
#[oai(rename = "RotateSubscriptionSecret")]
pub struct RotateSchema {
    /// Keep signing with the previous secret too, until the next rotation (default true), so
    /// the receiver can switch without missing a message.
    pub keep_previous: Option<bool>,
}

/// A subscription (never its secrets).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Subscription {
    /// Its id.
    pub id: Uuid,
    /// The endpoint.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// Event types and families it receives.
    pub event_types: Vec<String>,
    /// Whether events go to it.
    pub enabled: bool,
    /// Why it was disabled (410 Gone, or 5 days of failed attempts).
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<subscriptions::Subscription> for Subscription {
    fn from(s: subscriptions::Subscription) -> Self {
        Self {
            id: s.id,
            url: s.url,
            description: s.description,
            event_types: s.event_types,
            enabled: s.enabled,
            disabled_reason: s.disabled_reason,
            failing_since: s.failing_since,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A subscription with its signing secret (shown this once).
#[derive(Debug, Clone, Object)]
pub struct SubscriptionWithSecret {
    /// The subscription.
    pub subscription: Subscription,
    /// The `whsec_…` secret: verify `webhook-signature` with it. Not shown again.
    pub signing_secret: String,
}

/// The tenant's subscriptions.
#[derive(Debug, Clone, Object)]
pub struct SubscriptionList {
    /// Newest first.
    pub items: Vec<Subscription>,
}

/// The `/subscriptions` operations.
pub struct SubscriptionsApi;

#[OpenApi(tag = "ApiTags::Deliveries")]
impl SubscriptionsApi {
    /// Subscribe an endpoint to events
    ///
    /// The answer holds the signing secret, this once. Needs the admin role.
    #[oai(
        path = "/subscriptions",
        method = "post",
        operation_id = "createSubscription"
    )]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The subscription.
        body: Json<JsonAs<NewSubscriptionSchema>>,
    ) -> CreateSubscriptionResponse {
        respond(create_subscription(&state, &auth, &origin, body.0.value).await)
    }

    /// List subscriptions
    #[oai(
        path = "/subscriptions",
        method = "get",
        operation_id = "listSubscriptions"
    )]
    async fn list(&self, auth: Auth, state: Data<&AppState>) -> ListSubscriptionsResponse {
        respond(list_subscriptions(&state, &auth).await)
    }

    /// Get a subscription
    #[oai(
        path = "/subscriptions/:id",
        method = "get",
        operation_id = "getSubscription"
    )]
    async fn get(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> GetSubscriptionResponse {
        respond(get_subscription(&state, &auth, id.0).await)
    }

    /// Change a subscription
    ///
    /// Needs the admin role.
    #[oai(
        path = "/subscriptions/:id",
        method = "patch",
        operation_id = "updateSubscription"
    )]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The change.
        body: Json<JsonAs<SubscriptionPatchSchema>>,
    ) -> UpdateSubscriptionResponse {
        respond(update_subscription(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Rotate a subscription's signing secret
    ///
    /// The answer holds the new secret, this once. Needs the admin role.
    #[oai(
        path = "/subscriptions/:id/rotate-secret",
        method = "post",
        operation_id = "rotateSubscriptionSecret"
    )]
    async fn rotate(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// Options.
        body: Json<JsonAs<RotateSchema>>,
    ) -> RotateSubscriptionSecretResponse {
        respond(rotate_secret(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Delete a subscription
    ///
    /// Its deliveries go with it. Needs the admin role.
    #[oai(
        path = "/subscriptions/:id",
        method = "delete",
        operation_id = "deleteSubscription"
    )]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeleteSubscriptionResponse {
        respond(delete_subscription(&state, &auth, &origin, id.0).await)
    }
}

api_responses! {
    /// Outcomes of `createSubscription`.
    pub enum CreateSubscriptionResponse {
        /// The subscription was created.
        #[oai(status = 201)]
        Created(
            Json<SubscriptionWithSecret>,
            /// Where the subscription can be read.
            #[oai(header = "Location")]
            String,
        ),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid (a private or non-https URL, an unknown event type); `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listSubscriptions`.
    pub enum ListSubscriptionsResponse {
        /// The subscriptions.
        #[oai(status = 200)]
        Ok(Json<SubscriptionList>),
    }
    problems {
        401 => Unauthorized,
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getSubscription`.
    pub enum GetSubscriptionResponse {
        /// The subscription.
        #[oai(status = 200)]
        Ok(Json<Subscription>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such subscription in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `updateSubscription`.
    pub enum UpdateSubscriptionResponse {
        /// The subscription as it is now.
        #[oai(status = 200)]
        Ok(Json<Subscription>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such subscription in this tenant.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `rotateSubscriptionSecret`.
    pub enum RotateSubscriptionSecretResponse {
        /// The new secret.
        #[oai(status = 200)]
        Ok(Json<SubscriptionWithSecret>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such subscription in this tenant.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteSubscription`.
    pub enum DeleteSubscriptionResponse {
        /// The subscription is gone.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such subscription in this tenant.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, subscription_id))]
async fn create_subscription(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: Value,
) -> Result<CreateSubscriptionResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let new = NewSubscription::parse(body, state.allow_private_networks)?;
    let mut tx = state.pool.begin().await?;
    let (id, secret) =
        subscriptions::create(&mut tx, principal.tenant_id, &origin.actor(&principal), new).await?;
    let subscription = subscriptions::get(&mut tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    tracing::Span::current().record("subscription_id", tracing::field::display(id));
    Ok(CreateSubscriptionResponse::Created(
        Json(SubscriptionWithSecret {
            subscription: subscription.into(),
            signing_secret: secret.expose_secret().to_owned(),
        }),
        format!("{API_PREFIX}/subscriptions/{id}"),
    ))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_subscriptions(
    state: &AppState,
    auth: &Auth,
) -> Result<ListSubscriptionsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let items = subscriptions::list(&state.pool, principal.tenant_id).await?;
    Ok(ListSubscriptionsResponse::Ok(Json(SubscriptionList {
        items: items.into_iter().map(Subscription::from).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, subscription_id = %id))]
async fn get_subscription(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<GetSubscriptionResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let mut conn = state.pool.acquire().await?;
    let s = subscriptions::get(&mut conn, principal.tenant_id, id).await?;
    Ok(GetSubscriptionResponse::Ok(Json(s.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, subscription_id = %id))]
async fn update_subscription(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: Value,
) -> Result<UpdateSubscriptionResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let patch = SubscriptionPatch::parse(body, state.allow_private_networks)?;
    let mut tx = state.pool.begin().await?;
    subscriptions::update(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        patch,
    )
    .await?;
    let s = subscriptions::get(&mut tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    Ok(UpdateSubscriptionResponse::Ok(Json(s.into())))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    #[serde(default = "keep")]
    keep_previous: bool,
}

fn keep() -> bool {
    true
}

#[tracing::instrument(skip_all, fields(tenant_id, subscription_id = %id))]
async fn rotate_secret(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: Value,
) -> Result<RotateSubscriptionSecretResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let body: RotateBody = jobs::kinds::from_value(body)?;
    let mut tx = state.pool.begin().await?;
    let secret = subscriptions::rotate_secret(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        body.keep_previous,
    )
    .await?;
    let s = subscriptions::get(&mut tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    Ok(RotateSubscriptionSecretResponse::Ok(Json(
        SubscriptionWithSecret {
            subscription: s.into(),
            signing_secret: secret.expose_secret().to_owned(),
        },
    )))
}

#[tracing::instrument(skip_all, fields(tenant_id, subscription_id = %id))]
async fn delete_subscription(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DeleteSubscriptionResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    subscriptions::delete(&mut tx, principal.tenant_id, &origin.actor(&principal), id).await?;
    tx.commit().await?;
    Ok(DeleteSubscriptionResponse::Deleted)
}
