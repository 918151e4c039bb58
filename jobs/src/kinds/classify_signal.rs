//! `classify_signal`: put one signal in a category and say whether it is worth acting on —
//! keyword rules first, the LLM only when they leave it undecided.
//!
//! One attempt:
//! 1. The signal (of the job's tenant; a deleted, discarded or expired one is skipped) and the
//!    ruleset version (`version`, or the ruleset's newest). A verdict already stored for this
//!    signal and version is the result: a re-run costs nothing and duplicates nothing.
//! 2. The keyword score from the compiled rules (cached per worker by version id). At or above
//!    `thresholds.relevant` it is relevant, at or below `thresholds.irrelevant` it is not: done.
//! 3. Undecided, no LLM configured: the keyword verdict, marked low confidence.
//! 4. Undecided, LLM configured: the memo first (free). On a miss this job claims the question
//!    (another job asking it at the same moment waits without spending an attempt), reserves the
//!    call's estimate against the tenant's budgets, asks for structured JSON, and settles the real
//!    cost from the reply's `usage` (or releases the reservation when the call failed). An
//!    invalid answer is asked again once; a second invalid answer keeps the keyword verdict,
//!    marked low confidence. A valid answer is memoised.
//!
//! Failures: 429 (honouring `Retry-After`), 408, 5xx, timeouts and network errors are retried
//! with backoff; other 4xx (a bad key, an unknown model) and an unknown ruleset fail for good.
//! An exhausted budget parks the job (no attempt spent). With `LLM_RATE_LIMIT_PER_MIN` every
//! call first takes a slot of the provider's pace across the fleet (a job that must wait longer
//! than a second snoozes, spending nothing), and a 429's `Retry-After` pauses the provider for
//! every worker.
//!
//! The result (what workflow steps read) is the verdict: `signal_id`, `category`, `confidence`,
//! `score`, `relevant`, `method`, `low_confidence`, `ruleset_id`, `ruleset_version`, `llm`,
//! `cost_micros`.

use std::{future::Future, sync::Arc, time::Duration};

use apalis_core::task::data::Data;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Backoff, Handler, JobKind, Resources};
use crate::{
    DomainError, FieldError,
    budgets::{self, SpendRequest, Usage},
    classify::{
        self, LlmRoute, Method, NewVerdict,
        rules::{Compiled, KeywordScore},
        rulesets::{self, RulesetCache},
    },
    deliveries::events::{self, EventType},
    llm::{self, Answer, CallFailure, LlmClient, Message, TokenUsage},
    memo::{Lookup, Memo, MemoKey},
    queue::{JobContext, JobError},
    sources::hosts::{self, HostPolicy, SlotRules},
};

/// The most characters of a signal sent to the LLM (title and text).
pub const MAX_PROMPT_CONTENT_CHARS: usize = 6000;

/// Args of a `classify_signal` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifySignal {
    /// The signal (of the job's tenant).
    pub signal_id: Uuid,
    /// The ruleset (of the job's tenant).
    pub ruleset_id: Uuid,
    /// Pin a version of the ruleset (default: its newest when the job runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

impl JobKind for ClassifySignal {
    const KIND: &'static str = "classify_signal";
    const MAX_ATTEMPTS: i32 = 5;
    // two LLM calls of at most LLM_TIMEOUT_MS (120 s at most) and a little database work
    const TIMEOUT: Duration = Duration::from_secs(300);
    const BACKOFF: Backoff = Backoff {
        base: Duration::from_secs(2),
        cap: Duration::from_secs(600),
    };

    fn validate(&self) -> Result<(), FieldError> {
        if self.version.is_some_and(|v| !(1..=1_000_000).contains(&v)) {
            return Err(FieldError::new("version", "expected 1 to 1000000"));
        }
        Ok(())
    }
}

/// What the classify_signal handler shares across jobs.
#[derive(Debug, Clone)]
pub struct ClassifyContext {
    /// The database.
    pub pool: PgPool,
    /// Compiled rulesets by version id.
    pub rulesets: RulesetCache,
    /// The memo of paid answers.
    pub memo: Memo,
    /// The LLM, when configured.
    pub llm: Option<LlmClient>,
}

