//! `reddit_search`: Reddit search through its OAuth API (`GET /search.json?q=…&sort=new`, or
//! `GET /r/{subreddit}/search.json?…&restrict_sr=1`) on `https://oauth.reddit.com` unless the
//! source names another, beside `reddit_listing`'s public listings.
//!
//! Credentials: the source's `secret` is `client_id:client_secret` of a Reddit app (sealed at
//! rest, write-only like every secret), exchanged for an application-only token — OAuth client
//! credentials: `POST {auth_base}/api/v1/access_token` with HTTP basic auth and
//! `grant_type=client_credentials`, `auth_base` `https://www.reddit.com` unless the settings
//! name another. The poll keeps the token until a minute before it expires and refreshes it
//! on a 401 ([`super::session`]). Every request carries a `User-Agent` of its own, as Reddit
//! asks of API clients.
//!
//! Settings: `query` (required, Reddit's search syntax, at most 512 characters), `subreddit`
//! (optional: a name like `HomeImprovement`, or several joined by `+`), `auth_base` (optional).
//!
//! Incremental polls: Reddit search has no "since", so the cursor holds the newest post stored
//! (its fullname `t3_…` and creation time). Answers come newest first, [`LIMIT`] a page, with
//! `data.after` to the next (older) page; a poll follows `after` until a page reaches a post at
//! or before the cursor (by id, which grows with time; by creation time when an id does not
//! read), then stops. Every post of the pages read is kept — dedupe absorbs those seen before,
//! and a post indexed late but still on the first page is not lost. The first poll takes the
//! newest page only. Engagement: `score` (points), `num_comments` (comments) and the upvotes
//! `score` and `upvote_ratio` imply (likes). Limits: `X-Ratelimit-Remaining` /
//! `X-Ratelimit-Reset` (seconds from now; `X-Ratelimit-Used` is informative), honoured
//! fleet-wide: about 100 requests a minute per OAuth client, averaged over 10 minutes.

use std::{cmp::Ordering, time::Duration};

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::{
    Dialect, Page, Session, Token, TokenRequest, base_setting, escape, json, object, query,
    read_cursor, str_at, write_cursor,
};
use crate::{
    FieldError,
    sources::feed::{FeedError, RawItem, reddit_children, reddit_item},
};

/// Posts asked for per page (the API's maximum).
pub const LIMIT: usize = 100;

/// Where the search goes unless the source names another URL.
pub const DEFAULT_BASE: &str = "https://oauth.reddit.com";

/// Where tokens are asked for unless `settings.auth_base` names another.
pub const DEFAULT_AUTH_BASE: &str = "https://www.reddit.com";

/// Where permalinks point (the search host is an API host, not one to read posts on).
const SITE: &str = "https://www.reddit.com";

/// How long a token lives when its answer does not say (Reddit's are good for 24 hours).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// Reddit asks API clients for a unique, descriptive `User-Agent`.
const USER_AGENT: &str = concat!(
    "server:demandflow:v",
    env!("CARGO_PKG_VERSION"),
    " (reddit_search sources)"
);

/// The `reddit_search` dialect.
#[derive(Debug, Clone, Copy)]
pub struct RedditSearch;

/// A post, by its fullname and creation time (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Mark {
    name: String,
    created: i64,
}

