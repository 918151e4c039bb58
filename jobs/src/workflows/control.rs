//! What an operator does to a run in flight: cancel it, or retry the failed steps of a failed
//! run. Both change the run's jobs through the queue ([`queue::cancel_group`],
//! [`queue::retry_group`]) in the caller's transaction.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    Changed,
    engine::{advance, set_status},
    events,
    runs::{Run, RunStatus, get_run_on, run_row},
};
use crate::{DomainError, queue};

/// Cancels a run: its queued step jobs at once, its running ones told (their workers stop
/// them), its pending steps never start. A finished run answers a conflict.
pub async fn cancel_run(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Changed<Run>, DomainError> {
    let before = get_run_on(conn, tenant_id, id).await?;
    if before.status.is_finished() {
        return Err(DomainError::Conflict(format!(
            "the run is {}; only queued or running runs can be cancelled",
            before.status.as_str()
        )));
    }
    // The jobs first, then the run: the completer locks a job, then its run; taking them in the
    // same order here cannot deadlock with it.
    queue::cancel_group(conn, id, false).await?;
    run_row(conn, tenant_id, id, true).await?;
    let cancelled = sqlx::query_scalar!(
        r#"UPDATE workflow_run_steps SET state = 'cancelled', finished_at = now()
           WHERE run_id = $1 AND state IN ('pending', 'running')
           RETURNING step"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    for step in before.steps.iter().filter(|s| cancelled.contains(&s.name)) {
        events::record(
            conn,
            id,
            events::types::STEP_CANCELLED,
            Some(&step.name),
            serde_json::json!({}),
        )
        .await?;
    }
    set_status(conn, id, RunStatus::Cancelled, None, None).await?;
    // Jobs a completer enqueued between the two steps above (it held the run's lock then).
    // Rows another transaction holds right now are finishing or being claimed; they are skipped
    // rather than waited for, and their outcomes no longer advance the cancelled run.
    queue::cancel_group(conn, id, true).await?;
    let after = get_run_on(conn, tenant_id, id).await?;
    Ok(Changed { before, after })
}

/// Re-runs the failed steps of a failed run: their dead or cancelled jobs go back to the queue
/// (attempts reset), a step that failed before enqueueing is tried again, and the run continues.
/// Returns the run and the kinds to wake after the commit.
pub async fn retry_run(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<(Changed<Run>, Vec<String>), DomainError> {
    let before = get_run_on(conn, tenant_id, id).await?;
    if before.status != RunStatus::Failed {
        return Err(DomainError::Conflict(format!(
            "the run is {}; only failed runs can be retried",
            before.status.as_str()
        )));
    }
    run_row(conn, tenant_id, id, true).await?;
    // The failed steps run again: running when their jobs were enqueued (those go back to the
    // queue just below), pending when they failed before enqueueing any.
    let retried = sqlx::query_scalar!(
        r#"UPDATE workflow_run_steps
           SET state = CASE WHEN items IS NULL THEN 'pending' ELSE 'running' END,
               error = NULL, finished_at = NULL
           WHERE run_id = $1 AND state = 'failed'
           RETURNING step"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut kinds = queue::retry_group(conn, id, &retried).await?;
    let retried: Vec<&str> = before
        .steps
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| retried.iter().any(|r| r == n))
        .collect();
    events::record(
        conn,
        id,
        events::types::RUN_RETRIED,
        None,
        serde_json::json!({ "steps": retried }),
    )
    .await?;
    sqlx::query!(
        r#"UPDATE workflow_runs SET status = 'running', failed_step = NULL, error = NULL, finished_at = NULL
           WHERE id = $1"#,
        id
    )
    .execute(&mut *conn)
    .await?;
    kinds.extend(advance(conn, &[id]).await?);
    kinds.sort();
    kinds.dedup();
    let after = get_run_on(conn, tenant_id, id).await?;
    Ok((Changed { before, after }, kinds))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sqlx::PgPool;

    use super::*;
    use crate::workflows::{StepState, get_run, testing};

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_dead_step_fails_the_run_and_a_retry_reruns_only_it(pool: PgPool) {
        let run = testing::start(
            &pool,
            json!({"steps": [
                {"name": "a", "kind": "noop"},
                {"name": "b", "kind": "noop", "after": ["a"]},
            ]}),
            json!({}),
        )
        .await;
        testing::finish_queued(&pool, run.id, false).await;
        let tenant = testing::tenant_of(&pool, run.id).await;
        let failed = get_run(&pool, tenant, run.id).await.unwrap();
        assert_eq!(failed.status, RunStatus::Failed);
        assert_eq!(failed.failed_step.as_deref(), Some("a"));
        assert!(failed.error.unwrap().contains("boom"));
        assert_eq!(failed.steps[1].state, StepState::Pending);

        let mut tx = pool.begin().await.unwrap();
        let (changed, kinds) = retry_run(&mut tx, tenant, run.id).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(kinds, ["noop"]);
        assert_eq!(changed.after.status, RunStatus::Running);
        assert_eq!(
            testing::finish_queued(&pool, run.id, true).await,
            1,
            "only a again"
        );
        assert_eq!(
            testing::finish_queued(&pool, run.id, true).await,
            1,
            "then b"
        );
        assert_eq!(
            get_run(&pool, tenant, run.id).await.unwrap().status,
            RunStatus::Succeeded
        );
    }
}
