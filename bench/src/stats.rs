//! Percentiles, gaps and what the worker's log says about each attempt.

use std::{collections::HashMap, path::Path};

use uuid::Uuid;

/// Wall-clock microseconds since the epoch (the clock every process on this machine shares).
pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The `p`th percentile (nearest rank) of sorted microseconds, in ms; the same rule as the
/// peers' drivers.
pub fn pct_ms(sorted_us: &[i64], p: f64) -> Option<f64> {
    if sorted_us.is_empty() {
        return None;
    }
    let idx = ((p / 100.0) * (sorted_us.len() as f64 - 1.0)).round() as usize;
    Some(sorted_us[idx.min(sorted_us.len() - 1)] as f64 / 1000.0)
}

/// The longest pause between consecutive times (µs, any order), in ms, and how many came
/// before it.
pub fn max_gap_ms(times_us: &[i64]) -> (f64, usize) {
    let mut t = times_us.to_vec();
    t.sort_unstable();
    let (mut gap, mut at) = (0i64, 0usize);
    for (i, w) in t.windows(2).enumerate() {
        if w[1] - w[0] > gap {
            gap = w[1] - w[0];
            at = i + 1;
        }
    }
    (gap as f64 / 1000.0, at)
}

/// Summary of a latency distribution (µs) as JSON fields with `prefix`.
pub fn summary(prefix: &str, mut lat_us: Vec<i64>) -> serde_json::Map<String, serde_json::Value> {
    lat_us.sort_unstable();
    let mut m = serde_json::Map::new();
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}_{k}")
        }
    };
    m.insert(key("p50_ms"), pct_ms(&lat_us, 50.0).into());
    m.insert(key("p95_ms"), pct_ms(&lat_us, 95.0).into());
    m.insert(key("p99_ms"), pct_ms(&lat_us, 99.0).into());
    m.insert(
        key("max_ms"),
        lat_us.last().map(|v| *v as f64 / 1000.0).into(),
    );
    m
}

/// One handler run seen in a worker's log.
#[derive(Debug, Clone, Copy)]
pub struct Execution {
    /// The attempt it ran as.
    pub attempt: i64,
    /// When the handler started (µs since the epoch).
    pub started_us: i64,
}

/// Every handler run a worker logged, by job.
///
/// The worker's ack layer logs `job succeeded` with `elapsed_ms` (measured from just before the
/// handler is first polled) inside the job's span (`job_id`, `attempt`); the line's timestamp
/// minus `elapsed_ms` is when the handler started. Nothing is added to the job for this: the
/// noop job runs exactly as a real one does.
pub fn executions(log: &Path, into: &mut HashMap<Uuid, Vec<Execution>>) -> usize {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut seen = 0;
    for line in text.lines() {
        if !line.contains("\"job succeeded\"") {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(ts), Some(elapsed), Some(span)) = (
            v.get("timestamp").and_then(|t| t.as_str()),
            v.get("elapsed_ms").and_then(serde_json::Value::as_f64),
            v.get("span"),
        ) else {
            continue;
        };
        let Ok(ts) = chrono::DateTime::parse_from_rfc3339(ts) else {
            continue;
        };
        let Some(id) = span
            .get("job_id")
            .and_then(|j| j.as_str())
            .and_then(|j| j.parse().ok())
        else {
            continue;
        };
        let attempt = span
            .get("attempt")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        let started_us = ts.timestamp_micros() - (elapsed * 1000.0).round() as i64;
        into.entry(id).or_default().push(Execution {
            attempt,
            started_us,
        });
        seen += 1;
    }
    seen
}