impl ClassifyContext {
    /// A context with empty caches.
    pub fn new(pool: PgPool, llm: Option<LlmClient>) -> Self {
        Self {
            rulesets: RulesetCache::default(),
            memo: Memo::new(pool.clone()),
            pool,
            llm,
        }
    }
}

/// The attempt being run: who, for whom, which try.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// The job (also the memo claim's holder and the ledger's job).
    pub job_id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// 1-based.
    pub attempt: i32,
}

impl Handler for ClassifySignal {
    type Context = ClassifyContext;

    fn context(resources: &Resources) -> ClassifyContext {
        ClassifyContext::new(
            resources.pool.clone(),
            LlmClient::new(resources.llm.clone(), resources.allow_private_networks),
        )
    }

    fn handle(
        self,
        job: JobContext,
        ctx: Data<ClassifyContext>,
    ) -> impl Future<Output = Result<Value, JobError>> + Send {
        handle(self, job, ctx)
    }
}

/// Runs one attempt of a `classify_signal` job.
#[tracing::instrument(skip_all, fields(signal_id = %args.signal_id, ruleset_id = %args.ruleset_id))]
pub async fn handle(
    args: ClassifySignal,
    job: JobContext,
    ctx: Data<ClassifyContext>,
) -> Result<Value, JobError> {
    let attempt = Attempt {
        job_id: job.id,
        tenant_id: job.tenant_id,
        attempt: job.attempt,
    };
    run(&args, attempt, &ctx).await
}

struct SignalText {
    source_id: Uuid,
    title: String,
    body_text: String,
    content_hash: Vec<u8>,
    state: String,
}

/// One attempt, callable without apalis (tests and the benchmark call it directly).
pub async fn run(
    args: &ClassifySignal,
    at: Attempt,
    ctx: &ClassifyContext,
) -> Result<Value, JobError> {
    let signal = sqlx::query_as!(
        SignalText,
        "SELECT source_id, title, body_text, content_hash, state FROM signals
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        at.tenant_id,
        args.signal_id
    )
    .fetch_optional(&ctx.pool)
    .await?;
    let skipped =
        |why: &str| json!({"signal_id": args.signal_id, "skipped": why, "relevant": false});
    let Some(signal) = signal else {
        return Ok(skipped("the signal was deleted"));
    };
    if matches!(signal.state.as_str(), "discarded" | "expired") {
        return Ok(skipped(&format!("the signal is {}", signal.state)));
    }
    let version =
        match rulesets::version(&ctx.pool, at.tenant_id, args.ruleset_id, args.version).await {
            Ok(v) => v,
            Err(DomainError::NotFound(_)) => {
                return Err(JobError::permanent(match args.version {
                    Some(n) => format!("ruleset {} has no version {n}", args.ruleset_id),
                    None => format!("no ruleset {} in this tenant", args.ruleset_id),
                }));
            }
            Err(e) => return Err(e.into()),
        };
    {
        let mut conn = ctx.pool.acquire().await?;
        if let Some(done) =
            classify::existing(&mut conn, at.tenant_id, args.signal_id, version.id).await?
        {
            return Ok(done.output());
        }
    }
    let compiled = ctx
        .rulesets
        .compiled(&version)
        .await
        .map_err(JobError::permanent)?;
    let keywords = compiled.score(&signal.title, &signal.body_text);

    let mut verdict = NewVerdict {
        tenant_id: at.tenant_id,
        signal_id: args.signal_id,
        source_id: signal.source_id,
        ruleset_id: version.ruleset_id,
        ruleset_version_id: version.id,
        ruleset_version: version.version,
        category: keywords.category.clone(),
        relevant: keywords.decided.unwrap_or(false),
        score: keywords.score,
        keyword_score: keywords.score,
        confidence: keywords.confidence,
        method: Method::Keyword,
        low_confidence: false,
        reasons: keywords.reasons.clone(),
        model: None,
        llm: LlmRoute::NotNeeded,
        llm_calls: 0,
        cost_micros: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        job_id: Some(at.job_id),
    };
    match (keywords.decided, &ctx.llm) {
        (Some(_), _) => {}
        (None, None) => {
            verdict.llm = LlmRoute::NotConfigured;
            verdict.low_confidence = true;
        }
        (None, Some(client)) => {
            ask_llm(
                ctx,
                client,
                at,
                &compiled,
                &signal,
                &keywords,
                &version.id,
                &mut verdict,
            )
            .await?;
        }
    }
    let mut tx = ctx.pool.begin().await?;
    let stored = classify::store(&mut tx, &verdict).await?;
    if verdict.llm == LlmRoute::Paid {
        budgets::attribute_category(
            &mut tx,
            at.job_id,
            verdict.signal_id,
            stored.category.as_deref(),
        )
        .await?;
    }
    announce(&mut tx, verdict.tenant_id, &stored).await?;
    tx.commit().await?;
    metrics::counter!(
        "classifications_total",
        "method" => verdict.method.as_str(),
        "llm" => verdict.llm.as_str()
    )
    .increment(1);
    Ok(stored.output())
}

