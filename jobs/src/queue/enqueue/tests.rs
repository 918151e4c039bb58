use serde_json::json;

use super::*;

#[test]
fn requests_are_parsed_with_paths() {
    let job =
        NewJob::parse(json!({"kind": "noop", "args": {"sleep_ms": 5}, "priority": 3})).unwrap();
    assert_eq!((job.kind, job.priority), ("noop", 3));
    assert!(job.priority_at_most(3).is_ok());
    assert_eq!(job.priority_at_most(2).unwrap_err().path, "priority");
    let cases = [
        (json!({"args": {}}), "kind"),
        (json!({"kind": "nope"}), "kind"),
        (
            json!({"kind": "noop", "args": {"sleep_ms": "x"}}),
            "args.sleep_ms",
        ),
        (json!({"kind": "noop", "priority": 1000}), "priority"),
        (json!({"kind": "noop", "max_attempts": 0}), "max_attempts"),
        (json!({"kind": "noop", "timeout_ms": -5}), "timeout_ms"),
        (
            json!({"kind": "noop", "idempotency_key": ""}),
            "idempotency_key",
        ),
        (json!({"kind": "noop", "extra": 1}), "extra"),
        (json!({"kind": "noop", "run_at": "yesterday"}), "run_at"),
        (json!([1]), ""),
    ];
    for (req, path) in cases {
        let e = NewJob::parse(req.clone()).unwrap_err();
        assert_eq!(e.path, path, "{req} gave {e}");
    }
}

