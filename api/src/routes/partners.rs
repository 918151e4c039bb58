//! `/partners`: the buyers leads are exported to, their signed postbacks, the export of one
//! lead (`POST /leads/{id}/export`, which enqueues `export_lead`), its exports, and the revenue
//! ledger's totals (`/revenue`, JSON or CSV).
//!
//! Viewers read; operators export leads; admins change partners. Credentials (tokens,
//! passwords, HMAC keys) are sealed before they are stored and never returned; the postback
//! secret is shown once, in the answer that creates the partner. `/partners/{id}/postback`
//! takes no API key: the signature made with the partner's postback secret is the credential,
//! and every refusal of an unsigned caller is the same 401.

use chrono::{DateTime, NaiveDate, Utc};
use jobs::{
    FieldError,
    auth::Role,
    kinds::export_lead,
    partners::{
        exports,
        postback::{self, PostbackError},
        revenue::{self, Range},
        spec, store,
    },
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Path, Query},
    payload::{Binary, Json},
};
use secrecy::ExposeSecret;
use serde_json::Value;
use uuid::Uuid;

use super::{
    ApiTags, MAX_CORRELATION_ID,
    common::{day_param, uuid_param},
    sources_models::RawJson,
};
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::JsonAs,
    problem::{ApiError, respond},
};

/// A partner to create (or, in a patch, the fields to change).
#[derive(Object)]
#[oai(rename = "NewPartner")]
pub struct NewPartnerSchema {
    /// Its name, unique in the tenant (1 to 100 characters).
    pub name: Option<String>,
    /// `direct` (one post) or `ping_post` (an anonymised ping, then the post with the bid id).
    pub mode: Option<String>,
    /// Where leads are posted (https).
    pub post_url: Option<String>,
    /// Where pings go (`ping_post` only).
    pub ping_url: Option<String>,
    /// `json` (default) or `form`.
    pub format: Option<String>,
    /// The post's body: field name → template (`{{ lead.email }}`, `{{ contacts[0].value }}`,
    /// `{{ export.id }}`, `{{ bid_id }}`); nested objects for JSON. At most 50 fields, 8 KiB.
    pub template: Option<Value>,
    /// The ping's body (default: `score`, `category`, `region`).
    pub ping_template: Option<Value>,
    /// How the post's answer is read: `{rules: [{when: {status, path, equals | in}, outcome,
    /// lead_id, price, bid_id, reason}], default}` (paths are JSON pointers or `$.a.b`).
    pub mapping: Option<Value>,
    /// How the ping's answer is read (default: as the post's).
    pub ping_mapping: Option<Value>,
    /// `sync` (the post's answer confirms the sale) or `postback`.
    pub confirmation: Option<String>,
    /// `{kind: "none"}`, `{kind: "header", header?, token}`, `{kind: "basic", username,
    /// password}` or `{kind: "hmac", secret}`.
    pub auth: Option<Value>,
    /// Requests a minute across every worker (default 60).
    pub rate_limit_per_min: Option<i32>,
    /// Leads a UTC day (none: no cap).
    pub daily_cap: Option<i32>,
    /// ISO 4217 currency of its prices (default USD).
    pub currency: Option<String>,
    /// `{priority, min_score, max_score, categories, regions, exclusive}`.
    pub routing: Option<Value>,
    /// Whether leads go to it (default true).
    pub enabled: Option<bool>,
}

