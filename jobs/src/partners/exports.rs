//! Exports: one row per (lead, partner), its id the idempotency key of every try, and the state
//! machine that only moves forward.
//!
//! - [`routes`]: the tenant's partners that take a lead (score range, category, region), in
//!   waterfall order.
//! - [`claim`]: the row that makes a (lead, partner) export, written under the partner's row
//!   lock after counting the day's exports against its cap, and refused by the database when
//!   the lead is sold exclusively elsewhere (the partial unique index
//!   `partner_exports_exclusive`).
//! - [`settle`]: records what the partner answered before anything else is decided; a sale
//!   writes its ledger row and, once confirmed, moves the lead to `exported`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::spec::{Config, Mode};
use crate::{
    DomainError,
    audit::Actor,
    leads::{self, LeadStatus},
};

crate::named_enum! {
    /// Where an export is in its life. It only moves forward:
    /// `pending → posted → accepted → converted`, `accepted/converted → returned`, and
    /// `pending → rejected | duplicate | failed`.
    pub enum ExportState {
        /// No answer recorded yet: tries go on, with the same key.
        Pending = "pending",
        /// The partner received it; its postback confirms the sale.
        Posted = "posted",
        /// Sold, confirmed.
        Accepted = "accepted",
        /// Sold, and the partner reports a conversion.
        Converted = "converted",
        /// Sold, then returned by the partner.
        Returned = "returned",
        /// The partner does not want it.
        Rejected = "rejected",
        /// The partner had it already.
        Duplicate = "duplicate",
        /// Out of attempts, or refused by the guard.
        Failed = "failed",
    }
}

impl ExportState {
    /// The order of the forward-only machine (final refusals rank with `pending`'s successors
    /// but are never left).
    pub fn rank(self) -> u8 {
        match self {
            ExportState::Pending => 0,
            ExportState::Posted => 1,
            ExportState::Accepted => 2,
            ExportState::Converted => 3,
            ExportState::Returned => 4,
            ExportState::Rejected | ExportState::Duplicate | ExportState::Failed => 5,
        }
    }

    /// Whether the lead counts as sold (or about to be) to this partner.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            ExportState::Pending
                | ExportState::Posted
                | ExportState::Accepted
                | ExportState::Converted
        )
    }
}

/// An export as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Export {
    /// Its id: the idempotency key.
    pub id: Uuid,
    /// The lead.
    pub lead_id: Uuid,
    /// The partner.
    pub partner_id: Uuid,
    /// Sold exclusively.
    pub exclusive: bool,
    /// Where it is.
    pub state: ExportState,
    /// The day it counts against the cap.
    pub day: NaiveDate,
    /// A ping's bid id.
    pub bid_id: Option<String>,
    /// The partner's lead id.
    pub partner_lead_id: Option<String>,
    /// The price, in cents of `currency`.
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
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the sale was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// The export of `lead_id` to `partner_id`, if there is one.
pub async fn find(
    conn: &mut PgConnection,
    lead_id: Uuid,
    partner_id: Uuid,
) -> Result<Option<Export>, DomainError> {
    Ok(sqlx::query_as!(
        Export,
        r#"SELECT id, lead_id, partner_id, exclusive, state AS "state: ExportState", day, bid_id,
                  partner_lead_id, price_cents, currency, reason, attempts, last_status, excerpt,
                  created_at, updated_at, confirmed_at
           FROM partner_exports WHERE lead_id = $1 AND partner_id = $2"#,
        lead_id,
        partner_id
    )
    .fetch_optional(conn)
    .await?)
}

/// The exports of a lead of the tenant, oldest first.
pub async fn of_lead(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    lead_id: Uuid,
) -> Result<Vec<Export>, DomainError> {
    Ok(sqlx::query_as!(
        Export,
        r#"SELECT id, lead_id, partner_id, exclusive, state AS "state: ExportState", day, bid_id,
                  partner_lead_id, price_cents, currency, reason, attempts, last_status, excerpt,
                  created_at, updated_at, confirmed_at
           FROM partner_exports WHERE tenant_id = $1 AND lead_id = $2 ORDER BY created_at, id"#,
        tenant_id,
        lead_id
    )
    .fetch_all(conn)
    .await?)
}

/// What routing and templates know of a lead.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadFacts {
    /// The lead.
    pub id: Uuid,
    /// Its status.
    pub status: LeadStatus,
    /// Its score.
    pub score: i16,
    /// Its category.
    pub category: Option<String>,
    /// The ISO 3166 region of its phone number.
    pub region: Option<String>,
    /// What templates see: `lead`, `contacts`.
    pub context: Value,
}

/// The region of an E.164 number (`+1415…` → `US`).
pub fn region_of(phone: Option<&str>) -> Option<String> {
    let number = phonenumber::parse(None, phone?).ok()?;
    number.country().id().map(|id| format!("{id:?}"))
}

