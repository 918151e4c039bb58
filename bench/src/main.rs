//! # demandflow-bench — plugs demandflow into the shared peer benchmark harness
//!
//! This crate owns the benchmark driver and nothing else: no domain logic, no queue code, no
//! HTTP contract. It measures the real binaries (`api`, `worker`, release builds found next to
//! this executable or in `$DEMANDFLOW_BIN_DIR`) and the `jobs` crate's enqueue path, exactly as
//! the harness' README describes (`../shared/bench/peers/README.md` in the development setup):
//!
//! ```text
//! demandflow-bench [--system rest|lib] <phase> [k=v ...]
//!   setup                                 schema (+ tenant `bench` and its admin key); not timed
//!   insert-single n=20000 producers=8     n jobs, one per call, `producers` concurrent callers
//!   insert-bulk   n=20000 batch=1000      n jobs in calls of `batch`
//!   drain         n=20000 concurrency=16  n jobs enqueued (not timed); time from starting the
//!                                         worker(s) until the database shows all n succeeded
//!   latency       n=2000 rate=200 concurrency=16
//!                                         idle worker, then n jobs at a steady rate; per job:
//!                                         handler start − enqueue call
//!   soak          rate=500 seconds=600 workers=2 kill_every=60 sleep_ms=0
//!                                         fixed rate with a worker SIGKILLed (and restarted)
//!                                         every `kill_every` s; checks that nothing is lost
//! extra keys: workers=N (drain, latency, soak), apis=N and producers=N (insert phases, rest),
//!             lease_ms, poll_ms, worker_pool (passed to the workers as LEASE_MS, ...)
//! ```
//!
//! - `--system rest` (table name `demandflow`, the default): jobs go through `POST /api/v1/jobs`
//!   and `/api/v1/jobs/batch` of spawned `api serve` processes (`PORT=0`), with an admin key made
//!   by `api create-key`, over keep-alive HTTP/1.1 on loopback.
//! - `--system lib` (`demandflow-lib`): `jobs::queue::enqueue` in one transaction per call, then
//!   `Notifier::wake`, as the api does.
//!
//! Both are run by the real `worker` binary (`WORKER_CONCURRENCY=<concurrency>`, metrics on), so
//! a no-op job passes every layer a real one does: auth, validation, tracing, metrics, the
//! lifecycle bookkeeping. `DATABASE_URL` is the fresh database the harness made; the working
//! directory is `$PEERBENCH_DIR`. The last line of stdout is one JSON object; diagnostics go to
//! stderr, child logs to `$PEERBENCH_LOGDIR/demandflow/` (or `./demandflow-logs/`).

mod phases;
mod procs;
mod stats;
mod system;

use std::{collections::HashMap, process::ExitCode, str::FromStr};

use anyhow::{Context, bail};

use crate::system::Kind;

/// The `k=v` arguments of a phase.
pub struct Args(HashMap<String, String>);

impl Args {
    fn parse(items: &[String]) -> anyhow::Result<Self> {
        let mut map = HashMap::new();
        for item in items {
            let (k, v) = item
                .split_once('=')
                .with_context(|| format!("expected key=value, got {item:?}"))?;
            map.insert(k.to_owned(), v.to_owned());
        }
        Ok(Self(map))
    }

    /// The value of `key` parsed, or `default` when absent.
    pub fn get<T: FromStr>(&self, key: &str, default: T) -> anyhow::Result<T> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| anyhow::anyhow!("bad value for {key}: {v:?}")),
        }
    }

    /// The value of `key` as given.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

const KNOWN: &[&str] = &[
    "n",
    "producers",
    "batch",
    "concurrency",
    "rate",
    "workers",
    "apis",
    "seconds",
    "kill_every",
    "lease_ms",
    "sleep_ms",
    "poll_ms",
    "worker_pool",
];

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match run(argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demandflow-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(mut argv: Vec<String>) -> anyhow::Result<()> {
    let mut kind = Kind::Rest;
    while argv.first().is_some_and(|a| a.starts_with("--")) {
        let flag = argv.remove(0);
        let value = match flag.split_once('=') {
            Some((_, v)) => v.to_owned(),
            None if flag == "--system" && !argv.is_empty() => argv.remove(0),
            None => bail!("unknown flag {flag} (expected --system rest|lib)"),
        };
        kind = match value.as_str() {
            "rest" | "demandflow" => Kind::Rest,
            "lib" | "demandflow-lib" => Kind::Lib,
            other => bail!("--system must be rest or lib, not {other:?}"),
        };
    }
    let Some(phase) = argv.first().cloned() else {
        bail!(
            "usage: demandflow-bench [--system rest|lib] <setup|insert-single|insert-bulk|drain|latency|soak> [k=v ...]"
        );
    };
    let args = Args::parse(&argv[1..])?;
    if let Some(unknown) = args.0.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        bail!("unknown argument {unknown:?}");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let out = match phase.as_str() {
            "setup" => {
                system::setup(kind).await?;
                return Ok(());
            }
            "insert-single" => phases::insert_single(kind, &args).await?,
            "insert-bulk" => phases::insert_bulk(kind, &args).await?,
            "drain" => phases::drain(kind, &args).await?,
            "latency" => phases::latency(kind, &args).await?,
            "soak" => phases::soak(kind, &args).await?,
            other => bail!("unknown phase {other:?}"),
        };
        println!("{}", serde_json::Value::Object(out));
        Ok(())
    })
}
