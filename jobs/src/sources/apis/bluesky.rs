//! `bluesky_search`: Bluesky posts through the AT Protocol's `app.bsky.feed.searchPosts`
//! (`GET /xrpc/app.bsky.feed.searchPosts?q=…&sort=latest`), on the public AppView
//! (`https://public.api.bsky.app`) unless the source names another.
//!
//! Settings: `query` (required), `lang` (optional, a language code).
//!
//! Incremental polls by time: the cursor holds `since`, the newest post time stored (the
//! API's `since` is inclusive, so a post in that instant is asked for twice and stored once).
//! Answers come newest first, [`LIMIT`] a page, with an opaque `cursor` to older posts; while a
//! full page says more are new, the poll follows it (the cursor then also holds the page token
//! and the newest time seen, which becomes `since` once caught up). The first poll takes the
//! newest page only. Engagement: `likeCount`, `repostCount` + `quoteCount`, `replyCount`. No
//! credentials on the public AppView (about 3,000 requests per 5 minutes per address,
//! announced in `RateLimit-Remaining` / `RateLimit-Reset` and honoured fleet-wide).
//!
//! An optional app-password session: with `settings.identifier` (a handle, DID or email) the
//! source's `secret` is required and is an app password (sealed at rest, write-only); the poll
//! creates a session (`POST {session_base}/xrpc/com.atproto.server.createSession`, base
//! `https://bsky.social` unless `settings.session_base` names another), keeps its `accessJwt`
//! until a minute before the token's own `exp` ([`super::session`]), and searches with it as
//! the bearer on the authenticated service — the source's URL, by default the session base,
//! whose PDS proxies `app.bsky.*` to the AppView. Session creation is tightly limited by
//! Bluesky (30 per 5 minutes per account), which is why the token is cached.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::{
    Dialect, Page, Session, Token, TokenRequest, base_setting, escape, json, object, query,
    read_cursor, str_at, time_at, write_cursor,
};
use crate::{
    FieldError,
    sources::feed::{Engagement, FeedError, RawItem, count},
};

/// Posts asked for per page (the API's maximum).
pub const LIMIT: usize = 100;

/// The public AppView, searched without credentials.
pub const PUBLIC_BASE: &str = "https://public.api.bsky.app";

/// Where sessions are created unless `settings.session_base` names another.
pub const DEFAULT_SESSION_BASE: &str = "https://bsky.social";

/// How long a session's token is kept when its `exp` does not read.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The `bluesky_search` dialect.
#[derive(Debug, Clone, Copy)]
pub struct BlueskySearch;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// The newest post time stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<DateTime<Utc>>,
    /// While catching up: the API's cursor to the next (older) page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<String>,
    /// While catching up: the newest time seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    newest: Option<DateTime<Utc>>,
}

/// Whether the settings ask for a session.
fn has_session(settings: &Value) -> bool {
    settings["identifier"].is_string()
}

impl Dialect for BlueskySearch {
    fn default_base(&self, settings: &Value) -> Option<String> {
        Some(match settings["session_base"].as_str() {
            Some(base) if has_session(settings) => base.to_owned(),
            _ => PUBLIC_BASE.to_owned(),
        })
    }

    fn secret(&self, settings: &Value) -> Option<&'static str> {
        has_session(settings).then_some("the app password of `settings.identifier`")
    }

    fn session(&self, settings: &Value) -> Option<&dyn Session> {
        has_session(settings).then_some(self as &dyn Session)
    }

    fn settings(&self, settings: &Value) -> Result<Value, FieldError> {
        let map = object(settings, &["query", "lang", "identifier", "session_base"])?;
        let mut out = json!({ "query": query(map, "query", 500)? });
        match map.get("identifier") {
            None | Some(Value::Null) => {
                if map.get("session_base").is_some_and(|v| !v.is_null()) {
                    return Err(FieldError::new(
                        "session_base",
                        "only with `identifier` (a session)",
                    ));
                }
            }
            Some(Value::String(id))
                if (3..=253).contains(&id.trim().len())
                    && !id
                        .trim()
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control()) =>
            {
                out["identifier"] = json!(id.trim());
                out["session_base"] =
                    json!(base_setting(map, "session_base", DEFAULT_SESSION_BASE)?);
            }
            Some(_) => {
                return Err(FieldError::new(
                    "identifier",
                    "expected a handle, DID or email (3 to 253 characters, no spaces)",
                ));
            }
        }
        match map.get("lang") {
            None | Some(Value::Null) => {}
            Some(Value::String(l))
                if (2..=8).contains(&l.len())
                    && l.chars().all(|c| c.is_ascii_alphabetic() || c == '-') =>
            {
                out["lang"] = json!(l.to_ascii_lowercase());
            }
            Some(_) => {
                return Err(FieldError::new(
                    "lang",
                    "expected a language code like \"en\"",
                ));
            }
        }
        Ok(out)
    }

    fn request(&self, base: &Url, settings: &Value, cursor: Option<&str>) -> Result<Url, String> {
        let c: Cursor = read_cursor(cursor).unwrap_or_default();
        let mut url = base
            .join("/xrpc/app.bsky.feed.searchPosts")
            .map_err(|e| e.to_string())?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("q", settings["query"].as_str().unwrap_or_default())
                .append_pair("sort", "latest")
                .append_pair("limit", &LIMIT.to_string());
            if let Some(lang) = settings["lang"].as_str() {
                q.append_pair("lang", lang);
            }
            if let Some(since) = c.since {
                q.append_pair("since", &since.to_rfc3339_opts(SecondsFormat::Millis, true));
            }
            if let Some(page) = &c.page {
                q.append_pair("cursor", page);
            }
        }
        Ok(url)
    }

    fn page(
        &self,
        body: &[u8],
        _headers: &HeaderMap,
        _settings: &Value,
        cursor: Option<&str>,
    ) -> Result<Page, FeedError> {
        let doc = json(body)?;
        let posts = doc
            .get("posts")
            .and_then(Value::as_array)
            .ok_or_else(|| FeedError("a searchPosts answer without `posts`".into()))?;
        let c: Cursor = read_cursor(cursor).unwrap_or_default();
        let newest = posts
            .iter()
            .filter_map(sort_at)
            .chain(c.newest)
            .chain(c.since)
            .max();
        let token = str_at(&doc, "cursor");
        // Never on a source's first polls (nothing stored yet): they do not walk history.
        let more = c.since.is_some() && posts.len() >= LIMIT && token.is_some();
        let next = if more {
            Cursor {
                since: c.since,
                page: token,
                newest,
            }
        } else {
            Cursor {
                since: newest,
                page: None,
                newest: None,
            }
        };
        Ok(Page {
            items: posts.iter().filter_map(item).collect(),
            cursor: write_cursor(&next),
            more,
        })
    }
}

