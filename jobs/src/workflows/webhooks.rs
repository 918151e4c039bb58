//! Inbound webhooks: a per-workflow URL whose HMAC-signed requests start a run with the body as
//! its input.
//!
//! A workflow has at most one webhook. Its secret (`whsec_` + 64 hex digits, 256 random bits)
//! is made here and returned once, at creation and at each rotation; it is stored sealed with
//! the operator key ([`crate::secrets`], purpose [`SECRET_PURPOSE`] for the current and the
//! previous secret alike, since a rotation moves one into the other), opened only to verify
//! a request, and never shown again. After a rotation the previous
//! secret keeps working for [`ROTATION_GRACE`], so senders can switch without losing requests.
//! Requests are signed like pushes to sources ([`crate::signing`]: `X-Demandflow-Signature:
//! t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, at most 5 minutes off).
//!
//! [`trigger`] needs no API key: the signature is the credential, and every refusal (unknown
//! webhook, missing, malformed, stale or wrong signature) is the same [`HookError::Refused`]
//! kind, so a caller without the secret learns nothing. The signature is remembered in the
//! transaction that starts the run, so the same signed request starts one run however often it
//! is sent ([`HookError::Replayed`]). It never logs a secret.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Run, Trigger, start_run};
use crate::{DomainError, FieldError, audit, secrets, signing, text};

/// How long a rotated-out secret keeps verifying.
pub const ROTATION_GRACE: Duration = Duration::hours(24);
/// What webhook secrets (current and previous) are sealed for.
pub const SECRET_PURPOSE: &str = "workflow_webhooks.secret";

/// A workflow's webhook, as its tenant sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    /// Its id: the last part of its URL, `/api/v1/hooks/{id}`.
    pub id: Uuid,
    /// Its workflow.
    pub workflow_id: Uuid,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its secret was last rotated.
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the previous secret still verifies.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When a signed request last started a run.
    pub last_used_at: Option<DateTime<Utc>>,
}

struct Row {
    id: Uuid,
    workflow_id: Uuid,
    created_at: DateTime<Utc>,
    rotated_at: Option<DateTime<Utc>>,
    previous_expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

impl From<Row> for Webhook {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            workflow_id: r.workflow_id,
            created_at: r.created_at,
            rotated_at: r.rotated_at,
            previous_secret_expires_at: r.previous_expires_at.filter(|t| *t > Utc::now()),
            last_used_at: r.last_used_at,
        }
    }
}

fn new_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(format!("whsec_{}", hex::encode(bytes)))
}

