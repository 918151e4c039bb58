//! From events to deliveries: the dispatcher every worker runs ([`run`]).
//!
//! [`tick`] claims a batch of undispatched events (`FOR UPDATE SKIP LOCKED`: workers share the
//! outbox, none takes an event twice), and in the same transaction writes, per match:
//!
//! - an alert rule at once: one delivery per destination with the key
//!   `rule:<rule>:<destination>:<subject>` and its `deliver` job (held until the rule's quiet
//!   hours end); a throttled one is written `suppressed` instead;
//! - a digest rule: a `digest_items` row per destination (one per subject, ever), which
//!   [`flush_digests`] gathers into one delivery when the window ends;
//! - a subscription: one delivery `sub:<subscription>:<event>` and its job.
//!
//! Every insert is `ON CONFLICT DO NOTHING` on the unique key, so the same match reaching two
//! dispatchers (the same signal classified twice, two workers) makes one message — a database
//! constraint, not a check-then-send. The events are marked dispatched in that transaction.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool, postgres::PgListener};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    events::{self, EventType},
    rules::{self, AlertRule},
};
use crate::{
    DomainError,
    kinds::{JobKind, deliver::Deliver},
    queue::{self, JOBS_CHANNEL, NewJob},
};

/// Most items a digest message lists (the rest are counted).
pub const DIGEST_MAX_ITEMS: usize = 50;

/// How the dispatcher runs.
#[derive(Debug, Clone, Copy)]
pub struct DispatchSettings {
    /// The poll between wake-ups (`DISPATCH_TICK_MS`, default 1 s); a new event wakes it at once.
    pub tick: Duration,
    /// Most events per transaction.
    pub batch: i64,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(1),
            batch: 500,
        }
    }
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dispatched {
    /// Events claimed.
    pub events: usize,
    /// Deliveries written (and jobs enqueued).
    pub deliveries: usize,
    /// Matches gathered into digests.
    pub digested: usize,
    /// Matches held back by a throttle.
    pub suppressed: usize,
}

struct EventRow {
    id: Uuid,
    tenant_id: Uuid,
    r#type: String,
    subject: String,
    data: Value,
}

/// A delivery to write.
pub(crate) struct NewDelivery<'a> {
    pub(crate) key: String,
    pub(crate) event_id: Option<Uuid>,
    pub(crate) event_type: &'a str,
    pub(crate) subject: &'a str,
    pub(crate) rule_id: Option<Uuid>,
    pub(crate) destination_id: Option<Uuid>,
    pub(crate) subscription_id: Option<Uuid>,
    pub(crate) data: &'a Value,
}

/// Inserts a delivery unless its key exists; returns its id when new.
async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    d: &NewDelivery<'_>,
    state: &str,
    reason: Option<&str>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"INSERT INTO deliveries (id, tenant_id, delivery_key, event_id, event_type, subject,
                                   rule_id, destination_id, subscription_id, data, state, reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (tenant_id, delivery_key) DO NOTHING RETURNING id"#,
        Uuid::now_v7(),
        tenant_id,
        d.key,
        d.event_id,
        d.event_type,
        d.subject,
        d.rule_id,
        d.destination_id,
        d.subscription_id,
        d.data,
        state,
        reason
    )
    .fetch_optional(conn)
    .await
}

/// Writes a pending delivery and its `deliver` job (at `run_at`, or now); returns whether it
/// is new.
pub(crate) async fn write_pending(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    d: &NewDelivery<'_>,
    run_at: Option<DateTime<Utc>>,
) -> Result<Option<Uuid>, DomainError> {
    let Some(id) = insert(conn, tenant_id, d, "pending", None).await? else {
        return Ok(None);
    };
    enqueue(conn, tenant_id, id, run_at).await?;
    Ok(Some(id))
}