/// Writes the `signal.classified` event in the verdict's transaction: what an alert shows
/// (title, link, author) beside the verdict.
async fn announce(
    conn: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    verdict: &classify::Verdict,
) -> Result<(), DomainError> {
    let signal = sqlx::query!(
        "SELECT title, url, author, source_id FROM signals WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        verdict.signal_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(signal) = signal else {
        return Ok(());
    };
    let data = json!({
        "signal_id": verdict.signal_id,
        "source_id": signal.source_id,
        "title": signal.title,
        "url": signal.url,
        "author": signal.author,
        "relevant": verdict.relevant,
        "score": verdict.score,
        "category": verdict.category,
        "confidence": verdict.confidence,
        "method": verdict.method,
        "reasons": verdict.reasons,
    });
    events::emit(
        conn,
        tenant_id,
        EventType::SignalClassified,
        &format!("signal:{}", verdict.signal_id),
        data,
    )
    .await?;
    Ok(())
}

/// The messages that ask about `signal` under `rules`.
pub fn prompt(compiled: &Compiled, title: &str, body: &str) -> Vec<Message> {
    let rules = &compiled.rules;
    let mut system = format!(
        "You classify public posts for a lead-generation pipeline. Decide whether the post is \
         relevant (someone with a need the categories describe) and pick its category from: {}. \
         Answer with one JSON object only: {{\"relevant\": true or false, \"category\": one of \
         the categories or null, \"confidence\": a number from 0 to 1, \"reasons\": [up to 3 \
         short strings]}}.",
        rules.categories.join(", ")
    );
    if let Some(extra) = rules
        .instructions
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        system.push_str("\n\n");
        system.push_str(extra);
    }
    let content: String = format!("Title: {title}\n\n{body}")
        .chars()
        .take(MAX_PROMPT_CONTENT_CHARS)
        .collect();
    vec![
        Message::new("system", system),
        Message::new("user", content),
    ]
}

/// The keyword verdict's reasons, plus why the LLM could not decide.
fn kept_keywords(verdict: &mut NewVerdict, why: String) {
    verdict.low_confidence = true;
    verdict.reasons.push(why);
}