async fn find(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    workflow_id: Uuid,
) -> Result<Option<Webhook>, DomainError> {
    Ok(sqlx::query_as!(
        Row,
        r#"SELECT id, workflow_id, created_at, rotated_at, previous_expires_at, last_used_at
           FROM workflow_webhooks WHERE workflow_id = $1 AND tenant_id = $2"#,
        workflow_id,
        tenant_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(Webhook::from))
}

/// Creates the webhook of the tenant's workflow `workflow_id`, or rotates its secret when it
/// has one (the previous secret then verifies for [`ROTATION_GRACE`]). Returns the webhook
/// before (none when created) and after, and the new secret — the only time it is shown.
pub async fn create_or_rotate(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    workflow_id: Uuid,
) -> Result<(Option<Webhook>, Webhook, SecretString), DomainError> {
    // Locking the workflow serialises two concurrent creations.
    super::get_on(conn, tenant_id, workflow_id, true).await?;
    let before = find(conn, tenant_id, workflow_id).await?;
    let secret = new_secret();
    let sealed = secrets::seal(SECRET_PURPOSE, secret.expose_secret())
        .map_err(|e| DomainError::Database(sqlx::Error::Encode(Box::new(e))))?;
    let row = sqlx::query_as!(
        Row,
        r#"INSERT INTO workflow_webhooks (id, tenant_id, workflow_id, secret)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (workflow_id) DO UPDATE SET
               previous_secret = workflow_webhooks.secret,
               previous_expires_at = now() + make_interval(secs => $5),
               secret = excluded.secret,
               rotated_at = now()
           RETURNING id, workflow_id, created_at, rotated_at, previous_expires_at, last_used_at"#,
        Uuid::new_v4(),
        tenant_id,
        workflow_id,
        sealed,
        ROTATION_GRACE.num_seconds() as f64
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((before, row.into(), secret))
}

/// The webhook of the tenant's workflow `workflow_id`.
pub async fn get(
    pool: &PgPool,
    tenant_id: Uuid,
    workflow_id: Uuid,
) -> Result<Webhook, DomainError> {
    let mut conn = pool.acquire().await?;
    super::get_on(&mut conn, tenant_id, workflow_id, false).await?;
    find(&mut conn, tenant_id, workflow_id)
        .await?
        .ok_or(DomainError::NotFound("webhook"))
}

/// Deletes the webhook of the tenant's workflow `workflow_id`: its URL stops working at once.
/// Returns it as it was.
pub async fn delete(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    workflow_id: Uuid,
) -> Result<Webhook, DomainError> {
    super::get_on(conn, tenant_id, workflow_id, true).await?;
    let before = find(conn, tenant_id, workflow_id)
        .await?
        .ok_or(DomainError::NotFound("webhook"))?;
    sqlx::query!(
        "DELETE FROM workflow_webhooks WHERE workflow_id = $1 AND tenant_id = $2",
        workflow_id,
        tenant_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(before)
}

/// Why a webhook request started no run.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// No such webhook, or the signature is missing, malformed, stale or wrong (one kind, so a
    /// caller without the secret learns nothing).
    #[error("{0}")]
    Refused(&'static str),
    /// The same signed request started a run before (within the signing window).
    #[error("this signed request was already accepted")]
    Replayed,
    /// Signed correctly, but refused by the domain: the body is not a JSON object (invalid), or
    /// the workflow is disabled (conflict).
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<sqlx::Error> for HookError {
    fn from(e: sqlx::Error) -> Self {
        HookError::Domain(e.into())
    }
}

/// A run the webhook started.
#[derive(Debug, Clone)]
pub struct Triggered {
    /// The workflow's tenant.
    pub tenant_id: Uuid,
    /// The run.
    pub run: Run,
    /// Kinds of the jobs enqueued (wake their workers).
    pub kinds: Vec<String>,
}

/// Verifies a request to webhook `hook_id` and starts a run of its workflow with the body (a
/// JSON object) as input, with an audit entry, in one transaction that also remembers the
/// signature (a replay is [`HookError::Replayed`]).
pub async fn trigger(
    pool: &PgPool,
    hook_id: Uuid,
    signature: Option<&str>,
    body: &[u8],
    actor: &audit::Actor,
) -> Result<Triggered, HookError> {
    const REFUSED: &str = "a valid X-Demandflow-Signature made with this webhook's secret is required: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">";
    let hook = sqlx::query!(
        r#"SELECT tenant_id, workflow_id, secret,
                  CASE WHEN previous_expires_at > now() THEN previous_secret END AS previous_secret
           FROM workflow_webhooks WHERE id = $1"#,
        hook_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(HookError::Refused(REFUSED))?;
    if signature.is_none() {
        return Err(HookError::Refused(REFUSED));
    }
    let open = |stored: &str| {
        secrets::open(SECRET_PURPOSE, stored)
            .map_err(|e| DomainError::Database(sqlx::Error::Decode(Box::new(e))))
    };
    let mut opened = vec![open(&hook.secret)?];
    if let Some(previous) = &hook.previous_secret {
        opened.push(open(previous)?);
    }
    let keys: Vec<&str> = opened.iter().map(ExposeSecret::expose_secret).collect();
    let verified =
        signing::verify(&keys, signature, body, Utc::now()).map_err(|e| HookError::Refused(e.0))?;
    let input: Value = serde_json::from_slice(body)
        .map_err(|e| DomainError::from(FieldError::new("", format!("not JSON: {e}"))))?;
    if !input.is_object() {
        return Err(DomainError::from(FieldError::new(
            "",
            "expected a JSON object: it becomes the run's input",
        ))
        .into());
    }
    if let Some(path) = text::find_nul(&input) {
        return Err(DomainError::from(FieldError::new(
            path,
            "holds a NUL character (\\u0000), which cannot be stored",
        ))
        .into());
    }
    let mut tx = pool.begin().await?;
    if !signing::remember(&mut tx, hook_id, &verified).await? {
        return Err(HookError::Replayed);
    }
    let (run, kinds) = start_run(
        &mut tx,
        hook.tenant_id,
        hook.workflow_id,
        input,
        actor.request_id.as_deref(),
        &Trigger::Webhook {
            webhook_id: hook_id,
        },
    )
    .await?;
    sqlx::query!(
        "UPDATE workflow_webhooks SET last_used_at = now() WHERE id = $1",
        hook_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        hook.tenant_id,
        actor,
        audit::Change {
            action: "run.start",
            target_type: "run",
            target_id: run.id.to_string(),
            before: None,
            after: Some(json!({"workflow_id": run.workflow_id, "version": run.version, "trigger": run.trigger})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Triggered {
        tenant_id: hook.tenant_id,
        run,
        kinds,
    })
}
