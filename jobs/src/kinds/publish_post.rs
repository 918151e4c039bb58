//! `publish_post`: publishes one post on its Mastodon-compatible account, once.
//!
//! The args name the post only: its text and images stay in the `posts` rows and the token in
//! the sealed account, never in a job's args, logs or errors.
//!
//! - **At its time.** The job is enqueued with `run_at = publish_at`.
//! - **Pacing, fleet-wide.** Every request takes a slot of the account's pace (`account:<id>`
//!   in the host machinery, 60 a minute by default) and respects its circuit. An answer whose
//!   `X-RateLimit-Remaining` is 0 pauses the account until `X-RateLimit-Reset` for every
//!   worker; a 429 pauses it too, and snoozes the job without spending an attempt.
//! - **Images first, once.** Each image is uploaded (`POST /api/v2/media`) only while it has no
//!   server id; a 202 (still processing) is polled (`GET /api/v1/media/{id}`) for a few seconds,
//!   then the job comes back later and polls again, never uploading again.
//! - **The status once**, with `Idempotency-Key: <post id>` (see [`crate::publishing`] for what
//!   happens past the key's hour).
//! - **Outcomes.** 401/403: the post fails and the account is disabled; 422 (and any other
//!   4xx): the post fails with the server's message; 5xx, timeouts and network errors are
//!   retried on the deliveries' schedule (`DELIVERY_RETRY_SCHEDULE`), and the post fails when
//!   the attempts run out.

use std::{sync::Arc, time::Duration};

use apalis_core::task::data::Data;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    Backoff, Handler, JobKind, Resources,
    deliver::{DEFAULT_SCHEDULE, DeliverySettings, MAX_STEP_DATA},
};
use crate::{
    DomainError, FieldError,
    deliveries::render::check_text_template,
    publishing::{
        PostState, Visibility, accounts,
        mastodon::{Answered, Mastodon, Rate, Upload, remote_id},
        record,
        step::{self, StepPost},
    },
    queue::{JobContext, JobError},
    sources::hosts::{self, HostPolicy, SlotRules},
};

/// Args of a `publish_post` job: a post (`post_id`), or a workflow step's post (`account_id`,
/// `template` and `data`, with an optional `visibility`; see [`crate::publishing::step`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishPost {
    /// The post (of the job's tenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_id: Option<Uuid>,
    /// A step's post: the account (of the job's tenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Uuid>,
    /// A step's post: the status's template over `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// A step's post: the data (`{{ data.… }}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// A step's post: who sees it (public by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
}

impl PublishPost {
    /// The job that publishes post `id`.
    pub fn of(id: Uuid) -> Self {
        Self {
            post_id: Some(id),
            account_id: None,
            template: None,
            data: None,
            visibility: None,
        }
    }
}

impl JobKind for PublishPost {
    const KIND: &'static str = "publish_post";
    /// The first try and one per step of the deliveries' schedule.
    const MAX_ATTEMPTS: i32 = 1 + DEFAULT_SCHEDULE.len() as i32;
    const TIMEOUT: Duration = Duration::from_secs(120);
    /// Short: the schedule comes from [`DeliverySettings::delay`], passed as `retry_after`.
    const BACKOFF: Backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_millis(100),
    };

    fn validate(&self) -> Result<(), FieldError> {
        let step = (self.account_id, &self.template, &self.data);
        match (self.post_id, step) {
            (Some(_), (None, None, None)) if self.visibility.is_none() => Ok(()),
            (None, (Some(_), Some(template), Some(Value::Object(_)))) => {
                check_text_template(template).map_err(|e| e.under("template"))?;
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
                Ok(())
            }
            _ => Err(FieldError::new(
                "",
                "expected either `post_id`, or `account_id`, `template` and `data` (an object)",
            )),
        }
    }
}

/// How long a server keeps an `Idempotency-Key` (Mastodon: one hour), less a margin: past it,
/// a post that may have gone out is not posted again.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(55 * 60);

