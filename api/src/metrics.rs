//! `GET /metrics`: Prometheus text from the `metrics` recorder.
//!
//! The api records `jobs_enqueued_total{kind}` as it enqueues; at every scrape it refreshes
//! `jobs_queue_depth{kind,state}` (stored states `available`, `running`, `failed`, across every
//! tenant) from the database, so the gauge is never older than the scrape.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use metrics_exporter_prometheus::PrometheusHandle;
use poem::{IntoResponse, Response, handler, web::Data};

use crate::app::AppState;

/// Counter of jobs created through the api, by kind.
pub const ENQUEUED_TOTAL: &str = "jobs_enqueued_total";
/// Gauge of jobs waiting or running, by kind and stored state.
pub const QUEUE_DEPTH: &str = "jobs_queue_depth";
/// The stored states `jobs::queue::admin::depth` counts.
const DEPTH_STATES: [&str; 3] = ["available", "running", "failed"];

/// The recorder's handle and the depth series already reported.
pub struct Metrics {
    handle: PrometheusHandle,
    depth_series: Mutex<BTreeSet<(String, String)>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Renders through `handle`, describing the api's metrics and starting every known kind's
    /// series at zero so dashboards see them before the first job.
    pub fn new(handle: PrometheusHandle) -> Arc<Self> {
        metrics::describe_counter!(ENQUEUED_TOTAL, "Jobs created through the api, by kind.");
        metrics::describe_gauge!(
            QUEUE_DEPTH,
            "Jobs per kind and stored state (available, running, failed), refreshed at scrape."
        );
        let mut series = BTreeSet::new();
        for kind in jobs::kinds::ALL {
            metrics::counter!(ENQUEUED_TOTAL, "kind" => kind.name).increment(0);
            for state in DEPTH_STATES {
                series.insert((kind.name.to_owned(), state.to_owned()));
            }
        }
        Arc::new(Self {
            handle,
            depth_series: Mutex::new(series),
        })
    }

    /// Sets the depth gauges from `rows`; a series seen before and absent now is set to 0.
    fn set_depth(&self, rows: Vec<(String, String, i64)>) {
        let mut series = self.depth_series.lock().unwrap_or_else(|p| p.into_inner());
        let current: BTreeSet<(String, String)> = rows
            .iter()
            .map(|(k, s, _)| (k.clone(), s.clone()))
            .collect();
        for (kind, state) in series.difference(&current) {
            metrics::gauge!(QUEUE_DEPTH, "kind" => kind.clone(), "state" => state.clone()).set(0.0);
        }
        for (kind, state, n) in rows {
            metrics::gauge!(QUEUE_DEPTH, "kind" => kind, "state" => state).set(n as f64);
        }
        series.extend(current);
    }
}

/// `GET /metrics`.
#[handler]
pub async fn scrape(state: Data<&AppState>, metrics: Data<&Arc<Metrics>>) -> Response {
    match jobs::queue::admin::depth(&state.pool).await {
        Ok(rows) => metrics.set_depth(rows),
        Err(e) => {
            tracing::warn!(error = %e, "could not refresh jobs_queue_depth; serving the last values")
        }
    }
    metrics.handle.run_upkeep();
    metrics
        .handle
        .render()
        .with_content_type("text/plain; version=0.0.4; charset=utf-8")
        .into_response()
}
