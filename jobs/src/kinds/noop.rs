//! `noop`: does nothing, optionally after sleeping. For tests, demos and benchmarks; it still
//! passes every layer a real job passes (claim, tracing, metrics, timeout, cancellation, ack).

use std::{future::Future, time::Duration};

use apalis_core::task::data::Data;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Backoff, Handler, JobKind, Resources};
use crate::{FieldError, queue::JobContext, queue::JobError};

/// The longest sleep a noop may ask for (10 minutes).
pub const MAX_SLEEP_MS: u64 = 600_000;

/// Args of a `noop` job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Noop {
    /// Sleep this long before succeeding (0 to 600000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sleep_ms: Option<u64>,
    /// Fail this many first attempts with a retryable error (tests of the retry path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_attempts: Option<u32>,
    /// The result to return instead of `{"slept_ms": n}` (any JSON up to 256 KiB): lets a
    /// workflow step produce, say, a list for the next step's `for_each`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
}

/// The largest `output` a noop may return, serialised.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;

impl JobKind for Noop {
    const KIND: &'static str = "noop";
    const MAX_ATTEMPTS: i32 = 3;
    const TIMEOUT: Duration = Duration::from_secs(900);
    const BACKOFF: Backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(10),
    };

    fn validate(&self) -> Result<(), FieldError> {
        if self.sleep_ms.is_some_and(|ms| ms > MAX_SLEEP_MS) {
            return Err(FieldError::new(
                "sleep_ms",
                format!("expected 0 to {MAX_SLEEP_MS}"),
            ));
        }
        if self.fail_attempts.is_some_and(|n| n > 100) {
            return Err(FieldError::new("fail_attempts", "expected 0 to 100"));
        }
        if self
            .output
            .as_ref()
            .is_some_and(|o| o.to_string().len() > MAX_OUTPUT_BYTES)
        {
            return Err(FieldError::new(
                "output",
                format!("larger than {MAX_OUTPUT_BYTES} bytes"),
            ));
        }
        Ok(())
    }
}

impl Handler for Noop {
    type Context = ();

    fn context(_: &Resources) {}

    fn handle(
        self,
        job: JobContext,
        _: Data<()>,
    ) -> impl Future<Output = Result<Value, JobError>> + Send {
        handle(self, job)
    }
}

/// Runs a noop job.
pub async fn handle(args: Noop, job: JobContext) -> Result<Value, JobError> {
    if let Some(ms) = args.sleep_ms.filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if args.fail_attempts.is_some_and(|n| job.attempt <= n as i32) {
        return Err(JobError::retry(format!(
            "failing attempt {} of the first {} on purpose",
            job.attempt,
            args.fail_attempts.unwrap_or_default()
        )));
    }
    Ok(args
        .output
        .unwrap_or_else(|| json!({ "slept_ms": args.sleep_ms.unwrap_or(0) })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::parse_args;

    #[test]
    fn sleep_is_bounded() {
        assert!(parse_args::<Noop>(json!({"sleep_ms": 600000})).is_ok());
        let e = parse_args::<Noop>(json!({"sleep_ms": 600001})).unwrap_err();
        assert_eq!(e.path, "sleep_ms");
        assert!(parse_args::<Noop>(json!({})).is_ok());
        assert_eq!(
            parse_args::<Noop>(json!({"sleep_ms": -1}))
                .unwrap_err()
                .path,
            "sleep_ms"
        );
    }

    #[test]
    fn output_is_bounded() {
        assert!(parse_args::<Noop>(json!({"output": {"items": [1, 2, 3]}})).is_ok());
        let big = "x".repeat(MAX_OUTPUT_BYTES);
        let e = parse_args::<Noop>(json!({ "output": big })).unwrap_err();
        assert_eq!(e.path, "output");
    }
}
