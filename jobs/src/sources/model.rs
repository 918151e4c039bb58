//! What a source is, parsed at the edge: its [`SourceKind`], the [`SourceUrl`] and
//! [`PollEvery`] newtypes, a [`NewSource`] or a [`SourcePatch`] read from a request body (each
//! invalid field named by its path), and the [`Source`] its tenant sees. No queries here: they
//! live in `queries`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use url::Url;
use uuid::Uuid;

use crate::{FieldError, kinds, text};

/// Longest source URL.
pub const MAX_URL_LEN: usize = 2048;
/// Most tags on a source.
pub const MAX_TAGS: usize = 20;
/// Longest tag.
pub const MAX_TAG_LEN: usize = 50;
/// Default interval between polls (15 minutes).
pub const DEFAULT_POLL_EVERY_SECS: i32 = 900;
/// Default requests a minute to the source's host.
pub const DEFAULT_RATE_LIMIT_PER_MIN: i32 = 60;

crate::named_enum! {
    /// What a source is and how its signals arrive.
    pub enum SourceKind {
        /// An RSS 2.0 feed.
        Rss = "rss",
        /// An Atom feed.
        Atom = "atom",
        /// A JSON Feed (jsonfeed.org).
        JsonFeed = "json_feed",
        /// Reddit's public JSON listing (`https://www.reddit.com/r/<sub>/new.json`).
        RedditListing = "reddit_listing",
        /// Signals are posted to `/sources/{id}/signals`; nothing is fetched.
        Push = "push",
        /// Hacker News stories and comments through the Algolia search API (`search_by_date`).
        HnSearch = "hn_search",
        /// Any JSON endpoint, read through a declarative mapping.
        JsonApi = "json_api",
        /// A Mastodon server's hashtag timeline or status search.
        Mastodon = "mastodon",
        /// Bluesky posts through `app.bsky.feed.searchPosts`.
        BlueskySearch = "bluesky_search",
        /// X (Twitter) posts through the API v2 recent search, with a bearer token.
        XSearch = "x_search",
        /// Reddit search through its OAuth API, with an app's client credentials.
        RedditSearch = "reddit_search",
    }
}

impl SourceKind {
    /// Whether the kind searches an API (its `settings` say what to ask, its cursor where
    /// the next poll resumes) rather than reading a feed.
    pub fn is_api(self) -> bool {
        super::apis::dialect(self).is_some()
    }
}
/// A feed URL, checked at the edge: absolute http(s) with a host, no credentials, at most
/// [`MAX_URL_LEN`] characters; the fragment is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUrl(Url);

impl SourceUrl {
    /// Parses and checks `s`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.len() > MAX_URL_LEN {
            return Err(FieldError::new(
                "",
                format!("longer than {MAX_URL_LEN} characters"),
            ));
        }
        let mut url =
            Url::parse(s).map_err(|e| FieldError::new("", format!("not an absolute URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(FieldError::new(
                "",
                "expected an http or https URL with a host",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FieldError::new(
                "",
                "credentials in the URL are not accepted",
            ));
        }
        url.set_fragment(None);
        Ok(Self(url))
    }

    /// The URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The lower-cased host (the rate-limit and circuit key), with a non-default port.
    pub fn host_key(&self) -> String {
        host_key(&self.0)
    }
}

/// The rate-limit key of a URL: its lower-cased host, and its port when not the default.
pub fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// The interval between polls: whole seconds (`900`) or a number with a unit (`"30s"`,
/// `"15m"`, `"2h"`, `"1d"`), from 1 second to 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollEvery(i32);

impl PollEvery {
    /// The longest interval (7 days).
    pub const MAX_SECS: i32 = 7 * 24 * 3600;

