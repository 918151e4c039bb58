//! The timed phases of the harness protocol (`insert-single`, `insert-bulk`, `drain`,
//! `latency`) and the extras (`soak`). Each returns the JSON object printed as the last line.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    Args,
    procs::{self, Proc},
    stats::{self, Execution, now_us},
    system::{self, Enqueuer, Kind, MAX_BATCH, batch_body},
};

type Obj = Map<String, Value>;

fn base(kind: Kind, phase: &str, jobs: usize, secs: f64) -> Obj {
    let mut o = Obj::new();
    o.insert("system".into(), kind.label().into());
    o.insert("phase".into(), phase.into());
    o.insert("jobs".into(), jobs.into());
    o.insert("seconds".into(), secs.into());
    o.insert("jobs_per_s".into(), (jobs as f64 / secs).into());
    o
}

/// Adds the api processes' peak RSS and CPU to `o`.
fn api_figures(o: &mut Obj, enq: &Enqueuer) {
    let apis = enq.apis();
    if apis.is_empty() {
        return;
    }
    o.insert("apis".into(), apis.len().into());
    let rss: Vec<u64> = apis.iter().filter_map(Proc::peak_rss_kib).collect();
    o.insert("api_peak_rss_kib".into(), rss.iter().max().copied().into());
    let cpu: f64 = apis.iter().filter_map(Proc::cpu_seconds).sum();
    o.insert("api_cpu_s".into(), cpu.into());
}

fn worker_figures(o: &mut Obj, workers: &[Proc]) {
    let rss: Vec<u64> = workers.iter().filter_map(Proc::peak_rss_kib).collect();
    o.insert(
        "worker_peak_rss_kib".into(),
        rss.iter().max().copied().into(),
    );
    let cpu: f64 = workers.iter().filter_map(Proc::cpu_seconds).sum();
    o.insert("worker_cpu_s".into(), cpu.into());
}

/// Machine-wide CPU use between two `/proc/stat` samples, as a share of every core (0..1).
struct CpuMeter(Option<(u64, u64)>);

impl CpuMeter {
    fn start() -> Self {
        Self(procs::machine_jiffies())
    }
    fn busy(&self) -> Option<f64> {
        let (b0, t0) = self.0?;
        let (b1, t1) = procs::machine_jiffies()?;
        (t1 > t0).then(|| (b1 - b0) as f64 / (t1 - t0) as f64)
    }
}

