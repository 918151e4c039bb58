use serde_json::json;
use sqlx::PgPool;

use super::*;
use crate::workflows::{get_run, testing};

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_root_step_over_its_budget_refuses_the_start_and_leaves_nothing(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
    let definition = json!({"steps": [
        {"name": "fine", "kind": "noop", "args": {"output": "{{ input.a }}"}},
        {"name": "bomb", "kind": "noop", "args": {"output": "{{ input.a }}".repeat(1000)}},
    ]});
    let wf = super::super::create(&mut conn, tenant, "wf", &definition)
        .await
        .unwrap();
    // As the schedule tick does: the caller's transaction goes on and commits.
    let mut tx = pool.begin().await.unwrap();
    let input = json!({"a": "x".repeat(200_000)});
    let started = start_run(&mut tx, tenant, wf.id, input, None, &Trigger::Api).await;
    let Err(DomainError::Invalid(e)) = started else {
        panic!("expected a refusal, got {started:?}");
    };
    assert_eq!(e.path, "input");
    assert!(
        e.message.contains("step \"bomb\"") && e.message.contains("1048576 bytes"),
        "{}",
        e.message
    );
    tx.commit().await.unwrap();
    let rows: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM workflow_runs), (SELECT count(*) FROM jobs),
                (SELECT count(*) FROM workflow_run_events)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        (0, 0, 0),
        "a refused start leaves no run, job or event"
    );
    // The same workflow with a small input starts.
    let ok = start_run(
        &mut conn,
        tenant,
        wf.id,
        json!({"a": "x"}),
        None,
        &Trigger::Api,
    )
    .await
    .unwrap();
    assert_eq!(ok.0.status, RunStatus::Queued);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_fan_out_over_its_total_budget_fails_the_step_and_the_run(pool: PgPool) {
    let run = testing::start(
        &pool,
        json!({"steps": [
            {"name": "a", "kind": "noop"},
            {"name": "b", "kind": "noop", "after": ["a"], "for_each": "input.list",
             "args": {"output": "{{ input.a }}"}},
        ]}),
        json!({"a": "x".repeat(200_000), "list": vec![0; 1000]}),
    )
    .await;
    assert_eq!(testing::finish_queued(&pool, run.id, true).await, 1);
    let tenant = testing::tenant_of(&pool, run.id).await;
    let done = get_run(&pool, tenant, run.id).await.unwrap();
    assert_eq!(done.status, RunStatus::Failed);
    assert_eq!(done.failed_step.as_deref(), Some("b"));
    let error = done.error.unwrap_or_default();
    assert!(
        error.contains("step \"b\"")
            && error.contains("16 MiB")
            && error.contains("stopped at item 83"),
        "{error}"
    );
    assert_eq!(done.steps[1].error.as_deref(), Some(error.as_str()));
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE step = 'b'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0, "no item of the step is enqueued");
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_step_error_never_quotes_a_large_value_whole(pool: PgPool) {
    let input = json!({"a": "x".repeat(200_000)});
    for (definition, expected) in [
        (
            json!({"steps": [{"name": "a", "kind": "noop", "for_each": "input.a"}]}),
            "for_each expects a list, found \"xxx",
        ),
        (
            json!({"steps": [{"name": "a", "kind": "noop", "args": {"sleep_ms": "{{ input.a }}"}}]}),
            "the args do not fit noop",
        ),
    ] {
        let run = testing::start(&pool, definition, input.clone()).await;
        assert_eq!(run.status, RunStatus::Failed);
        let error = run.error.unwrap_or_default();
        assert!(error.starts_with(expected), "{error}");
        assert!(error.len() <= MAX_STEP_ERROR, "{} bytes", error.len());
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_diamond_with_a_fan_out_a_skip_and_a_fan_in_runs_in_order(pool: PgPool) {
    let run = testing::start(
        &pool,
        json!({"steps": [
            {"name": "a", "kind": "noop", "args": {"output": {"items": [1, 2, 3], "score": 50}}},
            {"name": "b", "kind": "noop", "after": ["a"], "for_each": "steps.a.output.items",
             "args": {"output": "{{ item }}"}},
            {"name": "c", "kind": "noop", "after": ["a"], "if": "steps.a.output.score >= 70"},
            {"name": "d", "kind": "noop", "after": ["b", "c"],
             "args": {"output": {"all": "{{ steps.b.output }}", "c": "{{ steps.c.output }}", "n": "{{ input.n }}"}}},
        ]}),
        json!({"n": 7}),
    )
    .await;
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(
        testing::finish_queued(&pool, run.id, true).await,
        1,
        "only the root runs first"
    );
    assert_eq!(
        testing::finish_queued(&pool, run.id, true).await,
        3,
        "b fans out; c is skipped"
    );
    assert_eq!(
        testing::finish_queued(&pool, run.id, true).await,
        1,
        "the join"
    );
    assert_eq!(testing::finish_queued(&pool, run.id, true).await, 0);
    let tenant = testing::tenant_of(&pool, run.id).await;
    let done = get_run(&pool, tenant, run.id).await.unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    let states: Vec<&str> = done.steps.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["succeeded", "succeeded", "skipped", "succeeded"]);
    assert_eq!(
        done.steps[3].output,
        Some(json!({"all": [1, 2, 3], "c": null, "n": 7}))
    );
    assert_eq!((done.steps_done, done.steps_total), (4, 4));
    let items: Vec<Option<i32>> =
        sqlx::query_scalar("SELECT item FROM jobs WHERE run_id = $1 AND step = 'b' ORDER BY item")
            .bind(run.id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        items,
        [Some(0), Some(1), Some(2)],
        "a fan-out's items, in order"
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn item_if_keeps_the_items_its_condition_holds_for(pool: PgPool) {
    let run = testing::start(
        &pool,
        json!({"steps": [
            {"name": "a", "kind": "noop", "args": {"output": [
                {"id": 1, "relevant": true, "score": 80},
                {"id": 2, "relevant": false, "score": 90},
                {"id": 3, "relevant": true, "score": 40},
                {"id": 4, "relevant": true, "score": 75}]}},
            {"name": "b", "kind": "noop", "after": ["a"], "for_each": "steps.a.output",
             "item_if": "item.relevant == true and item.score >= 70",
             "args": {"output": "{{ item.id }}"}},
            {"name": "c", "kind": "noop", "after": ["a"], "for_each": "steps.a.output",
             "item_if": "item.score > 100", "args": {"output": "{{ item.id }}"}},
        ]}),
        json!({}),
    )
    .await;
    assert_eq!(testing::finish_queued(&pool, run.id, true).await, 1);
    assert_eq!(
        testing::finish_queued(&pool, run.id, true).await,
        2,
        "two items pass b's condition; none passes c's"
    );
    assert_eq!(testing::finish_queued(&pool, run.id, true).await, 0);
    let tenant = testing::tenant_of(&pool, run.id).await;
    let done = get_run(&pool, tenant, run.id).await.unwrap();
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.steps[1].output, Some(json!([1, 4])));
    assert_eq!(done.steps[2].output, Some(json!([])));
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_steps_concurrency_key_is_rendered_per_item_and_checked_at_create(pool: PgPool) {
    let run = testing::start(
        &pool,
        json!({"steps": [
            {"name": "a", "kind": "noop", "args": {"output": [{"src": "x"}, {"src": "y"}, {"src": "x"}]}},
            {"name": "b", "kind": "noop", "after": ["a"], "for_each": "steps.a.output",
             "concurrency": {"key": "source-{{ item.src }}", "limit": 1},
             "args": {"output": "{{ item.src }}"}},
        ]}),
        json!({}),
    )
    .await;
    assert_eq!(testing::finish_queued(&pool, run.id, true).await, 1);
    let keys: Vec<(Option<String>, Option<i32>)> = sqlx::query_as(
        "SELECT concurrency_key, concurrency_limit FROM jobs
         WHERE run_id = $1 AND step = 'b' ORDER BY item",
    )
    .bind(run.id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let one = |k: &str| (Some(k.to_owned()), Some(1));
    assert_eq!(keys, [one("source-x"), one("source-y"), one("source-x")]);

    let bad = crate::workflows::definition::Definition::parse(&json!({"steps": [
        {"name": "a", "kind": "noop", "concurrency": {"key": "k-{{ nowhere.x }}", "limit": 0}},
    ]}))
    .unwrap_err();
    let paths: Vec<&str> = bad.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"steps[0].concurrency.limit"), "{bad:?}");
    assert!(paths.contains(&"steps[0].concurrency.key"), "{bad:?}");
}
