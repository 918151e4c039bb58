//! `fetch_source`: poll one source's feed and ingest its items as signals.
//!
//! One attempt: the source's host must grant a slot (fleet-wide rate limit, circuit breaker;
//! otherwise the job is snoozed until the host is free, without spending an attempt), then a
//! conditional GET (`If-None-Match` / `If-Modified-Since` from the last answer; a 304 writes
//! nothing but the poll time) through the SSRF-guarded client (gzip, at most 5 redirects,
//! every hop re-checked), with a timeout and a cap on the (decompressed) body. The body is
//! decoded by its charset, parsed (RSS 2.0, Atom, JSON Feed, Reddit listing), sanitised,
//! gated and deduplicated into signals in one transaction that also stores the new
//! `ETag`/`Last-Modified`. The result names the ids of the signals it inserted as `new`
//! (`new_signal_ids`, at most 1,000; `new_signal_ids_truncated` when there were more), so a
//! workflow can fan out over them.
//!
//! Failures: network errors, timeouts, 408 and 5xx count against the host's circuit and are
//! retried; a 429 blocks the host for everyone for its `Retry-After` and is retried then; a
//! refused target, a redirect loop, another 4xx, a body over the cap or a malformed feed fail
//! permanently. Every outcome is written on the source (`last_status`, `last_error`).
//!
//! API kinds (`hn_search`, `json_api`, `mastodon`, `bluesky_search`, `x_search`,
//! `reddit_search`) are polled by [`sources::apis::poll`] instead: page by page from the
//! source's cursor, with the same politeness and failures, and each page's signals stored with
//! the next cursor; an API that wants an access token gets one exchanged for the source's
//! secret, kept in [`FetchContext::tokens`] for as long as it lives.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use apalis_core::task::data::Data;
use chrono::Utc;
use reqwest::{
    StatusCode, Url,
    header::{CONTENT_TYPE, ETAG, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Backoff, Handler, JobKind, Resources, http_request};
use crate::{
    DomainError, FieldError,
    config::{self, ConfigError},
    net,
    queue::{JobContext, JobError},
    sources::{
        self, FetchRecord, SourceKind, feed,
        hosts::{self, HostPolicy, Permit},
        ingest::{self, Gates},
        signals,
    },
};

/// Args of a `fetch_source` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchSource {
    /// The source to poll (of the job's tenant).
    pub source_id: Uuid,
}

impl JobKind for FetchSource {
    const KIND: &'static str = "fetch_source";
    const MAX_ATTEMPTS: i32 = 5;
    const TIMEOUT: Duration = Duration::from_secs(180);
    const BACKOFF: Backoff = Backoff {
        base: Duration::from_secs(5),
        cap: Duration::from_secs(900),
    };

    fn validate(&self) -> Result<(), FieldError> {
        Ok(())
    }
}

/// How feeds are read, as a worker's settings say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSettings {
    /// Longest wait for a feed (`FETCH_TIMEOUT_MS`, default 30 s).
    pub timeout: Duration,
    /// Largest feed read, after decompression (`FETCH_MAX_BYTES`, default 10 MiB).
    pub max_bytes: usize,
    /// The circuit breaker per host (`CIRCUIT_FAILURE_THRESHOLD`, default 5;
    /// `CIRCUIT_COOLDOWN_MS`, default 60 s).
    pub host_policy: HostPolicy,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_bytes: 10 * 1024 * 1024,
            host_policy: HostPolicy::default(),
        }
    }
}

