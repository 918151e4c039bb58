//! `http_request`: one outbound HTTP call, the escape hatch for anything without a kind of its
//! own.
//!
//! 2xx succeeds with `{status, duration_ms, body_excerpt}`. 408, 429, 5xx and network errors
//! are retried (a `Retry-After` is honoured); any other status fails permanently, so no attempt
//! is wasted on a request that cannot succeed. Targets on private networks are refused unless
//! `ALLOW_PRIVATE_NETWORKS=true`. Every attempt sends `Idempotency-Key: <job id>` so a receiver
//! can drop repeats.
//!
//! Whatever the target answers is stored safely: the excerpt and every error message are made
//! storable ([`crate::text`]), so a binary body (a PNG, gzip) or an error page holding a NUL
//! cannot fail the write of the outcome.
//!
//! Credentials in headers never reach a reader. A header whose name looks sensitive
//! ([`is_sensitive_header`]: `Authorization`, `Cookie`, `X-Api-Key`, anything naming a token, a
//! secret or a key) is sealed with the operator key ([`crate::secrets`]) when the args are
//! serialised for storage, opened by the handler just before it is sent, and shown as
//! [`REDACTED`] by [`redact`] wherever args are read.

use std::{collections::BTreeMap, future::Future, time::Duration, time::Instant};

use apalis_core::task::data::Data;
use reqwest::{
    Method, StatusCode, Url,
    header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER},
};
use serde::{Deserialize, Serialize, Serializer, ser::SerializeMap};
use serde_json::{Value, json};

use super::{Backoff, Handler, JobKind, Resources};
use crate::{
    FieldError, net,
    queue::{JobContext, JobError},
    secrets, text,
};

/// Longest accepted per-request timeout (5 minutes).
pub const MAX_TIMEOUT_MS: u64 = 300_000;
/// Most bytes of the response body read (the rest is not downloaded).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Characters of the body kept in the result.
pub const EXCERPT_CHARS: usize = 1024;
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const MAX_HEADERS: usize = 50;
const MAX_URL_LEN: usize = 2048;
const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// The purpose sensitive header values are sealed for ([`crate::secrets::seal`]).
pub const HEADER_PURPOSE: &str = "jobs.args.headers";
/// What a reader sees in place of a sensitive header's value.
pub use crate::secrets::REDACTED;
/// Words that make a header name sensitive (matched case-insensitively anywhere in the name).
const SENSITIVE_WORDS: &[&str] = &[
    "auth",
    "cookie",
    "token",
    "secret",
    "key",
    "password",
    "session",
    "signature",
    "credential",
];

/// Whether a header carries a credential: `Authorization`, `Proxy-Authorization`, `Cookie`,
/// `X-Api-Key`, or any name holding `token`, `secret`, `key`, `auth`, `password`, `session`,
/// `signature` or `credential` (case-insensitively).
pub fn is_sensitive_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SENSITIVE_WORDS.iter().any(|w| name.contains(w))
}

/// `args` of an `http_request` job as a reader may see them: every sensitive header's value
/// (sealed, or stored in clear before sealing existed) replaced by [`REDACTED`].
pub fn redact(args: &mut Value) {
    if let Some(Value::Object(headers)) = args.get_mut("headers") {
        for (name, value) in headers.iter_mut() {
            if is_sensitive_header(name) {
                *value = Value::String(REDACTED.to_owned());
            }
        }
    }
}

/// Args of an `http_request` job.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    /// GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
    pub method: String,
    /// An absolute http(s) URL.
    pub url: String,
    /// Extra request headers. Serialised (for storage) with each sensitive value sealed.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "seal_headers"
    )]
    pub headers: BTreeMap<String, String>,
    /// A string is sent as is; any other JSON value is sent as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Timeout of one attempt's request, 1 to 300000 ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: BTreeMap<&str, &str> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = if is_sensitive_header(name) {
                    REDACTED
                } else {
                    value.as_str()
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &self.body)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// Serialises the headers with every sensitive value sealed (a value sealed already is kept).
fn seal_headers<S: Serializer>(
    headers: &BTreeMap<String, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(headers.len()))?;
    for (name, value) in headers {
        if is_sensitive_header(name) && !secrets::is_sealed(value) {
            let sealed = secrets::seal(HEADER_PURPOSE, value).map_err(serde::ser::Error::custom)?;
            map.serialize_entry(name, &sealed)?;
        } else {
            map.serialize_entry(name, value)?;
        }
    }
    map.end()
}