impl Session for BlueskySearch {
    fn token_request(
        &self,
        settings: &Value,
        secret: &SecretString,
    ) -> Result<TokenRequest, String> {
        let base = settings["session_base"]
            .as_str()
            .unwrap_or(DEFAULT_SESSION_BASE);
        let url = Url::parse(base)
            .and_then(|b| b.join("/xrpc/com.atproto.server.createSession"))
            .map_err(|e| format!("settings.session_base: {e}"))?;
        let body = json!({
            "identifier": settings["identifier"].as_str().unwrap_or_default(),
            "password": secret.expose_secret(),
        });
        Ok(TokenRequest {
            url,
            basic: None,
            body: SecretString::from(body.to_string()),
            content_type: "application/json",
        })
    }

    fn token(&self, body: &[u8], now: DateTime<Utc>) -> Result<Token, String> {
        let doc: Value =
            serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_owned())?;
        let access = str_at(&doc, "accessJwt").ok_or("no accessJwt in the answer")?;
        let lifetime = expires_at(&access)
            .and_then(|exp| (exp - now).to_std().ok())
            .unwrap_or(DEFAULT_LIFETIME);
        Ok(Token {
            access: SecretString::from(access),
            lifetime,
        })
    }
}

/// The `exp` claim of a JWT (its payload is read, not verified: the token is only sent back
/// to whoever signed it).
fn expires_at(jwt: &str) -> Option<DateTime<Utc>> {
    let payload = jwt.split('.').nth(1)?;
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?)
            .ok()?;
    DateTime::from_timestamp(claims.get("exp")?.as_i64()?, 0)
}

/// The time a post sorts by: the earlier of its claimed `createdAt` and when it was indexed
/// (a post cannot backdate itself past the `since` filter, nor postdate itself ahead).
fn sort_at(post: &Value) -> Option<DateTime<Utc>> {
    let indexed = time_at(post, "indexedAt");
    let created = post.get("record").and_then(|r| time_at(r, "createdAt"));
    match (indexed, created) {
        (Some(i), Some(c)) => Some(i.min(c)),
        (i, c) => i.or(c),
    }
}

fn item(post: &Value) -> Option<RawItem> {
    let uri = str_at(post, "uri")?;
    let author = post.get("author").unwrap_or(&Value::Null);
    let handle = str_at(author, "handle");
    let rkey = uri.rsplit('/').next().unwrap_or_default().to_owned();
    let url = handle
        .clone()
        .or_else(|| str_at(author, "did"))
        .map(|who| format!("https://bsky.app/profile/{who}/post/{rkey}"));
    let text = post
        .get("record")
        .and_then(|r| str_at(r, "text"))
        .map(|t| escape(&t));
    let reposts = match (
        count(post.get("repostCount")),
        count(post.get("quoteCount")),
    ) {
        (Some(r), Some(q)) => Some(r.saturating_add(q)),
        (r, q) => r.or(q),
    };
    Some(RawItem {
        external_id: Some(uri),
        url,
        title: None,
        content: text,
        author: handle,
        published_at: post
            .get("record")
            .and_then(|r| time_at(r, "createdAt"))
            .or_else(|| time_at(post, "indexedAt")),
        engagement: Engagement {
            likes: count(post.get("likeCount")),
            reposts,
            comments: count(post.get("replyCount")),
            points: None,
        },
    })
}
