//! The Grafana dashboard (`ops/grafana/demandflow.json`) against real metrics: once jobs have
//! run, succeeded, failed and died, every metric its panels query is served by the api's
//! `/metrics` or by a worker's `WORKER_METRICS_PORT`, so the dashboard cannot drift from the
//! names the code records.

use std::{collections::BTreeSet, time::Duration};

use e2e::{spawn_app, wait_until};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

/// The metric names in Prometheus text (`name{labels} value` or `name value`).
fn names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// The metric names a PromQL expression uses: its identifiers that end like this project's
/// metrics do (functions, labels and keywords do not).
fn queried(expr: &str) -> Vec<String> {
    const ENDINGS: [&str; 6] = [
        "_total",
        "_seconds",
        "_depth",
        "_targets",
        "_jobs",
        "_keys_saturated",
    ];
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| ENDINGS.iter().any(|e| w.ends_with(e)) || w.starts_with("concurrency_keys_"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn every_metric_the_grafana_dashboard_queries_is_served() {
    let dashboard: Value = serde_json::from_str(include_str!("../../ops/grafana/demandflow.json"))
        .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 6, "a dashboard worth importing");
    let ids: BTreeSet<i64> = panels.iter().filter_map(|p| p["id"].as_i64()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    let mut wanted = BTreeSet::new();
    for p in panels {
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
        for t in p["targets"].as_array().expect("targets") {
            let found = queried(t["expr"].as_str().expect("an expression"));
            assert!(!found.is_empty(), "{} queries no metric", t["expr"]);
            wanted.extend(found);
        }
    }

    let app = spawn_app().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _worker = app.spawn_worker(&[("WORKER_METRICS_PORT", &port.to_string())]);
    let ok = app.enqueue(json!({"kind": "noop"})).await;
    let retried = app
        .enqueue(json!({"kind": "noop", "args": {"fail_attempts": 1}, "max_attempts": 3}))
        .await;
    let dead = app
        .enqueue(json!({"kind": "noop", "args": {"fail_attempts": 1}, "max_attempts": 1}))
        .await;
    for (job, state) in [(&ok, "succeeded"), (&retried, "succeeded"), (&dead, "dead")] {
        app.wait_for_state(job["id"].as_str().unwrap(), &[state], T)
            .await;
    }
    let worker = wait_until("the worker's metrics", T, async || {
        let text = app
            .http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let n = names(&text);
        [
            "jobs_dead_total",
            "jobs_failed_total",
            "job_duration_seconds",
        ]
        .iter()
        .all(|m| n.contains(*m))
        .then_some(n)
    })
    .await;
    let served: BTreeSet<String> = worker
        .union(&names(&app.metrics().await))
        .cloned()
        .collect();
    let missing: Vec<&String> = wanted.iter().filter(|m| !served.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "queried but not served: {missing:?}\nserved: {served:?}"
    );
}
