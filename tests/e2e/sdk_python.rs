//! The Python SDK (`sdks/python`: the generated `demandflow_client` and the `demandflow_sdk`
//! helpers) against the real api and worker: `sdks/python/smoke.py` enqueues and waits, pages,
//! follows a run's events (sync and async) and gets a typed problem. `scripts/test` installs the
//! package into `.data/venv` (or set `SDK_PYTHON` to an interpreter that has it).

use std::{path::PathBuf, time::Duration};

use e2e::spawn_app;

/// The interpreter with the SDK installed: `SDK_PYTHON`, or `scripts/test`'s venv.
fn python() -> PathBuf {
    let path = std::env::var_os("SDK_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.data/venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: scripts/test installs the Python SDK (or set SDK_PYTHON)",
        path.display()
    );
    path
}

#[tokio::test]
async fn the_python_sdk_enqueues_waits_pages_follows_a_run_and_types_problems() {
    let app = spawn_app().await;
    let _worker = app.spawn_worker(&[]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sdks/python/smoke.py");
    let run = tokio::process::Command::new(python())
        .arg(&script)
        .env("DF_BASE", &app.base)
        .env("DF_KEY", &app.key)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the smoke script finished in 2 minutes")
        .expect("the smoke script ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for check in [
        "ok a job enqueued and waited for",
        "ok paged through jobs two at a time",
        "ok followed the run's events to the end",
        "ok the same events again, asynchronously",
        "ok a typed problem: 422",
    ] {
        assert!(stdout.contains(check), "{check}: {stdout}\n{stderr}");
    }
}