impl JobKind for HttpRequest {
    const KIND: &'static str = "http_request";
    const MAX_ATTEMPTS: i32 = 8;
    const TIMEOUT: Duration = Duration::from_secs(330);
    const BACKOFF: Backoff = Backoff {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(600),
    };

    fn validate(&self) -> Result<(), FieldError> {
        if !METHODS.contains(&self.method.as_str()) {
            return Err(FieldError::new(
                "method",
                format!("expected one of {}", METHODS.join(", ")),
            ));
        }
        if self.url.len() > MAX_URL_LEN {
            return Err(FieldError::new(
                "url",
                format!("longer than {MAX_URL_LEN} characters"),
            ));
        }
        let url = Url::parse(&self.url)
            .map_err(|e| FieldError::new("url", format!("not an absolute URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(FieldError::new(
                "url",
                "expected an http or https URL with a host",
            ));
        }
        if self.headers.len() > MAX_HEADERS {
            return Err(FieldError::new(
                "headers",
                format!("more than {MAX_HEADERS} headers"),
            ));
        }
        for (name, value) in &self.headers {
            let path = format!("headers.{name}");
            let parsed = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| FieldError::new(&path, "not a valid header name"))?;
            if matches!(
                parsed.as_str(),
                "host" | "content-length" | "transfer-encoding" | "connection"
            ) {
                return Err(FieldError::new(&path, "this header is set by the client"));
            }
            HeaderValue::from_str(value)
                .map_err(|_| FieldError::new(&path, "not a valid header value"))?;
            if is_sensitive_header(name) && secrets::is_sealed(value) {
                // Sealed values are made here, never taken from a caller.
                return Err(FieldError::new(
                    &path,
                    "a sealed value cannot be sent: give the credential itself",
                ));
            }
        }
        if let Some(body) = &self.body {
            let size = match body {
                Value::String(s) => s.len(),
                other => other.to_string().len(),
            };
            if size > MAX_REQUEST_BODY {
                return Err(FieldError::new(
                    "body",
                    format!("larger than {MAX_REQUEST_BODY} bytes"),
                ));
            }
        }
        if self
            .timeout_ms
            .is_some_and(|t| t == 0 || t > MAX_TIMEOUT_MS)
        {
            return Err(FieldError::new(
                "timeout_ms",
                format!("expected 1 to {MAX_TIMEOUT_MS}"),
            ));
        }
        Ok(())
    }
}

/// What the http_request handler shares across jobs.
#[derive(Debug, Clone)]
pub struct HttpContext {
    /// The guarded client.
    pub client: reqwest::Client,
    /// `ALLOW_PRIVATE_NETWORKS`.
    pub allow_private: bool,
}

impl HttpContext {
    /// A context with a fresh guarded client.
    pub fn new(allow_private: bool) -> Self {
        Self {
            client: net::client(allow_private),
            allow_private,
        }
    }
}

impl Handler for HttpRequest {
    type Context = HttpContext;

    fn context(resources: &Resources) -> HttpContext {
        HttpContext::new(resources.allow_private_networks)
    }

    fn handle(
        self,
        job: JobContext,
        ctx: Data<HttpContext>,
    ) -> impl Future<Output = Result<Value, JobError>> + Send {
        handle(self, job, ctx)
    }
}

/// Runs one attempt of an `http_request` job. Its outcome is always storable: a NUL in the
/// answer or in an error never reaches the database.
pub async fn handle(
    args: HttpRequest,
    job: JobContext,
    http: Data<HttpContext>,
) -> Result<Value, JobError> {
    storable(attempt(args, &job, &http).await)
}

/// `outcome` with every string made storable ([`text::storable`]).
fn storable(outcome: Result<Value, JobError>) -> Result<Value, JobError> {
    let clean = |s: String| text::storable(&s).into_owned();
    match outcome {
        Ok(result) => Ok(text::storable_json(result)),
        Err(JobError::Retry {
            message,
            retry_after,
        }) => Err(JobError::Retry {
            message: clean(message),
            retry_after,
        }),
        Err(JobError::Permanent(message)) => Err(JobError::Permanent(clean(message))),
        Err(other) => Err(other),
    }
}

