//! `deliver`: sends one delivery (one message to one destination or subscription) and records
//! the attempt with what the other side said.
//!
//! The args name the delivery only: the message's data stays in the `deliveries` row and the
//! credentials in the sealed destination, never in a job's args, logs or errors.
//!
//! - **Pacing, fleet-wide.** Before sending, the job takes a slot of its target's pace
//!   (`destination:<id>` or `subscription:<id>` in the host machinery): N a minute across every
//!   worker, and an open circuit after repeated failures. A 429 (Slack's `Retry-After`,
//!   Discord's `retry_after`, Telegram's `parameters.retry_after`) pauses the target for every
//!   worker; a paused target snoozes its jobs without spending attempts.
//! - **Retries on a published schedule**: after the first try, 5 s, 5 min, 30 min, 2 h, 5 h,
//!   10 h and 10 h, each ±20 % (`DELIVERY_RETRY_SCHEDULE` changes it), or a longer
//!   `Retry-After`. Only a 2xx is success; 410 (or the service's own "gone") disables the
//!   target; a permanent refusal (4xx) is dead at once.
//! - **Once.** A delivery already `sent` is never sent again by a late or duplicate job; a
//!   worker that dies mid-send leaves the delivery pending, and its rescued job sends again with
//!   the same id (`webhook-id`, Message-ID), so receivers can drop the repeat.
//! - Sending marks the alerted signal `alerted`.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use apalis_core::task::data::Data;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Backoff, Handler, JobKind, Resources};
use crate::{
    FieldError,
    audit::Actor,
    config::{self, ConfigError},
    deliveries::{
        DeliveryState,
        channels::{ChannelConfig, Channels, Credentials, Outcome},
        destinations, dispatch,
        log::{self, AttemptRecord},
        render::{Message, Templates},
        subscriptions,
    },
    queue::{JobContext, JobError},
    sources::{
        hosts::{self, HostPolicy, SlotRules},
        signals::{self, SignalState},
    },
};

/// Args of a `deliver` job: a delivery the dispatcher wrote (`delivery_id`), or a workflow
/// step's alert (`destination_id` and `data`, with an optional `subject`: one alert per subject
/// and destination, ever).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deliver {
    /// The delivery to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<Uuid>,
    /// A step's alert: the destination (of the job's tenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_id: Option<Uuid>,
    /// A step's alert: what it is about (`signal:<id>`); none: this job's own alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// A step's alert: the message's data (`{{ item }}`: title, score, category, url...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// Largest `data` a step's alert may carry.
pub const MAX_STEP_DATA: usize = 64 * 1024;

impl Deliver {
    /// The job that sends delivery `id`.
    pub fn of(id: Uuid) -> Self {
        Self {
            delivery_id: Some(id),
            destination_id: None,
            subject: None,
            data: None,
        }
    }
}

/// The published retry schedule: the waits after the first try.
pub const DEFAULT_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

impl JobKind for Deliver {
    const KIND: &'static str = "deliver";
    /// The first try and one per step of [`DEFAULT_SCHEDULE`].
    const MAX_ATTEMPTS: i32 = 1 + DEFAULT_SCHEDULE.len() as i32;
    const TIMEOUT: Duration = Duration::from_secs(90);
    /// Short: the schedule comes from [`DeliverySettings::schedule`], passed as `retry_after`.
    const BACKOFF: Backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_millis(100),
    };

    fn validate(&self) -> Result<(), FieldError> {
        match (self.delivery_id, self.destination_id) {
            (Some(_), None) => {
                if self.subject.is_some() || self.data.is_some() {
                    return Err(FieldError::new(
                        "delivery_id",
                        "a delivery carries its own subject and data",
                    ));
                }
            }
            (None, Some(_)) => {
                if let Some(subject) = &self.subject
                    && (subject.is_empty() || subject.len() > 200 || subject.contains('\0'))
                {
                    return Err(FieldError::new(
                        "subject",
                        "expected 1 to 200 bytes, no NUL",
                    ));
                }
                match &self.data {
                    Some(Value::Object(_)) => {}
                    _ => return Err(FieldError::new("data", "required: an object")),
                }
                if self
                    .data
                    .as_ref()
                    .is_some_and(|d| d.to_string().len() > MAX_STEP_DATA)
                {
                    return Err(FieldError::new(
                        "data",
                        format!("larger than {MAX_STEP_DATA} bytes"),
                    ));
                }
            }
            _ => {
                return Err(FieldError::new(
                    "",
                    "expected either `delivery_id` or `destination_id` with `data`",
                ));
            }
        }
        Ok(())
    }
}

