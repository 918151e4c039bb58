//! The real `api` and `worker` binaries as child processes: where they are, how they start and
//! stop, their peak memory and CPU time, and their log files.

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::{Context, bail};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, Command},
};

/// Where the `api` and `worker` binaries are: `$DEMANDFLOW_BIN_DIR`, else next to this
/// executable (`target/release/`).
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("DEMANDFLOW_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().context("cannot locate this executable")?;
    Ok(exe
        .parent()
        .context("executable has no directory")?
        .to_path_buf())
}

fn bin(name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir()?.join(name);
    if !path.is_file() {
        bail!(
            "{} not found; build it (cargo build --release -p api -p worker) or set DEMANDFLOW_BIN_DIR",
            path.display()
        );
    }
    Ok(path)
}

/// Where child logs go: `$PEERBENCH_LOGDIR/demandflow` when the harness sets it, else
/// `./demandflow-logs` (the harness runs us in `$PEERBENCH_DIR`).
pub fn log_dir() -> PathBuf {
    let dir = std::env::var_os("PEERBENCH_LOGDIR")
        .map(|d| PathBuf::from(d).join("demandflow"))
        .unwrap_or_else(|| PathBuf::from("demandflow-logs"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A unique log file name for one child (children started in the same millisecond get
/// different numbers: two processes writing one file would overwrite each other's lines).
pub fn log_path(what: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let stamp = chrono::Utc::now().format("%H%M%S%.3f");
    log_dir().join(format!("{what}-{stamp}-{}-{n}.log", std::process::id()))
}

/// Runs `api <args>` to completion and returns its stdout.
pub async fn api_command(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(bin("api")?)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running api")?;
    if !out.status.success() {
        bail!(
            "api {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A running child process.
pub struct Proc {
    /// `api` or `worker`.
    pub name: &'static str,
    child: Child,
    /// Its pid.
    pub pid: u32,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    /// For workers: the port of their Prometheus endpoint.
    pub metrics_port: Option<u16>,
}

/// Peak resident set (VmHWM) of a live process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds (user + system) a live process has used.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// Busy and total jiffies of the whole machine, from /proc/stat.
pub fn machine_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?;
    let v: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// A free TCP port on loopback (bound and released; good enough on a quiet machine).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Proc {
    /// Starts `api serve` on a free port; returns once it prints its address, with its base URL.
    pub async fn api(extra_env: &[(&str, String)]) -> anyhow::Result<(Self, String)> {
        let log = log_path("api");
        let mut file = tokio::fs::File::create(&log).await?;
        let mut child = Command::new(bin("api")?)
            .arg("serve")
            .env("PORT", "0")
            .envs(extra_env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(
                log.with_extension("err"),
            )?))
            .kill_on_drop(true)
            .spawn()
            .context("spawning api serve")?;
        let pid = child.id().context("api has no pid")?;
        let mut lines = BufReader::new(child.stdout.take().context("api stdout")?).lines();
        const READY: &str = "demandflow api listening on ";
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                file.write_all(line.as_bytes()).await?;
                file.write_all(b"\n").await?;
                if let Some(at) = line.find(READY) {
                    return Ok::<_, anyhow::Error>(line[at + READY.len()..].trim().to_owned());
                }
            }
            bail!("api exited before listening; see {}", log.display())
        })
        .await
        .context("api did not start listening within 30 s")??;
        // Keep draining its stdout (its log lines) so it never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = file.write_all(line.as_bytes()).await;
                let _ = file.write_all(b"\n").await;
            }
        });
        Ok((
            Self {
                name: "api",
                child,
                pid,
                log,
                metrics_port: None,
            },
            url,
        ))
    }

    /// Starts a `worker` with `WORKER_CONCURRENCY=concurrency` and its metrics endpoint on a free
    /// port, logging to its own file.
    pub fn worker(concurrency: usize, extra_env: &[(&str, String)]) -> anyhow::Result<Self> {
        let log = log_path("worker");
        let port = free_port()?;
        let out = std::fs::File::create(&log)?;
        let child = Command::new(bin("worker")?)
            .env("WORKER_CONCURRENCY", concurrency.to_string())
            .env("WORKER_METRICS_PORT", port.to_string())
            .envs(extra_env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .kill_on_drop(true)
            .spawn()
            .context("spawning worker")?;
        let pid = child.id().context("worker has no pid")?;
        Ok(Self {
            name: "worker",
            child,
            pid,
            log,
            metrics_port: Some(port),
        })
    }

    /// Its peak resident set so far, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.pid)
    }

    /// CPU seconds used so far.
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.pid)
    }

    /// Asks it to stop (SIGTERM) and waits up to `grace`, then kills it.
    pub async fn terminate(mut self, grace: Duration) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    eprintln!(
                        "{} {} exited with {status}; see {}",
                        self.name,
                        self.pid,
                        self.log.display()
                    );
                }
            }
            Err(_) => {
                eprintln!(
                    "{} {} did not stop within {grace:?}; killing it",
                    self.name, self.pid
                );
                self.child.kill().await?;
            }
        }
        Ok(())
    }

    /// Whether it has exited (and how).
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL, and reap it.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}
