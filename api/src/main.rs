//! # api — demandflow's HTTP server and its command line
//!
//! Owns the HTTP contract (see the `api` library): it validates, authorises, writes and
//! enqueues. It never runs a job — the `worker` binary does — and never holds SQL of its own.
//!
//! ```text
//! api [serve]                      serve on 0.0.0.0:$PORT (default 8080; 0 picks a free port)
//! api migrate                      create the database if missing, apply migrations
//! api create-key --tenant NAME --role admin|operator|viewer [--name NAME]
//! api generate-secret-key [--id ID]  print a new operator key for DEMANDFLOW_SECRET_KEY
//! api reseal-secrets               re-seal stored secrets under the first (active) key
//! ```
//!
//! Settings come from the environment only (`PORT`, `DATABASE_URL`, `DATABASE_POOL_SIZE`,
//! `MAX_BODY_BYTES`, `LOG_FORMAT`, `RUST_LOG`, and `DEMANDFLOW_SECRET_KEY` for `serve` and
//! `reseal-secrets`) and are checked first: a bad value prints `error: invalid VAR: expected
//! ...` (or `error: DEMANDFLOW_SECRET_KEY: ...`) on stderr and exits with 2.
//!
//! Contracts other tooling parses:
//! - `serve` prints `demandflow api listening on http://127.0.0.1:<port>` on stdout once bound;
//! - `create-key` prints the key alone on the last line of stdout;
//! - `generate-secret-key` prints the key spec (`<id>:<base64 of 32 bytes>`) alone on stdout;
//! - `reseal-secrets` exits 1 when a stored secret does not open with any configured key.

use std::{io::Write, process::ExitCode, time::Duration};

use anyhow::Context;
use api::{
    app::{self, AppParts, AppState},
    metrics::Metrics,
    settings::Settings,
};
use clap::{Parser, Subcommand, ValueEnum};
use jobs::{
    auth::Role,
    queue::share::{self, SharePatch},
};
use metrics_exporter_prometheus::PrometheusBuilder;
use poem::{
    Server,
    listener::{Acceptor, Listener, TcpListener},
};
use secrecy::ExposeSecret;

/// How long in-flight requests may take to finish after SIGTERM or ctrl-c.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// demandflow's HTTP API.
#[derive(Debug, Parser)]
#[command(name = "api", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Create the database if it is missing and apply every pending migration.
    Migrate,
    /// Create an API key (and its tenant, when new); prints the key on the last line.
    CreateKey {
        /// The tenant's name; created when it does not exist.
        #[arg(long)]
        tenant: String,
        /// What the key may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A name for the key, to tell keys apart.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// Print a new random operator key (`<id>:<base64>`) for DEMANDFLOW_SECRET_KEY. Needs
    /// neither a database nor any setting.
    GenerateSecretKey {
        /// The key's id (1 to 32 letters, digits, `-` or `_`); default `k` and today's date.
        #[arg(long)]
        id: Option<String>,
    },
    /// Set a tenant's share of the workers: its weight in the fair claim, its cap on jobs
    /// running at once, and its caps per job kind. Prints the share before and after as JSON.
    /// Only the options given change.
    SetTenantQueue {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// Its weight, 1 to 1000 (default 1): 3 gets three times the claims of 1.
        #[arg(long)]
        weight: Option<i16>,
        /// Most of its jobs running at once, fleet-wide; 0 lifts the cap.
        #[arg(long)]
        max_running: Option<i32>,
        /// Caps per kind as `kind=n,kind=n` (replacing the old ones; "" clears them).
        #[arg(long)]
        kind_limits: Option<String>,
    },
    /// Re-seal every stored secret that is in clear or sealed with an older key, in batches.
    /// Idempotent: run it after each release and after putting a new key first.
    ResealSecrets {
        /// Rows read per batch.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Operator,
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Operator => Role::Operator,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::GenerateSecretKey { id }) = &cli.command {
        return generate_secret_key(id.as_deref());
    }
    if let Err(e) = jobs::telemetry::init() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // The commands that read or write stored secrets need the operator key; a missing or
    // malformed one is a configuration error like any other.
    if matches!(
        cli.command,
        None | Some(Command::Serve | Command::ResealSecrets { .. })
    ) && let Err(e) = jobs::secrets::install_from_env()
    {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            Command::Migrate => migrate(settings).await,
            Command::CreateKey { tenant, role, name } => {
                create_key(settings, &tenant, role.into(), &name).await
            }
            Command::ResealSecrets { batch } => reseal_secrets(settings, batch).await,
            Command::SetTenantQueue {
                tenant,
                weight,
                max_running,
                kind_limits,
            } => set_tenant_queue(settings, &tenant, weight, max_running, kind_limits).await,
            Command::GenerateSecretKey { .. } => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format_args!("{e:#}"), "api failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .context("Failed to install the metrics recorder")?;
    let pool = jobs::db::pool(&settings.database);
    let parts = AppParts {
        state: AppState::new(pool, &settings.access).with_llm(settings.llm.clone()),
        metrics: Metrics::new(handle),
        max_body_bytes: settings.max_body_bytes,
        cors_origins: settings.access.cors_origins.clone(),
    };
    let acceptor = TcpListener::bind(("0.0.0.0", settings.port))
        .into_acceptor()
        .await
        .with_context(|| format!("Failed to bind 0.0.0.0:{}", settings.port))?;
    let port = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr())
        .map(|a| a.port())
        .context("Failed to read the bound port")?;
    tracing::info!(port, "listening");
    println!("demandflow api listening on http://127.0.0.1:{port}");
    std::io::stdout()
        .flush()
        .context("Failed to write to stdout")?;
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app::build(parts), shutdown_signal(), Some(SHUTDOWN_GRACE))
        .await
        .context("Failed to serve")?;
    tracing::info!("stopped");
    Ok(())
}

