//! Bytes to items: the character set, then RSS 2.0, Atom and JSON Feed (feed-rs) or a Reddit
//! listing. Nothing here panics on input: a document that cannot be read is a [`FeedError`].
//!
//! Character sets: an XML feed that declares its encoding in its prolog is handed to feed-rs
//! as it came (feed-rs decodes by the declaration). One that declares none is decoded by the
//! HTTP `charset`, else as UTF-8, else (bytes that are not UTF-8) as windows-1252, the usual
//! mislabelled suspect. JSON is decoded by the HTTP `charset`, else as UTF-8.

use std::borrow::Cow;

use chrono::{DateTime, TimeZone, Utc};
use encoding_rs::Encoding;
use serde_json::Value;
use url::Url;

use super::SourceKind;

/// Most items taken from one document.
pub const MAX_ITEMS: usize = 20_000;

/// One entry of a feed, as written (HTML and entities included, links maybe relative).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawItem {
    /// The feed's id of the entry (guid, id, `t3_...`).
    pub external_id: Option<String>,
    /// Its link.
    pub url: Option<String>,
    /// Its title (may hold HTML).
    pub title: Option<String>,
    /// Its content or summary (HTML or text).
    pub content: Option<String>,
    /// Who wrote it.
    pub author: Option<String>,
    /// When it was published (or last updated).
    pub published_at: Option<DateTime<Utc>>,
    /// Likes, reposts, comments and points, where the source gives them.
    pub engagement: Engagement,
}

/// An item's engagement as its source reported it; `None` where the source gives no number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Engagement {
    /// Likes, favourites, hearts.
    pub likes: Option<i32>,
    /// Reposts, boosts, retweets, quotes.
    pub reposts: Option<i32>,
    /// Comments, replies.
    pub comments: Option<i32>,
    /// A score or votes (Hacker News points, a Reddit score); may be negative.
    pub points: Option<i32>,
}

impl Engagement {
    /// Whether the source gave any number.
    pub fn is_known(&self) -> bool {
        self.likes.is_some()
            || self.reposts.is_some()
            || self.comments.is_some()
            || self.points.is_some()
    }
}

/// A JSON count as an `i32` (negative counts and non-numbers are none; huge ones saturate).
pub fn count(v: Option<&Value>) -> Option<i32> {
    let n = v?.as_f64()?;
    (n.is_finite() && n >= 0.0).then(|| n.min(f64::from(i32::MAX)) as i32)
}

/// A JSON score as an `i32` (negative allowed; saturating).
pub fn signed_count(v: Option<&Value>) -> Option<i32> {
    let n = v?.as_f64()?;
    n.is_finite()
        .then(|| n.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32)
}

/// A document that is not a feed of the expected format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed feed: {0}")]
pub struct FeedError(pub String);

/// Parses `bytes` (served with `content_type`) as a feed of `kind`; relative links resolve
/// against `base`.
pub fn parse(
    kind: SourceKind,
    bytes: &[u8],
    content_type: Option<&str>,
    base: &Url,
) -> Result<Vec<RawItem>, FeedError> {
    let mut items = match kind {
        SourceKind::RedditListing => reddit(&decode_text(bytes, content_type), base)?,
        _ => standard(bytes, content_type, base)?,
    };
    items.truncate(MAX_ITEMS);
    Ok(items)
}

/// The `charset` parameter of a `Content-Type`.
fn http_charset(content_type: Option<&str>) -> Option<&'static Encoding> {
    let ct = content_type?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(v.trim().trim_matches('"').as_bytes())
        } else {
            None
        }
    })
}

/// Text by BOM, then the HTTP charset, then UTF-8 (lossy).
fn decode_text<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom..]).0;
    }
    let enc = http_charset(content_type).unwrap_or(encoding_rs::UTF_8);
    enc.decode_without_bom_handling(bytes).0
}

/// Whether an XML document's prolog declares its encoding.
fn declares_encoding(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF)
        .unwrap_or(0);
    let head = &bytes[start..bytes.len().min(start + 200)];
    if !head.starts_with(b"<?xml") {
        return false;
    }
    let end = head
        .windows(2)
        .position(|w| w == b"?>")
        .unwrap_or(head.len());
    head[..end].windows(8).any(|w| w == b"encoding")
}

