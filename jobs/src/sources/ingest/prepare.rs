//! An item made ready to store (pure, CPU only): sanitised HTML and its text, the normalised
//! URL, capped lengths, the language, and the two hashes (exact and near duplicates). Every
//! string it hands on is storable ([`crate::text`]): a NUL anywhere in an item (raw, or written
//! `&#0;`) becomes U+FFFD, so no item can fail the write that stores it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use super::{
    simhash::simhash,
    text::{cap, collapse_ws, html_to_text, normalize_url, sanitizer, words_of},
};
use crate::{
    sources::feed::{Engagement, RawItem},
    text,
};

/// Longest title kept (characters).
pub const MAX_TITLE: usize = 500;
/// Longest plain text kept (characters).
pub const MAX_TEXT: usize = 20_000;
/// Longest HTML taken in (characters); the sanitised HTML is made from this much.
pub const MAX_HTML: usize = 50_000;
/// Longest author kept.
pub const MAX_AUTHOR: usize = 200;
/// Longest external id kept.
pub const MAX_EXTERNAL_ID: usize = 500;

/// Characters of title and text the language is detected from.
const LANGUAGE_SAMPLE: usize = 400;

/// An item made ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The feed's id of the entry.
    pub external_id: Option<String>,
    /// The normalised URL.
    pub url: Option<String>,
    /// Plain-text title.
    pub title: String,
    /// Sanitised HTML.
    pub body_html: String,
    /// Plain text of the body.
    pub body_text: String,
    /// Who wrote it.
    pub author: Option<String>,
    /// ISO 639-3 code, when detection is reliable.
    pub language: Option<String>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// SHA-256 of the normalised content.
    pub content_hash: [u8; 32],
    /// 64-bit simhash of the word shingles.
    pub simhash: i64,
    /// Links in the body (for the link-density gate).
    pub links: usize,
    /// Words in title and body.
    pub words: usize,
    /// Likes, reposts, comments and points, where the source gave them.
    pub engagement: Engagement,
}

/// Makes a raw item ready to store (see the module docs). `base` resolves relative links.
pub fn prepare(item: RawItem, base: Option<&Url>) -> Prepared {
    let raw_html = cap(item.content.as_deref().unwrap_or_default(), MAX_HTML);
    let mut body_html = sanitizer(base).clean(&raw_html).to_string();
    text::make_storable(&mut body_html);
    let links = body_html.matches("<a ").count()
        + body_html
            .matches("http://")
            .count()
            .saturating_sub(body_html.matches("href=\"http://").count())
        + body_html
            .matches("https://")
            .count()
            .saturating_sub(body_html.matches("href=\"https://").count());
    let body_text = cap(&html_to_text(&body_html), MAX_TEXT);
    let title = cap(
        &html_to_text(item.title.as_deref().unwrap_or_default()),
        MAX_TITLE,
    );
    let url = item
        .url
        .as_deref()
        .and_then(|u| normalize_url(u, base))
        .map(|u| text::storable(&u).into_owned());
    let author = item
        .author
        .map(|a| cap(&collapse_ws(&html_to_text(&a)), MAX_AUTHOR))
        .filter(|a| !a.is_empty());
    let external_id = item
        .external_id
        .map(|e| cap(&text::storable(e.trim()), MAX_EXTERNAL_ID))
        .filter(|e| !e.is_empty());

    let title_words = words_of(&title);
    let body_words = words_of(&body_text);
    let mut all_words = title_words;
    all_words.extend(body_words);
    let simhash = simhash(&all_words) as i64;
    let mut hasher = Sha256::new();
    hasher.update(all_words.join(" ").as_bytes());
    if body_text.is_empty() {
        // Title-only posts ("Help!") differ by where they are.
        hasher.update(b"\x1f");
        hasher.update(url.as_deref().unwrap_or_default().as_bytes());
    }
    let content_hash: [u8; 32] = hasher.finalize().into();
    let detect_on = if body_text.len() >= 40 {
        format!("{title}. {body_text}")
    } else {
        format!("{title} {body_text}")
    };
    // A few hundred characters tell the language as well as the whole text, at a fraction
    // of the cost (detection is most of `prepare`'s time on long posts).
    let language = whatlang::detect(&cap(&detect_on, LANGUAGE_SAMPLE))
        .filter(|info| info.is_reliable())
        .map(|info| info.lang().code().to_owned());
    Prepared {
        external_id,
        url,
        title,
        body_html,
        body_text,
        author,
        language,
        published_at: item.published_at,
        content_hash,
        simhash,
        links,
        words: all_words.len(),
        engagement: item.engagement,
    }
}

