//! The delivery log: every message, its state and every attempt with what the other side
//! answered; redelivering one, and recovering every failure since a time.
//!
//! States: `pending` → `sent` → (`confirmed`), or `failed` (another attempt is scheduled) →
//! `dead`; `suppressed` when a throttle held it back. The `deliver` job writes the attempts
//! ([`record_attempt`]) and the state; people read it ([`list`], [`get`]) and act on it
//! ([`redeliver`], [`recover`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{DeliveryState, dispatch};
use crate::{
    DomainError,
    audit::{self, Actor, Change},
    paging::Page,
};

/// A delivery as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Its id (also the `webhook-id` and the message's idempotency key).
    pub id: Uuid,
    /// Its unique key: at most one delivery per key, ever.
    pub delivery_key: String,
    /// The event it tells of (none for digests and tests).
    pub event_id: Option<Uuid>,
    /// The event's type.
    pub event_type: String,
    /// What it is about.
    pub subject: String,
    /// The rule that made it.
    pub rule_id: Option<Uuid>,
    /// Where it goes (a destination) ...
    pub destination_id: Option<Uuid>,
    /// ... or (a subscription).
    pub subscription_id: Option<Uuid>,
    /// Where it is in its life.
    pub state: DeliveryState,
    /// Why it is dead or suppressed.
    pub reason: Option<String>,
    /// Attempts made.
    pub attempts: i32,
    /// The last answer's HTTP (or SMTP) status.
    pub last_status: Option<i32>,
    /// The provider's message id, or our Message-ID.
    pub receipt: Option<String>,
    /// The latest `deliver` job.
    pub job_id: Option<Uuid>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the service accepted it.
    pub sent_at: Option<DateTime<Utc>>,
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// When.
    pub attempted_at: DateTime<Utc>,
    /// `delivered`, `rate_limited`, `gone`, `rejected` or `failed`.
    pub outcome: String,
    /// The answer's status.
    pub status: Option<i32>,
    /// How long the call took.
    pub latency_ms: i32,
    /// The start of the answer.
    pub excerpt: String,
}

/// A delivery with its data and attempts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryDetail {
    /// The delivery.
    #[serde(flatten)]
    pub delivery: Delivery,
    /// The message's data.
    pub data: Value,
    /// Every attempt, oldest first.
    pub attempts_log: Vec<Attempt>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only to this destination.
    pub destination_id: Option<Uuid>,
    /// Only to this subscription.
    pub subscription_id: Option<Uuid>,
    /// Only made by this rule.
    pub rule_id: Option<Uuid>,
    /// Only in this state.
    pub state: Option<DeliveryState>,
    /// Only written at or after.
    pub since: Option<DateTime<Utc>>,
    /// Only written before.
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: i64,
    /// The previous page's cursor.
    pub cursor: Option<Uuid>,
}

struct Row {
    id: Uuid,
    delivery_key: String,
    event_id: Option<Uuid>,
    event_type: String,
    subject: String,
    rule_id: Option<Uuid>,
    destination_id: Option<Uuid>,
    subscription_id: Option<Uuid>,
    state: DeliveryState,
    reason: Option<String>,
    attempts: i32,
    last_status: Option<i32>,
    receipt: Option<String>,
    job_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl From<Row> for Delivery {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            delivery_key: r.delivery_key,
            event_id: r.event_id,
            event_type: r.event_type,
            subject: r.subject,
            rule_id: r.rule_id,
            destination_id: r.destination_id,
            subscription_id: r.subscription_id,
            state: r.state,
            reason: r.reason,
            attempts: r.attempts,
            last_status: r.last_status,
            receipt: r.receipt,
            job_id: r.job_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            sent_at: r.sent_at,
        }
    }
}

/// A page of the tenant's deliveries, newest first.
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    filter: &Filter,
) -> Result<Page<Delivery>, DomainError> {
    let limit = crate::paging::clamp_limit(filter.limit);
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id, delivery_key, event_id, event_type, subject, rule_id, destination_id,
                  subscription_id, state AS "state: DeliveryState", reason, attempts, last_status,
                  receipt, job_id, created_at, updated_at, sent_at
           FROM deliveries
           WHERE tenant_id = $1
             AND ($2::uuid IS NULL OR destination_id = $2)
             AND ($3::uuid IS NULL OR subscription_id = $3)
             AND ($4::uuid IS NULL OR rule_id = $4)
             AND ($5::text IS NULL OR state = $5)
             AND ($6::timestamptz IS NULL OR created_at >= $6)
             AND ($7::timestamptz IS NULL OR created_at < $7)
             AND ($8::uuid IS NULL OR id < $8)
           ORDER BY id DESC LIMIT $9"#,
        tenant_id,
        filter.destination_id,
        filter.subscription_id,
        filter.rule_id,
        filter.state.map(DeliveryState::as_str),
        filter.since,
        filter.until,
        filter.cursor,
        limit + 1
    )
    .fetch_all(pool)
    .await?;
    Ok(Page::from_rows(
        rows.into_iter().map(Delivery::from).collect(),
        limit,
        |d| d.id,
    ))
}