/// The bytes feed-rs should see: UTF-8 unless the prolog says otherwise.
fn xml_bytes<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    if declares_encoding(bytes) {
        return Cow::Borrowed(bytes);
    }
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        if enc == encoding_rs::UTF_8 {
            return Cow::Borrowed(&bytes[bom..]);
        }
        return Cow::Owned(
            enc.decode_without_bom_handling(&bytes[bom..])
                .0
                .into_owned()
                .into_bytes(),
        );
    }
    let enc = match http_charset(content_type) {
        Some(enc) => enc,
        None if std::str::from_utf8(bytes).is_ok() => return Cow::Borrowed(bytes),
        None => encoding_rs::WINDOWS_1252,
    };
    if enc == encoding_rs::UTF_8 {
        return Cow::Borrowed(bytes);
    }
    Cow::Owned(
        enc.decode_without_bom_handling(bytes)
            .0
            .into_owned()
            .into_bytes(),
    )
}

fn standard(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &Url,
) -> Result<Vec<RawItem>, FeedError> {
    let first = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace() && !matches!(b, 0xEF | 0xBB | 0xBF | 0xFE | 0xFF | 0));
    let input: Cow<'_, [u8]> = match first {
        Some(b'{') => Cow::Owned(decode_text(bytes, content_type).into_owned().into_bytes()),
        _ => xml_bytes(bytes, content_type),
    };
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .build();
    let feed = parser
        .parse(input.as_ref())
        .map_err(|e| FeedError(e.to_string()))?;
    Ok(feed
        .entries
        .into_iter()
        .map(|e| {
            let url = e
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
                .or(e.links.first())
                .map(|l| l.href.clone());
            let content = e
                .content
                .and_then(|c| c.body)
                .or(e.summary.map(|s| s.content));
            RawItem {
                external_id: Some(e.id).filter(|s| !s.is_empty()),
                url,
                title: e.title.map(|t| t.content),
                content,
                author: e.authors.into_iter().find_map(|p| p.name.or(p.email)),
                published_at: e.published.or(e.updated),
                engagement: Engagement::default(),
            }
        })
        .collect())
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

/// A Reddit listing: `{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {...}}]}}`
/// (`score` and `num_comments` are kept as engagement).
pub(crate) fn reddit(text: &str, base: &Url) -> Result<Vec<RawItem>, FeedError> {
    let doc: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| FeedError(format!("not JSON: {e}")))?;
    Ok(reddit_children(&doc)?
        .into_iter()
        .map(|d| reddit_item(d, base))
        .collect())
}

/// The `data` of each child of a Reddit listing, in order; an error when `doc` is no listing.
pub(crate) fn reddit_children(doc: &Value) -> Result<Vec<&Value>, FeedError> {
    if doc.get("kind").and_then(Value::as_str) != Some("Listing") {
        return Err(FeedError(
            "expected a Reddit listing (`\"kind\": \"Listing\"`)".into(),
        ));
    }
    let children = doc
        .pointer("/data/children")
        .and_then(Value::as_array)
        .ok_or_else(|| FeedError("a Reddit listing without `data.children`".into()))?;
    Ok(children.iter().filter_map(|c| c.get("data")).collect())
}