impl Mark {
    /// The base-36 id of the fullname (`t3_abc` → `abc`), when it reads as one.
    fn id36(&self) -> Option<&str> {
        let id = self
            .name
            .split_once('_')
            .map_or(self.name.as_str(), |p| p.1);
        (!id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()))
        .then_some(id)
    }

    /// Newer or older: by id (ids grow with time), else by creation time.
    fn order(&self, other: &Mark) -> Ordering {
        match (self.id36(), other.id36()) {
            (Some(a), Some(b)) => (a.len(), a).cmp(&(b.len(), b)),
            _ => self.created.cmp(&other.created),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// The newest post stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<Mark>,
    /// While catching up: the `after` of the next (older) page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    /// While catching up: the newest post seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    newest: Option<Mark>,
}

/// A subreddit name (or several joined by `+`), `r/` allowed before it.
fn subreddit(v: &Value) -> Result<String, FieldError> {
    let bad = || {
        FieldError::new(
            "subreddit",
            "expected a subreddit name like \"HomeImprovement\" (2 to 21 letters, digits or _), or several joined by +",
        )
    };
    let s = v.as_str().ok_or_else(bad)?.trim();
    let s = s
        .strip_prefix("/r/")
        .or_else(|| s.strip_prefix("r/"))
        .unwrap_or(s)
        .trim_end_matches('/');
    let ok = s.split('+').all(|name| {
        (2..=21).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if !ok || s.len() > 512 {
        return Err(bad());
    }
    Ok(s.to_owned())
}

impl Dialect for RedditSearch {
    fn default_base(&self, _settings: &Value) -> Option<String> {
        Some(DEFAULT_BASE.into())
    }

    fn settings(&self, settings: &Value) -> Result<Value, FieldError> {
        let map = object(settings, &["query", "subreddit", "auth_base"])?;
        let mut out = json!({
            "query": query(map, "query", 512)?,
            "auth_base": base_setting(map, "auth_base", DEFAULT_AUTH_BASE)?,
        });
        match map.get("subreddit") {
            None | Some(Value::Null) => {}
            Some(v) => out["subreddit"] = json!(subreddit(v)?),
        }
        Ok(out)
    }

    fn secret(&self, _settings: &Value) -> Option<&'static str> {
        Some("the Reddit app's `client_id:client_secret`")
    }

    fn check_secret(&self, secret: &str) -> Result<(), String> {
        match secret.split_once(':') {
            Some((id, key))
                if !id.is_empty()
                    && !key.is_empty()
                    && !secret.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                Ok(())
            }
            _ => Err("expected the Reddit app's `client_id:client_secret`".into()),
        }
    }

    fn session(&self, _settings: &Value) -> Option<&dyn Session> {
        Some(self)
    }

    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[("accept", "application/json"), ("user-agent", USER_AGENT)]
    }

    fn request(&self, base: &Url, settings: &Value, cursor: Option<&str>) -> Result<Url, String> {
        let c: Cursor = read_cursor(cursor).unwrap_or_default();
        let sub = settings["subreddit"].as_str();
        let path = match sub {
            Some(s) => format!("/r/{s}/search.json"),
            None => "/search.json".to_owned(),
        };
        let mut url = base.join(&path).map_err(|e| e.to_string())?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("q", settings["query"].as_str().unwrap_or_default())
                .append_pair("sort", "new")
                .append_pair("type", "link")
                .append_pair("limit", &LIMIT.to_string())
                .append_pair("raw_json", "1");
            if sub.is_some() {
                q.append_pair("restrict_sr", "1");
            }
            if let Some(after) = &c.after {
                q.append_pair("after", after);
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
        let posts = reddit_children(&doc)?;
        let marks: Vec<Mark> = posts.iter().filter_map(|p| mark(p)).collect();
        let c: Cursor = read_cursor(cursor).unwrap_or_default();
        let seen = marks
            .iter()
            .cloned()
            .chain(c.newest.clone())
            .chain(c.last.clone())
            .max_by(Mark::order);
        let reached = c
            .last
            .as_ref()
            .is_some_and(|last| marks.iter().any(|m| m.order(last) != Ordering::Greater));
        let after = doc
            .pointer("/data/after")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
            .map(str::to_owned);
        // Never on a source's first polls (nothing stored yet): they do not walk history.
        let more = c.last.is_some() && !reached && after.is_some() && !posts.is_empty();
        let next = if more {
            Cursor {
                last: c.last,
                after,
                newest: seen,
            }
        } else {
            Cursor {
                last: seen,
                after: None,
                newest: None,
            }
        };
        Ok(Page {
            items: posts.into_iter().map(item).collect(),
            cursor: write_cursor(&next),
            more,
        })
    }
}

impl Session for RedditSearch {
    fn token_request(
        &self,
        settings: &Value,
        secret: &SecretString,
    ) -> Result<TokenRequest, String> {
        let (id, key) = secret
            .expose_secret()
            .split_once(':')
            .ok_or("the secret is not `client_id:client_secret`")?;
        let base = settings["auth_base"].as_str().unwrap_or(DEFAULT_AUTH_BASE);
        let url = Url::parse(base)
            .and_then(|b| b.join("/api/v1/access_token"))
            .map_err(|e| format!("settings.auth_base: {e}"))?;
        Ok(TokenRequest {
            url,
            basic: Some((id.to_owned(), SecretString::from(key))),
            body: SecretString::from("grant_type=client_credentials"),
            content_type: "application/x-www-form-urlencoded",
        })
    }

    fn token(&self, body: &[u8], _now: DateTime<Utc>) -> Result<Token, String> {
        let doc: Value =
            serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_owned())?;
        match str_at(&doc, "access_token") {
            Some(access) => Ok(Token {
                access: SecretString::from(access),
                lifetime: seconds(doc.get("expires_in")).unwrap_or(DEFAULT_LIFETIME),
            }),
            // Reddit answers some refusals with a 200 and an error code.
            None => Err(
                match str_at(&doc, "error").or_else(|| str_at(&doc, "message")) {
                    Some(code) => format!(
                        "error {}",
                        crate::text::storable(&code.chars().take(100).collect::<String>())
                    ),
                    None => "no access_token in the answer".into(),
                },
            ),
        }
    }
}

