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

use std::{collections::BTreeMap, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
use apalis::prelude::{Monitor, WorkerBuilder, WorkerBuilderExt};
use apalis_core::worker::ext::parallelize::ParallelizeExt;
use jobs::{
    config::{self, ConfigError, DatabaseSettings},
    db,
    deliveries::dispatch::{self, DispatchSettings},
    kinds::{
        self, EachKind, Handler, Resources, deliver::DeliverySettings, fetch_source::FetchSettings,
    },
    llm::LlmSettings,
    queue::{NodeSettings, WorkerNode, spawn_attempt},
    sources::schedule::{self, ScheduleSettings},
    telemetry, workflows,
};

/// Everything the worker reads from the environment.
#[derive(Debug)]
struct Settings {
    database: DatabaseSettings,
    node: NodeSettings,
    concurrency: Concurrency,
    /// `SHUTDOWN_GRACE_MS` (default 30 s): how long in-flight jobs may finish after SIGTERM.
    grace: Duration,
    /// `ALLOW_PRIVATE_NETWORKS` (default false): let outbound calls (tenants' jobs and the LLM)
    /// reach private addresses. `LLM_ALLOW_PRIVATE` (in `llm`) opens them to the LLM alone.
    allow_private_networks: bool,
    /// `WORKER_METRICS_PORT`: serve Prometheus metrics on this port when set.
    metrics_port: Option<u16>,
    /// `FETCH_TIMEOUT_MS` (default 30 s), `FETCH_MAX_BYTES` (default 10 MiB),
    /// `CIRCUIT_FAILURE_THRESHOLD` (default 5), `CIRCUIT_COOLDOWN_MS` (default 60 s).
    fetch: FetchSettings,
    /// `SCHEDULER_TICK_MS` (default 1 s): how often due sources are looked for;
    /// `SIGNAL_PURGE_INTERVAL_MS` (default 60 s): how often expired signals are purged.
    schedule: ScheduleSettings,
    /// `LLM_*`: the LLM classify_signal asks when keywords are undecided (none: keywords only).
    llm: LlmSettings,
    /// `DELIVERY_RETRY_SCHEDULE` (default `5s,5m,30m,2h,5h,10h,10h`): when `deliver` tries again.
    deliveries: DeliverySettings,
    /// `DISPATCH_TICK_MS` (default 1 s): how often the event outbox and digests are looked at
    /// when no new event wakes the dispatcher.
    dispatch: DispatchSettings,
}

/// How many attempts of each kind run at once in this process: `WORKER_CONCURRENCY` (default
/// 16), or per kind `WORKER_CONCURRENCY_<KIND>` (default: `WORKER_CONCURRENCY`).
#[derive(Debug)]
struct Concurrency {
    default: usize,
    per_kind: BTreeMap<&'static str, usize>,
}

impl Concurrency {
    fn from_env() -> Result<Self, ConfigError> {
        let default = config::number("WORKER_CONCURRENCY", 16, 1..=1024)? as usize;
        let per_kind = kinds::ALL
            .iter()
            .map(|kind| {
                let var = format!("WORKER_CONCURRENCY_{}", kind.name.to_ascii_uppercase());
                config::number(&var, default as u64, 1..=1024).map(|n| (kind.name, n as usize))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { default, per_kind })
    }

    fn of(&self, kind: &str) -> usize {
        self.per_kind.get(kind).copied().unwrap_or(self.default)
    }
}

impl Settings {
    fn from_env() -> Result<Self, ConfigError> {
        let metrics_port = match config::number("WORKER_METRICS_PORT", 0, 0..=65535)? {
            0 => None,
            port => Some(port as u16),
        };
        Ok(Self {
            database: DatabaseSettings::from_env(8)?,
            node: NodeSettings::from_env()?,
            concurrency: Concurrency::from_env()?,
            grace: config::millis("SHUTDOWN_GRACE_MS", Duration::from_secs(30), 0..=3_600_000)?,
            allow_private_networks: config::flag("ALLOW_PRIVATE_NETWORKS", false)?,
            metrics_port,
            fetch: FetchSettings::from_env()?,
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
            deliveries: DeliverySettings::from_env()?,
            dispatch: DispatchSettings {
                tick: config::millis("DISPATCH_TICK_MS", Duration::from_secs(1), 50..=3_600_000)?,
                ..DispatchSettings::default()
            },
        })
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
    let kind_names: Vec<&'static str> = kinds::ALL.iter().map(|k| k.name).collect();
    // Step jobs of workflow runs finish here: the engine advances their runs in the same
    // transaction.
    let node = WorkerNode::start(
        pool.clone(),
        settings.node.clone(),
        &kind_names,
        Arc::new(workflows::Engine),
    )
    .await
    .context("Failed to register this worker")?;
    // Every worker schedules: claiming a due source's row makes one of them win each slot.
    let scheduler = schedule::spawn(pool.clone(), settings.schedule);
    // Every worker dispatches events: claiming an event's row makes one of them write its
    // deliveries.
    let dispatcher = dispatch::spawn(pool.clone(), settings.dispatch);
    let mut registry = Registry {
        monitor: Monitor::new().shutdown_timeout(settings.grace),
        node: &node,
        concurrency: &settings.concurrency,
        resources: Resources {
            pool: pool.clone(),
            allow_private_networks: settings.allow_private_networks,
            fetch: settings.fetch,
            llm: settings.llm.clone(),
            deliveries: settings.deliveries.clone(),
        },
    };
    kinds::for_each(&mut registry);
    let monitor = registry.monitor;
    tracing::info!(
        worker = node.id(),
        grace_ms = settings.grace.as_millis() as u64,
        "worker running"
    );
    let stopped = monitor.run_with_signal(shutdown_signal()).await;
    scheduler.stop().await;
    dispatcher.stop().await;
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

/// Gives every kind its own apalis worker in the monitor, with its context built once.
struct Registry<'a> {
    monitor: Monitor,
    node: &'a WorkerNode,
    concurrency: &'a Concurrency,
    resources: Resources,
}

impl EachKind for Registry<'_> {
    fn kind<K: Handler>(&mut self) {
        let monitor = std::mem::take(&mut self.monitor);
        let concurrency = self.concurrency.of(K::KIND);
        self.monitor = register::<K>(monitor, self.node, concurrency, K::context(&self.resources));
    }
}

/// Registers kind `K`'s worker: `concurrency` attempts at once over this node's backend, each
/// on its own task (a panic fails the attempt, not the worker), all sharing `ctx`. On a restart
/// the monitor builds the worker again with the same context.
fn register<K: Handler>(
    monitor: Monitor,
    node: &WorkerNode,
    concurrency: usize,
    ctx: K::Context,
) -> Monitor {
    let node = node.clone();
    monitor.register(move |_restarts| {
        WorkerBuilder::new(format!("{}@{}", K::KIND, node.id()))
            .backend(node.backend::<K>(concurrency))
            .data(ctx.clone())
            .catch_panic()
            .concurrency(concurrency)
            .parallelize(spawn_attempt)
            .build(K::handle)
    })
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
