//! The heartbeat: every `heartbeat` interval it renews the leases of the jobs this node holds,
//! delivers cancels it missed, lets go of jobs it lost, rescues any node's expired leases
//! ([`finish_rescue`] ends every rescue, this one's and the dead-worker watch's), fences the
//! node when it cannot renew for most of a lease, and now and then prunes finished jobs,
//! workers, expired budget holds and audit entries past their retention.

use std::{collections::HashSet, sync::Arc, time::Duration};

use sqlx::{Postgres, Transaction};
use tokio::time::Instant;
use uuid::Uuid;

use super::{super::StoredState, NodeInner, notify_kinds};
use crate::queue::group;

pub(super) async fn heartbeat(node: Arc<NodeInner>) {
    let mut tick = tokio::time::interval(node.settings.heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let prune_every = (Duration::from_secs(60).as_millis()
        / node.settings.heartbeat.as_millis().max(1))
    .max(1) as u64;
    let mut beats: u64 = 0;
    loop {
        tokio::select! {
            _ = node.stop.cancelled() => return,
            _ = tick.tick() => {}
            _ = node.beat_now.notified() => {}
        }
        // A beat that hangs (a connection that neither answers nor fails) must not keep this
        // process from fencing itself in time, nor from trying again.
        let fence_at = *node.renewed_at.lock().expect("renewed lock") + node.settings.fence_after;
        let beat = tokio::time::timeout(node.settings.lease, beat(&node));
        tokio::pin!(beat);
        let beaten = loop {
            tokio::select! {
                r = &mut beat => break r,
                _ = tokio::time::sleep_until(fence_at), if !node.is_fenced() => node.fence(),
            }
        };
        let failed = match beaten {
            Ok(Ok(())) => false,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, fenced = node.is_fenced(), "heartbeat failed");
                true
            }
            Err(_) => {
                tracing::warn!(fenced = node.is_fenced(), "heartbeat timed out");
                true
            }
        };
        if failed {
            if Instant::now() >= fence_at {
                node.fence();
            }
            continue;
        }
        if beats.is_multiple_of(prune_every)
            && let Err(e) = prune(&node).await
        {
            tracing::warn!(error = %e, "retention purge failed");
        }
        beats += 1;
    }
}

async fn beat(node: &NodeInner) -> Result<(), sqlx::Error> {
    let lease = node.settings.lease.as_secs_f64();
    let held = node.in_flight();
    sqlx::query!(
        "UPDATE workers SET last_heartbeat_at = now(), in_flight = $2 WHERE id = $1",
        node.id,
        held.len() as i32
    )
    .execute(&node.pool)
    .await?;
    // Only jobs this process still tracks: one it let go of (fenced, or its outcome given up)
    // keeps its lease only until it expires, and is then rescued.
    let renewed = sqlx::query!(
        // Rows locked in id order, as the completer locks its batch: no deadlock between them.
        r#"UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $2)
           WHERE id IN (SELECT id FROM jobs
                        WHERE locked_by = $1 AND state = 'running' AND id = ANY($3)
                        ORDER BY id FOR UPDATE)
           RETURNING id, cancel_requested"#,
        node.id,
        lease,
        &held
    )
    .fetch_all(&node.pool)
    .await?;
    node.renewed();
    let still_ours: HashSet<Uuid> = renewed.iter().map(|r| r.id).collect();
    for r in renewed.iter().filter(|r| r.cancel_requested) {
        node.cancel(r.id);
    }
    // A job we run but no longer hold was rescued or finished elsewhere: stop working on it.
    // (Claimed jobs are tracked before their row is visible as ours only within one statement,
    // so anything tracked and not renewed here has really been lost.)
    for id in held.into_iter().filter(|id| !still_ours.contains(id)) {
        if node.cancel(id) {
            tracing::warn!(job_id = %id, "lease lost; abandoning the attempt");
        }
    }
    // One transaction: a job of a group dead-lettered here is handed to the completion hook
    // with it (a workflow run moves on).
    let mut tx = node.pool.begin().await?;
    let rescued = sqlx::query_as!(
        Rescued,
        r#"WITH expired AS (
               SELECT id FROM jobs
               WHERE state = 'running' AND lease_expires_at < now()
               ORDER BY lease_expires_at
               LIMIT 1000
               FOR UPDATE SKIP LOCKED)
           UPDATE jobs j SET
               state = CASE WHEN j.attempt >= j.max_attempts THEN 'dead' ELSE 'failed' END,
               run_at = now(),
               finished_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
               errors = j.errors || jsonb_build_array(jsonb_build_object(
                   'attempt', j.attempt, 'at', now(),
                   'error', 'lease expired: worker ' || coalesce(j.locked_by, '?') || ' stopped heartbeating')),
               locked_by = NULL, lease_expires_at = NULL
           FROM expired WHERE j.id = expired.id
           RETURNING j.id, j.kind, j.state AS "state: StoredState", j.run_id"#
    )
    .fetch_all(&mut *tx)
    .await?;
    finish_rescue(
        node,
        tx,
        rescued,
        "lease",
        "rescued a job whose lease expired",
    )
    .await
}

