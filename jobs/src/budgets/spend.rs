//! Spending: holding a paid call's estimate against the budgets ([`reserve`]), booking what it
//! really cost ([`Reservation::settle`]) or giving the estimate back
//! ([`Reservation::release`]), the sweep of reservations never finished
//! ([`release_expired`]), and the three in the order a job kind needs them ([`paid_call`]).

use std::{fmt, future::Future, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Period, ledger, parked_on};
use crate::{
    DomainError,
    deliveries::events::{self, EventType},
    error::chain,
    queue::JobError,
};

/// How long a reservation may stay unsettled before the sweep gives it back, unless the
/// caller says otherwise.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(3600);

/// A paid call about to be made.
#[derive(Debug, Clone)]
pub struct SpendRequest<'a> {
    /// Whose money.
    pub tenant_id: Uuid,
    /// The provider its budgets name.
    pub provider: &'a str,
    /// The model (for the ledger).
    pub model: &'a str,
    /// The job making the call (for the ledger).
    pub job_id: Option<Uuid>,
    /// The most the call is expected to cost, micro-dollars.
    pub estimate_micros: i64,
    /// What caused the call: copied to every ledger row of its reservation.
    pub attribution: Attribution,
}

/// The signal (and its source and ruleset) a paid call is made for. The workflow is found from
/// the job's run when the reservation is written; the category is set on the settled rows when
/// the verdict is stored ([`attribute_category`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attribution {
    /// The signal.
    pub signal_id: Option<Uuid>,
    /// Its source.
    pub source_id: Option<Uuid>,
    /// The ruleset deciding about it.
    pub ruleset_id: Option<Uuid>,
}

/// Sets `category` on the ledger rows of job `job_id`'s calls about signal `signal_id`: called
/// in the transaction that stores the verdict, so the cost of the calls counts under the
/// category they decided (the rollup moves with it).
pub async fn attribute_category(
    conn: &mut PgConnection,
    job_id: Uuid,
    signal_id: Uuid,
    category: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE cost_ledger SET category = $3
           WHERE job_id = $1 AND signal_id = $2 AND category IS DISTINCT FROM $3"#,
        job_id,
        signal_id,
        category
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What a call really cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Micro-dollars.
    pub cost_micros: i64,
    /// Prompt (input) tokens.
    pub prompt_tokens: i64,
    /// Completion (output) tokens.
    pub completion_tokens: i64,
}

