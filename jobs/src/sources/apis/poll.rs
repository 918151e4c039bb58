//! The poll of an API source: page after page through the fleet-wide politeness, each page's
//! signals stored with its cursor in one transaction; and the sample fetch of a preview.
//!
//! Per page: the host's slot ([`hosts::acquire`]; a short wait is slept, a long one snoozes
//! the job before its first page and ends the poll after a later one), the GET through the
//! SSRF-guarded client, the body capped, the rate-limit headers honoured (a spent budget
//! blocks the host for the whole fleet until its reset), the answer read by the dialect,
//! then one transaction: the signals and the cursor. Failures are those of feeds: network
//! errors, timeouts, 408 and 5xx count against the host's circuit and are retried; a 429
//! blocks the host until `Retry-After` (else the announced reset, else a minute) and is
//! retried then; another 4xx, a refused target, an oversized or malformed answer fail
//! permanently. A failure after some pages leaves those pages stored with their cursor.
//!
//! A source whose API wants a token ([`super::Session`]) has it from this process' cache, or
//! exchanges its secret for one first (through the token host's slot, with the same
//! failures); a 401 from the API drops the token and exchanges once more before it fails.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use chrono::{DateTime, Utc};
use reqwest::{RequestBuilder, StatusCode, header::HeaderMap};
use serde::Serialize;
use serde_json::{Value, json};
use url::Url;
use uuid::Uuid;

use super::{
    Dialect, Page, RateLimit, rate_limit,
    session::{self, Session, TokenKey},
};
use crate::{
    kinds::{fetch_source::FetchContext, http_request},
    net,
    queue::JobError,
    sources::{
        self, FetchRecord, NewSource, Source, SourceRow,
        feed::{Engagement, FeedError},
        hosts::{self, Permit},
        ingest::{self, Gates, Report},
        signals,
    },
};

/// Most pages one poll reads (the rest waits for the next poll, from the stored cursor).
pub const MAX_PAGES_PER_POLL: usize = 10;

/// A wait for the host up to this long is slept inside the poll.
const WAIT_HERE: Duration = Duration::from_secs(3);

/// Most items a preview shows.
const PREVIEW_ITEMS: usize = 20;

/// Why one request failed.
pub(super) struct Failure {
    pub(super) message: String,
    pub(super) status: Option<i32>,
    /// Counts against the host's circuit.
    pub(super) host_failed: bool,
    pub(super) error: JobError,
}

impl Failure {
    /// The same failure, its message rewritten by `with` (in the job's error too).
    pub(super) fn reworded(self, with: impl FnOnce(&str) -> String) -> Self {
        let message = with(&self.message);
        let error = match self.error {
            JobError::Retry { retry_after, .. } => JobError::Retry {
                message: message.clone(),
                retry_after,
            },
            JobError::Permanent(_) => JobError::permanent(message.clone()),
            other => other,
        };
        Self {
            message,
            error,
            ..self
        }
    }
}

/// An answer read whole.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
}

