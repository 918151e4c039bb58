//! The TypeScript SDK (`sdks/typescript`) against the real api and a worker: its smoke test
//! (`src/smoke.ts`, built to `dist/smoke.js` by `scripts/sdks`, which `scripts/test` runs first)
//! enqueues and waits for a job, pages through jobs, follows a workflow run's events to its end
//! and reads a typed problem, each check printing one `ok <check>: …` line.

use std::{path::PathBuf, process::Stdio, time::Duration};

use e2e::spawn_app;
use tokio::process::Command;

/// Every check the smoke test makes, in the order it prints them.
const CHECKS: [&str; 4] = ["job", "pages", "run events", "problem"];

#[tokio::test]
async fn the_typescript_sdk_passes_its_smoke_test_against_a_live_api_and_worker() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let smoke = root.join("sdks/typescript/dist/smoke.js");
    assert!(
        smoke.exists(),
        "{} is missing: run scripts/sdks to build the TypeScript SDK (scripts/test does)",
        smoke.display()
    );

    let app = spawn_app().await;
    let _worker = app.spawn_worker(&[]);
    // A tenant of its own, so the pages hold only the smoke test's jobs.
    let key = app.create_key("sdk", "admin").await;

    let run = Command::new("node")
        .arg(&smoke)
        .current_dir(&root)
        .env("DF_BASE", &app.base)
        .env("DF_KEY", &key)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the smoke test finishes within 120 s")
        .expect("node runs (Node.js 20+ is needed)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the smoke test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    for check in CHECKS {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("ok {check}: "))),
            "no `ok {check}` line in:\n{stdout}\n{stderr}"
        );
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
}
