//! What a `score_lead` job writes: the lead a signal belongs to, found or made, race-free.
//!
//! Every contact belongs to at most one lead of its tenant: the primary key of
//! `lead_contacts`. A job claims its signal's contacts one by one, in a fixed order (kind, then
//! value — so two jobs never wait on each other in opposite orders), for a lead id it made up:
//! `INSERT … ON CONFLICT DO UPDATE … RETURNING lead_id` gives back the contact's owner — the
//! made-up id when the contact was free, else the lead that has it (once the transaction that
//! claimed it commits: a second claimant waits on the unique index, never reads stale "free").
//!
//! - The signal belongs to the lead of its **primary contact**: its first email address, else
//!   its first phone number. When that contact was free, the made-up lead is created (the
//!   foreign key is deferred to the commit for this); otherwise the signal attaches to the
//!   lead that owns it.
//! - The signal's other contacts that were free are handed to that lead; those another lead
//!   owns stay with it (a signal that names someone else's number does not merge the two;
//!   leads are never merged).
//! - No contact at all: the lead is keyed by the signal (`key_signal_id`, unique per tenant),
//!   made with `INSERT … ON CONFLICT`, so running the job again finds it.
//!
//! Then the signal's link is written (`lead_signals`, one lead per signal; a re-run updates
//! it), and the lead takes the best score of its signals with that signal's breakdown.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::contacts::{Contact, ContactKind};
use crate::DomainError;

/// The signal being scored, as the store needs it.
#[derive(Debug, Clone)]
pub struct Scored<'a> {
    /// The signal.
    pub signal_id: Uuid,
    /// Its source.
    pub source_id: Uuid,
    /// Its contacts.
    pub contacts: &'a [Contact],
    /// Its score, 0 to 100.
    pub score: i16,
    /// Its breakdown (a list of factors).
    pub factors: Value,
    /// The category a workflow passed.
    pub category: Option<&'a str>,
}

/// Where the signal landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The lead.
    pub lead_id: Uuid,
    /// Whether this job made it.
    pub created: bool,
    /// The lead's score after this signal (its best signal's).
    pub score: i16,
    /// The lead's primary contact: its email, else its phone number.
    pub contact: Option<String>,
    /// Whether the lead is soft-deleted (the signal attached to it all the same).
    pub deleted: bool,
}

/// Finds or makes the lead of `s` for `tenant_id` and links the signal to it, in the caller's
/// transaction.
pub async fn attach(
    tx: &mut PgConnection,
    tenant_id: Uuid,
    s: &Scored<'_>,
) -> Result<Attached, DomainError> {
    let candidate = Uuid::now_v7();
    let mut contacts = s.contacts.to_vec();
    contacts.sort();
    contacts.dedup();
    let mut owners = Vec::with_capacity(contacts.len());
    for c in &contacts {
        let owner = sqlx::query_scalar!(
            r#"INSERT INTO lead_contacts (tenant_id, kind, value, lead_id) VALUES ($1, $2, $3, $4)
               ON CONFLICT (tenant_id, kind, value) DO UPDATE SET lead_id = lead_contacts.lead_id
               RETURNING lead_id"#,
            tenant_id,
            c.kind().as_str(),
            c.value(),
            candidate
        )
        .fetch_one(&mut *tx)
        .await?;
        owners.push(owner);
    }
    let primary = s.contacts.first().and_then(|p| {
        contacts
            .iter()
            .zip(&owners)
            .find(|(c, _)| *c == p)
            .map(|(_, o)| *o)
    });
    let existing = primary.filter(|o| *o != candidate);
    let first = |kind: ContactKind, lead: Uuid| {
        contacts
            .iter()
            .zip(&owners)
            .find(|(c, o)| c.kind() == kind && (**o == lead || **o == candidate))
            .map(|(c, _)| c.value().to_owned())
    };
    let (lead_id, created) = match existing {
        Some(lead) => {
            sqlx::query!(
                "UPDATE lead_contacts SET lead_id = $3 WHERE tenant_id = $1 AND lead_id = $2",
                tenant_id,
                candidate,
                lead
            )
            .execute(&mut *tx)
            .await?;
            (lead, false)
        }
        None if !contacts.is_empty() => {
            sqlx::query!(
                r#"INSERT INTO leads (id, tenant_id, email, phone, score, factors, source_id, category)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
                candidate,
                tenant_id,
                first(ContactKind::Email, candidate),
                first(ContactKind::Phone, candidate),
                s.score,
                s.factors,
                s.source_id,
                s.category
            )
            .execute(&mut *tx)
            .await?;
            (candidate, true)
        }
        None => {
            let row = sqlx::query!(
                r#"INSERT INTO leads (id, tenant_id, key_signal_id, score, factors, source_id, category)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (tenant_id, key_signal_id) DO UPDATE SET updated_at = now()
                   RETURNING id, (xmax = 0) AS "created!""#,
                candidate,
                tenant_id,
                s.signal_id,
                s.score,
                s.factors,
                s.source_id,
                s.category
            )
            .fetch_one(&mut *tx)
            .await?;
            (row.id, row.created)
        }
    };
    let tagged: Vec<String> = contacts.iter().map(Contact::tagged).collect();
    sqlx::query!(
        r#"INSERT INTO lead_signals (signal_id, lead_id, tenant_id, contacts, score, factors, category)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (signal_id) DO UPDATE SET lead_id = excluded.lead_id,
               contacts = excluded.contacts, score = excluded.score, factors = excluded.factors,
               category = excluded.category, scored_at = now()"#,
        s.signal_id,
        lead_id,
        tenant_id,
        &tagged,
        s.score,
        s.factors,
        s.category
    )
    .execute(&mut *tx)
    .await?;
    let lead = sqlx::query!(
        r#"UPDATE leads l SET score = best.score, factors = best.factors, scored_at = now(),
                  updated_at = now(), category = coalesce($2, l.category),
                  email = coalesce(l.email, $3), phone = coalesce(l.phone, $4)
           FROM (SELECT score, factors FROM lead_signals WHERE lead_id = $1
                 ORDER BY score DESC, scored_at DESC LIMIT 1) best
           WHERE l.id = $1
           RETURNING l.score, l.email, l.phone, l.deleted_at"#,
        lead_id,
        s.category,
        first(ContactKind::Email, lead_id),
        first(ContactKind::Phone, lead_id)
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(Attached {
        lead_id,
        created,
        score: lead.score,
        contact: lead.email.or(lead.phone),
        deleted: lead.deleted_at.is_some(),
    })
}
