//! `export_lead`: offers one lead to the tenant's partners, down the waterfall, until it is
//! sold (exclusively) or every partner that takes it has answered.
//!
//! The args name the lead only; the partner's credentials stay sealed in its row and are
//! opened here to send, never written to args, logs or errors.
//!
//! - **One worker per lead.** The job holds a session advisory lock on the lead for its run (on
//!   a connection of its own, so a killed worker's lock goes with its session); another job of
//!   the same lead snoozes until it is free.
//! - **Record first.** Every (lead, partner) has one export row, made before the first request
//!   (its id is the `Idempotency-Key` of every ping and post), and every answer is recorded
//!   before anything else is decided. A job rescued after a crash reads the rows: an export that
//!   answered is never posted again; one still `pending` is retried with the same key.
//! - **Waterfall.** Rejected, duplicate, cap reached, or taken → the next partner. An exclusive
//!   sale stops the walk; a shared one goes on to the next shared partner.
//! - **Retries.** Errors and timeouts retry the same export on the deliveries' schedule
//!   (`DELIVERY_RETRY_SCHEDULE`); after the last attempt the export is `failed` and the walk
//!   goes on. Pacing and circuits per partner are the hosts machinery's, keyed `partner:<id>`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use apalis_core::task::data::Data;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{Connection, PgPool};
use uuid::Uuid;

use super::{Backoff, Handler, JobKind, Resources, deliver::DeliverySettings};
use crate::{
    FieldError,
    deliveries::channels::Channels,
    leads::LeadStatus,
    partners::{
        exports::{self, Answered, Claim, Export, ExportState, Route},
        mapping::Verdict,
        request::{self, Sent, Step},
        spec::{self, Confirmation, Mode, Secrets},
    },
    queue::{JobContext, JobError},
    sources::hosts::{self, HostPolicy, SlotRules},
};

/// Args of an `export_lead` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportLead {
    /// The lead (of the job's tenant).
    pub lead_id: Uuid,
}

/// The first half of every lead export lock's key (two-number advisory locks; see
/// [`crate::queue`]'s liveness locks for the other namespace).
const LOCK_NAMESPACE: i32 = 1_684_406_274;
/// How long a job waits when another holds its lead.
const BUSY_WAIT: Duration = Duration::from_secs(2);

impl JobKind for ExportLead {
    const KIND: &'static str = "export_lead";
    const MAX_ATTEMPTS: i32 = 8;
    const TIMEOUT: Duration = Duration::from_secs(300);
    /// Short: the schedule comes from [`DeliverySettings::delay`], passed as `retry_after`.
    const BACKOFF: Backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_millis(100),
    };

    fn validate(&self) -> Result<(), FieldError> {
        if self.lead_id.is_nil() {
            return Err(FieldError::new("lead_id", "expected a lead's id"));
        }
        Ok(())
    }
}

/// Enqueues the export of the tenant's lead `lead_id` in the caller's transaction; only a
/// `qualified` lead is offered to partners (a conflict otherwise). Returns the job's id.
pub async fn enqueue(
    conn: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    lead_id: Uuid,
    correlation_id: Option<&str>,
) -> Result<Uuid, crate::DomainError> {
    let status = sqlx::query_scalar!(
        r#"SELECT status AS "status: LeadStatus" FROM leads
           WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"#,
        tenant_id,
        lead_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(crate::DomainError::NotFound("lead"))?;
    if status != LeadStatus::Qualified {
        return Err(crate::DomainError::Conflict(format!(
            "only a qualified lead is exported; this one is {status}"
        )));
    }
    let job = crate::queue::NewJob::new(&ExportLead { lead_id })?;
    let enqueued = crate::queue::enqueue(conn, tenant_id, correlation_id, &[job]).await?;
    enqueued
        .first()
        .map(|e| e.job.id)
        .ok_or(crate::DomainError::NotFound("job"))
}

/// What the export handler shares across jobs.
#[derive(Debug, Clone)]
pub struct ExportContext {
    /// The database.
    pub pool: PgPool,
    /// The guarded outbound client.
    pub channels: Arc<Channels>,
    /// The retry schedule.
    pub settings: DeliverySettings,
    /// When a partner's circuit opens.
    pub policy: HostPolicy,
}

impl Handler for ExportLead {
    type Context = ExportContext;

    fn context(resources: &Resources) -> ExportContext {
        ExportContext {
            pool: resources.pool.clone(),
            channels: Arc::new(Channels::new(resources.allow_private_networks)),
            settings: resources.deliveries.clone(),
            policy: HostPolicy::default(),
        }
    }

    // The trait's signature: the future must be `Send`, which `async fn` cannot say.
    #[allow(clippy::manual_async_fn)]
    fn handle(
        self,
        job: JobContext,
        ctx: Data<ExportContext>,
    ) -> impl Future<Output = Result<Value, JobError>> + Send {
        async move { run(&self, &job, &ctx).await }
    }
}

fn lock_key(lead_id: Uuid) -> i32 {
    let b = lead_id.as_bytes();
    let mut k = [0u8; 4];
    for (i, byte) in b.iter().enumerate() {
        k[i % 4] ^= byte;
    }
    i32::from_be_bytes(k)
}

/// One attempt (tests call it directly).
#[tracing::instrument(skip_all, fields(job_id = %job.id, lead_id = %args.lead_id))]
pub async fn run(
    args: &ExportLead,
    job: &JobContext,
    ctx: &ExportContext,
) -> Result<Value, JobError> {
    // A connection of its own: the lock lives as long as this session, and a dropped
    // connection (a killed worker, a timeout) releases it.
    let mut lock = ctx.pool.acquire().await?.detach();
    let held = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_lock($1, $2) AS "held!""#,
        LOCK_NAMESPACE,
        lock_key(args.lead_id)
    )
    .fetch_one(&mut lock)
    .await?;
    if !held {
        return Err(JobError::snooze(
            "another worker is exporting this lead",
            BUSY_WAIT,
        ));
    }
    let result = walk(args, job, ctx).await;
    // Unlock in so many words before closing: a closed session releases its locks only once
    // the server has finished with it, and the next attempt may already be asking. If the
    // unlock fails (the database went away), closing the session still releases it.
    let _ = sqlx::query_scalar!(
        r#"SELECT pg_advisory_unlock($1, $2) AS "released!""#,
        LOCK_NAMESPACE,
        lock_key(args.lead_id)
    )
    .fetch_one(&mut lock)
    .await;
    let _ = lock.close().await;
    result
}

