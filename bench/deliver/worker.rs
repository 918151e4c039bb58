//! The real `worker` processes the benchmark runs, and the knobs they read.

use super::*;

/// `$DEMANDFLOW_BIN_DIR/worker`, else the release `worker` beside this example's directory.
pub(crate) fn worker_bin() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("DEMANDFLOW_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("cannot locate the target directory")?
            .to_path_buf(),
    };
    let bin = dir.join("worker");
    if !bin.is_file() {
        bail!(
            "{} not found: build it (cargo build --release -p worker) or set DEMANDFLOW_BIN_DIR",
            bin.display()
        );
    }
    Ok(bin)
}

/// A worker process, its log and its metrics port.
pub(crate) struct Worker {
    pub(crate) child: Child,
    pub(crate) pid: u32,
    pub(crate) log: PathBuf,
    pub(crate) metrics_port: u16,
}

impl Worker {
    /// Starts a worker on `database_url` and returns once it logs that it is running.
    pub(crate) async fn start(
        bin: &Path,
        n: usize,
        database_url: &str,
        key: &SecretString,
    ) -> anyhow::Result<Self> {
        let log = std::env::temp_dir().join(format!(
            "deliver_bench-worker{n}-{}.log",
            std::process::id()
        ));
        let out = std::fs::File::create(&log)?;
        let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = tokio::process::Command::new(bin)
            .env("DATABASE_URL", database_url)
            .env("DEMANDFLOW_SECRET_KEY", key.expose_secret())
            .env("ALLOW_PRIVATE_NETWORKS", "true")
            .env("WORKER_METRICS_PORT", metrics_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .kill_on_drop(true)
            .spawn()
            .context("spawning worker")?;
        let pid = child.id().context("the worker has no pid")?;
        let mut worker = Self {
            child,
            pid,
            log,
            metrics_port,
        };
        let started = Instant::now();
        loop {
            if std::fs::read_to_string(&worker.log)?.contains("worker running") {
                return Ok(worker);
            }
            if let Some(status) = worker.child.try_wait()? {
                bail!("worker exited ({status}); see {}", worker.log.display());
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!(
                    "worker not running after 30 s; see {}",
                    worker.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Its Prometheus counters whose name starts with `prefix`, by labels.
    pub(crate) async fn counters(
        &self,
        http: &reqwest::Client,
        prefix: &str,
    ) -> BTreeMap<String, f64> {
        let url = format!("http://127.0.0.1:{}/metrics", self.metrics_port);
        let text = match http.get(url).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect()
    }

    /// SIGTERM, then up to 10 s to finish, then SIGKILL.
    pub(crate) async fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The value of a worker knob: the environment's (the workers inherit it), else the default.
pub(crate) fn knob(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