async fn set_tenant_queue(
    settings: Settings,
    tenant: &str,
    weight: Option<i16>,
    max_running: Option<i32>,
    kind_limits: Option<String>,
) -> anyhow::Result<()> {
    let pool = jobs::db::pool(&settings.database);
    let kind_limits = kind_limits
        .map(|s| SharePatch::parse_kind_limits(&s))
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let patch = SharePatch {
        weight,
        max_running: max_running.map(|n| (n > 0).then_some(n)),
        kind_limits,
    };
    let (id, before, after) = share::set(&pool, tenant, &patch)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{}",
        serde_json::json!({ "tenant_id": id, "before": before, "after": after })
    );
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let created = jobs::db::ensure_database(&settings.database)
        .await
        .context("Failed to create the database")?;
    if created {
        tracing::info!("created the database");
    }
    let pool = jobs::db::pool(&settings.database);
    jobs::db::migrate(&pool)
        .await
        .context("Failed to apply the migrations")?;
    pool.close().await;
    tracing::info!("migrations applied");
    Ok(())
}

async fn create_key(
    settings: Settings,
    tenant: &str,
    role: Role,
    name: &str,
) -> anyhow::Result<()> {
    let pool = jobs::db::pool(&settings.database);
    let mut tx = pool
        .begin()
        .await
        .context("Failed to connect to the database")?;
    let tenant_id = jobs::auth::ensure_tenant(&mut tx, tenant)
        .await
        .context("Failed to create the tenant")?;
    let key = jobs::auth::create_key(&mut tx, tenant_id, name, role, None)
        .await
        .context("Failed to create the key")?;
    tx.commit().await.context("Failed to save the key")?;
    pool.close().await;
    tracing::info!(%tenant_id, key_id = %key.id, prefix = %key.prefix, %role, "created an API key");
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", key.secret.expose_secret()).context("Failed to print the key")?;
    out.flush().context("Failed to print the key")?;
    Ok(())
}

/// Prints a new operator key spec; exits 2 on a bad id.
fn generate_secret_key(id: Option<&str>) -> ExitCode {
    let id = id.map_or_else(
        || format!("k{}", chrono::Utc::now().format("%Y%m%d")),
        str::to_owned,
    );
    let spec = jobs::secrets::Keyring::generate_spec(&id);
    if let Err(e) = jobs::secrets::Keyring::parse(&spec) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{}", spec.expose_secret()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: could not print the key: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn reseal_secrets(settings: Settings, batch: i64) -> anyhow::Result<()> {
    let pool = jobs::db::pool(&settings.database);
    let done = jobs::reseal::reseal_all(&pool, batch)
        .await
        .context("Failed to re-seal the stored secrets")?;
    pool.close().await;
    let key_id = jobs::secrets::keyring()
        .map(|k| k.active_key_id().to_owned())
        .unwrap_or_default();
    tracing::info!(
        key_id,
        sources = done.sources,
        webhooks = done.webhooks,
        deliveries = done.deliveries,
        jobs = done.jobs,
        "re-sealed stored secrets"
    );
    println!(
        "re-sealed {} stored secrets under key {key_id:?} ({} sources, {} webhook secrets, {} destinations and subscriptions, {} jobs)",
        done.total(),
        done.sources,
        done.webhooks,
        done.deliveries,
        done.jobs
    );
    for (table, id, why) in &done.failed {
        tracing::error!(table, %id, error = %why, "a stored secret does not open");
    }
    if !done.failed.is_empty() {
        anyhow::bail!(
            "{} stored secrets do not open with any key in DEMANDFLOW_SECRET_KEY (see the log); \
             put their key back, then run this again",
            done.failed.len()
        );
    }
    Ok(())
}
