//! Leads: the people worth contacting that the `score_lead` job finds in signals.
//!
//! - this module: a tenant's leads as they are read and changed — listing with filters (score
//!   range, status, source, time), one lead with its contacts and signals, the status machine
//!   ([`LeadStatus`], one conditional `UPDATE` with its audit entry), soft delete, and the
//!   streamed CSV export (cells guarded against formula injection).
//! - [`contacts`]: emails and phone numbers found in a signal's text, validated and normalised.
//! - [`scoring`]: the factors, the tenant's weights, the score and its breakdown.
//! - [`store`]: what a `score_lead` job writes: the lead of a signal, deduplicated by contact
//!   per tenant with unique constraints and `INSERT … ON CONFLICT` (never check-then-insert).
//! - [`gdpr`]: everything held about one contact, exported or erased.
//!
//! It never speaks HTTP, and never writes a contact to a log line or an audit entry.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    DomainError, FieldError,
    audit::{self, Actor},
    export::{self, Csv},
    paging::{self, Page},
};

pub mod contacts;
pub mod gdpr;
pub mod scoring;
pub mod store;

pub use crate::export::ExportStream;
use contacts::ContactKind;

crate::named_enum! {
    /// Where a lead is in its life.
    pub enum LeadStatus {
        /// Just found.
        New = "new",
        /// Someone reached out.
        Contacted = "contacted",
        /// Judged worth selling to.
        Qualified = "qualified",
        /// Handed to a partner or CRM, and confirmed.
        Exported = "exported",
        /// Sold, then returned by the partner (can be qualified again).
        Returned = "returned",
        /// Not a lead after all (can be reopened as `new`).
        Rejected = "rejected",
    }
}

impl LeadStatus {
    /// The statuses a lead may move to from this one: `new → contacted → qualified →
    /// exported`, `new → qualified`, any but `exported` to `rejected`, and `rejected → new`
    /// (reopened). A partner's return moves `exported → returned`, from where the lead can be
    /// qualified again or rejected. `exported` is otherwise final.
    pub const fn next(self) -> &'static [LeadStatus] {
        use LeadStatus::*;
        match self {
            New => &[Contacted, Qualified, Rejected],
            Contacted => &[Qualified, Rejected],
            Qualified => &[Exported, Rejected],
            Exported => &[Returned],
            Returned => &[Qualified, Rejected],
            Rejected => &[New],
        }
    }

    /// The statuses from which `self` may be reached.
    pub fn previous(self) -> Vec<LeadStatus> {
        Self::ALL
            .into_iter()
            .filter(|s| s.next().contains(&self))
            .collect()
    }
}

/// A lead.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Lead {
    /// Its id (UUIDv7: sorts by creation time).
    pub id: Uuid,
    /// The first email address found.
    pub email: Option<String>,
    /// The first phone number found (E.164).
    pub phone: Option<String>,
    /// Where it is in its life.
    pub status: LeadStatus,
    /// The best score of its signals, 0 to 100.
    pub score: i16,
    /// That signal's factor breakdown (a list of [`scoring::Factor`]).
    pub factors: Value,
    /// The source of the signal that made it.
    pub source_id: Option<Uuid>,
    /// The latest classification category a workflow passed.
    pub category: Option<String>,
    /// How many signals it has.
    pub signal_count: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was last scored.
    pub scored_at: DateTime<Utc>,
    /// When it was soft-deleted (only shown by a GDPR export).
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One signal of a lead, with its own score.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LeadSignal {
    /// The signal.
    pub signal_id: Uuid,
    /// Its score.
    pub score: i16,
    /// Its breakdown.
    pub factors: Value,
    /// The category it was scored with.
    pub category: Option<String>,
    /// When it was scored.
    pub scored_at: DateTime<Utc>,
}

/// One contact of a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LeadContact {
    /// `email` or `phone`.
    pub kind: ContactKind,
    /// The address, or the number in E.164.
    pub value: String,
}

/// A lead with its contacts and signals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadDetail {
    /// The lead.
    pub lead: Lead,
    /// Every contact it owns.
    pub contacts: Vec<LeadContact>,
    /// Its signals, best score first.
    pub signals: Vec<LeadSignal>,
}

