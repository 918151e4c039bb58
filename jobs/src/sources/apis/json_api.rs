//! `json_api`: any JSON endpoint, read through a declarative mapping given at create.
//!
//! Settings:
//!
//! ```json
//! {"items": "/data/posts",
//!  "fields": {"id": "/id", "title": "/title", "text": "/body", "author": "/user/name",
//!             "url": "/link", "published": "/created_at",
//!             "likes": "/stats/likes", "reposts": "/stats/shares", "comments": "/stats/replies",
//!             "points": "/score"},
//!  "paging": {"cursor": "/next_cursor", "param": "cursor"}}
//! ```
//!
//! Every place is a JSON Pointer (RFC 6901; `""` is the whole document): `items` in the answer
//! (an array), each field within one item. `fields.id` is required, and `title` or `text`;
//! the rest are optional. A published time is RFC 3339 text or a Unix time (seconds, or
//! milliseconds when above 10¹²); a count is a number.
//!
//! Paging (optional) reads the next cursor at `paging.cursor` and sends it as the query
//! parameter `paging.param`. It is meant for forward cursors (a changes feed: the next cursor
//! points at what came after): the last cursor is stored with the page's signals, and the
//! next poll resumes from it. Without paging, each poll reads the URL as it is and dedupe
//! keeps each item once, which suits a newest-first endpoint. No credentials: put a public
//! token in the URL's query if the endpoint needs one (it is shown like the rest of the URL).

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;

use super::{Dialect, Page, json, object, read_cursor, write_cursor};
use crate::{
    FieldError,
    sources::feed::{Engagement, FeedError, RawItem, count, signed_count},
};

/// Longest JSON Pointer in a mapping.
pub const MAX_POINTER: usize = 200;

const FIELDS: &[&str] = &[
    "id",
    "title",
    "text",
    "author",
    "url",
    "published",
    "likes",
    "reposts",
    "comments",
    "points",
];

/// The `json_api` dialect.
#[derive(Debug, Clone, Copy)]
pub struct JsonApi;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// The last next-cursor the API gave.
    next: String,
}

fn pointer(v: &Value) -> Result<String, FieldError> {
    match v {
        Value::String(s)
            if s.len() <= MAX_POINTER
                && (s.is_empty() || s.starts_with('/'))
                && !s.chars().any(char::is_control) =>
        {
            Ok(s.clone())
        }
        _ => Err(FieldError::new(
            "",
            format!(
                "expected a JSON Pointer (\"\" or starting with \"/\", at most {MAX_POINTER} characters)"
            ),
        )),
    }
}

fn param_name(v: &Value) -> Result<String, FieldError> {
    match v {
        Value::String(s)
            if (1..=64).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.[]".contains(c)) =>
        {
            Ok(s.clone())
        }
        _ => Err(FieldError::new(
            "",
            "expected a query parameter name of 1 to 64 letters, digits, _ - . [ ]",
        )),
    }
}

impl Dialect for JsonApi {
    fn default_base(&self, _settings: &Value) -> Option<String> {
        None
    }

    fn settings(&self, settings: &Value) -> Result<Value, FieldError> {
        let map = object(settings, &["items", "fields", "paging"])?;
        let items = match map.get("items") {
            None | Some(Value::Null) => return Err(FieldError::new("items", "required")),
            Some(v) => pointer(v).map_err(|e| e.under("items"))?,
        };
        let fields_in = match map.get("fields") {
            None | Some(Value::Null) => return Err(FieldError::new("fields", "required")),
            Some(v) => object(v, FIELDS).map_err(|e| e.under("fields"))?,
        };
        let mut fields = Map::new();
        for (name, v) in fields_in {
            if v.is_null() {
                continue;
            }
            fields.insert(
                name.clone(),
                Value::String(pointer(v).map_err(|e| e.under(name).under("fields"))?),
            );
        }
        if !fields.contains_key("id") {
            return Err(FieldError::new(
                "fields.id",
                "required: where an item's id is",
            ));
        }
        if !fields.contains_key("title") && !fields.contains_key("text") {
            return Err(FieldError::new("fields", "map `title` or `text` (or both)"));
        }
        let mut out = json!({ "items": items, "fields": fields });
        match map.get("paging") {
            None | Some(Value::Null) => {}
            Some(v) => {
                let p = object(v, &["cursor", "param"]).map_err(|e| e.under("paging"))?;
                let cursor = pointer(p.get("cursor").unwrap_or(&Value::Null))
                    .map_err(|e| e.under("cursor").under("paging"))?;
                let param = param_name(p.get("param").unwrap_or(&Value::Null))
                    .map_err(|e| e.under("param").under("paging"))?;
                out["paging"] = json!({ "cursor": cursor, "param": param });
            }
        }
        Ok(out)
    }

    fn request(&self, base: &Url, settings: &Value, cursor: Option<&str>) -> Result<Url, String> {
        let mut url = base.clone();
        if let (Some(param), Some(c)) = (
            settings.pointer("/paging/param").and_then(Value::as_str),
            read_cursor::<Cursor>(cursor),
        ) {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != param)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair(param, &c.next);
        }
        Ok(url)
    }

    fn page(
        &self,
        body: &[u8],
        _headers: &HeaderMap,
        settings: &Value,
        cursor: Option<&str>,
    ) -> Result<Page, FeedError> {
        let doc = json(body)?;
        let at = settings["items"].as_str().unwrap_or_default();
        let list = doc
            .pointer(at)
            .and_then(Value::as_array)
            .ok_or_else(|| FeedError(format!("no array at the items pointer {at:?}")))?;
        let fields = &settings["fields"];
        let items = list.iter().filter_map(|v| item(v, fields)).collect();
        let previous = read_cursor::<Cursor>(cursor).map(|c| c.next);
        let next = settings
            .pointer("/paging/cursor")
            .and_then(Value::as_str)
            .and_then(|p| doc.pointer(p))
            .and_then(scalar)
            .filter(|n| Some(n) != previous.as_ref());
        Ok(match next {
            Some(next) => Page {
                items,
                cursor: write_cursor(&Cursor { next }),
                more: true,
            },
            None => Page {
                items,
                cursor: None,
                more: false,
            },
        })
    }
}

/// A string or a number as text (ids and cursors come as either).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// RFC 3339 text, or a Unix time in seconds (milliseconds above 10¹²).
fn time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| s.trim().parse::<f64>().ok().and_then(epoch)),
        Value::Number(n) => n.as_f64().and_then(epoch),
        _ => None,
    }
}

fn epoch(n: f64) -> Option<DateTime<Utc>> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let ms = if n > 1e12 { n } else { n * 1000.0 };
    DateTime::from_timestamp_millis(ms.min(1e15) as i64)
}

fn item(v: &Value, fields: &Value) -> Option<RawItem> {
    let get = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .and_then(|p| v.pointer(p))
    };
    let text = |name: &str| get(name).and_then(scalar);
    Some(RawItem {
        external_id: Some(text("id")?),
        url: text("url"),
        title: text("title"),
        content: text("text"),
        author: text("author"),
        published_at: get("published").and_then(time),
        engagement: Engagement {
            likes: count(get("likes")),
            reposts: count(get("reposts")),
            comments: count(get("comments")),
            points: signed_count(get("points")),
        },
    })
}
