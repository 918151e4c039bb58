//! Deliveries benchmark: alerts per second through the whole path to a local receiver, and the
//! latency a signal's classification adds before its alert arrives. It is not a test: it
//! measures, checks that nothing was lost or sent twice, and prints.
//!
//! ```sh
//! cargo build --release -p worker
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo run --release -p bench --example deliver_bench -- [alerts] [workers] [steady_per_sec]
//! ```
//!
//! The path is the production one, end to end: signals pushed to a push source
//! (`sources::push::accept`, as `POST /sources/{id}/signals` does), one `classify_signal` job
//! each (a keyword ruleset that finds every one relevant), run by real `worker` processes
//! (`target/release/worker`, or `$DEMANDFLOW_BIN_DIR/worker`) that store each verdict with its
//! `signal.classified` event in one transaction, dispatch the event against an alert rule
//! (NOTIFY-woken), write the delivery and its `deliver` job, pace the destination
//! (`rate_limit_per_min` 6000, the highest allowed) and POST the signed Standard Webhooks
//! message to a receiver in this process (hyper on 127.0.0.1, answering 204 and noting each
//! request's arrival time and `webhook-id`; nothing is verified on the hot path, one sample
//! is verified afterwards).
//!
//! Phases, in one scratch database (created and dropped) with a generated operator key:
//! - `burst`: `alerts` classify jobs enqueued in one transaction. Throughput = alerts ÷ (last
//!   alert received − first verdict stored). The latency of each alert (arrival − its verdict's
//!   `created_at`) is mostly queueing here: verdicts are made faster than the pace lets alerts
//!   out.
//! - `steady`: 30 s of classify jobs enqueued one at a time at `steady_per_sec` (default 20, a
//!   fifth of the pace): the latency a classification adds when nothing queues.
//! - `floor`: the same receiver sent `alerts` signed POSTs (the body of a real alert, a fresh id
//!   and signature each) straight from this process through reqwest, as many at once as a
//!   worker runs deliveries (`WORKER_CONCURRENCY`, 16): what HTTP and signing alone allow here.
//!
//! Checks (exit non-zero when one fails): every delivery `sent`, the receiver saw each
//! `webhook-id` exactly once and as many as there were alerts, the sample's signature verifies.
//!
//! The workers inherit this process's environment, so a knob can be tried without editing
//! anything (`POLL_INTERVAL_MS=100 cargo run …`); the knobs in effect are printed.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    convert::Infallible,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, stream};
use http_body_util::{BodyExt, Empty};
use hyper::{HeaderMap, Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use jobs::{
    audit::Actor,
    auth,
    classify::{rules::Rules, rulesets},
    db,
    deliveries::{
        channels::standard_webhooks as sw,
        destinations::{self, NewDestination},
        rules::{self as alert_rules, RuleSpec},
    },
    kinds::classify_signal::ClassifySignal,
    queue::{self, NewJob, Notifier},
    secrets::{self, Keyring},
    sources::{self, NewSource, push},
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::{process::Child, sync::Mutex};
use uuid::Uuid;

mod receiver;
#[path = "../words.rs"]
mod words;
mod worker;
use receiver::{Hit, Shared, floor, receiver, verifies, wait_for};
use words::WORDS;
use worker::{Worker, knob, worker_bin};

/// How long the steady phase enqueues.
const STEADY_SECS: u64 = 30;

/// A deterministic pseudo-random stream (xorshift), so every run pushes the same texts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }

    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.next() % WORDS.len()])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn server_url() -> String {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    match url.rfind('/') {
        Some(i) if i > url.find("://").map_or(0, |j| j + 2) => url[..i].to_owned(),
        _ => url,
    }
}

/// The `q` quantile of sorted `v` (nearest rank).
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
}