    /// Parses a JSON value.
    pub fn parse(v: &Value) -> Result<Self, FieldError> {
        let bad = || {
            FieldError::new(
                "",
                "expected seconds (1 to 604800) or a duration like \"30s\", \"15m\", \"2h\", \"1d\"",
            )
        };
        let secs: i64 = match v {
            Value::Number(n) => n.as_i64().ok_or_else(bad)?,
            Value::String(s) => {
                let every =
                    text::parse_duration(s, Some(Duration::from_secs(1))).ok_or_else(bad)?;
                if every.subsec_nanos() != 0 {
                    return Err(bad());
                }
                i64::try_from(every.as_secs()).map_err(|_| bad())?
            }
            _ => return Err(bad()),
        };
        if !(1..=i64::from(Self::MAX_SECS)).contains(&secs) {
            return Err(bad());
        }
        Ok(Self(secs as i32))
    }

    /// Seconds.
    pub fn secs(self) -> i32 {
        self.0
    }
}

/// Checks a source's `secret` (`None`: none given, or removed by a patch) against what a
/// source of `kind` with these (checked) `settings` takes: a push source's optional signing
/// key, or what its API's dialect names (then required, in the dialect's form).
pub(super) fn check_secret(
    kind: SourceKind,
    settings: &Value,
    secret: Option<&str>,
) -> Result<(), FieldError> {
    if kind == SourceKind::Push {
        return Ok(());
    }
    let dialect = super::apis::dialect(kind);
    match (dialect.and_then(|d| d.secret(settings)), secret) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(FieldError::new(
            "secret",
            format!(
                "a {kind} source takes no secret (push sources take a signing key, x_search a \
                 bearer token, reddit_search `client_id:client_secret`, bluesky_search with \
                 `settings.identifier` an app password)"
            ),
        )),
        (Some(what), None) => Err(FieldError::new("secret", format!("required: {what}"))),
        (Some(_), Some(s)) => dialect
            .map_or(Ok(()), |d| d.check_secret(s))
            .map_err(|e| FieldError::new("secret", e)),
    }
}

/// A push source's signing key, or an API's credentials: 16 to 200 characters.
fn parse_secret(v: &Value) -> Result<Option<String>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if (16..=200).contains(&s.len()) => Ok(Some(s.clone())),
        _ => Err(FieldError::new(
            "",
            "expected a string of 16 to 200 characters, or null",
        )),
    }
}

