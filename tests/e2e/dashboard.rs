//! The dashboard, rendered by a real headless Chromium against the real api and worker, and the
//! event stream it listens to.

use std::time::Duration;

use e2e::{spawn_app, wait_until};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

const T: Duration = Duration::from_secs(30);

fn chromium() -> String {
    if let Ok(path) = std::env::var("CHROMIUM") {
        return path;
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if found {
            return name.to_owned();
        }
    }
    panic!("no Chromium found: install it (apt-get install chromium) or set CHROMIUM");
}

/// Runs headless Chromium on `url` with `extra` arguments after its scripts ran (a throwaway
/// profile, five seconds of virtual time); its standard output.
async fn chromium_on(url: &str, extra: &[&str]) -> Vec<u8> {
    let profile = tempdir();
    let user_data = format!("--user-data-dir={profile}");
    let mut args = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        &user_data,
        "--virtual-time-budget=5000",
    ];
    args.extend_from_slice(extra);
    args.push(url);
    let out = tokio::process::Command::new(chromium())
        .args(&args)
        .output();
    let out = tokio::time::timeout(T, out)
        .await
        .expect("chromium finished")
        .expect("chromium ran");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The page's DOM after its scripts ran, as headless Chromium sees it.
pub(crate) async fn rendered(url: &str) -> String {
    String::from_utf8(chromium_on(url, &["--dump-dom"]).await).unwrap()
}

/// A PNG of the page after its scripts ran, kept in the test output
/// (`target/tmp/dashboard-<name>.png`) for a person to look at; its size in bytes.
pub(crate) async fn screenshot(url: &str, name: &str) -> usize {
    let path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dashboard-{name}.png"));
    let shot = format!("--screenshot={}", path.display());
    chromium_on(
        url,
        &["--hide-scrollbars", "--window-size=1400,2600", &shot],
    )
    .await;
    let png = std::fs::read(&path).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    png.len()
}

