//! `mastodon`: a Mastodon server's hashtag timeline (`GET /api/v1/timelines/tag/:tag`) or its
//! status search (`GET /api/v2/search?type=statuses`), on the source's URL (the server).
//!
//! Settings: exactly one of `tag` (without `#`) and `query`.
//!
//! Incremental polls by id: the cursor holds `min_id`, the newest status stored. Asked with
//! `min_id`, Mastodon answers the [`LIMIT`] statuses just after it (newest first), and its
//! `Link: <…?min_id=…>; rel="prev"` header names the next `min_id`; a full page means more are
//! waiting, and the poll asks again. The first poll takes the newest page only. Engagement:
//! `favourites_count`, `reblogs_count`, `replies_count`. No credentials: hashtag timelines are
//! public; many servers answer a search without a token with accounts and hashtags only (no
//! statuses), so prefer `tag`. Limits: 300 requests per 5 minutes per address by default,
//! announced in `X-RateLimit-Remaining` / `X-RateLimit-Reset` and honoured fleet-wide.

use reqwest::header::{HeaderMap, LINK};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::{Dialect, Page, json, object, query, read_cursor, str_at, time_at, write_cursor};
use crate::{
    FieldError,
    sources::feed::{Engagement, FeedError, RawItem, count},
};

/// Statuses asked for per page (Mastodon's maximum for timelines).
pub const LIMIT: usize = 40;

/// The `mastodon` dialect.
#[derive(Debug, Clone, Copy)]
pub struct Mastodon;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// The newest status id stored.
    min_id: String,
}

/// Mastodon ids are decimal strings that sort by length, then by digits.
fn newer(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

impl Dialect for Mastodon {
    fn default_base(&self, _settings: &Value) -> Option<String> {
        None
    }

    fn settings(&self, settings: &Value) -> Result<Value, FieldError> {
        let map = object(settings, &["tag", "query"])?;
        match (map.get("tag"), map.get("query")) {
            (Some(_), Some(_)) => Err(FieldError::new("", "give `tag` or `query`, not both")),
            (Some(Value::String(t)), None) => {
                let t = t.trim().trim_start_matches('#');
                if t.is_empty()
                    || t.chars().count() > 100
                    || !t.chars().all(|c| c.is_alphanumeric() || c == '_')
                {
                    return Err(FieldError::new(
                        "tag",
                        "expected a hashtag of 1 to 100 letters, digits or _",
                    ));
                }
                Ok(json!({ "tag": t }))
            }
            (Some(_), None) => Err(FieldError::new("tag", "expected a string")),
            (None, Some(_)) => Ok(json!({ "query": query(map, "query", 500)? })),
            (None, None) => Err(FieldError::new("tag", "required (or `query`)")),
        }
    }

    fn request(&self, base: &Url, settings: &Value, cursor: Option<&str>) -> Result<Url, String> {
        let mut url = match settings["tag"].as_str() {
            Some(tag) => {
                let mut u = base
                    .join("/api/v1/timelines/tag/")
                    .map_err(|e| e.to_string())?;
                u.path_segments_mut()
                    .map_err(|()| "the URL cannot be a base".to_owned())?
                    .pop_if_empty()
                    .push(tag);
                u
            }
            None => {
                let mut u = base.join("/api/v2/search").map_err(|e| e.to_string())?;
                u.query_pairs_mut()
                    .append_pair("q", settings["query"].as_str().unwrap_or_default())
                    .append_pair("type", "statuses")
                    .append_pair("resolve", "false");
                u
            }
        };
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &LIMIT.to_string());
            if let Some(c) = read_cursor::<Cursor>(cursor) {
                q.append_pair("min_id", &c.min_id);
            }
        }
        Ok(url)
    }

    fn page(
        &self,
        body: &[u8],
        headers: &HeaderMap,
        _settings: &Value,
        cursor: Option<&str>,
    ) -> Result<Page, FeedError> {
        let doc = json(body)?;
        let statuses = match &doc {
            Value::Array(a) => a,
            Value::Object(o) => o
                .get("statuses")
                .and_then(Value::as_array)
                .ok_or_else(|| FeedError("a search answer without `statuses`".into()))?,
            _ => return Err(FeedError("expected an array of statuses".into())),
        };
        let stored: Option<Cursor> = read_cursor(cursor);
        let from_link = headers
            .get_all(LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(prev_min_id);
        let newest_seen =
            statuses
                .iter()
                .filter_map(|s| str_at(s, "id"))
                .fold(None::<String>, |best, id| match best {
                    Some(b) if !newer(&id, &b) => Some(b),
                    _ => Some(id),
                });
        let next = [from_link, newest_seen, stored.clone().map(|c| c.min_id)]
            .into_iter()
            .flatten()
            .fold(None::<String>, |best, id| match best {
                Some(b) if !newer(&id, &b) => Some(b),
                _ => Some(id),
            });
        Ok(Page {
            items: statuses.iter().filter_map(item).collect(),
            cursor: next.and_then(|min_id| write_cursor(&Cursor { min_id })),
            more: stored.is_some() && statuses.len() >= LIMIT,
        })
    }
}

/// The `min_id` of a `Link` header's `rel="prev"`.
fn prev_min_id(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        if !params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"prev\"" | "rel=prev"))
        {
            return None;
        }
        let url = Url::parse(target.trim().trim_start_matches('<').trim_end_matches('>')).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == "min_id")
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric()))
    })
}

fn item(s: &Value) -> Option<RawItem> {
    let id = str_at(s, "id")?;
    let account = s.get("account").unwrap_or(&Value::Null);
    let title = str_at(s, "spoiler_text");
    Some(RawItem {
        external_id: Some(str_at(s, "uri").unwrap_or(id)),
        url: str_at(s, "url").or_else(|| str_at(s, "uri")),
        title,
        content: str_at(s, "content"),
        author: str_at(account, "acct").or_else(|| str_at(account, "username")),
        published_at: time_at(s, "created_at"),
        engagement: Engagement {
            likes: count(s.get("favourites_count")),
            reposts: count(s.get("reblogs_count")),
            comments: count(s.get("replies_count")),
            points: None,
        },
    })
}