/// Filters of a lead listing or export.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only in this status.
    pub status: Option<LeadStatus>,
    /// Only made by a signal of this source.
    pub source_id: Option<Uuid>,
    /// Only scoring at least this.
    pub min_score: Option<i16>,
    /// Only scoring at most this.
    pub max_score: Option<i16>,
    /// Only made at or after.
    pub since: Option<DateTime<Utc>>,
    /// Only made before.
    pub until: Option<DateTime<Utc>>,
    /// Older than this id (the previous page's cursor).
    pub before: Option<Uuid>,
    /// Page size, 1 to [`MAX_PAGE`](paging::MAX_PAGE).
    pub limit: i64,
}

impl Filter {
    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), FieldError> {
        paging::check_limit(self.limit)?;
        for (name, v) in [("min_score", self.min_score), ("max_score", self.max_score)] {
            if v.is_some_and(|s| !(0..=100).contains(&s)) {
                return Err(FieldError::new(name, "expected 0 to 100"));
            }
        }
        if let (Some(lo), Some(hi)) = (self.min_score, self.max_score)
            && lo > hi
        {
            return Err(FieldError::new("max_score", "must be at least `min_score`"));
        }
        if let (Some(s), Some(u)) = (self.since, self.until)
            && s >= u
        {
            return Err(FieldError::new("until", "must be later than `since`"));
        }
        Ok(())
    }
}

async fn page(pool: &PgPool, tenant_id: Uuid, f: &Filter) -> Result<Vec<Lead>, DomainError> {
    Ok(sqlx::query_as!(
        Lead,
        r#"SELECT id, email, phone, status AS "status: LeadStatus", score, factors, source_id, category,
                  (SELECT count(*) FROM lead_signals ls WHERE ls.lead_id = l.id) AS "signal_count!",
                  created_at, updated_at, scored_at, deleted_at
           FROM leads l
           WHERE tenant_id = $1 AND deleted_at IS NULL
             AND ($2::text IS NULL OR status = $2)
             AND ($3::uuid IS NULL OR source_id = $3)
             AND ($4::smallint IS NULL OR score >= $4)
             AND ($5::smallint IS NULL OR score <= $5)
             AND ($6::timestamptz IS NULL OR created_at >= $6)
             AND ($7::timestamptz IS NULL OR created_at < $7)
             AND ($8::uuid IS NULL OR id < $8)
           ORDER BY id DESC
           LIMIT $9"#,
        tenant_id,
        f.status.map(LeadStatus::as_str),
        f.source_id,
        f.min_score,
        f.max_score,
        f.since,
        f.until,
        f.before,
        f.limit
    )
    .fetch_all(pool)
    .await?)
}

/// Lists the tenant's live leads, newest first.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    filter: &Filter,
) -> Result<Page<Lead>, DomainError> {
    filter.validate()?;
    let mut f = filter.clone();
    f.limit += 1;
    let rows = page(pool, tenant_id, &f).await?;
    Ok(Page::from_rows(rows, filter.limit, |l| l.id))
}

/// The lead `id` of the tenant (soft-deleted ones too when `include_deleted`).
pub(crate) async fn lead_row(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    include_deleted: bool,
) -> Result<Option<Lead>, DomainError> {
    Ok(sqlx::query_as!(
        Lead,
        r#"SELECT id, email, phone, status AS "status: LeadStatus", score, factors, source_id, category,
                  (SELECT count(*) FROM lead_signals ls WHERE ls.lead_id = l.id) AS "signal_count!",
                  created_at, updated_at, scored_at, deleted_at
           FROM leads l WHERE tenant_id = $1 AND id = $2 AND ($3 OR deleted_at IS NULL)"#,
        tenant_id,
        id,
        include_deleted
    )
    .fetch_optional(conn)
    .await?)
}