/// What the handler shares across jobs.
#[derive(Debug, Clone)]
pub struct PublishContext {
    /// The database.
    pub pool: PgPool,
    /// The client.
    pub client: Arc<Mastodon>,
    /// The retry schedule.
    pub settings: DeliverySettings,
    /// When an account's circuit opens.
    pub policy: HostPolicy,
    /// How long one attempt polls an image still being processed.
    pub media_wait: Duration,
}

impl Handler for PublishPost {
    type Context = PublishContext;

    fn context(resources: &Resources) -> PublishContext {
        PublishContext {
            pool: resources.pool.clone(),
            client: Arc::new(Mastodon::new(resources.allow_private_networks)),
            settings: resources.deliveries.clone(),
            policy: HostPolicy::default(),
            media_wait: Duration::from_secs(10),
        }
    }

    fn handle(
        self,
        job: JobContext,
        ctx: Data<PublishContext>,
    ) -> impl Future<Output = Result<Value, JobError>> + Send {
        handle(self, job, ctx)
    }
}

/// Runs one attempt of a `publish_post` job.
pub async fn handle(
    args: PublishPost,
    job: JobContext,
    ctx: Data<PublishContext>,
) -> Result<Value, JobError> {
    run(&args, &job, &ctx).await
}

/// One attempt's account: where, with what, and its pace key.
struct Account {
    id: Uuid,
    base: String,
    token: secrecy::SecretString,
    rate: i32,
    key: String,
}

/// One attempt (tests call it directly).
#[tracing::instrument(skip_all, fields(job_id = %job.id))]
pub async fn run(
    args: &PublishPost,
    job: &JobContext,
    ctx: &PublishContext,
) -> Result<Value, JobError> {
    let id = match (args.post_id, args.account_id, &args.template, &args.data) {
        (Some(id), ..) => id,
        (None, Some(account_id), Some(template), Some(data)) => {
            return from_step(
                job,
                ctx,
                StepPost {
                    account_id,
                    template,
                    data,
                    visibility: args.visibility,
                },
            )
            .await;
        }
        _ => return Err(JobError::permanent("nothing to publish")),
    };
    let tenant = job.tenant_id;
    let mut conn = ctx.pool.acquire().await?;
    let Some(post) = record::load(&mut conn, tenant, id).await? else {
        return Ok(json!({ "skipped": "the post was deleted" }));
    };
    if let Some(remote) = post.remote_id {
        return Ok(json!({ "skipped": "published already", "remote_id": remote }));
    }
    if post.state != PostState::Scheduled {
        return Ok(json!({ "skipped": format!("the post is {}", post.state) }));
    }
    let Some(target) = accounts::target(&mut conn, tenant, post.account_id).await? else {
        return Ok(json!({ "skipped": "the account was deleted" }));
    };
    if !target.enabled {
        record::failed(&mut conn, tenant, id, "the account is disabled").await?;
        return Err(JobError::permanent("the account is disabled"));
    }
    drop(conn);
    let account = Account {
        id: post.account_id,
        base: target.base_url,
        token: target.token,
        rate: target.rate_limit_per_min,
        key: format!("account:{}", post.account_id),
    };

    let media_ids = upload_media(job, ctx, &account, id).await?;

    let now = Utc::now();
    let mut conn = ctx.pool.acquire().await?;
    let Some(since) = record::begin_posting(&mut conn, tenant, id, now).await? else {
        return Ok(json!({ "skipped": "the post moved on" }));
    };
    if now - since > TimeDelta::from_std(IDEMPOTENCY_WINDOW).unwrap_or_default() {
        let why = format!(
            "may have been published: a request at {since} got no answer recorded, and the \
             server's Idempotency-Key lasts an hour; check the account and post again if it \
             is not there"
        );
        record::failed(&mut conn, tenant, id, &why).await?;
        metrics::counter!("posts_total", "outcome" => "unconfirmed").increment(1);
        return Err(JobError::permanent(why));
    }
    drop(conn);

    let mut status = json!({ "status": post.text, "visibility": post.visibility.as_str() });
    if let Some(s) = &post.spoiler_text {
        status["spoiler_text"] = json!(s);
    }
    if let Some(l) = &post.language {
        status["language"] = json!(l);
    }
    if !media_ids.is_empty() {
        status["media_ids"] = json!(media_ids);
    }
    permit(ctx, &account).await?;
    let answer = ctx
        .client
        .post_status(&account.base, &account.token, &id.to_string(), &status)
        .await;
    let Answered::Ok { body, rate, .. } = answer else {
        return Err(setback(job, ctx, &account, id, answer, true).await?);
    };
    let Some(remote) = remote_id(&body) else {
        return Err(setback(job, ctx, &account, id, no_id(), true).await?);
    };
    let url = body.get("url").and_then(Value::as_str).map(str::to_owned);
    let mut conn = ctx.pool.acquire().await?;
    record::published(&mut conn, tenant, id, &remote, url.as_deref()).await?;
    drop(conn);
    healthy(ctx, &account, rate, Utc::now()).await;
    metrics::counter!("posts_total", "outcome" => "published").increment(1);
    Ok(json!({ "remote_id": remote, "url": url }))
}

