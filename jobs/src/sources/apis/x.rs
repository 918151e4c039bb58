//! `x_search`: X API v2 recent search (`GET /2/tweets/search/recent`), with the source's
//! `secret` as its bearer token (sealed at rest, write-only like every secret; opened only to
//! make the request). Base URL `https://api.x.com` unless the source names another.
//!
//! Settings: `query` (required, X's search syntax, at most 512 characters).
//!
//! Incremental polls by id: the cursor holds `since_id`, the newest post stored, so each poll
//! asks only for what is new. Answers come newest first, [`MAX_RESULTS`] a page, with
//! `meta.next_token` to older ones; while it is given the poll follows it (the cursor then
//! also holds the token and the newest id seen, which becomes `since_id` once caught up). The
//! first poll takes the newest page only. Authors come from the `author_id` expansion.
//! Engagement: `like_count`, `retweet_count` + `quote_count`, `reply_count`. Limits: announced
//! in `x-rate-limit-remaining` / `x-rate-limit-reset` (epoch seconds) and honoured fleet-wide;
//! a spent budget blocks the host until its reset.

use std::collections::HashMap;

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::{
    Dialect, Page, escape, json, object, query, read_cursor, str_at, time_at, write_cursor,
};
use crate::{
    FieldError,
    sources::feed::{Engagement, FeedError, RawItem, count},
};

/// Posts asked for per page (the API's maximum).
pub const MAX_RESULTS: usize = 100;

/// The `x_search` dialect.
#[derive(Debug, Clone, Copy)]
pub struct XSearch;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// The newest post id stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since_id: Option<String>,
    /// While catching up: the API's token to the next (older) page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
    /// While catching up: the newest id seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    newest: Option<String>,
}

/// Post ids are decimal strings: longer is newer, then by digits.
fn newest(ids: impl IntoIterator<Item = String>) -> Option<String> {
    ids.into_iter()
        .filter(|i| !i.is_empty() && i.chars().all(|c| c.is_ascii_digit()))
        .max_by(|a, b| (a.len(), a).cmp(&(b.len(), b)))
}

impl Dialect for XSearch {
    fn default_base(&self, _settings: &Value) -> Option<String> {
        Some("https://api.x.com".into())
    }

    fn secret(&self, _settings: &Value) -> Option<&'static str> {
        Some("a bearer token")
    }

    fn settings(&self, settings: &Value) -> Result<Value, FieldError> {
        let map = object(settings, &["query"])?;
        Ok(json!({ "query": query(map, "query", 512)? }))
    }

    fn request(&self, base: &Url, settings: &Value, cursor: Option<&str>) -> Result<Url, String> {
        let c: Cursor = read_cursor(cursor).unwrap_or_default();
        let mut url = base
            .join("/2/tweets/search/recent")
            .map_err(|e| e.to_string())?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("query", settings["query"].as_str().unwrap_or_default())
                .append_pair("max_results", &MAX_RESULTS.to_string())
                .append_pair("tweet.fields", "created_at,public_metrics,author_id")
                .append_pair("expansions", "author_id")
                .append_pair("user.fields", "username,name");
            if let Some(since) = &c.since_id {
                q.append_pair("since_id", since);
            }
            if let Some(token) = &c.next_token {
                q.append_pair("next_token", token);
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
        if doc.get("data").is_none() && doc.get("meta").is_none() {
            return Err(FeedError(
                "an X search answer without `data` or `meta`".into(),
            ));
        }
        let empty = vec![];
        let posts = doc.get("data").and_then(Value::as_array).unwrap_or(&empty);
        let users: HashMap<String, String> = doc
            .pointer("/includes/users")
            .and_then(Value::as_array)
            .map(|us| {
                us.iter()
                    .filter_map(|u| Some((str_at(u, "id")?, str_at(u, "username")?)))
                    .collect()
            })
            .unwrap_or_default();
        let c: Cursor = read_cursor(cursor).unwrap_or_default();
        let seen = newest(
            posts
                .iter()
                .filter_map(|p| str_at(p, "id"))
                .chain(
                    doc.pointer("/meta/newest_id")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )
                .chain(c.newest.clone())
                .chain(c.since_id.clone()),
        );
        let token = doc
            .pointer("/meta/next_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        // Never on a source's first polls: they do not walk history.
        let more = c.since_id.is_some() && token.is_some() && !posts.is_empty();
        let next = if more {
            Cursor {
                since_id: c.since_id,
                next_token: token,
                newest: seen,
            }
        } else {
            Cursor {
                since_id: seen,
                next_token: None,
                newest: None,
            }
        };
        Ok(Page {
            items: posts.iter().filter_map(|p| item(p, &users)).collect(),
            cursor: write_cursor(&next),
            more,
        })
    }
}

fn item(post: &Value, users: &HashMap<String, String>) -> Option<RawItem> {
    let id = str_at(post, "id")?;
    let author = str_at(post, "author_id").and_then(|a| users.get(&a).cloned());
    let url = match &author {
        Some(u) => format!("https://x.com/{u}/status/{id}"),
        None => format!("https://x.com/i/web/status/{id}"),
    };
    let m = post.get("public_metrics").unwrap_or(&Value::Null);
    let reposts = match (count(m.get("retweet_count")), count(m.get("quote_count"))) {
        (Some(r), Some(q)) => Some(r.saturating_add(q)),
        (r, q) => r.or(q),
    };
    Some(RawItem {
        external_id: Some(format!("x:{id}")),
        url: Some(url),
        title: None,
        content: str_at(post, "text").map(|t| escape(&t)),
        author,
        published_at: time_at(post, "created_at"),
        engagement: Engagement {
            likes: count(m.get("like_count")),
            reposts,
            comments: count(m.get("reply_count")),
            points: None,
        },
    })
}