/// How deliveries are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    /// The waits after each failed try (`DELIVERY_RETRY_SCHEDULE`: comma-separated durations
    /// such as `5s,5m,30m,2h,5h,10h,10h`); past the end, the last one.
    pub schedule: Vec<Duration>,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            schedule: DEFAULT_SCHEDULE.to_vec(),
        }
    }
}

impl DeliverySettings {
    /// Reads `DELIVERY_RETRY_SCHEDULE`.
    pub fn from_env() -> Result<Self, ConfigError> {
        match config::optional("DELIVERY_RETRY_SCHEDULE") {
            None => Ok(Self::default()),
            Some(text) => parse_schedule(&text)
                .map(|schedule| Self { schedule })
                .map_err(|why| ConfigError {
                    var: "DELIVERY_RETRY_SCHEDULE".into(),
                    expected: format!("comma-separated durations such as 5s,5m,2h ({why})"),
                }),
        }
    }

    /// The wait after failed try `attempt` (1-based), jittered ±20 %.
    pub fn delay(&self, attempt: i32) -> Duration {
        let i = usize::try_from(attempt.max(1) - 1).unwrap_or(0);
        let base = self
            .schedule
            .get(i)
            .or(self.schedule.last())
            .copied()
            .unwrap_or(Duration::from_secs(5));
        base.mul_f64(rand::random_range(0.8..=1.2))
    }
}

/// Parses `5s,5m,30m,2h` (units ms, s, m, h, d).
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    let steps: Result<Vec<Duration>, String> = text
        .split(',')
        .map(|step| {
            crate::text::parse_duration(step, None).ok_or_else(|| {
                format!(
                    "{:?} is not a number with a unit (ms, s, m, h or d)",
                    step.trim()
                )
            })
        })
        .collect();
    let steps = steps?;
    if steps.is_empty() || steps.len() > 50 {
        return Err("expected 1 to 50 steps".into());
    }
    Ok(steps)
}

/// What the deliver handler shares across jobs.
#[derive(Debug, Clone)]
pub struct DeliverContext {
    /// The database.
    pub pool: PgPool,
    /// The protocols, with their clients and SMTP connections.
    pub channels: Arc<Channels>,
    /// The retry schedule.
    pub settings: DeliverySettings,
    /// When a target's circuit opens.
    pub policy: HostPolicy,
}

impl Handler for Deliver {
    type Context = DeliverContext;

    fn context(resources: &Resources) -> DeliverContext {
        DeliverContext {
            pool: resources.pool.clone(),
            channels: Arc::new(Channels::new(resources.allow_private_networks)),
            settings: resources.deliveries.clone(),
            policy: HostPolicy::default(),
        }
    }

    fn handle(
        self,
        job: JobContext,
        ctx: Data<DeliverContext>,
    ) -> impl Future<Output = Result<Value, JobError>> + Send {
        handle(self, job, ctx)
    }
}

/// Runs one attempt of a `deliver` job.
pub async fn handle(
    args: Deliver,
    job: JobContext,
    ctx: Data<DeliverContext>,
) -> Result<Value, JobError> {
    run(&args, &job, &ctx).await
}

/// Where a delivery goes, loaded for one attempt.
struct Loaded {
    data: Value,
    event_type: String,
    created_at: chrono::DateTime<Utc>,
    /// `destination:<id>` or `subscription:<id>`.
    pace_key: String,
    rate_per_min: i32,
    kind: &'static str,
    config: ChannelConfig,
    credentials: Credentials,
    template: Option<String>,
    destination_id: Option<Uuid>,
    subscription_id: Option<Uuid>,
    signal_id: Option<Uuid>,
}