/// A partner (never its credentials).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Partner {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// `direct` or `ping_post`.
    pub mode: String,
    /// URLs, format, templates, mappings, confirmation and the auth's kind.
    pub config: Value,
    /// Requests a minute.
    pub rate_limit_per_min: i32,
    /// Leads a UTC day.
    pub daily_cap: Option<i32>,
    /// The currency of its prices.
    pub currency: String,
    /// Which leads, in which order.
    pub routing: Value,
    /// Whether leads go to it.
    pub enabled: bool,
    /// Where the partner sends its postbacks.
    pub postback_url: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<store::Partner> for Partner {
    fn from(p: store::Partner) -> Self {
        Self {
            postback_url: format!("{API_PREFIX}/partners/{}/postback", p.id),
            id: p.id,
            name: p.name,
            mode: p.mode.as_str().to_owned(),
            config: p.config,
            rate_limit_per_min: p.rate_limit_per_min,
            daily_cap: p.daily_cap,
            currency: p.currency,
            routing: serde_json::to_value(&p.routing).unwrap_or_default(),
            enabled: p.enabled,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A new partner, with its postback secret (shown this once).
#[derive(Debug, Clone, Object)]
pub struct CreatedPartner {
    /// The partner.
    pub partner: Partner,
    /// Sign postbacks with it: `X-Demandflow-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
    /// "<t>.<body>">`. Not shown again.
    pub postback_secret: String,
}

/// The tenant's partners.
#[derive(Debug, Clone, Object)]
pub struct PartnerList {
    /// In waterfall order.
    pub items: Vec<Partner>,
}

/// A postback: `{event: accepted | converted | returned, lead_id (yours) or reference (the
/// idempotency key we sent), price?, reason?}`.
#[derive(Debug, Clone, Object)]
pub struct PostbackSchema {
    /// `accepted`, `converted` or `returned`.
    pub event: String,
    /// Your lead id, as your answer to the post gave it.
    pub lead_id: Option<String>,
    /// The `Idempotency-Key` of our post.
    pub reference: Option<Uuid>,
    /// The price, a decimal amount in the partner's currency.
    pub price: Option<Value>,
    /// Why (a return's reason).
    pub reason: Option<String>,
}

/// What a postback did.
#[derive(Debug, Clone, Object)]
pub struct PostbackResult {
    /// The export it was about (our idempotency key).
    pub export_id: Uuid,
    /// Its state now.
    pub state: String,
    /// Whether it changed anything (a repeat or a late event does not).
    pub changed: bool,
}

/// An export of a lead to a partner.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Export {
    /// Its id: the `Idempotency-Key` of every ping and post.
    pub id: Uuid,
    /// The partner.
    pub partner_id: Uuid,
    /// `pending`, `posted`, `accepted`, `converted`, `returned`, `rejected`, `duplicate` or
    /// `failed`.
    pub state: String,
    /// Sold exclusively.
    pub exclusive: bool,
    /// The partner's lead id.
    pub partner_lead_id: Option<String>,
    /// The price in cents.
    pub price_cents: Option<i64>,
    /// The currency.
    pub currency: String,
    /// Why it was refused, failed or returned.
    pub reason: Option<String>,
    /// Requests sent.
    pub attempts: i32,
    /// The last answer's status.
    pub last_status: Option<i32>,
    /// The start of the last answer.
    pub excerpt: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When the sale was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl From<exports::Export> for Export {
    fn from(e: exports::Export) -> Self {
        Self {
            id: e.id,
            partner_id: e.partner_id,
            state: e.state.as_str().to_owned(),
            exclusive: e.exclusive,
            partner_lead_id: e.partner_lead_id,
            price_cents: e.price_cents,
            currency: e.currency,
            reason: e.reason,
            attempts: e.attempts,
            last_status: e.last_status,
            excerpt: e.excerpt,
            created_at: e.created_at,
            confirmed_at: e.confirmed_at,
        }
    }
}

/// A lead's exports.
#[derive(Debug, Clone, Object)]
pub struct ExportList {
    /// Oldest first.
    pub items: Vec<Export>,
}

/// The enqueued export.
#[derive(Debug, Clone, Object)]
pub struct ExportEnqueued {
    /// The `export_lead` job.
    pub job_id: Uuid,
}

/// One partner's totals on one day in one currency.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RevenueDay {
    /// The UTC day.
    pub day: NaiveDate,
    /// The partner (none once deleted).
    pub partner_id: Option<Uuid>,
    /// Its name.
    pub partner_name: String,
    /// The currency.
    pub currency: String,
    /// Sales.
    pub sales: i64,
    /// Their prices, in cents.
    pub sales_cents: i64,
    /// Returns.
    pub returns: i64,
    /// What they took back, in cents (zero or negative).
    pub returns_cents: i64,
    /// Sales plus returns, in cents.
    pub net_cents: i64,
}

/// The revenue ledger's totals.
#[derive(Debug, Clone, Object)]
pub struct RevenueReport {
    /// Per day (newest first) and partner.
    pub items: Vec<RevenueDay>,
}

/// An `export_lead` job: offer one qualified lead down the partners' waterfall.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ExportLeadJob")]
pub struct ExportLeadJob {
    /// Which lead.
    pub args: ExportLeadArgs,
    /// Options every kind takes.
    #[oai(flatten)]
    pub options: crate::models::JobOptions,
}

/// Args of an `export_lead` job.
#[derive(Object)]
#[oai(rename = "ExportLeadArgs")]
pub struct ExportLeadArgs {
    /// A lead of the caller's tenant.
    pub lead_id: Uuid,
}

/// The `/partners` and `/revenue` operations.
pub struct PartnersApi;

#[OpenApi(tag = "ApiTags::Partners")]
impl PartnersApi {
    /// Create a partner
    ///
    /// Checks URLs, templates (rendered on a sample within their budget) and the mapping, and
    /// seals the credentials. The postback secret is in the answer, this once. Needs the admin
    /// role.
    #[oai(path = "/partners", method = "post", operation_id = "createPartner")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The partner.
        body: Json<JsonAs<NewPartnerSchema>>,
    ) -> CreatePartnerResponse {
        respond(create_partner(&state, &auth, &origin, body.0.value).await)
    }

    /// List partners
    #[oai(path = "/partners", method = "get", operation_id = "listPartners")]
    async fn list(&self, auth: Auth, state: Data<&AppState>) -> ListPartnersResponse {
        respond(list_partners(&state, &auth).await)
    }

    /// Get a partner
    #[oai(path = "/partners/:id", method = "get", operation_id = "getPartner")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetPartnerResponse {
        respond(get_partner(&state, &auth, id.0).await)
    }

    /// Change a partner
    ///
    /// Every field given replaces the stored one; `auth` replaces the auth and its secret; the
    /// postback secret stays. Needs the admin role.
    #[oai(
        path = "/partners/:id",
        method = "patch",
        operation_id = "updatePartner"
    )]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The change.
        body: Json<JsonAs<NewPartnerSchema>>,
    ) -> GetPartnerResponse {
        respond(update_partner(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Delete a partner
    ///
    /// Its exports go with it; its ledger rows stay. Needs the admin role.
    #[oai(
        path = "/partners/:id",
        method = "delete",
        operation_id = "deletePartner"
    )]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> DeletePartnerResponse {
        respond(delete_partner(&state, &auth, &origin, id.0).await)
    }

    /// Receive a partner's postback
    ///
    /// No API key: sign the exact body with the partner's postback secret. Correlated by your
    /// lead id (or our reference); a repeat, a late event or an event after a refusal is
    /// answered 200 with `changed: false`.
    #[oai(
        path = "/partners/:id/postback",
        method = "post",
        operation_id = "partnerPostback"
    )]
    async fn postback(
        &self,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
        #[oai(name = "X-Demandflow-Signature")]
        signature: Header<Option<String>>,
        /// The postback.
        body: RawJson<PostbackSchema>,
    ) -> PostbackResponse {
        respond(receive_postback(&state, &origin, id.0, signature.0, &body.bytes).await)
    }

    /// Export a lead
    ///
    /// Enqueues `export_lead` for a qualified lead: it is offered down the partners'
    /// waterfall. Needs the operator role.
    #[oai(
        path = "/leads/:id/export",
        method = "post",
        operation_id = "exportLead"
    )]
    async fn export(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
    ) -> ExportLeadToPartnersResponse {
        respond(export_lead_now(&state, &auth, &origin, id.0).await)
    }

    /// List a lead's exports
    #[oai(
        path = "/leads/:id/exports",
        method = "get",
        operation_id = "listLeadExports"
    )]
    async fn exports(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ListExportsResponse {
        respond(list_exports(&state, &auth, id.0).await)
    }

    /// Revenue per partner and day
    ///
    /// Sales (positive) and returns (negative) in integer cents, per UTC day, partner and
    /// currency. `since` and `until` are days (`2026-11-30`), both included.
    #[oai(path = "/revenue", method = "get", operation_id = "getRevenue")]
    async fn revenue(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        since: Query<Option<String>>,
        until: Query<Option<String>>,
        partner_id: Query<Option<String>>,
    ) -> RevenueResponse {
        respond(revenue_report(&state, &auth, since.0, until.0, partner_id.0).await)
    }

    /// Revenue as CSV
    #[oai(
        path = "/revenue/export",
        method = "get",
        operation_id = "exportRevenue"
    )]
    async fn revenue_csv(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        since: Query<Option<String>>,
        until: Query<Option<String>>,
        partner_id: Query<Option<String>>,
    ) -> RevenueCsvResponse {
        respond(revenue_export(&state, &auth, since.0, until.0, partner_id.0).await)
    }
}

mod handlers;
use handlers::*;