/// `insert-single n producers [apis]`: n jobs, one per call, `producers` concurrent callers
/// each awaiting its call before the next.
pub async fn insert_single(kind: Kind, a: &Args) -> anyhow::Result<Obj> {
    let n: usize = a.get("n", 20_000)?;
    let producers: usize = a.get("producers", 8)?;
    let apis: usize = a.get("apis", 1)?;
    let enq = Arc::new(Enqueuer::start(kind, apis, producers as u32 + 2).await?);
    let cpu = CpuMeter::start();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..producers {
        let enq = enq.clone();
        let k = n / producers + usize::from(p < n % producers);
        tasks.push(tokio::spawn(async move {
            for _ in 0..k {
                enq.one(p).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = t0.elapsed().as_secs_f64();
    let mut o = base(kind, "insert_single", n, secs);
    o.insert("producers".into(), producers.into());
    o.insert("machine_cpu_busy".into(), cpu.busy().into());
    api_figures(&mut o, &enq);
    Arc::into_inner(enq)
        .context("enqueuer still shared")?
        .stop()
        .await?;
    Ok(o)
}

/// `insert-bulk n batch [producers apis]`: n jobs in calls of `batch`.
pub async fn insert_bulk(kind: Kind, a: &Args) -> anyhow::Result<Obj> {
    let n: usize = a.get("n", 20_000)?;
    let batch: usize = a.get("batch", 1000)?;
    let producers: usize = a.get("producers", 1)?;
    let apis: usize = a.get("apis", 1)?;
    if batch == 0 || batch > MAX_BATCH {
        bail!("batch must be 1 to {}", MAX_BATCH);
    }
    let enq = Arc::new(Enqueuer::start(kind, apis, producers as u32 + 2).await?);
    let calls = n.div_ceil(batch);
    let body = batch_body(batch);
    let cpu = CpuMeter::start();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..producers {
        let enq = enq.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = p;
            while c < calls {
                let k = batch.min(n - c * batch);
                let body = if k == batch {
                    body.clone()
                } else {
                    batch_body(k)
                };
                enq.many(p, k, &body).await?;
                c += producers;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = t0.elapsed().as_secs_f64();
    let mut o = base(kind, "insert_bulk", n, secs);
    o.insert("batch".into(), batch.into());
    o.insert("producers".into(), producers.into());
    o.insert("machine_cpu_busy".into(), cpu.busy().into());
    api_figures(&mut o, &enq);
    Arc::into_inner(enq)
        .context("enqueuer still shared")?
        .stop()
        .await?;
    Ok(o)
}

async fn count_succeeded(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'")
            .fetch_one(pool)
            .await?,
    )
}

/// Fails when a worker has exited (e.g. it found the schema not migrated): no point waiting.
fn check_alive(workers: &mut [Proc]) -> anyhow::Result<()> {
    for w in workers {
        if let Some(status) = w.exit_status() {
            bail!(
                "worker {} exited early ({status}); see {}",
                w.pid,
                w.log.display()
            );
        }
    }
    Ok(())
}

/// Handlers the workers report done (their `jobs_succeeded_total`); 0 for one not up yet.
async fn metric_succeeded(client: &reqwest::Client, workers: &[Proc]) -> f64 {
    let mut sum = 0.0;
    for w in workers {
        let Some(port) = w.metrics_port else { continue };
        let Ok(resp) = client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
        else {
            continue;
        };
        let Ok(text) = resp.text().await else {
            continue;
        };
        sum += text
            .lines()
            .filter(|l| l.starts_with("jobs_succeeded_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    sum
}

fn worker_env(a: &Args) -> anyhow::Result<Vec<(&'static str, String)>> {
    let mut env = Vec::new();
    for (key, var) in [
        ("lease_ms", "LEASE_MS"),
        ("poll_ms", "POLL_INTERVAL_MS"),
        ("worker_pool", "DATABASE_POOL_SIZE"),
    ] {
        if let Some(v) = a.raw(key) {
            env.push((var, v.to_owned()));
        }
    }
    Ok(env)
}

/// `drain n concurrency [workers]`: n jobs enqueued in bulk through the system's path (not
/// timed); then the clock runs from starting `workers` worker processes until the database shows
/// all n succeeded. The workers' metrics are polled every 20 ms until their handlers have run n
/// times, then the database every 20 ms (as the peers' drivers do).
pub async fn drain(kind: Kind, a: &Args) -> anyhow::Result<Obj> {
    let n: usize = a.get("n", 20_000)?;
    let concurrency: usize = a.get("concurrency", 16)?;
    let workers_n: usize = a.get("workers", 1)?;
    let env = worker_env(a)?;
    let enq = Enqueuer::start(kind, 1, 4).await?;
    enq.bulk(n, 1000).await?;
    let pool = system::pool(2).await?;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'available'")
        .fetch_one(&pool)
        .await?;
    if queued != n as i64 {
        bail!("expected {n} queued jobs, found {queued}");
    }
    let client = reqwest::Client::builder().no_proxy().build()?;
    let cpu = CpuMeter::start();
    let t0 = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..workers_n.max(1) {
        workers.push(Proc::worker(concurrency, &env)?);
    }
    let deadline = t0 + Duration::from_secs(300);
    while metric_succeeded(&client, &workers).await < n as f64 {
        if Instant::now() > deadline {
            bail!("drain did not finish in 300 s");
        }
        check_alive(&mut workers)?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t_handlers = t0.elapsed().as_secs_f64();
    while count_succeeded(&pool).await? < n as i64 {
        if Instant::now() > deadline {
            bail!("drain did not finish in 300 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let mut o = base(kind, "drain", n, secs);
    o.insert("concurrency".into(), concurrency.into());
    o.insert("workers".into(), workers.len().into());
    o.insert("handlers_seconds".into(), t_handlers.into());
    o.insert("machine_cpu_busy".into(), cpu.busy().into());
    worker_figures(&mut o, &workers);
    api_figures(&mut o, &enq);
    for w in workers {
        w.terminate(Duration::from_secs(30)).await?;
    }
    enq.stop().await?;
    Ok(o)
}

/// `latency n rate concurrency [workers]`: the worker starts and idles 2 s; then one producer
/// enqueues n jobs, one per call, job i due at t0 + i/rate. Latency of a job = when its handler
/// started (from the worker's log: see [`stats::executions`]) − the wall clock just before its
/// enqueue call. Also reported: `claim_*` = the claim statement's `started_at` − that same
/// enqueue call time (no log involved), and the longest gap between consecutive handler starts.
pub async fn latency(kind: Kind, a: &Args) -> anyhow::Result<Obj> {
    let n: usize = a.get("n", 2000)?;
    let rate: f64 = a.get("rate", 200.0)?;
    let concurrency: usize = a.get("concurrency", 16)?;
    let workers_n: usize = a.get("workers", 1)?;
    let env = worker_env(a)?;
    let enq = Enqueuer::start(kind, 1, 3).await?;
    let pool = system::pool(2).await?;
    let mut workers = Vec::new();
    for _ in 0..workers_n.max(1) {
        workers.push(Proc::worker(concurrency, &env)?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    check_alive(&mut workers)?;
    let mut calls: Vec<(Uuid, i64)> = Vec::with_capacity(n);
    // How long each enqueue call took (a 2xx means committed, so this holds the commit's fsync):
    // a job is invisible to workers until its call returns, and the producer is sequential.
    let mut call_us: Vec<i64> = Vec::with_capacity(n);
    let t0 = Instant::now();
    for i in 0..n {
        tokio::time::sleep_until((t0 + Duration::from_secs_f64(i as f64 / rate)).into()).await;
        let at = now_us();
        calls.push((enq.one(0).await?, at));
        call_us.push(now_us() - at);
    }
    let produce_secs = t0.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut complete = true;
    while count_succeeded(&pool).await? < n as i64 {
        if Instant::now() > deadline {
            complete = false;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut o = base(kind, "latency", n, produce_secs);
    o.insert("rate".into(), rate.into());
    o.insert("concurrency".into(), concurrency.into());
    o.insert("workers".into(), workers.len().into());
    o.insert("complete".into(), complete.into());
    worker_figures(&mut o, &workers);
    api_figures(&mut o, &enq);
    let logs: Vec<_> = workers.iter().map(|w| w.log.clone()).collect();
    for w in workers {
        w.terminate(Duration::from_secs(30)).await?;
    }
    enq.stop().await?;

    let mut runs: HashMap<Uuid, Vec<Execution>> = HashMap::new();
    for log in &logs {
        stats::executions(log, &mut runs);
    }
    let mut lat = Vec::with_capacity(n);
    let mut starts = Vec::with_capacity(n);
    for (id, at) in &calls {
        if let Some(first) = runs
            .get(id)
            .and_then(|r| r.iter().map(|e| e.started_us).min())
        {
            lat.push(first - at);
            starts.push(first);
        }
    }
    o.insert("received".into(), lat.len().into());
    o.extend(stats::summary("", lat));
    let (gap, before) = stats::max_gap_ms(&starts);
    o.insert("max_handler_gap_ms".into(), gap.into());
    o.insert("jobs_before_max_gap".into(), before.into());

    // The same from the database alone: the claim's started_at (statement time) − call time.
    let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT id, (extract(epoch FROM started_at) * 1e6)::int8, (extract(epoch FROM created_at) * 1e6)::int8
         FROM jobs WHERE started_at IS NOT NULL",
    )
    .fetch_all(&pool)
    .await?;
    let started: HashMap<Uuid, (i64, i64)> =
        rows.into_iter().map(|(id, s, c)| (id, (s, c))).collect();
    let claim: Vec<i64> = calls
        .iter()
        .filter_map(|(id, at)| started.get(id).map(|(s, _)| s - at))
        .collect();
    let in_db: Vec<i64> = started.values().map(|(s, c)| s - c).collect();
    o.extend(stats::summary("enqueue_call", call_us));
    o.extend(stats::summary("claim", claim));
    o.extend(stats::summary("db_started_minus_created", in_db));
    Ok(o)
}

/// `soak rate seconds workers kill_every concurrency [sleep_ms]`: a fixed enqueue rate of noop
/// jobs that sleep `sleep_ms` (so a killed worker holds some) (each call in its
/// own task, so a slow call does not slow the rate; at most 256 in flight) for `seconds`, with
/// `workers` worker processes; every `kill_every` seconds one of them (in turn) is SIGKILLed and
/// a new one started at once. Then it waits for every job to finish (a killed worker's jobs
/// come back after their lease, `LEASE_MS`, default 30 s) and checks the books:
///
/// - `lost`: accepted jobs not succeeded (must be 0);
/// - `executions`: handler runs seen in the workers' logs; `extra_executions` = beyond one per
///   job; each must be a recorded attempt: `unrecorded_extra` counts jobs whose logged runs are
///   not all distinct attempts ≤ the row's `attempt`, or whose `errors` do not hold one entry per
///   earlier attempt (must be 0);
/// - pickup (first handler start − enqueue call) p50/p99/max and the longest gap between
///   consecutive handler starts.
pub async fn soak(kind: Kind, a: &Args) -> anyhow::Result<Obj> {
    let rate: f64 = a.get("rate", 500.0)?;
    let seconds: f64 = a.get("seconds", 600.0)?;
    let workers_n: usize = a.get("workers", 2)?;
    let kill_every: f64 = a.get("kill_every", 60.0)?;
    let concurrency: usize = a.get("concurrency", 16)?;
    let env = worker_env(a)?;
    let lease_ms: u64 = a.get("lease_ms", 30_000)?;
    let sleep_ms: u64 = a.get("sleep_ms", 0)?;
    let n = (rate * seconds).round() as usize;
    let noop = jobs::kinds::noop::Noop {
        sleep_ms: (sleep_ms > 0).then_some(sleep_ms),
        ..Default::default()
    };
    let enq = Arc::new(Enqueuer::start_with(kind, 1, 34, noop).await?);
    let pool = system::pool(2).await?;
    let mut workers: Vec<Proc> = (0..workers_n.max(1))
        .map(|_| Proc::worker(concurrency, &env))
        .collect::<Result<_, _>>()?;
    let mut logs: Vec<std::path::PathBuf> = workers.iter().map(|w| w.log.clone()).collect();
    let mut peak_rss: u64 = 0;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let calls: Arc<Mutex<Vec<(Uuid, i64)>>> = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let failed_calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t0 = Instant::now();
    let producer = {
        let enq = enq.clone();
        let calls = calls.clone();
        let failed_calls = failed_calls.clone();
        tokio::spawn(async move {
            let in_flight = Arc::new(tokio::sync::Semaphore::new(256));
            let mut lagging = 0usize;
            for i in 0..n {
                let due = t0 + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                if due.elapsed() > Duration::from_millis(100) {
                    lagging += 1;
                }
                let permit = in_flight.clone().acquire_owned().await.expect("semaphore");
                let (enq, calls, failed_calls) = (enq.clone(), calls.clone(), failed_calls.clone());
                tokio::spawn(async move {
                    let at = now_us();
                    match enq.one(i).await {
                        Ok(id) => calls.lock().expect("calls").push((id, at)),
                        Err(e) => {
                            failed_calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            eprintln!("enqueue failed: {e:#}");
                        }
                    }
                    drop(permit);
                });
            }
            let _ = in_flight.acquire_many(256).await;
            lagging
        })
    };
    let mut kills = 0usize;
    let mut next_kill = t0 + Duration::from_secs_f64(kill_every);
    while !producer.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if Instant::now() >= next_kill && kill_every > 0.0 {
            let victim = kills % workers.len();
            let old = std::mem::replace(&mut workers[victim], Proc::worker(concurrency, &env)?);
            peak_rss = peak_rss.max(old.peak_rss_kib().unwrap_or(0));
            eprintln!(
                "soak: t={:.0}s SIGKILL worker {} (pid {})",
                t0.elapsed().as_secs_f64(),
                victim,
                old.pid
            );
            old.kill().await?;
            logs.push(workers[victim].log.clone());
            kills += 1;
            next_kill += Duration::from_secs_f64(kill_every);
        }
    }
    let lagging = producer.await?;
    let produce_secs = t0.elapsed().as_secs_f64();
    let calls = std::mem::take(&mut *calls.lock().expect("calls"));
    let accepted = calls.len();

    // Wait for everything: a killed worker's jobs return once their lease expires.
    let deadline = Instant::now() + Duration::from_millis(lease_ms * 2) + Duration::from_secs(60);
    loop {
        let unfinished: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE state IN ('available', 'running', 'failed')",
        )
        .fetch_one(&pool)
        .await?;
        if unfinished == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wait_secs = t0.elapsed().as_secs_f64() - produce_secs;
    for w in &workers {
        peak_rss = peak_rss.max(w.peak_rss_kib().unwrap_or(0));
    }
    let mut o = base(kind, "soak", accepted, produce_secs);
    o.insert("rate".into(), rate.into());
    o.insert("target_jobs".into(), n.into());
    o.insert(
        "failed_calls".into(),
        failed_calls
            .load(std::sync::atomic::Ordering::Relaxed)
            .into(),
    );
    o.insert("calls_started_late_100ms".into(), lagging.into());
    o.insert("workers".into(), workers.len().into());
    o.insert("kills".into(), kills.into());
    o.insert("lease_ms".into(), lease_ms.into());
    o.insert("sleep_ms".into(), sleep_ms.into());
    o.insert("wait_after_produce_s".into(), wait_secs.into());
    o.insert("worker_peak_rss_kib".into(), peak_rss.into());
    api_figures(&mut o, &enq);
    for w in workers {
        w.terminate(Duration::from_secs(30)).await?;
    }
    Arc::into_inner(enq)
        .context("enqueuer still shared")?
        .stop()
        .await?;

    // The books.
    let ids: Vec<Uuid> = calls.iter().map(|(id, _)| *id).collect();
    let rows: Vec<(Uuid, String, i32, i64)> = sqlx::query_as(
        "SELECT id, state, attempt, jsonb_array_length(errors)::int8 FROM jobs WHERE id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&pool)
    .await?;
    let rows: HashMap<Uuid, (String, i32, i64)> = rows
        .into_iter()
        .map(|(id, s, a, e)| (id, (s, a, e)))
        .collect();
    let mut by_state: HashMap<String, usize> = HashMap::new();
    for (s, _, _) in rows.values() {
        *by_state.entry(s.clone()).or_default() += 1;
    }
    let lost = ids
        .iter()
        .filter(|id| rows.get(id).is_none_or(|(s, _, _)| s != "succeeded"))
        .count();
    let mut runs: HashMap<Uuid, Vec<Execution>> = HashMap::new();
    let executions: usize = logs.iter().map(|l| stats::executions(l, &mut runs)).sum();
    let mut unrecorded = 0usize;
    let mut retried = 0usize;
    let mut max_attempt = 0i32;
    for (id, (_, attempt, errors)) in &rows {
        max_attempt = max_attempt.max(*attempt);
        if *attempt > 1 {
            retried += 1;
        }
        let mut attempts: Vec<i64> = runs
            .get(id)
            .map(|r| r.iter().map(|e| e.attempt).collect())
            .unwrap_or_default();
        attempts.sort_unstable();
        let distinct = attempts.windows(2).all(|w| w[0] != w[1]);
        let within = attempts
            .iter()
            .all(|a| (1..=i64::from(*attempt)).contains(a));
        let recorded = *errors == i64::from(*attempt) - 1;
        if !(distinct && within && recorded) {
            unrecorded += 1;
        }
    }
    let run_jobs = ids.iter().filter(|id| runs.contains_key(id)).count();
    o.insert("lost".into(), lost.into());
    o.insert("states".into(), json!(by_state));
    o.insert("executions".into(), executions.into());
    o.insert("jobs_seen_in_logs".into(), run_jobs.into());
    o.insert(
        "extra_executions".into(),
        executions.saturating_sub(run_jobs).into(),
    );
    o.insert("jobs_with_more_than_one_attempt".into(), retried.into());
    o.insert("max_attempt".into(), max_attempt.into());
    o.insert("unrecorded_extra".into(), unrecorded.into());
    let mut pickup = Vec::with_capacity(calls.len());
    let mut starts = Vec::with_capacity(executions);
    for (id, at) in &calls {
        if let Some(r) = runs.get(id) {
            if let Some(first) = r.iter().map(|e| e.started_us).min() {
                pickup.push(first - at);
            }
            starts.extend(r.iter().map(|e| e.started_us));
        }
    }
    o.extend(stats::summary("pickup", pickup));
    // Gaps only while jobs kept arriving: after the last call, the tail (a killed worker's jobs
    // waiting for their lease) would read as a stall.
    let first = calls.iter().map(|(_, at)| *at).min().unwrap_or(0);
    let last = calls.iter().map(|(_, at)| *at).max().unwrap_or(0);
    starts.retain(|s| (first..=last).contains(s));
    let (gap, before) = stats::max_gap_ms(&starts);
    o.insert("max_handler_gap_ms".into(), gap.into());
    o.insert("starts_before_max_gap".into(), before.into());
    Ok(o)
}
