//! The `/partners` and `/revenue` operations' outcomes and handlers.

use super::*;

api_responses! {
    /// Outcomes of `createPartner`.
    #[allow(clippy::large_enum_variant)] // short-lived; boxing would change nothing on the wire
    pub enum CreatePartnerResponse {
        /// The partner was created.
        #[oai(status = 201)]
        Created(
            Json<CreatedPartner>,
            /// Where the partner can be read.
            #[oai(header = "Location")]
            String,
        ),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        409 => Conflict: "A partner with this name exists already.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid (a URL, a template, the mapping); `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listPartners`.
    pub enum ListPartnersResponse {
        /// The partners.
        #[oai(status = 200)]
        Ok(Json<PartnerList>),
    }
    problems {
        401 => Unauthorized,
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getPartner` and `updatePartner`.
    pub enum GetPartnerResponse {
        /// The partner.
        #[oai(status = 200)]
        Ok(Json<Partner>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's (changes).",
        404 => NotFound: "No such partner in this tenant.",
        409 => Conflict: "Another partner has that name.",
        413 => PayloadTooLarge,
        422 => Invalid: "A field is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `deletePartner`.
    pub enum DeletePartnerResponse {
        /// The partner is gone.
        #[oai(status = 204)]
        Deleted,
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such partner in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `partnerPostback`.
    pub enum PostbackResponse {
        /// Received (`changed` says whether it moved the export).
        #[oai(status = 200)]
        Ok(Json<PostbackResult>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized: "No such partner, or the signature is missing, malformed, stale or wrong.",
        404 => NotFound: "No export of this partner has that lead id or reference.",
        413 => PayloadTooLarge,
        422 => Invalid: "The body is not a postback; `errors[].path` names the field.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `exportLead`.
    pub enum ExportLeadToPartnersResponse {
        /// The export is enqueued.
        #[oai(status = 202)]
        Accepted(Json<ExportEnqueued>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is a viewer's.",
        404 => NotFound: "No such lead in this tenant.",
        409 => Conflict: "The lead is not qualified.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listLeadExports`.
    pub enum ListExportsResponse {
        /// The lead's exports.
        #[oai(status = 200)]
        Ok(Json<ExportList>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No lead with this id in your tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getRevenue`.
    pub enum RevenueResponse {
        /// The totals.
        #[oai(status = 200)]
        Ok(Json<RevenueReport>),
    }
    problems {
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `exportRevenue`.
    pub enum RevenueCsvResponse {
        /// The totals as CSV, with a header row.
        #[oai(status = 200, content_type = "text/csv")]
        Csv(Binary<Vec<u8>>),
    }
    problems {
        401 => Unauthorized,
        422 => Invalid: "A parameter is invalid; `errors[].path` names it.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, partner_id))]
pub(super) async fn create_partner(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: Value,
) -> Result<CreatePartnerResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let (spec, secrets) = spec::parse(body, None, state.allow_private_networks)?;
    let mut tx = state.pool.begin().await?;
    let created = store::create(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        spec,
        secrets,
    )
    .await?;
    let partner = store::get(&mut tx, principal.tenant_id, created.id).await?;
    tx.commit().await?;
    tracing::Span::current().record("partner_id", tracing::field::display(created.id));
    Ok(CreatePartnerResponse::Created(
        Json(CreatedPartner {
            partner: partner.into(),
            postback_secret: created.postback_secret.expose_secret().to_owned(),
        }),
        format!("{API_PREFIX}/partners/{}", created.id),
    ))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
pub(super) async fn list_partners(
    state: &AppState,
    auth: &Auth,
) -> Result<ListPartnersResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let items = store::list(&state.pool, principal.tenant_id).await?;
    Ok(ListPartnersResponse::Ok(Json(PartnerList {
        items: items.into_iter().map(Partner::from).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, partner_id = %id))]
pub(super) async fn get_partner(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<GetPartnerResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let mut conn = state.pool.acquire().await?;
    let p = store::get(&mut conn, principal.tenant_id, id).await?;
    Ok(GetPartnerResponse::Ok(Json(p.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, partner_id = %id))]
pub(super) async fn update_partner(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: Value,
) -> Result<GetPartnerResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    let after = store::update(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        body,
        state.allow_private_networks,
    )
    .await?;
    tx.commit().await?;
    Ok(GetPartnerResponse::Ok(Json(after.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, partner_id = %id))]
pub(super) async fn delete_partner(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<DeletePartnerResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let mut tx = state.pool.begin().await?;
    store::delete(&mut tx, principal.tenant_id, &origin.actor(&principal), id).await?;
    tx.commit().await?;
    Ok(DeletePartnerResponse::Deleted)
}

#[tracing::instrument(skip_all, fields(partner_id = %id))]
pub(super) async fn receive_postback(
    state: &AppState,
    origin: &Origin,
    id: Uuid,
    signature: Option<String>,
    body: &[u8],
) -> Result<PostbackResponse, ApiError> {
    let correlation = Some(origin.request_id.chars().take(MAX_CORRELATION_ID).collect());
    match postback::apply(
        &state.pool,
        id,
        signature.as_deref(),
        body,
        Utc::now(),
        correlation,
    )
    .await
    {
        Ok(a) => Ok(PostbackResponse::Ok(Json(PostbackResult {
            export_id: a.export_id,
            state: a.state.as_str().to_owned(),
            changed: a.changed,
        }))),
        // One answer for every unsigned caller, so none can tell a partner id from another.
        Err(PostbackError::Unsigned(why)) => Err(ApiError::Other(
            poem::http::StatusCode::UNAUTHORIZED,
            why.to_owned(),
        )),
        Err(PostbackError::Invalid(field)) => Err(ApiError::Invalid(field)),
        Err(e @ PostbackError::UnknownLead) => Err(ApiError::NotFound(e.to_string())),
        Err(PostbackError::Domain(e)) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, lead_id = %id))]
pub(super) async fn export_lead_now(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
) -> Result<ExportLeadToPartnersResponse, ApiError> {
    let principal = auth.require(Role::Operator)?;
    let mut tx = state.pool.begin().await?;
    let job_id =
        export_lead::enqueue(&mut tx, principal.tenant_id, id, Some(&origin.request_id)).await?;
    tx.commit().await?;
    state.notifier.wake_kind("export_lead");
    Ok(ExportLeadToPartnersResponse::Accepted(Json(
        ExportEnqueued { job_id },
    )))
}

#[tracing::instrument(skip_all, fields(tenant_id, lead_id = %id))]
pub(super) async fn list_exports(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<ListExportsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    // Another tenant's lead does not exist here: 404, as for every other id.
    jobs::leads::get(&state.pool, principal.tenant_id, id).await?;
    let mut conn = state.pool.acquire().await?;
    let items = exports::of_lead(&mut conn, principal.tenant_id, id).await?;
    Ok(ListExportsResponse::Ok(Json(ExportList {
        items: items.into_iter().map(Export::from).collect(),
    })))
}

fn range(
    since: Option<String>,
    until: Option<String>,
    partner_id: Option<String>,
) -> Result<Range, FieldError> {
    let range = Range {
        since: day_param("since", since)?,
        until: day_param("until", until)?,
        partner_id: uuid_param("partner_id", "a partner id (UUID)", partner_id)?,
    };
    range.validate()?;
    Ok(range)
}

fn day_of(t: revenue::DayTotal) -> RevenueDay {
    RevenueDay {
        day: t.day,
        partner_id: t.partner_id,
        partner_name: t.partner_name,
        currency: t.currency,
        sales: t.sales,
        sales_cents: t.sales_cents,
        returns: t.returns,
        returns_cents: t.returns_cents,
        net_cents: t.net_cents,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
pub(super) async fn revenue_report(
    state: &AppState,
    auth: &Auth,
    since: Option<String>,
    until: Option<String>,
    partner_id: Option<String>,
) -> Result<RevenueResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let range = range(since, until, partner_id)?;
    let totals = revenue::totals(&state.pool, principal.tenant_id, &range).await?;
    Ok(RevenueResponse::Ok(Json(RevenueReport {
        items: totals.into_iter().map(day_of).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
pub(super) async fn revenue_export(
    state: &AppState,
    auth: &Auth,
    since: Option<String>,
    until: Option<String>,
    partner_id: Option<String>,
) -> Result<RevenueCsvResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let range = range(since, until, partner_id)?;
    let totals = revenue::totals(&state.pool, principal.tenant_id, &range).await?;
    Ok(RevenueCsvResponse::Csv(Binary(revenue::csv(&totals))))
}