impl FetchSettings {
    /// Reads `FETCH_TIMEOUT_MS`, `FETCH_MAX_BYTES`, `CIRCUIT_FAILURE_THRESHOLD` and
    /// `CIRCUIT_COOLDOWN_MS`; each unset one keeps its default.
    pub fn from_env() -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            timeout: config::millis("FETCH_TIMEOUT_MS", default.timeout, 100..=300_000)?,
            max_bytes: config::number(
                "FETCH_MAX_BYTES",
                default.max_bytes as u64,
                1024..=1024 * 1024 * 1024,
            )? as usize,
            host_policy: HostPolicy {
                failure_threshold: config::number(
                    "CIRCUIT_FAILURE_THRESHOLD",
                    default.host_policy.failure_threshold as u64,
                    1..=1000,
                )? as i32,
                cooldown: config::millis(
                    "CIRCUIT_COOLDOWN_MS",
                    default.host_policy.cooldown,
                    100..=86_400_000,
                )?,
                ..default.host_policy
            },
        })
    }
}

/// What the fetch_source handler shares across jobs.
#[derive(Debug, Clone)]
pub struct FetchContext {
    /// The database.
    pub pool: PgPool,
    /// The guarded client.
    pub client: reqwest::Client,
    /// `ALLOW_PRIVATE_NETWORKS`.
    pub allow_private: bool,
    /// The circuit breaker's settings.
    pub policy: HostPolicy,
    /// Longest wait for a feed (`FETCH_TIMEOUT_MS`, default 30 s).
    pub timeout: Duration,
    /// Largest feed read, after decompression (`FETCH_MAX_BYTES`, default 10 MiB).
    pub max_bytes: usize,
    /// The access tokens API sources exchanged their secrets for, kept by this process.
    pub tokens: sources::apis::Tokens,
}

impl FetchContext {
    /// A context with a fresh guarded client and default limits.
    pub fn new(pool: PgPool, allow_private: bool) -> Self {
        Self::with_settings(pool, allow_private, FetchSettings::default())
    }

    /// A context with a fresh guarded client and the limits of `settings`.
    pub fn with_settings(pool: PgPool, allow_private: bool, settings: FetchSettings) -> Self {
        Self {
            pool,
            client: net::client(allow_private),
            allow_private,
            policy: settings.host_policy,
            timeout: settings.timeout,
            max_bytes: settings.max_bytes,
            tokens: sources::apis::Tokens::default(),
        }
    }
}

impl Handler for FetchSource {
    type Context = FetchContext;

    fn context(resources: &Resources) -> FetchContext {
        FetchContext::with_settings(
            resources.pool.clone(),
            resources.allow_private_networks,
            resources.fetch,
        )
    }

    fn handle(
        self,
        job: JobContext,
        ctx: Data<FetchContext>,
    ) -> impl Future<Output = Result<Value, JobError>> + Send {
        handle(self, job, ctx)
    }
}

/// Runs one attempt of a `fetch_source` job.
#[tracing::instrument(skip_all, fields(source_id = %args.source_id))]
pub async fn handle(
    args: FetchSource,
    job: JobContext,
    ctx: Data<FetchContext>,
) -> Result<Value, JobError> {
    run(&args, job.tenant_id, &ctx).await
}