#[allow(clippy::too_many_arguments)]
async fn ask_llm(
    ctx: &ClassifyContext,
    client: &LlmClient,
    at: Attempt,
    compiled: &Arc<Compiled>,
    signal: &SignalText,
    keywords: &KeywordScore,
    version_id: &Uuid,
    verdict: &mut NewVerdict,
) -> Result<(), JobError> {
    let settings = client.settings();
    let key = MemoKey {
        ruleset_version_id: *version_id,
        content_hash: signal.content_hash.clone(),
        model: settings.model.clone(),
    };
    verdict.model = Some(settings.model.clone());
    let claim_for = settings.timeout * 2 + Duration::from_secs(30);
    match ctx
        .memo
        .lookup_or_claim(at.tenant_id, &key, at.job_id, claim_for)
        .await?
    {
        Lookup::Hit(answer) => {
            verdict.llm = LlmRoute::Memo;
            apply(verdict, &answer);
            return Ok(());
        }
        Lookup::Busy(wait) => {
            return Err(JobError::snooze(
                "another job is asking the LLM the same question",
                wait,
            ));
        }
        Lookup::Claimed => {}
    }
    let attribution = budgets::Attribution {
        signal_id: Some(verdict.signal_id),
        source_id: Some(verdict.source_id),
        ruleset_id: Some(verdict.ruleset_id),
    };
    let asked = ask_twice(ctx, client, at, compiled, signal, attribution).await;
    let asked = match asked {
        Ok(a) => a,
        Err(e) => {
            if let Err(abandon) = ctx.memo.abandon(&key, at.job_id).await {
                tracing::warn!(error = %abandon, "could not give up the memo claim; it will expire");
            }
            return Err(e);
        }
    };
    verdict.llm = LlmRoute::Paid;
    verdict.llm_calls = asked.calls;
    verdict.cost_micros = asked.cost_micros;
    verdict.prompt_tokens = asked.usage.prompt_tokens;
    verdict.completion_tokens = asked.usage.completion_tokens;
    match asked.answer {
        Ok(answer) => {
            ctx.memo
                .fulfil(at.tenant_id, &key, &answer, asked.cost_micros)
                .await?;
            apply(verdict, &answer);
        }
        Err(why) => {
            if let Err(abandon) = ctx.memo.abandon(&key, at.job_id).await {
                tracing::warn!(error = %abandon, "could not give up the memo claim; it will expire");
            }
            tracing::warn!(
                why,
                "the LLM gave no valid answer twice; keeping the keyword verdict"
            );
            verdict.relevant = keywords.decided.unwrap_or(false);
            kept_keywords(
                verdict,
                format!("the LLM gave no valid answer twice ({why}); keyword verdict kept"),
            );
        }
    }
    Ok(())
}

/// An LLM verdict from an answer.
fn apply(verdict: &mut NewVerdict, answer: &Answer) {
    let p_relevant = if answer.relevant {
        answer.confidence
    } else {
        1.0 - answer.confidence
    };
    verdict.method = Method::Llm;
    verdict.relevant = answer.relevant;
    verdict.category = answer.category.clone();
    verdict.confidence = answer.confidence;
    verdict.score = (p_relevant * 100.0).round() as i32;
    verdict.reasons = answer.reasons.clone();
    verdict.low_confidence = false;
}

struct Asked {
    answer: Result<Answer, String>,
    calls: i32,
    cost_micros: i64,
    usage: TokenUsage,
}

/// Asks, and asks once more when the answer is invalid.
async fn ask_twice(
    ctx: &ClassifyContext,
    client: &LlmClient,
    at: Attempt,
    compiled: &Compiled,
    signal: &SignalText,
    attribution: budgets::Attribution,
) -> Result<Asked, JobError> {
    let mut messages = prompt(compiled, &signal.title, &signal.body_text);
    let categories = &compiled.rules.categories;
    let mut asked = Asked {
        answer: Err(String::new()),
        calls: 0,
        cost_micros: 0,
        usage: TokenUsage::default(),
    };
    for round in 0..2 {
        let key = format!("{}:{}:{round}", at.job_id, at.attempt);
        let (reply, usage, cost) =
            paid_call(ctx, client, at, &messages, categories, &key, attribution).await?;
        asked.calls += 1;
        asked.cost_micros += cost;
        asked.usage.prompt_tokens += usage.prompt_tokens;
        asked.usage.completion_tokens += usage.completion_tokens;
        match reply {
            Ok(answer) => {
                metrics::counter!("classify_llm_calls_total", "outcome" => "ok").increment(1);
                asked.answer = Ok(answer);
                return Ok(asked);
            }
            Err(invalid) => {
                metrics::counter!("classify_llm_calls_total", "outcome" => "invalid").increment(1);
                tracing::info!(round, why = %invalid.why, "the LLM's answer is invalid");
                asked.answer = Err(invalid.why.clone());
                messages.push(Message::new(
                    "assistant",
                    if invalid.content.is_empty() {
                        "(no answer)".to_owned()
                    } else {
                        invalid.content.chars().take(2000).collect()
                    },
                ));
                messages.push(Message::new(
                    "user",
                    format!(
                        "That answer is not valid: {}. Reply again with one JSON object only, \
                         exactly as asked.",
                        invalid.why
                    ),
                ));
            }
        }
    }
    Ok(asked)
}