/// One delivery with its data and attempts.
pub async fn get(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<DeliveryDetail, DomainError> {
    let row = sqlx::query!(
        r#"SELECT id, delivery_key, event_id, event_type, subject, rule_id, destination_id,
                  subscription_id, state AS "state: DeliveryState", reason, attempts, last_status,
                  receipt, job_id, created_at, updated_at, sent_at, data
           FROM deliveries WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("delivery"))?;
    let attempts_log = sqlx::query_as!(
        Attempt,
        r#"SELECT attempted_at, outcome, status, latency_ms, excerpt
           FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempted_at, id"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(DeliveryDetail {
        delivery: Delivery {
            id: row.id,
            delivery_key: row.delivery_key,
            event_id: row.event_id,
            event_type: row.event_type,
            subject: row.subject,
            rule_id: row.rule_id,
            destination_id: row.destination_id,
            subscription_id: row.subscription_id,
            state: row.state,
            reason: row.reason,
            attempts: row.attempts,
            last_status: row.last_status,
            receipt: row.receipt,
            job_id: row.job_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            sent_at: row.sent_at,
        },
        data: row.data,
        attempts_log,
    })
}

/// An attempt to record.
#[derive(Debug, Clone)]
pub struct AttemptRecord<'a> {
    /// `delivered`, `rate_limited`, `gone`, `rejected` or `failed`.
    pub outcome: &'a str,
    /// The answer's status.
    pub status: Option<i32>,
    /// How long the call took.
    pub latency_ms: i32,
    /// The start of the answer (no credential).
    pub excerpt: &'a str,
    /// The delivery's state after it.
    pub state: DeliveryState,
    /// Why, when dead.
    pub reason: Option<&'a str>,
    /// The provider's receipt, when sent.
    pub receipt: Option<&'a str>,
}

/// Records an attempt of delivery `id` and moves its state, unless the delivery already
/// succeeded (a late duplicate attempt never overwrites `sent`).
pub async fn record_attempt(
    conn: &mut PgConnection,
    id: Uuid,
    attempt: &AttemptRecord<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO delivery_attempts (id, delivery_id, outcome, status, latency_ms, excerpt)
           VALUES ($1, $2, $3, $4, $5, $6)"#,
        Uuid::now_v7(),
        id,
        attempt.outcome,
        attempt.status,
        attempt.latency_ms,
        attempt.excerpt
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"UPDATE deliveries SET
               state = $2, reason = $3, last_status = $4,
               attempts = attempts + CASE WHEN $6 = 'rate_limited' THEN 0 ELSE 1 END,
               receipt = coalesce($5, receipt),
               sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END,
               updated_at = now()
           WHERE id = $1 AND state NOT IN ('sent', 'confirmed')"#,
        id,
        attempt.state.as_str(),
        attempt.reason,
        attempt.status,
        attempt.receipt,
        attempt.outcome
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks a delivery dead without an attempt (its destination is gone or disabled).
pub async fn mark_dead(conn: &mut PgConnection, id: Uuid, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE deliveries SET state = 'dead', reason = $2, updated_at = now()
           WHERE id = $1 AND state NOT IN ('sent', 'confirmed')"#,
        id,
        reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sends a delivery again: back to `pending` with a new `deliver` job. A delivery that was
/// sent is sent again only with `force` (its receiver sees the same `webhook-id`).
pub async fn redeliver(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    id: Uuid,
    force: bool,
) -> Result<Uuid, DomainError> {
    let state = sqlx::query_scalar!(
        r#"SELECT state AS "state: DeliveryState" FROM deliveries
           WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("delivery"))?;
    match state {
        DeliveryState::Pending | DeliveryState::Failed => {
            return Err(DomainError::Conflict(format!(
                "the delivery is {}: its job will try again",
                state.as_str()
            )));
        }
        DeliveryState::Sent | DeliveryState::Confirmed if !force => {
            return Err(DomainError::Conflict(
                "the delivery was sent; pass force=true to send it again".into(),
            ));
        }
        _ => {}
    }
    sqlx::query!(
        r#"UPDATE deliveries SET state = 'pending', reason = NULL, receipt = NULL,
                  updated_at = now() WHERE id = $1"#,
        id
    )
    .execute(&mut *conn)
    .await?;
    let job_id = dispatch::enqueue(conn, tenant_id, id, None).await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "delivery.redeliver",
            target_type: "delivery",
            target_id: id.to_string(),
            before: Some(json!({ "state": state })),
            after: Some(json!({ "state": "pending", "job_id": job_id })),
        },
    )
    .await?;
    Ok(job_id)
}