/// The headers to send: sealed values opened, sensitive ones marked so that nothing prints
/// them.
fn request_headers(args: &HttpRequest) -> Result<HeaderMap, JobError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &args.headers {
        let sensitive = is_sensitive_header(name);
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| JobError::permanent("bad header name"))?;
        let mut value = if sensitive && secrets::is_sealed(value) {
            let opened = secrets::open(HEADER_PURPOSE, value).map_err(|e| {
                JobError::permanent(format!("the value of header {name} does not open: {e}"))
            })?;
            HeaderValue::from_str(secrecy::ExposeSecret::expose_secret(&opened))
        } else {
            HeaderValue::from_str(value)
        }
        .map_err(|_| JobError::permanent(format!("bad value for header {name}")))?;
        value.set_sensitive(sensitive);
        headers.insert(name, value);
    }
    Ok(headers)
}

async fn attempt(
    args: HttpRequest,
    job: &JobContext,
    http: &HttpContext,
) -> Result<Value, JobError> {
    let url = Url::parse(&args.url).map_err(|e| JobError::permanent(format!("bad url: {e}")))?;
    net::check_url(&url, http.allow_private).map_err(JobError::permanent)?;
    let method = Method::from_bytes(args.method.as_bytes())
        .map_err(|_| JobError::permanent("bad method"))?;
    let mut headers = request_headers(&args)?;
    if !headers.contains_key("idempotency-key") {
        let key = HeaderValue::from_str(&job.id.to_string())
            .map_err(|_| JobError::permanent("the job id is not a header value"))?;
        headers.insert("idempotency-key", key);
    }
    if let Some(id) = job
        .correlation_id
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        headers.entry("x-request-id").or_insert(id);
    }
    let mut request = http.client.request(method, url).headers(headers);
    if let Some(ms) = args.timeout_ms {
        request = request.timeout(Duration::from_millis(ms));
    }
    request = match args.body {
        Some(Value::String(text)) => request.body(text),
        Some(other) => request.json(&other),
        None => request,
    };

    let started = Instant::now();
    let mut response = request.send().await.map_err(|e| {
        if net::is_blocked(&e) {
            JobError::permanent(net::BlockedAddress::describe(&e))
        } else if e.is_timeout() {
            JobError::retry("the request timed out")
        } else {
            JobError::retry(format!("request failed: {}", error_chain(&e)))
        }
    })?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let mut body = Vec::new();
    while body.len() < MAX_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return Err(JobError::retry(format!("reading the body failed: {e}"))),
        }
    }
    let duration_ms = started.elapsed().as_millis() as u64;
    let excerpt: String = String::from_utf8_lossy(&body)
        .chars()
        .take(EXCERPT_CHARS)
        .collect();

    if status.is_success() {
        return Ok(
            json!({ "status": status.as_u16(), "duration_ms": duration_ms, "body_excerpt": excerpt }),
        );
    }
    let message = format!(
        "HTTP {}: {}",
        status.as_u16(),
        excerpt.chars().take(200).collect::<String>()
    );
    if is_retryable(status) {
        Err(JobError::Retry {
            message,
            retry_after,
        })
    } else {
        Err(JobError::permanent(message))
    }
}