/// The `data` of a Reddit listing's child (a post, `t3`, or a comment, `t1`) as an item; its
/// `permalink` resolves against `base`.
pub(crate) fn reddit_item(d: &Value, base: &Url) -> RawItem {
    let permalink = str_of(d, "permalink").and_then(|p| base.join(&p).ok());
    let url = permalink
        .map(|u| u.to_string())
        .or_else(|| str_of(d, "url"));
    let content = str_of(d, "selftext").or_else(|| str_of(d, "body"));
    let published_at = d
        .get("created_utc")
        .and_then(Value::as_f64)
        .and_then(|t| Utc.timestamp_opt(t as i64, 0).single());
    RawItem {
        external_id: str_of(d, "name").or_else(|| str_of(d, "id")),
        url,
        title: str_of(d, "title"),
        content,
        author: str_of(d, "author").filter(|a| a != "[deleted]"),
        published_at,
        engagement: Engagement {
            comments: count(d.get("num_comments")),
            points: signed_count(d.get("score")),
            ..Engagement::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.com/blog/feed.xml").unwrap()
    }

    #[test]
    fn rss_with_cdata_entities_and_missing_dates() {
        let xml = br#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>t</title>
<item><title><![CDATA[Need a <b>plumber</b> &amp; fast]]></title><link>/posts/1</link>
<description>Tom &amp; Jerry&#39;s pipes</description><guid>p1</guid></item>
<item><title>Second</title><link>https://example.com/2</link></item>
</channel></rss>"#;
        let items = parse(SourceKind::Rss, xml, None, &base()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].external_id.as_deref(), Some("p1"));
        assert!(items[0].title.as_deref().unwrap().contains("plumber"));
        assert_eq!(
            items[0].content.as_deref(),
            Some("Tom & Jerry's pipes"),
            "entities are decoded"
        );
        assert_eq!(items[0].published_at, None);
        assert_eq!(items[1].url.as_deref(), Some("https://example.com/2"));
    }

    #[test]
    fn a_latin1_feed_is_decoded_by_its_prolog_or_its_header() {
        let mut xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>t</title><item><title>Caf".to_vec();
        xml.push(0xE9);
        xml.extend_from_slice(b"</title><guid>1</guid></item></channel></rss>");
        let items = parse(SourceKind::Rss, &xml, None, &base()).unwrap();
        assert_eq!(items[0].title.as_deref(), Some("Café"));

        let mut bare = b"<rss version=\"2.0\"><channel><title>t</title><item><title>Caf".to_vec();
        bare.push(0xE9);
        bare.extend_from_slice(b"</title><guid>1</guid></item></channel></rss>");
        let items = parse(
            SourceKind::Rss,
            &bare,
            Some("application/rss+xml; charset=iso-8859-1"),
            &base(),
        )
        .unwrap();
        assert_eq!(items[0].title.as_deref(), Some("Café"));
        // No label at all, and not UTF-8: windows-1252.
        let items = parse(SourceKind::Rss, &bare, None, &base()).unwrap();
        assert_eq!(items[0].title.as_deref(), Some("Café"));
    }

    #[test]
    fn atom_and_json_feed() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><id>f</id><updated>2025-01-01T00:00:00Z</updated>
<entry><id>e1</id><title type="html">Hello &lt;i&gt;there&lt;/i&gt;</title><updated>2025-01-02T00:00:00Z</updated>
<link href="entries/1"/><author><name>Ann</name></author><content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>"#;
        let items = parse(SourceKind::Atom, atom, None, &base()).unwrap();
        assert_eq!(items[0].author.as_deref(), Some("Ann"));
        assert_eq!(items[0].content.as_deref(), Some("<p>Body</p>"));
        assert!(items[0].published_at.is_some());

        let json = br#"{"version": "https://jsonfeed.org/version/1.1", "title": "j",
            "items": [{"id": "1", "url": "https://example.com/j/1", "title": "J1", "content_html": "<p>x</p>",
                       "authors": [{"name": "Bo"}], "date_published": "2025-02-03T04:05:06Z"}]}"#;
        let items = parse(
            SourceKind::JsonFeed,
            json,
            Some("application/feed+json"),
            &base(),
        )
        .unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].title.as_deref(), Some("J1"));
        assert_eq!(items[0].author.as_deref(), Some("Bo"));
    }

    #[test]
    fn reddit_listings() {
        let json = br#"{"kind": "Listing", "data": {"children": [
            {"kind": "t3", "data": {"name": "t3_abc", "title": "Anyone know a roofer?", "selftext": "Leak in the attic",
             "author": "u1", "permalink": "/r/homeowners/comments/abc/x/", "created_utc": 1700000000.0,
             "score": 12, "num_comments": 3}},
            {"kind": "t3", "data": {"name": "t3_def", "title": "Link post", "url": "https://news.example/a", "author": "[deleted]"}}]}}"#;
        let items = parse(SourceKind::RedditListing, json, None, &base()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].url.as_deref(),
            Some("https://example.com/r/homeowners/comments/abc/x/")
        );
        assert_eq!(items[0].external_id.as_deref(), Some("t3_abc"));
        assert!(items[0].published_at.is_some());
        assert_eq!(items[0].engagement.points, Some(12));
        assert_eq!(items[0].engagement.comments, Some(3));
        assert!(!items[1].engagement.is_known());
        assert_eq!(items[1].author, None);
        assert_eq!(items[1].url.as_deref(), Some("https://news.example/a"));
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        for (kind, doc) in [
            (
                SourceKind::Rss,
                &b"<rss version=\"2.0\"><channel><item><title>x</ti"[..],
            ),
            (SourceKind::Rss, b"<html><body>not a feed</body></html>"),
            (SourceKind::Rss, b""),
            (SourceKind::Atom, b"\xff\xfe\x00garbage"),
            (SourceKind::JsonFeed, b"{\"version\": 3"),
            (SourceKind::RedditListing, b"{\"kind\": \"t3\"}"),
            (SourceKind::RedditListing, b"[1, 2"),
            (
                SourceKind::RedditListing,
                b"{\"kind\": \"Listing\", \"data\": 4}",
            ),
        ] {
            assert!(parse(kind, doc, None, &base()).is_err(), "{doc:?}");
        }
    }
}
