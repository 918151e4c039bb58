//! One worker process' presence in the fleet.
//!
//! A [`WorkerNode`] has an identity unique to this start of the process (host, pid and a random
//! suffix), so a restarted worker never mistakes its predecessor's jobs for its own. Its
//! background tasks:
//!
//! - the listener: LISTEN on the wake-up and cancel channels, reconnecting when the connection
//!   drops (every kind is then woken once, and the heartbeat runs at once, in case a wake-up or
//!   a cancel was missed). Its session also holds this process' liveness lock (see `liveness`):
//!   when it drops, the process fences itself at once (below), since other workers may now find
//!   it dead and rescue its jobs, and takes a new lock when it connects again;
//! - the dead-worker watch (see `liveness`): every `DEAD_WORKER_CHECK_MS`, rescues the jobs of
//!   workers whose session is gone, within a second or two of their death;
//! - the heartbeat (`heartbeat`): renews the leases of the jobs it holds, delivers cancels it missed, lets go
//!   of jobs it lost, rescues any node's expired leases, and now and then prunes finished jobs
//!   past their retention. When it cannot renew its leases for most of a lease (`fence_after`),
//!   the process fences itself: it stops every job it holds without recording anything (their
//!   leases, no longer renewed, expire and another worker rescues them) and claims nothing
//!   until the database answers again, so a job never runs on a worker cut off from Postgres
//!   while another runs it too;
//! - the completer: writes outcomes in batches (see `ack`), telling the completion hook about
//!   jobs of groups in the same transaction (see `group`).
//!
//! On shutdown it returns the jobs it still holds to the queue without spending their attempt.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::time::Instant;

use sqlx::{PgPool, postgres::PgListener};
use tokio::{
    sync::{Notify, mpsc},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{CANCEL_CHANNEL, CompletionHook, JOBS_CHANNEL, ack, backend::PgBackend, liveness};
use crate::{config, config::ConfigError, kinds::JobKind};

mod heartbeat;

use heartbeat::heartbeat;
pub(super) use heartbeat::{Rescued, finish_rescue};

/// How a worker process holds, renews and lets go of jobs.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// How long a claim holds without a heartbeat (`LEASE_MS`, default 30 s). A dead worker's
    /// jobs are rescued this long after its last heartbeat, unless the dead-worker watch saw its
    /// session end first.
    pub lease: Duration,
    /// How often leases are renewed and expired ones rescued (`HEARTBEAT_MS`, default lease / 3).
    pub heartbeat: Duration,
    /// How long this process goes on without renewing its leases before it stops its held jobs
    /// and its claims until the database answers again (`FENCE_AFTER_MS`, default 2/3 of the
    /// lease; between the heartbeat and the lease).
    pub fence_after: Duration,
    /// The safety-net poll when no wake-up arrives (`POLL_INTERVAL_MS`, default 500 ms); also
    /// bounds how late a scheduled job starts.
    pub poll_interval: Duration,
    /// How long succeeded and cancelled jobs are kept (`JOB_RETENTION_SECS`, default 7 days);
    /// a tenant's own `job_retention_secs` wins.
    pub retention: Duration,
    /// How long dead jobs are kept (`DEAD_JOB_RETENTION_SECS`, default 30 days).
    pub dead_retention: Duration,
    /// How long audit entries are kept (`AUDIT_RETENTION_SECS`, default 365 days).
    pub audit_retention: Duration,
    /// How often other workers' liveness locks are checked, to rescue the jobs of those whose
    /// session ended (`DEAD_WORKER_CHECK_MS`, default 500 ms; 0 turns it off: this process then
    /// takes no liveness lock, checks no one, and its jobs are rescued after their lease).
    pub dead_worker_check: Option<Duration>,
}

impl Default for NodeSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            fence_after: Duration::from_secs(20),
            poll_interval: Duration::from_millis(500),
            retention: Duration::from_secs(7 * 24 * 3600),
            dead_retention: Duration::from_secs(30 * 24 * 3600),
            audit_retention: Duration::from_secs(365 * 24 * 3600),
            dead_worker_check: Some(Duration::from_millis(500)),
        }
    }
}

