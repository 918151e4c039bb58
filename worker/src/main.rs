//! # worker — runs every job kind
//!
//! Wiring only: it reads its settings (and the operator key, `DEMANDFLOW_SECRET_KEY`, that opens
//! stored credentials), registers this process in the fleet
//! ([`jobs::queue::WorkerNode`]), gives each job kind its own apalis worker (concurrency, panic
//! catching, parallel execution) over demandflow's Postgres backend, and runs them in one apalis
//! `Monitor` until SIGTERM or ctrl-c. Then it stops fetching, lets in-flight jobs finish within
//! the grace period, returns the rest to the queue, and exits 0.
//!
//! Run as many as you like, on as many machines as you like, against one database. It owns no
//! domain logic (that is in `jobs`) and never serves the public API (that is `api`).

use std::{process::ExitCode, time::Duration};

use anyhow::Context;
use apalis::prelude::{Monitor, WorkerBuilder, WorkerBuilderExt};
use apalis_core::worker::ext::parallelize::ParallelizeExt;
use jobs::{
    config::{self, ConfigError, DatabaseSettings},
    db,
    kinds::{
        JobKind,
        classify_signal::{self, ClassifyContext, ClassifySignal},
        fetch_source::{self, FetchContext, FetchSource},
        http_request::{self, HttpContext, HttpRequest},
        noop::{self, Noop},
        score_lead::{self, ScoreContext, ScoreLead},
    },
    llm::{LlmClient, LlmSettings},
    queue::{NodeSettings, WorkerNode, spawn_attempt},
    sources::{
        hosts::HostPolicy,
        schedule::{self, ScheduleSettings},
    },
    telemetry,
};

/// Everything the worker reads from the environment.
#[derive(Debug)]
struct Settings {
    database: DatabaseSettings,
    node: NodeSettings,
    /// `WORKER_CONCURRENCY` (default 16), per kind `WORKER_CONCURRENCY_<KIND>`.
    concurrency: Vec<(&'static str, usize)>,
    /// `SHUTDOWN_GRACE_MS` (default 30 s): how long in-flight jobs may finish after SIGTERM.
    grace: Duration,
    /// `ALLOW_PRIVATE_NETWORKS` (default false): let outbound calls (tenants' jobs and the LLM)
    /// reach private addresses. `LLM_ALLOW_PRIVATE` (in `llm`) opens them to the LLM alone.
    allow_private_networks: bool,
    /// `WORKER_METRICS_PORT`: serve Prometheus metrics on this port when set.
    metrics_port: Option<u16>,
    /// `FETCH_TIMEOUT_MS` (default 30 s), `FETCH_MAX_BYTES` (default 10 MiB),
    /// `CIRCUIT_FAILURE_THRESHOLD` (default 5), `CIRCUIT_COOLDOWN_MS` (default 60 s).
    fetch: (Duration, usize, HostPolicy),
    /// `SCHEDULER_TICK_MS` (default 1 s): how often due sources are looked for;
    /// `SIGNAL_PURGE_INTERVAL_MS` (default 60 s): how often expired signals are purged.
    schedule: ScheduleSettings,
    /// `LLM_*`: the LLM classify_signal asks when keywords are undecided (none: keywords only).
    llm: LlmSettings,
}

const KINDS: &[&str] = &[
    Noop::KIND,
    HttpRequest::KIND,
    FetchSource::KIND,
    ScoreLead::KIND,
    ClassifySignal::KIND,
];

impl Settings {
    fn from_env() -> Result<Self, ConfigError> {
        let default = config::number("WORKER_CONCURRENCY", 16, 1..=1024)? as usize;
        let concurrency = KINDS
            .iter()
            .map(|kind| {
                let var = format!("WORKER_CONCURRENCY_{}", kind.to_ascii_uppercase());
                config::number(&var, default as u64, 1..=1024).map(|n| (*kind, n as usize))
            })
            .collect::<Result<_, _>>()?;
        let metrics_port = match config::number("WORKER_METRICS_PORT", 0, 0..=65535)? {
            0 => None,
            port => Some(port as u16),
        };
        Ok(Self {
            database: DatabaseSettings::from_env(8)?,
            node: NodeSettings::from_env()?,
            concurrency,
            grace: config::millis("SHUTDOWN_GRACE_MS", Duration::from_secs(30), 0..=3_600_000)?,
            allow_private_networks: config::flag("ALLOW_PRIVATE_NETWORKS", false)?,
            metrics_port,
            fetch: (
                config::millis("FETCH_TIMEOUT_MS", Duration::from_secs(30), 100..=300_000)?,
                config::number(
                    "FETCH_MAX_BYTES",
                    10 * 1024 * 1024,
                    1024..=1024 * 1024 * 1024,
                )? as usize,
                HostPolicy {
                    failure_threshold: config::number("CIRCUIT_FAILURE_THRESHOLD", 5, 1..=1000)?
                        as i32,
                    cooldown: config::millis(
                        "CIRCUIT_COOLDOWN_MS",
                        Duration::from_secs(60),
                        100..=86_400_000,
                    )?,
                    ..HostPolicy::default()
                },
            ),
            schedule: ScheduleSettings {
                tick: config::millis("SCHEDULER_TICK_MS", Duration::from_secs(1), 50..=3_600_000)?,
                purge_every: config::millis(
                    "SIGNAL_PURGE_INTERVAL_MS",
                    Duration::from_secs(60),
                    100..=86_400_000,
                )?,
                ..ScheduleSettings::default()
            },
            llm: LlmSettings::from_env()?,
        })
    }