/// One attempt for `tenant_id`, callable without apalis (the benchmark calls it directly).
pub async fn run(
    args: &FetchSource,
    tenant_id: Uuid,
    ctx: &FetchContext,
) -> Result<Value, JobError> {
    let mut conn = ctx.pool.acquire().await?;
    let row = match sources::get_row(&mut conn, tenant_id, args.source_id).await {
        Ok(row) => row,
        Err(DomainError::NotFound(_)) => return Ok(json!({ "skipped": "the source was deleted" })),
        Err(e) => return Err(e.into()),
    };
    drop(conn);
    let source = &row.source;
    if source.kind == SourceKind::Push {
        return Err(JobError::permanent("push sources are not fetched"));
    }
    if !source.enabled {
        return Ok(json!({ "skipped": "the source is disabled" }));
    }
    let url = source
        .url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .ok_or_else(|| JobError::permanent("the source has no valid URL"))?;
    let host = source
        .host
        .clone()
        .unwrap_or_else(|| sources::host_key(&url));
    let record = |r: FetchRecord| {
        let pool = ctx.pool.clone();
        let id = source.id;
        async move {
            if let Ok(mut c) = pool.acquire().await
                && let Err(e) = sources::record_fetch(&mut c, id, &r).await
            {
                tracing::warn!(error = %e, "could not record the fetch on its source");
            }
        }
    };
    if let Err(refusal) = net::check_url(&url, ctx.allow_private) {
        record(FetchRecord {
            error: Some(refusal.clone()),
            ..Default::default()
        })
        .await;
        return Err(JobError::permanent(refusal));
    }
    if let Some(dialect) = sources::apis::dialect(source.kind) {
        return sources::apis::poll(dialect, &row, tenant_id, &url, &host, ctx).await;
    }

    match hosts::acquire(
        &ctx.pool,
        &host,
        source.rate_limit_per_min,
        &ctx.policy,
        Utc::now(),
    )
    .await?
    {
        Permit::Go { probe } => {
            if probe {
                tracing::info!(host, "half-open circuit: this fetch is the probe");
            }
        }
        Permit::Wait { delay, reason } => {
            metrics::counter!("source_fetches_snoozed_total", "reason" => reason).increment(1);
            tracing::debug!(
                host,
                reason,
                delay_ms = delay.as_millis() as u64,
                "host busy; snoozing"
            );
            return Err(JobError::snooze(format!("{reason} on {host}"), delay));
        }
    }
    let fail_host = |error: String| {
        let pool = ctx.pool.clone();
        let host = host.clone();
        let policy = ctx.policy;
        async move {
            if let Err(e) = hosts::record_failure(&pool, &host, &error, &policy, Utc::now()).await {
                tracing::warn!(error = %e, "could not record the host's failure");
            }
        }
    };
    let host_ok = || {
        let pool = ctx.pool.clone();
        let host = host.clone();
        async move {
            if let Err(e) = hosts::record_success(&pool, &host, Utc::now()).await {
                tracing::warn!(error = %e, "could not record the host's success");
            }
        }
    };

    let mut request = ctx
        .client
        .get(url.clone())
        .timeout(ctx.timeout)
        .header(
            "accept",
            "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5",
        );
    if let Some(etag) = row
        .etag
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(lm) = row
        .last_modified
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        request = request.header(IF_MODIFIED_SINCE, lm);
    }
    let started = Instant::now();
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            let (message, permanent) = if net::is_blocked(&e) {
                (net::BlockedAddress::describe(&e), true)
            } else if e.is_redirect() {
                (format!("too many redirects (a loop?): {e}"), true)
            } else if e.is_timeout() {
                (
                    format!("timed out after {} ms", ctx.timeout.as_millis()),
                    false,
                )
            } else {
                (format!("request failed: {e}"), false)
            };
            record(FetchRecord {
                error: Some(message.clone()),
                ..Default::default()
            })
            .await;
            if permanent {
                return Err(JobError::permanent(message));
            }
            fail_host(message.clone()).await;
            return Err(JobError::retry(message));
        }
    };
    let status = response.status();
    let code = Some(i32::from(status.as_u16()));
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let etag = header(ETAG);
    let last_modified = header(LAST_MODIFIED);
    let content_type = header(CONTENT_TYPE);

    metrics::counter!("source_fetches_total", "status" => status.as_u16().to_string()).increment(1);
    if status == StatusCode::NOT_MODIFIED {
        host_ok().await;
        record(FetchRecord {
            status: code,
            etag,
            last_modified,
            error: None,
            cursor: None,
        })
        .await;
        return Ok(
            json!({ "status": 304, "not_modified": true, "new_signal_ids": [], "duration_ms": started.elapsed().as_millis() as u64 }),
        );
    }
    if !status.is_success() {
        let retry_after = http_request::retry_after(response.headers());
        let message = format!("HTTP {}", status.as_u16());
        record(FetchRecord {
            status: code,
            error: Some(message.clone()),
            ..Default::default()
        })
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after.unwrap_or(Duration::from_secs(60));
            if let Err(e) = hosts::block(&ctx.pool, &host, wait, Utc::now()).await {
                tracing::warn!(error = %e, "could not record the host's Retry-After");
            }
            return Err(JobError::Retry {
                message,
                retry_after: Some(wait),
            });
        }
        if http_request::is_retryable(status) {
            fail_host(message.clone()).await;
            return Err(JobError::Retry {
                message,
                retry_after,
            });
        }
        host_ok().await;
        return Err(JobError::permanent(message));
    }

    // The body, capped (after gzip: a small bomb cannot blow up).
    if response
        .content_length()
        .is_some_and(|n| n > ctx.max_bytes as u64)
    {
        host_ok().await;
        let message = format!("the feed is larger than {} bytes", ctx.max_bytes);
        record(FetchRecord {
            status: code,
            error: Some(message.clone()),
            ..Default::default()
        })
        .await;
        return Err(JobError::permanent(message));
    }
    let mut response = response;
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > ctx.max_bytes {
                    host_ok().await;
                    let message = format!("the feed is larger than {} bytes", ctx.max_bytes);
                    record(FetchRecord {
                        status: code,
                        error: Some(message.clone()),
                        ..Default::default()
                    })
                    .await;
                    return Err(JobError::permanent(message));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                let message = if e.is_timeout() {
                    format!(
                        "timed out reading the feed after {} ms",
                        ctx.timeout.as_millis()
                    )
                } else {
                    format!("reading the feed failed: {e}")
                };
                record(FetchRecord {
                    status: code,
                    error: Some(message.clone()),
                    ..Default::default()
                })
                .await;
                fail_host(message.clone()).await;
                return Err(JobError::retry(message));
            }
        }
    }
    host_ok().await;
    let bytes = body.len();

    // Parse and prepare off the async threads: a large feed is CPU work.
    let kind = source.kind;
    let final_url = response.url().clone();
    let parsed = tokio::task::spawn_blocking(move || {
        feed::parse(kind, &body, content_type.as_deref(), &final_url)
            .map(|items| ingest::prepare_all(items, Some(&final_url)))
    })
    .await
    .map_err(|e| JobError::retry(format!("parsing was interrupted: {e}")))?;
    let prepared = match parsed {
        Ok(p) => p,
        Err(e) => {
            // A parser's message may quote the document: keep it storable.
            let message = crate::text::storable(&e.to_string()).into_owned();
            record(FetchRecord {
                status: code,
                error: Some(message.clone()),
                ..Default::default()
            })
            .await;
            return Err(JobError::permanent(message));
        }
    };

    let mut tx = ctx.pool.begin().await?;
    let gates = Gates::new(signals::settings(&mut tx, tenant_id).await?);
    let report = ingest::store(&mut tx, tenant_id, source.id, &gates, prepared).await?;
    sources::record_fetch(
        &mut tx,
        source.id,
        &FetchRecord {
            status: code,
            etag,
            last_modified,
            error: None,
            cursor: None,
        },
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("signals_ingested_total", "outcome" => "new")
        .increment(report.inserted as u64);
    metrics::counter!("signals_ingested_total", "outcome" => "duplicate")
        .increment(report.duplicates as u64);
    metrics::counter!("signals_ingested_total", "outcome" => "near_duplicate")
        .increment(report.near_duplicates as u64);
    for (reason, n) in &report.rejected {
        metrics::counter!("signals_rejected_total", "reason" => reason.clone())
            .increment(*n as u64);
    }
    let mut result = serde_json::to_value(&report).unwrap_or_default();
    if let Value::Object(map) = &mut result {
        map.insert("status".into(), json!(status.as_u16()));
        map.insert("bytes".into(), json!(bytes));
        map.insert(
            "duration_ms".into(),
            json!(started.elapsed().as_millis() as u64),
        );
    }
    Ok(result)
}