impl NodeSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let lease = config::millis("LEASE_MS", d.lease, 1_000..=3_600_000)?;
        let heartbeat = config::millis("HEARTBEAT_MS", lease / 3, 100..=1_200_000)?;
        if heartbeat >= lease {
            return Err(ConfigError {
                var: "HEARTBEAT_MS".into(),
                expected: format!("less than LEASE_MS ({} ms)", lease.as_millis()),
            });
        }
        let fence_after = config::millis("FENCE_AFTER_MS", lease * 2 / 3, 100..=3_600_000)?;
        if fence_after <= heartbeat || fence_after >= lease {
            return Err(ConfigError {
                var: "FENCE_AFTER_MS".into(),
                expected: format!(
                    "more than HEARTBEAT_MS ({} ms) and less than LEASE_MS ({} ms)",
                    heartbeat.as_millis(),
                    lease.as_millis()
                ),
            });
        }
        Ok(Self {
            lease,
            heartbeat,
            fence_after,
            poll_interval: config::millis("POLL_INTERVAL_MS", d.poll_interval, 10..=3_600_000)?,
            retention: config::seconds("JOB_RETENTION_SECS", d.retention, 1..=365 * 24 * 3600)?,
            dead_retention: config::seconds(
                "DEAD_JOB_RETENTION_SECS",
                d.dead_retention,
                1..=365 * 24 * 3600,
            )?,
            audit_retention: config::seconds(
                "AUDIT_RETENTION_SECS",
                d.audit_retention,
                3600..=10 * 365 * 24 * 3600,
            )?,
            dead_worker_check: match config::number("DEAD_WORKER_CHECK_MS", 500, 0..=60_000)? {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            },
        })
    }
}

/// The jobs this process holds (claimed, until their outcome is committed), and how many per
/// kind: a backend stops claiming while its kind holds too many (see `PgBackend::claim_limit`).
#[derive(Default)]
struct Running {
    jobs: HashMap<Uuid, (&'static str, CancellationToken)>,
    held: HashMap<&'static str, usize>,
    /// Kinds whose backend is waiting for held jobs to settle before it claims again.
    capped: HashSet<&'static str>,
    /// Jobs let go of by fencing whose attempt has not ended yet: their end records nothing.
    abandoned: HashSet<Uuid>,
}

pub(crate) struct NodeInner {
    pub id: String,
    pub pool: PgPool,
    pub settings: NodeSettings,
    wakers: Mutex<HashMap<&'static str, Arc<Notify>>>,
    running: Mutex<Running>,
    pub completer: mpsc::Sender<ack::Completion>,
    /// Told when jobs of groups finish (see `group`).
    pub hook: Arc<dyn CompletionHook>,
    pub stop: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Set while this process cannot renew its leases, or has lost its liveness lock (see the
    /// module docs).
    fenced: AtomicBool,
    /// Set from the loss of the liveness lock's session until a new lock is held and recorded;
    /// the fence holds meanwhile. Fence changes happen under this lock.
    session_lost: Mutex<bool>,
    /// When the leases were last renewed.
    renewed_at: Mutex<Instant>,
    /// Asks the heartbeat to beat now (after the LISTEN connection was lost).
    beat_now: Notify,
}

impl NodeInner {
    pub fn waker(&self, kind: &'static str) -> Arc<Notify> {
        self.wakers
            .lock()
            .expect("wakers lock")
            .entry(kind)
            .or_default()
            .clone()
    }

    fn wake(&self, kind: &str) {
        if let Some(n) = self.wakers.lock().expect("wakers lock").get(kind) {
            n.notify_one();
        }
    }

    fn wake_all(&self) {
        for n in self.wakers.lock().expect("wakers lock").values() {
            n.notify_one();
        }
    }

    pub fn track(&self, kind: &'static str, id: Uuid) -> CancellationToken {
        let token = CancellationToken::new();
        let mut running = self.running.lock().expect("running lock");
        if running.jobs.insert(id, (kind, token.clone())).is_none() {
            *running.held.entry(kind).or_default() += 1;
        }
        token
    }

