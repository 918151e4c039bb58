//! API source kinds: searches over social and JSON APIs, each a [`Dialect`] in its own file
//! ([`hn`], [`json_api`], [`mastodon`], [`bluesky`], [`x`], [`reddit`]) behind one shape — the
//! request for a cursor, and the answer read into items, the next cursor and whether more
//! pages wait.
//!
//! This module owns what the dialects share: the [`Dialect`] trait, the registry
//! ([`dialect`]), the rate-limit headers every API spells differently ([`RateLimit`]), the
//! poll loop that drives a dialect through the fleet-wide politeness and stores each page with
//! its cursor in one transaction ([`poll`]), the exchange of a source's secret for a
//! short-lived token and its cache ([`session`]), and the sample fetch behind
//! `POST /sources/preview` ([`preview`]). A dialect never does I/O: it builds URLs and requests
//! and reads bytes, so each is tested against fixtures and wiremock alike. Nothing here knows
//! of HTTP routes or of the scheduler.
//!
//! Cursors are the dialect's own small JSON document, stored on the source (`sources.cursor`)
//! by the transaction that stores the signals the page held: a worker killed between pages
//! resumes at the page after the last one stored, and a page stored twice (a kill after the
//! commit, before the job's completion) adds nothing, since signals are unique by content.

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use super::{
    SourceKind,
    feed::{FeedError, RawItem},
};
use crate::FieldError;

pub mod bluesky;
pub mod hn;
pub mod json_api;
pub mod mastodon;
mod poll;
pub mod reddit;
pub mod session;
pub mod x;

pub use poll::{MAX_PAGES_PER_POLL, PreviewError, PreviewItem, PreviewPage, poll, preview};
pub use session::{Session, Token, TokenRequest, Tokens};

/// Longest stored cursor (the column's check).
pub const MAX_CURSOR: usize = 4096;

/// What one answer of an API held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The items, as the API wrote them.
    pub items: Vec<RawItem>,
    /// The cursor to store with them (none: keep the stored one).
    pub cursor: Option<String>,
    /// Whether another page should be asked for now (catching up).
    pub more: bool,
}

/// One API's dialect: how to ask for what is new since a cursor, and how to read the answer.
pub trait Dialect: Sync {
    /// The base URL used when a source names none (none: the URL is required), for its
    /// checked `settings`.
    fn default_base(&self, settings: &Value) -> Option<String>;

    /// Checks `settings` (the create body's `settings`, `null` when absent) and returns them
    /// as stored. Errors name the field under `settings`.
    fn settings(&self, settings: &Value) -> Result<Value, FieldError>;

    /// The URL to GET for `cursor` (none on the first poll), from the source's `base` URL.
    fn request(&self, base: &Url, settings: &Value, cursor: Option<&str>) -> Result<Url, String>;

    /// Reads one answer (`headers` for `Link` paging) asked with `cursor`.
    fn page(
        &self,
        body: &[u8],
        headers: &HeaderMap,
        settings: &Value,
        cursor: Option<&str>,
    ) -> Result<Page, FeedError>;

    /// What the source's `secret` is to this API with these checked `settings` (named in
    /// errors: "a bearer token", "`client_id:client_secret`"), which makes it required; none:
    /// the source takes no secret. Without a [`Dialect::session`], the secret itself is sent
    /// as the bearer token.
    fn secret(&self, _settings: &Value) -> Option<&'static str> {
        None
    }

    /// Checks the form of a given secret (the reason, when it is not of the form expected).
    /// The secret is never part of the reason.
    fn check_secret(&self, _secret: &str) -> Result<(), String> {
        Ok(())
    }

    /// The exchange of the secret for a short-lived access token, when the API wants one
    /// before it is searched (OAuth client credentials, a session): the token then is the
    /// bearer of every request, cached and refreshed by the poll ([`session`]).
    fn session(&self, _settings: &Value) -> Option<&dyn Session> {
        None
    }

    /// Extra request headers (an `Accept`, an API version).
    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[("accept", "application/json")]
    }
}

