//! The fair claim, straight against Postgres: shares by weight, priority within a tenant only,
//! aging, caps per tenant, per kind and per key, also under concurrent claims.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{Claimed, claim};
use crate::{
    auth,
    queue::{
        Concurrency, NewJob, OverLimit, enqueue,
        share::{self, SharePatch},
    },
};

const LEASE: f64 = 30.0;

async fn tenant(pool: &PgPool, name: &str) -> Uuid {
    let mut conn = pool.acquire().await.unwrap();
    auth::ensure_tenant(&mut conn, name).await.unwrap()
}

fn noop() -> NewJob {
    NewJob::parse(json!({"kind": "noop"})).unwrap()
}

async fn put(pool: &PgPool, tenant: Uuid, jobs: Vec<NewJob>) -> Vec<Uuid> {
    let mut conn = pool.acquire().await.unwrap();
    enqueue(&mut conn, tenant, None, &jobs)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.job.id)
        .collect()
}

async fn many(pool: &PgPool, tenant: Uuid, n: usize) -> Vec<Uuid> {
    put(pool, tenant, (0..n).map(|_| noop()).collect()).await
}

fn per_tenant(claimed: &[Claimed]) -> HashMap<Uuid, usize> {
    let mut m = HashMap::new();
    for c in claimed {
        *m.entry(c.tenant_id).or_default() += 1;
    }
    m
}

async fn weight(pool: &PgPool, name: &str, patch: SharePatch) {
    share::set(pool, name, &patch).await.unwrap();
}

/// Finishes `ids` the way the completer does (a state change the slot trigger sees).
async fn finish(pool: &PgPool, ids: &[Uuid]) {
    sqlx::query("UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE id = ANY($1)")
        .bind(ids)
        .execute(pool)
        .await
        .unwrap();
}