    fn concurrency_of(&self, kind: &str) -> usize {
        self.concurrency
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(16, |(_, n)| *n)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match telemetry::init().and_then(|()| Settings::from_env()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Stored credentials (sealed webhook-style secrets, http_request headers) open with the
    // operator key: a worker without it could not run those jobs.
    if let Err(e) = jobs::secrets::install_from_env() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    match run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "worker failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    if let Some(port) = settings.metrics_port {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(([0, 0, 0, 0], port))
            // lead scores as a histogram (0 to 100), not a summary
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full("lead_score".into()),
                &[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0],
            )
            .context("Failed to set the lead_score buckets")?
            .install()
            .context("Failed to start the metrics listener")?;
    }
    let pool = db::pool(&settings.database);
    wait_for_schema(&pool).await?;
    let node = WorkerNode::start(pool.clone(), settings.node.clone(), KINDS)
        .await
        .context("Failed to register this worker")?;
    let http = HttpContext::new(settings.allow_private_networks);
    let (fetch_timeout, fetch_max_bytes, host_policy) = settings.fetch;
    let fetch = FetchContext {
        timeout: fetch_timeout,
        max_bytes: fetch_max_bytes,
        policy: host_policy,
        ..FetchContext::new(pool.clone(), settings.allow_private_networks)
    };
    let fetch_concurrency = settings.concurrency_of(FetchSource::KIND);
    let classify = ClassifyContext::new(
        pool.clone(),
        LlmClient::new(settings.llm.clone(), settings.allow_private_networks),
    );
    let classify_concurrency = settings.concurrency_of(ClassifySignal::KIND);
    // Every worker schedules: claiming a due source's row makes one of them win each slot.
    let scheduler = schedule::spawn(pool.clone(), settings.schedule);

    let score = ScoreContext { pool: pool.clone() };
    let score_concurrency = settings.concurrency_of(ScoreLead::KIND);
    let noop_concurrency = settings.concurrency_of(Noop::KIND);
    let http_concurrency = settings.concurrency_of(HttpRequest::KIND);
    let monitor = Monitor::new()
        .shutdown_timeout(settings.grace)
        .register({
            let node = node.clone();
            move |_restarts| {
                WorkerBuilder::new(format!("{}@{}", Noop::KIND, node.id()))
                    .backend(node.backend::<Noop>(noop_concurrency))
                    .catch_panic()
                    .concurrency(noop_concurrency)
                    .parallelize(spawn_attempt)
                    .build(noop::handle)
            }
        })
        .register({
            let node = node.clone();
            move |_restarts| {
                WorkerBuilder::new(format!("{}@{}", HttpRequest::KIND, node.id()))
                    .backend(node.backend::<HttpRequest>(http_concurrency))
                    .data(http.clone())
                    .catch_panic()
                    .concurrency(http_concurrency)
                    .parallelize(spawn_attempt)
                    .build(http_request::handle)
            }
        })
        .register({
            let node = node.clone();
            move |_restarts| {
                WorkerBuilder::new(format!("{}@{}", FetchSource::KIND, node.id()))
                    .backend(node.backend::<FetchSource>(fetch_concurrency))
                    .data(fetch.clone())
                    .catch_panic()
                    .concurrency(fetch_concurrency)
                    .parallelize(spawn_attempt)
                    .build(fetch_source::handle)
            }
        })
        .register({
            let node = node.clone();
            move |_restarts| {
                WorkerBuilder::new(format!("{}@{}", ScoreLead::KIND, node.id()))
                    .backend(node.backend::<ScoreLead>(score_concurrency))
                    .data(score.clone())
                    .catch_panic()
                    .concurrency(score_concurrency)
                    .parallelize(spawn_attempt)
                    .build(score_lead::handle)
            }
        })
        .register({
            let node = node.clone();
            move |_restarts| {
                WorkerBuilder::new(format!("{}@{}", ClassifySignal::KIND, node.id()))
                    .backend(node.backend::<ClassifySignal>(classify_concurrency))
                    .data(classify.clone())
                    .catch_panic()
                    .concurrency(classify_concurrency)
                    .parallelize(spawn_attempt)
                    .build(classify_signal::handle)
            }
        });
    tracing::info!(
        worker = node.id(),
        grace_ms = settings.grace.as_millis() as u64,
        "worker running"
    );
    let stopped = monitor.run_with_signal(shutdown_signal()).await;
    scheduler.stop().await;
    if let Err(e) = &stopped {
        tracing::error!(error = %e, "a worker stopped with an error");
    }
    let returned = node
        .shutdown()
        .await
        .context("Failed to return held jobs to the queue")?;
    tracing::info!(returned, "worker stopped");
    Ok(())
}

/// Waits (up to a minute) for the database to answer with every migration applied, so a worker
/// started before `api migrate` finishes does not fail on a missing table.
async fn wait_for_schema(pool: &db::Pool) -> anyhow::Result<()> {
    for attempt in 0..60 {
        if db::is_ready(pool).await {
            return Ok(());
        }
        if attempt == 0 {
            tracing::warn!(
                "database not reachable or not migrated yet (run `api migrate`); waiting"
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    anyhow::bail!("the database is not reachable or not migrated; run `api migrate` first")
}

/// Resolves on SIGTERM (how platforms stop a process) or ctrl-c.
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            r = tokio::signal::ctrl_c() => r?,
        }
        tracing::info!("shutdown requested: no new jobs; finishing the ones in flight");
        Ok(())
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}