/// One attempt (tests call it directly).
#[tracing::instrument(skip_all, fields(job_id = %job.id))]
pub async fn run(
    args: &Deliver,
    job: &JobContext,
    ctx: &DeliverContext,
) -> Result<Value, JobError> {
    let id = match (args.delivery_id, args.destination_id) {
        (Some(id), _) => id,
        (None, Some(destination)) => {
            let subject = args
                .subject
                .clone()
                .unwrap_or_else(|| format!("job:{}", job.id));
            let data = args.data.clone().unwrap_or_default();
            let mut conn = ctx.pool.acquire().await?;
            match dispatch::for_step(&mut conn, job.tenant_id, destination, &subject, &data).await?
            {
                Some(id) => id,
                None => return Ok(json!({ "skipped": "no such destination" })),
            }
        }
        (None, None) => return Err(JobError::permanent("nothing to deliver")),
    };
    let loaded = match load(&ctx.pool, job.tenant_id, id).await? {
        Load::Ready(l) => *l,
        Load::Done(why) => return Ok(json!({ "skipped": why })),
    };

    hosts::take_slot(
        &ctx.pool,
        &loaded.pace_key,
        loaded.rate_per_min,
        &ctx.policy,
        SlotRules {
            wait_here: Duration::ZERO,
            snoozed_metric: Some("deliveries_snoozed_total"),
        },
    )
    .await?;

    let message = Message {
        id: id.to_string(),
        event_type: loaded.event_type.clone(),
        occurred_at: loaded.created_at,
        data: loaded.data.clone(),
    };
    let templates = loaded
        .template
        .clone()
        .map(|t| Templates(BTreeMap::from([(loaded.config.kind(), t)])));
    let started = Instant::now();
    let outcome = ctx
        .channels
        .send(
            &loaded.config,
            &loaded.credentials,
            &message,
            templates.as_ref(),
        )
        .await;
    let latency = started.elapsed();
    let latency_ms = i32::try_from(latency.as_millis()).unwrap_or(i32::MAX);
    let label = outcome_label(&outcome);
    metrics::counter!("deliveries_total", "kind" => loaded.kind, "outcome" => label).increment(1);
    metrics::histogram!("delivery_latency_seconds", "kind" => loaded.kind)
        .record(latency.as_secs_f64());
    settle(job, ctx, id, &loaded, outcome, latency_ms).await
}

enum Load {
    Ready(Box<Loaded>),
    Done(String),
}