#[test]
fn batches_name_the_failing_item() {
    let e = NewJob::parse_batch(
        json!({"jobs": [{"kind": "noop"}, {"kind": "noop", "args": {"sleep_ms": -1}}]}),
    )
    .unwrap_err();
    assert_eq!(e.path, "jobs[1].args.sleep_ms");
    assert_eq!(
        NewJob::parse_batch(json!({"jobs": []})).unwrap_err().path,
        "jobs"
    );
    assert_eq!(NewJob::parse_batch(json!({})).unwrap_err().path, "jobs");
    let many: Vec<Value> = (0..1001).map(|_| json!({"kind": "noop"})).collect();
    assert_eq!(
        NewJob::parse_batch(json!({ "jobs": many }))
            .unwrap_err()
            .path,
        "jobs"
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn the_answer_to_an_enqueue_is_the_job_as_stored(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
    let jobs = NewJob::parse_batch(json!({"jobs": [
        {"kind": "noop", "args": {"sleep_ms": 5}},
        {"kind": "noop", "priority": 7, "max_attempts": 9, "timeout_ms": 1234,
         "idempotency_key": "k-1", "run_at": "2999-01-01T00:00:00Z"},
    ]}))
    .unwrap();
    let answered = enqueue(&mut conn, tenant, Some("req-1"), &jobs)
        .await
        .unwrap();
    for e in answered {
        assert!(e.created);
        let stored = crate::queue::admin::get(&pool, tenant, e.job.id)
            .await
            .unwrap();
        assert_eq!(e.job, stored);
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn enqueue_commits_or_rolls_back_with_the_callers_transaction(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
    let job = NewJob::new(&crate::kinds::noop::Noop::default()).unwrap();

    let mut tx = pool.begin().await.unwrap();
    enqueue(&mut tx, tenant, None, std::slice::from_ref(&job))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "a rolled-back enqueue leaves nothing");

    let mut tx = pool.begin().await.unwrap();
    enqueue(&mut tx, tenant, Some("req-1"), &[job])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn an_idempotency_key_is_used_once_per_tenant_even_within_a_batch(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
    let job = NewJob::new(&crate::kinds::noop::Noop::default())
        .unwrap()
        .idempotency_key("k")
        .unwrap();
    let first = enqueue(&mut conn, tenant, None, &[job.clone(), job.clone()])
        .await
        .unwrap();
    assert!(first[0].created && !first[1].created);
    assert_eq!(first[0].job.id, first[1].job.id);
    let again = enqueue(&mut conn, tenant, None, &[job]).await.unwrap();
    assert_eq!(
        (again[0].created, again[0].job.id),
        (false, first[0].job.id)
    );
}

fn noop_with(output: i64) -> NewJob {
    NewJob::of_kind(
        crate::kinds::find("noop").unwrap(),
        json!({"output": output}),
    )
    .unwrap()
}

#[test]
fn one_dedupe_rule_per_job_and_debounce_windows_are_bounded() {
    let both = NewJob::parse(json!({"kind": "noop", "idempotency_key": "a", "singleton_key": "b"}));
    assert_eq!(both.unwrap_err().path, "singleton_key");
    let both = NewJob::parse(
        json!({"kind": "noop", "singleton_key": "b", "debounce": {"key": "c", "window_ms": 10}}),
    );
    assert_eq!(both.unwrap_err().path, "debounce");
    let timed = NewJob::parse(json!({"kind": "noop", "run_at": "2030-01-01T00:00:00Z",
                                     "debounce": {"key": "c", "window_ms": 10}}));
    assert_eq!(timed.unwrap_err().path, "run_at");
    for window in [0, -1, MAX_DEBOUNCE_MS + 1] {
        let bad =
            NewJob::parse(json!({"kind": "noop", "debounce": {"key": "c", "window_ms": window}}));
        assert_eq!(bad.unwrap_err().path, "debounce.window_ms", "{window}");
    }
    let bad = NewJob::parse(json!({"kind": "noop", "singleton_key": "a\u{0}b"}));
    assert_eq!(bad.unwrap_err().path, "singleton_key");
    let bad =
        NewJob::parse(json!({"kind": "noop", "debounce": {"key": "c", "window_ms": 5, "x": 1}}));
    assert!(bad.unwrap_err().path.starts_with("debounce"));
}

/// Of many concurrent enqueues with one singleton key exactly one inserts; the others get that
/// job. Once it has finished, the key is free again.
#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_singleton_is_inserted_once_under_concurrent_enqueues(pool: PgPool) {
    let tenant = {
        let mut conn = pool.acquire().await.unwrap();
        crate::auth::ensure_tenant(&mut conn, "t").await.unwrap()
    };
    let job = noop_with(1).singleton_key("sync:crm").unwrap();
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let (pool, job) = (pool.clone(), job.clone());
            tokio::spawn(async move {
                let mut tx = pool.begin().await.unwrap();
                let out = enqueue(&mut tx, tenant, None, &[job]).await.unwrap();
                tx.commit().await.unwrap();
                out.into_iter().next().unwrap()
            })
        })
        .collect();
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let e = t.await.unwrap();
        created += usize::from(e.created);
        ids.insert(e.job.id);
    }
    assert_eq!((created, ids.len()), (1, 1));
    let id = *ids.first().unwrap();
    // Another tenant's key is its own.
    let other = {
        let mut conn = pool.acquire().await.unwrap();
        let other = crate::auth::ensure_tenant(&mut conn, "u").await.unwrap();
        enqueue(&mut conn, other, None, std::slice::from_ref(&job))
            .await
            .unwrap()
    };
    assert!(other[0].created);
    // Running still holds the key; succeeded frees it.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("UPDATE jobs SET state = 'running' WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .unwrap();
    let again = enqueue(&mut conn, tenant, None, std::slice::from_ref(&job))
        .await
        .unwrap();
    assert_eq!((again[0].created, again[0].job.id), (false, id));
    assert_eq!(again[0].job.singleton_key.as_deref(), Some("sync:crm"));
    sqlx::query("UPDATE jobs SET state = 'succeeded' WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .unwrap();
    let next = enqueue(&mut conn, tenant, None, &[job]).await.unwrap();
    assert!(next[0].created && next[0].job.id != id);
}

/// A burst of enqueues with one debounce key leaves one waiting job with the newest args,
/// starting a window after the last enqueue; concurrent bursts too. A started job is not
/// replaced: the next enqueue makes a new one.
#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_debounced_burst_leaves_one_job_with_the_newest_args(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
    let debounce = |n| {
        noop_with(n)
            .debounce(Debounce {
                key: "digest".into(),
                window_ms: 60_000,
            })
            .unwrap()
    };
    let first = enqueue(&mut conn, tenant, None, &[debounce(0)])
        .await
        .unwrap();
    assert!(first[0].created);
    let id = first[0].job.id;
    let before = Utc::now();
    // A batch with the key twice: both land on the one job, the later args win.
    let batch = enqueue(
        &mut conn,
        tenant,
        None,
        &[debounce(1), noop_with(99), debounce(2)],
    )
    .await
    .unwrap();
    assert_eq!(
        [batch[0].created, batch[1].created, batch[2].created],
        [false, true, false]
    );
    assert_eq!((batch[0].job.id, batch[2].job.id), (id, id));
    drop(conn);
    let tasks: Vec<_> = (3..43)
        .map(|n| {
            let pool = pool.clone();
            let job = debounce(n);
            tokio::spawn(async move {
                let mut tx = pool.begin().await.unwrap();
                let out = enqueue(&mut tx, tenant, None, &[job]).await.unwrap();
                tx.commit().await.unwrap();
                out[0].job.id
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), id);
    }
    let (count, output, run_at): (i64, i64, DateTime<Utc>) = sqlx::query_as(
        "SELECT count(*) OVER (), (args->>'output')::bigint, run_at FROM jobs WHERE debounce_key = 'digest'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(count, 1);
    assert!(
        (3..43).contains(&output),
        "one of the burst's args: {output}"
    );
    assert!(
        run_at >= before + chrono::TimeDelta::seconds(59),
        "{run_at}"
    );
    // Once it started, the key makes a new job.
    sqlx::query("UPDATE jobs SET state = 'running', attempt = 1 WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let after = enqueue(&mut conn, tenant, None, &[debounce(50)])
        .await
        .unwrap();
    assert!(after[0].created && after[0].job.id != id);
    // A waiting job of another kind holds the key: a conflict, not a silent swap.
    let other_kind = NewJob::of_kind(
        crate::kinds::find("http_request").unwrap(),
        json!({"method": "GET", "url": "https://example.com/"}),
    )
    .unwrap()
    .debounce(Debounce {
        key: "digest".into(),
        window_ms: 1000,
    })
    .unwrap();
    let err = enqueue(&mut conn, tenant, None, &[other_kind])
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Conflict(_)), "{err:?}");
}