/// The live lead `lead_id` of the tenant, with what templates see.
pub async fn lead_facts(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    lead_id: Uuid,
) -> Result<Option<LeadFacts>, DomainError> {
    let Some(lead) = leads::lead_row(conn, tenant_id, lead_id, false).await? else {
        return Ok(None);
    };
    let detail = leads::detail(conn, lead).await?;
    let l = &detail.lead;
    let region = region_of(l.phone.as_deref());
    let contacts: Vec<Value> = detail
        .contacts
        .iter()
        .map(|c| json!({"kind": c.kind, "value": c.value}))
        .collect();
    let context = json!({
        "lead": {"id": l.id, "score": l.score, "category": l.category, "region": region,
                 "email": l.email, "phone": l.phone, "status": l.status,
                 "created_at": l.created_at},
        "contacts": contacts,
    });
    Ok(Some(LeadFacts {
        id: l.id,
        status: l.status,
        score: l.score,
        category: l.category.clone(),
        region,
        context,
    }))
}

/// A partner that takes a lead, with what the job needs to post to it.
#[derive(Debug, Clone)]
pub struct Route {
    /// The partner.
    pub partner_id: Uuid,
    /// Its name.
    pub name: String,
    /// Direct or ping/post.
    pub mode: Mode,
    /// Its settings.
    pub config: Config,
    /// Sold exclusively.
    pub exclusive: bool,
    /// Requests a minute.
    pub rate_limit_per_min: i32,
    /// The currency of its prices.
    pub currency: String,
    /// Its sealed secrets.
    pub sealed: String,
}

/// The tenant's enabled partners that take `lead`, in waterfall order.
pub async fn routes(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    lead: &LeadFacts,
) -> Result<Vec<Route>, DomainError> {
    let rows = sqlx::query!(
        r#"SELECT id, name, mode AS "mode: Mode", config, exclusive, rate_limit_per_min, currency,
                  credentials
           FROM partners
           WHERE tenant_id = $1 AND enabled
             AND $2 BETWEEN min_score AND max_score
             AND (cardinality(categories) = 0 OR $3::text = ANY(categories))
             AND (cardinality(regions) = 0 OR $4::text = ANY(regions))
           ORDER BY priority, id"#,
        tenant_id,
        lead.score,
        lead.category,
        lead.region
    )
    .fetch_all(conn)
    .await?;
    let mut routes = Vec::with_capacity(rows.len());
    for r in rows {
        match serde_json::from_value::<Config>(r.config) {
            Ok(config) => routes.push(Route {
                partner_id: r.id,
                name: r.name,
                mode: r.mode,
                config,
                exclusive: r.exclusive,
                rate_limit_per_min: r.rate_limit_per_min,
                currency: r.currency,
                sealed: r.credentials,
            }),
            Err(e) => tracing::warn!(partner_id = %r.id, error = %e, "unreadable partner settings"),
        }
    }
    Ok(routes)
}

/// What [`claim`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The export row to post (new, or left pending by an earlier try).
    Go(Box<Export>),
    /// The partner's cap for today is reached: next partner.
    CapReached,
    /// The lead is sold (or being sold) exclusively elsewhere, or shared where this partner
    /// wants it exclusively: next partner, or stop.
    Taken,
    /// This partner has already answered for this lead (its export is not pending).
    Answered(Box<Export>),
}

/// Makes (or finds) the export of `lead` to `route`: under the partner's row lock the day's
/// live exports are counted against its cap, so workers never race past it; the lead's live
/// exports are read under the lead's row lock (a lead wanted exclusively takes no shared sale
/// and the reverse); the partial unique index refuses a second live exclusive export whatever
/// happens.
pub async fn claim(
    pool: &PgPool,
    tenant_id: Uuid,
    lead_id: Uuid,
    route: &Route,
) -> Result<Claim, DomainError> {
    let mut tx = pool.begin().await?;
    if let Some(e) = find(&mut tx, lead_id, route.partner_id).await? {
        return Ok(if e.state == ExportState::Pending {
            Claim::Go(Box::new(e))
        } else {
            Claim::Answered(Box::new(e))
        });
    }
    let cap = sqlx::query_scalar!(
        "SELECT daily_cap FROM partners WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant_id,
        route.partner_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(DomainError::NotFound("partner"))?;
    if let Some(cap) = cap {
        let used = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM partner_exports
               WHERE partner_id = $1 AND day = (now() AT TIME ZONE 'UTC')::date
                 AND state IN ('pending', 'posted', 'accepted', 'converted', 'returned')"#,
            route.partner_id
        )
        .fetch_one(&mut *tx)
        .await?;
        if used >= i64::from(cap) {
            return Ok(Claim::CapReached);
        }
    }
    sqlx::query_scalar!(
        "SELECT id FROM leads WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant_id,
        lead_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(DomainError::NotFound("lead"))?;
    let live = sqlx::query_scalar!(
        r#"SELECT exclusive FROM partner_exports
           WHERE lead_id = $1 AND state IN ('pending', 'posted', 'accepted', 'converted')"#,
        lead_id
    )
    .fetch_all(&mut *tx)
    .await?;
    if live.iter().any(|exclusive| *exclusive) || (route.exclusive && !live.is_empty()) {
        return Ok(Claim::Taken);
    }
    let id = Uuid::now_v7();
    let inserted = sqlx::query!(
        r#"INSERT INTO partner_exports (id, tenant_id, lead_id, partner_id, exclusive, currency)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
        id,
        tenant_id,
        lead_id,
        route.partner_id,
        route.exclusive,
        route.currency
    )
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(Claim::Taken),
        other => {
            other?;
        }
    }
    let export = find(&mut tx, lead_id, route.partner_id)
        .await?
        .ok_or(DomainError::NotFound("export"))?;
    tx.commit().await?;
    metrics::counter!("partner_exports_claimed_total").increment(1);
    Ok(Claim::Go(Box::new(export)))
}

