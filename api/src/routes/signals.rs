//! `/signals`: the tenant's signals — list with filters and full-text search, read, move along
//! the state machine, soft-delete, export as CSV or NDJSON (streamed), erase everything by one
//! author (GDPR), and the quality gates with their rejection counts.

use chrono::{DateTime, Utc};
use jobs::{
    FieldError,
    auth::Role,
    paging,
    sources::signals::{self, ExportFormat, Filter, SignalState},
};
use poem::{Body, web::Data};
use poem_openapi::{
    OpenApi,
    param::{Path, Query},
    payload::{Binary, Json},
};
use uuid::Uuid;

use super::{
    ApiTags,
    common::{optional, parse_cursor, uuid_param},
    sources_models::{
        EraseSchema, Erased, QualityPatchSchema, QualitySettings, RejectionCount, Signal,
        SignalPage, SignalQuality, TransitionSchema,
    },
};
use crate::{
    api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::{JsonAs, OneStatusManyTypes},
    problem::{ApiError, respond},
};

/// The `/signals` operations.
pub struct SignalsApi;

/// The filters of a listing or export, as sent.
#[derive(Debug, Default)]
struct Params {
    source_id: Option<String>,
    state: Option<String>,
    language: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    q: Option<String>,
    author: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

impl Params {
    fn filter(self) -> Result<Filter, FieldError> {
        let source_id = uuid_param("source_id", "a source id (UUID)", self.source_id)?;
        let state = optional(self.state, |s| SignalState::parse_field("state", s))?;
        let filter = Filter {
            source_id,
            state,
            language: self.language.filter(|l| !l.is_empty()),
            since: self.since,
            until: self.until,
            q: self.q.filter(|q| !q.trim().is_empty()),
            author: self.author.filter(|a| !a.is_empty()),
            include_deleted: false,
            before: parse_cursor(self.cursor)?,
            limit: self.limit.unwrap_or(paging::DEFAULT_PAGE),
        };
        filter.validate()?;
        Ok(filter)
    }
}

#[OpenApi(tag = "ApiTags::Signals")]
impl SignalsApi {
    /// List signals
    ///
    /// Newest first, a page at a time. `q` searches titles and text (Postgres full-text
    /// search, web-search syntax: words, `"a phrase"`, `-excluded`, `or`).
    #[oai(path = "/signals", method = "get", operation_id = "listSignals")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only from this source.
        source_id: Query<Option<String>>,
        /// Only in this state.
        #[oai(name = "state")]
        signal_state: Query<Option<String>>,
        /// Only in this language (ISO 639-3, e.g. `eng`).
        language: Query<Option<String>>,
        /// Only ingested at or after this instant.
        since: Query<Option<DateTime<Utc>>>,
        /// Only ingested before this instant.
        until: Query<Option<DateTime<Utc>>>,
        /// Full-text search.
        q: Query<Option<String>>,
        /// Page size, 1 to 500 (default 50).
        limit: Query<Option<i64>>,
        /// The previous page's `next_cursor`.
        cursor: Query<Option<String>>,
    ) -> ListSignalsResponse {
        let params = Params {
            source_id: source_id.0,
            state: signal_state.0,
            language: language.0,
            since: since.0,
            until: until.0,
            q: q.0,
            author: None,
            limit: limit.0,
            cursor: cursor.0,
        };
        respond(list_signals(&state, &auth, params).await)
    }