/// [`prepare`] for many items, spread over the machine's cores (a 10,000-item feed is
/// CPU work: sanitising and language detection). Keeps the order.
pub fn prepare_all(items: Vec<RawItem>, base: Option<&Url>) -> Vec<Prepared> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8);
    if threads < 2 || items.len() < 256 {
        return items.into_iter().map(|i| prepare(i, base)).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let mut chunks: Vec<Vec<RawItem>> = Vec::with_capacity(threads);
    let mut items = items.into_iter();
    loop {
        let part: Vec<RawItem> = items.by_ref().take(chunk).collect();
        if part.is_empty() {
            break;
        }
        chunks.push(part);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|part| {
                scope.spawn(move || {
                    part.into_iter()
                        .map(|i| prepare(i, base))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::sources::{
        SourceKind, feed,
        ingest::{hamming, item, normalize_url},
    };

    #[test]
    fn scripts_styles_and_handlers_are_removed_and_text_is_kept() {
        let base = Url::parse("https://example.com/blog/").unwrap();
        let p = prepare(
            item(
                "Hello &amp; <b>welcome</b>",
                r#"<p onclick="steal()">Hi <a href="/x" onmouseover="y()">there</a></p><script>alert(1)</script><style>p{}</style><img src="javascript:alert(2)"><a href="javascript:alert(3)">bad</a>"#,
            ),
            Some(&base),
        );
        assert_eq!(p.title, "Hello & welcome");
        for bad in [
            "onclick",
            "onmouseover",
            "<script",
            "alert(1)",
            "<style",
            "javascript:",
        ] {
            assert!(
                !p.body_html.contains(bad),
                "{bad} survived: {}",
                p.body_html
            );
        }
        assert!(
            p.body_html.contains(r#"href="https://example.com/x""#),
            "{}",
            p.body_html
        );
        assert_eq!(p.body_text, "Hi there bad");
    }

    #[test]
    fn preparing_in_parallel_keeps_the_order() {
        let items: Vec<RawItem> = (0..1000)
            .map(|i| item(&format!("title {i}"), &format!("body of item {i}")))
            .collect();
        let serial: Vec<Prepared> = items.iter().cloned().map(|i| prepare(i, None)).collect();
        assert_eq!(prepare_all(items, None), serial);
    }

    /// Random markup soup: nothing panics, the sanitised HTML never carries a script or an
    /// event handler, and normalising a normalised URL changes nothing.
    #[test]
    fn sanitising_and_normalising_hold_on_random_input() {
        const PIECES: &[&str] = &[
            "<",
            ">",
            "</",
            "/>",
            "script",
            "style",
            "p",
            "a",
            " href=",
            "\"",
            "'",
            "javascript:",
            "alert(1)",
            " onclick=",
            " onerror=",
            "img",
            " src=",
            "&amp;",
            "&#",
            "x3c;",
            "&lt;",
            "<![CDATA[",
            "]]>",
            "<!--",
            "-->",
            "http://e.com/",
            "?utm_source=x",
            "#f",
            "é",
            "😀",
            " ",
            "\n",
            "word",
            "iframe",
            "svg",
            " onload=",
            "=",
        ];
        let base = Url::parse("https://base.example/dir/").unwrap();
        for _ in 0..3000 {
            let n = rand::random_range(1..40);
            let s: String = (0..n)
                .map(|_| PIECES[rand::random_range(0..PIECES.len())])
                .collect();
            let p = prepare(item(&s, &s), Some(&base));
            // Text `<` is escaped in the output, so every `<` opens a real tag.
            let html = p.body_html.to_ascii_lowercase();
            for tag in html
                .split('<')
                .skip(1)
                .map(|t| t.split('>').next().unwrap_or_default())
            {
                let name = tag
                    .trim_start_matches('/')
                    .split([' ', '/'])
                    .next()
                    .unwrap_or_default();
                assert!(
                    !matches!(
                        name,
                        "script" | "style" | "iframe" | "svg" | "object" | "embed"
                    ),
                    "<{tag}> survived {s:?}: {}",
                    p.body_html
                );
                // A `javascript:` URL is one whose value starts with it; the same letters inside
                // the path of a resolved https URL are harmless.
                for bad in [
                    " onclick",
                    " onerror",
                    " onload",
                    "=\"javascript:",
                    "='javascript:",
                ] {
                    assert!(!tag.contains(bad), "{bad} survived in <{tag}> from {s:?}");
                }
            }
            assert!(p.body_text.chars().count() <= MAX_TEXT);
            if let Some(u) = normalize_url(&s, Some(&base)) {
                assert_eq!(
                    normalize_url(&u, None).as_deref(),
                    Some(u.as_str()),
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn every_field_is_storable_and_hostile_markup_prepares_quickly() {
        let raw = RawItem {
            external_id: Some("id\0".into()),
            url: Some("https://example.com/a\0b".into()),
            title: Some("t\0 &#0; <b>x</b>".into()),
            content: Some("<p>a\0b &#0;</p>".into()),
            author: Some("bob\0".into()),
            published_at: None,
            engagement: Default::default(),
        };
        let p = prepare(raw, None);
        let fields = [
            Some(&p.title),
            Some(&p.body_html),
            Some(&p.body_text),
            p.author.as_ref(),
            p.external_id.as_ref(),
            p.url.as_ref(),
        ];
        for field in fields.into_iter().flatten() {
            assert!(!field.contains('\0'), "{field:?}");
        }
        assert_eq!(p.title, "t\u{FFFD} \u{FFFD} x");
        // The ingest stage's own converter rescanned the rest of the string after each tag:
        // minutes for this title. The shared one is one linear pass.
        let started = std::time::Instant::now();
        let styles = "<style></style>".repeat(50_000);
        let lone = "<".repeat(200_000);
        assert_eq!(prepare(item(&styles, "body"), None).title, "");
        assert_eq!(prepare(item(&lone, "body"), None).title.len(), MAX_TITLE);
        assert!(
            started.elapsed().as_secs() < 10,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn lengths_are_capped() {
        let p = prepare(item(&"t".repeat(2000), &"word ".repeat(20_000)), None);
        assert!(p.title.chars().count() <= MAX_TITLE);
        assert!(p.body_text.chars().count() <= MAX_TEXT);
    }

    #[test]
    fn the_fixture_repost_is_a_near_duplicate() {
        let xml = include_bytes!("../../../../tests/fixtures/feeds/rss_quirks.xml");
        let base = Url::parse("https://forum.example/forum/rss").unwrap();
        let items: Vec<Prepared> = feed::parse(SourceKind::Rss, xml, None, &base)
            .unwrap()
            .into_iter()
            .map(|i| prepare(i, Some(&base)))
            .collect();
        let d = hamming(items[0].simhash as u64, items[3].simhash as u64);
        assert_ne!(items[0].content_hash, items[3].content_hash);
        assert!(d <= 3, "the repost is {d} bits away");
        for other in [1, 2] {
            assert!(hamming(items[0].simhash as u64, items[other].simhash as u64) > 3);
        }
    }
}