/// `lead` with its contacts and signals.
pub(crate) async fn detail(conn: &mut PgConnection, lead: Lead) -> Result<LeadDetail, DomainError> {
    let contacts = sqlx::query_as!(
        LeadContact,
        r#"SELECT kind AS "kind: ContactKind", value FROM lead_contacts
           WHERE lead_id = $1 ORDER BY kind, created_at, value"#,
        lead.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let signals = sqlx::query_as!(
        LeadSignal,
        r#"SELECT signal_id, score, factors, category, scored_at FROM lead_signals
           WHERE lead_id = $1 ORDER BY score DESC, scored_at DESC"#,
        lead.id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(LeadDetail {
        lead,
        contacts,
        signals,
    })
}

/// The tenant's live lead `id`, with its contacts and signals.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<LeadDetail, DomainError> {
    let mut conn = pool.acquire().await?;
    let lead = lead_row(&mut conn, tenant_id, id, false)
        .await?
        .ok_or(DomainError::NotFound("lead"))?;
    detail(&mut conn, lead).await
}

/// Soft-deletes the tenant's lead `id`, with its audit entry. Its contacts stay its own, so a
/// later signal of the same contact attaches to it and stays hidden (a GDPR erase is what
/// removes a contact).
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
) -> Result<(), DomainError> {
    let status = sqlx::query_scalar!(
        r#"UPDATE leads SET deleted_at = now(), updated_at = now()
           WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
           RETURNING status AS "status: LeadStatus""#,
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("lead"))?;
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "lead.delete",
            target_type: "lead",
            target_id: id.to_string(),
            before: Some(serde_json::json!({ "status": status })),
            after: None,
        },
    )
    .await
}

/// Moves the tenant's lead `id` to `to`, refusing an illegal move with a conflict, and records
/// it in the audit log in the caller's transaction. The check and the change are one
/// statement, so of two concurrent moves from the same status only one wins.
pub async fn set_status(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    to: LeadStatus,
    reason: Option<&str>,
) -> Result<LeadDetail, DomainError> {
    if reason.is_some_and(|r| r.chars().count() > 200) {
        return Err(FieldError::new("reason", "at most 200 characters").into());
    }
    let from: Vec<String> = to
        .previous()
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let moved = sqlx::query_scalar!(
        r#"WITH old AS (SELECT id, status FROM leads
                        WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE)
           UPDATE leads l SET status = $3, updated_at = now()
           FROM old WHERE l.id = old.id AND old.status = ANY($4)
           RETURNING old.status AS "status: LeadStatus""#,
        tenant_id,
        id,
        to.as_str(),
        &from
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(from) = moved else {
        let current = sqlx::query_scalar!(
            r#"SELECT status AS "status: LeadStatus" FROM leads
               WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"#,
            tenant_id,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("lead"))?;
        return Err(DomainError::Conflict(format!(
            "a lead cannot go from {current} to {to}"
        )));
    };
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "lead.status",
            target_type: "lead",
            target_id: id.to_string(),
            before: Some(serde_json::json!({ "status": from })),
            after: Some(serde_json::json!({ "status": to.as_str(), "reason": reason })),
        },
    )
    .await?;
    let lead = lead_row(conn, tenant_id, id, false)
        .await?
        .ok_or(DomainError::NotFound("lead"))?;
    detail(conn, lead).await
}

const CSV_HEADER: &[&str] = &[
    "id",
    "status",
    "score",
    "email",
    "phone",
    "category",
    "source_id",
    "signals",
    "created_at",
    "updated_at",
    "scored_at",
];

/// Leads as CSV rows (every text cell guarded against formula injection).
fn csv_rows(leads: &[Lead]) -> Vec<u8> {
    let mut csv = Csv::new();
    for l in leads {
        csv.id(l.id)
            .name(l.status.as_str())
            .number(i64::from(l.score))
            .opt_text(l.email.as_deref())
            .opt_text(l.phone.as_deref())
            .opt_text(l.category.as_deref())
            .opt_id(l.source_id)
            .number(l.signal_count)
            .time(l.created_at)
            .time(l.updated_at)
            .time(l.scored_at)
            .end_row();
    }
    csv.finish()
}

/// Every live lead matching `filter` as CSV with a header row, streamed: pages of the keyset
/// listing (`filter.limit` a page) are read as the consumer pulls, so memory stays flat and
/// no connection is held between pages.
pub fn export_csv(pool: PgPool, tenant_id: Uuid, filter: Filter) -> ExportStream {
    let (start, page_size) = (filter.before, filter.limit);
    let fetch = move |before| {
        let pool = pool.clone();
        let filter = Filter {
            before,
            ..filter.clone()
        };
        async move { page(&pool, tenant_id, &filter).await }
    };
    export::paged(
        Some(Csv::header(CSV_HEADER)),
        start,
        page_size,
        fetch,
        |l: &Lead| l.id,
        csv_rows,
    )
}

#[cfg(test)]
mod tests;