    /// Export signals
    ///
    /// Every signal matching the filters, streamed as CSV (`format=csv`, with a header row,
    /// without the HTML) or NDJSON (`format=ndjson`, the default: one signal a line). With
    /// `author`, soft-deleted signals are included too: everything held about that person
    /// (a GDPR export).
    #[oai(
        path = "/signals/export",
        method = "get",
        operation_id = "exportSignals"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// `ndjson` (default) or `csv`.
        format: Query<Option<String>>,
        /// Only from this source.
        source_id: Query<Option<String>>,
        /// Only in this state.
        #[oai(name = "state")]
        signal_state: Query<Option<String>>,
        /// Only in this language.
        language: Query<Option<String>>,
        /// Only ingested at or after.
        since: Query<Option<DateTime<Utc>>>,
        /// Only ingested before.
        until: Query<Option<DateTime<Utc>>>,
        /// Full-text search.
        q: Query<Option<String>>,
        /// Only by this author (exact); includes soft-deleted signals.
        author: Query<Option<String>>,
    ) -> OneStatusManyTypes<ExportSignalsResponse> {
        let params = Params {
            source_id: source_id.0,
            state: signal_state.0,
            language: language.0,
            since: since.0,
            until: until.0,
            q: q.0,
            author: author.0,
            limit: Some(paging::MAX_PAGE),
            cursor: None,
        };
        OneStatusManyTypes(respond(export_signals(&state, &auth, format.0, params)))
    }

    /// Get a signal
    #[oai(path = "/signals/:id", method = "get", operation_id = "getSignal")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetSignalResponse {
        respond(get_signal(&state, &auth, id.0).await)
    }

    /// Delete a signal
    ///
    /// A soft delete: it disappears from listings and exports (except a GDPR export by
    /// author). Needs the operator role.
    #[oai(
        path = "/signals/:id",
        method = "delete",
        operation_id = "deleteSignal"
    )]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeleteSignalResponse {
        respond(delete_signal(&state, &auth, &origin, id.0).await)
    }

    /// Move a signal to another state
    ///
    /// `new → classified → scored → alerted` (`classified → alerted` too), or to `discarded` /
    /// `expired` from any of the first three; anything else answers 409. Needs the operator role.
    #[oai(
        path = "/signals/:id/state",
        method = "post",
        operation_id = "transitionSignal"
    )]
    async fn transition(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The new state.
        body: Json<JsonAs<TransitionSchema>>,
    ) -> TransitionSignalResponse {
        respond(transition_signal(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Erase an author's signals
    ///
    /// Deletes for good every signal by this author (soft-deleted ones too); the audit entry
    /// names the author only by a SHA-256. Export them first with `GET
    /// /signals/export?author=`. Needs the admin role.
    #[oai(path = "/signals/erase", method = "post", operation_id = "eraseAuthor")]
    async fn erase(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The author.
        body: Json<JsonAs<EraseSchema>>,
    ) -> EraseAuthorResponse {
        respond(erase_author(&state, &auth, &origin, body.0.value).await)
    }

    /// Get the quality gates
    ///
    /// The tenant's gates, near-duplicate and retention settings, and how many signals each
    /// gate refused per source.
    #[oai(
        path = "/signals/quality",
        method = "get",
        operation_id = "getSignalQuality"
    )]
    async fn quality(&self, auth: Auth, state: Data<&AppState>) -> GetQualityResponse {
        respond(get_quality(&state, &auth).await)
    }

    /// Change the quality gates
    ///
    /// Absent fields stay as they are. Needs the admin role.
    #[oai(
        path = "/signals/quality",
        method = "patch",
        operation_id = "updateSignalQuality"
    )]
    async fn update_quality(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The fields to change.
        body: Json<JsonAs<QualityPatchSchema>>,
    ) -> UpdateQualityResponse {
        respond(update_quality(&state, &auth, &origin, body.0.value).await)
    }
}