/// How the walk ended for one partner.
enum Walk {
    /// Go on to the next partner.
    Next(&'static str),
    /// The lead is sold exclusively: stop.
    Sold,
}

async fn walk(args: &ExportLead, job: &JobContext, ctx: &ExportContext) -> Result<Value, JobError> {
    let mut conn = ctx.pool.acquire().await?;
    let Some(lead) = exports::lead_facts(&mut conn, job.tenant_id, args.lead_id).await? else {
        return Ok(json!({ "skipped": "no such lead" }));
    };
    if !matches!(lead.status, LeadStatus::Qualified | LeadStatus::Exported) {
        return Ok(json!({ "skipped": format!("the lead is {}, not qualified", lead.status) }));
    }
    let routes = exports::routes(&mut conn, job.tenant_id, &lead).await?;
    drop(conn);
    let mut log = Vec::new();
    for route in &routes {
        let step = match exports::claim(&ctx.pool, job.tenant_id, lead.id, route).await? {
            Claim::CapReached => Walk::Next("cap_reached"),
            Claim::Taken => Walk::Next("taken"),
            Claim::Answered(e) => {
                if e.exclusive && e.state.is_live() {
                    Walk::Sold
                } else {
                    Walk::Next(e.state.as_str())
                }
            }
            Claim::Go(export) => offer(job, ctx, &lead.context, route, &export).await?,
        };
        match step {
            Walk::Sold => {
                log.push(json!({ "partner_id": route.partner_id, "outcome": "sold" }));
                return Ok(json!({ "sold": true, "partners": log }));
            }
            Walk::Next(why) => {
                log.push(json!({ "partner_id": route.partner_id, "outcome": why }));
            }
        }
    }
    Ok(json!({ "sold": false, "partners": log }))
}

/// Offers the lead to one partner through its pending export.
async fn offer(
    job: &JobContext,
    ctx: &ExportContext,
    lead: &Value,
    route: &Route,
    export: &Export,
) -> Result<Walk, JobError> {
    let pace_key = format!("partner:{}", route.partner_id);
    hosts::take_slot(
        &ctx.pool,
        &pace_key,
        route.rate_limit_per_min,
        &ctx.policy,
        SlotRules {
            wait_here: Duration::ZERO,
            snoozed_metric: Some("partner_exports_snoozed_total"),
        },
    )
    .await?;
    let secrets = match Secrets::open(&route.sealed) {
        Ok(s) => s,
        Err(e) => {
            let reason = format!("the partner's secrets do not open: {e}");
            return give_up(job, ctx, export, None, &reason).await;
        }
    };
    let config = &route.config;
    let mut context = lead.clone();
    context["export"] = json!({ "id": export.id });
    context["bid_id"] = json!(export.bid_id);
    let started = Instant::now();
    if route.mode == Mode::PingPost && export.bid_id.is_none() {
        let ping_template = spec::ping_template(config);
        let ping = Step {
            url: config.ping_url.as_deref().unwrap_or(&config.post_url),
            template: &ping_template,
            mapping: config.ping_mapping.as_ref().unwrap_or(&config.mapping),
        };
        let key = format!("{}:ping", export.id);
        let sent = request::send(&ctx.channels, config, &secrets, ping, &context, &key).await;
        match sent.reading.verdict {
            Verdict::Accepted => {
                let bid = sent
                    .reading
                    .bid_id
                    .clone()
                    .unwrap_or_else(|| export.id.to_string());
                let mut conn = ctx.pool.acquire().await?;
                exports::record_bid(&mut conn, export.id, &bid, sent.reading.price_cents).await?;
                context["bid_id"] = json!(bid);
            }
            _ => return answered(job, ctx, route, export, &sent, "ping").await,
        }
    }
    let sent = request::send(
        &ctx.channels,
        config,
        &secrets,
        Step::post(config),
        &context,
        &export.id.to_string(),
    )
    .await;
    metrics::histogram!("partner_export_latency_seconds").record(started.elapsed().as_secs_f64());
    answered(job, ctx, route, export, &sent, "post").await
}

/// Records what the partner said (before deciding anything else) and says what comes next.
async fn answered(
    job: &JobContext,
    ctx: &ExportContext,
    route: &Route,
    export: &Export,
    sent: &Sent,
    what: &'static str,
) -> Result<Walk, JobError> {
    let pace_key = format!("partner:{}", route.partner_id);
    let now = Utc::now();
    let verdict = sent.reading.verdict;
    metrics::counter!("partner_exports_total", "step" => what, "outcome" => verdict.as_str())
        .increment(1);
    let state = match verdict {
        Verdict::Accepted if route.config.confirmation == Confirmation::Postback => {
            ExportState::Posted
        }
        Verdict::Accepted => ExportState::Accepted,
        Verdict::Rejected => ExportState::Rejected,
        Verdict::Duplicate => ExportState::Duplicate,
        Verdict::Error => {
            if sent.status == Some(429) {
                let wait = sent.retry_after.unwrap_or(Duration::from_secs(30));
                let _ = hosts::block(&ctx.pool, &pace_key, wait, now).await;
            } else if let Err(e) =
                hosts::record_failure(&ctx.pool, &pace_key, "export failed", &ctx.policy, now).await
            {
                tracing::warn!(error = %e, "could not record the partner's pace");
            }
            let status = sent.status.map(i32::from);
            if sent.permanent || job.attempt >= job.max_attempts {
                let reason = if sent.permanent {
                    sent.excerpt.chars().take(200).collect::<String>()
                } else {
                    format!("out of attempts after {} tries", job.attempt)
                };
                return give_up(job, ctx, export, status, &reason).await;
            }
            let mut conn = ctx.pool.acquire().await?;
            exports::record_error(&mut conn, export.id, status, &sent.excerpt).await?;
            let wait = ctx
                .settings
                .delay(job.attempt)
                .max(sent.retry_after.unwrap_or_default());
            return Err(JobError::Retry {
                message: format!(
                    "{} {what}: {}",
                    route.name,
                    sent.excerpt.chars().take(200).collect::<String>()
                ),
                retry_after: Some(wait),
            });
        }
    };
    let answer = Answered {
        state,
        status: sent.status.map(i32::from),
        excerpt: &sent.excerpt,
        partner_lead_id: sent.reading.lead_id.as_deref(),
        price_cents: sent.reading.price_cents,
        reason: sent.reading.reason.as_deref(),
    };
    exports::settle(
        &ctx.pool,
        job.tenant_id,
        export.id,
        &answer,
        job.correlation_id.clone(),
    )
    .await?;
    if let Err(e) = hosts::record_success(&ctx.pool, &pace_key, now).await {
        tracing::warn!(error = %e, "could not record the partner's pace");
    }
    Ok(match state {
        ExportState::Accepted | ExportState::Posted if export.exclusive => Walk::Sold,
        other => Walk::Next(other.as_str()),
    })
}

/// Marks the export `failed` (no more tries) and goes on to the next partner.
async fn give_up(
    job: &JobContext,
    ctx: &ExportContext,
    export: &Export,
    status: Option<i32>,
    reason: &str,
) -> Result<Walk, JobError> {
    let answer = Answered {
        state: ExportState::Failed,
        status,
        excerpt: reason,
        partner_lead_id: None,
        price_cents: None,
        reason: Some(reason),
    };
    exports::settle(
        &ctx.pool,
        job.tenant_id,
        export.id,
        &answer,
        job.correlation_id.clone(),
    )
    .await?;
    Ok(Walk::Next("failed"))
}

#[cfg(test)]
mod tests;