async fn running_with_key(pool: &PgPool, key: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'running' AND concurrency_key = $1")
        .bind(key)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_flood_never_crowds_out_another_tenants_jobs(pool: PgPool) {
    let a = tenant(&pool, "flood").await;
    let b = tenant(&pool, "quiet").await;
    many(&pool, a, 500).await;
    let b_jobs = many(&pool, b, 3).await;
    let claimed = claim(&pool, "noop", 10, "w", LEASE).await.unwrap();
    let got = per_tenant(&claimed);
    assert_eq!(
        got[&b], 3,
        "all of the quiet tenant's jobs in the first claim"
    );
    assert_eq!(got[&a], 5, "the flood gets its share, not the whole batch");
    assert!(
        claimed.iter().any(|c| c.more),
        "the flood has more: ask again"
    );
    for id in b_jobs {
        assert!(claimed.iter().any(|c| c.id == id));
    }
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn weights_split_claims_in_proportion_even_one_job_at_a_time(pool: PgPool) {
    let a = tenant(&pool, "heavy").await;
    let b = tenant(&pool, "light").await;
    weight(
        &pool,
        "heavy",
        SharePatch {
            weight: Some(3),
            ..Default::default()
        },
    )
    .await;
    many(&pool, a, 700).await;
    many(&pool, b, 700).await;
    let claimed = claim(&pool, "noop", 20, "w", LEASE).await.unwrap();
    let got = per_tenant(&claimed);
    assert_eq!((got[&a], got[&b]), (15, 5));
    // One free slot at a time: each tenant wins in proportion to its weight.
    let mut wins = HashMap::<Uuid, usize>::new();
    for _ in 0..400 {
        let one = claim(&pool, "noop", 1, "w", LEASE).await.unwrap();
        assert_eq!(one.len(), 1);
        *wins.entry(one[0].tenant_id).or_default() += 1;
    }
    // Binomial(400, 0.75): mean 300, sd 8.7; five sd either side.
    let heavy = wins[&a];
    assert!((257..=343).contains(&heavy), "heavy won {heavy} of 400");
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn priority_orders_a_tenants_own_jobs_and_waiting_raises_it(pool: PgPool) {
    let a = tenant(&pool, "a").await;
    let b = tenant(&pool, "b").await;
    let urgent = put(&pool, a, vec![noop().priority(100).unwrap()]).await[0];
    let a_low = many(&pool, a, 1).await[0];
    put(&pool, b, vec![noop().priority(-100).unwrap()]).await;
    let claimed = claim(&pool, "noop", 2, "w", LEASE).await.unwrap();
    let got = per_tenant(&claimed);
    assert_eq!(
        (got[&a], got[&b]),
        (1, 1),
        "another tenant's priority cannot push a job ahead of this tenant's share"
    );
    assert!(claimed.iter().any(|c| c.id == urgent));
    assert!(!claimed.iter().any(|c| c.id == a_low));

    // A priority-0 job that has waited 11 minutes goes before a fresh priority-10 one: a
    // level is worth a minute.
    let c = tenant(&pool, "c").await;
    let old = put(
        &pool,
        c,
        vec![noop().run_at(Utc::now() - chrono::Duration::minutes(11))],
    )
    .await[0];
    put(&pool, c, vec![noop().priority(10).unwrap()]).await;
    sqlx::query("UPDATE jobs SET state = 'succeeded' WHERE tenant_id <> $1")
        .bind(c)
        .execute(&pool)
        .await
        .unwrap();
    let first = claim(&pool, "noop", 1, "w", LEASE).await.unwrap();
    assert_eq!(first[0].id, old);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_concurrency_key_never_runs_over_its_limit_under_concurrent_claims(pool: PgPool) {
    let t = tenant(&pool, "t").await;
    let keyed = |n: usize| {
        (0..n)
            .map(|_| {
                noop()
                    .concurrency(Concurrency {
                        key: "customer-7".into(),
                        limit: 2,
                        on_limit: OverLimit::Queue,
                    })
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    put(&pool, t, keyed(60)).await;
    let free = many(&pool, t, 20).await;

    // The first claim meets the key's backlog first: it takes two of them and says there is
    // more; the next steps over the full key to the jobs without one.
    let first = claim(&pool, "noop", 30, "w0", LEASE).await.unwrap();
    assert_eq!(running_with_key(&pool, "customer-7").await, 2);
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|c| c.more));
    let second = claim(&pool, "noop", 30, "w0", LEASE).await.unwrap();
    assert_eq!(second.len(), 20, "the jobs without a key are not held up");
    assert!(free.iter().all(|id| second.iter().any(|c| c.id == *id)));
    let ids: Vec<Uuid> = first.iter().chain(&second).map(|c| c.id).collect();
    finish(&pool, &ids).await;

    // Eight claimers at once, finishing what they get, until the key's jobs are done.
    let mut tasks = Vec::new();
    for w in 0..8 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut most = 0;
            let mut done = 0;
            for _ in 0..400 {
                let got = claim(&pool, "noop", 4, &format!("w{w}"), LEASE).await;
                let got = match got {
                    Ok(got) => got,
                    Err(e) if super::is_deadlock(&e) => continue,
                    Err(e) => panic!("{e}"),
                };
                most = most.max(running_with_key(&pool, "customer-7").await);
                let ids: Vec<Uuid> = got.iter().map(|c| c.id).collect();
                done += ids.len();
                finish(&pool, &ids).await;
                if done > 0 && got.is_empty() {
                    tokio::task::yield_now().await;
                }
            }
            (most, done)
        }));
    }
    let mut total = 0;
    for t in tasks {
        let (most, done) = t.await.unwrap();
        assert!(most <= 2, "{most} running with a limit of 2");
        total += done;
    }
    assert_eq!(total, 58, "every keyed job ran once");
    let slot: i32 = sqlx::query_scalar("SELECT running FROM job_slot_use WHERE key = 'customer-7'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(slot, 0, "every slot given back");
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_tenant_cap_holds_follows_changes_and_counts_running_jobs(pool: PgPool) {
    let t = tenant(&pool, "capped").await;
    many(&pool, t, 10).await;
    let early = claim(&pool, "noop", 2, "w", LEASE).await.unwrap();
    assert_eq!(early.len(), 2);
    // Set while two run: they count.
    weight(
        &pool,
        "capped",
        SharePatch {
            max_running: Some(Some(3)),
            ..Default::default()
        },
    )
    .await;
    let next = claim(&pool, "noop", 10, "w", LEASE).await.unwrap();
    assert_eq!(next.len(), 1, "3 at once, 2 of them already running");
    assert!(
        claim(&pool, "noop", 10, "w", LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    finish(&pool, &[early[0].id]).await;
    assert_eq!(claim(&pool, "noop", 10, "w", LEASE).await.unwrap().len(), 1);
    // Lifted: the rest go.
    weight(
        &pool,
        "capped",
        SharePatch {
            max_running: Some(None),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(claim(&pool, "noop", 10, "w", LEASE).await.unwrap().len(), 6);
    let audit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'tenant.queue_share'",
    )
    .bind(t)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(audit, 2);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_kind_limit_keys_queued_and_new_jobs_of_the_kind(pool: PgPool) {
    let t = tenant(&pool, "small-plan").await;
    many(&pool, t, 5).await;
    weight(
        &pool,
        "small-plan",
        SharePatch {
            kind_limits: Some(BTreeMap::from([("noop".to_owned(), 2)])),
            ..Default::default()
        },
    )
    .await;
    let mut conn = pool.acquire().await.unwrap();
    let new = enqueue(&mut conn, t, None, &[noop()])
        .await
        .unwrap()
        .remove(0);
    assert_eq!(new.job.concurrency_key.as_deref(), Some("kind:noop"));
    assert_eq!(new.job.concurrency_limit, Some(2));
    assert_eq!(claim(&pool, "noop", 10, "w", LEASE).await.unwrap().len(), 2);
    assert!(
        claim(&pool, "noop", 10, "w", LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    let bad = SharePatch {
        kind_limits: Some(BTreeMap::from([("nope".to_owned(), 2)])),
        ..Default::default()
    };
    let e = share::set(&pool, "small-plan", &bad).await.unwrap_err();
    assert!(e.to_string().contains("unknown kind"), "{e}");
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn over_limit_strategies_cancel_the_newest_or_keep_only_the_newest(pool: PgPool) {
    let t = tenant(&pool, "t").await;
    let with = |key: &str, on_limit| {
        noop()
            .concurrency(Concurrency {
                key: key.into(),
                limit: 2,
                on_limit,
            })
            .unwrap()
    };
    let mut conn = pool.acquire().await.unwrap();
    let mut states = Vec::new();
    for _ in 0..4 {
        let e = enqueue(&mut conn, t, None, &[with("c", OverLimit::CancelNewest)])
            .await
            .unwrap()
            .remove(0);
        states.push(e.job.state.as_str());
    }
    assert_eq!(states, ["available", "available", "cancelled", "cancelled"]);
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT state FROM jobs WHERE concurrency_key = 'c' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(stored, ["available", "available", "cancelled", "cancelled"]);

    let mut last = Uuid::nil();
    for _ in 0..3 {
        last = enqueue(&mut conn, t, None, &[with("k", OverLimit::KeepNewest)])
            .await
            .unwrap()
            .remove(0)
            .job
            .id;
    }
    let waiting: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE concurrency_key = 'k' AND state = 'available'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(waiting, [last]);
    let e = NewJob::parse(json!({"kind": "noop", "singleton_key": "s",
        "concurrency": {"key": "k", "limit": 1, "on_limit": "keep_newest"}}))
    .unwrap_err();
    assert_eq!(e.path, "concurrency.on_limit");
    for bad in [
        json!({"kind": "noop", "concurrency": {"key": "kind:noop", "limit": 1}}),
        json!({"kind": "noop", "concurrency": {"key": "k", "limit": 0}}),
        json!({"kind": "noop", "concurrency": {"key": "k", "limit": 1, "on_limit": "drop"}}),
    ] {
        assert!(NewJob::parse(bad.clone()).is_err(), "{bad}");
    }
}

/// A worker meeting jobs written by an older version.
mod stored_args {
    use std::{sync::Arc, time::Duration};

    use apalis::prelude::{WorkerBuilder, WorkerBuilderExt};
    use apalis_core::worker::ext::parallelize::ParallelizeExt;
    use serde_json::Value;

    use super::super::MAX_UNSETTLED;
    use crate::{
        auth,
        kinds::{JobKind, noop::Noop},
        queue::{JobError, NewJob, NoHook, NodeSettings, WorkerNode, enqueue, spawn_attempt},
    };

    async fn done(_: Noop) -> Result<Value, JobError> {
        Ok(serde_json::json!({}))
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn jobs_whose_stored_args_no_longer_parse_are_dead_and_free_their_slot(
        pool: sqlx::PgPool,
    ) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = auth::ensure_tenant(&mut conn, "t").await.unwrap();
        // More jobs with args an older version wrote than the kind may ever hold at once
        // (its concurrency plus the outcomes waiting to be written), queued before a good one.
        let bad = 1 + MAX_UNSETTLED + 40;
        sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, args, max_attempts, run_at)
             SELECT gen_random_uuid(), $1, $2, '{\"written_by\": \"v0\"}', 3, now() - interval '1 hour'
             FROM generate_series(1, $3)",
        )
        .bind(tenant)
        .bind(Noop::KIND)
        .bind(bad as i32)
        .execute(&pool)
        .await
        .unwrap();
        let good = enqueue(
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
            poll_interval: Duration::from_millis(50),
            ..Default::default()
        };
        let node = WorkerNode::start(pool.clone(), settings, &[Noop::KIND], Arc::new(NoHook))
            .await
            .unwrap();
        let worker = WorkerBuilder::new("noop")
            .backend(node.backend::<Noop>(1))
            .concurrency(1)
            .parallelize(spawn_attempt)
            .build(done);
        let running = tokio::spawn(worker.run());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let state: String = sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
                .bind(good.id)
                .fetch_one(&pool)
                .await
                .unwrap();
            if state == "succeeded" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the good job never ran (it is {state}): the bad ones kept the kind's slots"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (dead, said): (i64, Option<String>) = sqlx::query_as(
            "SELECT count(*), min(errors -> 0 ->> 'error') FROM jobs WHERE state = 'dead'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(dead, bad as i64, "every bad job is dead at once");
        let said = said.unwrap_or_default();
        assert!(
            said.contains("stored args do not fit kind noop"),
            "the error says why: {said}"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while node.inner().held(Noop::KIND) > 0 {
            assert!(std::time::Instant::now() < deadline, "a slot is still held");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        running.abort();
        node.shutdown().await.unwrap();
    }
}

/// A job leaving `running` wakes its kind's workers only when it frees a full slot: only then
/// can a job be waiting for it (a NOTIFY per job queued every completer's commit).
#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn freeing_a_full_slot_wakes_the_kind_and_freeing_a_roomy_one_does_not(pool: PgPool) {
    let t = tenant(&pool, "t").await;
    let key = |limit| {
        noop()
            .concurrency(Concurrency {
                key: "crm".into(),
                limit,
                on_limit: OverLimit::Queue,
            })
            .unwrap()
    };
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener.listen(crate::queue::JOBS_CHANNEL).await.unwrap();
    let woken = async |listener: &mut sqlx::postgres::PgListener| {
        let mut n = 0;
        while let Ok(Ok(_)) =
            tokio::time::timeout(std::time::Duration::from_millis(300), listener.recv()).await
        {
            n += 1;
        }
        n
    };
    // Enqueueing wakes nobody here (the api's notifier does that after its commit).
    put(&pool, t, vec![key(3), key(3)]).await;
    let claimed = claim(&pool, "noop", 10, "w0", LEASE).await.unwrap();
    assert_eq!(claimed.len(), 2);
    woken(&mut listener).await;
    // Two of three slots taken: finishing one frees a slot nobody waits for.
    finish(&pool, &[claimed[0].id]).await;
    assert_eq!(woken(&mut listener).await, 0, "a roomy slot wakes nobody");
    finish(&pool, &[claimed[1].id]).await;
    woken(&mut listener).await;
    // Full (limit 2, two running, one waiting): finishing one wakes the kind. (Jobs of one key
    // with different limits are judged by the leaving job's: at worst a wake-up is missed and
    // the waiting job starts at the workers' next poll.)
    put(&pool, t, vec![key(2), key(2), key(2)]).await;
    let full = claim(&pool, "noop", 10, "w0", LEASE).await.unwrap();
    assert_eq!(full.len(), 2, "the key's limit holds two");
    woken(&mut listener).await;
    finish(&pool, &[full[0].id]).await;
    assert_eq!(
        woken(&mut listener).await,
        1,
        "a full slot freed wakes the kind"
    );
    // The same for a tenant's cap.
    let u = tenant(&pool, "u").await;
    weight(
        &pool,
        "u",
        SharePatch {
            max_running: Some(Some(1)),
            ..Default::default()
        },
    )
    .await;
    let capped = many(&pool, u, 2).await;
    let ours: Vec<Uuid> = claim(&pool, "noop", 10, "w0", LEASE)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .filter(|id| capped.contains(id))
        .collect();
    assert_eq!(ours.len(), 1, "the cap holds one");
    woken(&mut listener).await;
    finish(&pool, &ours).await;
    assert_eq!(
        woken(&mut listener).await,
        1,
        "a full cap freed wakes the kind"
    );
}
