//! The Mastodon client API, as far as publishing needs it: `POST /api/v2/media` (multipart),
//! `GET /api/v1/media/{id}`, `POST /api/v1/statuses` with `Idempotency-Key`, and the
//! `X-RateLimit-*` headers of every answer.
//!
//! Calls go through the deliveries' guarded client (`channels::http_client`: private
//! networks refused unless allowed, no redirects, a timeout) and read at most 16 KiB of an
//! answer. Each call returns an [`Answered`]: what the server said, sorted into what the caller
//! does next. This module never stores, schedules or retries anything, and no message it
//! returns holds the token.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::deliveries::channels::{
    Answer, DEFAULT_RETRY_AFTER, Outcome, clip, http_client, no_answer,
};

/// What the server's `X-RateLimit-*` headers said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rate {
    /// Requests left in the window.
    pub remaining: Option<u64>,
    /// When the window resets.
    pub reset: Option<DateTime<Utc>>,
}

impl Rate {
    /// Reads `X-RateLimit-Remaining` and `X-RateLimit-Reset` (an ISO 8601 time).
    pub fn of(headers: &HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Self {
            remaining: text("x-ratelimit-remaining").and_then(|v| v.trim().parse().ok()),
            reset: text("x-ratelimit-reset")
                .and_then(|v| DateTime::parse_from_rfc3339(v.trim()).ok())
                .map(|t| t.with_timezone(&Utc)),
        }
    }

    /// How long to pause the account once the window is spent (none while requests are left).
    pub fn exhausted_for(&self, now: DateTime<Utc>) -> Option<Duration> {
        (self.remaining == Some(0)).then(|| self.until_reset(now))
    }

    fn until_reset(&self, now: DateTime<Utc>) -> Duration {
        self.reset
            .and_then(|r| (r - now).to_std().ok())
            .unwrap_or(DEFAULT_RETRY_AFTER)
            .clamp(Duration::from_secs(1), Duration::from_secs(3600))
    }
}

/// What one call did.
#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    /// 2xx: the body, and the rate headers.
    Ok {
        /// The status (200, or 202 for media still processing).
        status: u16,
        /// The JSON body (`null` when it is not JSON).
        body: Value,
        /// The rate headers.
        rate: Rate,
    },
    /// 429: pause the account this long, for every worker; nothing was done.
    RateLimited {
        /// Until the window resets.
        wait: Duration,
    },
    /// 401 or 403: the token is refused (revoked, or missing the `write` scope).
    Unauthorized {
        /// The status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Another 4xx (422: the server's validation): the request will be refused again.
    Refused {
        /// The status.
        status: u16,
        /// The server's message (its `error` field, or the start of the answer).
        message: String,
    },
    /// A 5xx, a 3xx, the network or a timeout: may pass; try again.
    Failed {
        /// The status, when the server answered.
        status: Option<u16>,
        /// What went wrong.
        message: String,
        /// How long the server asked to wait, when it said.
        retry_after: Option<Duration>,
    },
}

/// An image to upload.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    /// Its type.
    pub content_type: &'a str,
    /// The image.
    pub bytes: &'a [u8],
    /// Its description.
    pub description: Option<&'a str>,
}

/// The client of one worker: built once, shared by every job.
#[derive(Debug)]
pub struct Mastodon {
    http: Result<reqwest::Client, String>,
}

impl Mastodon {
    /// A client refusing private networks unless `allow_private`.
    pub fn new(allow_private: bool) -> Self {
        Self {
            http: http_client(allow_private),
        }
    }

    /// `POST /api/v2/media`: 200 with a processed attachment, or 202 while it is processed.
    pub async fn upload(&self, base: &str, token: &SecretString, upload: Upload<'_>) -> Answered {
        let boundary = format!("demandflow-{}", uuid::Uuid::new_v4().simple());
        let body = multipart(&boundary, upload);
        self.call(token, |c| {
            c.post(format!("{base}/api/v2/media"))
                .header(
                    CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body)
        })
        .await
    }

    /// `GET /api/v1/media/{id}`: 200 once processed, 206 while it is not.
    pub async fn media(&self, base: &str, token: &SecretString, id: &str) -> Answered {
        self.call(token, |c| c.get(format!("{base}/api/v1/media/{id}")))
            .await
    }