async fn load(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Load, JobError> {
    let mut conn = pool.acquire().await?;
    let Some(d) = sqlx::query!(
        r#"SELECT d.state AS "state: DeliveryState", d.data, d.event_type, d.created_at,
                  d.destination_id, d.subscription_id, r.templates AS "templates?"
           FROM deliveries d LEFT JOIN alert_rules r ON r.id = d.rule_id
           WHERE d.tenant_id = $1 AND d.id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(Load::Done("the delivery was deleted".into()));
    };
    if matches!(
        d.state,
        DeliveryState::Sent | DeliveryState::Confirmed | DeliveryState::Suppressed
    ) {
        return Ok(Load::Done(format!("the delivery is {}", d.state)));
    }
    let signal_id = d
        .data
        .get("signal_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    let loaded = if let Some(dest) = d.destination_id {
        let Some(target) = destinations::target(&mut conn, tenant_id, dest).await? else {
            log::mark_dead(&mut conn, id, "the destination was deleted").await?;
            return Ok(Load::Done("the destination was deleted".into()));
        };
        if !target.enabled {
            log::mark_dead(&mut conn, id, "the destination is disabled").await?;
            return Ok(Load::Done("the destination is disabled".into()));
        }
        let template = d
            .templates
            .as_ref()
            .and_then(|t| t.get(target.kind.as_str()))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Loaded {
            data: d.data,
            event_type: d.event_type,
            created_at: d.created_at,
            pace_key: format!("destination:{dest}"),
            rate_per_min: target.rate_limit_per_min,
            kind: target.kind.as_str(),
            config: target.config,
            credentials: target.credentials,
            template,
            destination_id: Some(dest),
            subscription_id: None,
            signal_id,
        }
    } else if let Some(sub) = d.subscription_id {
        let Some(endpoint) = subscriptions::endpoint(&mut conn, tenant_id, sub).await? else {
            log::mark_dead(&mut conn, id, "the subscription was deleted").await?;
            return Ok(Load::Done("the subscription was deleted".into()));
        };
        if !endpoint.enabled {
            log::mark_dead(&mut conn, id, "the subscription is disabled").await?;
            return Ok(Load::Done("the subscription is disabled".into()));
        }
        Loaded {
            data: d.data,
            event_type: d.event_type,
            created_at: d.created_at,
            pace_key: format!("subscription:{sub}"),
            rate_per_min: subscriptions::RATE_PER_MIN,
            kind: "subscription",
            config: ChannelConfig::Webhook {
                url: endpoint.url.to_string(),
            },
            credentials: Credentials::Webhook {
                signing_secrets: endpoint.secrets,
            },
            template: None,
            destination_id: None,
            subscription_id: Some(sub),
            signal_id: None,
        }
    } else {
        log::mark_dead(&mut conn, id, "the delivery has no target").await?;
        return Ok(Load::Done("the delivery has no target".into()));
    };
    Ok(Load::Ready(Box::new(loaded)))
}

fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Delivered { .. } => "delivered",
        Outcome::RateLimited { .. } => "rate_limited",
        Outcome::Gone { .. } => "gone",
        Outcome::Rejected { .. } => "rejected",
        Outcome::Failed { .. } => "failed",
    }
}