/// Latencies in ms, sorted, of the alerts about `signals`: arrival − the verdict's `created_at`.
fn latencies(
    hits: &[Hit],
    verdicts: &HashMap<String, (Uuid, DateTime<Utc>)>,
    signals: &HashSet<Uuid>,
) -> Vec<f64> {
    let mut v: Vec<f64> = hits
        .iter()
        .filter_map(|h| {
            let (signal, made) = verdicts.get(&h.id)?;
            signals.contains(signal).then(|| ms(h.at - *made))
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

fn latency_row(name: &str, v: &[f64]) -> String {
    format!(
        "| {name} | {} | {:.0} | {:.0} | {:.0} | {:.0} |",
        v.len(),
        quantile(v, 0.5),
        quantile(v, 0.9),
        quantile(v, 0.99),
        quantile(v, 1.0)
    )
}

/// Pushes `n` relevant posts to `source` in batches, as the push endpoint does; their ids.
async fn push_signals(
    pool: &PgPool,
    tenant: Uuid,
    source: Uuid,
    rng: &mut Rng,
    from: usize,
    n: usize,
) -> anyhow::Result<Vec<Uuid>> {
    let mut ids = vec![];
    let mut i = from;
    while i < from + n {
        let batch = (from + n - i).min(push::MAX_ITEMS);
        let items: Vec<_> = (i..i + batch)
            .map(|k| {
                let len = 40 + rng.next() % 40;
                json!({
                    "external_id": format!("post-{k}"),
                    "title": format!("Need a plumber: {} #{k}", rng.words(5)),
                    "content": format!("{} - we need a plumber (post {k})", rng.words(len)),
                })
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "items": items }))?;
        let report = push::accept(pool, tenant, source, None, &body)
            .await
            .map_err(|e| anyhow::anyhow!("push refused: {e}"))?;
        if report.inserted != batch {
            bail!("{} of {batch} posts stored: {report:?}", report.inserted);
        }
        ids.extend(report.new_signal_ids);
        i += batch;
    }
    Ok(ids)
}

/// Enqueues a `classify_signal` job per signal in one transaction and wakes the workers.
async fn classify(
    pool: &PgPool,
    notifier: &Notifier,
    tenant: Uuid,
    ruleset: Uuid,
    signals: &[Uuid],
) -> anyhow::Result<()> {
    let jobs = signals
        .iter()
        .map(|&signal_id| {
            NewJob::new(&ClassifySignal {
                signal_id,
                ruleset_id: ruleset,
                version: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut tx = pool.begin().await?;
    queue::enqueue(&mut tx, tenant, None, &jobs).await?;
    tx.commit().await?;
    notifier.wake(&jobs);
    Ok(())
}

/// Deliveries by state, polled until none is pending or failed (at most 30 s).
async fn settled(pool: &PgPool) -> anyhow::Result<BTreeMap<String, i64>> {
    let started = Instant::now();
    loop {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, count(*) FROM deliveries GROUP BY state")
                .fetch_all(pool)
                .await?;
        let states: BTreeMap<String, i64> = rows.into_iter().collect();
        let open = states.keys().any(|s| s == "pending" || s == "failed");
        if !open || started.elapsed() > Duration::from_secs(30) {
            return Ok(states);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What one run does.
struct Plan {
    /// Alerts in the burst (and POSTs of the floor).
    n: usize,
    /// Worker processes.
    workers: usize,
    /// Classify jobs a second in the steady phase.
    steady_rate: u64,
    /// Alerts in the steady phase.
    steady_n: usize,
    /// The destination's pace, sends a minute.
    rate_per_min: i32,
    /// Deliveries a worker runs at once (and the floor's concurrency).
    concurrency: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let workers: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let steady_rate: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(20);
    let steady_n = (steady_rate * STEADY_SECS) as usize;
    let rate_per_min = 6000;
    let concurrency: usize = knob(
        "WORKER_CONCURRENCY_DELIVER",
        &knob("WORKER_CONCURRENCY", "16"),
    )
    .parse()
    .context("WORKER_CONCURRENCY")?;
    let plan = Plan {
        n,
        workers,
        steady_rate,
        steady_n,
        rate_per_min,
        concurrency,
    };
    let bin = worker_bin()?;
    println!(
        "{n} alerts, {workers} worker process(es), then {steady_n} at {steady_rate}/s; destination pace {rate_per_min}/min; \
         worker knobs: WORKER_CONCURRENCY={concurrency} DISPATCH_TICK_MS={} POLL_INTERVAL_MS={} DATABASE_POOL_SIZE={}",
        knob("DISPATCH_TICK_MS", "1000"),
        knob("POLL_INTERVAL_MS", "500"),
        knob("DATABASE_POOL_SIZE", "8"),
    );

    // The operator key: installed here (destinations are sealed with it) and given to workers.
    let key = Keyring::generate_spec("bench");
    secrets::install(Keyring::parse(&key)?)?;

    let name = format!("deliver_bench_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("{}/postgres", server_url())).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let database_url = format!("{}/{name}", server_url());
    let outcome = run(&database_url, &bin, &key, &plan).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    let failures = outcome?;
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("FAILED: {failure}");
        }
        std::process::exit(1);
    }
    Ok(())
}

/// Everything between creating the scratch database and dropping it; the failed checks.
async fn run(
    database_url: &str,
    bin: &Path,
    key: &SecretString,
    plan: &Plan,
) -> anyhow::Result<Vec<String>> {
    let &Plan {
        n,
        workers,
        steady_rate,
        steady_n,
        rate_per_min,
        concurrency,
    } = plan;
    let pool =
        PgPool::connect_with(database_url.parse::<sqlx::postgres::PgConnectOptions>()?).await?;
    db::MIGRATOR.run(&pool).await?;
    let notifier = Notifier::spawn(pool.clone());
    let state: Shared = Arc::default();
    let addr = receiver(state.clone()).await?;

    // A tenant, a push source, a ruleset that finds the posts relevant, a webhook destination
    // and an alert rule on `signal.classified`.
    let mut conn = pool.acquire().await?;
    let tenant = auth::ensure_tenant(&mut conn, "bench").await?;
    let actor = Actor::default();
    let source = sources::create(
        &mut conn,
        tenant,
        &actor,
        NewSource::try_from(json!({"kind": "push"}))?,
    )
    .await?;
    let rules = Rules::parse(&json!({
        "categories": ["plumbing"],
        "terms": [{"term": "need a plumber", "weight": 80, "category": "plumbing"}],
        "thresholds": {"relevant": 60, "irrelevant": 20},
    }))
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let ruleset = rulesets::create(&mut conn, tenant, &actor, "plumbing", &rules).await?;
    let destination = NewDestination::parse(
        json!({"name": "receiver", "kind": "webhook", "rate_limit_per_min": rate_per_min,
               "settings": {"url": format!("http://{addr}/hook")}}),
        true,
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let created = destinations::create(&mut conn, tenant, &actor, destination).await?;
    let secret = created
        .signing_secret
        .context("a webhook destination has a signing secret")?;
    let spec = RuleSpec::try_from(json!({
        "name": "relevant posts", "event": "signal.classified",
        "destination_ids": [created.id],
    }))
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    alert_rules::create(&mut conn, tenant, &actor, spec).await?;
    drop(conn);

    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let burst = push_signals(&pool, tenant, source.id, &mut rng, 0, n).await?;
    let steady = push_signals(&pool, tenant, source.id, &mut rng, n, steady_n).await?;

    let mut procs = vec![];
    for w in 0..workers {
        procs.push(Worker::start(bin, w, database_url, key).await?);
    }
    println!(
        "{} worker(s) running (logs: {})",
        procs.len(),
        procs
            .iter()
            .map(|w| w.log.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );

    // burst
    classify(&pool, &notifier, tenant, ruleset.id, &burst).await?;
    let limit = Duration::from_secs(60 + 3 * n as u64 * 60 / rate_per_min as u64);
    wait_for(&state, n, limit).await?;

    // steady: one job at a time, at `steady_rate` a second
    let started = tokio::time::Instant::now();
    for (i, &signal) in steady.iter().enumerate() {
        tokio::time::sleep_until(started + Duration::from_secs_f64(i as f64 / steady_rate as f64))
            .await;
        classify(&pool, &notifier, tenant, ruleset.id, &[signal]).await?;
    }
    wait_for(&state, n + steady_n, Duration::from_secs(120)).await?;

    let states = settled(&pool).await?;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let mut snoozes: BTreeMap<String, f64> = BTreeMap::new();
    for w in &procs {
        for (k, v) in w.counters(&http, "deliveries_snoozed_total").await {
            *snoozes.entry(k).or_default() += v;
        }
    }
    let logs: Vec<PathBuf> = procs.iter().map(|w| w.log.clone()).collect();
    for w in procs {
        w.stop().await;
    }

    let seen = std::mem::take(&mut *state.lock().await);
    let verdicts: HashMap<String, (Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT d.id, c.signal_id, c.created_at FROM deliveries d
         JOIN classifications c ON c.tenant_id = d.tenant_id
                               AND d.subject = 'signal:' || c.signal_id::text",
    )
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|(d, s, c): (Uuid, Uuid, DateTime<Utc>)| (d.to_string(), (s, c)))
    .collect();

    let mut failures = vec![];
    let total = n + steady_n;
    let sent = states.get("sent").copied().unwrap_or(0);
    if sent != total as i64 || states.len() != 1 {
        failures.push(format!("{total} deliveries should all be sent: {states:?}"));
    }
    let distinct: HashSet<&str> = seen.hits.iter().map(|h| h.id.as_str()).collect();
    if seen.hits.len() != total || distinct.len() != total {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for h in &seen.hits {
            *counts.entry(h.id.as_str()).or_default() += 1;
        }
        let twice: Vec<&str> = counts
            .iter()
            .filter(|(_, c)| **c > 1)
            .map(|(id, _)| *id)
            .take(5)
            .collect();
        failures.push(format!(
            "the receiver saw {} requests with {} distinct webhook-ids, expected {total} of each \
             (received more than once: {twice:?}; the workers' logs are kept)",
            seen.hits.len(),
            distinct.len()
        ));
    }
    if seen.hits.iter().any(|h| !verdicts.contains_key(&h.id)) {
        failures.push("a webhook-id names no delivery of a verdict".to_owned());
    }
    let Some((headers, body)) = seen.sample.clone() else {
        bail!("the receiver kept no sample");
    };
    let signed = verifies(&headers, &body, &secret);
    if !signed {
        failures.push("the sample's signature does not verify".to_owned());
    }

    let burst_set: HashSet<Uuid> = burst.iter().copied().collect();
    let steady_set: HashSet<Uuid> = steady.iter().copied().collect();
    let made: Vec<DateTime<Utc>> = verdicts
        .values()
        .filter(|(s, _)| burst_set.contains(s))
        .map(|(_, c)| *c)
        .collect();
    let first_verdict = made.iter().min().copied().context("no verdict")?;
    let last_verdict = made.iter().max().copied().context("no verdict")?;
    let last_alert = seen
        .hits
        .iter()
        .filter(|h| {
            verdicts
                .get(&h.id)
                .is_some_and(|(s, _)| burst_set.contains(s))
        })
        .map(|h| h.at)
        .max()
        .context("no alert")?;
    let through = (last_alert - first_verdict)
        .to_std()
        .unwrap_or(Duration::ZERO);
    let verdicts_took = (last_verdict - first_verdict)
        .to_std()
        .unwrap_or(Duration::ZERO);
    let demandflow = n as f64 / through.as_secs_f64();
    let burst_lat = latencies(&seen.hits, &verdicts, &burst_set);
    let steady_lat = latencies(&seen.hits, &verdicts, &steady_set);

    // floor: the same receiver, the same body, straight from here
    let floor_took = floor(
        &format!("http://{addr}/hook"),
        &secret,
        body,
        n,
        concurrency,
    )
    .await?;
    let floor_seen = std::mem::take(&mut *state.lock().await);
    let floor_ids: HashSet<&str> = floor_seen.hits.iter().map(|h| h.id.as_str()).collect();
    if floor_seen.hits.len() != n || floor_ids.len() != n {
        failures.push(format!(
            "the floor's receiver saw {} requests, {} distinct, of {n}",
            floor_seen.hits.len(),
            floor_ids.len()
        ));
    }
    let floor_rate = n as f64 / floor_took.as_secs_f64();
    pool.close().await;
    if failures.is_empty() {
        // Kept only when a check failed, to read what the workers did.
        for log in logs {
            let _ = std::fs::remove_file(log);
        }
    }

    println!();
    println!(
        "checks: deliveries by state {states:?}; receiver: {} requests, {} distinct webhook-ids; sample signature {}",
        seen.hits.len(),
        distinct.len(),
        if signed {
            "verifies"
        } else {
            "does NOT verify"
        }
    );
    println!(
        "pacing: {}",
        if snoozes.is_empty() {
            "no delivery snoozed".to_owned()
        } else {
            snoozes
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    println!();
    println!("| {n} alerts, {workers} worker(s) | seconds | alerts/s |");
    println!("|---|---:|---:|");
    println!(
        "| demandflow: first verdict stored → last alert received | {:.2} | **{demandflow:.0}** |",
        through.as_secs_f64()
    );
    println!(
        "| (the verdicts alone: first → last stored) | {:.2} | {:.0} |",
        verdicts_took.as_secs_f64(),
        n as f64 / verdicts_took.as_secs_f64()
    );
    println!(
        "| (the destination's pace: rate_limit_per_min {rate_per_min}) | | {:.0} |",
        f64::from(rate_per_min) / 60.0
    );
    println!(
        "| floor: signed POSTs from one process, {concurrency} at once | {:.2} | {floor_rate:.0} |",
        floor_took.as_secs_f64()
    );
    println!(
        "| ratio demandflow ÷ floor | | **{:.3}** |",
        demandflow / floor_rate
    );
    println!();
    println!(
        "| added latency: alert received − verdict stored, ms | alerts | p50 | p90 | p99 | max |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "{}",
        latency_row("burst (queued behind the pace)", &burst_lat)
    );
    println!(
        "{}",
        latency_row(&format!("steady, {steady_rate}/s"), &steady_lat)
    );
    Ok(failures)
}
