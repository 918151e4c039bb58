//! The committed `Procfile`, run by a real Procfile runner as a PaaS runs it: honcho (from PyPI;
//! `scripts/test` installs it, or set `HONCHO`) starts the `release` phase, then `web` and
//! `worker=3` as one formation, and a fourth `worker` as a process of its own that is restarted
//! mid-drain (honcho, like foreman, stops a whole formation when one of its processes exits; a
//! platform restarts one dyno, so the restarted one runs under its own runner here). The
//! Procfile is used as committed: its `./target/release/…` paths point, in a scratch folder, at
//! the binaries under test.

use std::{net::TcpListener, path::PathBuf, time::Duration};

use e2e::{Proc, TEST_SECRET_KEY, TestDb, api_cli, bin, wait_until};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::process::Command;

const T: Duration = Duration::from_secs(60);
const JOBS: usize = 600;

/// The honcho executable: `HONCHO`, or the one `scripts/test` installs into `.data/venv`.
fn honcho() -> PathBuf {
    let path = std::env::var_os("HONCHO").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.data/venv/bin/honcho"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: scripts/test installs honcho from PyPI (or set HONCHO)",
        path.display()
    );
    path
}

/// A folder holding the committed Procfile and `target/release/{api,worker}` linked to the
/// binaries under test; removed when dropped.
struct AppRoot(PathBuf);

impl AppRoot {
    fn new() -> Self {
        let root = std::env::temp_dir().join(format!("procfile-{}", uuid::Uuid::new_v4()));
        let release = root.join("target/release");
        std::fs::create_dir_all(&release).unwrap();
        std::fs::copy(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Procfile"),
            root.join("Procfile"),
        )
        .unwrap();
        for name in ["api", "worker"] {
            std::os::unix::fs::symlink(bin(name), release.join(name)).unwrap();
        }
        Self(root)
    }
}

impl Drop for AppRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running honcho; on drop (a failed test) it is sent SIGTERM, which it passes on to its
/// processes, so no worker outlives the test.
struct Runner(Proc);