/// Records the attempt, moves the delivery and its target, and says what the queue does next.
async fn settle(
    job: &JobContext,
    ctx: &DeliverContext,
    id: Uuid,
    loaded: &Loaded,
    outcome: Outcome,
    latency_ms: i32,
) -> Result<Value, JobError> {
    let label = outcome_label(&outcome);
    let now = Utc::now();
    let mut tx = ctx.pool.begin().await?;
    let status_of = |s: Option<u16>| s.map(i32::from);
    // A success that emptied the service's bucket pauses the target like a 429 would.
    let mut pause_for = None;
    let result = match outcome {
        Outcome::Delivered {
            status,
            receipt,
            excerpt,
            pause,
        } => {
            pause_for = pause;
            let record = AttemptRecord {
                outcome: label,
                status: status_of(status),
                latency_ms,
                excerpt: &excerpt,
                state: DeliveryState::Sent,
                reason: None,
                receipt: receipt.as_deref(),
            };
            log::record_attempt(&mut tx, id, &record).await?;
            if let Some(sub) = loaded.subscription_id {
                subscriptions::record_success(&mut tx, sub).await?;
            }
            if let Some(signal) = loaded.signal_id {
                let actor = Actor {
                    request_id: job.correlation_id.clone(),
                    ..Actor::default()
                };
                // Alerted once; a signal already alerted (or moved on) stays as it is.
                let _ = signals::transition(
                    &mut tx,
                    job.tenant_id,
                    &actor,
                    signal,
                    SignalState::Alerted,
                    None,
                )
                .await;
            }
            Ok(json!({ "status": status, "receipt": receipt, "latency_ms": latency_ms }))
        }
        Outcome::RateLimited {
            status,
            retry_after,
            excerpt,
        } => {
            let record = AttemptRecord {
                outcome: label,
                status: Some(i32::from(status)),
                latency_ms,
                excerpt: &excerpt,
                state: DeliveryState::Pending,
                reason: None,
                receipt: None,
            };
            log::record_attempt(&mut tx, id, &record).await?;
            Err(JobError::snooze(
                format!("{} asked to wait", loaded.pace_key),
                retry_after,
            ))
        }
        Outcome::Gone { status, excerpt } => {
            let reason = format!("the service said the target is gone ({status})");
            let record = AttemptRecord {
                outcome: label,
                status: Some(i32::from(status)),
                latency_ms,
                excerpt: &excerpt,
                state: DeliveryState::Dead,
                reason: Some(&reason),
                receipt: None,
            };
            log::record_attempt(&mut tx, id, &record).await?;
            if let Some(dest) = loaded.destination_id {
                destinations::disable(&mut tx, job.tenant_id, dest, &reason).await?;
            }
            if let Some(sub) = loaded.subscription_id {
                subscriptions::record_failure(&mut tx, job.tenant_id, sub, true, now).await?;
            }
            Err(JobError::permanent(reason))
        }
        Outcome::Rejected { status, excerpt } => {
            let reason = format!("refused: {}", excerpt.chars().take(200).collect::<String>());
            let record = AttemptRecord {
                outcome: label,
                status: status_of(status),
                latency_ms,
                excerpt: &excerpt,
                state: DeliveryState::Dead,
                reason: Some(&reason),
                receipt: None,
            };
            log::record_attempt(&mut tx, id, &record).await?;
            Err(JobError::permanent(reason))
        }
        Outcome::Failed {
            status,
            excerpt,
            retry_after,
        } => {
            let mut last = job.attempt >= job.max_attempts;
            if let Some(sub) = loaded.subscription_id
                && subscriptions::record_failure(&mut tx, job.tenant_id, sub, false, now).await?
            {
                last = true;
            }
            let reason = last.then(|| format!("out of attempts after {} tries", job.attempt));
            let record = AttemptRecord {
                outcome: label,
                status: status_of(status),
                latency_ms,
                excerpt: &excerpt,
                state: if last {
                    DeliveryState::Dead
                } else {
                    DeliveryState::Failed
                },
                reason: reason.as_deref(),
                receipt: None,
            };
            log::record_attempt(&mut tx, id, &record).await?;
            let message = format!(
                "{}: {}",
                status.map_or("no answer".to_owned(), |s| s.to_string()),
                excerpt.chars().take(200).collect::<String>()
            );
            if last {
                Err(JobError::permanent(message))
            } else {
                let wait = ctx
                    .settings
                    .delay(job.attempt)
                    .max(retry_after.unwrap_or_default());
                Err(JobError::Retry {
                    message,
                    retry_after: Some(wait),
                })
            }
        }
    };
    tx.commit().await?;
    // The target's health, fleet-wide (outside the transaction: it locks the pace row).
    let paced = match (&result, label) {
        (Ok(_), _) => match hosts::record_success(&ctx.pool, &loaded.pace_key, now).await {
            Ok(()) => match pause_for {
                Some(pause) => hosts::block(&ctx.pool, &loaded.pace_key, pause, now).await,
                None => Ok(()),
            },
            Err(e) => Err(e),
        },
        (Err(JobError::Snooze { delay, .. }), _) => {
            hosts::block(&ctx.pool, &loaded.pace_key, *delay, now).await
        }
        (Err(_), "failed") => {
            hosts::record_failure(
                &ctx.pool,
                &loaded.pace_key,
                "delivery failed",
                &ctx.policy,
                now,
            )
            .await
        }
        _ => Ok(()),
    };
    if let Err(e) = paced {
        tracing::warn!(error = %e, "could not record the target's pace");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_with_units_and_refuse_nonsense() {
        assert_eq!(
            parse_schedule("5s, 5m,2h,250ms").unwrap(),
            vec![
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_secs(7200),
                Duration::from_millis(250)
            ]
        );
        for bad in ["", "5", "5w", "s", "5s,,5s", "-5s"] {
            assert!(parse_schedule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delays_follow_the_schedule_with_jitter_and_stay_on_the_last_step() {
        let s = DeliverySettings::default();
        for attempt in 1..=7 {
            let d = s.delay(attempt);
            let base = DEFAULT_SCHEDULE[(attempt - 1) as usize];
            assert!(
                d >= base.mul_f64(0.8) && d <= base.mul_f64(1.2),
                "{attempt}: {d:?}"
            );
        }
        assert!(s.delay(30) >= Duration::from_secs(10 * 3600).mul_f64(0.8));
        assert_eq!(Deliver::MAX_ATTEMPTS, 8);
    }
}