fn parse_tags(v: &Value) -> Result<Vec<String>, FieldError> {
    let items: Vec<String> = kinds::from_value(v.clone())?;
    if items.len() > MAX_TAGS {
        return Err(FieldError::new("", format!("at most {MAX_TAGS} tags")));
    }
    let mut tags = Vec::with_capacity(items.len());
    for (i, t) in items.into_iter().enumerate() {
        let t = t.trim().to_owned();
        if t.is_empty() || t.chars().count() > MAX_TAG_LEN || t.chars().any(char::is_control) {
            return Err(FieldError::new(
                format!("[{i}]"),
                format!("expected 1 to {MAX_TAG_LEN} printable characters"),
            ));
        }
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    Ok(tags)
}

fn parse_rate(v: &Value) -> Result<i32, FieldError> {
    match v.as_i64() {
        Some(n) if (1..=6000).contains(&n) => Ok(n as i32),
        _ => Err(FieldError::new("", "expected 1 to 6000")),
    }
}

fn parse_bool(v: &Value) -> Result<bool, FieldError> {
    v.as_bool()
        .ok_or_else(|| FieldError::new("", "expected true or false"))
}

fn object(body: Value, allowed: &[&str]) -> Result<serde_json::Map<String, Value>, FieldError> {
    let Value::Object(map) = body else {
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

/// A source to create, parsed at the edge.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSource {
    pub(super) kind: SourceKind,
    pub(super) url: Option<SourceUrl>,
    pub(super) poll_every: PollEvery,
    pub(super) enabled: bool,
    pub(super) tags: Vec<String>,
    pub(super) rate_limit_per_min: i32,
    pub(super) secret: Option<String>,
    pub(super) settings: Value,
}

const CREATE_FIELDS: &[&str] = &[
    "kind",
    "url",
    "poll_every",
    "enabled",
    "tags",
    "rate_limit_per_min",
    "secret",
    "settings",
];

impl TryFrom<Value> for NewSource {
    type Error = FieldError;

    fn try_from(body: Value) -> Result<Self, FieldError> {
        let map = object(body, CREATE_FIELDS)?;
        let kind = match map.get("kind") {
            Some(Value::String(s)) => SourceKind::parse(s).ok_or_else(|| {
                FieldError::new(
                    "kind",
                    format!(
                        "unknown kind {s:?}; expected one of {}",
                        SourceKind::names()
                    ),
                )
            })?,
            Some(_) => return Err(FieldError::new("kind", "expected a string")),
            None => return Err(FieldError::new("kind", "required")),
        };
        let dialect = super::apis::dialect(kind);
        let settings = match (dialect, map.get("settings")) {
            (Some(d), v) => d
                .settings(v.unwrap_or(&Value::Null))
                .map_err(|e| e.under("settings"))?,
            (None, None | Some(Value::Null)) => Value::Object(Default::default()),
            (None, Some(_)) => {
                return Err(FieldError::new("settings", "only API kinds have settings"));
            }
        };
        let url = match (kind, map.get("url")) {
            (SourceKind::Push, None | Some(Value::Null)) => None,
            (SourceKind::Push, Some(_)) => {
                return Err(FieldError::new("url", "push sources have no URL"));
            }
            (_, Some(Value::String(s))) => Some(SourceUrl::parse(s).map_err(|e| e.under("url"))?),
            (_, None | Some(Value::Null)) => {
                match dialect.and_then(|d| d.default_base(&settings)) {
                    Some(base) => Some(SourceUrl::parse(&base).map_err(|e| e.under("url"))?),
                    None => return Err(FieldError::new("url", "required")),
                }
            }
            (_, Some(_)) => return Err(FieldError::new("url", "expected a string")),
        };
        let field = |name: &str| map.get(name).filter(|v| !v.is_null());
        let poll_every = field("poll_every")
            .map(|v| PollEvery::parse(v).map_err(|e| e.under("poll_every")))
            .transpose()?
            .unwrap_or(PollEvery(DEFAULT_POLL_EVERY_SECS));
        let enabled = field("enabled")
            .map(|v| parse_bool(v).map_err(|e| e.under("enabled")))
            .transpose()?
            .unwrap_or(true);
        let tags = field("tags")
            .map(|v| parse_tags(v).map_err(|e| e.under("tags")))
            .transpose()?
            .unwrap_or_default();
        let rate_limit_per_min = field("rate_limit_per_min")
            .map(|v| parse_rate(v).map_err(|e| e.under("rate_limit_per_min")))
            .transpose()?
            .unwrap_or(DEFAULT_RATE_LIMIT_PER_MIN);
        let secret = match map.get("secret") {
            None => None,
            Some(v) => parse_secret(v).map_err(|e| e.under("secret"))?,
        };
        check_secret(kind, &settings, secret.as_deref())?;
        Ok(Self {
            kind,
            url,
            poll_every,
            enabled,
            tags,
            rate_limit_per_min,
            secret,
            settings,
        })
    }
}

/// A change to a source; absent fields stay as they are. The kind never changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourcePatch {
    pub(super) url: Option<SourceUrl>,
    pub(super) poll_every: Option<PollEvery>,
    pub(super) enabled: Option<bool>,
    pub(super) tags: Option<Vec<String>>,
    pub(super) rate_limit_per_min: Option<i32>,
    pub(super) secret: Option<Option<String>>,
}

const PATCH_FIELDS: &[&str] = &[
    "url",
    "poll_every",
    "enabled",
    "tags",
    "rate_limit_per_min",
    "secret",
];

impl TryFrom<Value> for SourcePatch {
    type Error = FieldError;

    fn try_from(body: Value) -> Result<Self, FieldError> {
        let map = object(body, PATCH_FIELDS)?;
        let mut patch = SourcePatch::default();
        for (name, v) in &map {
            let at = |e: FieldError| e.under(name);
            match name.as_str() {
                "url" => match v {
                    Value::String(s) => patch.url = Some(SourceUrl::parse(s).map_err(at)?),
                    _ => return Err(FieldError::new("url", "expected a string")),
                },
                "poll_every" => patch.poll_every = Some(PollEvery::parse(v).map_err(at)?),
                "enabled" => patch.enabled = Some(parse_bool(v).map_err(at)?),
                "tags" => patch.tags = Some(parse_tags(v).map_err(at)?),
                "rate_limit_per_min" => patch.rate_limit_per_min = Some(parse_rate(v).map_err(at)?),
                "secret" => patch.secret = Some(parse_secret(v).map_err(at)?),
                _ => {}
            }
        }
        Ok(patch)
    }
}

/// A source as its tenant sees it (the secret is never shown; `has_secret` says whether there
/// is one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// Its id.
    pub id: Uuid,
    /// How its signals arrive.
    pub kind: SourceKind,
    /// The feed's URL (none for push sources).
    pub url: Option<String>,
    /// The rate-limit key of the URL.
    pub host: Option<String>,
    /// Seconds between polls.
    pub poll_every_secs: i32,
    /// Whether it is polled (or accepts pushes).
    pub enabled: bool,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// Requests a minute to its host, across the fleet.
    pub rate_limit_per_min: i32,
    /// Whether pushed batches must be signed.
    pub has_secret: bool,
    /// What an API kind asks (its query, a mapping); `{}` for feeds and push sources.
    pub settings: Value,
    /// Where the next poll of an API kind resumes (the kind's own JSON document).
    pub cursor: Option<String>,
    /// When the next poll is due.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// When it was last fetched.
    pub last_polled_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last fetch.
    pub last_status: Option<i32>,
    /// Why the last fetch failed, if it did.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A row of `sources` with what only the domain sees.
#[derive(Debug, Clone)]
pub struct SourceRow {
    /// What the tenant sees.
    pub source: Source,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The push signing key, sealed as stored (open it with [`crate::secrets::open`] and
    /// [`super::SECRET_PURPOSE`]).
    pub secret: Option<String>,
    /// The last `ETag`.
    pub etag: Option<String>,
    /// The last `Last-Modified`.
    pub last_modified: Option<String>,
    /// When it was soft-deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn source_urls_are_checked_at_the_edge() {
        let u = SourceUrl::parse(" https://Example.COM:8443/feed.xml#top ").unwrap();
        assert_eq!(u.as_url().as_str(), "https://example.com:8443/feed.xml");
        assert_eq!(u.host_key(), "example.com:8443");
        assert_eq!(
            SourceUrl::parse("http://example.com/x").unwrap().host_key(),
            "example.com"
        );
        for bad in [
            "ftp://example.com/feed",
            "not a url",
            "/relative/feed.xml",
            "https://user:pw@example.com/feed",
            "mailto:someone@example.com",
        ] {
            assert!(SourceUrl::parse(bad).is_err(), "{bad} must be refused");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(SourceUrl::parse(&long).is_err());
    }

    /// Random strings built from URL-ish pieces: parsing never panics, and whatever parses is
    /// stable (parsing its output gives the same URL and host key).
    #[test]
    fn source_url_parsing_is_total_and_stable() {
        const PIECES: &[&str] = &[
            "http",
            "https",
            "ftp",
            "://",
            ":",
            "/",
            "//",
            "@",
            "#",
            "?",
            "=",
            "&",
            "%",
            "%2F",
            "[",
            "]",
            "::1",
            "127.0.0.1",
            "example.com",
            "EXAMPLE.com",
            "xn--bcher-kva.ch",
            "bücher.de",
            ":8080",
            ":99999",
            "user",
            "pw",
            "feed.xml",
            "..",
            ".",
            " ",
            "\t",
            "é",
            "\u{0}",
        ];
        for _ in 0..5000 {
            let n = rand::random_range(1..12);
            let s: String = (0..n)
                .map(|_| PIECES[rand::random_range(0..PIECES.len())])
                .collect();
            if let Ok(u) = SourceUrl::parse(&s) {
                let again = SourceUrl::parse(u.as_url().as_str()).expect("a parsed URL parses");
                assert_eq!(again, u, "{s}");
                assert_eq!(again.host_key(), u.host_key());
                assert!(matches!(u.as_url().scheme(), "http" | "https"));
                assert!(u.as_url().fragment().is_none());
            }
        }
    }

    #[test]
    fn poll_every_takes_seconds_or_units() {
        assert_eq!(PollEvery::parse(&json!(900)).unwrap().secs(), 900);
        assert_eq!(PollEvery::parse(&json!("15m")).unwrap().secs(), 900);
        assert_eq!(PollEvery::parse(&json!("2h")).unwrap().secs(), 7200);
        assert_eq!(PollEvery::parse(&json!("1d")).unwrap().secs(), 86400);
        assert_eq!(PollEvery::parse(&json!("30s")).unwrap().secs(), 30);
        for bad in [
            json!(0),
            json!(-5),
            json!("8d"),
            json!("5 weeks"),
            json!(true),
            json!("m"),
        ] {
            assert!(PollEvery::parse(&bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn new_sources_are_validated_with_paths() {
        let ok = NewSource::try_from(
            json!({"kind": "rss", "url": "https://e.com/feed", "tags": ["a", "a", "b"]}),
        )
        .unwrap();
        assert_eq!(ok.tags, vec!["a", "b"]);
        assert_eq!(ok.rate_limit_per_min, 60);
        assert_eq!(ok.poll_every.secs(), DEFAULT_POLL_EVERY_SECS);
        assert!(NewSource::try_from(json!({"kind": "push", "secret": "0123456789abcdef"})).is_ok());
        let cases = [
            (json!({"url": "https://e.com"}), "kind"),
            (json!({"kind": "gopher", "url": "https://e.com"}), "kind"),
            (json!({"kind": "rss"}), "url"),
            (json!({"kind": "rss", "url": "ftp://e.com"}), "url"),
            (json!({"kind": "push", "url": "https://e.com"}), "url"),
            (
                json!({"kind": "rss", "url": "https://e.com", "poll_every": "soon"}),
                "poll_every",
            ),
            (
                json!({"kind": "rss", "url": "https://e.com", "rate_limit_per_min": 0}),
                "rate_limit_per_min",
            ),
            (
                json!({"kind": "rss", "url": "https://e.com", "tags": ["ok", ""]}),
                "tags[1]",
            ),
            (
                json!({"kind": "rss", "url": "https://e.com", "tags": "x"}),
                "tags",
            ),
            (
                json!({"kind": "rss", "url": "https://e.com", "enabled": "yes"}),
                "enabled",
            ),
            (
                json!({"kind": "rss", "url": "https://e.com", "secret": "0123456789abcdef"}),
                "secret",
            ),
            (
                json!({"kind": "x_search", "settings": {"query": "need a lawyer"}}),
                "secret",
            ),
            (json!({"kind": "push", "secret": "short"}), "secret"),
            (
                json!({"kind": "rss", "url": "https://e.com", "colour": 1}),
                "colour",
            ),
        ];
        for (body, path) in cases {
            let e = NewSource::try_from(body.clone()).unwrap_err();
            assert_eq!(e.path, path, "{body} gave {e}");
        }
    }

    #[test]
    fn patches_name_their_fields() {
        let p = SourcePatch::try_from(json!({"enabled": false, "secret": null})).unwrap();
        assert_eq!(p.enabled, Some(false));
        assert_eq!(p.secret, Some(None));
        let e = SourcePatch::try_from(json!({"kind": "rss"})).unwrap_err();
        assert_eq!(e.path, "kind");
        let e = SourcePatch::try_from(json!({"url": 3})).unwrap_err();
        assert_eq!(e.path, "url");
    }
}
