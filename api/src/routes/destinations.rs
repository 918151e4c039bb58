//! `/destinations`: where alerts go — a Standard Webhooks endpoint, a Slack or Discord webhook,
//! a Telegram chat, or email over SMTP.
//!
//! Viewers read; admins change. Credentials (webhook URLs that carry tokens, bot tokens, SMTP
//! passwords, signing secrets) are sealed before they are stored and never returned: a webhook's
//! signing secret is shown once, in the answer that creates the destination. `POST
//! /destinations/{id}/test` enqueues a test message and answers what the service said.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jobs::{
    auth::Role,
    deliveries::{
        DeliveryState,
        destinations::{self, DestinationPatch, NewDestination},
        log,
    },
};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use secrecy::ExposeSecret;
use serde_json::Value;
use uuid::Uuid;

use super::{ApiTags, deliveries::Delivery};
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

/// How long `testDestination` waits for the worker's answer before it answers 202.
const TEST_WAIT: Duration = Duration::from_secs(20);

/// A destination to create.
#[derive(Object)]
#[oai(rename = "NewDestination")]
pub struct NewDestinationSchema {
    /// Its name, unique in the tenant (1 to 100 characters).
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: String,
    /// `webhook`, `slack`, `discord`, `telegram` or `email`.
    pub kind: String,
    /// The kind's settings. `webhook`: `{url, signing_secret?}` (a `whsec_…` secret is made when
    /// none is given); `slack` and `discord`: `{webhook_url}`; `telegram`: `{bot_token, chat_id,
    /// base_url?}`; `email`: `{smtp_host, smtp_port?, tls? (starttls, tls, none), username?,
    /// password?, from, to: [...]}`.
    pub settings: Value,
    /// Sends a minute across every worker (default: the service's documented pace).
    #[oai(validator(minimum(value = "1"), maximum(value = "6000")))]
    pub rate_limit_per_min: Option<i32>,
}

/// A change of a destination; every field is optional. `settings` replaces the public and
/// secret settings together.
#[derive(Object)]
#[oai(rename = "DestinationPatch")]
pub struct DestinationPatchSchema {
    /// A new name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Option<String>,
    /// New settings, as at creation.
    pub settings: Option<Value>,
    /// A new pace.
    #[oai(validator(minimum(value = "1"), maximum(value = "6000")))]
    pub rate_limit_per_min: Option<i32>,
    /// Enable or disable (enabling clears the reason it was disabled).
    pub enabled: Option<bool>,
}

/// A destination (never its credentials).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Destination {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The service.
    pub kind: String,
    /// The settings that may be shown (a Slack or Discord webhook shows only its host).
    pub config: Value,
    /// Sends a minute, across every worker.
    pub rate_limit_per_min: i32,
    /// Whether alerts go to it.
    pub enabled: bool,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<destinations::Destination> for Destination {
    fn from(d: destinations::Destination) -> Self {
        Self {
            id: d.id,
            name: d.name,
            kind: d.kind.as_str().to_owned(),
            config: d.config,
            rate_limit_per_min: d.rate_limit_per_min,
            enabled: d.enabled,
            disabled_reason: d.disabled_reason,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// A new destination, with a webhook's signing secret (shown this once).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CreatedDestination {
    /// The destination.
    pub destination: Destination,
    /// A webhook's `whsec_…` secret: verify `webhook-signature` with it. Not shown again.
    pub signing_secret: Option<String>,
}

/// The tenant's destinations.
#[derive(Debug, Clone, Object)]
pub struct DestinationList {
    /// By name.
    pub items: Vec<Destination>,
}

/// What a test message did.
#[derive(Debug, Clone, Object)]
pub struct DestinationTest {
    /// The test delivery (its attempts say what the service answered).
    pub delivery: Delivery,
    /// Whether the service accepted it.
    pub delivered: bool,
}

/// The `/destinations` operations.
pub struct DestinationsApi;

#[OpenApi(tag = "ApiTags::Deliveries")]
impl DestinationsApi {
    /// Create a destination
    ///
    /// Checks the settings of the kind (URLs, addresses, sizes) and seals the credentials.
    /// A webhook destination's signing secret is in the answer, this once. Needs the admin role.
    #[oai(
        path = "/destinations",
        method = "post",
        operation_id = "createDestination"
    )]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The destination.
        body: Json<JsonAs<NewDestinationSchema>>,
    ) -> CreateDestinationResponse {
        respond(create_destination(&state, &auth, &origin, body.0.value).await)
    }

    /// List destinations
    #[oai(
        path = "/destinations",
        method = "get",
        operation_id = "listDestinations"
    )]
    async fn list(&self, auth: Auth, state: Data<&AppState>) -> ListDestinationsResponse {
        respond(list_destinations(&state, &auth).await)
    }

    /// Get a destination
    #[oai(
        path = "/destinations/:id",
        method = "get",
        operation_id = "getDestination"
    )]
    async fn get(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> GetDestinationResponse {
        respond(get_destination(&state, &auth, id.0).await)
    }

    /// Change a destination
    ///
    /// Needs the admin role.
    #[oai(
        path = "/destinations/:id",
        method = "patch",
        operation_id = "updateDestination"
    )]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The change.
        body: Json<JsonAs<DestinationPatchSchema>>,
    ) -> UpdateDestinationResponse {
        respond(update_destination(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Delete a destination
    ///
    /// Its deliveries go with it; rules that named it no longer do. Needs the admin role.
    #[oai(
        path = "/destinations/:id",
        method = "delete",
        operation_id = "deleteDestination"
    )]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeleteDestinationResponse {
        respond(delete_destination(&state, &auth, &origin, id.0).await)
    }

    /// Send a test message
    ///
    /// Enqueues a test delivery to the destination and waits up to 20 s for a worker to send
    /// it: 200 with what the service answered, or 202 with the pending delivery (read it at
    /// `/deliveries/{id}`). Needs the admin role.
    #[oai(
        path = "/destinations/:id/test",
        method = "post",
        operation_id = "testDestination"
    )]
    async fn test(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> TestDestinationResponse {
        respond(test_destination(&state, &auth, &origin, id.0).await)
    }
}

