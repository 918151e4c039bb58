//! Jobs parked on a budget: what names the hold, and putting them back in the queue when the
//! budget is raised or deleted.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::{DomainError, queue::JOBS_CHANNEL};

/// What parks a job held back by budget `id`: raising that budget resumes them.
pub fn parked_on(id: Uuid) -> String {
    format!("budget:{id}")
}

/// Makes the jobs parked on budget `id` due now and wakes their workers at commit.
pub(super) async fn resume_parked(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<u64, DomainError> {
    let kinds = sqlx::query_scalar!(
        r#"UPDATE jobs SET run_at = now(), parked_on = NULL, parked_reason = NULL
           WHERE tenant_id = $1 AND parked_on = $2 AND state = 'available'
           RETURNING kind"#,
        tenant_id,
        parked_on(id)
    )
    .fetch_all(&mut *conn)
    .await?;
    let resumed = kinds.len() as u64;
    let mut kinds = kinds;
    kinds.sort();
    kinds.dedup();
    if !kinds.is_empty() {
        sqlx::query!(
            "SELECT pg_notify($1, k) FROM unnest($2::text[]) AS k",
            JOBS_CHANNEL,
            &kinds
        )
        .execute(&mut *conn)
        .await?;
    }
    if resumed > 0 {
        metrics::counter!("jobs_unparked_total").increment(resumed);
    }
    Ok(resumed)
}
