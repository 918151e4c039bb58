//! Fairness benchmark: what the fair claim, tenant weights, concurrency keys and debounce cost
//! and deliver under a flood, with real `worker` processes on one Postgres. It is not a test: it
//! measures, checks the targets, and prints.
//!
//! ```sh
//! cargo build --release -p worker
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p bench --example fairness_bench -- [flood] [workers]
//! ```
//!
//! Each phase runs in a scratch database of its own (created, migrated, dropped); jobs are
//! `noop`s enqueued through `queue::enqueue` in batches of 1,000, and `workers` worker processes
//! (default 2, `WORKER_CONCURRENCY` each) run them:
//! - `alone`: tenant A's `flood` jobs (default 100,000) drain: A's rate alone.
//! - `noisy`: the same flood, while tenant B enqueues one job every 100 ms: B's pickup (start −
//!   enqueue) p50/p99/max, and A's rate against `alone` (targets: p99 ≤ 50 ms, ≥ 0.9×).
//! - `weights`: two tenants of weights 3 and 1 flood `flood / 2` jobs each: their completions
//!   while both still have work (target: within 10 % of 3:1).
//! - `key`: 1,000 jobs on one concurrency key of limit 2 (5 ms each) beside `flood / 5` jobs
//!   without a key, on 4 workers; the key's running jobs sampled every 10 ms (target: never
//!   above 2) and the others' rate against the same jobs alone (`free`).
//! - `debounce`: 1,000 enqueues of one debounce key (window 1 s): runs and the args they ran
//!   with (target: exactly one run, with the last args).
//! - `all-on`: the flood split over four tenants of weights 1 to 4, one of them capped at
//!   1,000 running, a tenth of the jobs on 100 concurrency keys of limit 50: the drain rate
//!   against `alone` (target: ≥ 0.9×).
//!
//! Checks that fail exit non-zero; the knobs in effect are printed.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use jobs::{
    auth, db,
    queue::{
        self, Concurrency, Debounce, NewJob, OverLimit,
        share::{self, SharePatch},
    },
    secrets::{self, Keyring},
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::process::Child;
use uuid::Uuid;

/// The deliveries benchmark's worker processes (this one reads no metrics from them).
#[path = "../deliver/worker.rs"]
#[allow(dead_code)]
mod worker;

use worker::{Worker, knob, worker_bin};

fn server_url() -> String {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match url.rsplit_once('/') {
        Some((server, _)) => server.to_owned(),
        None => url,
    }
}

/// What each phase needs: a pool on its scratch database, the worker binary and the key.
struct Scratch {
    pool: PgPool,
    url: String,
    bin: PathBuf,
    key: SecretString,
}

impl Scratch {
    async fn tenant(&self, name: &str) -> anyhow::Result<Uuid> {
        let mut conn = self.pool.acquire().await?;
        Ok(auth::ensure_tenant(&mut conn, name).await?)
    }

