//! Text and URLs: length caps, the sanitiser's settings, and link normalisation (no fragment,
//! no tracking parameters). HTML to text, entities and white space are [`crate::text`]'s (one
//! linear pass, NUL made storable); they are re-exported here for the stages.

use url::Url;

pub use crate::text::{collapse_ws, decode_entities, html_to_text};

/// Longest URL kept; a longer one is dropped.
pub const MAX_URL: usize = 2048;

/// Query parameters that only track clicks; dropped from signal URLs.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ref_src", "igshid", "yclid",
];

/// The first `max` characters of `s`.
pub(super) fn cap(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

/// Normalises a link: resolved against `base`, http(s) only, lower-cased host, no fragment,
/// no `utm_*` or click-tracking parameters, at most [`MAX_URL`] characters.
pub fn normalize_url(raw: &str, base: Option<&Url>) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let mut url = match base {
        Some(b) => b.join(raw).ok()?,
        None => Url::parse(raw).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
            })
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    let s = url.to_string();
    (s.len() <= MAX_URL).then_some(s)
}

/// The sanitiser: safe tags only, links `nofollow`, relative links resolved against `base`
/// (or dropped without one).
pub(super) fn sanitizer(base: Option<&Url>) -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer nofollow"));
    b.url_schemes(["http", "https", "mailto"].into_iter().collect());
    match base {
        Some(base) => {
            b.url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()));
        }
        None => {
            b.url_relative(ammonia::UrlRelative::Deny);
        }
    }
    b
}

/// The lower-cased words of `text` (runs of letters and digits).
pub(super) fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ingest::{item, prepare};

    #[test]
    fn urls_are_normalised() {
        let base = Url::parse("https://Example.com/a/b").unwrap();
        assert_eq!(
            normalize_url("../c?utm_source=x&id=3&fbclid=9#frag", Some(&base)).as_deref(),
            Some("https://example.com/c?id=3")
        );
        assert_eq!(
            normalize_url("HTTP://EXAMPLE.com:80/x?utm_medium=y", None).as_deref(),
            Some("http://example.com/x")
        );
        assert_eq!(normalize_url("javascript:alert(1)", Some(&base)), None);
        assert_eq!(normalize_url("", Some(&base)), None);
        assert_eq!(normalize_url("/relative", None), None);
    }

    #[test]
    fn entities_decode_and_broken_html_does_not_panic() {
        assert_eq!(
            decode_entities("a &amp; b &#233; &#xE9; &bogus; &"),
            "a & b é é &bogus; &"
        );
        assert_eq!(
            html_to_text("<p>one</p><p>two<br>three</p> 1 < 2"),
            "one two three 1 < 2"
        );
        let _ = prepare(item("<<<>>>", "<a href=<p <script"), None);
    }
}