/// Enqueues the `deliver` job of delivery `id` (its idempotency key counts the enqueues, so a
/// redelivery is a new job).
pub(crate) async fn enqueue(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    run_at: Option<DateTime<Utc>>,
) -> Result<Uuid, DomainError> {
    let n = sqlx::query_scalar!(
        r#"UPDATE deliveries SET enqueues = enqueues + 1, updated_at = now()
           WHERE id = $1 AND tenant_id = $2 RETURNING enqueues"#,
        id,
        tenant_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut job = NewJob::new(&Deliver::of(id))?.idempotency_key(format!("deliver:{id}:{n}"))?;
    if let Some(at) = run_at {
        job = job.run_at(at);
    }
    let enqueued = queue::enqueue(conn, tenant_id, None, std::slice::from_ref(&job)).await?;
    let job_id = enqueued
        .first()
        .map(|e| e.job.id)
        .ok_or_else(|| DomainError::Conflict("the deliver job was not enqueued".into()))?;
    sqlx::query!(
        "UPDATE deliveries SET job_id = $2 WHERE id = $1",
        id,
        job_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("SELECT pg_notify($1, $2)", JOBS_CHANNEL, Deliver::KIND)
        .execute(&mut *conn)
        .await?;
    Ok(job_id)
}

/// A workflow step's alert to `destination_id` of the tenant about `subject`: the delivery's
/// id, written now or found from an earlier step (`None`: no such destination in the tenant).
pub(crate) async fn for_step(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    destination_id: Uuid,
    subject: &str,
    data: &Value,
) -> Result<Option<Uuid>, sqlx::Error> {
    let key = format!("step:{destination_id}:{subject}");
    // A verdict or a score names its signal only: the alert shows the signal's title and link.
    let mut data = data.clone();
    let signal_id = data
        .get("signal_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Uuid>().ok());
    if let (Some(signal_id), Value::Object(map)) = (signal_id, &mut data)
        && !map.contains_key("title")
        && let Some(signal) = sqlx::query!(
            "SELECT title, url, author FROM signals WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            signal_id
        )
        .fetch_optional(&mut *conn)
        .await?
    {
        map.insert("title".into(), signal.title.into());
        map.insert("url".into(), signal.url.into());
        map.insert("author".into(), signal.author.into());
    }
    let id = sqlx::query_scalar!(
        r#"WITH new AS (
               INSERT INTO deliveries (id, tenant_id, delivery_key, event_type, subject,
                                       destination_id, data)
               SELECT $1, $2, $3, 'workflow.step', $4, d.id, $6
               FROM destinations d WHERE d.tenant_id = $2 AND d.id = $5
               ON CONFLICT (tenant_id, delivery_key) DO NOTHING RETURNING id)
           SELECT id AS "id!" FROM new
           UNION ALL
           SELECT id FROM deliveries WHERE tenant_id = $2 AND delivery_key = $3"#,
        Uuid::now_v7(),
        tenant_id,
        key,
        subject,
        destination_id,
        data
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id)
}

async fn throttled(
    conn: &mut PgConnection,
    rule: &AlertRule,
    destination_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let Some(t) = rule.throttle else {
        return Ok(false);
    };
    // One dispatcher at a time counts this rule's window, so two cannot both pass the last slot.
    sqlx::query!(
        "SELECT id FROM alert_rules WHERE id = $1 FOR UPDATE",
        rule.id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let since = now - chrono::TimeDelta::seconds(i64::from(t.per_secs));
    let sent = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM deliveries
           WHERE rule_id = $1 AND destination_id = $2 AND created_at > $3 AND state <> 'suppressed'"#,
        rule.id,
        destination_id,
        since
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(sent >= i64::from(t.max))
}

/// Claims up to `batch` events and writes their deliveries; see the module docs.
pub async fn tick(
    pool: &PgPool,
    batch: i64,
    now: DateTime<Utc>,
) -> Result<Dispatched, DomainError> {
    let mut tx = pool.begin().await?;
    let claimed = sqlx::query_as!(
        EventRow,
        r#"SELECT id, tenant_id, type, subject, data FROM events
           WHERE dispatched_at IS NULL ORDER BY occurred_at LIMIT $1 FOR UPDATE SKIP LOCKED"#,
        batch
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut done = Dispatched {
        events: claimed.len(),
        ..Dispatched::default()
    };
    if claimed.is_empty() {
        return Ok(done);
    }
    let mut tenants: Vec<Uuid> = claimed.iter().map(|e| e.tenant_id).collect();
    tenants.sort();
    tenants.dedup();
    let mut rules_of: HashMap<(Uuid, EventType), Vec<AlertRule>> = HashMap::new();
    for (tenant, rule) in rules::enabled_for_tenants(&mut tx, &tenants).await? {
        rules_of.entry((tenant, rule.event)).or_default().push(rule);
    }
    let subscribers = sqlx::query!(
        "SELECT id, tenant_id, event_types FROM subscriptions WHERE tenant_id = ANY($1) AND enabled",
        &tenants
    )
    .fetch_all(&mut *tx)
    .await?;

    for event in &claimed {
        if let Some(kind) = EventType::parse(&event.r#type) {
            for rule in rules_of.get(&(event.tenant_id, kind)).into_iter().flatten() {
                if !rule.matches(&event.data) {
                    continue;
                }
                let counts = alert(&mut tx, event, rule, now).await?;
                done.deliveries += counts.deliveries;
                done.digested += counts.digested;
                done.suppressed += counts.suppressed;
            }
        }
        for sub in subscribers.iter().filter(|s| {
            s.tenant_id == event.tenant_id
                && s.event_types
                    .iter()
                    .any(|p| events::pattern_matches(p, &event.r#type))
        }) {
            let d = NewDelivery {
                key: format!("sub:{}:{}", sub.id, event.id),
                event_id: Some(event.id),
                event_type: &event.r#type,
                subject: &event.subject,
                rule_id: None,
                destination_id: None,
                subscription_id: Some(sub.id),
                data: &event.data,
            };
            if write_pending(&mut tx, event.tenant_id, &d, None)
                .await?
                .is_some()
            {
                done.deliveries += 1;
            }
        }
    }
    let ids: Vec<Uuid> = claimed.iter().map(|e| e.id).collect();
    sqlx::query!(
        "UPDATE events SET dispatched_at = $2 WHERE id = ANY($1)",
        &ids,
        now
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    metrics::counter!("events_dispatched_total").increment(done.events as u64);
    Ok(done)
}

/// One event against one rule: a delivery per destination, a digest item, or a suppression.
async fn alert(
    conn: &mut PgConnection,
    event: &EventRow,
    rule: &AlertRule,
    now: DateTime<Utc>,
) -> Result<Dispatched, DomainError> {
    let mut done = Dispatched::default();
    for &destination_id in &rule.destination_ids {
        if rule.digest_secs > 0 {
            let window_end = now + chrono::TimeDelta::seconds(i64::from(rule.digest_secs));
            let added = sqlx::query!(
                r#"INSERT INTO digest_items (tenant_id, rule_id, destination_id, subject, window_end, data)
                   VALUES ($1, $2, $3, $4,
                           coalesce((SELECT min(window_end) FROM digest_items
                                     WHERE rule_id = $2 AND destination_id = $3 AND delivery_id IS NULL), $5),
                           $6)
                   ON CONFLICT (rule_id, destination_id, subject) DO NOTHING"#,
                event.tenant_id,
                rule.id,
                destination_id,
                event.subject,
                window_end,
                event.data
            )
            .execute(&mut *conn)
            .await?;
            done.digested += added.rows_affected() as usize;
            continue;
        }
        let d = NewDelivery {
            key: format!("rule:{}:{}:{}", rule.id, destination_id, event.subject),
            event_id: Some(event.id),
            event_type: &event.r#type,
            subject: &event.subject,
            rule_id: Some(rule.id),
            destination_id: Some(destination_id),
            subscription_id: None,
            data: &event.data,
        };
        if throttled(conn, rule, destination_id, now).await? {
            if insert(conn, event.tenant_id, &d, "suppressed", Some("throttled"))
                .await?
                .is_some()
            {
                done.suppressed += 1;
            }
            continue;
        }
        let run_at = rule.quiet_hours.as_ref().and_then(|q| q.until(now));
        if write_pending(conn, event.tenant_id, &d, run_at)
            .await?
            .is_some()
        {
            done.deliveries += 1;
        }
    }
    Ok(done)
}

/// Turns every digest window that has ended by `now` into one delivery (and its job); returns
/// how many digests were written.
pub async fn flush_digests(pool: &PgPool, now: DateTime<Utc>) -> Result<usize, DomainError> {
    let due = sqlx::query!(
        r#"SELECT DISTINCT i.tenant_id, i.rule_id, i.destination_id
           FROM digest_items i
           WHERE i.delivery_id IS NULL AND i.window_end <= $1
           LIMIT 200"#,
        now
    )
    .fetch_all(pool)
    .await?;
    let mut written = 0;
    for pair in due {
        let mut tx = pool.begin().await?;
        let items = sqlx::query!(
            r#"SELECT subject, data, window_end FROM digest_items
               WHERE rule_id = $1 AND destination_id = $2 AND delivery_id IS NULL
               ORDER BY created_at FOR UPDATE SKIP LOCKED"#,
            pair.rule_id,
            pair.destination_id
        )
        .fetch_all(&mut *tx)
        .await?;
        let Some(first) = items.first() else {
            continue;
        };
        let event =
            sqlx::query_scalar!("SELECT event FROM alert_rules WHERE id = $1", pair.rule_id)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or_else(|| "digest".into());
        let count = items.len();
        let listed: Vec<&Value> = items
            .iter()
            .take(DIGEST_MAX_ITEMS)
            .map(|i| &i.data)
            .collect();
        let data = json!({
            "digest": true,
            "count": count,
            "items": listed,
            "more": count.saturating_sub(DIGEST_MAX_ITEMS),
            "window_end": first.window_end,
        });
        let subject = format!("digest:{}", pair.rule_id);
        let d = NewDelivery {
            key: format!(
                "digest:{}:{}:{}",
                pair.rule_id,
                pair.destination_id,
                first.window_end.timestamp_micros()
            ),
            event_id: None,
            event_type: &event,
            subject: &subject,
            rule_id: Some(pair.rule_id),
            destination_id: Some(pair.destination_id),
            subscription_id: None,
            data: &data,
        };
        let Some(id) = write_pending(&mut tx, pair.tenant_id, &d, None).await? else {
            continue;
        };
        let subjects: Vec<String> = items.iter().map(|i| i.subject.clone()).collect();
        sqlx::query!(
            r#"UPDATE digest_items SET delivery_id = $3
               WHERE rule_id = $1 AND destination_id = $2 AND subject = ANY($4)"#,
            pair.rule_id,
            pair.destination_id,
            id,
            &subjects
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        written += 1;
    }
    Ok(written)
}

/// A running dispatcher (see [`spawn`]).
#[derive(Debug)]
pub struct Dispatcher {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Dispatcher {
    /// Stops the dispatcher after its current tick.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Starts [`run`] on its own task.
pub fn spawn(pool: PgPool, settings: DispatchSettings) -> Dispatcher {
    let stop = CancellationToken::new();
    let task = tokio::spawn(run(pool, settings, stop.clone()));
    Dispatcher { stop, task }
}

/// Dispatches events and flushes digests until `stop` fires: at once when an event is announced,
/// and every `tick` as a safety net (a lost connection, a missed notification).
pub async fn run(pool: PgPool, settings: DispatchSettings, stop: CancellationToken) {
    let mut listener: Option<PgListener> = None;
    loop {
        if listener.is_none() {
            listener = match PgListener::connect_with(&pool).await {
                Ok(mut l) => match l.listen(events::CHANNEL).await {
                    Ok(()) => Some(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for events failed; polling");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "listening for events failed; polling");
                    None
                }
            };
        }
        loop {
            match tick(&pool, settings.batch, Utc::now()).await {
                Ok(d) if d.events as i64 == settings.batch => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "dispatching events failed; retrying next tick");
                    break;
                }
            }
        }
        match flush_digests(&pool, Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(digests = n, "digests sent on their way"),
            Err(e) => tracing::warn!(error = %e, "flushing digests failed; retrying next tick"),
        }
        let woken = async {
            match listener.as_mut() {
                Some(l) => l.recv().await.map(|_| ()),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(settings.tick) => {}
            r = woken => if r.is_err() { listener = None; },
        }
    }
}

#[cfg(test)]
mod tests;
