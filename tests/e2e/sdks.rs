//! The client SDKs against the real api and a worker. Each SDK's smoke test (TypeScript:
//! `sdks/typescript/src/smoke.ts`, built to `dist/smoke.js` by `scripts/sdks`; Python:
//! `sdks/python/smoke.py`, run by the interpreter `scripts/test` installs the SDK into)
//! enqueues and waits for a job, pages through jobs, follows a workflow run's events to its end
//! and reads a typed problem, printing one `ok <check>…` line per check.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use e2e::spawn_app;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `program script` against a fresh api and worker, with a key of a tenant of its own (so
/// the pages hold only the smoke test's jobs); asserts it succeeded and printed every check.
async fn smoke(program: &Path, script: &Path, checks: &[&str]) {
    let app = spawn_app().await;
    let _worker = app.spawn_worker(&[]);
    let key = app.create_key("sdk", "admin").await;
    let run = tokio::process::Command::new(program)
        .arg(script)
        .current_dir(root())
        .env("DF_BASE", &app.base)
        .env("DF_KEY", &key)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the smoke test finishes within 120 s")
        .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the smoke test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    for check in checks {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("ok {check}"))),
            "no `ok {check}` line in:\n{stdout}\n{stderr}"
        );
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

#[tokio::test]
async fn the_typescript_sdk_passes_its_smoke_test_against_a_live_api_and_worker() {
    let script = root().join("sdks/typescript/dist/smoke.js");
    assert!(
        script.exists(),
        "{} is missing: run scripts/sdks to build the TypeScript SDK (scripts/test does)",
        script.display()
    );
    smoke(
        Path::new("node"),
        &script,
        &["job: ", "pages: ", "run events: ", "problem: "],
    )
    .await;
}

#[tokio::test]
async fn the_python_sdk_enqueues_waits_pages_follows_a_run_and_types_problems() {
    let python = std::env::var_os("SDK_PYTHON")
        .map_or_else(|| root().join(".data/venv/bin/python"), PathBuf::from);
    assert!(
        python.exists(),
        "{} is missing: scripts/test installs the Python SDK (or set SDK_PYTHON)",
        python.display()
    );
    smoke(
        &python,
        &root().join("sdks/python/smoke.py"),
        &[
            "a job enqueued and waited for",
            "paged through jobs two at a time",
            "followed the run's events to the end",
            "the same events again, asynchronously",
            "a typed problem: 422",
        ],
    )
    .await;
}