/// Why a reservation was refused.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// A budget of the provider would overrun: wait for `resumes_at` or a higher limit.
    #[error(
        "the {period} budget {budget_id} for {provider} is exhausted \
         ({spent_micros} spent and held of {limit_micros} micro-dollars; this call needs \
         {estimate_micros}); it resets at {resumes_at}"
    )]
    Exhausted {
        /// The budget that refused (the one resetting last, when several did).
        budget_id: Uuid,
        /// Its provider.
        provider: String,
        /// Its period's name.
        period: &'static str,
        /// When its next period starts.
        resumes_at: DateTime<Utc>,
        /// Its limit.
        limit_micros: i64,
        /// Spent plus reserved in its current period.
        spent_micros: i64,
        /// The estimate refused.
        estimate_micros: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<BudgetError> for JobError {
    fn from(e: BudgetError) -> Self {
        match &e {
            BudgetError::Exhausted {
                budget_id,
                resumes_at,
                ..
            } => JobError::Park {
                reason: e.to_string(),
                on: parked_on(*budget_id),
                until: *resumes_at,
            },
            BudgetError::Database(_) => JobError::retry(format!("budget check failed: {e}")),
        }
    }
}

/// An estimate held against the provider's budgets. Settle it or release it; one left alone
/// is released by the workers' sweep after its hold time.
#[derive(Debug)]
#[must_use = "a reservation holds budget until it is settled or released"]
pub struct Reservation {
    /// Its id (in every ledger row it makes).
    pub id: Uuid,
    /// The estimate it holds.
    pub estimate_micros: i64,
}

struct Held {
    budget_id: Uuid,
    period: Period,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    limit_micros: i64,
    used: i64,
}

/// Holds `req.estimate_micros` against every budget of the tenant's provider for the current
/// period, or refuses when any would overrun. With no budget for the provider, the call is
/// unlimited (but still in the ledger). The hold lasts [`DEFAULT_HOLD`] unless settled or
/// released first.
pub async fn reserve(pool: &PgPool, req: &SpendRequest<'_>) -> Result<Reservation, BudgetError> {
    reserve_for(pool, req, DEFAULT_HOLD).await
}

/// [`reserve`] with the hold time given: a caller whose call may take longer says so.
pub async fn reserve_for(
    pool: &PgPool,
    req: &SpendRequest<'_>,
    hold: Duration,
) -> Result<Reservation, BudgetError> {
    let estimate = req.estimate_micros.max(0);
    let mut tx = pool.begin().await?;
    // The current period's row of each budget, created on first use, then locked in id
    // order (so two reservations never wait on each other crosswise).
    sqlx::query!(
        r#"INSERT INTO budget_usage (budget_id, period_start)
           SELECT id, date_trunc(period, now(), 'UTC') FROM budgets
           WHERE tenant_id = $1 AND provider = $2
           ON CONFLICT DO NOTHING"#,
        req.tenant_id,
        req.provider
    )
    .execute(&mut *tx)
    .await?;
    let held = sqlx::query_as!(
        Held,
        r#"SELECT b.id AS budget_id, b.period AS "period: Period", u.period_start,
                  u.period_start + CASE b.period WHEN 'day' THEN interval '1 day'
                                                 ELSE interval '1 month' END AS "period_end!",
                  b.limit_micros, u.spent_micros + u.reserved_micros AS "used!"
           FROM budgets b
           JOIN budget_usage u ON u.budget_id = b.id
                              AND u.period_start = date_trunc(b.period, now(), 'UTC')
           WHERE b.tenant_id = $1 AND b.provider = $2
           ORDER BY b.id
           FOR UPDATE OF u"#,
        req.tenant_id,
        req.provider
    )
    .fetch_all(&mut *tx)
    .await?;
    // Rows are locked: what they say now is what the UPDATE below would see.
    if let Some(short) = held
        .iter()
        .filter(|h| h.used + estimate > h.limit_micros)
        .max_by_key(|h| h.period_end)
    {
        record_alert(
            &mut tx,
            req.tenant_id,
            short.budget_id,
            short.period_start,
            100,
            short.used,
            short.limit_micros,
        )
        .await?;
        tx.commit().await?;
        metrics::counter!("budget_reservations_total", "outcome" => "refused").increment(1);
        return Err(BudgetError::Exhausted {
            budget_id: short.budget_id,
            provider: req.provider.to_owned(),
            period: short.period.as_str(),
            resumes_at: short.period_end,
            limit_micros: short.limit_micros,
            spent_micros: short.used,
            estimate_micros: estimate,
        });
    }
    let budget_ids: Vec<Uuid> = held.iter().map(|h| h.budget_id).collect();
    let starts: Vec<DateTime<Utc>> = held.iter().map(|h| h.period_start).collect();
    // The condition again, so the limit holds even if this code changes around it.
    let updated = sqlx::query!(
        r#"UPDATE budget_usage u SET reserved_micros = u.reserved_micros + $3
           FROM budgets b, unnest($1::uuid[], $2::timestamptz[]) AS h(budget_id, start)
           WHERE u.budget_id = h.budget_id AND u.period_start = h.start AND b.id = u.budget_id
             AND u.spent_micros + u.reserved_micros + $3 <= b.limit_micros"#,
        &budget_ids,
        &starts,
        estimate
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated != held.len() as u64 {
        return Err(BudgetError::Database(sqlx::Error::Protocol(
            "a budget changed under its lock".into(),
        )));
    }
    let id = Uuid::now_v7();
    sqlx::query!(
        r#"INSERT INTO budget_reservations (id, tenant_id, provider, model, job_id,
                                           estimate_micros, budget_ids, period_starts, expires_at,
                                           signal_id, source_id, ruleset_id, workflow_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9),
                   $10, $11, $12,
                   (SELECT r.workflow_id FROM jobs j JOIN workflow_runs r ON r.id = j.run_id
                    WHERE j.id = $5))"#,
        id,
        req.tenant_id,
        req.provider,
        req.model,
        req.job_id,
        estimate,
        &budget_ids,
        &starts,
        hold.as_secs_f64(),
        req.attribution.signal_id,
        req.attribution.source_id,
        req.attribution.ruleset_id
    )
    .execute(&mut *tx)
    .await?;
    ledger::write(
        &mut tx,
        ledger::Line {
            tenant_id: req.tenant_id,
            entry: "reserve",
            provider: req.provider,
            model: req.model,
            amount_micros: estimate,
            usage: None,
            job_id: req.job_id,
            reservation_id: id,
            note: None,
        },
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("budget_reservations_total", "outcome" => "held").increment(1);
    Ok(Reservation {
        id,
        estimate_micros: estimate,
    })
}

/// Makes one paid call under the tenant's budgets: the one sequence every kind that spends money
/// follows, so none forgets a step.
///
/// 1. Holds `req.estimate_micros` against every budget of the provider for `hold` (see
///    [`reserve_for`]; make `hold` longer than the call may take). When a budget would overrun,
///    `call` is never made and [`BudgetError::Exhausted`] is returned: a job returns it with
///    `?` and is parked, its attempt not spent.
/// 2. Runs `call`, which answers its output and what it really cost (`Ok`), or why it failed
///    without costing anything (`Err`).
/// 3. Settles the cost, or releases the estimate with the failure's text as the reason. Neither
///    failing is returned: the call happened, and doing it again would pay again. A settle that
///    failed is logged (its hold is given back by the sweep); a release that failed is released
///    by the sweep.
///
/// Returns the call's own result, for the caller to turn into its verdict or its job error.
pub async fn paid_call<T, E, Fut>(
    pool: &PgPool,
    req: &SpendRequest<'_>,
    hold: Duration,
    call: impl FnOnce() -> Fut,
) -> Result<Result<(T, Usage), E>, BudgetError>
where
    Fut: Future<Output = Result<(T, Usage), E>>,
    E: fmt::Display,
{
    let reservation = reserve_for(pool, req, hold).await.inspect_err(|e| {
        tracing::info!(error = %e, "no budget left for this call; parking");
    })?;
    let called = call().await;
    match &called {
        Ok((_, usage)) => {
            if let Err(e) = reservation.settle(pool, usage).await {
                tracing::error!(
                    error = %chain(&e),
                    cost_micros = usage.cost_micros,
                    "could not settle a paid call"
                );
            }
        }
        Err(failure) => {
            if let Err(e) = reservation.release(pool, &failure.to_string()).await {
                tracing::warn!(error = %chain(&e), "could not release a reservation; the sweep will");
            }
        }
    }
    Ok(called)
}

struct Finished {
    tenant_id: Uuid,
    provider: String,
    model: String,
    job_id: Option<Uuid>,
    estimate_micros: i64,
    budget_ids: Vec<Uuid>,
    period_starts: Vec<DateTime<Utc>>,
    was_held: bool,
}

/// Marks reservation `id` finished (`settled` or `released`); `was_held` is false when the
/// sweep had released it already.
async fn finish(
    conn: &mut PgConnection,
    id: Uuid,
    state: &str,
) -> Result<Option<Finished>, sqlx::Error> {
    sqlx::query_as!(
        Finished,
        r#"WITH old AS (SELECT state FROM budget_reservations WHERE id = $1 FOR UPDATE)
           UPDATE budget_reservations r
           SET state = CASE WHEN old.state = 'held' THEN $2 ELSE r.state END,
               finished_at = coalesce(r.finished_at, now())
           FROM old WHERE r.id = $1
           RETURNING r.tenant_id, r.provider, r.model, r.job_id, r.estimate_micros,
                     r.budget_ids, r.period_starts, old.state = 'held' AS "was_held!""#,
        id,
        state
    )
    .fetch_optional(&mut *conn)
    .await
}

impl Reservation {
    /// Books what the call really cost against the periods it was reserved in (the estimate
    /// is given back, the cost is spent — even when it is more than the estimate, since the
    /// money is gone), records it in the ledger and any threshold crossed.
    pub async fn settle(self, pool: &PgPool, usage: &Usage) -> Result<(), DomainError> {
        let cost = usage.cost_micros.max(0);
        let mut tx = pool.begin().await?;
        let Some(r) = finish(&mut tx, self.id, "settled").await? else {
            return Err(DomainError::NotFound("reservation"));
        };
        // Released already by the sweep: the estimate is no longer held, only the cost counts.
        let give_back = if r.was_held { r.estimate_micros } else { 0 };
        let crossed = sqlx::query!(
            r#"UPDATE budget_usage u
               SET reserved_micros = greatest(u.reserved_micros - $3, 0),
                   spent_micros = u.spent_micros + $4
               FROM budgets b, unnest($1::uuid[], $2::timestamptz[]) AS h(budget_id, start)
               WHERE u.budget_id = h.budget_id AND u.period_start = h.start AND b.id = u.budget_id
               RETURNING u.budget_id, u.period_start, u.spent_micros, b.limit_micros"#,
            &r.budget_ids,
            &r.period_starts,
            give_back,
            cost
        )
        .fetch_all(&mut *tx)
        .await?;
        for c in crossed {
            for threshold in [80i16, 100] {
                if c.spent_micros * 100 >= c.limit_micros * i64::from(threshold) {
                    record_alert(
                        &mut tx,
                        r.tenant_id,
                        c.budget_id,
                        c.period_start,
                        threshold,
                        c.spent_micros,
                        c.limit_micros,
                    )
                    .await?;
                }
            }
        }
        ledger::write(
            &mut tx,
            ledger::Line {
                tenant_id: r.tenant_id,
                entry: "settle",
                provider: &r.provider,
                model: &r.model,
                amount_micros: cost,
                usage: Some(usage),
                job_id: r.job_id,
                reservation_id: self.id,
                note: (!r.was_held).then_some("settled after the sweep released it"),
            },
        )
        .await?;
        tx.commit().await?;
        metrics::counter!("llm_cost_micros_total", "provider" => r.provider).increment(cost as u64);
        Ok(())
    }

    /// Gives the estimate back: the call failed without costing anything.
    pub async fn release(self, pool: &PgPool, reason: &str) -> Result<(), DomainError> {
        let mut tx = pool.begin().await?;
        release_in(&mut tx, self.id, reason).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn release_in(conn: &mut PgConnection, id: Uuid, reason: &str) -> Result<(), DomainError> {
    let Some(r) = finish(conn, id, "released").await? else {
        return Err(DomainError::NotFound("reservation"));
    };
    if !r.was_held {
        return Ok(());
    }
    sqlx::query!(
        r#"UPDATE budget_usage u SET reserved_micros = greatest(u.reserved_micros - $3, 0)
           FROM unnest($1::uuid[], $2::timestamptz[]) AS h(budget_id, start)
           WHERE u.budget_id = h.budget_id AND u.period_start = h.start"#,
        &r.budget_ids,
        &r.period_starts,
        r.estimate_micros
    )
    .execute(&mut *conn)
    .await?;
    ledger::write(
        conn,
        ledger::Line {
            tenant_id: r.tenant_id,
            entry: "release",
            provider: &r.provider,
            model: &r.model,
            amount_micros: r.estimate_micros,
            usage: None,
            job_id: r.job_id,
            reservation_id: id,
            note: Some(reason),
        },
    )
    .await?;
    Ok(())
}

/// Releases reservations held past their hold time (their job died mid-call, or never
/// settled): returns how many. Run by the workers now and then.
pub async fn release_expired(pool: &PgPool) -> Result<u64, DomainError> {
    let ids = sqlx::query_scalar!(
        r#"SELECT id FROM budget_reservations
           WHERE state = 'held' AND expires_at < now()
           ORDER BY expires_at LIMIT 1000"#
    )
    .fetch_all(pool)
    .await?;
    let mut released = 0;
    for id in ids {
        let mut tx = pool.begin().await?;
        release_in(&mut tx, id, "expired: never settled").await?;
        tx.commit().await?;
        released += 1;
    }
    if released > 0 {
        tracing::warn!(
            released,
            "released budget reservations that were never settled"
        );
        metrics::counter!("budget_reservations_expired_total").increment(released);
    }
    Ok(released)
}

/// Records that a budget's period reached `threshold` percent, once per period.
async fn record_alert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    budget_id: Uuid,
    period_start: DateTime<Utc>,
    threshold: i16,
    spent_micros: i64,
    limit_micros: i64,
) -> Result<(), sqlx::Error> {
    let new = sqlx::query!(
        r#"INSERT INTO budget_alerts (id, tenant_id, budget_id, period_start, threshold,
                                     spent_micros, limit_micros)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (budget_id, period_start, threshold) DO NOTHING"#,
        Uuid::now_v7(),
        tenant_id,
        budget_id,
        period_start,
        threshold,
        spent_micros,
        limit_micros
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if new > 0 {
        let provider = sqlx::query_scalar!("SELECT provider FROM budgets WHERE id = $1", budget_id)
            .fetch_optional(&mut *conn)
            .await?;
        events::emit(
            conn,
            tenant_id,
            EventType::BudgetAlert,
            &format!(
                "budget:{budget_id}:{}:{threshold}",
                period_start.timestamp()
            ),
            serde_json::json!({
                "budget_id": budget_id,
                "provider": provider,
                "threshold": threshold,
                "score": threshold,
                "spent_micros": spent_micros,
                "limit_micros": limit_micros,
                "period_start": period_start,
                "title": format!("Budget {} at {threshold} %", provider.as_deref().unwrap_or("")),
            }),
        )
        .await?;
        tracing::warn!(%budget_id, threshold, spent_micros, limit_micros, "budget alert");
        metrics::counter!("budget_alerts_total", "threshold" => threshold.to_string()).increment(1);
    }
    Ok(())
}