/// `expires_in` as a lifetime (none: not a positive number of seconds).
fn seconds(v: Option<&Value>) -> Option<Duration> {
    let n = v?.as_f64()?;
    (n.is_finite() && n > 0.0).then(|| Duration::from_secs_f64(n.min(366.0 * 86_400.0)))
}

fn mark(post: &Value) -> Option<Mark> {
    Some(Mark {
        name: str_at(post, "name")?,
        created: post.get("created_utc").and_then(Value::as_f64)? as i64,
    })
}

/// A post: its permalink on the site, its raw text escaped (`raw_json=1` gives text, not
/// HTML), its engagement with the upvotes implied by the ratio.
fn item(post: &Value) -> RawItem {
    let site = Url::parse(SITE).expect("a static URL");
    let mut item = reddit_item(post, &site);
    item.title = item.title.map(|t| escape(&t));
    item.content = item.content.map(|t| escape(&t));
    item.engagement.likes = upvotes(
        item.engagement.points,
        post.get("upvote_ratio").and_then(Value::as_f64),
    );
    item
}

/// The upvotes a `score` (up − down) and an `upvote_ratio` (up / (up + down)) imply:
/// up = score · ratio / (2 · ratio − 1). Unknown at a ratio of one half or below (the score
/// then says nothing of the count) and for a score of zero or less.
fn upvotes(score: Option<i32>, ratio: Option<f64>) -> Option<i32> {
    let (score, ratio) = (f64::from(score?), ratio?);
    if !(ratio > 0.5 && ratio <= 1.0) || score <= 0.0 {
        return None;
    }
    let up = (score * ratio / (2.0 * ratio - 1.0)).round();
    up.is_finite().then(|| up.min(f64::from(i32::MAX)) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upvotes_follow_from_score_and_ratio() {
        assert_eq!(upvotes(Some(10), Some(1.0)), Some(10));
        // 15 up, 5 down: score 10, ratio 0.75.
        assert_eq!(upvotes(Some(10), Some(0.75)), Some(15));
        assert_eq!(upvotes(Some(0), Some(0.5)), None);
        assert_eq!(upvotes(Some(-3), Some(0.4)), None);
        assert_eq!(upvotes(Some(10), None), None);
        assert_eq!(
            upvotes(Some(i32::MAX), Some(0.6)),
            Some(i32::MAX),
            "saturates"
        );
    }

    #[test]
    fn marks_order_by_id_then_by_time() {
        let m = |name: &str, created| Mark {
            name: name.into(),
            created,
        };
        assert_eq!(m("t3_zz", 5).order(&m("t3_100", 1)), Ordering::Less);
        assert_eq!(m("t3_abd", 1).order(&m("t3_abc", 9)), Ordering::Greater);
        assert_eq!(m("t3_abc", 1).order(&m("t3_abc", 1)), Ordering::Equal);
        assert_eq!(m("odd name", 9).order(&m("t3_abc", 1)), Ordering::Greater);
    }
}
