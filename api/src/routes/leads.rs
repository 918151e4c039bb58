//! `/leads`: the tenant's leads — list with filters (score range, status, source, time), read
//! one with its contacts and signals, move it through its statuses, soft-delete it, export
//! them as CSV (streamed) — the scoring settings, and GDPR export and erase per contact.
//!
//! Every lead belongs to the caller's tenant; another tenant's lead answers 404. Viewers read;
//! operators change statuses and delete; admins change the settings and answer GDPR requests.
//! Each change writes its audit entry in its own transaction.

use chrono::{DateTime, Utc};
use jobs::{
    DomainError, FieldError,
    auth::Role,
    leads::{
        self, Filter, LeadStatus,
        contacts::{Contact, ContactKind},
        gdpr, scoring,
    },
    paging,
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
    leads_models::{
        GdprErased, GdprExport, GdprSubjectSchema, Lead, LeadDetail, LeadPage, LeadSettings,
        LeadSettingsPatchSchema, StatusChangeSchema,
    },
};
use crate::{
    api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

/// The `/leads` operations.
pub struct LeadsApi;

/// The filters of a listing or export, as sent.
#[derive(Debug, Default)]
struct Params {
    status: Option<String>,
    source_id: Option<String>,
    min_score: Option<i64>,
    max_score: Option<i64>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: Option<i64>,
    cursor: Option<String>,
}

impl Params {
    fn filter(self) -> Result<Filter, FieldError> {
        let status = optional(self.status, |s| LeadStatus::parse_field("status", s))?;
        let source_id = uuid_param("source_id", "a source id (UUID)", self.source_id)?;
        let score = |name: &str, v: Option<i64>| match v {
            None => Ok(None),
            Some(n) if (0..=100).contains(&n) => Ok(Some(n as i16)),
            Some(_) => Err(FieldError::new(name, "expected 0 to 100")),
        };
        let filter = Filter {
            status,
            source_id,
            min_score: score("min_score", self.min_score)?,
            max_score: score("max_score", self.max_score)?,
            since: self.since,
            until: self.until,
            before: parse_cursor(self.cursor)?,
            limit: self.limit.unwrap_or(paging::DEFAULT_PAGE),
        };
        filter.validate()?;
        Ok(filter)
    }
}

#[OpenApi(tag = "ApiTags::Leads")]
impl LeadsApi {
    /// List leads
    ///
    /// The tenant's live leads, newest first, a page at a time.
    #[oai(path = "/leads", method = "get", operation_id = "listLeads")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only in this status.
        status: Query<Option<String>>,
        /// Only made by a signal of this source.
        source_id: Query<Option<String>>,
        /// Only scoring at least this (0 to 100).
        min_score: Query<Option<i64>>,
        /// Only scoring at most this (0 to 100).
        max_score: Query<Option<i64>>,
        /// Only made at or after this instant.
        since: Query<Option<DateTime<Utc>>>,
        /// Only made before this instant.
        until: Query<Option<DateTime<Utc>>>,
        /// Page size, 1 to 500 (default 50).
        limit: Query<Option<i64>>,
        /// The previous page's `next_cursor`.
        cursor: Query<Option<String>>,
    ) -> ListLeadsResponse {
        let params = Params {
            status: status.0,
            source_id: source_id.0,
            min_score: min_score.0,
            max_score: max_score.0,
            since: since.0,
            until: until.0,
            limit: limit.0,
            cursor: cursor.0,
        };
        respond(list_leads(&state, &auth, params).await)
    }

    /// Export leads as CSV
    ///
    /// Every live lead matching the filters, newest first, streamed as CSV with a header row.
    /// A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
    /// `'`, so a spreadsheet shows it instead of running it (phone numbers read `'+44…`).
    #[oai(path = "/leads/export", method = "get", operation_id = "exportLeads")]
    #[allow(clippy::too_many_arguments)]
    async fn export(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        /// Only in this status.
        status: Query<Option<String>>,
        /// Only made by a signal of this source.
        source_id: Query<Option<String>>,
        /// Only scoring at least this.
        min_score: Query<Option<i64>>,
        /// Only scoring at most this.
        max_score: Query<Option<i64>>,
        /// Only made at or after.
        since: Query<Option<DateTime<Utc>>>,
        /// Only made before.
        until: Query<Option<DateTime<Utc>>>,
    ) -> ExportLeadsResponse {
        let params = Params {
            status: status.0,
            source_id: source_id.0,
            min_score: min_score.0,
            max_score: max_score.0,
            since: since.0,
            until: until.0,
            limit: Some(paging::MAX_PAGE),
            cursor: None,
        };
        respond(export_leads(&state, &auth, params))
    }

    /// Get the scoring settings
    ///
    /// The weights of the five factors, the recency half-life and the region of national
    /// phone numbers.
    #[oai(
        path = "/leads/settings",
        method = "get",
        operation_id = "getLeadSettings"
    )]
    async fn settings(&self, auth: Auth, state: Data<&AppState>) -> GetLeadSettingsResponse {
        respond(get_settings(&state, &auth).await)
    }

    /// Change the scoring settings
    ///
    /// Absent fields stay as they are; scores computed afterwards use the new settings (stored
    /// scores stay). Needs the admin role.
    #[oai(
        path = "/leads/settings",
        method = "patch",
        operation_id = "updateLeadSettings"
    )]
    async fn update_settings(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The fields to change.
        body: Json<JsonAs<LeadSettingsPatchSchema>>,
    ) -> UpdateLeadSettingsResponse {
        respond(update_settings(&state, &auth, &origin, body.0.value).await)
    }

    /// Export everything held about a contact (GDPR)
    ///
    /// The lead that owns the email address or phone number, the leads of signals naming it,
    /// and those signals, soft-deleted ones included. Audited (the contact only as a SHA-256).
    /// Needs the admin role.
    #[oai(
        path = "/leads/gdpr/export",
        method = "post",
        operation_id = "exportContact"
    )]
    async fn gdpr_export(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// Whose data.
        body: Json<JsonAs<GdprSubjectSchema>>,
    ) -> ExportContactResponse {
        respond(gdpr_export(&state, &auth, &origin, body.0.value).await)
    }

    /// Erase everything held about a contact (GDPR)
    ///
    /// Deletes for good the lead that owns the contact, every scored signal naming it or
    /// belonging to that lead, and scrubs it from job results and workflow outputs (see the
    /// README). Audited, naming the contact only by a SHA-256. Needs the admin role.
    #[oai(
        path = "/leads/gdpr/erase",
        method = "post",
        operation_id = "eraseContact"
    )]
    async fn gdpr_erase(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// Whose data.
        body: Json<JsonAs<GdprSubjectSchema>>,
    ) -> EraseContactResponse {
        respond(gdpr_erase(&state, &auth, &origin, body.0.value).await)
    }

    /// Get a lead
    ///
    /// With every contact it owns and its signals, best score first.
    #[oai(path = "/leads/:id", method = "get", operation_id = "getLead")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetLeadResponse {
        respond(get_lead(&state, &auth, id.0).await)
    }

    /// Delete a lead
    ///
    /// A soft delete: it disappears from listings and exports and answers 404; it keeps its
    /// contacts, so a later signal of the same contact joins it and stays hidden (a GDPR
    /// erase removes it for good). Needs the operator role.
    #[oai(path = "/leads/:id", method = "delete", operation_id = "deleteLead")]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeleteLeadResponse {
        respond(delete_lead(&state, &auth, &origin, id.0).await)
    }

    /// Change a lead's status
    ///
    /// `new → contacted → qualified → exported`, `new → qualified`, any but `exported` to
    /// `rejected`, `rejected → new`, `exported → returned`, and `returned → qualified` or
    /// `rejected`; anything else answers 409. Recorded in the audit log.
    /// Needs the operator role.
    #[oai(
        path = "/leads/:id/status",
        method = "post",
        operation_id = "setLeadStatus"
    )]
    async fn set_status(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The new status.
        body: Json<JsonAs<StatusChangeSchema>>,
    ) -> SetLeadStatusResponse {
        respond(set_status(&state, &auth, &origin, id.0, body.0.value).await)
    }
}

