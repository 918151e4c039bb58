//! The end-to-end test harness: a fresh database per test, the real `api` and `worker`
//! binaries spawned against it, and request helpers.
//!
//! The binaries are looked up next to the test executable (`target/<profile>/`); build them
//! first (`cargo build --bins`, which `scripts/test` does). Outbound HTTP in tests goes to a
//! local wiremock server; nothing leaves the machine.

use std::{
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, bail};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use uuid::Uuid;

/// The operator key every spawned `api` and `worker` (and every `api` command) gets as
/// `DEMANDFLOW_SECRET_KEY`: the same key `jobs::secrets::install_for_tests` installs, so a test
/// can open what the binaries sealed.
pub const TEST_SECRET_KEY: &str = "test:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

/// Where the binaries under test are.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (cargo build --bins)",
        path.display()
    );
    path
}

/// The server every test database is created on: `DATABASE_URL` without its database.
fn server_url() -> String {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    match url.rfind('/') {
        Some(i) if url[..i].contains("://") && i > url.find("://").unwrap() + 2 => {
            url[..i].to_owned()
        }
        _ => url,
    }
}

/// A database made for one test and dropped after it.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// The server's URL, without a database.
    server: String,
}

impl TestDb {
    /// Creates an empty database.
    pub async fn create() -> anyhow::Result<Self> {
        Self::create_on(&server_url()).await
    }

    /// Creates an empty database on the server at `server` (a URL without a database).
    pub async fn create_on(server: &str) -> anyhow::Result<Self> {
        let name = format!("e2e_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&format!("{server}/postgres"))
            .await
            .context("Failed to reach PostgreSQL (set DATABASE_URL)")?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        Ok(Self {
            url: format!("{server}/{name}"),
            name,
            server: server.to_owned(),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = format!("{}/postgres", self.server);
        // Drop runs outside any runtime guarantee: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut c = PgConnection::connect(&admin).await.ok()?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut c)
                .await
                .ok()
            })
        })
        .join();
    }
}

/// A spawned binary whose output lines are kept for assertions.
pub struct Proc {
    /// The child process.
    pub child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// Spawns `cmd`, keeping its output lines; the process is killed when this is dropped.
    pub fn spawn(mut cmd: Command) -> anyhow::Result<Self> {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("Failed to spawn")?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    if std::env::var("E2E_ECHO").is_ok() {
                        eprintln!("{line}");
                    }
                    lines.lock().unwrap().push(line);
                }
            });
        }
        Ok(Self { child, lines })
    }

    /// Every line printed so far (stdout and stderr).
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a printed line contains `needle`; returns that line. Panics after `timeout`
    /// with the output so far.
    pub async fn wait_for_line(&self, needle: &str, timeout: Duration) -> String {
        wait_until(
            &format!("a line containing {needle:?}"),
            timeout,
            async || {
                let output = self.output();
                match output.iter().find(|l| l.contains(needle)) {
                    Some(line) => Ok(line.clone()),
                    None => Err(format!("the output:\n{}", output.join("\n"))),
                }
            },
        )
        .await
    }

    /// Sends a signal (`TERM`, `KILL`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the process is running");
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit code.
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<Option<i32>> {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .context("the process did not exit in time")??;
        Ok(status.code())
    }
}

/// A running demandflow: its database, api, workers and an admin key of tenant `acme`.
pub struct App {
    /// The test's database.
    pub db: TestDb,
    /// A pool on it, for assertions on the rows themselves.
    pub pool: PgPool,
    /// The api process.
    pub api: Proc,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// An admin key of tenant `acme`.
    pub key: String,
    /// A client.
    pub http: reqwest::Client,
}