api_responses! {
    /// Outcomes of `createDestination`.
    #[allow(clippy::large_enum_variant)] // short-lived; boxing would change nothing on the wire
    pub enum CreateDestinationResponse {
        /// The destination was created.
        #[oai(status = 201)]
        Created(
            Json<CreatedDestination>,
            /// Where the destination can be read.
            #[oai(header = "Location")]
            String,
        ),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        409 => Conflict: "A destination with this name exists already.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listDestinations`.
    pub enum ListDestinationsResponse {
        /// The destinations.
        #[oai(status = 200)]
        Ok(Json<DestinationList>),
    }
    problems {
        401 => Unauthorized,
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getDestination`.
    pub enum GetDestinationResponse {
        /// The destination.
        #[oai(status = 200)]
        Ok(Json<Destination>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such destination in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `updateDestination`.
    pub enum UpdateDestinationResponse {
        /// The destination as it is now.
        #[oai(status = 200)]
        Ok(Json<Destination>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such destination in this tenant.",
        409 => Conflict: "Another destination has that name.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteDestination`.
    pub enum DeleteDestinationResponse {
        /// The destination is gone.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such destination in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `testDestination`.
    #[allow(clippy::large_enum_variant)] // short-lived; boxing would change nothing on the wire
    pub enum TestDestinationResponse {
        /// A worker sent the test message; `delivered` says whether the service accepted it.
        #[oai(status = 200)]
        Ok(Json<DestinationTest>),
        /// No worker answered within 20 s; the delivery is still pending.
        #[oai(status = 202)]
        Accepted(Json<DestinationTest>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such destination in this tenant.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, destination_id))]
async fn create_destination(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: Value,
) -> Result<CreateDestinationResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let new = NewDestination::parse(body, state.allow_private_networks)?;
    let mut tx = state.pool.begin().await?;
    let created =
        destinations::create(&mut tx, principal.tenant_id, &origin.actor(&principal), new).await?;
    tx.commit().await?;
    tracing::Span::current().record("destination_id", tracing::field::display(created.id));
    let mut conn = state.pool.acquire().await?;
    let destination = destinations::get(&mut conn, principal.tenant_id, created.id).await?;
    Ok(CreateDestinationResponse::Created(
        Json(CreatedDestination {
            destination: destination.into(),
            signing_secret: created.signing_secret.map(|s| s.expose_secret().to_owned()),
        }),
        format!("{API_PREFIX}/destinations/{}", created.id),
    ))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_destinations(
    state: &AppState,
    auth: &Auth,
) -> Result<ListDestinationsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let items = destinations::list(&state.pool, principal.tenant_id).await?;
    Ok(ListDestinationsResponse::Ok(Json(DestinationList {
        items: items.into_iter().map(Destination::from).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, destination_id = %id))]
async fn get_destination(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<GetDestinationResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let mut conn = state.pool.acquire().await?;
    let d = destinations::get(&mut conn, principal.tenant_id, id).await?;
    Ok(GetDestinationResponse::Ok(Json(d.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, destination_id = %id))]
async fn update_destination(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: Value,
) -> Result<UpdateDestinationResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let current = destinations::get(&mut tx, principal.tenant_id, id).await?;
    let patch = DestinationPatch::parse(body, current.kind, state.allow_private_networks)?;
    destinations::update(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        patch,
    )
    .await?;
    let after = destinations::get(&mut tx, principal.tenant_id, id).await?;
    tx.commit().await?;
    Ok(UpdateDestinationResponse::Ok(Json(after.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, destination_id = %id))]
async fn delete_destination(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DeleteDestinationResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    destinations::delete(&mut tx, principal.tenant_id, &origin.actor(&principal), id).await?;
    tx.commit().await?;
    Ok(DeleteDestinationResponse::Deleted)
}

#[tracing::instrument(skip_all, fields(tenant_id, destination_id = %id, delivery_id))]
async fn test_destination(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<TestDestinationResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let delivery_id =
        log::send_test(&mut tx, principal.tenant_id, &origin.actor(&principal), id).await?;
    tx.commit().await?;
    tracing::Span::current().record("delivery_id", tracing::field::display(delivery_id));
    state.notifier.wake_kind("deliver");
    // The api never sends: a worker does, and this waits for its answer.
    let deadline = tokio::time::Instant::now() + TEST_WAIT;
    loop {
        let mut conn = state.pool.acquire().await?;
        let detail = log::get(&mut conn, principal.tenant_id, delivery_id).await?;
        drop(conn);
        let done = !matches!(detail.delivery.state, DeliveryState::Pending)
            || !detail.attempts_log.is_empty();
        if done || tokio::time::Instant::now() >= deadline {
            let delivered = matches!(
                detail.delivery.state,
                DeliveryState::Sent | DeliveryState::Confirmed
            );
            let body = Json(DestinationTest {
                delivery: detail.into(),
                delivered,
            });
            return Ok(if done {
                TestDestinationResponse::Ok(body)
            } else {
                TestDestinationResponse::Accepted(body)
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