/// The table row of the rendered `dom` whose `attr` is `id` (`data-id`, `data-run`, …), up to
/// its `</tr>`.
pub(crate) fn row_of(dom: &str, attr: &str, id: &str) -> String {
    let start = dom
        .find(&format!(r#"{attr}="{id}""#))
        .unwrap_or_else(|| panic!("{attr} {id} is listed"));
    dom[start..start + dom[start..].find("</tr>").unwrap()].to_owned()
}

fn tempdir() -> String {
    let dir = std::env::temp_dir().join(format!("df-chromium-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.display().to_string()
}

#[tokio::test]
async fn the_dashboard_shows_queues_jobs_and_workers_live() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(matchers::any())
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let done = app.enqueue(json!({"kind": "noop"})).await;
    let dead = app
        .enqueue(json!({"kind": "http_request", "args": {"method": "GET", "url": format!("{}/gone", server.uri())}}))
        .await;
    let waiting = app
        .enqueue(json!({"kind": "noop", "run_at": "2999-01-01T00:00:00Z"}))
        .await;
    // A workflow run that finished, and a budget that is spent.
    let workflow: Value = app
        .request(reqwest::Method::POST, "/workflows")
        .json(&json!({"name": "w", "definition": {"steps": [{"name": "a", "kind": "noop"}]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run: Value = app
        .request(
            reqwest::Method::POST,
            &format!("/workflows/{}/runs", workflow["id"].as_str().unwrap()),
        )
        .json(&json!({"input": {}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_id = run["id"].as_str().unwrap().to_owned();
    let budget: Value = app
        .request(reqwest::Method::POST, "/budgets")
        .json(&json!({"provider": "openai", "period": "day", "limit_micros": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Two long jobs on one concurrency key of limit 1: one runs, one waits behind it.
    for _ in 0..2 {
        app.enqueue(json!({"kind": "noop", "args": {"sleep_ms": 60_000},
                           "concurrency": {"key": "crm-sync", "limit": 1}}))
            .await;
    }
    let worker = app.spawn_worker(&[]);
    app.wait_for_state(done["id"].as_str().unwrap(), &["succeeded"], T)
        .await;
    app.wait_for_state(dead["id"].as_str().unwrap(), &["dead"], T)
        .await;
    wait_until("the run to succeed", T, async || {
        let now: Value = app
            .request(reqwest::Method::GET, &format!("/runs/{run_id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if now["status"] == "succeeded" {
            Ok(())
        } else {
            Err(now)
        }
    })
    .await;
    let worker_id = {
        let line = worker.wait_for_line("worker node started", T).await;
        let v: Value = serde_json::from_str(&line).unwrap();
        v["worker"].as_str().unwrap().to_owned()
    };

    let dom = rendered(&format!("{}/dashboard#key={}", app.base, app.key)).await;
    assert!(
        dom.contains(r#"class="on">live<"#),
        "the event stream is connected"
    );
    for kind in ["noop", "http_request"] {
        assert!(
            dom.contains(&format!(r#"data-kind="{kind}""#)),
            "queue {kind} is listed"
        );
    }
    let row = |id: &str| row_of(&dom, "data-id", id);
    let dead_row = row(dead["id"].as_str().unwrap());
    assert!(
        dead_row.contains("dead") && dead_row.contains("HTTP 404"),
        "{dead_row}"
    );
    assert!(
        dead_row.contains(r#"data-action="retry""#),
        "a dead job can be retried: {dead_row}"
    );
    let waiting_row = row(waiting["id"].as_str().unwrap());
    assert!(
        waiting_row.contains("scheduled") && waiting_row.contains(r#"data-action="cancel""#),
        "{waiting_row}"
    );
    assert!(row(done["id"].as_str().unwrap()).contains("succeeded"));
    assert!(dom.contains(&worker_id), "the worker {worker_id} is listed");
    let run_row = row_of(&dom, "data-run", &run_id);
    assert!(
        run_row.contains("succeeded") && run_row.contains("1 / 1"),
        "{run_row}"
    );
    let budget_row = row_of(&dom, "data-budget", budget["id"].as_str().unwrap());
    assert!(
        budget_row.contains("openai") && budget_row.contains("$0.00 / $0.00"),
        "{budget_row}"
    );
    let key_row = row_of(&dom, "data-key", "crm-sync");
    assert!(
        key_row.contains(">1 / 1<") && key_row.contains(r#"class="num available">1<"#),
        "{key_row}"
    );
    // The live chart draws what the stream's snapshots said: done per minute, waiting.
    for series in ["done:noop", "waiting"] {
        assert!(
            dom.contains(&format!(r#"data-series="{series}""#)),
            "the live chart draws {series}"
        );
    }
    // The key is never left in the URL or the page.
    assert!(!dom.contains(&app.key));
    let bytes = screenshot(
        &format!("{}/dashboard?static#key={}", app.base, app.key),
        "queues",
    )
    .await;
    assert!(bytes > 20_000, "a page with something on it: {bytes} bytes");
}

#[tokio::test]
async fn the_stream_sends_snapshots_of_queues_and_workers() {
    let app = spawn_app().await;
    app.enqueue(json!({"kind": "noop", "run_at": "2999-01-01T00:00:00Z"}))
        .await;
    let mut res = app
        .request(reqwest::Method::GET, "/stream?interval_ms=250")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut buffer = String::new();
    let mut snapshots = vec![];
    while snapshots.len() < 2 {
        let chunk = tokio::time::timeout(T, res.chunk())
            .await
            .unwrap()
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer[..end].to_owned();
            buffer.drain(..end + 2);
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                snapshots.push(serde_json::from_str::<Value>(data).unwrap());
            }
        }
    }
    let noop = snapshots[1]["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["kind"] == "noop")
        .unwrap()
        .clone();
    assert_eq!(noop["counts"]["scheduled"], 1, "{noop}");
    let res = app
        .request(reqwest::Method::GET, "/stream?interval_ms=5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn the_dashboard_shows_destinations_and_the_delivery_log() {
    let app = e2e::spawn_app_with(&[("ALLOW_PRIVATE_NETWORKS", "true")]).await;
    let receiver = MockServer::start().await;
    Mock::given(matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let created: Value = app
        .request(reqwest::Method::POST, "/destinations")
        .json(&json!({"name": "crm hook", "kind": "webhook",
                      "settings": {"url": format!("{}/hook", receiver.uri())}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let destination = created["destination"]["id"].as_str().unwrap().to_owned();
    let rule = app
        .request(reqwest::Method::POST, "/alert-rules")
        .json(&json!({"name": "dead jobs", "event": "job.dead", "destination_ids": [destination]}))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), 201);
    app.enqueue(json!({"kind": "noop", "args": {"fail_attempts": 1}, "max_attempts": 1}))
        .await;
    let _worker = app.spawn_worker(&[("DISPATCH_TICK_MS", "200")]);
    let delivery = wait_until("the alert to be sent", T, async || {
        let page: Value = app
            .request(reqwest::Method::GET, "/deliveries?state=sent")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"].get(0).cloned()
    })
    .await;

    let dom = rendered(&format!("{}/dashboard?static#key={}", app.base, app.key)).await;
    let row = |attr: &str, id: &str| row_of(&dom, attr, id);
    let d = row("data-destination", &destination);
    assert!(
        d.contains("crm hook")
            && d.contains("webhook")
            && d.contains("/hook")
            && d.contains("enabled"),
        "{d}"
    );
    assert!(
        d.contains(r#"data-action="test""#),
        "a destination can be tested: {d}"
    );
    let l = row("data-delivery", delivery["id"].as_str().unwrap());
    assert!(
        l.contains("job.dead") && l.contains("sent") && l.contains("200"),
        "{l}"
    );
}