/// Records a ping's bid (kept, so a retry posts with it instead of pinging again).
pub async fn record_bid(
    conn: &mut PgConnection,
    export_id: Uuid,
    bid_id: &str,
    price_cents: Option<i64>,
) -> Result<(), DomainError> {
    sqlx::query!(
        r#"UPDATE partner_exports SET bid_id = $2, price_cents = coalesce($3, price_cents),
               attempts = attempts + 1, updated_at = now()
           WHERE id = $1 AND state = 'pending'"#,
        export_id,
        bid_id,
        price_cents
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed try of the pending export `id` (it stays pending; the next try uses the
/// same key).
pub async fn record_error(
    conn: &mut PgConnection,
    id: Uuid,
    status: Option<i32>,
    excerpt: &str,
) -> Result<(), DomainError> {
    sqlx::query!(
        r#"UPDATE partner_exports SET attempts = attempts + 1,
               last_status = coalesce($2, last_status), excerpt = $3, updated_at = now()
           WHERE id = $1 AND state = 'pending'"#,
        id,
        status,
        excerpt
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What one answer (or its absence) settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered<'a> {
    /// The new state (`Pending` for an error that will be retried).
    pub state: ExportState,
    /// The status, when the partner answered.
    pub status: Option<i32>,
    /// The start of the answer.
    pub excerpt: &'a str,
    /// The partner's lead id.
    pub partner_lead_id: Option<&'a str>,
    /// The price in cents.
    pub price_cents: Option<i64>,
    /// Why.
    pub reason: Option<&'a str>,
}

/// Records an answer for the pending export `id`, and for a sale its ledger row and the lead's
/// move to `exported`, in one transaction. `false`: the export had already left `pending` (a
/// postback came first, or a late duplicate job): nothing changed.
pub async fn settle(
    pool: &PgPool,
    tenant_id: Uuid,
    id: Uuid,
    a: &Answered<'_>,
    correlation_id: Option<String>,
) -> Result<bool, DomainError> {
    let mut tx = pool.begin().await?;
    let moved = sqlx::query_scalar!(
        r#"UPDATE partner_exports SET state = $3, last_status = coalesce($4, last_status),
               excerpt = $5, partner_lead_id = coalesce($6, partner_lead_id),
               price_cents = coalesce($7, price_cents), reason = coalesce($8, reason),
               attempts = attempts + 1, updated_at = now(),
               confirmed_at = CASE WHEN $3 = 'accepted' THEN now() END
           WHERE tenant_id = $1 AND id = $2 AND state = 'pending'
           RETURNING lead_id"#,
        tenant_id,
        id,
        a.state.as_str(),
        a.status,
        a.excerpt,
        a.partner_lead_id,
        a.price_cents,
        a.reason
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(lead_id) = moved else {
        return Ok(false);
    };
    if a.state == ExportState::Accepted {
        super::revenue::record_sale(&mut tx, id).await?;
        confirm_lead(&mut tx, tenant_id, lead_id, correlation_id).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Moves a sold lead to `exported` (from `qualified`); a lead moved on by a person, or already
/// exported by another sale, stays as it is.
pub async fn confirm_lead(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    lead_id: Uuid,
    correlation_id: Option<String>,
) -> Result<(), DomainError> {
    let actor = Actor {
        request_id: correlation_id,
        ..Actor::default()
    };
    match leads::set_status(conn, tenant_id, &actor, lead_id, LeadStatus::Exported, None).await {
        Ok(_) | Err(DomainError::Conflict(_)) | Err(DomainError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