    pub fn untrack(&self, id: Uuid) {
        let mut running = self.running.lock().expect("running lock");
        running.abandoned.remove(&id);
        if let Some((kind, _)) = running.jobs.remove(&id) {
            if let Some(n) = running.held.get_mut(kind) {
                *n = n.saturating_sub(1);
            }
            if running.capped.remove(kind) {
                drop(running);
                self.wake(kind);
            }
        }
    }

    /// How many jobs of `kind` this process holds.
    pub fn held(&self, kind: &'static str) -> usize {
        self.running
            .lock()
            .expect("running lock")
            .held
            .get(kind)
            .copied()
            .unwrap_or(0)
    }

    /// Asks to be woken when a held job of `kind` settles. Returns how many it holds now (check
    /// again: one may have settled just before).
    pub fn wait_for_settle(&self, kind: &'static str) -> usize {
        let mut running = self.running.lock().expect("running lock");
        running.capped.insert(kind);
        running.held.get(kind).copied().unwrap_or(0)
    }

    /// Whether this process is fenced: it claims nothing until the database answers again.
    pub fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }

    /// Whether the attempt of `id` was let go of by fencing (its end records nothing); forgets
    /// it.
    pub fn take_abandoned(&self, id: Uuid) -> bool {
        self.running
            .lock()
            .expect("running lock")
            .abandoned
            .remove(&id)
    }

    /// Stops every held job and every claim: the leases could not be renewed for too long, so
    /// another worker may rescue the jobs any moment now.
    fn fence(&self) {
        let _lost = self.session_lost.lock().expect("session lock");
        if let Some(abandoned) = self.stop_held_jobs() {
            tracing::error!(
                abandoned,
                since_renewal_ms = self
                    .renewed_at
                    .lock()
                    .expect("renewed lock")
                    .elapsed()
                    .as_millis() as u64,
                "cannot renew leases: stopped every held job (they will be rescued) and claiming until the database answers again"
            );
        }
    }

    /// The session holding the liveness lock ended: other workers may find this one dead and
    /// rescue its jobs any moment now, so it stops them (and every claim) until it holds a new
    /// lock.
    fn lose_session(&self) {
        let mut lost = self.session_lost.lock().expect("session lock");
        *lost = true;
        if let Some(abandoned) = self.stop_held_jobs() {
            tracing::error!(
                abandoned,
                "lost the session holding this worker's liveness lock: stopped every held job (they will be rescued) and claiming until it holds a new one"
            );
        }
    }

    /// A new liveness lock is held and recorded: ends the fence, unless the leases cannot be
    /// renewed either.
    fn rejoined(&self) {
        let mut lost = self.session_lost.lock().expect("session lock");
        *lost = false;
        let fresh =
            self.renewed_at.lock().expect("renewed lock").elapsed() < self.settings.fence_after;
        if fresh {
            self.unfence();
        }
    }

    /// Fences this process: cancels every held job, recording nothing for them, and stops
    /// claiming. Returns how many jobs it let go of, unless it was fenced already. Called under
    /// `session_lost`.
    fn stop_held_jobs(&self) -> Option<usize> {
        if self.fenced.swap(true, Ordering::SeqCst) {
            return None;
        }
        let mut running = self.running.lock().expect("running lock");
        let jobs = std::mem::take(&mut running.jobs);
        running.held.clear();
        running.capped.clear();
        for (id, (_, token)) in &jobs {
            running.abandoned.insert(*id);
            token.cancel();
        }
        drop(running);
        metrics::counter!("worker_fenced_total").increment(1);
        Some(jobs.len())
    }

    /// Leases were renewed: ends a fence, unless the liveness lock is still lost.
    fn renewed(&self) {
        let lost = self.session_lost.lock().expect("session lock");
        *self.renewed_at.lock().expect("renewed lock") = Instant::now();
        if !*lost {
            self.unfence();
        }
    }

