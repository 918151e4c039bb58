//! `score_lead`: turn one signal into (or onto) a lead, with a score and its breakdown.
//!
//! One attempt, one transaction: read the signal (locked), extract its contacts
//! ([`crate::leads::contacts`]), compute the score from the tenant's weights
//! ([`crate::leads::scoring`]), find or make its lead deduplicated by contact
//! ([`crate::leads::store`]), and move the signal
//! `classified → scored` through the signals' state machine (with its audit entry). A signal
//! still `new` keeps its state (the machine allows no skipping of classification); one
//! already `scored` or `alerted` is re-scored in place. A deleted, erased, discarded or expired
//! signal is skipped (`{"skipped": why}`), not failed.
//!
//! The classification factor is the args' `confidence` when given (a workflow passes its
//! classify step's), else the signal's newest stored verdict's probability of relevance (its
//! confidence when relevant, one minus it when not). A signal whose stored verdict says "not
//! relevant" is skipped unless the args carry a confidence: only relevant signals become
//! leads, so a workflow can score every item of a `for_each` without a per-item condition.
//!
//! Its result, for the steps of a workflow after it: `{lead_id, score, created, contact,
//! signal_state}` — `contact` is the lead's email, else its phone number, else null.
//!
//! Failures: a database error is retried; nothing else can fail.

use std::{future::Future, time::Duration};

use apalis_core::task::data::Data;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Backoff, Handler, JobKind, Resources};
use crate::{
    DomainError, FieldError,
    audit::Actor,
    deliveries::events::{self, EventType},
    leads::{
        contacts,
        scoring::{self, Inputs},
        store::{self, Scored},
    },
    queue::{JobContext, JobError},
    sources::{
        feed::Engagement,
        signals::{self, SignalState},
    },
};

/// Longest category.
pub const MAX_CATEGORY: usize = 100;

/// Args of a `score_lead` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreLead {
    /// The signal to score (of the job's tenant).
    pub signal_id: Uuid,
    /// The classifier's confidence that the signal is demand, 0 to 1 (a workflow passes
    /// `{{ steps.classify.output.confidence }}`); absent: the signal's stored verdict's, else 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The classifier's category, kept on the lead (1 to 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl JobKind for ScoreLead {
    const KIND: &'static str = "score_lead";
    const MAX_ATTEMPTS: i32 = 5;
    const TIMEOUT: Duration = Duration::from_secs(60);
    const BACKOFF: Backoff = Backoff {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(60),
    };

    fn validate(&self) -> Result<(), FieldError> {
        if self
            .confidence
            .is_some_and(|c| !c.is_finite() || !(0.0..=1.0).contains(&c))
        {
            return Err(FieldError::new("confidence", "expected 0 to 1"));
        }
        if self
            .category
            .as_ref()
            .is_some_and(|c| c.trim().is_empty() || c.chars().count() > MAX_CATEGORY)
        {
            return Err(FieldError::new(
                "category",
                format!("expected 1 to {MAX_CATEGORY} characters"),
            ));
        }
        Ok(())
    }
}

/// What the score_lead handler shares across jobs.
#[derive(Debug, Clone)]
pub struct ScoreContext {
    /// The database.
    pub pool: PgPool,
}

/// What the classification says of the signal, as scoring counts it.
enum Classification {
    /// The args carry a confidence (a workflow passes its classify step's): used as given.
    Given(f64),
    /// The signal's newest stored verdict: its probability of being relevant (the confidence
    /// of a relevant verdict, one minus that of an irrelevant one), and its category.
    Stored {
        relevant: bool,
        probability: f64,
        category: Option<String>,
    },
    /// Never classified: the factor counts as 0 and the breakdown says so.
    Unknown,
}

async fn classification(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    args: &ScoreLead,
) -> Result<Classification, DomainError> {
    if let Some(c) = args.confidence {
        return Ok(Classification::Given(c));
    }
    Ok(
        match crate::classify::latest_for_signal(&mut *conn, tenant_id, args.signal_id).await? {
            Some(v) => Classification::Stored {
                relevant: v.relevant,
                probability: if v.relevant {
                    v.confidence
                } else {
                    1.0 - v.confidence
                },
                category: v.category,
            },
            None => Classification::Unknown,
        },
    )
}

impl Handler for ScoreLead {
    type Context = ScoreContext;

    fn context(resources: &Resources) -> ScoreContext {
        ScoreContext {
            pool: resources.pool.clone(),
        }
    }

    fn handle(
        self,
        job: JobContext,
        ctx: Data<ScoreContext>,
    ) -> impl Future<Output = Result<Value, JobError>> + Send {
        handle(self, job, ctx)
    }
}

/// Runs one attempt of a `score_lead` job.
#[tracing::instrument(skip_all, fields(signal_id = %args.signal_id))]
pub async fn handle(
    args: ScoreLead,
    job: JobContext,
    ctx: Data<ScoreContext>,
) -> Result<Value, JobError> {
    let actor = Actor {
        request_id: job.correlation_id.clone(),
        ..Actor::default()
    };
    run(&ctx.pool, job.tenant_id, &actor, &args).await
}