impl Runner {
    fn start(root: &AppRoot, db: &TestDb, args: &[&str]) -> Self {
        let mut cmd = Command::new(honcho());
        cmd.current_dir(&root.0)
            .arg("start")
            .args(["--no-colour", "-d"])
            .arg(&root.0)
            .arg("-f")
            .arg(root.0.join("Procfile"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("DEMANDFLOW_SECRET_KEY", TEST_SECRET_KEY)
            .env("LOG_FORMAT", "json")
            .env("POLL_INTERVAL_MS", "200")
            .env("LEASE_MS", "3000")
            .env("HEARTBEAT_MS", "500")
            // Under honcho's own 5 s wait before it kills.
            .env("SHUTDOWN_GRACE_MS", "3000");
        Self(Proc::spawn(cmd).expect("honcho starts"))
    }

    /// SIGTERM, as a platform stops a process. honcho passes it on, waits for its processes
    /// and exits 143 (terminated by SIGTERM) whatever they return; each of them must itself
    /// have exited 0 (its `stopped (rc=0)` line), i.e. shut down gracefully in time, not been
    /// killed after honcho's 5 s wait. Returns how many processes stopped.
    async fn stop(&mut self) -> usize {
        self.0.signal("TERM");
        let code = self.0.wait_exit(Duration::from_secs(20)).await.unwrap();
        let output = self.0.output();
        assert_eq!(code, Some(143), "{output:#?}");
        let stopped: Vec<_> = output
            .iter()
            .filter(|l| l.contains(" stopped (rc="))
            .collect();
        assert!(
            stopped.iter().all(|l| l.ends_with(" stopped (rc=0)")),
            "{stopped:#?}"
        );
        stopped.len()
    }

    /// Lines that one of the runner's processes printed (`worker.2 | …`), by process name.
    fn lines_of(&self, needle: &str) -> Vec<(String, String)> {
        self.0
            .output()
            .into_iter()
            .filter(|l| l.contains(needle))
            .filter_map(|l| {
                let (head, rest) = l.split_once(" | ")?;
                let name = head.split_whitespace().nth(1)?.to_owned();
                Some((name, rest.to_owned()))
            })
            .collect()
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(pid) = self.0.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            std::thread::sleep(Duration::from_secs(6));
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn live_workers(http: &reqwest::Client, base: &str, key: &str) -> Vec<Value> {
    let Ok(r) = http
        .get(format!("{base}/api/v1/workers"))
        .header("X-API-Key", key)
        .send()
        .await
    else {
        return Vec::new();
    };
    let body: Value = r.json().await.unwrap_or_default();
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn wait_for_workers(http: &reqwest::Client, base: &str, key: &str, n: usize) {
    wait_until(&format!("{n} live workers"), T, async || {
        let workers = live_workers(http, base, key).await;
        if workers.len() == n {
            Ok(())
        } else {
            Err(format!("{workers:?}"))
        }
    })
    .await;
}

async fn job_states(pool: &PgPool) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT state, count(*) FROM jobs GROUP BY state ORDER BY state")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_procfile_releases_scales_restarts_one_worker_and_stops_cleanly() {
    let db = TestDb::create().await.unwrap();
    let root = AppRoot::new();

    // The release phase: migrations and the re-seal, then it exits 0.
    let mut release = Runner::start(&root, &db, &["release"]);
    assert_eq!(
        release.0.wait_exit(T).await.unwrap(),
        Some(0),
        "{:#?}",
        release.0.output()
    );
    assert_eq!(release.lines_of("stopped (rc=0)").len(), 1);
    let key = api_cli(&db, &["create-key", "--tenant", "acme", "--role", "admin"])
        .await
        .expect("the release migrated the database")
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned();
    let pool = PgPool::connect(&db.url).await.unwrap();

    // The formation: web on the runner's port, three workers.
    let port = free_port();
    let mut formation = Runner::start(
        &root,
        &db,
        &["-p", &port.to_string(), "-c", "worker=3", "web", "worker"],
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_for_workers(&http, &base, &key, 3).await;
    let mut dyno = Runner::start(&root, &db, &["worker"]);
    wait_for_workers(&http, &base, &key, 4).await;

    let jobs: Vec<Value> = (0..JOBS)
        .map(|_| json!({"kind": "noop", "args": {"sleep_ms": 50}}))
        .collect();
    for chunk in jobs.chunks(200) {
        let r = http
            .post(format!("{base}/api/v1/jobs/batch"))
            .header("X-API-Key", &key)
            .json(&json!({ "jobs": chunk }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }

    // Restart the separate worker mid-drain: SIGTERM, it finishes what it runs and leaves.
    wait_until("the drain under way", T, async || {
        let states = job_states(&pool).await;
        match states.iter().find(|(s, _)| s == "succeeded") {
            Some((_, n)) if *n >= 50 && (*n as usize) < JOBS => Ok(()),
            _ => Err(format!("{states:?}")),
        }
    })
    .await;
    assert_eq!(dyno.stop().await, 1);
    assert_eq!(
        dyno.lines_of("worker stopped").len(),
        1,
        "{:#?}",
        dyno.0.output()
    );
    let mut dyno = Runner::start(&root, &db, &["worker"]);
    // Registered before anything else happens: a runner signalled while it is still starting
    // dies without passing the signal on.
    wait_for_workers(&http, &base, &key, 4).await;
    wait_until("every job succeeded", T, async || {
        let states = job_states(&pool).await;
        if states == [("succeeded".to_owned(), JOBS as i64)] {
            Ok(())
        } else {
            Err(format!("{states:?}"))
        }
    })
    .await;
    let (jobs_with_errors,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM jobs WHERE errors <> '[]'::jsonb")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(jobs_with_errors, 0, "a graceful restart fails no attempt");

    // The formation's three workers all took part.
    let mut ran: Vec<String> = formation
        .lines_of("job succeeded")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    ran.sort();
    ran.dedup();
    assert_eq!(ran, ["worker.1", "worker.2", "worker.3"]);

    // SIGTERM stops everything cleanly: every worker deregisters, nothing is left running.
    for runner in [&mut formation, &mut dyno] {
        runner.stop().await;
    }
    assert_eq!(formation.lines_of("worker stopped").len(), 3);
    assert_eq!(dyno.lines_of("worker stopped").len(), 1);
    let (registered,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM workers WHERE stopped_at IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(registered, 0, "every worker said it stopped");
    let (stopped,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM workers WHERE stopped_at IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        stopped, 5,
        "three in the formation, the restarted one twice"
    );
    assert_eq!(
        job_states(&pool).await,
        [("succeeded".to_owned(), JOBS as i64)]
    );
}