    /// `POST /api/v1/statuses` with `Idempotency-Key: key`.
    pub async fn post_status(
        &self,
        base: &str,
        token: &SecretString,
        key: &str,
        status: &Value,
    ) -> Answered {
        self.call(token, |c| {
            c.post(format!("{base}/api/v1/statuses"))
                .header("Idempotency-Key", key)
                .json(status)
        })
        .await
    }

    async fn call(
        &self,
        token: &SecretString,
        build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Answered {
        let secret = token.expose_secret();
        let client = match &self.http {
            Ok(c) => c,
            Err(e) => return failed(None, format!("the HTTP client could not start: {e}")),
        };
        let sent = build(client)
            .header(AUTHORIZATION, format!("Bearer {secret}"))
            .send()
            .await;
        match sent {
            Ok(response) => read(Answer::read(response).await, &[secret], Utc::now()),
            Err(e) => match no_answer(e, &[secret]) {
                Outcome::Rejected { excerpt, .. } => Answered::Refused {
                    status: 0,
                    message: excerpt,
                },
                other => failed(None, other.excerpt().to_owned()),
            },
        }
    }
}

fn failed(status: Option<u16>, message: String) -> Answered {
    Answered::Failed {
        status,
        message,
        retry_after: None,
    }
}

/// Sorts an answer.
fn read(answer: Answer, secrets: &[&str], now: DateTime<Utc>) -> Answered {
    let rate = Rate::of(&answer.headers);
    let status = answer.status;
    let message = || {
        answer
            .json()
            .and_then(|b| b.get("error").and_then(Value::as_str).map(str::to_owned))
            .map_or_else(|| answer.excerpt(secrets), |e| clip(&e, secrets))
    };
    match status {
        200..=299 => Answered::Ok {
            status,
            body: answer.json().unwrap_or(Value::Null),
            rate,
        },
        429 => Answered::RateLimited {
            wait: crate::kinds::http_request::retry_after(&answer.headers)
                .unwrap_or_else(|| rate.until_reset(now)),
        },
        401 | 403 => Answered::Unauthorized {
            status,
            message: message(),
        },
        400..=499 if !matches!(status, 408 | 425) => Answered::Refused {
            status,
            message: message(),
        },
        _ => Answered::Failed {
            status: Some(status),
            message: message(),
            retry_after: crate::kinds::http_request::retry_after(&answer.headers),
        },
    }
}

/// A server's id, safe in a URL path: 1 to 64 letters, digits, `-` or `_`.
pub fn remote_id(body: &Value) -> Option<String> {
    let id = match body.get("id")? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then_some(id)
}

/// The `multipart/form-data` body of an upload: the `file` part and the `description`.
fn multipart(boundary: &str, upload: Upload<'_>) -> Vec<u8> {
    let ext = upload.content_type.trim_start_matches("image/");
    let mut body = Vec::with_capacity(upload.bytes.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"image.{ext}\"\r\nContent-Type: {}\r\n\r\n",
            upload.content_type
        )
        .as_bytes(),
    );
    body.extend_from_slice(upload.bytes);
    if let Some(d) = upload.description {
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Disposition: form-data; \
                 name=\"description\"\r\n\r\n{d}"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_headers_pause_only_when_spent() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert(
            "x-ratelimit-reset",
            "2026-11-30T12:05:00.000Z".parse().unwrap(),
        );
        let rate = Rate::of(&h);
        let now = "2026-11-30T12:00:00Z".parse().unwrap();
        assert_eq!(rate.exhausted_for(now), Some(Duration::from_secs(300)));
        h.insert("x-ratelimit-remaining", "3".parse().unwrap());
        assert_eq!(Rate::of(&h).exhausted_for(now), None);
    }

    #[test]
    fn remote_ids_must_be_safe_in_a_path() {
        assert_eq!(
            remote_id(&serde_json::json!({"id": "1094"})).as_deref(),
            Some("1094")
        );
        assert_eq!(
            remote_id(&serde_json::json!({"id": 7})).as_deref(),
            Some("7")
        );
        for bad in ["", "../x", "a/b", "1?x=1"] {
            assert_eq!(remote_id(&serde_json::json!({ "id": bad })), None, "{bad}");
        }
    }

    #[test]
    fn the_multipart_body_names_the_file_and_its_description() {
        let body = multipart(
            "b",
            Upload {
                content_type: "image/png",
                bytes: b"PNG",
                description: Some("a chart"),
            },
        );
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"image.png\""
        ));
        assert!(text.contains("name=\"description\"\r\n\r\na chart\r\n--b--\r\n"));
    }
}
