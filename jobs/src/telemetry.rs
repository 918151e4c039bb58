//! Logging: structured JSON lines in production, readable lines in development.
//!
//! `LOG_FORMAT` is `json` (default) or `pretty`; `RUST_LOG` filters (default `info`). A job's
//! lines carry its `correlation_id` (the `X-Request-Id` of the call that enqueued it) through the
//! span the worker opens around every attempt.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{self, ConfigError};

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() -> Result<(), ConfigError> {
    let format = config::choice("LOG_FORMAT", "json", &["json", "pretty"])?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,hyper=warn,reqwest=warn,apalis_core=warn,apalis=warn")
    });
    let registry = tracing_subscriber::registry().with(filter);
    if format == "json" {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .init();
    } else {
        registry.with(fmt::layer().compact()).init();
    }
    Ok(())
}