/// One GET of `url`, its status checked and its body capped at `max_bytes`.
async fn get(
    client: &reqwest::Client,
    dialect: &dyn Dialect,
    url: &Url,
    bearer: Option<&SecretString>,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Answer, Failure> {
    let mut request = client.get(url.clone()).timeout(timeout);
    for (name, value) in dialect.headers() {
        request = request.header(*name, *value);
    }
    if let Some(token) = bearer {
        request = request.bearer_auth(token.expose_secret());
    }
    send(request, timeout, max_bytes).await
}

/// Sends `request` (made with `timeout`), its status checked and its body capped at
/// `max_bytes`.
pub(super) async fn send(
    request: RequestBuilder,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Answer, Failure> {
    let mut response = request.send().await.map_err(|e| {
        let (message, permanent) = if net::is_blocked(&e) {
            (net::BlockedAddress::describe(&e), true)
        } else if e.is_redirect() {
            (format!("too many redirects (a loop?): {e}"), true)
        } else if e.is_timeout() {
            (format!("timed out after {} ms", timeout.as_millis()), false)
        } else {
            (format!("request failed: {e}"), false)
        };
        Failure {
            error: if permanent {
                JobError::permanent(message.clone())
            } else {
                JobError::retry(message.clone())
            },
            host_failed: !permanent,
            message,
            status: None,
        }
    })?;
    let status = response.status();
    let code = Some(i32::from(status.as_u16()));
    let headers = response.headers().clone();
    if !status.is_success() {
        let message = format!("HTTP {}", status.as_u16());
        let retry_after = http_request::retry_after(&headers);
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after
                .or_else(|| until_reset(rate_limit(&headers, Utc::now())))
                .unwrap_or(Duration::from_secs(60));
            return Err(Failure {
                error: JobError::Retry {
                    message: message.clone(),
                    retry_after: Some(wait),
                },
                message,
                status: code,
                host_failed: false,
            });
        }
        let retryable = http_request::is_retryable(status);
        return Err(Failure {
            error: if retryable {
                JobError::Retry {
                    message: message.clone(),
                    retry_after,
                }
            } else {
                JobError::permanent(message.clone())
            },
            message,
            status: code,
            host_failed: retryable,
        });
    }
    let too_large = || {
        let message = format!("the answer is larger than {max_bytes} bytes");
        Failure {
            error: JobError::permanent(message.clone()),
            message,
            status: code,
            host_failed: false,
        }
    };
    if response
        .content_length()
        .is_some_and(|n| n > max_bytes as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max_bytes {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                let message = format!("reading the answer failed: {e}");
                return Err(Failure {
                    error: JobError::retry(message.clone()),
                    message,
                    status: code,
                    host_failed: true,
                });
            }
        }
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// How long until an announced reset.
fn until_reset(limit: Option<RateLimit>) -> Option<Duration> {
    let limit = limit?;
    Some(
        (limit.reset_at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_secs(1)),
    )
}

/// Waits for the host's slot: `Ok(true)` to go, `Ok(false)` when the wait is long (and
/// `snooze` is not asked), or the snooze.
async fn slot(
    ctx: &FetchContext,
    host: &str,
    rate_per_min: i32,
    snooze: bool,
) -> Result<bool, JobError> {
    for _ in 0..3 {
        match hosts::acquire(&ctx.pool, host, rate_per_min, &ctx.policy, Utc::now()).await? {
            Permit::Go { probe } => {
                if probe {
                    tracing::info!(host, "half-open circuit: this fetch is the probe");
                }
                return Ok(true);
            }
            Permit::Wait { delay, .. } if delay <= WAIT_HERE => tokio::time::sleep(delay).await,
            Permit::Wait { delay, reason } => {
                if !snooze {
                    return Ok(false);
                }
                metrics::counter!("source_fetches_snoozed_total", "reason" => reason).increment(1);
                return Err(JobError::snooze(format!("{reason} on {host}"), delay));
            }
        }
    }
    if snooze {
        return Err(JobError::snooze(format!("rate_limit on {host}"), WAIT_HERE));
    }
    Ok(false)
}

fn merge(total: &mut Report, page: Report) {
    total.items += page.items;
    total.inserted += page.inserted;
    total.duplicates += page.duplicates;
    total.near_duplicates += page.near_duplicates;
    for (reason, n) in page.rejected {
        *total.rejected.entry(reason).or_default() += n;
    }
    let room = ingest::MAX_NEW_SIGNAL_IDS.saturating_sub(total.new_signal_ids.len());
    total.new_signal_ids_truncated |=
        page.new_signal_ids_truncated || page.new_signal_ids.len() > room;
    total
        .new_signal_ids
        .extend(page.new_signal_ids.into_iter().take(room));
}

async fn record(ctx: &FetchContext, source_id: Uuid, r: FetchRecord) {
    if let Ok(mut c) = ctx.pool.acquire().await
        && let Err(e) = sources::record_fetch(&mut c, source_id, &r).await
    {
        tracing::warn!(error = %e, "could not record the fetch on its source");
    }
}

/// A failure that ends the poll: a permanent error, written on the source.
async fn give_up(ctx: &FetchContext, source_id: Uuid, message: String) -> JobError {
    record(
        ctx,
        source_id,
        FetchRecord {
            error: Some(message.clone()),
            ..Default::default()
        },
    )
    .await;
    JobError::permanent(message)
}

/// A request to `host` that failed: the host's state (a 429 blocks it for the fleet, a
/// network error or 5xx counts against its circuit), the source's last error, and the job's.
async fn failed(ctx: &FetchContext, source_id: Uuid, host: &str, f: Failure) -> JobError {
    metrics::counter!("source_fetches_total", "status" => f.status.map_or("error".to_owned(), |s| s.to_string())).increment(1);
    if let JobError::Retry {
        retry_after: Some(wait),
        ..
    } = &f.error
        && f.status == Some(429)
        && let Err(e) = hosts::block(&ctx.pool, host, *wait, Utc::now()).await
    {
        tracing::warn!(error = %e, "could not record the host's Retry-After");
    }
    if f.host_failed {
        if let Err(e) =
            hosts::record_failure(&ctx.pool, host, &f.message, &ctx.policy, Utc::now()).await
        {
            tracing::warn!(error = %e, "could not record the host's failure");
        }
    } else if f.status.is_some() && f.status != Some(429) {
        host_ok(ctx, host).await;
    }
    record(
        ctx,
        source_id,
        FetchRecord {
            status: f.status,
            error: Some(f.message),
            ..Default::default()
        },
    )
    .await;
    f.error
}

/// How the requests of a poll are authorised.
enum Credentials {
    /// Not at all.
    None,
    /// With the source's secret as the bearer token.
    Bearer(SecretString),
    /// With a token exchanged for the secret, cached under `key`.
    Session {
        session: &'static dyn Session,
        secret: SecretString,
        key: TokenKey,
    },
}

impl Credentials {
    /// The credentials of `row` for `dialect`: its sealed secret opened when the API takes one
    /// (the reason, when it is missing or does not open).
    fn of(dialect: &'static dyn Dialect, row: &SourceRow) -> Result<Self, String> {
        let settings = &row.source.settings;
        let Some(what) = dialect.secret(settings) else {
            return Ok(Self::None);
        };
        let sealed = row
            .secret
            .as_deref()
            .ok_or_else(|| format!("the source has no `secret` ({what})"))?;
        let secret = crate::secrets::open(sources::SECRET_PURPOSE, sealed)
            .map_err(|e| format!("cannot open the source's `secret`: {e}"))?;
        Ok(match dialect.session(settings) {
            Some(session) => Self::Session {
                session,
                secret,
                key: TokenKey::new(row.source.id, sealed),
            },
            None => Self::Bearer(secret),
        })
    }
}

/// The bearer of the next request: the secret itself, the cached token, or a token
/// exchanged now (the token host's slot first; a refused exchange fails for good).
async fn bearer(
    ctx: &FetchContext,
    dialect: &dyn Dialect,
    source: &Source,
    credentials: &Credentials,
) -> Result<Option<SecretString>, JobError> {
    let (session, secret, key) = match credentials {
        Credentials::None => return Ok(None),
        Credentials::Bearer(secret) => return Ok(Some(secret.clone())),
        Credentials::Session {
            session,
            secret,
            key,
        } => (*session, secret, key),
    };
    if let Some(token) = ctx.tokens.get(key).await {
        return Ok(Some(token));
    }
    let request = match session.token_request(&source.settings, secret) {
        Ok(r) => r,
        Err(e) => {
            return Err(give_up(
                ctx,
                source.id,
                format!("cannot build the token request: {e}"),
            )
            .await);
        }
    };
    if let Err(refusal) = net::check_url(&request.url, ctx.allow_private) {
        return Err(give_up(ctx, source.id, refusal).await);
    }
    let host = sources::host_key(&request.url);
    slot(ctx, &host, source.rate_limit_per_min, true).await?;
    match session::exchange(
        &ctx.client,
        session,
        request,
        dialect.headers(),
        ctx.timeout,
    )
    .await
    {
        Ok(token) => {
            host_ok(ctx, &host).await;
            let access = token.access.clone();
            ctx.tokens.insert(key.clone(), token).await;
            Ok(Some(access))
        }
        Err(f) => Err(failed(ctx, source.id, &host, f).await),
    }
}

/// Polls the API source `row` of `tenant_id` (its URL `base`, its rate-limit key `host`)
/// with `dialect`: up to [`MAX_PAGES_PER_POLL`] pages from its stored cursor.
pub async fn poll(
    dialect: &'static dyn Dialect,
    row: &SourceRow,
    tenant_id: Uuid,
    base: &Url,
    host: &str,
    ctx: &FetchContext,
) -> Result<Value, JobError> {
    let source = &row.source;
    let started = Instant::now();
    let mut cursor = source.cursor.clone();
    let mut total = Report::default();
    let mut pages = 0usize;
    let mut bytes = 0usize;
    let mut status = None;
    let mut more = false;
    let credentials = match Credentials::of(dialect, row) {
        Ok(c) => c,
        Err(message) => return Err(give_up(ctx, source.id, message).await),
    };
    let mut bearer = self::bearer(ctx, dialect, source, &credentials).await?;
    let mut refreshed = false;
    while pages < MAX_PAGES_PER_POLL {
        let url = match dialect.request(base, &source.settings, cursor.as_deref()) {
            Ok(u) => u,
            Err(e) => {
                return Err(
                    give_up(ctx, source.id, format!("cannot build the request: {e}")).await,
                );
            }
        };
        if let Err(refusal) = net::check_url(&url, ctx.allow_private) {
            return Err(give_up(ctx, source.id, refusal).await);
        }
        if !slot(ctx, host, source.rate_limit_per_min, pages == 0).await? {
            more = true;
            break;
        }
        let answer = match get(
            &ctx.client,
            dialect,
            &url,
            bearer.as_ref(),
            ctx.timeout,
            ctx.max_bytes,
        )
        .await
        {
            Ok(a) => a,
            Err(f) if f.status == Some(401) => match &credentials {
                // The token expired early or was revoked: drop it, exchange once more.
                Credentials::Session { key, .. } if !refreshed => {
                    refreshed = true;
                    ctx.tokens.invalidate(key).await;
                    bearer = self::bearer(ctx, dialect, source, &credentials).await?;
                    continue;
                }
                Credentials::Session { .. } => {
                    let f = f.reworded(|m| format!("{m} with a fresh token"));
                    return Err(failed(ctx, source.id, host, f).await);
                }
                _ => return Err(failed(ctx, source.id, host, f).await),
            },
            Err(f) => return Err(failed(ctx, source.id, host, f).await),
        };
        metrics::counter!("source_fetches_total", "status" => answer.status.as_u16().to_string())
            .increment(1);
        host_ok(ctx, host).await;
        // A spent budget: nobody asks this host again before its reset.
        if let Some(limit) = rate_limit(&answer.headers, Utc::now())
            && limit.remaining <= 0
            && let Some(wait) = until_reset(Some(limit))
            && let Err(e) = hosts::block(&ctx.pool, host, wait, Utc::now()).await
        {
            tracing::warn!(error = %e, "could not record the host's rate-limit reset");
        }
        let code = Some(i32::from(answer.status.as_u16()));
        status = Some(answer.status.as_u16());
        bytes += answer.body.len();
        let page = match read(
            dialect,
            answer,
            &source.settings,
            cursor.clone(),
            base.clone(),
        )
        .await?
        {
            Ok(p) => p,
            Err(e) => {
                let message = crate::text::storable(&e.to_string()).into_owned();
                record(
                    ctx,
                    source.id,
                    FetchRecord {
                        status: code,
                        error: Some(message.clone()),
                        ..Default::default()
                    },
                )
                .await;
                return Err(JobError::permanent(message));
            }
        };
        let (prepared, next, page_more) = page;
        let mut tx = ctx.pool.begin().await?;
        let gates = Gates::new(signals::settings(&mut tx, tenant_id).await?);
        let report = ingest::store(&mut tx, tenant_id, source.id, &gates, prepared).await?;
        sources::record_fetch(
            &mut tx,
            source.id,
            &FetchRecord {
                status: code,
                cursor: next.clone(),
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        count_outcomes(&report);
        merge(&mut total, report);
        pages += 1;
        if next.is_some() {
            cursor = next;
        }
        more = page_more;
        if !page_more {
            break;
        }
    }
    let mut result = serde_json::to_value(&total).unwrap_or_default();
    if let Value::Object(map) = &mut result {
        map.insert("status".into(), json!(status));
        map.insert("pages".into(), json!(pages));
        map.insert("more".into(), json!(more));
        map.insert("bytes".into(), json!(bytes));
        map.insert(
            "duration_ms".into(),
            json!(started.elapsed().as_millis() as u64),
        );
    }
    Ok(result)
}

async fn host_ok(ctx: &FetchContext, host: &str) {
    if let Err(e) = hosts::record_success(&ctx.pool, host, Utc::now()).await {
        tracing::warn!(error = %e, "could not record the host's success");
    }
}

fn count_outcomes(report: &Report) {
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
}

/// The answer read by the dialect and prepared, off the async threads.
#[allow(clippy::type_complexity)]
async fn read(
    dialect: &'static dyn Dialect,
    answer: Answer,
    settings: &Value,
    cursor: Option<String>,
    base: Url,
) -> Result<Result<(Vec<ingest::Prepared>, Option<String>, bool), FeedError>, JobError> {
    let settings = settings.clone();
    tokio::task::spawn_blocking(move || {
        dialect
            .page(&answer.body, &answer.headers, &settings, cursor.as_deref())
            .map(
                |Page {
                     items,
                     cursor,
                     more,
                 }| { (ingest::prepare_all(items, Some(&base)), cursor, more) },
            )
    })
    .await
    .map_err(|e| JobError::retry(format!("reading the answer was interrupted: {e}")))
}

/// An item of a preview, as it would be stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviewItem {
    /// The API's id of the item.
    pub external_id: Option<String>,
    /// The normalised link.
    pub url: Option<String>,
    /// Plain-text title.
    pub title: String,
    /// Plain text of the body.
    pub text: String,
    /// Who wrote it.
    pub author: Option<String>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Likes, reposts, comments and points, where given.
    pub engagement: Engagement,
}

/// What a preview found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviewPage {
    /// The URL asked.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// Items read from the answer.
    pub total_items: usize,
    /// The first of them (at most 20), as they would be stored.
    pub items: Vec<PreviewItem>,
    /// The cursor a poll would store.
    pub cursor: Option<String>,
}

/// Why a preview found nothing to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    /// The kind reads no API (a feed or push source).
    #[error("only API kinds can be previewed")]
    NotAnApi,
    /// The target is refused (a private address), or the request could not be built.
    #[error("{0}")]
    Refused(String),
    /// The API did not answer well (network, status, size).
    #[error("{0}")]
    Upstream(String),
    /// The answer does not read with these settings.
    #[error("{0}")]
    Malformed(String),
    /// The token endpoint refused the source's `secret` (a 401 or 403).
    #[error("{0}")]
    Credentials(String),
}

/// One sample request for `new` (its first poll's request), read with its settings; nothing
/// is stored and no cursor is kept.
pub async fn preview(
    new: &NewSource,
    client: &reqwest::Client,
    allow_private: bool,
    timeout: Duration,
    max_bytes: usize,
) -> Result<PreviewPage, PreviewError> {
    let dialect = super::dialect(new.kind).ok_or(PreviewError::NotAnApi)?;
    let base = new.url.as_ref().ok_or(PreviewError::NotAnApi)?.as_url();
    let url = dialect
        .request(base, &new.settings, None)
        .map_err(PreviewError::Refused)?;
    net::check_url(&url, allow_private).map_err(PreviewError::Refused)?;
    let secret = match (dialect.secret(&new.settings), &new.secret) {
        (None, _) => None,
        (Some(_), Some(s)) => Some(SecretString::from(s.as_str())),
        (Some(what), None) => {
            return Err(PreviewError::Credentials(format!(
                "the API needs a `secret` ({what})"
            )));
        }
    };
    let bearer = match (secret, dialect.session(&new.settings)) {
        (None, _) => None,
        (Some(secret), None) => Some(secret),
        (Some(secret), Some(session)) => {
            let request = session
                .token_request(&new.settings, &secret)
                .map_err(PreviewError::Refused)?;
            net::check_url(&request.url, allow_private).map_err(PreviewError::Refused)?;
            let token = session::exchange(client, session, request, dialect.headers(), timeout)
                .await
                .map_err(|f| {
                    if session::is_refusal(&f) {
                        PreviewError::Credentials(f.message)
                    } else {
                        PreviewError::Upstream(f.message)
                    }
                })?;
            Some(token.access)
        }
    };
    let answer = get(client, dialect, &url, bearer.as_ref(), timeout, max_bytes)
        .await
        .map_err(|f| PreviewError::Upstream(f.message))?;
    let Page { items, cursor, .. } = dialect
        .page(&answer.body, &answer.headers, &new.settings, None)
        .map_err(|e| PreviewError::Malformed(crate::text::storable(&e.0).into_owned()))?;
    let total_items = items.len();
    let items = items
        .into_iter()
        .take(PREVIEW_ITEMS)
        .map(|raw| {
            let engagement = raw.engagement;
            let p = ingest::prepare(raw, Some(base));
            PreviewItem {
                external_id: p.external_id,
                url: p.url,
                title: p.title,
                text: p.body_text,
                author: p.author,
                published_at: p.published_at,
                engagement,
            }
        })
        .collect();
    Ok(PreviewPage {
        url: url.to_string(),
        status: answer.status.as_u16(),
        total_items,
        items,
        cursor,
    })
}