api_responses! {
    /// Outcomes of `listSignals`.
    pub enum ListSignalsResponse {
        /// A page of signals.
        #[oai(status = 200)]
        Ok(Json<SignalPage>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read (a malformed time).",
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `exportSignals`.
    pub enum ExportSignalsResponse {
        /// The signals, as `format` asks: NDJSON (one signal a line) or CSV with a header row.
        #[oai(status = 200, content_type = "application/x-ndjson")]
        Ndjson(Binary<Body>),
        /// The signals, as `format` asks: NDJSON (one signal a line) or CSV with a header row.
        #[oai(status = 200, content_type = "text/csv")]
        Csv(Binary<Body>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read.",
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getSignal`.
    #[allow(clippy::large_enum_variant)] // short-lived; boxing would change nothing on the wire
    pub enum GetSignalResponse {
        /// The signal.
        #[oai(status = 200)]
        Ok(Json<Signal>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such signal in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteSignal`.
    pub enum DeleteSignalResponse {
        /// The signal is deleted.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        404 => NotFound: "No such signal in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `transitionSignal`.
    #[allow(clippy::large_enum_variant)] // short-lived; boxing would change nothing on the wire
    pub enum TransitionSignalResponse {
        /// The signal, in its new state.
        #[oai(status = 200)]
        Ok(Json<Signal>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        404 => NotFound: "No such signal in this tenant.",
        409 => Conflict: "The move is not allowed from the signal's current state.",
        422 => Invalid: "The state is unknown.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `eraseAuthor`.
    pub enum EraseAuthorResponse {
        /// How many signals were erased.
        #[oai(status = 200)]
        Ok(Json<Erased>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        422 => Invalid: "The author is missing or empty.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getSignalQuality`.
    pub enum GetQualityResponse {
        /// The settings and rejection counts.
        #[oai(status = 200)]
        Ok(Json<SignalQuality>),
    }
    problems {
        401 => Unauthorized,
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `updateSignalQuality`.
    pub enum UpdateQualityResponse {
        /// The settings after the change.
        #[oai(status = 200)]
        Ok(Json<QualitySettings>),
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
async fn list_signals(
    state: &AppState,
    auth: &Auth,
    params: Params,
) -> Result<ListSignalsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let page = signals::list(&state.pool, principal.tenant_id, &params.filter()?).await?;
    Ok(ListSignalsResponse::Ok(Json(SignalPage {
        items: page.items.into_iter().map(Signal::from).collect(),
        next_cursor: page.next_cursor,
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
fn export_signals(
    state: &AppState,
    auth: &Auth,
    format: Option<String>,
    params: Params,
) -> Result<ExportSignalsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let format = match format.as_deref().filter(|f| !f.is_empty()) {
        None => ExportFormat::Ndjson,
        Some(f) => ExportFormat::parse(f)
            .ok_or_else(|| FieldError::new("format", "expected csv or ndjson"))?,
    };
    let mut filter = params.filter()?;
    filter.include_deleted = filter.author.is_some();
    tracing::info!(tenant_id = %principal.tenant_id, ?format, "export started");
    let stream = signals::export(state.pool.clone(), principal.tenant_id, filter, format);
    let stream = futures::StreamExt::map(stream, |chunk| {
        chunk.map_err(|e| {
            tracing::error!(error = %e, "export failed midway; the response is cut short");
            std::io::Error::other("export failed")
        })
    });
    let body = Body::from_bytes_stream(stream);
    Ok(match format {
        ExportFormat::Ndjson => ExportSignalsResponse::Ndjson(Binary(body)),
        ExportFormat::Csv => ExportSignalsResponse::Csv(Binary(body)),
    })
}

#[tracing::instrument(skip_all, fields(tenant_id, signal_id = %id))]
async fn get_signal(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<GetSignalResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let signal = signals::get(&state.pool, principal.tenant_id, id).await?;
    Ok(GetSignalResponse::Ok(Json(signal.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, signal_id = %id))]
async fn delete_signal(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DeleteSignalResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    signals::delete(&mut tx, principal.tenant_id, &origin.actor(&principal), id).await?;
    tx.commit().await?;
    Ok(DeleteSignalResponse::Deleted)
}

#[tracing::instrument(skip_all, fields(tenant_id, signal_id = %id))]
async fn transition_signal(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: serde_json::Value,
) -> Result<TransitionSignalResponse, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        state: String,
        #[serde(default)]
        reason: Option<String>,
    }
    let principal = auth.require(Role::Operator)?;
    let body: Body = jobs::kinds::from_value(body)?;
    let to = SignalState::parse_field("state", &body.state)?;
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 200)
    {
        return Err(FieldError::new("reason", "at most 200 characters").into());
    }
    let mut tx = state.pool.begin().await?;
    let signal = signals::transition(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        to,
        body.reason.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(TransitionSignalResponse::Ok(Json(signal.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, erased))]
async fn erase_author(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: serde_json::Value,
) -> Result<EraseAuthorResponse, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        author: String,
    }
    let principal = auth.require(Role::Admin)?;
    let span = tracing::Span::current();
    let body: Body = jobs::kinds::from_value(body)?;
    let mut tx = state.pool.begin().await?;
    let erased = signals::erase_author(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        &body.author,
    )
    .await?;
    tx.commit().await?;
    span.record("erased", erased);
    Ok(EraseAuthorResponse::Ok(Json(Erased { erased })))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn get_quality(state: &AppState, auth: &Auth) -> Result<GetQualityResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let mut conn = state.pool.acquire().await?;
    let settings = signals::settings(&mut conn, principal.tenant_id).await?;
    drop(conn);
    let rejections = signals::rejections(&state.pool, principal.tenant_id).await?;
    Ok(GetQualityResponse::Ok(Json(SignalQuality {
        settings: settings.into(),
        rejections: rejections.into_iter().map(RejectionCount::from).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn update_quality(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: serde_json::Value,
) -> Result<UpdateQualityResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let settings = signals::update_settings(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        body,
    )
    .await?;
    tx.commit().await?;
    Ok(UpdateQualityResponse::Ok(Json(settings.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_name_the_bad_parameter() {
        let path = |p: Params| p.filter().unwrap_err().path;
        assert!(Params::default().filter().is_ok());
        assert_eq!(
            path(Params {
                state: Some("sleepy".into()),
                ..Default::default()
            }),
            "state"
        );
        assert_eq!(
            path(Params {
                source_id: Some("x".into()),
                ..Default::default()
            }),
            "source_id"
        );
        assert_eq!(
            path(Params {
                limit: Some(0),
                ..Default::default()
            }),
            "limit"
        );
        assert_eq!(
            path(Params {
                cursor: Some("nope".into()),
                ..Default::default()
            }),
            "cursor"
        );
    }
}