/// The one place money is spent: [`budgets::paid_call`] with the estimate (prompt ≈ a quarter
/// token per character sent, plus a full `max_tokens` completion) against the tenant's budgets
/// for the provider, settling the real cost from the reply's usage. An exhausted budget parks
/// the job. Returns the answer (or why it is invalid), the usage and the cost in micro-dollars.
async fn paid_call(
    ctx: &ClassifyContext,
    client: &LlmClient,
    at: Attempt,
    messages: &[Message],
    categories: &[String],
    idempotency_key: &str,
    attribution: budgets::Attribution,
) -> Result<(Result<Answer, llm::Invalid>, TokenUsage, i64), JobError> {
    let settings = client.settings();
    let price = settings.price().ok_or_else(|| {
        JobError::permanent(format!("LLM_PRICES has no price for {}", settings.model))
    })?;
    let sent_chars: usize = messages.iter().map(|m| m.content.chars().count()).sum();
    let estimated = TokenUsage {
        prompt_tokens: llm::estimate_tokens(sent_chars),
        completion_tokens: i64::from(settings.max_tokens),
    };
    let request = SpendRequest {
        tenant_id: at.tenant_id,
        provider: &settings.provider,
        model: &settings.model,
        job_id: Some(at.job_id),
        estimate_micros: price.cost(estimated.prompt_tokens, estimated.completion_tokens),
        attribution,
    };
    let pace = settings
        .rate_limit_per_min
        .map(|per_min| (settings.pace_key(), per_min));
    if let Some((key, per_min)) = &pace {
        take_llm_slot(&ctx.pool, key, *per_min).await?;
    }
    let hold = settings.timeout + Duration::from_secs(60);
    let called = budgets::paid_call(&ctx.pool, &request, hold, || async {
        let reply = client.chat(messages, categories, idempotency_key).await?;
        // A reply that does not say what it used was still billed: count the estimate.
        let usage = reply.usage.unwrap_or(estimated);
        let cost = Usage {
            cost_micros: price.cost(usage.prompt_tokens, usage.completion_tokens),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
        };
        Ok::<_, CallFailure>((reply.answer, cost))
    })
    .await?;
    match called {
        Ok((answer, cost)) => {
            let model = settings.model.clone();
            metrics::counter!("classify_llm_tokens_total", "model" => model.clone(), "type" => "prompt")
                .increment(cost.prompt_tokens as u64);
            metrics::counter!("classify_llm_tokens_total", "model" => model.clone(), "type" => "completion")
                .increment(cost.completion_tokens as u64);
            metrics::counter!("classify_llm_cost_micros_total", "model" => model)
                .increment(cost.cost_micros as u64);
            let usage = TokenUsage {
                prompt_tokens: cost.prompt_tokens,
                completion_tokens: cost.completion_tokens,
            };
            Ok((answer, usage, cost.cost_micros))
        }
        Err(failure) => {
            metrics::counter!("classify_llm_calls_total", "outcome" => failure.outcome)
                .increment(1);
            // The provider's 429 is about the account, not this call: pause every worker.
            if let (Some((key, _)), Some(wait)) = (&pace, failure.retry_after) {
                hosts::block(&ctx.pool, key, wait, Utc::now()).await?;
            }
            Err(if failure.retryable {
                JobError::Retry {
                    message: failure.message,
                    retry_after: failure.retry_after,
                }
            } else {
                JobError::permanent(failure.message)
            })
        }
    }
}

/// A slot of the provider's fleet-wide pace (`LLM_RATE_LIMIT_PER_MIN`): a wait of up to a
/// second is slept here; a longer one (or a provider's 429 still in force) snoozes the job,
/// which spends neither an attempt nor money.
async fn take_llm_slot(pool: &PgPool, key: &str, per_min: i32) -> Result<(), JobError> {
    let rules = SlotRules {
        wait_here: Duration::from_secs(1),
        snoozed_metric: Some("classify_llm_snoozed_total"),
    };
    hosts::take_slot(pool, key, per_min, &HostPolicy::default(), rules).await
}

#[cfg(test)]
mod tests;
