//! The two ways of putting no-op jobs on demandflow's queue: over the real REST API (`rest`) or
//! through the `jobs` crate's Rust enqueue path (`lib`).

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use jobs::{
    auth,
    kinds::noop::Noop,
    queue::{NewJob, Notifier, enqueue},
};
use sqlx::{PgPool, postgres::PgPoolOptions};
use uuid::Uuid;

use crate::procs::{Proc, api_command};

/// Most jobs in one call (the api's `/jobs/batch` limit).
pub const MAX_BATCH: usize = 1000;

/// The tenant every benchmark job belongs to.
pub const TENANT: &str = "bench";

/// Which enqueue path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST /api/v1/jobs` and `/jobs/batch` on spawned `api serve` processes.
    Rest,
    /// `jobs::queue::enqueue` in a transaction per call, then `Notifier::wake`.
    Lib,
}

impl Kind {
    /// The name in the harness' table.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Rest => "demandflow",
            Kind::Lib => "demandflow-lib",
        }
    }
}

/// The database URL the harness gave us.
pub fn database_url() -> anyhow::Result<String> {
    std::env::var("DATABASE_URL").context("DATABASE_URL is not set")
}

/// A pool for the driver's own use (lib enqueue, counting).
pub async fn pool(size: u32) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&database_url()?)
        .await?)
}

/// Where `setup` leaves the API key for the timed phase: one file per database, in the working
/// directory (the harness' `$PEERBENCH_DIR`).
fn key_file() -> anyhow::Result<PathBuf> {
    let url = database_url()?;
    let db = url
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .unwrap_or("db")
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_");
    let dir = PathBuf::from("demandflow-keys");
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join(format!("{db}.key")))
}

/// Creates an admin key for the bench tenant with the real CLI; returns it.
async fn create_key() -> anyhow::Result<String> {
    let out = api_command(&[
        "create-key",
        "--tenant",
        TENANT,
        "--role",
        "admin",
        "--name",
        "bench",
    ])
    .await?;
    let key = out
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .context("create-key printed nothing")?;
    Ok(key.trim().to_owned())
}

/// Lifts the bench tenant's request rate limit (default 50 requests/s per api process) to the
/// api's maximum, through the api itself (`PATCH /api/v1/tenant`), as an operator would for a
/// bulk producer: the benchmark measures the queue, not the limiter.
async fn raise_rate_limit(key: &str) -> anyhow::Result<()> {
    let (api, url) = Proc::api(&[]).await?;
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()?
        .patch(format!("{url}/api/v1/tenant"))
        .header("X-API-Key", key)
        .json(&serde_json::json!({"rate_limit_per_second": 100_000, "rate_limit_burst": 100_000}))
        .send()
        .await?;
    let status = resp.status();
    let body = resp.text().await?;
    api.terminate(Duration::from_secs(10)).await?;
    if !status.is_success() {
        bail!("PATCH /api/v1/tenant answered {status}: {body}");
    }
    Ok(())
}

/// `setup`: the schema and the tenant (and, for `rest`, its key). Not timed.
pub async fn setup(kind: Kind) -> anyhow::Result<()> {
    match kind {
        Kind::Rest => {
            api_command(&["migrate"]).await?;
            let key = create_key().await?;
            raise_rate_limit(&key).await?;
            std::fs::write(key_file()?, key)?;
        }
        Kind::Lib => {
            let pool = pool(2).await?;
            jobs::db::migrate(&pool).await?;
            let mut conn = pool.acquire().await?;
            auth::ensure_tenant(&mut conn, TENANT).await?;
        }
    }
    Ok(())
}

/// One enqueue path, ready to use.
pub enum Enqueuer {
    /// Over HTTP.
    Rest(Rest),
    /// In process.
    Lib(Lib),
}

/// The REST path: a keep-alive client and one or more `api serve` processes.
pub struct Rest {
    client: reqwest::Client,
    urls: Vec<String>,
    key: String,
    /// The api processes (for their memory figures and to stop them).
    pub apis: Vec<Proc>,
    single_body: bytes::Bytes,
}

/// The library path.
pub struct Lib {
    noop: Noop,
    pool: PgPool,
    tenant: Uuid,
    notifier: Notifier,
}

impl Enqueuer {
    /// Starts the path: `apis` api processes for `rest`; a pool of `pool_size` for `lib`.
    pub async fn start(kind: Kind, apis: usize, pool_size: u32) -> anyhow::Result<Self> {
        Self::start_with(kind, apis, pool_size, Noop::default()).await
    }

