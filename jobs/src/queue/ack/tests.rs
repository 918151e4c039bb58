use super::*;
use crate::kinds::Backoff;

fn ctx(attempt: i32, max_attempts: i32) -> JobContext {
    JobContext {
        id: Uuid::now_v7(),
        tenant_id: Uuid::now_v7(),
        kind: "noop",
        attempt,
        max_attempts,
        timeout: Duration::from_secs(1),
        correlation_id: None,
        cancel: Default::default(),
        backoff: Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(8),
        },
    }
}

#[test]
fn failures_retry_until_attempts_run_out() {
    let retry = Outcome::from_error(&ctx(1, 3), Box::new(JobError::retry("boom")));
    assert!(
        matches!(retry, Outcome::Retry { ref error, delay } if error == "boom" && delay <= Duration::from_secs(1))
    );
    let dead = Outcome::from_error(&ctx(3, 3), Box::new(JobError::retry("boom")));
    assert_eq!(dead, Outcome::Dead("boom".into()));
}

#[test]
fn permanent_failures_are_dead_at_once() {
    let dead = Outcome::from_error(&ctx(1, 10), Box::new(JobError::permanent("404")));
    assert_eq!(dead, Outcome::Dead("404".into()));
}

#[test]
fn retry_after_is_honoured_when_longer_than_the_backoff() {
    let e = JobError::Retry {
        message: "slow down".into(),
        retry_after: Some(Duration::from_secs(120)),
    };
    let Outcome::Retry { delay, .. } = Outcome::from_error(&ctx(1, 5), Box::new(e)) else {
        panic!("expected a retry");
    };
    assert_eq!(delay, Duration::from_secs(120));
}

