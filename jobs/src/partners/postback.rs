//! Postbacks: a partner's later word on a lead — `accepted`, `converted` or `returned` — sent to
//! `POST /api/v1/partners/{id}/postback`, signed with the partner's postback secret.
//!
//! The signature is the one of [`crate::signing`] (`X-Demandflow-Signature: t=<unix>,v1=<hex
//! HMAC-SHA256 of "<t>.<body>">`): compared in constant time, refused outside a five-minute
//! window, and remembered, so the same signed request is never applied twice. The export is
//! found by the partner's lead id (or our `reference`, the export's id), and its state only
//! moves forward ([`ExportState::rank`]): an event that arrives late, twice, or after a refusal
//! changes nothing and is still answered as received. A first sign of a sale (accepted,
//! converted, or a return that overtook them) writes the sale to the ledger and moves the lead
//! to `exported`; a return writes the negative row and moves the lead to `returned` (unless
//! another partner still holds a sale of it).

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::{
    exports::{self, ExportState},
    mapping, revenue, store,
};
use crate::{
    DomainError, FieldError,
    audit::Actor,
    kinds::from_value,
    leads::{self, LeadStatus},
    signing,
};

crate::named_enum! {
    /// What a postback reports.
    pub enum PostbackEvent {
        /// The partner accepted the lead (a sale).
        Accepted = "accepted",
        /// The lead converted (a sale that went well).
        Converted = "converted",
        /// The partner returned the lead (the sale is reversed).
        Returned = "returned",
    }
}

impl PostbackEvent {
    fn state(self) -> ExportState {
        match self {
            PostbackEvent::Accepted => ExportState::Accepted,
            PostbackEvent::Converted => ExportState::Converted,
            PostbackEvent::Returned => ExportState::Returned,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    event: PostbackEvent,
    #[serde(default)]
    lead_id: Option<String>,
    #[serde(default)]
    reference: Option<Uuid>,
    #[serde(default)]
    price: Option<Value>,
    #[serde(default)]
    reason: Option<String>,
}

/// Why a postback was refused.
#[derive(Debug, thiserror::Error)]
pub enum PostbackError {
    /// Not signed with the partner's postback secret (or no such partner): the caller learns
    /// no more.
    #[error("{0}")]
    Unsigned(&'static str),
    /// The body is not a postback.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// No export of this partner has that lead id or reference.
    #[error("no export of this partner matches the postback")]
    UnknownLead,
    /// The database failed.
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<sqlx::Error> for PostbackError {
    fn from(e: sqlx::Error) -> Self {
        PostbackError::Domain(e.into())
    }
}

/// The one answer to a postback that is not signed with the partner's secret.
pub const UNSIGNED: &str = "a valid X-Demandflow-Signature made with this partner's postback \
     secret is required: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">";

/// What a postback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The export it was about.
    pub export_id: Uuid,
    /// Its state now.
    pub state: ExportState,
    /// Whether this postback changed anything (a repeat or a late event does not).
    pub changed: bool,
}

/// Checks and applies a postback for partner `partner_id`: `signature` over `body` at `now`.
#[tracing::instrument(skip_all, fields(partner_id = %partner_id))]
pub async fn apply(
    pool: &sqlx::PgPool,
    partner_id: Uuid,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    correlation_id: Option<String>,
) -> Result<Applied, PostbackError> {
    let mut conn = pool.acquire().await?;
    let Some((tenant_id, secrets)) = store::postback_key(&mut conn, partner_id).await? else {
        return Err(PostbackError::Unsigned(UNSIGNED));
    };
    drop(conn);
    let verified = signing::verify(
        &[secrets.postback_secret.expose_secret()],
        signature,
        body,
        now,
    )
    .map_err(|_| PostbackError::Unsigned(UNSIGNED))?;
    let value: Value =
        serde_json::from_slice(body).map_err(|_| FieldError::new("", "expected a JSON object"))?;
    if let Some(path) = crate::text::find_nul(&value) {
        return Err(FieldError::new(path, "must not contain NUL characters").into());
    }
    let b: Body = from_value(value)?;
    if b.lead_id.is_none() && b.reference.is_none() {
        return Err(
            FieldError::new("lead_id", "give `lead_id` (yours) or `reference` (ours)").into(),
        );
    }
    if b.lead_id
        .as_ref()
        .is_some_and(|l| l.is_empty() || l.len() > 200)
        || b.reason.as_ref().is_some_and(|r| r.chars().count() > 200)
    {
        return Err(
            FieldError::new("", "`lead_id` and `reason` are at most 200 characters").into(),
        );
    }
    let price_cents = match &b.price {
        None => None,
        Some(p) => Some(
            mapping::cents(p)
                .ok_or_else(|| FieldError::new("price", "expected a decimal amount"))?,
        ),
    };

    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        r#"SELECT id, lead_id, state AS "state: ExportState" FROM partner_exports
           WHERE tenant_id = $1 AND partner_id = $2
             AND (id = $3 OR ($3 IS NULL AND partner_lead_id = $4))
           ORDER BY created_at LIMIT 1
           FOR UPDATE"#,
        tenant_id,
        partner_id,
        b.reference,
        b.lead_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(PostbackError::UnknownLead)?;
    let fresh = signing::remember(&mut tx, partner_id, &verified).await?;
    let target = b.event.state();
    let moves = fresh
        && !matches!(
            row.state,
            ExportState::Rejected | ExportState::Duplicate | ExportState::Failed
        )
        && target.rank() > row.state.rank();
    metrics::counter!("partner_postbacks_total", "event" => b.event.as_str(),
                      "changed" => if moves { "true" } else { "false" })
    .increment(1);
    if !moves {
        tx.commit().await?;
        return Ok(Applied {
            export_id: row.id,
            state: row.state,
            changed: false,
        });
    }
    sqlx::query!(
        r#"UPDATE partner_exports SET state = $2, price_cents = coalesce($3, price_cents),
               partner_lead_id = coalesce(partner_lead_id, $4),
               reason = coalesce($5, reason), updated_at = now(),
               confirmed_at = coalesce(confirmed_at, now())
           WHERE id = $1"#,
        row.id,
        target.as_str(),
        price_cents,
        b.lead_id,
        b.reason
    )
    .execute(&mut *tx)
    .await?;
    if row.state.rank() < ExportState::Accepted.rank() {
        revenue::record_sale(&mut tx, row.id).await?;
        exports::confirm_lead(&mut tx, tenant_id, row.lead_id, correlation_id.clone()).await?;
    }
    if target == ExportState::Returned {
        revenue::record_return(&mut tx, row.id, b.reason.as_deref()).await?;
        let still_sold = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM partner_exports
               WHERE lead_id = $1 AND state IN ('accepted', 'converted')"#,
            row.lead_id
        )
        .fetch_one(&mut *tx)
        .await?;
        if still_sold == 0 {
            let actor = Actor {
                request_id: correlation_id,
                ..Actor::default()
            };
            let reason = b.reason.as_deref().unwrap_or("returned by the partner");
            match leads::set_status(
                &mut tx,
                tenant_id,
                &actor,
                row.lead_id,
                LeadStatus::Returned,
                Some(reason),
            )
            .await
            {
                Ok(_) | Err(DomainError::Conflict(_)) | Err(DomainError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    tx.commit().await?;
    Ok(Applied {
        export_id: row.id,
        state: target,
        changed: true,
    })
}
