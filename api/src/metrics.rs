//! `GET /metrics`: Prometheus text from the `metrics` recorder.
//!
//! The api records `jobs_enqueued_total{kind}` as it enqueues; a scrape refreshes
//! `jobs_queue_depth{kind,state}` (stored states `available`, `running`, `failed`, across every
//! tenant) from the database when the last read is older than [`DEPTH_MAX_AGE`], so however often
//! (and however many at once) `/metrics` is scraped, the database sees at most one such query per
//! [`DEPTH_MAX_AGE`]. The gauge is never older than that. The same read refreshes
//! `deliveries_paused_targets` and the concurrency keys' gauges (`concurrency_keys_active`,
//! `concurrency_keys_saturated`, `concurrency_key_waiting_jobs`).

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
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
/// Destinations and subscriptions paused across the fleet, refreshed at scrape.
const PAUSED_TARGETS: &str = "deliveries_paused_targets";
/// Concurrency keys with jobs waiting or running, refreshed at scrape.
const KEYS_ACTIVE: &str = "concurrency_keys_active";
/// Concurrency keys at their limit with jobs waiting, refreshed at scrape.
const KEYS_SATURATED: &str = "concurrency_keys_saturated";
/// Jobs waiting on a concurrency key, refreshed at scrape.
const KEYS_WAITING: &str = "concurrency_key_waiting_jobs";

/// Oldest the depth gauges may be at a scrape before it reads them again.
pub const DEPTH_MAX_AGE: Duration = Duration::from_secs(5);

/// The recorder's handle, the depth series already reported and when they were last read.
pub struct Metrics {
    handle: PrometheusHandle,
    depth_series: Mutex<BTreeSet<(String, String)>>,
    /// When the depth was last read (or tried); held across the read, so concurrent scrapes
    /// wait for one read instead of making their own.
    depth_read_at: tokio::sync::Mutex<Option<Instant>>,
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
            PAUSED_TARGETS,
            "Destinations and subscriptions paused right now (a 429's wait, or an open circuit)."
        );
        metrics::gauge!(PAUSED_TARGETS).set(0.0);
        for (name, what) in [
            (
                KEYS_ACTIVE,
                "Concurrency keys with jobs waiting or running, every tenant.",
            ),
            (
                KEYS_SATURATED,
                "Concurrency keys running at their limit with jobs waiting behind them.",
            ),
            (
                KEYS_WAITING,
                "Jobs waiting on a concurrency key, every tenant.",
            ),
        ] {
            metrics::describe_gauge!(name, what);
            metrics::gauge!(name).set(0.0);
        }
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
            depth_read_at: tokio::sync::Mutex::new(None),
        })
    }

    /// Reads the depth from the database unless it was read within [`DEPTH_MAX_AGE`]. A failed
    /// read keeps the last values and is not tried again before then either.
    async fn refresh_depth(&self, pool: &sqlx::PgPool) {
        let mut read_at = self.depth_read_at.lock().await;
        if !due(*read_at, Instant::now(), DEPTH_MAX_AGE) {
            return;
        }
        match jobs::queue::admin::depth(pool).await {
            Ok(rows) => self.set_depth(rows),
            Err(e) => {
                tracing::warn!(error = %e, "could not refresh jobs_queue_depth; serving the last values")
            }
        }
        match jobs::deliveries::log::paused_targets(pool, chrono::Utc::now()).await {
            Ok(n) => metrics::gauge!(PAUSED_TARGETS).set(n as f64),
            Err(e) => tracing::warn!(error = %e, "could not refresh {PAUSED_TARGETS}"),
        }
        match jobs::queue::share::key_pressure(pool).await {
            Ok(p) => {
                metrics::gauge!(KEYS_ACTIVE).set(p.keys as f64);
                metrics::gauge!(KEYS_SATURATED).set(p.saturated as f64);
                metrics::gauge!(KEYS_WAITING).set(p.waiting as f64);
            }
            Err(e) => tracing::warn!(error = %e, "could not refresh the concurrency key gauges"),
        }
        *read_at = Some(Instant::now());
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

/// Whether a value read at `read_at` (never: `None`) is older than `max_age` at `now`.
fn due(read_at: Option<Instant>, now: Instant, max_age: Duration) -> bool {
    read_at.is_none_or(|at| now.saturating_duration_since(at) >= max_age)
}

/// `GET /metrics`.
#[handler]
pub async fn scrape(state: Data<&AppState>, metrics: Data<&Arc<Metrics>>) -> Response {
    metrics.refresh_depth(&state.pool).await;
    metrics.handle.run_upkeep();
    metrics
        .handle
        .render()
        .with_content_type("text/plain; version=0.0.4; charset=utf-8")
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_depth_is_read_again_only_once_it_is_old_enough() {
        let t0 = Instant::now();
        let age = Duration::from_secs(5);
        assert!(due(None, t0, age), "never read");
        assert!(!due(Some(t0), t0, age));
        assert!(!due(Some(t0), t0 + Duration::from_millis(4999), age));
        assert!(due(Some(t0), t0 + age, age));
    }
}