    /// As [`Enqueuer::start`], with `noop` as the args of jobs enqueued one per call.
    pub async fn start_with(
        kind: Kind,
        apis: usize,
        pool_size: u32,
        noop: Noop,
    ) -> anyhow::Result<Self> {
        match kind {
            Kind::Rest => {
                let key = match std::fs::read_to_string(key_file()?) {
                    Ok(k) => k.trim().to_owned(),
                    Err(_) => create_key().await?,
                };
                let mut procs = Vec::new();
                let mut urls = Vec::new();
                for _ in 0..apis.max(1) {
                    let (p, url) = Proc::api(&[]).await?;
                    procs.push(p);
                    urls.push(url);
                }
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .tcp_nodelay(true)
                    .pool_max_idle_per_host(256)
                    .timeout(Duration::from_secs(60))
                    .build()?;
                Ok(Enqueuer::Rest(Rest {
                    client,
                    urls,
                    key,
                    apis: procs,
                    single_body: bytes::Bytes::from(serde_json::to_vec(
                        &serde_json::json!({"kind": "noop", "args": noop}),
                    )?),
                }))
            }
            Kind::Lib => {
                let pool = pool(pool_size).await?;
                let mut conn = pool.acquire().await?;
                let tenant = auth::ensure_tenant(&mut conn, TENANT).await?;
                drop(conn);
                let notifier = Notifier::spawn(pool.clone());
                Ok(Enqueuer::Lib(Lib {
                    noop,
                    pool,
                    tenant,
                    notifier,
                }))
            }
        }
    }

    /// Enqueues one no-op job in one call; `who` picks the api process (round robin).
    pub async fn one(&self, who: usize) -> anyhow::Result<Uuid> {
        match self {
            Enqueuer::Rest(r) => {
                let url = &r.urls[who % r.urls.len()];
                let resp = r
                    .client
                    .post(format!("{url}/api/v1/jobs"))
                    .header("X-API-Key", &r.key)
                    .header("content-type", "application/json")
                    .body(r.single_body.clone())
                    .send()
                    .await?;
                let status = resp.status();
                let body = resp.bytes().await?;
                if status.as_u16() != 201 {
                    bail!(
                        "POST /jobs answered {status}: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
                job_id(&serde_json::from_slice(&body)?)
            }
            Enqueuer::Lib(l) => {
                let job = NewJob::new(&l.noop)?;
                let mut tx = l.pool.begin().await?;
                let done = enqueue(&mut tx, l.tenant, None, std::slice::from_ref(&job)).await?;
                tx.commit().await?;
                l.notifier.wake(std::slice::from_ref(&job));
                Ok(done[0].job.id)
            }
        }
    }

    /// Enqueues `body`'s jobs (REST, prebuilt with [`batch_body`]) or `n` jobs (lib) in one call.
    pub async fn many(&self, who: usize, n: usize, body: &bytes::Bytes) -> anyhow::Result<usize> {
        match self {
            Enqueuer::Rest(r) => {
                let url = &r.urls[who % r.urls.len()];
                let resp = r
                    .client
                    .post(format!("{url}/api/v1/jobs/batch"))
                    .header("X-API-Key", &r.key)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                let status = resp.status();
                let body = resp.bytes().await?;
                if status.as_u16() != 201 {
                    bail!(
                        "POST /jobs/batch answered {status}: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
                Ok(n)
            }
            Enqueuer::Lib(l) => {
                let job = NewJob::new(&Noop::default())?;
                let jobs = vec![job; n];
                let mut tx = l.pool.begin().await?;
                let done = enqueue(&mut tx, l.tenant, None, &jobs).await?;
                tx.commit().await?;
                l.notifier.wake(&jobs[..1]);
                Ok(done.len())
            }
        }
    }

    /// Enqueues `n` jobs in calls of up to `batch`, one after another.
    pub async fn bulk(&self, n: usize, batch: usize) -> anyhow::Result<()> {
        let batch = batch.clamp(1, MAX_BATCH);
        let full = batch_body(batch);
        let mut left = n;
        while left > 0 {
            let k = left.min(batch);
            let body = if k == batch {
                full.clone()
            } else {
                batch_body(k)
            };
            self.many(0, k, &body).await?;
            left -= k;
        }
        Ok(())
    }

    /// The api processes (empty for lib).
    pub fn apis(&self) -> &[Proc] {
        match self {
            Enqueuer::Rest(r) => &r.apis,
            Enqueuer::Lib(_) => &[],
        }
    }

    /// Stops the api processes.
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Enqueuer::Rest(r) = self {
            for p in r.apis {
                p.terminate(Duration::from_secs(10)).await?;
            }
        }
        Ok(())
    }
}

/// A `/jobs/batch` body of `n` no-op jobs.
pub fn batch_body(n: usize) -> bytes::Bytes {
    let mut s = String::with_capacity(16 + n * 28);
    s.push_str(r#"{"jobs":["#);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(r#"{"kind":"noop","args":{}}"#);
    }
    s.push_str("]}");
    bytes::Bytes::from(s)
}

fn job_id(job: &serde_json::Value) -> anyhow::Result<Uuid> {
    job.get("id")
        .and_then(|v| v.as_str())
        .context("response has no id")?
        .parse()
        .context("response id is not a uuid")
}