    /// Enqueues `jobs` for `tenant` in batches of 1,000.
    async fn put(&self, tenant: Uuid, jobs: Vec<NewJob>) -> anyhow::Result<()> {
        for chunk in jobs.chunks(1000) {
            let mut tx = self.pool.begin().await?;
            queue::enqueue(&mut tx, tenant, None, chunk).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    async fn workers(&self, n: usize) -> anyhow::Result<Vec<Worker>> {
        let mut out = Vec::new();
        for i in 0..n {
            out.push(Worker::start(&self.bin, i, &self.url, &self.key).await?);
        }
        Ok(out)
    }

    async fn count(&self, sql: &'static str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(sql).fetch_one(&self.pool).await?)
    }

    /// Waits until no job is unfinished; the seconds from the first start to the last finish.
    async fn drained(&self) -> anyhow::Result<f64> {
        let deadline = Instant::now() + Duration::from_secs(900);
        while self
            .count("SELECT count(*) FROM jobs WHERE state IN ('available', 'running', 'failed')")
            .await?
            > 0
        {
            if Instant::now() > deadline {
                bail!("the queue did not drain in 15 minutes");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(sqlx::query_scalar(
            "SELECT extract(epoch FROM max(finished_at) - min(started_at))::float8 FROM jobs",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}

/// Whether `phase` runs: all of them unless `PHASES` lists some (`alone` always runs).
fn wants(phase: &str) -> bool {
    std::env::var("PHASES").map_or(true, |p| p.split(',').any(|x| x.trim() == phase))
}

/// Whether the all-on phase includes `part` (`cap`, `keys`): both unless `ALL_ON_PARTS` says.
fn all_on_has(part: &str) -> bool {
    std::env::var("ALL_ON_PARTS").map_or(true, |p| p.split(',').any(|x| x.trim() == part))
}

fn noops(n: usize, args: Value) -> Vec<NewJob> {
    (0..n)
        .map(|_| NewJob::parse(json!({"kind": "noop", "args": args.clone()})).expect("a noop"))
        .collect()
}

fn keyed(n: usize, key: &str, limit: i32, args: Value) -> Vec<NewJob> {
    noops(n, args)
        .into_iter()
        .map(|j| {
            j.concurrency(Concurrency {
                key: key.into(),
                limit,
                on_limit: OverLimit::Queue,
            })
            .expect("a valid key")
        })
        .collect()
}

async fn stop(workers: Vec<Worker>) {
    for w in workers {
        w.stop().await;
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs `phase` in a scratch database of its own.
async fn scratch<T>(
    bin: &Path,
    key: &SecretString,
    phase: impl AsyncFnOnce(&Scratch) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let name = format!("fairness_bench_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("{}/postgres", server_url())).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let url = format!("{}/{name}", server_url());
    let pool = PgPool::connect(&url).await?;
    db::MIGRATOR.run(&pool).await?;
    let s = Scratch {
        pool,
        url,
        bin: bin.to_path_buf(),
        key: key.clone(),
    };
    let out = phase(&s).await;
    s.pool.close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flood: usize = args.first().map_or(Ok(100_000), |s| s.parse())?;
    let workers: usize = args.get(1).map_or(Ok(2), |s| s.parse())?;
    let bin = worker_bin()?;
    let spec = Keyring::generate_spec("bench");
    secrets::install(Keyring::parse(&spec)?)?;
    let key = spec;
    println!(
        "flood {flood} noop jobs, {workers} worker process(es); worker knobs: WORKER_CONCURRENCY={} POLL_INTERVAL_MS={} DATABASE_POOL_SIZE={}",
        knob("WORKER_CONCURRENCY", "16"),
        knob("POLL_INTERVAL_MS", "500"),
        knob("DATABASE_POOL_SIZE", "8"),
    );
    let mut failures = Vec::new();
    let mut check = |ok: bool, what: String| {
        println!("  {} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures.push(what);
        }
    };

    // alone
    let alone = scratch(&bin, &key, async |s| {
        let a = s.tenant("a").await?;
        s.put(a, noops(flood, json!({}))).await?;
        let w = s.workers(workers).await?;
        let secs = s.drained().await?;
        stop(w).await;
        Ok(flood as f64 / secs)
    })
    .await?;
    println!("alone: A drains at {alone:.0} jobs/s");

    if wants("noisy") {
        // noisy
        let (noisy_rate, pickups) = scratch(&bin, &key, async |s| {
        let a = s.tenant("a").await?;
        let b = s.tenant("b").await?;
        s.put(a, noops(flood, json!({}))).await?;
        let w = s.workers(workers).await?;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        while s
            .count("SELECT count(*) FROM jobs WHERE state IN ('available', 'running') AND kind = 'noop' AND tenant_id = (SELECT id FROM tenants WHERE name = 'a')")
            .await?
            > 0
        {
            tick.tick().await;
            s.put(b, noops(1, json!({}))).await?;
        }
        let secs = s.drained().await?;
        let a_secs: f64 = sqlx::query_scalar(
            "SELECT extract(epoch FROM max(finished_at) - min(started_at))::float8 FROM jobs WHERE tenant_id = $1",
        )
        .bind(a)
        .fetch_one(&s.pool)
        .await?;
        let _ = secs;
        let mut pickups: Vec<f64> = sqlx::query_scalar(
            "SELECT extract(epoch FROM started_at - run_at)::float8 * 1000 FROM jobs WHERE tenant_id = $1",
        )
        .bind(b)
        .fetch_all(&s.pool)
        .await?;
        pickups.sort_by(f64::total_cmp);
        stop(w).await;
        Ok((flood as f64 / a_secs, pickups))
    })
    .await?;
        let p99 = pct(&pickups, 0.99);
        println!(
            "noisy: A drains at {noisy_rate:.0} jobs/s ({:.2}× alone); B's {} jobs picked up in p50 {:.1} ms, p99 {p99:.1} ms, max {:.1} ms",
            noisy_rate / alone,
            pickups.len(),
            pct(&pickups, 0.5),
            pickups.last().copied().unwrap_or(f64::NAN)
        );
        check(p99 <= 50.0, format!("B's pickup p99 {p99:.1} ms ≤ 50 ms"));
        check(
            noisy_rate >= 0.9 * alone,
            format!(
                "A's drain with B beside it {:.2}× alone ≥ 0.9×",
                noisy_rate / alone
            ),
        );
    }

    if wants("weights") {
        // weights
        let ratio = scratch(&bin, &key, async |s| {
            let a = s.tenant("heavy").await?;
            let b = s.tenant("light").await?;
            share::set(
                &s.pool,
                "heavy",
                &SharePatch {
                    weight: Some(3),
                    ..Default::default()
                },
            )
            .await?;
            s.put(a, noops(flood / 2, json!({}))).await?;
            s.put(b, noops(flood / 2, json!({}))).await?;
            let w = s.workers(workers).await?;
            s.drained().await?;
            stop(w).await;
            // Completions of each while both still had work: up to the moment the first ran out.
            let (heavy, light): (i64, i64) = sqlx::query_as(
                "WITH first_out AS (SELECT least(max(finished_at) FILTER (WHERE tenant_id = $1),
                                             max(finished_at) FILTER (WHERE tenant_id = $2)) AS t
                                FROM jobs)
             SELECT count(*) FILTER (WHERE tenant_id = $1), count(*) FILTER (WHERE tenant_id = $2)
             FROM jobs, first_out WHERE finished_at <= first_out.t",
            )
            .bind(a)
            .bind(b)
            .fetch_one(&s.pool)
            .await?;
            println!("weights: while both had work, heavy finished {heavy} and light {light}");
            Ok(heavy as f64 / light.max(1) as f64)
        })
        .await?;
        check(
            (ratio / 3.0 - 1.0).abs() <= 0.10,
            format!("weights 3:1 gave {ratio:.2}:1 (within 10 % of 3:1)"),
        );
    }

    if wants("key") {
        // key and free
        let others = flood / 5;
        let free = scratch(&bin, &key, async |s| {
            let t = s.tenant("t").await?;
            s.put(t, noops(others, json!({}))).await?;
            let w = s.workers(4).await?;
            let secs = s.drained().await?;
            stop(w).await;
            Ok(others as f64 / secs)
        })
        .await?;
        let (most, with_key) = scratch(&bin, &key, async |s| {
        let t = s.tenant("t").await?;
        s.put(t, keyed(1000, "customer-7", 2, json!({"sleep_ms": 5})))
            .await?;
        s.put(t, noops(others, json!({}))).await?;
        let w = s.workers(4).await?;
        let mut most = 0;
        while s
            .count("SELECT count(*) FROM jobs WHERE state IN ('available', 'running', 'failed')")
            .await?
            > 0
        {
            most = most.max(
                s.count("SELECT count(*) FROM jobs WHERE state = 'running' AND concurrency_key = 'customer-7'")
                    .await?,
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop(w).await;
        let secs: f64 = sqlx::query_scalar(
            "SELECT extract(epoch FROM max(finished_at) - min(started_at))::float8 FROM jobs WHERE concurrency_key IS NULL",
        )
        .fetch_one(&s.pool)
        .await?;
        Ok((most, others as f64 / secs))
    })
    .await?;
        println!(
            "key: at most {most} of the key running at once; the {others} others drained at {with_key:.0} jobs/s ({:.2}× the {free:.0} jobs/s without the key's backlog)",
            with_key / free
        );
        check(most <= 2, format!("the key of limit 2 ran at most {most}"));
        check(
            with_key >= 0.9 * free,
            format!(
                "the rest of the queue with a full key {:.2}× ≥ 0.9×",
                with_key / free
            ),
        );
    }

    if wants("debounce") {
        // debounce
        let runs = scratch(&bin, &key, async |s| {
            let t = s.tenant("t").await?;
            for n in 0..1000 {
                let job = NewJob::parse(json!({"kind": "noop", "args": {"output": n}}))?.debounce(
                    Debounce {
                        key: "digest".into(),
                        window_ms: 1000,
                    },
                )?;
                let mut conn = s.pool.acquire().await?;
                queue::enqueue(&mut conn, t, None, &[job]).await?;
            }
            let w = s.workers(1).await?;
            s.drained().await?;
            stop(w).await;
            Ok(sqlx::query_scalar::<_, Value>("SELECT result FROM jobs")
                .fetch_all(&s.pool)
                .await?)
        })
        .await?;
        check(
            runs == [json!(999)],
            format!(
                "1,000 debounced enqueues ran {} time(s), with {runs:?}",
                runs.len()
            ),
        );
    }

    if wants("all-on") {
        // all-on
        let all_on = scratch(&bin, &key, async |s| {
            let mut tenants = Vec::new();
            for (i, name) in ["w1", "w2", "w3", "w4"].iter().enumerate() {
                tenants.push(s.tenant(name).await?);
                share::set(
                    &s.pool,
                    name,
                    &SharePatch {
                        weight: Some(i as i16 + 1),
                        max_running: Some((i == 0 && all_on_has("cap")).then_some(1000)),
                        kind_limits: Some(BTreeMap::new()),
                    },
                )
                .await?;
            }
            let per = flood / 4;
            for (i, t) in tenants.iter().enumerate() {
                let keyed_n = if all_on_has("keys") { per / 10 } else { 0 };
                let mut jobs = noops(per - keyed_n, json!({}));
                for k in 0..25 {
                    jobs.extend(keyed(keyed_n / 25, &format!("key-{i}-{k}"), 50, json!({})));
                }
                s.put(*t, jobs).await?;
            }
            let total = s.count("SELECT count(*) FROM jobs").await?;
            let w = s.workers(workers).await?;
            let secs = s.drained().await?;
            stop(w).await;
            Ok(total as f64 / secs)
        })
        .await?;
        println!("all-on: {all_on:.0} jobs/s ({:.2}× alone)", all_on / alone);
        check(
            all_on >= 0.9 * alone,
            format!(
                "the drain with weights, a cap and keys {:.2}× alone ≥ 0.9×",
                all_on / alone
            ),
        );
    }

    if !failures.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
