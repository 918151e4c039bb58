//! `/sources`: a tenant's feeds and push endpoints — create, list, read, change, soft-delete —,
//! `POST /sources/preview` (a sample fetch of an API source, nothing stored), and
//! `POST /sources/{id}/signals`, where push sources receive batches (HMAC-signed when the
//! source has a secret).
//!
//! Every source belongs to the caller's tenant; another tenant's source answers 404. Viewers
//! read; operators change. Each change writes its audit entry in its own transaction.

use jobs::{
    auth::Role,
    paging,
    sources::{self, NewSource, SourceKind, SourcePatch, push},
};
use poem::web::Data;
use poem_openapi::{
    OpenApi, SecurityScheme,
    param::{Header, Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{
    ApiTags,
    common::{optional, parse_cursor},
    sources_models::{
        IngestReport, NewSourceSchema, PushBatchSchema, RawJson, Source, SourcePage,
        SourcePatchSchema, SourcePreview,
    },
};
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    hook_limits::retry_after_secs,
    models::JsonAs,
    problem::{ApiError, Problem, respond},
};

/// The `/sources` operations.
pub struct SourcesApi;

#[OpenApi(tag = "ApiTags::Sources")]
impl SourcesApi {
    /// Create a source
    ///
    /// A feed (`rss`, `atom`, `json_feed`, `reddit_listing`) is polled every `poll_every`,
    /// starting now, once per interval however many workers run; requests to its host are
    /// limited fleet-wide to `rate_limit_per_min`. A `push` source has no URL: signals are
    /// posted to it. An API kind (`hn_search`, `json_api`, `mastodon`, `bluesky_search`,
    /// `x_search`, `reddit_search`) searches an API with its `settings`, resuming each poll from
    /// its stored `cursor` (try the settings first with `previewSource`). Needs the operator
    /// role.
    #[oai(path = "/sources", method = "post", operation_id = "createSource")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The source.
        body: Json<JsonAs<NewSourceSchema>>,
    ) -> CreateSourceResponse {
        respond(create_source(&state, &auth, &origin, body.0.value).await)
    }

    /// Preview an API source
    ///
    /// One sample fetch of the request a new API source (`hn_search`, `json_api`, `mastodon`,
    /// `bluesky_search`, `x_search`, `reddit_search`) would make first, read with its
    /// settings: the first 20 items as they would be stored, and the cursor a poll would keep.
    /// Takes the body of `createSource` and stores nothing; an API that wants a token gets one
    /// for its `secret` first. The targets are checked against private addresses like every
    /// outbound call. Needs the operator role.
    #[oai(
        path = "/sources/preview",
        method = "post",
        operation_id = "previewSource"
    )]
    async fn preview(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// The source as it would be created.
        body: Json<JsonAs<NewSourceSchema>>,
    ) -> PreviewSourceResponse {
        respond(preview_source(&state, &auth, body.0.value).await)
    }

    /// List sources
    ///
    /// The tenant's live sources, newest first, a page at a time.
    #[oai(path = "/sources", method = "get", operation_id = "listSources")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only sources of this kind.
        kind: Query<Option<String>>,
        /// Only sources with this tag.
        tag: Query<Option<String>>,
        /// Only enabled (true) or disabled (false) sources.
        enabled: Query<Option<bool>>,
        /// Page size, 1 to 500 (default 50).
        limit: Query<Option<i64>>,
        /// The previous page's `next_cursor`.
        cursor: Query<Option<String>>,
    ) -> ListSourcesResponse {
        respond(list_sources(&state, &auth, kind.0, tag.0, enabled.0, limit.0, cursor.0).await)
    }

    /// Get a source
    #[oai(path = "/sources/:id", method = "get", operation_id = "getSource")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetSourceResponse {
        respond(get_source(&state, &auth, id.0).await)
    }

    /// Change a source
    ///
    /// Absent fields stay as they are; the kind never changes. A new URL or interval, or
    /// enabling a disabled source, makes a poll due now. Needs the operator role.
    #[oai(path = "/sources/:id", method = "patch", operation_id = "updateSource")]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The fields to change.
        body: Json<JsonAs<SourcePatchSchema>>,
    ) -> UpdateSourceResponse {
        respond(update_source(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Delete a source
    ///
    /// A soft delete: polling stops, its signals stay. Needs the operator role.
    #[oai(
        path = "/sources/:id",
        method = "delete",
        operation_id = "deleteSource"
    )]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeleteSourceResponse {
        respond(delete_source(&state, &auth, &origin, id.0).await)
    }

    /// Push signals to a source
    ///
    /// For `push` sources: 1 to 500 items, ingested like fetched ones (sanitised, gated,
    /// deduplicated). When the source has a secret, send `X-Demandflow-Signature:
    /// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; a wrong signature or one
    /// more than 5 minutes old answers 401. With an API key, it needs the operator role; a
    /// webhook sender without a key may push to a source that has a secret, with a valid
    /// signature alone.
    #[oai(
        path = "/sources/:id/signals",
        method = "post",
        operation_id = "pushSignals"
    )]
    async fn push(
        &self,
        auth: PushAuth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        /// `t=<unix seconds>,v1=<hex HMAC-SHA256>`, required when the source has a secret.
        #[oai(name = "X-Demandflow-Signature")]
        signature: Header<Option<String>>,
        /// The batch.
        body: RawJson<PushBatchSchema>,
    ) -> PushSignalsResponse {
        respond(push_signals(&state, &auth, id.0, signature.0, &body.bytes).await)
    }
}

