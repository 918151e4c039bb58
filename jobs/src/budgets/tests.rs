use std::{sync::Arc, time::Duration};

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::*;
use crate::{
    auth,
    kinds::noop::Noop,
    queue::{JobState, NewJob, admin, enqueue},
};

async fn tenant(pool: &PgPool, name: &str) -> Uuid {
    let mut conn = pool.acquire().await.unwrap();
    auth::ensure_tenant(&mut conn, name).await.unwrap()
}

async fn budget(pool: &PgPool, tenant_id: Uuid, period: &str, limit: i64) -> Uuid {
    let mut tx = pool.begin().await.unwrap();
    let new = NewBudget::try_from(json!({
        "provider": "openai", "period": period, "limit_micros": limit
    }))
    .unwrap();
    let id = create(&mut tx, tenant_id, &Actor::default(), new)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

fn spend(tenant_id: Uuid, estimate: i64) -> SpendRequest<'static> {
    SpendRequest {
        tenant_id,
        provider: "openai",
        model: "gpt-test",
        job_id: None,
        estimate_micros: estimate,
        attribution: Default::default(),
    }
}

#[test]
fn bodies_are_checked_with_paths() {
    let e = NewBudget::try_from(json!({"provider": "OpenAI", "period": "day", "limit_micros": 1}))
        .unwrap_err();
    assert_eq!(e.path, "provider");
    let e = NewBudget::try_from(json!({"provider": "openai", "period": "week", "limit_micros": 1}))
        .unwrap_err();
    assert_eq!(e.path, "period");
    let e = NewBudget::try_from(json!({"provider": "openai", "period": "day", "limit_micros": -1}))
        .unwrap_err();
    assert_eq!(e.path, "limit_micros");
    let e = BudgetPatch::try_from(json!({"limit_micros": 5, "period": "day"})).unwrap_err();
    assert!(e.message.contains("unknown field"), "{e}");
    assert!(BudgetPatch::try_from(json!({"limit_micros": 0})).is_ok());
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn concurrent_reservations_never_overrun_the_limit(pool: PgPool) {
    let t = tenant(&pool, "t").await;
    budget(&pool, t, "day", 10_000).await;
    let pool = Arc::new(pool);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { reserve(&pool, &spend(t, 1_000)).await })
        })
        .collect();
    let mut held = vec![];
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(r) => held.push(r),
            Err(BudgetError::Exhausted { .. }) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((held.len(), refused), (10, 40));
    let b = &list(&pool, t, None).await.unwrap()[0];
    assert_eq!((b.reserved_micros, b.remaining_micros), (10_000, 0));
    assert_eq!(
        b.alerts.len(),
        1,
        "one 100 % alert for the period, however many refusals"
    );
    assert_eq!(b.alerts[0].threshold, 100);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_paid_call_settles_what_it_cost_releases_when_it_failed_and_is_never_made_past_the_limit(
    pool: PgPool,
) {
    let t = tenant(&pool, "t").await;
    let day = budget(&pool, t, "day", 10_000).await;
    let hold = Duration::from_secs(60);
    let cost = Usage {
        cost_micros: 3_000,
        prompt_tokens: 500,
        completion_tokens: 40,
    };
    let paid = paid_call(&pool, &spend(t, 4_000), hold, || async {
        Ok::<_, String>(("answer", cost))
    })
    .await
    .unwrap();
    assert_eq!(paid, Ok(("answer", cost)));
    let failed = paid_call(&pool, &spend(t, 4_000), hold, || async {
        Err::<((), Usage), _>("the provider answered 503".to_owned())
    })
    .await
    .unwrap();
    assert_eq!(failed, Err("the provider answered 503".to_owned()));
    let b = get(&pool, t, day).await.unwrap();
    assert_eq!((b.spent_micros, b.reserved_micros), (3_000, 0));

    let mut called = false;
    let refused = paid_call(&pool, &spend(t, 8_000), hold, || async {
        called = true;
        Ok::<_, String>(((), cost))
    })
    .await;
    assert!(
        matches!(refused, Err(BudgetError::Exhausted { budget_id, .. }) if budget_id == day),
        "{refused:?}"
    );
    assert!(!called, "a refused call is never made");

    let page = costs(
        &pool,
        t,
        &CostFilter {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let entries: Vec<(&str, i64, Option<&str>)> = page
        .items
        .iter()
        .rev()
        .map(|e| (e.entry.as_str(), e.amount_micros, e.note.as_deref()))
        .collect();
    assert_eq!(
        entries,
        vec![
            ("reserve", 4_000, None),
            ("settle", 3_000, None),
            ("reserve", 4_000, None),
            ("release", 4_000, Some("the provider answered 503")),
        ]
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn settle_books_the_real_cost_and_release_gives_the_estimate_back(pool: PgPool) {
    let t = tenant(&pool, "t").await;
    let day = budget(&pool, t, "day", 10_000).await;
    let month = budget(&pool, t, "month", 100_000).await;
    let a = reserve(&pool, &spend(t, 5_000)).await.unwrap();
    let b = reserve(&pool, &spend(t, 4_000)).await.unwrap();
    // Both budgets hold both estimates.
    for budget in list(&pool, t, None).await.unwrap() {
        assert_eq!(budget.reserved_micros, 9_000, "{budget:?}");
    }
    a.settle(
        &pool,
        &Usage {
            cost_micros: 8_300,
            prompt_tokens: 1200,
            completion_tokens: 80,
        },
    )
    .await
    .unwrap();
    b.release(&pool, "the provider answered 500").await.unwrap();
    let day_now = get(&pool, t, day).await.unwrap();
    assert_eq!(
        (
            day_now.spent_micros,
            day_now.reserved_micros,
            day_now.remaining_micros
        ),
        (8_300, 0, 1_700)
    );
    let thresholds: Vec<i16> = day_now.alerts.iter().map(|a| a.threshold).collect();
    assert_eq!(thresholds, vec![80], "8,300 of 10,000 crossed 80 %");
    assert!(get(&pool, t, month).await.unwrap().alerts.is_empty());

    let page = costs(
        &pool,
        t,
        &CostFilter {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let entries: Vec<(&str, i64)> = page
        .items
        .iter()
        .rev()
        .map(|e| (e.entry.as_str(), e.amount_micros))
        .collect();
    assert_eq!(
        entries,
        vec![
            ("reserve", 5_000),
            ("reserve", 4_000),
            ("settle", 8_300),
            ("release", 4_000)
        ]
    );
    assert_eq!(
        page.totals,
        CostTotals {
            spent_micros: 8_300,
            held_micros: 0,
            calls: 1,
            prompt_tokens: 1200,
            completion_tokens: 80,
        }
    );
    let settles = costs(
        &pool,
        t,
        &CostFilter {
            entry: Some("settle".into()),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(settles.items.len(), 1);
    assert_eq!(settles.items[0].prompt_tokens, Some(1200));
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn the_tightest_budget_refuses_and_says_when_it_resets(pool: PgPool) {
    let t = tenant(&pool, "t").await;
    budget(&pool, t, "day", 1_000_000).await;
    let month = budget(&pool, t, "month", 3_000).await;
    let _held = reserve(&pool, &spend(t, 2_000)).await.unwrap();
    let Err(BudgetError::Exhausted {
        budget_id,
        resumes_at,
        ..
    }) = reserve(&pool, &spend(t, 2_000)).await
    else {
        panic!("the month budget has 1,000 left");
    };
    assert_eq!(budget_id, month);
    let b = get(&pool, t, month).await.unwrap();
    assert_eq!(resumes_at, b.period_end);
    assert!(resumes_at > Utc::now());
    // The refused call held nothing anywhere.
    for budget in list(&pool, t, None).await.unwrap() {
        assert_eq!(budget.reserved_micros, 2_000);
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn no_budget_means_unlimited_but_still_in_the_ledger(pool: PgPool) {
    let t = tenant(&pool, "t").await;
    let other = tenant(&pool, "other").await;
    budget(&pool, other, "day", 0).await;
    let r = reserve(&pool, &spend(t, 5_000_000)).await.unwrap();
    r.settle(
        &pool,
        &Usage {
            cost_micros: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let page = costs(
        &pool,
        t,
        &CostFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(page.totals.spent_micros, 10);
    assert_eq!(page.items.len(), 2);
    // Another tenant's zero budget did not apply, and its ledger is its own.
    let theirs = costs(
        &pool,
        other,
        &CostFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(theirs.items.is_empty());
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_reservation_never_settled_is_released_by_the_sweep(pool: PgPool) {
    let t = tenant(&pool, "t").await;
    let day = budget(&pool, t, "day", 10_000).await;
    let r = reserve_for(&pool, &spend(t, 6_000), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(release_expired(&pool).await.unwrap(), 0, "not expired yet");
    sqlx::query("UPDATE budget_reservations SET expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(release_expired(&pool).await.unwrap(), 1);
    assert_eq!(get(&pool, t, day).await.unwrap().reserved_micros, 0);
    // The late settle still books the money actually spent, without giving back twice.
    r.settle(
        &pool,
        &Usage {
            cost_micros: 5_500,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let b = get(&pool, t, day).await.unwrap();
    assert_eq!((b.spent_micros, b.reserved_micros), (5_500, 0));
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn raising_the_limit_resumes_parked_jobs_at_once(pool: PgPool) {
    let t = tenant(&pool, "t").await;
    let day = budget(&pool, t, "day", 0).await;
    let mut conn = pool.acquire().await.unwrap();
    let job = enqueue(
        &mut conn,
        t,
        None,
        &[NewJob::new(&Noop::default()).unwrap()],
    )
    .await
    .unwrap()
    .remove(0)
    .job;
    // What the completer writes for a parked outcome (tested end to end in the queue).
    let reason = "the day budget is exhausted";
    sqlx::query(
        "UPDATE jobs SET run_at = now() + interval '5 hours', parked_on = $2, parked_reason = $3
         WHERE id = $1",
    )
    .bind(job.id)
    .bind(parked_on(day))
    .bind(reason)
    .execute(&pool)
    .await
    .unwrap();
    let parked = admin::get(&pool, t, job.id).await.unwrap();
    assert_eq!(parked.state, JobState::Parked);
    assert_eq!(parked.parked_reason.as_deref(), Some(reason));
    assert_eq!(get(&pool, t, day).await.unwrap().parked_jobs, 1);
    let page = admin::list(
        &pool,
        t,
        &admin::ListFilter {
            state: Some(JobState::Parked),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), 1);

    let mut tx = pool.begin().await.unwrap();
    let resumed = update(
        &mut tx,
        t,
        &Actor::default(),
        day,
        BudgetPatch {
            limit_micros: 50_000,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(resumed, 1);
    let job = admin::get(&pool, t, job.id).await.unwrap();
    assert_eq!(job.state, JobState::Available);
    assert_eq!(job.parked_reason, None);
    assert_eq!(job.attempts, 0);
    let audit: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'budget.update'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audit, 1);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn one_budget_per_provider_and_period_and_tenants_apart(pool: PgPool) {
    let t = tenant(&pool, "t").await;
    let other = tenant(&pool, "other").await;
    let id = budget(&pool, t, "day", 1).await;
    let mut tx = pool.begin().await.unwrap();
    let again = create(
        &mut tx,
        t,
        &Actor::default(),
        NewBudget::try_from(json!({"provider": "openai", "period": "day", "limit_micros": 2}))
            .unwrap(),
    )
    .await;
    assert!(matches!(again, Err(DomainError::Conflict(_))));
    drop(tx);
    assert!(matches!(
        get(&pool, other, id).await,
        Err(DomainError::NotFound(_))
    ));
    let mut tx = pool.begin().await.unwrap();
    assert!(matches!(
        delete(&mut tx, other, &Actor::default(), id).await,
        Err(DomainError::NotFound(_))
    ));
}
