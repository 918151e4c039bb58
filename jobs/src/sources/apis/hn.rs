//! `hn_search`: Hacker News through the Algolia search API
//! (`GET /api/v1/search_by_date?query=…&tags=…&numericFilters=created_at_i>=…`).
//!
//! Settings: `query` (required), `tags` (optional Algolia tag filter: `story`, `comment`,
//! `ask_hn`, `show_hn`, `poll`, or a comma-separated list of them).
//!
//! Incremental polls by time: the cursor holds `after`, the newest `created_at_i` stored.
//! Results come newest first, [`HITS_PER_PAGE`] a page; when more are new than a page holds,
//! the poll walks back in time (`before`, the oldest time seen) until it meets `after`, and
//! only then moves `after` to the newest time seen. Boundaries are inclusive (an item in the
//! same second is asked for twice and stored once), so nothing posted in the second of a poll
//! is lost. The first poll of a source takes the newest page only: it does not walk history.
//! Engagement: `points` and `num_comments`. No credentials; Algolia allows about 10,000
//! requests an hour per address.

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::{Dialect, Page, json, object, query, read_cursor, str_at, write_cursor};
use crate::{
    FieldError,
    sources::feed::{Engagement, FeedError, RawItem, count, signed_count},
};

/// Hits asked for per page.
pub const HITS_PER_PAGE: usize = 100;

const TAGS: &[&str] = &[
    "story",
    "comment",
    "ask_hn",
    "show_hn",
    "poll",
    "pollopt",
    "job",
    "front_page",
];

/// The `hn_search` dialect.
#[derive(Debug, Clone, Copy)]
pub struct HnSearch;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// The newest `created_at_i` stored: polls ask for this time and later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<i64>,
    /// While catching up: the oldest time seen so far (the next page asks for this and earlier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<i64>,
    /// While catching up: the newest time seen, which becomes `after` once caught up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    newest: Option<i64>,
}

impl Dialect for HnSearch {
    fn default_base(&self, _settings: &Value) -> Option<String> {
        Some("https://hn.algolia.com".into())
    }

    fn settings(&self, settings: &Value) -> Result<Value, FieldError> {
        let map = object(settings, &["query", "tags"])?;
        let q = query(map, "query", 500)?;
        let mut out = json!({ "query": q });
        match map.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::String(t))
                if !t.is_empty() && t.split(',').all(|t| TAGS.contains(&t.trim())) =>
            {
                out["tags"] = json!(t.split(',').map(str::trim).collect::<Vec<_>>().join(","));
            }
            Some(_) => {
                return Err(FieldError::new(
                    "tags",
                    format!("expected a comma-separated list of {}", TAGS.join(", ")),
                ));
            }
        }
        Ok(out)
    }

    fn request(&self, base: &Url, settings: &Value, cursor: Option<&str>) -> Result<Url, String> {
        let c: Cursor = read_cursor(cursor).unwrap_or_default();
        let mut url = base
            .join("/api/v1/search_by_date")
            .map_err(|e| e.to_string())?;
        let mut filters = vec![];
        if let Some(after) = c.after {
            filters.push(format!("created_at_i>={after}"));
        }
        if let Some(before) = c.before {
            filters.push(format!("created_at_i<={before}"));
        }
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("query", settings["query"].as_str().unwrap_or_default());
            if let Some(tags) = settings["tags"].as_str() {
                q.append_pair("tags", tags);
            }
            if !filters.is_empty() {
                q.append_pair("numericFilters", &filters.join(","));
            }
            q.append_pair("hitsPerPage", &HITS_PER_PAGE.to_string());
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
        let hits = doc
            .get("hits")
            .and_then(Value::as_array)
            .ok_or_else(|| FeedError("an Algolia answer without `hits`".into()))?;
        let nb_hits = doc.get("nbHits").and_then(Value::as_u64).unwrap_or(0) as usize;
        let items: Vec<RawItem> = hits.iter().filter_map(item).collect();
        let times: Vec<i64> = hits
            .iter()
            .filter_map(|h| h.get("created_at_i").and_then(Value::as_i64))
            .collect();
        let c: Cursor = read_cursor(cursor).unwrap_or_default();
        let newest = times
            .iter()
            .copied()
            .max()
            .into_iter()
            .chain(c.newest)
            .chain(c.after)
            .max();
        let oldest = times.iter().copied().min();
        // More is new than this page holds, and there is a time to walk back to (never on a
        // source's first polls: they do not walk history).
        let more = c.after.is_some() && hits.len() >= HITS_PER_PAGE && nb_hits > hits.len();
        let next = if more {
            let oldest = oldest.unwrap_or_default();
            // A page of one second only: step past it rather than ask for it again.
            let before = if Some(oldest) == c.before {
                oldest - 1
            } else {
                oldest
            };
            Cursor {
                after: c.after,
                before: Some(before),
                newest,
            }
        } else {
            Cursor {
                after: newest,
                before: None,
                newest: None,
            }
        };
        Ok(Page {
            items,
            cursor: write_cursor(&next),
            more,
        })
    }
}

fn item(hit: &Value) -> Option<RawItem> {
    let id = match hit.get("objectID")? {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let link = format!("https://news.ycombinator.com/item?id={id}");
    let story_url = str_at(hit, "url");
    let text = str_at(hit, "story_text").or_else(|| str_at(hit, "comment_text"));
    let content = match (text, &story_url) {
        (Some(t), _) => Some(t),
        (None, Some(u)) => {
            let u = u.replace('"', "%22").replace('<', "%3C");
            Some(format!("<p><a href=\"{u}\">{u}</a></p>"))
        }
        (None, None) => None,
    };
    let title = str_at(hit, "title")
        .or_else(|| str_at(hit, "story_title").map(|t| format!("Comment on: {t}")));
    let published_at = hit
        .get("created_at_i")
        .and_then(Value::as_i64)
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    Some(RawItem {
        external_id: Some(format!("hn:{id}")),
        url: Some(link),
        title,
        content,
        author: str_at(hit, "author"),
        published_at,
        engagement: Engagement {
            comments: count(hit.get("num_comments")),
            points: signed_count(hit.get("points")),
            ..Engagement::default()
        },
    })
}