    /// Ends a fence, waking every kind to claim again. Called under `session_lost`.
    fn unfence(&self) {
        if self.fenced.swap(false, Ordering::SeqCst) {
            tracing::info!("the database answers again: claiming again");
            self.wake_all();
        }
    }

    fn cancel(&self, id: Uuid) -> bool {
        match self.running.lock().expect("running lock").jobs.get(&id) {
            Some((_, token)) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// The jobs this process tracks as running.
    pub(crate) fn in_flight(&self) -> Vec<Uuid> {
        self.running
            .lock()
            .expect("running lock")
            .jobs
            .keys()
            .copied()
            .collect()
    }
}

/// A worker process' handle on the queue. Cheap to clone.
#[derive(Clone)]
pub struct WorkerNode {
    inner: Arc<NodeInner>,
}

impl std::fmt::Debug for WorkerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerNode")
            .field("id", &self.inner.id)
            .finish()
    }
}

impl WorkerNode {
    /// Registers this process in `workers` and starts its listener, heartbeat and completer.
    /// `hook` is told, in the transaction that records it, whenever jobs of groups finish here
    /// (outcomes, lease rescues): the features built on the queue hand it in (the worker gives
    /// the workflow engine).
    pub async fn start(
        pool: PgPool,
        settings: NodeSettings,
        kinds: &[&'static str],
        hook: Arc<dyn CompletionHook>,
    ) -> Result<Self, sqlx::Error> {
        let host = hostname();
        let pid = std::process::id();
        let suffix = Uuid::new_v4().simple().to_string();
        let id = format!("{host}-{pid}-{}", &suffix[..8]);
        let kind_names: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        // The liveness lock is held before the row names it: no one can find this worker's key
        // free while it lives.
        let (listener, held) = liveness::connect(
            &pool,
            [JOBS_CHANNEL, CANCEL_CHANNEL],
            settings.dead_worker_check.is_some(),
        )
        .await?;
        sqlx::query!(
            "INSERT INTO workers (id, host, pid, kinds, lock_key, backend_pid)
             VALUES ($1, $2, $3, $4, $5, $6)",
            id,
            host,
            pid as i32,
            &kind_names,
            held.map(|h| h.key),
            held.map(|h| h.backend_pid)
        )
        .execute(&pool)
        .await?;

        let (completer, completions) = mpsc::channel(4096);
        let inner = Arc::new(NodeInner {
            id,
            pool,
            settings,
            wakers: Mutex::default(),
            running: Mutex::default(),
            completer,
            hook,
            stop: CancellationToken::new(),
            tasks: Mutex::default(),
            fenced: AtomicBool::new(false),
            session_lost: Mutex::new(false),
            renewed_at: Mutex::new(Instant::now()),
            beat_now: Notify::new(),
        });
        for kind in kinds {
            inner.waker(kind);
        }
        let mut tasks = vec![
            tokio::spawn(ack::run_completer(inner.clone(), completions)),
            tokio::spawn(listen(inner.clone(), listener)),
            tokio::spawn(heartbeat(inner.clone())),
        ];
        if let Some(every) = inner.settings.dead_worker_check {
            tasks.push(tokio::spawn(liveness::watch(inner.clone(), every)));
        }
        *inner.tasks.lock().expect("tasks lock") = tasks;
        tracing::info!(worker = %inner.id, ?kinds, "worker node started");
        Ok(Self { inner })
    }

    #[cfg(test)]
    pub(crate) fn inner(&self) -> &Arc<NodeInner> {
        &self.inner
    }

    /// This process' identity in the fleet.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// A backend for kind `K`, claiming at most `concurrency` jobs at a time.
    pub fn backend<K: JobKind>(&self, concurrency: usize) -> PgBackend<K> {
        PgBackend::new(self.inner.clone(), concurrency)
    }

    /// Stops the background tasks and returns every job this process still holds to the queue
    /// (its attempt not spent). Call it after the apalis monitor has returned. Returns how many
    /// jobs were returned.
    pub async fn shutdown(self) -> Result<u64, sqlx::Error> {
        let inner = self.inner;
        inner.stop.cancel();
        let tasks = std::mem::take(&mut *inner.tasks.lock().expect("tasks lock"));
        for task in tasks {
            let _ = task.await;
        }
        let released = sqlx::query_scalar!(
            r#"WITH released AS (
                   UPDATE jobs SET state = 'available', attempt = greatest(attempt - 1, 0),
                          locked_by = NULL, lease_expires_at = NULL, started_at = NULL
                   WHERE locked_by = $1 AND state = 'running'
                   RETURNING kind)
               SELECT kind AS "kind!" FROM released"#,
            inner.id
        )
        .fetch_all(&inner.pool)
        .await?;
        let kinds: HashSet<String> = released.iter().cloned().collect();
        notify_kinds(&inner.pool, kinds).await;
        sqlx::query!(
            "UPDATE workers SET stopped_at = now(), in_flight = 0 WHERE id = $1",
            inner.id
        )
        .execute(&inner.pool)
        .await?;
        tracing::info!(worker = %inner.id, returned = released.len(), "worker node stopped");
        Ok(released.len() as u64)
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

async fn notify_kinds(pool: &PgPool, kinds: HashSet<String>) {
    if kinds.is_empty() {
        return;
    }
    let kinds: Vec<String> = kinds.into_iter().collect();
    if let Err(e) = sqlx::query!(
        "SELECT pg_notify($1, k) FROM unnest($2::text[]) AS k",
        JOBS_CHANNEL,
        &kinds
    )
    .execute(pool)
    .await
    {
        tracing::warn!(error = %e, "could not wake workers");
    }
}

async fn listen(node: Arc<NodeInner>, first: PgListener) {
    let liveness = node.settings.dead_worker_check.is_some();
    let mut first = Some(first);
    let mut lost = false;
    loop {
        let mut listener = match first.take() {
            Some(l) => l,
            None => {
                let rejoined = async {
                    let (listener, held) =
                        liveness::connect(&node.pool, [JOBS_CHANNEL, CANCEL_CHANNEL], liveness)
                            .await?;
                    if let Some(held) = held {
                        liveness::rejoin(&node, held).await?;
                    }
                    Ok::<_, sqlx::Error>(listener)
                };
                tokio::select! {
                    _ = node.stop.cancelled() => return,
                    l = rejoined => match l {
                        Ok(l) => {
                            if liveness {
                                node.rejoined();
                            }
                            l
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "LISTEN failed; polling until it works again");
                            tokio::select! {
                                _ = node.stop.cancelled() => return,
                                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                            }
                        }
                    },
                }
            }
        };
        // Anything sent while we were not listening is lost: claim once, and look for cancels.
        node.wake_all();
        if std::mem::take(&mut lost) {
            node.beat_now.notify_one();
        }
        loop {
            // `try_recv`, not `recv`: `recv` reconnects by itself, and what was sent while it
            // did would go unnoticed until the next poll or heartbeat.
            let next = tokio::select! {
                // The session, and the liveness lock, stay with the connection (returned to the
                // pool) until the process ends: `shutdown` marks this worker stopped first.
                _ = node.stop.cancelled() => return,
                n = listener.try_recv() => n,
            };
            let error = match next {
                Ok(Some(n)) if n.channel() == JOBS_CHANNEL => {
                    node.wake(n.payload());
                    continue;
                }
                Ok(Some(n)) => {
                    if let Ok(id) = n.payload().parse::<Uuid>()
                        && node.cancel(id)
                    {
                        tracing::info!(job_id = %id, "cancel delivered");
                    }
                    continue;
                }
                Ok(None) => None,
                Err(e) => Some(e),
            };
            match error {
                Some(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; reconnecting and catching up")
                }
                None => tracing::warn!("LISTEN connection lost; reconnecting and catching up"),
            }
            metrics::counter!("listen_reconnects_total").increment(1);
            if liveness {
                node.lose_session();
            }
            lost = true;
            break;
        }
    }
}

impl NodeInner {
    pub(crate) fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }
}
