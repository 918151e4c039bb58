//! Text and URLs: HTML to plain text, entities, whitespace and length caps, the sanitiser's
//! settings, and link normalisation (no fragment, no tracking parameters).

use url::Url;

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

/// `s` with every run of whitespace made one space, and none at either end.
pub(super) fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

const BLOCK_TAGS: &[&str] = &[
    "p",
    "br",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "td",
    "th",
    "blockquote",
    "pre",
    "hr",
    "table",
    "section",
    "article",
    "dd",
    "dt",
];

/// Plain text of (sanitised or raw) HTML: tags dropped (block tags become spaces), the
/// contents of script and style dropped, entities decoded, whitespace collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt + 1..];
        let Some(gt) = after.find('>') else {
            // A lone `<` is text.
            out.push('<');
            rest = after;
            continue;
        };
        let tag = &after[..gt];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() && !tag.starts_with('!') && !tag.starts_with('/') {
            out.push('<');
            rest = after;
            continue;
        }
        rest = &after[gt + 1..];
        if (name == "script" || name == "style") && !tag.starts_with('/') {
            let close = format!("</{name}");
            match rest.to_ascii_lowercase().find(&close) {
                Some(i) => {
                    rest = &rest[i..];
                    rest = rest.find('>').map_or("", |j| &rest[j + 1..]);
                }
                None => rest = "",
            }
            out.push(' ');
            continue;
        }
        if BLOCK_TAGS.contains(&name.as_str()) {
            out.push(' ');
        }
    }
    out.push_str(rest);
    collapse_ws(&decode_entities(&out))
}

/// Decodes the entities feeds use: the XML five, `&nbsp;` and a few more, and numeric ones.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|end| {
            let name = &after[..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                "hellip" => Some('…'),
                "mdash" => Some('—'),
                "ndash" => Some('–'),
                "rsquo" => Some('’'),
                "lsquo" => Some('‘'),
                "rdquo" => Some('”'),
                "ldquo" => Some('“'),
                "copy" => Some('©'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
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