/// A running job taken from its holder, as a rescue returns it.
pub(in crate::queue) struct Rescued {
    pub id: Uuid,
    pub kind: String,
    pub state: StoredState,
    pub run_id: Option<Uuid>,
}

/// Ends a rescue (`via` the lease or a session seen gone): tells the completion hook, in the
/// rescue's transaction, about jobs of groups it dead-lettered (a workflow run moves on),
/// commits, counts and logs the jobs (`what`), and wakes the workers of their kinds.
pub(in crate::queue) async fn finish_rescue(
    node: &NodeInner,
    mut tx: Transaction<'_, Postgres>,
    rescued: Vec<Rescued>,
    via: &'static str,
    what: &'static str,
) -> Result<(), sqlx::Error> {
    let groups: Vec<Uuid> = rescued
        .iter()
        .filter(|r| r.state == StoredState::Dead)
        .filter_map(|r| r.run_id)
        .collect();
    group::finished(&mut tx, node.hook.as_ref(), &groups).await?;
    tx.commit().await?;
    if rescued.is_empty() {
        return Ok(());
    }
    for r in &rescued {
        tracing::warn!(job_id = %r.id, kind = %r.kind, via, "{what}");
    }
    metrics::counter!("jobs_rescued_total", "via" => via).increment(rescued.len() as u64);
    let kinds: HashSet<String> = rescued.into_iter().map(|r| r.kind).collect();
    for k in &kinds {
        node.wake(k);
    }
    notify_kinds(&node.pool, kinds).await;
    Ok(())
}

async fn prune(node: &NodeInner) -> Result<(), crate::DomainError> {
    let pruned = sqlx::query!(
        r#"WITH old AS (
               SELECT j.id FROM jobs j JOIN tenants t ON t.id = j.tenant_id
               WHERE (j.state IN ('succeeded', 'cancelled')
                      AND j.finished_at < now() - make_interval(secs => coalesce(t.job_retention_secs::float8, $1)))
                  OR (j.state = 'dead' AND j.finished_at < now() - make_interval(secs => $2))
               LIMIT 10000)
           DELETE FROM jobs WHERE id IN (SELECT id FROM old)"#,
        node.settings.retention.as_secs_f64(),
        node.settings.dead_retention.as_secs_f64()
    )
    .execute(&node.pool)
    .await?
    .rows_affected();
    if pruned > 0 {
        tracing::info!(pruned, "pruned finished jobs past their retention");
        metrics::counter!("jobs_pruned_total").increment(pruned);
    }
    sqlx::query!("DELETE FROM workers WHERE last_heartbeat_at < now() - interval '1 day'")
        .execute(&node.pool)
        .await?;
    crate::budgets::release_expired(&node.pool).await?;
    let audited = crate::audit::prune(&node.pool, node.settings.audit_retention).await?;
    if audited > 0 {
        tracing::info!(audited, "pruned audit entries past their retention");
    }
    Ok(())
}