/// A step's run: makes its post once; the post's own job publishes it.
async fn from_step(
    job: &JobContext,
    ctx: &PublishContext,
    step: StepPost<'_>,
) -> Result<Value, JobError> {
    let mut tx = ctx.pool.begin().await?;
    let post = match step::post(&mut tx, job, step).await {
        Ok(post) => post,
        Err(
            e @ (DomainError::Invalid(_) | DomainError::NotFound(_) | DomainError::Conflict(_)),
        ) => {
            return Err(JobError::permanent(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(json!({ "post_id": post.id, "state": post.state, "text": post.text }))
}

fn no_id() -> Answered {
    Answered::Failed {
        status: None,
        message: "the server's answer has no usable id".into(),
        retry_after: None,
    }
}

/// Uploads the images that have no server id yet and waits for those still processed;
/// returns every image's server id, in order.
async fn upload_media(
    job: &JobContext,
    ctx: &PublishContext,
    account: &Account,
    post_id: Uuid,
) -> Result<Vec<String>, JobError> {
    let mut conn = ctx.pool.acquire().await?;
    let media = record::media(&mut conn, post_id).await?;
    drop(conn);
    let mut ids = Vec::with_capacity(media.len());
    for m in media {
        let (remote, mut ready) = match m.remote_id {
            Some(remote) => (remote, m.ready),
            None => {
                permit(ctx, account).await?;
                let upload = Upload {
                    content_type: &m.content_type,
                    bytes: &m.bytes,
                    description: m.description.as_deref(),
                };
                let answer = ctx
                    .client
                    .upload(&account.base, &account.token, upload)
                    .await;
                let Answered::Ok { status, body, rate } = answer else {
                    return Err(setback(job, ctx, account, post_id, answer, false).await?);
                };
                healthy(ctx, account, rate, Utc::now()).await;
                let Some(remote) = remote_id(&body) else {
                    return Err(setback(job, ctx, account, post_id, no_id(), false).await?);
                };
                let ready = status == 200 && !body.get("url").is_none_or(Value::is_null);
                let mut conn = ctx.pool.acquire().await?;
                record::media_uploaded(&mut conn, post_id, m.position, &remote, ready).await?;
                (remote, ready)
            }
        };
        let deadline = tokio::time::Instant::now() + ctx.media_wait;
        while !ready {
            if tokio::time::Instant::now() >= deadline {
                return Err(JobError::Retry {
                    message: format!("image {} is still being processed", m.position),
                    retry_after: Some(Duration::from_secs(15)),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            permit(ctx, account).await?;
            let answer = ctx
                .client
                .media(&account.base, &account.token, &remote)
                .await;
            let Answered::Ok { status, rate, .. } = answer else {
                return Err(setback(job, ctx, account, post_id, answer, false).await?);
            };
            healthy(ctx, account, rate, Utc::now()).await;
            if status == 200 {
                ready = true;
                let mut conn = ctx.pool.acquire().await?;
                record::media_uploaded(&mut conn, post_id, m.position, &remote, true).await?;
            }
        }
        ids.push(remote);
    }
    Ok(ids)
}

/// Takes a slot of the account's pace; waits of up to 2 s are waited here, longer ones snooze
/// the job (no attempt spent).
async fn permit(ctx: &PublishContext, account: &Account) -> Result<(), JobError> {
    let rules = SlotRules {
        wait_here: Duration::from_secs(2),
        snoozed_metric: None,
    };
    hosts::take_slot(&ctx.pool, &account.key, account.rate, &ctx.policy, rules).await
}

/// An answer that worked: the account's circuit closes, and a spent window pauses it.
async fn healthy(ctx: &PublishContext, account: &Account, rate: Rate, now: DateTime<Utc>) {
    let mut done = hosts::record_success(&ctx.pool, &account.key, now).await;
    if done.is_ok()
        && let Some(pause) = rate.exhausted_for(now)
    {
        done = hosts::block(&ctx.pool, &account.key, pause, now).await;
    }
    if let Err(e) = done {
        tracing::warn!(error = %e, "could not record the account's pace");
    }
}

/// Records what a failed call means and returns the job's error. `status_call`: the call was
/// `POST /api/v1/statuses`, so an answer that made nothing clears `posting_since`.
async fn setback(
    job: &JobContext,
    ctx: &PublishContext,
    account: &Account,
    post_id: Uuid,
    answer: Answered,
    status_call: bool,
) -> Result<JobError, JobError> {
    let (tenant, now) = (job.tenant_id, Utc::now());
    let mut conn = ctx.pool.acquire().await?;
    let nothing_posted = !matches!(answer, Answered::Failed { .. });
    if status_call && nothing_posted {
        record::posted_nothing(&mut conn, tenant, post_id).await?;
    }
    let label = match &answer {
        Answered::Ok { .. } => "ok",
        Answered::RateLimited { .. } => "rate_limited",
        Answered::Unauthorized { .. } => "unauthorized",
        Answered::Refused { .. } => "refused",
        Answered::Failed { .. } => "failed",
    };
    metrics::counter!("publish_requests_total", "outcome" => label).increment(1);
    Ok(match answer {
        Answered::RateLimited { wait } => {
            hosts::block(&ctx.pool, &account.key, wait, now).await?;
            JobError::snooze(format!("429 from {}", account.key), wait)
        }
        Answered::Unauthorized { status, message } => {
            let why = format!("the server refused the token ({status}): {message}");
            accounts::disable(&mut conn, tenant, account.id, &why).await?;
            record::failed(&mut conn, tenant, post_id, &why).await?;
            JobError::permanent(why)
        }
        Answered::Refused { status, message } => {
            let why = format!("refused ({status}): {message}");
            record::failed(&mut conn, tenant, post_id, &why).await?;
            JobError::permanent(why)
        }
        Answered::Failed {
            status,
            message,
            retry_after,
        } => {
            let why = format!(
                "{}: {message}",
                status.map_or("no answer".to_owned(), |s| s.to_string())
            );
            if let Err(e) =
                hosts::record_failure(&ctx.pool, &account.key, &why, &ctx.policy, now).await
            {
                tracing::warn!(error = %e, "could not record the account's failure");
            }
            if job.attempt >= job.max_attempts {
                record::failed(
                    &mut conn,
                    tenant,
                    post_id,
                    &format!("out of attempts: {why}"),
                )
                .await?;
                JobError::permanent(why)
            } else {
                record::note_error(&mut conn, tenant, post_id, &why).await?;
                let wait = ctx
                    .settings
                    .delay(job.attempt)
                    .max(retry_after.unwrap_or_default());
                JobError::Retry {
                    message: why,
                    retry_after: Some(wait),
                }
            }
        }
        Answered::Ok { .. } => JobError::retry("unexpected success"),
    })
}