/// Most deliveries one recovery sends again.
pub const MAX_RECOVER: i64 = 10_000;

/// Sends again every `dead` delivery (out of attempts, rejected, or its target disabled) of
/// the tenant written since `since` (only to
/// `destination_id` or `subscription_id` when given); returns how many.
pub async fn recover(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    since: DateTime<Utc>,
    destination_id: Option<Uuid>,
    subscription_id: Option<Uuid>,
) -> Result<u64, DomainError> {
    let ids = sqlx::query_scalar!(
        r#"UPDATE deliveries SET state = 'pending', reason = NULL, updated_at = now()
           WHERE id IN (SELECT id FROM deliveries
                        WHERE tenant_id = $1 AND state = 'dead' AND created_at >= $2
                          AND ($3::uuid IS NULL OR destination_id = $3)
                          AND ($4::uuid IS NULL OR subscription_id = $4)
                        ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED)
           RETURNING id"#,
        tenant_id,
        since,
        destination_id,
        subscription_id,
        MAX_RECOVER
    )
    .fetch_all(&mut *conn)
    .await?;
    for &id in &ids {
        dispatch::enqueue(conn, tenant_id, id, None).await?;
    }
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "delivery.recover",
            target_type: "delivery",
            target_id: String::new(),
            before: None,
            after: Some(json!({
                "since": since, "destination_id": destination_id,
                "subscription_id": subscription_id, "deliveries": ids.len(),
            })),
        },
    )
    .await?;
    Ok(ids.len() as u64)
}

/// Writes a test message to destination `destination_id` and enqueues its `deliver` job;
/// returns the delivery's id (read it back to see what the service answered).
pub async fn send_test(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    destination_id: Uuid,
) -> Result<Uuid, DomainError> {
    let name = sqlx::query_scalar!(
        "SELECT name FROM destinations WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        destination_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("destination"))?;
    let id = Uuid::now_v7();
    let data = json!({
        "title": format!("Test message from demandflow to {name}"),
        "summary": "If you can read this, alerts reach this destination.",
        "test": true,
    });
    let d = dispatch::NewDelivery {
        key: format!("test:{id}"),
        event_id: None,
        event_type: "destination.test",
        subject: "test",
        rule_id: None,
        destination_id: Some(destination_id),
        subscription_id: None,
        data: &data,
    };
    let id = dispatch::write_pending(conn, tenant_id, &d, None)
        .await?
        .ok_or_else(|| DomainError::Conflict("the test delivery exists already".into()))?;
    audit::record(
        conn,
        tenant_id,
        actor,
        Change {
            action: "destination.test",
            target_type: "destination",
            target_id: destination_id.to_string(),
            before: None,
            after: Some(json!({ "delivery_id": id })),
        },
    )
    .await?;
    Ok(id)
}

/// How many destinations and subscriptions are paused at `now` across the fleet: waiting out a
/// service's `Retry-After`, or behind an open circuit.
pub async fn paused_targets(pool: &PgPool, now: DateTime<Utc>) -> Result<i64, DomainError> {
    let n = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM hosts
           WHERE (host LIKE 'destination:%' OR host LIKE 'subscription:%')
             AND (blocked_until > $1 OR circuit <> 'closed')"#,
        now
    )
    .fetch_one(pool)
    .await?;
    Ok(n)
}

/// How long dispatched events are kept (the deliveries they made stay longer).
pub const EVENT_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// How long finished deliveries (sent, confirmed, dead, suppressed) and their attempts are kept.
pub const DELIVERY_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// Forgets dispatched events and finished deliveries past their retention at `now`, at most
/// `batch` of each; returns how many rows went.
pub async fn prune(pool: &PgPool, now: DateTime<Utc>, batch: i64) -> Result<u64, DomainError> {
    let events = sqlx::query!(
        r#"DELETE FROM events WHERE id IN (
               SELECT id FROM events WHERE dispatched_at < $1 LIMIT $2)"#,
        now - EVENT_RETENTION,
        batch
    )
    .execute(pool)
    .await?
    .rows_affected();
    let deliveries = sqlx::query!(
        r#"DELETE FROM deliveries WHERE id IN (
               SELECT id FROM deliveries
               WHERE state IN ('sent', 'confirmed', 'dead', 'suppressed') AND updated_at < $1
               LIMIT $2)"#,
        now - DELIVERY_RETENTION,
        batch
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(events + deliveries)
}
