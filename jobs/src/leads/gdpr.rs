//! Everything held about one contact (an email address or a phone number), exported or erased
//! (GDPR articles 15 and 17).
//!
//! What is "about" the contact: the lead that owns it (with every signal of that lead), and
//! every scored signal whose text names it (`lead_signals.contacts`), whichever lead it
//! belongs to. Soft-deleted leads and signals count: they are still held.
//!
//! Erasing deletes for good: the owning lead (its contacts and links go with it), and those
//! signals — their text holds the contact, so keeping them would keep the data (through
//! [`signals::erase_ids`], the signals module's erase). Another lead that loses a signal this
//! way is re-scored from the signals it keeps, and deleted when none is left. Copies the
//! engine made are scrubbed too ([`crate::scrub`]): the contact, and every other contact of the
//! erased lead (the person), is replaced by `[erased]` wherever the tenant's jobs, runs, steps,
//! run events, classifications and memo rows hold it — job args, results and errors, run
//! inputs, step outputs and the `step_succeeded` events that carry them (`score_lead` returns
//! the contact for the steps after it). The audit entry names the contact only by its SHA-256.
//!
//! Not covered: signals that mention the contact but were never scored by `score_lead` (erase
//! those by author with `POST /signals/erase`), and logs (which never carry contacts).

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{LeadDetail, contacts::Contact, detail, lead_row};
use crate::{
    DomainError,
    audit::{self, Actor},
    scrub,
    sources::signals::{self, Signal, SignalState},
};

/// What is held about a contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    /// The contact, normalised.
    pub contact: String,
    /// Its leads, soft-deleted ones included.
    pub leads: Vec<LeadDetail>,
    /// The signals of those leads and every scored signal naming the contact.
    pub signals: Vec<Signal>,
}

/// What an erase removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// Leads deleted.
    pub leads: u64,
    /// Signals deleted.
    pub signals: u64,
    /// Rows of the engine's copies scrubbed (jobs, runs, steps, run events, classifications,
    /// memo rows).
    pub scrubbed: u64,
}

/// How the audit log names a contact: `sha256:<hex of "email:<address>">`.
fn subject(contact: &Contact) -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(contact.tagged().as_bytes()))
    )
}

struct Scope {
    /// Leads that own the contact.
    owned: Vec<Uuid>,
    /// Signals of those leads, and scored signals naming the contact.
    signals: Vec<Uuid>,
    /// Other leads holding one of those signals.
    touched: Vec<Uuid>,
}

async fn scope(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    contact: &Contact,
) -> Result<Scope, DomainError> {
    let owned = sqlx::query_scalar!(
        "SELECT lead_id FROM lead_contacts WHERE tenant_id = $1 AND kind = $2 AND value = $3",
        tenant_id,
        contact.kind().as_str(),
        contact.value()
    )
    .fetch_all(&mut *conn)
    .await?;
    let signals = sqlx::query_scalar!(
        r#"SELECT signal_id FROM lead_signals
           WHERE tenant_id = $1 AND (lead_id = ANY($2) OR contacts @> ARRAY[$3::text])
           ORDER BY signal_id"#,
        tenant_id,
        &owned,
        contact.tagged()
    )
    .fetch_all(&mut *conn)
    .await?;
    let touched = sqlx::query_scalar!(
        r#"SELECT DISTINCT lead_id FROM lead_signals
           WHERE tenant_id = $1 AND signal_id = ANY($2) AND NOT (lead_id = ANY($3))"#,
        tenant_id,
        &signals,
        &owned
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Scope {
        owned,
        signals,
        touched,
    })
}

/// Everything the tenant holds about `contact`, with an audit entry (naming the contact only
/// by its SHA-256) in the caller's transaction: who looked at a person's data is recorded too.
pub async fn export(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    contact: &Contact,
) -> Result<Held, DomainError> {
    let scope = scope(conn, tenant_id, contact).await?;
    let mut leads = Vec::new();
    for id in scope.owned.iter().chain(&scope.touched) {
        if let Some(lead) = lead_row(conn, tenant_id, *id, true).await? {
            leads.push(detail(conn, lead).await?);
        }
    }
    let signals = sqlx::query_as!(
        Signal,
        r#"SELECT id, source_id, external_id, url, title, body_html, body_text, author, language,
                  published_at, encode(content_hash, 'hex') AS "content_hash!", duplicate_of,
                  state AS "state: SignalState",
                  discard_reason, created_at, updated_at, deleted_at
           FROM signals WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id"#,
        tenant_id,
        &scope.signals
    )
    .fetch_all(&mut *conn)
    .await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "lead.gdpr_export",
            target_type: "contact",
            target_id: subject(contact),
            before: None,
            after: Some(serde_json::json!({ "leads": leads.len(), "signals": signals.len() })),
        },
    )
    .await?;
    Ok(Held {
        contact: contact.value().to_owned(),
        leads,
        signals,
    })
}

/// Erases everything the tenant holds about `contact`, with an audit entry that names it only
/// by its SHA-256, in the caller's transaction.
pub async fn erase(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    contact: &Contact,
) -> Result<Erased, DomainError> {
    let scope = scope(conn, tenant_id, contact).await?;
    // Every contact of the erased leads goes, not only the one named.
    let mut values = sqlx::query_scalar!(
        "SELECT value FROM lead_contacts WHERE tenant_id = $1 AND lead_id = ANY($2)",
        tenant_id,
        &scope.owned
    )
    .fetch_all(&mut *conn)
    .await?;
    if !values.iter().any(|v| v == contact.value()) {
        values.push(contact.value().to_owned());
    }
    let signals = signals::erase_ids(conn, tenant_id, &scope.signals).await?;
    let mut leads = sqlx::query!(
        "DELETE FROM leads WHERE tenant_id = $1 AND id = ANY($2)",
        tenant_id,
        &scope.owned
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    leads += sqlx::query!(
        r#"DELETE FROM leads l WHERE tenant_id = $1 AND id = ANY($2)
             AND NOT EXISTS (SELECT 1 FROM lead_signals ls WHERE ls.lead_id = l.id)"#,
        tenant_id,
        &scope.touched
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query!(
        r#"UPDATE leads l SET (score, factors) = (
               SELECT ls.score, ls.factors FROM lead_signals ls WHERE ls.lead_id = l.id
               ORDER BY ls.score DESC, ls.scored_at DESC LIMIT 1),
               updated_at = now()
           WHERE tenant_id = $1 AND id = ANY($2)"#,
        tenant_id,
        &scope.touched
    )
    .execute(&mut *conn)
    .await?;
    // Copies in the engine's own rows.
    let scrubbed = scrub::scrub_copies(conn, tenant_id, &values).await?;
    let erased = Erased {
        leads,
        signals,
        scrubbed,
    };
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "lead.gdpr_erase",
            target_type: "contact",
            target_id: subject(contact),
            before: serde_json::to_value(erased).ok(),
            after: None,
        },
    )
    .await?;
    Ok(erased)
}