/// The dialect of an API kind; none for feeds and push sources.
pub fn dialect(kind: SourceKind) -> Option<&'static dyn Dialect> {
    match kind {
        SourceKind::HnSearch => Some(&hn::HnSearch),
        SourceKind::JsonApi => Some(&json_api::JsonApi),
        SourceKind::Mastodon => Some(&mastodon::Mastodon),
        SourceKind::BlueskySearch => Some(&bluesky::BlueskySearch),
        SourceKind::XSearch => Some(&x::XSearch),
        SourceKind::RedditSearch => Some(&reddit::RedditSearch),
        SourceKind::Rss
        | SourceKind::Atom
        | SourceKind::JsonFeed
        | SourceKind::RedditListing
        | SourceKind::Push => None,
    }
}

/// A rate-limit budget an answer announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests left in the window.
    pub remaining: i64,
    /// When the window resets.
    pub reset_at: DateTime<Utc>,
}

/// The rate-limit headers of an answer received at `now`, in any of the spellings the APIs
/// use: `x-rate-limit-*` (X: reset in epoch seconds), `x-ratelimit-*` (Mastodon: an ISO 8601
/// time; Reddit: seconds from now), `ratelimit-*` (Bluesky and the IETF draft: epoch seconds
/// or seconds from now). A reset above 10⁹ is read as epoch seconds, a smaller number as
/// seconds from now.
pub fn rate_limit(headers: &HeaderMap, now: DateTime<Utc>) -> Option<RateLimit> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let (remaining, reset) = ["x-rate-limit", "x-ratelimit", "ratelimit"]
        .iter()
        .find_map(|p| Some((get(&format!("{p}-remaining"))?, get(&format!("{p}-reset"))?)))?;
    let remaining = remaining.parse::<f64>().ok().filter(|r| r.is_finite())? as i64;
    let reset_at = reset_time(reset, now)?;
    Some(RateLimit {
        remaining,
        reset_at,
    })
}

fn reset_time(v: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    let n = v
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)?;
    if n > 1e9 {
        DateTime::from_timestamp(n as i64, 0)
    } else {
        Some(now + chrono::TimeDelta::milliseconds((n.min(86_400.0) * 1000.0) as i64))
    }
}

/// The settings object of `v`, with only `allowed` keys (each error names its key).
fn object<'a>(
    v: &'a Value,
    allowed: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, FieldError> {
    let Value::Object(map) = v else {
        return Err(FieldError::new("", "expected a JSON object"));
    };
    if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(FieldError::new(
            extra.as_str(),
            format!("unknown field; expected one of {}", allowed.join(", ")),
        ));
    }
    Ok(map)
}

/// A required search query: 1 to `max` printable characters.
fn query(
    map: &serde_json::Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<String, FieldError> {
    match map.get(name) {
        Some(Value::String(s))
            if !s.trim().is_empty()
                && s.chars().count() <= max
                && !s.chars().any(char::is_control) =>
        {
            Ok(s.trim().to_owned())
        }
        None | Some(Value::Null) => Err(FieldError::new(name, "required")),
        _ => Err(FieldError::new(
            name,
            format!("expected 1 to {max} printable characters"),
        )),
    }
}

/// An optional base URL setting at `name` (absolute http(s), no credentials), as stored:
/// `default` when absent.
fn base_setting(
    map: &serde_json::Map<String, Value>,
    name: &str,
    default: &str,
) -> Result<String, FieldError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(default.to_owned()),
        Some(Value::String(s)) => super::SourceUrl::parse(s)
            .map(|u| u.as_url().as_str().trim_end_matches('/').to_owned())
            .map_err(|e| e.under(name)),
        Some(_) => Err(FieldError::new(name, "expected a URL")),
    }
}

/// Plain text (a post's text as an API gives it) made safe to read as HTML: what looks like
/// markup stays text.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A cursor document of type `T` (a stored cursor that does not read is treated as none: the
/// next poll starts afresh, and dedupe absorbs what it sees again).
fn read_cursor<T: serde::de::DeserializeOwned>(cursor: Option<&str>) -> Option<T> {
    serde_json::from_str(cursor?).ok()
}

/// `T` as a stored cursor.
fn write_cursor<T: serde::Serialize>(c: &T) -> Option<String> {
    serde_json::to_string(c)
        .ok()
        .filter(|s| s.len() <= MAX_CURSOR)
}

/// `body` as JSON.
fn json(body: &[u8]) -> Result<Value, FeedError> {
    serde_json::from_slice(body).map_err(|e| FeedError(format!("not JSON: {e}")))
}

/// The string at `key`, when not empty.
fn str_at(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A time in RFC 3339.
fn time_at(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.get(key)?.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests;