/// A queued noop job of a new tenant, and a worker node that will not claim it by itself
/// (no kinds, an hour between polls): the tests play the holder's part by hand.
async fn queued_job_and_idle_node(
    pool: &sqlx::PgPool,
) -> (uuid::Uuid, crate::queue::Job, crate::queue::WorkerNode) {
    use crate::{
        auth,
        kinds::noop::Noop,
        queue::{NewJob, NoHook, NodeSettings, WorkerNode, enqueue},
    };
    let mut conn = pool.acquire().await.unwrap();
    let tenant = auth::ensure_tenant(&mut conn, "t").await.unwrap();
    let job = enqueue(
        &mut conn,
        tenant,
        None,
        &[NewJob::new(&Noop::default()).unwrap()],
    )
    .await
    .unwrap()
    .remove(0)
    .job;
    let settings = NodeSettings {
        poll_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let node = WorkerNode::start(pool.clone(), settings, &[], Arc::new(NoHook))
        .await
        .unwrap();
    (tenant, job, node)
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_stale_holder_cannot_overwrite_a_rescued_job(pool: sqlx::PgPool) {
    let (_, job, node) = queued_job_and_idle_node(&pool).await;
    // This node held attempt 1; its lease expired and another worker now runs attempt 2.
    sqlx::query(
        "UPDATE jobs SET state = 'running', attempt = 2, locked_by = 'other-worker' WHERE id = $1",
    )
    .bind(job.id)
    .execute(&pool)
    .await
    .unwrap();
    let mut stale = ctx(1, 3);
    stale.id = job.id;
    let (late, applied) = Completion::new(
        &stale,
        Outcome::Succeeded(serde_json::json!({"late": true})),
    );
    node.inner().completer.send(late).await.unwrap();
    assert!(!applied.await.unwrap(), "the stale outcome must not apply");
    let (state, attempt, holder): (String, i32, Option<String>) =
        sqlx::query_as("SELECT state, attempt, locked_by FROM jobs WHERE id = $1")
            .bind(job.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (state.as_str(), attempt, holder.as_deref()),
        ("running", 2, Some("other-worker"))
    );

    // The current holder's outcome does apply.
    sqlx::query("UPDATE jobs SET locked_by = $2 WHERE id = $1")
        .bind(job.id)
        .bind(node.id())
        .execute(&pool)
        .await
        .unwrap();
    let mut current = ctx(2, 3);
    current.id = job.id;
    let (ok, applied) = Completion::new(
        &current,
        Outcome::Retry {
            error: "boom".into(),
            delay: Duration::from_secs(60),
        },
    );
    node.inner().completer.send(ok).await.unwrap();
    assert!(applied.await.unwrap());
    let (state, errors, later): (String, serde_json::Value, bool) = sqlx::query_as(
        "SELECT state, errors, run_at > now() + interval '50 seconds' FROM jobs WHERE id = $1",
    )
    .bind(job.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(state, "failed");
    assert_eq!(errors[0]["attempt"], 2);
    assert!(later, "the backoff is written to run_at");
    node.shutdown().await.unwrap();
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_snoozed_job_waits_without_spending_an_attempt(pool: sqlx::PgPool) {
    let (_, job, node) = queued_job_and_idle_node(&pool).await;
    sqlx::query("UPDATE jobs SET state = 'running', attempt = 1, locked_by = $2 WHERE id = $1")
        .bind(job.id)
        .bind(node.id())
        .execute(&pool)
        .await
        .unwrap();
    let mut held = ctx(1, 3);
    held.id = job.id;
    let e = JobError::snooze("rate_limit on example.com", Duration::from_secs(30));
    let (c, applied) = Completion::new(&held, Outcome::from_error(&held, Box::new(e)));
    node.inner().completer.send(c).await.unwrap();
    assert!(applied.await.unwrap());
    let (state, attempt, errors, later): (String, i32, serde_json::Value, bool) = sqlx::query_as(
        "SELECT state, attempt, errors, run_at > now() + interval '25 seconds' FROM jobs WHERE id = $1",
    )
    .bind(job.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (state.as_str(), attempt),
        ("available", 0),
        "the attempt is given back"
    );
    assert_eq!(errors, serde_json::json!([]), "a snooze is not a failure");
    assert!(later, "it waits for its slot");
    node.shutdown().await.unwrap();
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_parked_job_shows_why_and_spends_no_attempt(pool: sqlx::PgPool) {
    use crate::queue::{JobState, admin};
    let (tenant, job, node) = queued_job_and_idle_node(&pool).await;
    sqlx::query("UPDATE jobs SET state = 'running', attempt = 2, locked_by = $2 WHERE id = $1")
        .bind(job.id)
        .bind(node.id())
        .execute(&pool)
        .await
        .unwrap();
    let mut held = ctx(2, 3);
    held.id = job.id;
    let until = chrono::Utc::now() + chrono::Duration::hours(3);
    let e = JobError::Park {
        reason: "the day budget is exhausted".into(),
        on: "budget:x".into(),
        until,
    };
    let (c, applied) = Completion::new(&held, Outcome::from_error(&held, Box::new(e)));
    node.inner().completer.send(c).await.unwrap();
    assert!(applied.await.unwrap());
    let parked = admin::get(&pool, tenant, job.id).await.unwrap();
    assert_eq!(parked.state, JobState::Parked);
    assert_eq!(parked.attempts, 1, "the attempt is given back");
    assert!(parked.errors.is_empty(), "parking is not a failure");
    assert_eq!(
        parked.parked_reason.as_deref(),
        Some("the day budget is exhausted")
    );
    let drift = (parked.run_at - until).num_seconds().abs();
    assert!(drift <= 2, "it resumes when the hold ends: {drift} s off");
    node.shutdown().await.unwrap();
}

/// Marks `job` as held by `node` in its attempt `attempt`, as a claim would.
async fn hold(pool: &sqlx::PgPool, node: &crate::queue::WorkerNode, id: Uuid, attempt: i32) {
    sqlx::query("UPDATE jobs SET state = 'running', attempt = $3, locked_by = $2 WHERE id = $1")
        .bind(id)
        .bind(node.id())
        .bind(attempt)
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn nul_characters_in_results_and_errors_are_stored_replaced(pool: sqlx::PgPool) {
    use crate::queue::{NewJob, enqueue};
    let (tenant, first, node) = queued_job_and_idle_node(&pool).await;
    let mut conn = pool.acquire().await.unwrap();
    let second = enqueue(
        &mut conn,
        tenant,
        None,
        &[NewJob::new(&crate::kinds::noop::Noop::default()).unwrap()],
    )
    .await
    .unwrap()
    .remove(0)
    .job;
    hold(&pool, &node, first.id, 1).await;
    hold(&pool, &node, second.id, 1).await;
    let mut a = ctx(1, 3);
    a.id = first.id;
    let mut b = ctx(1, 3);
    b.id = second.id;
    let (ok, ok_applied) = Completion::new(
        &a,
        Outcome::Succeeded(serde_json::json!({"body": "PNG\u{0}\u{1}", "k\u{0}": 1})),
    );
    let (failed, failed_applied) = Completion::new(
        &b,
        Outcome::Retry {
            error: "answer: \u{0}\u{0}".into(),
            delay: Duration::from_secs(60),
        },
    );
    node.inner().completer.send(ok).await.unwrap();
    node.inner().completer.send(failed).await.unwrap();
    let within = Duration::from_secs(10);
    assert!(
        tokio::time::timeout(within, ok_applied)
            .await
            .unwrap()
            .unwrap()
    );
    assert!(
        tokio::time::timeout(within, failed_applied)
            .await
            .unwrap()
            .unwrap()
    );
    let (state, result): (String, Value) =
        sqlx::query_as("SELECT state, result FROM jobs WHERE id = $1")
            .bind(first.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, "succeeded");
    assert_eq!(
        result,
        serde_json::json!({"body": "PNG\u{FFFD}\u{1}", "k\u{FFFD}": 1})
    );
    let (state, errors): (String, Value) =
        sqlx::query_as("SELECT state, errors FROM jobs WHERE id = $1")
            .bind(second.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, "failed");
    assert_eq!(errors[0]["error"], "answer: \u{FFFD}\u{FFFD}");
    node.shutdown().await.unwrap();
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn an_outcome_postgres_refuses_never_holds_up_the_others(pool: sqlx::PgPool) {
    use crate::queue::{NewJob, enqueue};
    // Postgres refuses one result (as it would an oversized or otherwise invalid value):
    // a trigger of this test's database only.
    sqlx::raw_sql(
        r#"CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
               IF NEW.result ? 'poison' THEN RAISE EXCEPTION 'value refused'; END IF;
               RETURN NEW;
           END $$;
           CREATE TRIGGER refuse_poison BEFORE UPDATE ON jobs
               FOR EACH ROW EXECUTE FUNCTION refuse_poison();"#,
    )
    .execute(&pool)
    .await
    .unwrap();
    let (tenant, _, node) = queued_job_and_idle_node(&pool).await;
    let mut conn = pool.acquire().await.unwrap();
    let noop = NewJob::new(&crate::kinds::noop::Noop::default()).unwrap();
    let jobs: Vec<Uuid> = enqueue(&mut conn, tenant, None, &vec![noop; 5])
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.job.id)
        .collect();
    let poisoned = [jobs[1], jobs[3]];
    let mut receivers = Vec::new();
    let mut completions = Vec::new();
    for (i, id) in jobs.iter().enumerate() {
        // The second poisoned job is on its last attempt: it is dead, not retried.
        let attempt = if *id == jobs[3] { 3 } else { 1 };
        hold(&pool, &node, *id, attempt).await;
        let mut c = ctx(attempt, 3);
        c.id = *id;
        let result = if poisoned.contains(id) {
            serde_json::json!({"poison": i})
        } else {
            serde_json::json!({"fine": i})
        };
        let (completion, applied) = Completion::new(&c, Outcome::Succeeded(result));
        completions.push(completion);
        receivers.push(applied);
    }
    // One batch: every outcome reaches the completer before it writes.
    let (tx, rx) = mpsc::channel(16);
    for c in completions {
        tx.send(c).await.unwrap();
    }
    drop(tx);
    let completer = tokio::spawn(run_completer(node.inner().clone(), rx));
    for applied in receivers {
        let applied = tokio::time::timeout(Duration::from_secs(10), applied)
            .await
            .expect("every outcome is settled: none stalls the completer")
            .unwrap();
        assert!(applied);
    }
    completer.await.unwrap();
    for (i, id) in jobs.iter().enumerate() {
        let (state, errors, result): (String, Value, Option<Value>) =
            sqlx::query_as("SELECT state, errors, result FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        if poisoned.contains(id) {
            let expected = if *id == jobs[3] { "dead" } else { "failed" };
            assert_eq!(state, expected, "job {i}");
            let error = errors[0]["error"].as_str().unwrap();
            assert!(
                error.starts_with("the outcome could not be stored: ")
                    && error.contains("value refused"),
                "the error says why: {error}"
            );
            assert_eq!(result, None);
        } else {
            assert_eq!(state, "succeeded", "job {i}");
            assert_eq!(result, Some(serde_json::json!({"fine": i})));
        }
    }
    node.shutdown().await.unwrap();
}

/// A kind whose handler panics, as a bug would. Its retries wait up to an hour, so the
/// attempt a test watches is the only one that runs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Buggy {}

impl crate::kinds::JobKind for Buggy {
    const KIND: &'static str = "test_buggy";
    const MAX_ATTEMPTS: i32 = 3;
    const TIMEOUT: Duration = Duration::from_secs(60);
    const BACKOFF: Backoff = Backoff {
        base: Duration::from_secs(3600),
        cap: Duration::from_secs(3600),
    };

    fn validate(&self) -> Result<(), crate::FieldError> {
        Ok(())
    }
}

async fn buggy(_: Buggy) -> Result<Value, JobError> {
    panic!("a bug in the handler")
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn other_errors_and_panics_are_retried(pool: sqlx::PgPool) {
    use apalis::prelude::{WorkerBuilder, WorkerBuilderExt};
    use apalis_core::worker::ext::parallelize::ParallelizeExt;

    use crate::queue::{NewJob, enqueue, spawn_attempt};

    let out = Outcome::from_error(&ctx(1, 2), "some library error".into());
    assert!(matches!(out, Outcome::Retry { .. }));

    // A real panic, through the stack the worker binary builds for every kind: the backend's
    // ack layer, apalis' catch-panic layer, and the attempt on its own task
    // (`spawn_attempt`), whose join error carries the panic to the ack layer.
    let (tenant, _, node) = queued_job_and_idle_node(&pool).await;
    let mut conn = pool.acquire().await.unwrap();
    let job = enqueue(&mut conn, tenant, None, &[NewJob::new(&Buggy {}).unwrap()])
        .await
        .unwrap()
        .remove(0)
        .job;
    let worker = WorkerBuilder::new("buggy")
        .backend(node.backend::<Buggy>(1))
        .catch_panic()
        .concurrency(1)
        .parallelize(spawn_attempt)
        .build(buggy);
    let running = tokio::spawn(worker.run());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (state, attempt, errors) = loop {
        let row: (String, i32, Value) =
            sqlx::query_as("SELECT state, attempt, errors FROM jobs WHERE id = $1")
                .bind(job.id)
                .fetch_one(&pool)
                .await
                .unwrap();
        if !matches!(row.0.as_str(), "available" | "running") {
            break row;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no outcome recorded: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    running.abort();
    assert_eq!(
        (state.as_str(), attempt),
        ("failed", 1),
        "a panic is retried"
    );
    let error = errors[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("a bug in the handler"),
        "the panic is the attempt's error: {error}"
    );
    node.shutdown().await.unwrap();
}