/// One attempt for `tenant_id`, callable without apalis (tests call it directly).
pub async fn run(
    pool: &PgPool,
    tenant_id: Uuid,
    actor: &Actor,
    args: &ScoreLead,
) -> Result<Value, JobError> {
    let mut tx = pool.begin().await?;
    let Some(signal) = sqlx::query!(
        r#"SELECT source_id, title, body_text, published_at, created_at, state, likes, reposts,
                  comments, points
           FROM signals WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE"#,
        tenant_id,
        args.signal_id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(json!({ "skipped": "the signal was deleted" }));
    };
    let state = SignalState::parse(&signal.state).unwrap_or(SignalState::New);
    if matches!(state, SignalState::Discarded | SignalState::Expired) {
        return Ok(json!({ "skipped": format!("the signal is {}", state.as_str()) }));
    }
    let settings = scoring::settings(&mut tx, tenant_id).await?;
    let text = format!("{}\n{}", signal.title, signal.body_text);
    let found = contacts::extract(&text, settings.region());
    let source = scoring::source_record(&mut tx, tenant_id, signal.source_id).await?;
    let (confidence, stored_category) = match classification(&mut tx, tenant_id, args).await? {
        Classification::Given(c) => (Some(c), None),
        // A signal its classifier judged not relevant is not a lead (pass a confidence in the
        // args to score it anyway).
        Classification::Stored {
            relevant: false, ..
        } => {
            return Ok(json!({
                "skipped": "the signal was classified as not relevant",
                "signal_id": args.signal_id,
            }));
        }
        Classification::Stored {
            probability,
            category,
            ..
        } => (Some(probability), category),
        Classification::Unknown => (None, None),
    };
    let (score, factors) = scoring::score(
        &settings,
        &Inputs {
            confidence,
            published_at: signal.published_at,
            ingested_at: signal.created_at,
            now: Utc::now(),
            contacts: found.len(),
            source,
            engagement: Engagement {
                likes: signal.likes,
                reposts: signal.reposts,
                comments: signal.comments,
                points: signal.points,
            },
        },
    );
    let attached = store::attach(
        &mut tx,
        tenant_id,
        &Scored {
            signal_id: args.signal_id,
            source_id: signal.source_id,
            contacts: &found,
            score,
            factors: serde_json::to_value(&factors).unwrap_or_default(),
            category: args
                .category
                .as_deref()
                .or(stored_category.as_deref())
                .map(str::trim),
        },
    )
    .await?;
    announce(&mut tx, tenant_id, args.signal_id, &signal.title, &attached).await?;
    let signal_state = if state == SignalState::Classified {
        signals::transition(
            &mut tx,
            tenant_id,
            actor,
            args.signal_id,
            SignalState::Scored,
            None,
        )
        .await?;
        SignalState::Scored
    } else {
        state
    };
    tx.commit().await?;
    if attached.created {
        metrics::counter!("leads_created_total").increment(1);
    } else {
        metrics::counter!("leads_deduplicated_total").increment(1);
    }
    metrics::histogram!("lead_score").record(f64::from(score));
    tracing::info!(
        lead_id = %attached.lead_id,
        score,
        lead_score = attached.score,
        created = attached.created,
        contacts = found.len(),
        "signal scored"
    );
    let mut out = json!({
        "lead_id": attached.lead_id,
        "score": attached.score,
        "signal_score": score,
        "created": attached.created,
        "contact": attached.contact,
        "signal_state": signal_state.as_str(),
    });
    if attached.deleted
        && let Value::Object(map) = &mut out
    {
        map.insert("lead_deleted".into(), Value::Bool(true));
    }
    Ok(out)
}

/// Writes `lead.created` (a new lead) or `lead.scored` (a lead's new signal) in the scoring
/// transaction. Both are about `lead:<id>`, so a rule alerts one destination of a lead once.
async fn announce(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    signal_id: Uuid,
    title: &str,
    attached: &store::Attached,
) -> Result<(), DomainError> {
    if attached.deleted {
        return Ok(());
    }
    let meta = sqlx::query!(
        "SELECT url, author FROM signals WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        signal_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let category = sqlx::query_scalar!(
        "SELECT category FROM leads WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        attached.lead_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    let data = json!({
        "lead_id": attached.lead_id,
        "signal_id": signal_id,
        "title": title,
        "url": meta.as_ref().and_then(|m| m.url.clone()),
        "author": meta.as_ref().and_then(|m| m.author.clone()),
        "score": attached.score,
        "category": category,
        "contact": attached.contact,
    });
    let event = if attached.created {
        EventType::LeadCreated
    } else {
        EventType::LeadScored
    };
    events::emit(
        conn,
        tenant_id,
        event,
        &format!("lead:{}", attached.lead_id),
        data,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::parse_args;

    #[test]
    fn args_are_checked_with_paths() {
        let id = Uuid::now_v7();
        assert!(parse_args::<ScoreLead>(json!({"signal_id": id})).is_ok());
        assert!(
            parse_args::<ScoreLead>(
                json!({"signal_id": id, "confidence": 0.7, "category": "solar"})
            )
            .is_ok()
        );
        let cases = [
            (json!({}), ""),
            (json!({"signal_id": "x"}), "signal_id"),
            (json!({"signal_id": id, "confidence": 1.5}), "confidence"),
            (json!({"signal_id": id, "confidence": "high"}), "confidence"),
            (json!({"signal_id": id, "category": ""}), "category"),
            (json!({"signal_id": id, "colour": 1}), "colour"),
        ];
        for (args, path) in cases {
            let e = parse_args::<ScoreLead>(args.clone()).unwrap_err();
            assert_eq!(e.path, path, "{args}: {e}");
        }
    }
}
