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

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::{Dialect, Page, json, object, query, read_cursor, str_at, time_at, write_cursor};
use crate::{
    FieldError,
    sources::feed::{Engagement, FeedError, RawItem, count},
};

/// Posts asked for per page (the API's maximum).
pub const LIMIT: usize = 100;

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

impl Dialect for BlueskySearch {
    fn default_base(&self, _settings: &Value) -> Option<String> {
        Some("https://public.api.bsky.app".into())
    }

    fn settings(&self, settings: &Value) -> Result<Value, FieldError> {
        let map = object(settings, &["query", "lang"])?;
        let mut out = json!({ "query": query(map, "query", 500)? });
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

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