/// 408, 429 and every 5xx may succeed later; other failures will not.
pub fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// `Retry-After` as a delay: seconds, or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl net::BlockedAddress {
    /// The refusal's message, found in an error's source chain.
    pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
        let mut current = Some(e);
        while let Some(err) = current {
            if let Some(b) = err.downcast_ref::<net::BlockedAddress>() {
                return b.to_string();
            }
            if err.to_string().starts_with("refused: ") {
                return err.to_string();
            }
            current = err.source();
        }
        "refused: the target is on a private network".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::parse_args;

    #[test]
    fn args_are_validated_with_paths() {
        let ok = json!({"method": "POST", "url": "https://example.com/hook", "headers": {"x-a": "1"}, "body": {"a": 1}});
        assert!(parse_args::<HttpRequest>(ok).is_ok());
        let cases = [
            (json!({"method": "BREW", "url": "https://e.com"}), "method"),
            (json!({"method": "GET", "url": "not a url"}), "url"),
            (json!({"method": "GET", "url": "ftp://e.com/x"}), "url"),
            (
                json!({"method": "GET", "url": "https://e.com", "timeout_ms": 0}),
                "timeout_ms",
            ),
            (
                json!({"method": "GET", "url": "https://e.com", "headers": {"bad name": "x"}}),
                "headers.bad name",
            ),
            (
                json!({"method": "GET", "url": "https://e.com", "headers": {"host": "x"}}),
                "headers.host",
            ),
            (json!({"method": "GET"}), ""),
            (json!({"method": 1, "url": "https://e.com"}), "method"),
        ];
        for (args, path) in cases {
            let e = parse_args::<HttpRequest>(args.clone()).unwrap_err();
            assert_eq!(e.path, path, "{args} gave {e}");
        }
    }

    #[test]
    fn sensitive_headers_are_sealed_for_storage_opened_for_sending_and_redacted_for_readers() {
        crate::secrets::install_for_tests();
        let args = json!({"method": "GET", "url": "https://example.com/", "headers": {
            "Authorization": "Bearer hunter2", "X-Api-Key": "k-123", "x-session-token": "s-1",
            "Accept": "text/plain"
        }});
        let stored = parse_args::<HttpRequest>(args).unwrap();
        let text = stored.to_string();
        for secret in ["hunter2", "k-123", "s-1"] {
            assert!(!text.contains(secret), "{secret} stored in clear: {text}");
        }
        assert!(
            stored["headers"]["Authorization"]
                .as_str()
                .unwrap()
                .starts_with("enc:v1:")
        );
        assert_eq!(stored["headers"]["Accept"], "text/plain");

        // The worker reads the stored args and sends the real values, marked sensitive.
        let read: HttpRequest = serde_json::from_value(stored.clone()).unwrap();
        let debug = format!("{read:?}");
        assert!(
            !debug.contains("enc:v1:") && !debug.contains("hunter2"),
            "{debug}"
        );
        let headers = request_headers(&read).unwrap();
        assert_eq!(headers["authorization"], "Bearer hunter2");
        assert!(headers["authorization"].is_sensitive());
        assert_eq!(headers["x-api-key"], "k-123");
        assert_eq!(headers["accept"], "text/plain");
        assert!(!headers["accept"].is_sensitive());
        // Serialising again keeps the sealed values as they are.
        assert_eq!(
            serde_json::to_value(&read).unwrap()["headers"]["Authorization"],
            stored["headers"]["Authorization"]
        );

        // A reader sees neither the value nor its sealed form.
        let mut shown = stored.clone();
        redact(&mut shown);
        assert_eq!(shown["headers"]["Authorization"], REDACTED);
        assert_eq!(shown["headers"]["x-session-token"], REDACTED);
        assert_eq!(shown["headers"]["Accept"], "text/plain");

        // A caller cannot hand in a sealed value (to have the worker open it for them).
        let sealed = stored["headers"]["Authorization"].clone();
        let e = parse_args::<HttpRequest>(json!({"method": "GET", "url": "https://example.com/",
            "headers": {"Authorization": sealed}}))
        .unwrap_err();
        assert_eq!(e.path, "headers.Authorization");
        for name in [
            "Cookie",
            "Proxy-Authorization",
            "X-Hub-Signature",
            "client_secret",
        ] {
            assert!(is_sensitive_header(name), "{name}");
        }
        assert!(!is_sensitive_header("Content-Type"));
    }

    #[test]
    fn outcomes_holding_nul_are_made_storable() {
        let ok = storable(Ok(
            json!({"status": 200, "body_excerpt": "\u{89}PNG\r\n\u{1a}\n\0\0\0\rIHDR"}),
        ))
        .unwrap();
        assert!(!ok.to_string().contains("\\u0000"), "{ok}");
        assert_eq!(ok["status"], 200);
        match storable(Err(JobError::permanent("HTTP 404: not\0found"))) {
            Err(JobError::Permanent(m)) => assert_eq!(m, "HTTP 404: not\u{FFFD}found"),
            other => panic!("{other:?}"),
        }
        match storable(Err(JobError::Retry {
            message: "HTTP 503: \0".into(),
            retry_after: Some(Duration::from_secs(3)),
        })) {
            Err(JobError::Retry {
                message,
                retry_after,
            }) => {
                assert!(!message.contains('\0'));
                assert_eq!(retry_after, Some(Duration::from_secs(3)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retryable_statuses() {
        for s in [408u16, 429, 500, 502, 503] {
            assert!(is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400u16, 401, 403, 404, 410, 422] {
            assert!(!is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