/// Runs `api <args>` against `db` and returns its stdout.
pub async fn api_cli(db: &TestDb, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(bin("api"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("LOG_FORMAT", "json")
        .env("DEMANDFLOW_SECRET_KEY", TEST_SECRET_KEY)
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "api {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A fresh database, migrated, with the api serving on a free port and an admin key.
pub async fn spawn_app() -> App {
    spawn_app_with(&[]).await
}

/// [`spawn_app`] with extra environment for the api.
pub async fn spawn_app_with(env: &[(&str, &str)]) -> App {
    spawn_app_on(&server_url(), env).await
}

/// [`spawn_app_with`] on the server at `server` (a URL without a database), e.g. a
/// [`PrivateCluster`].
pub async fn spawn_app_on(server: &str, env: &[(&str, &str)]) -> App {
    let db = TestDb::create_on(server).await.expect("a test database");
    api_cli(&db, &["migrate"]).await.expect("api migrate");
    let mut cmd = Command::new(bin("api"));
    cmd.arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("DEMANDFLOW_SECRET_KEY", TEST_SECRET_KEY);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let api = Proc::spawn(cmd).expect("api starts");
    let line = api
        .wait_for_line("listening on http://", Duration::from_secs(30))
        .await;
    let base = line
        .split("listening on ")
        .nth(1)
        .expect("the line has the address")
        .trim()
        .to_owned();
    let pool = PgPool::connect(&db.url).await.expect("test pool");
    let mut app = App {
        db,
        pool,
        api,
        base,
        key: String::new(),
        http: reqwest::Client::new(),
    };
    app.key = app.create_key("acme", "admin").await;
    app
}

impl App {
    /// Starts another api process on the same database; returns it and its base URL.
    pub async fn spawn_another_api(&self, env: &[(&str, &str)]) -> (Proc, String) {
        let mut cmd = Command::new(bin("api"));
        cmd.arg("serve")
            .env("DATABASE_URL", &self.db.url)
            .env("PORT", "0")
            .env("LOG_FORMAT", "json")
            .env("DEMANDFLOW_SECRET_KEY", TEST_SECRET_KEY);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let api = Proc::spawn(cmd).expect("api starts");
        let line = api
            .wait_for_line("listening on http://", Duration::from_secs(30))
            .await;
        let base = line
            .split("listening on ")
            .nth(1)
            .unwrap()
            .trim()
            .to_owned();
        (api, base)
    }

    /// Creates a key with the CLI (the tenant is created when missing).
    pub async fn create_key(&self, tenant: &str, role: &str) -> String {
        let out = api_cli(
            &self.db,
            &["create-key", "--tenant", tenant, "--role", role],
        )
        .await
        .expect("api create-key");
        out.lines()
            .last()
            .expect("the key is the last line")
            .trim()
            .to_owned()
    }

    /// Starts a worker with test-friendly timings plus `env`.
    pub fn spawn_worker(&self, env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(bin("worker"));
        cmd.env("DATABASE_URL", &self.db.url)
            .env("LOG_FORMAT", "json")
            .env("DEMANDFLOW_SECRET_KEY", TEST_SECRET_KEY)
            .env("ALLOW_PRIVATE_NETWORKS", "true")
            .env("POLL_INTERVAL_MS", "200")
            .env("LEASE_MS", "3000")
            .env("HEARTBEAT_MS", "500")
            .env("SHUTDOWN_GRACE_MS", "5000");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Proc::spawn(cmd).expect("worker starts")
    }

    /// `METHOD /api/v1<path>` with the admin key.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/api/v1{path}", self.base))
            .header("X-API-Key", &self.key)
    }

    /// `METHOD /api/v1<path>` with the admin key and an optional JSON body: the status and the
    /// JSON answer (`null` when there is none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("the api answers");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// `GET /api/v1<path>` with the admin key: the answer's body as text (CSV, NDJSON).
    pub async fn text(&self, path: &str) -> String {
        let res = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("the api answers");
        res.text().await.expect("a text body")
    }

    /// `GET /metrics` (no key): the Prometheus text.
    pub async fn metrics(&self) -> String {
        let res = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("the api answers");
        res.text().await.expect("a text body")
    }

    /// Polls the workflow run `id` until its status is one of `statuses`, failing after 90 s.
    pub async fn wait_run(&self, id: &str, statuses: &[&str]) -> Value {
        wait_until(
            &format!("run {id} to reach {statuses:?}"),
            Duration::from_secs(90),
            async || {
                let (status, run) = self
                    .send(reqwest::Method::GET, &format!("/runs/{id}"), None)
                    .await;
                assert_eq!(status, 200, "GET /runs/{id}: {run}");
                if statuses.contains(&run["status"].as_str().unwrap_or_default()) {
                    Ok(run)
                } else {
                    Err(run)
                }
            },
        )
        .await
    }

    /// Enqueues a job and returns it, asserting 201.
    pub async fn enqueue(&self, body: Value) -> Value {
        let res = self
            .request(reqwest::Method::POST, "/jobs")
            .json(&body)
            .send()
            .await
            .expect("POST /jobs");
        let status = res.status();
        let body: Value = res.json().await.expect("a JSON body");
        assert_eq!(status, 201, "enqueue failed: {body}");
        body
    }

    /// The job `id`, as the api shows it.
    pub async fn job(&self, id: &str) -> Value {
        let res = self
            .request(reqwest::Method::GET, &format!("/jobs/{id}"))
            .send()
            .await
            .expect("GET /jobs/{id}");
        assert_eq!(res.status(), 200);
        res.json().await.expect("a JSON body")
    }

    /// Polls the job until its state is one of `states`, failing after `timeout`.
    pub async fn wait_for_state(&self, id: &str, states: &[&str], timeout: Duration) -> Value {
        wait_until(
            &format!("job {id} to reach {states:?}"),
            timeout,
            async || {
                let job = self.job(id).await;
                if states.contains(&job["state"].as_str().unwrap_or_default()) {
                    Ok(job)
                } else {
                    Err(job)
                }
            },
        )
        .await
    }
}

/// What one look of [`wait_until`] found: whether what is awaited holds yet.
///
/// A `bool` for a plain condition; an `Option<T>` to hand back what was awaited; a `Result<T, E>`
/// to also say what was seen instead (its text is in the failure message).
pub trait Check {
    /// What [`wait_until`] returns once it holds.
    type Done;
    /// What was awaited, or what was seen instead (when there is something worth showing).
    fn check(self) -> Result<Self::Done, Option<String>>;
}

impl Check for bool {
    type Done = ();
    fn check(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Check for Option<T> {
    type Done = T;
    fn check(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: std::fmt::Display> Check for Result<T, E> {
    type Done = T;
    fn check(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(seen.to_string()))
    }
}

/// Looks at `probe` until it holds and returns what it found: often at first (10 ms), then every
/// 100 ms at most. Panics after `timeout`, naming `what` was awaited and what the last look saw.
pub async fn wait_until<C: Check>(
    what: &str,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> C,
) -> C::Done {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(10);
    loop {
        let seen = match probe().await.check() {
            Ok(done) => return done,
            Err(seen) => seen,
        };
        if tokio::time::Instant::now() >= deadline {
            match seen {
                Some(seen) => {
                    panic!("timed out after {timeout:?} waiting for {what}; last seen: {seen}")
                }
                None => panic!("timed out after {timeout:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// A PostgreSQL cluster of one test's own, on a free port in a temporary directory: for tests
/// that restart or stop the database (never the shared server). Stopped and removed on drop.
pub struct PrivateCluster {
    dir: PathBuf,
    bin: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl PrivateCluster {
    /// Creates and starts a cluster (trust authentication, user `postgres`).
    pub async fn start() -> anyhow::Result<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .context("PostgreSQL's binaries are not in /usr/lib/postgresql")?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("pg_ctl").exists())
            .max()
            .context("no pg_ctl under /usr/lib/postgresql/*/bin")?;
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("e2e-pg-{}", Uuid::new_v4().simple()));
        let cluster = Self { dir, bin, port };
        cluster
            .pg(
                "initdb",
                &[
                    "-D",
                    &cluster.dir.to_string_lossy(),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
            )
            .await?;
        cluster.ctl(&["start"]).await?;
        Ok(cluster)
    }

    /// `postgres://postgres@127.0.0.1:<port>`, without a database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// `pg_ctl restart -m fast`: every connection is closed, and the server is back when this
    /// returns.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.ctl(&["restart", "-m", "fast"]).await
    }

    async fn ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let dir = self.dir.to_string_lossy().into_owned();
        let log = self.dir.join("log").to_string_lossy().into_owned();
        let mut all = vec!["-D", &dir, "-l", &log, "-w", "-o", &options];
        all.extend_from_slice(args);
        self.pg("pg_ctl", &all).await
    }

    /// Runs one of PostgreSQL's programs, as user postgres when this runs as root (the server
    /// refuses to run as root).
    async fn pg(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let path = self.bin.join(program);
        let mut cmd = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("Failed to run {program}"))?;
        if !out.status.success() {
            bail!(
                "{program} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let dir = self.dir.to_string_lossy().into_owned();
        let mut cmd = if running_as_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            std::process::Command::new(&pg_ctl)
        };
        let _ = cmd
            .args(["-D", &dir, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A TCP proxy in front of a server, whose connections a test can cut: a process pointed at it
/// loses the server (its connections reset, new ones refused at once) until it is restored.
pub struct CuttableProxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    open: Arc<std::sync::atomic::AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttableProxy {
    /// Starts a proxy to `127.0.0.1:<target>`.
    pub async fn start(target: u16) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let task = {
            let open = open.clone();
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !open.load(std::sync::atomic::Ordering::SeqCst) {
                        continue; // dropped: the client sees the connection closed at once
                    }
                    let mut cuts = cuts.clone();
                    cuts.mark_unchanged();
                    tokio::spawn(async move {
                        let Ok(mut outbound) =
                            tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                        else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cuts.changed() => {}
                        }
                    });
                }
            })
        };
        Ok(Self {
            port,
            open,
            cut,
            task,
        })
    }

    /// Closes every connection through the proxy and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// `url` (a database URL on 127.0.0.1) through this proxy.
    pub fn url(&self, url: &str) -> String {
        match url.find("127.0.0.1:") {
            Some(i) => {
                let rest = &url[i + "127.0.0.1:".len()..];
                let after_port = rest.find('/').map(|j| &rest[j..]).unwrap_or("");
                format!("{}127.0.0.1:{}{after_port}", &url[..i], self.port)
            }
            None => panic!("the proxy stands in front of 127.0.0.1 only: {url}"),
        }
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