/// Who may push: an API key (operator), or, for a push source with a secret, nobody in
/// particular — the signature is the credential.
#[derive(SecurityScheme)]
pub enum PushAuth {
    /// An API key.
    Key(Auth),
    /// No key: the request must be signed with the source's secret.
    #[oai(fallback)]
    Signed,
}

api_responses! {
    /// Outcomes of `createSource`.
    pub enum CreateSourceResponse {
        /// The source was created.
        #[oai(status = 201)]
        Created(
            Json<Source>,
            /// Where the source can be read.
            #[oai(header = "Location")]
            String,
        ),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `previewSource`.
    pub enum PreviewSourceResponse {
        /// What the sample fetch found.
        #[oai(status = 200)]
        Ok(Json<SourcePreview>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid, the kind is not an API kind, the target is refused (a private address), the token endpoint refused the `secret`, or the answer does not read with these settings; `errors[].path` names the field.",
        429 => TooManyRequests,
        502 => BadGateway: "The API did not answer well (unreachable, timed out, an error status, too large); `detail` says how.",
    }
}

api_responses! {
    /// Outcomes of `listSources`.
    pub enum ListSourcesResponse {
        /// A page of sources.
        #[oai(status = 200)]
        Ok(Json<SourcePage>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getSource`.
    pub enum GetSourceResponse {
        /// The source.
        #[oai(status = 200)]
        Ok(Json<Source>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such source in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `updateSource`.
    pub enum UpdateSourceResponse {
        /// The source, as it is after the change.
        #[oai(status = 200)]
        Ok(Json<Source>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        404 => NotFound: "No such source in this tenant.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteSource`.
    pub enum DeleteSourceResponse {
        /// The source is deleted (its signals stay).
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        404 => NotFound: "No such source in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `pushSignals`.
    pub enum PushSignalsResponse {
        /// The batch was ingested: what was new, held already, near-duplicate or refused.
        #[oai(status = 200)]
        Ok(Json<IngestReport>),
        /// Over the key's request rate, over this source's rate of keyless pushes
        /// (`HOOK_RATE_PER_MINUTE`), or too many bad keys from this address.
        #[oai(status = 429, content_type = "application/problem+json")]
        RateLimited(
            Json<Problem>,
            /// Seconds to wait before pushing again.
            #[oai(header = "Retry-After")]
            u64,
        ),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized: "No API key, or the source has a secret and the signature is missing, stale or wrong.",
        403 => Forbidden: "The key is not an operator's.",
        404 => NotFound: "No such source in this tenant.",
        409 => Conflict: "The source is not a push source, or it is disabled, or this signed batch was already accepted (a replay).",
        413 => PayloadTooLarge,
        422 => Invalid: "The body is not a valid batch; `errors[].path` names the item (`items[3].url`).",
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, source_id))]
async fn create_source(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: serde_json::Value,
) -> Result<CreateSourceResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let span = tracing::Span::current();
    let new = NewSource::try_from(body)?;
    let mut tx = state.pool.begin().await?;
    let source =
        sources::create(&mut tx, principal.tenant_id, &origin.actor(&principal), new).await?;
    tx.commit().await?;
    span.record("source_id", tracing::field::display(source.id));
    let location = format!("{API_PREFIX}/sources/{}", source.id);
    Ok(CreateSourceResponse::Created(Json(source.into()), location))
}

/// Longest wait of a preview's sample fetch.
const PREVIEW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// Largest answer a preview reads.
const PREVIEW_MAX_BYTES: usize = 2 * 1024 * 1024;

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn preview_source(
    state: &AppState,
    auth: &Auth,
    body: serde_json::Value,
) -> Result<PreviewSourceResponse, ApiError> {
    use jobs::{FieldError, sources::apis::PreviewError};
    auth.require(Role::Operator)?;
    let new = NewSource::try_from(body)?;
    let client = jobs::net::client(state.allow_private_networks);
    match sources::apis::preview(
        &new,
        &client,
        state.allow_private_networks,
        PREVIEW_TIMEOUT,
        PREVIEW_MAX_BYTES,
    )
    .await
    {
        Ok(page) => Ok(PreviewSourceResponse::Ok(Json(page.into()))),
        Err(e @ PreviewError::NotAnApi) => Err(FieldError::new("kind", e.to_string()).into()),
        Err(PreviewError::Refused(m)) => Err(FieldError::new("url", m).into()),
        Err(PreviewError::Malformed(m)) => Err(FieldError::new(
            "settings",
            format!("the answer does not read with these settings: {m}"),
        )
        .into()),
        Err(PreviewError::Credentials(m)) => Err(FieldError::new("secret", m).into()),
        Err(PreviewError::Upstream(m)) => Err(ApiError::Other(
            poem::http::StatusCode::BAD_GATEWAY,
            format!("the sample fetch failed: {m}"),
        )),
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_sources(
    state: &AppState,
    auth: &Auth,
    kind: Option<String>,
    tag: Option<String>,
    enabled: Option<bool>,
    limit: Option<i64>,
    cursor: Option<String>,
) -> Result<ListSourcesResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let kind = optional(kind, |k| SourceKind::parse_field("kind", k))?;
    let limit = paging::check_limit(limit.unwrap_or(paging::DEFAULT_PAGE))?;
    let before = parse_cursor(cursor)?;
    let page = sources::list(
        &state.pool,
        principal.tenant_id,
        &sources::ListFilter {
            kind,
            tag: tag.filter(|t| !t.is_empty()),
            enabled,
            before,
            limit,
        },
    )
    .await?;
    Ok(ListSourcesResponse::Ok(Json(SourcePage {
        items: page.items.into_iter().map(Source::from).collect(),
        next_cursor: page.next_cursor,
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, source_id = %id))]
async fn get_source(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<GetSourceResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let source = sources::get(&state.pool, principal.tenant_id, id).await?;
    Ok(GetSourceResponse::Ok(Json(source.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, source_id = %id))]
async fn update_source(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: serde_json::Value,
) -> Result<UpdateSourceResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let patch = SourcePatch::try_from(body)?;
    let mut tx = state.pool.begin().await?;
    let source = sources::update(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        patch,
    )
    .await?;
    tx.commit().await?;
    Ok(UpdateSourceResponse::Ok(Json(source.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, source_id = %id))]
async fn delete_source(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DeleteSourceResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    sources::delete(&mut tx, principal.tenant_id, &origin.actor(&principal), id).await?;
    tx.commit().await?;
    Ok(DeleteSourceResponse::Deleted)
}

/// The one answer to a push without a key that is not signed with the source's secret, or to
/// an unknown source.
pub const PUSH_REFUSED: &str = "an API key, or a valid X-Demandflow-Signature made with the \
     secret of a push source, is required (no more detail is given to callers without a key)";

#[tracing::instrument(skip_all, fields(tenant_id, source_id = %id, items))]
async fn push_signals(
    state: &AppState,
    auth: &PushAuth,
    id: Uuid,
    signature: Option<String>,
    body: &[u8],
) -> Result<PushSignalsResponse, ApiError> {
    let span = tracing::Span::current();
    let keyless = matches!(auth, PushAuth::Signed);
    let outcome = match auth {
        PushAuth::Key(auth) => {
            let principal = auth.require(Role::Operator)?;
            push::accept(
                &state.pool,
                principal.tenant_id,
                id,
                signature.as_deref(),
                body,
            )
            .await
        }
        PushAuth::Signed => {
            if let Err(wait) = state.hook_limits.take(id).await {
                return Ok(PushSignalsResponse::RateLimited(
                    Json(
                        ApiError::TooManyRequests(
                            "this source is over its rate of keyless pushes (HOOK_RATE_PER_MINUTE); see Retry-After"
                                .into(),
                        )
                        .to_problem(),
                    ),
                    retry_after_secs(wait),
                ));
            }
            push::accept_signed(&state.pool, id, signature.as_deref(), body)
                .await
                .map(|(tenant_id, report)| {
                    span.record("tenant_id", tracing::field::display(tenant_id));
                    report
                })
        }
    };
    match outcome {
        Ok(report) => {
            span.record("items", report.items);
            Ok(PushSignalsResponse::Ok(Json(report.into())))
        }
        // Without a key, one answer for every refusal, whatever the reason (logged for the
        // operator), so a caller cannot tell a known source from an unknown one. A key's holder
        // sees the reason: it can read its tenant's sources anyway.
        Err(push::PushError::Signature(why)) if keyless => {
            tracing::info!(reason = why, "refused an unsigned push");
            Err(ApiError::Other(
                poem::http::StatusCode::UNAUTHORIZED,
                PUSH_REFUSED.to_owned(),
            ))
        }
        Err(push::PushError::Signature(why)) => Err(ApiError::Other(
            poem::http::StatusCode::UNAUTHORIZED,
            why.to_owned(),
        )),
        Err(e @ push::PushError::Replayed) => Err(ApiError::Conflict(e.to_string())),
        Err(push::PushError::Domain(e)) => Err(e.into()),
    }
}