api_responses! {
    /// Outcomes of `listLeads`.
    pub enum ListLeadsResponse {
        /// A page of leads.
        #[oai(status = 200)]
        Ok(Json<LeadPage>),
    }
    problems {
        400 => BadRequest: "A parameter could not be read (a malformed time or number).",
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `exportLeads`.
    pub enum ExportLeadsResponse {
        /// CSV with a header row.
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
    /// Outcomes of `getLead`.
    pub enum GetLeadResponse {
        /// The lead.
        #[oai(status = 200)]
        Ok(Json<LeadDetail>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such lead in this tenant (or it was deleted).",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deleteLead`.
    pub enum DeleteLeadResponse {
        /// The lead is deleted.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        404 => NotFound: "No such lead in this tenant (or it was deleted).",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `setLeadStatus`.
    pub enum SetLeadStatusResponse {
        /// The lead, in its new status.
        #[oai(status = 200)]
        Ok(Json<LeadDetail>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an operator's.",
        404 => NotFound: "No such lead in this tenant (or it was deleted).",
        409 => Conflict: "The move is not allowed from the lead's current status.",
        413 => PayloadTooLarge: "The body is too large.",
        422 => Invalid: "The status is unknown or the reason too long; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getLeadSettings`.
    pub enum GetLeadSettingsResponse {
        /// The settings.
        #[oai(status = 200)]
        Ok(Json<LeadSettings>),
    }
    problems {
        401 => Unauthorized,
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `updateLeadSettings`.
    pub enum UpdateLeadSettingsResponse {
        /// The settings after the change.
        #[oai(status = 200)]
        Ok(Json<LeadSettings>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        413 => PayloadTooLarge: "The body is too large.",
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `exportContact`.
    pub enum ExportContactResponse {
        /// Everything held about the contact (empty lists when nothing is).
        #[oai(status = 200)]
        Ok(Json<GdprExport>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        413 => PayloadTooLarge: "The body is too large.",
        422 => Invalid: "Not exactly one of `email` and `phone`, or not a valid one.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `eraseContact`.
    pub enum EraseContactResponse {
        /// What was erased (zeros when nothing was held).
        #[oai(status = 200)]
        Ok(Json<GdprErased>),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        413 => PayloadTooLarge: "The body is too large.",
        422 => Invalid: "Not exactly one of `email` and `phone`, or not a valid one.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_leads(
    state: &AppState,
    auth: &Auth,
    params: Params,
) -> Result<ListLeadsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let page = leads::list(&state.pool, principal.tenant_id, &params.filter()?).await?;
    Ok(ListLeadsResponse::Ok(Json(LeadPage {
        items: page.items.into_iter().map(Lead::from).collect(),
        next_cursor: page.next_cursor,
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
fn export_leads(
    state: &AppState,
    auth: &Auth,
    params: Params,
) -> Result<ExportLeadsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let filter = params.filter()?;
    tracing::info!(tenant_id = %principal.tenant_id, "lead export started");
    let stream = leads::export_csv(state.pool.clone(), principal.tenant_id, filter);
    let stream = futures::StreamExt::map(stream, |chunk| {
        chunk.map_err(|e| {
            tracing::error!(error = %e, "lead export failed midway; the response is cut short");
            std::io::Error::other("export failed")
        })
    });
    Ok(ExportLeadsResponse::Csv(Binary(Body::from_bytes_stream(
        stream,
    ))))
}

#[tracing::instrument(skip_all, fields(tenant_id, lead_id = %id))]
async fn get_lead(state: &AppState, auth: &Auth, id: Uuid) -> Result<GetLeadResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let lead = leads::get(&state.pool, principal.tenant_id, id).await?;
    Ok(GetLeadResponse::Ok(Json(lead.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, lead_id = %id))]
async fn delete_lead(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DeleteLeadResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    leads::delete(&mut tx, principal.tenant_id, &origin.actor(&principal), id).await?;
    tx.commit().await?;
    Ok(DeleteLeadResponse::Deleted)
}

#[tracing::instrument(skip_all, fields(tenant_id, lead_id = %id))]
async fn set_status(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: serde_json::Value,
) -> Result<SetLeadStatusResponse, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        status: String,
        #[serde(default)]
        reason: Option<String>,
    }
    let principal = auth.require(Role::Operator)?;
    let body: Body = jobs::kinds::from_value(body)?;
    let to = LeadStatus::parse_field("status", &body.status)?;
    let mut tx = state.pool.begin().await?;
    let lead = leads::set_status(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        to,
        body.reason.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(SetLeadStatusResponse::Ok(Json(lead.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn get_settings(state: &AppState, auth: &Auth) -> Result<GetLeadSettingsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let mut conn = state.pool.acquire().await?;
    let settings = scoring::settings(&mut conn, principal.tenant_id).await?;
    Ok(GetLeadSettingsResponse::Ok(Json(settings.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn update_settings(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: serde_json::Value,
) -> Result<UpdateLeadSettingsResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let settings = scoring::update_settings(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        body,
    )
    .await?;
    tx.commit().await?;
    Ok(UpdateLeadSettingsResponse::Ok(Json(settings.into())))
}

/// The contact a GDPR request names: exactly one of `email` and `phone` (a national phone
/// number is read in the tenant's `default_region`).
async fn subject(
    conn: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    body: serde_json::Value,
) -> Result<Contact, DomainError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        phone: Option<String>,
    }
    let body: Body = jobs::kinds::from_value(body)?;
    let (kind, raw) = match (body.email, body.phone) {
        (Some(e), None) => (ContactKind::Email, e),
        (None, Some(p)) => (ContactKind::Phone, p),
        _ => {
            return Err(FieldError::new("", "expected exactly one of `email` and `phone`").into());
        }
    };
    if raw.len() > 254 {
        return Err(FieldError::new(kind.as_str(), "at most 254 characters").into());
    }
    let region = scoring::settings(conn, tenant_id).await?.region();
    Ok(Contact::parse(kind, &raw, region).map_err(|e| e.under(kind.as_str()))?)
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn gdpr_export(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: serde_json::Value,
) -> Result<ExportContactResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let contact = subject(&mut tx, principal.tenant_id, body).await?;
    let held = gdpr::export(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        &contact,
    )
    .await?;
    tx.commit().await?;
    Ok(ExportContactResponse::Ok(Json(held.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, leads, signals))]
async fn gdpr_erase(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: serde_json::Value,
) -> Result<EraseContactResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let span = tracing::Span::current();
    let mut tx = state.pool.begin().await?;
    let contact = subject(&mut tx, principal.tenant_id, body).await?;
    let erased = gdpr::erase(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        &contact,
    )
    .await?;
    tx.commit().await?;
    span.record("leads", erased.leads);
    span.record("signals", erased.signals);
    Ok(EraseContactResponse::Ok(Json(erased.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_name_the_bad_parameter() {
        let path = |p: Params| p.filter().unwrap_err().path;
        assert!(Params::default().filter().is_ok());
        for (params, want) in [
            (
                Params {
                    status: Some("hot".into()),
                    ..Default::default()
                },
                "status",
            ),
            (
                Params {
                    source_id: Some("x".into()),
                    ..Default::default()
                },
                "source_id",
            ),
            (
                Params {
                    min_score: Some(101),
                    ..Default::default()
                },
                "min_score",
            ),
            (
                Params {
                    min_score: Some(50),
                    max_score: Some(40),
                    ..Default::default()
                },
                "max_score",
            ),
            (
                Params {
                    limit: Some(0),
                    ..Default::default()
                },
                "limit",
            ),
            (
                Params {
                    cursor: Some("nope".into()),
                    ..Default::default()
                },
                "cursor",
            ),
        ] {
            assert_eq!(path(params), want);
        }
    }
}
