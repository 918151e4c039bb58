//! Items to signals: sanitise, normalise, gate, deduplicate, store.
//!
//! 1. [`prepare`] (pure, CPU only): the HTML is sanitised with ammonia (no scripts, styles,
//!    event handlers or `javascript:` links; relative links resolved), a plain-text rendering is
//!    kept beside it, the URL is normalised (lower-cased host, no fragment, no tracking
//!    parameters), lengths are capped, the language is detected (whatlang), and two hashes are
//!    taken: SHA-256 of the normalised content (exact duplicates) and a 64-bit simhash of its
//!    word shingles (near duplicates).
//! 2. [`Gates`]: the tenant's quality gates (minimum length, link density, repeated
//!    characters, a blocklist, a language allow-list). A refused item is stored once as a
//!    `discarded` signal with its reason (so the next poll of the same feed does not count it
//!    again) and counted per source and reason in `signal_rejections`.
//! 3. [`store`] (one transaction, the caller's): near duplicates are found by simhash bands
//!    among the tenant's originals within the window (and within the batch) and stored
//!    `discarded` with `duplicate_of`; everything is inserted with `ON CONFLICT (tenant_id,
//!    content_hash) DO NOTHING`, so two workers ingesting the same item at once store it once.

use std::collections::{BTreeMap, HashMap, HashSet};

use aho_corasick::AhoCorasick;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use url::Url;
use uuid::Uuid;

use super::{feed::RawItem, signals::QualitySettings};
use crate::DomainError;

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
/// Longest URL kept; a longer one is dropped.
pub const MAX_URL: usize = 2048;
/// Most ids of new signals an ingest report lists (`new_signal_ids`); `new_signal_ids_truncated`
/// says when there were more.
pub const MAX_NEW_SIGNAL_IDS: usize = 1000;

/// Characters of title and text the language is detected from.
const LANGUAGE_SAMPLE: usize = 400;

/// Query parameters that only track clicks; dropped from signal URLs.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ref_src", "igshid", "yclid",
];

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
}

fn cap(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

fn collapse_ws(s: &str) -> String {
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

fn sanitizer(base: Option<&Url>) -> ammonia::Builder<'static> {
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

/// SplitMix64's finaliser: spreads FNV's bits so every simhash bit is fair.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= u64::from(b' ');
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    mix(h)
}

/// The 64-bit simhash of `words`' two-word shingles (single words when there is one): each
/// shingle's hash votes on every bit; the majority wins. Stable across processes and builds.
pub fn simhash(words: &[String]) -> u64 {
    let mut votes = [0i32; 64];
    let mut vote = |h: u64| {
        for (bit, v) in votes.iter_mut().enumerate() {
            if h >> bit & 1 == 1 {
                *v += 1;
            } else {
                *v -= 1;
            }
        }
    };
    if words.len() < 2 {
        words.iter().for_each(|w| vote(fnv1a(&[w])));
    } else {
        words.windows(2).for_each(|w| vote(fnv1a(&[&w[0], &w[1]])));
    }
    votes.iter().enumerate().fold(
        0u64,
        |acc, (bit, v)| if *v > 0 { acc | 1 << bit } else { acc },
    )
}

/// Bits that differ between two simhashes.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Makes a raw item ready to store (see the module docs). `base` resolves relative links.
pub fn prepare(item: RawItem, base: Option<&Url>) -> Prepared {
    let raw_html = cap(item.content.as_deref().unwrap_or_default(), MAX_HTML);
    let body_html = sanitizer(base).clean(&raw_html).to_string();
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
    let url = item.url.as_deref().and_then(|u| normalize_url(u, base));
    let author = item
        .author
        .map(|a| cap(&collapse_ws(&html_to_text(&a)), MAX_AUTHOR))
        .filter(|a| !a.is_empty());
    let external_id = item
        .external_id
        .map(|e| cap(e.trim(), MAX_EXTERNAL_ID))
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

/// Why a quality gate refused an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// Shorter than the minimum length.
    TooShort,
    /// Too many links for its words.
    LinkDensity,
    /// A character repeated more times in a row than allowed.
    RepeatedChars,
    /// A blocklisted phrase.
    Blocklist,
    /// A language outside the allow-list.
    Language,
}

impl Rejection {
    /// The reason's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Rejection::TooShort => "too_short",
            Rejection::LinkDensity => "link_density",
            Rejection::RepeatedChars => "repeated_chars",
            Rejection::Blocklist => "blocklist",
            Rejection::Language => "language",
        }
    }
}

/// A tenant's quality gates, compiled.
#[derive(Debug, Clone)]
pub struct Gates {
    settings: QualitySettings,
    blocklist: Option<AhoCorasick>,
}

impl Gates {
    /// Compiles `settings`.
    pub fn new(settings: QualitySettings) -> Self {
        let patterns: Vec<&String> = settings
            .blocklist
            .iter()
            .filter(|p| !p.is_empty())
            .collect();
        let blocklist = if patterns.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(patterns)
                .ok()
        };
        Self {
            settings,
            blocklist,
        }
    }

    /// The settings these gates apply.
    pub fn settings(&self) -> &QualitySettings {
        &self.settings
    }

    /// The first gate `p` fails, if any.
    pub fn check(&self, p: &Prepared) -> Option<Rejection> {
        let s = &self.settings;
        let length = p.title.chars().count() + p.body_text.chars().count();
        if length < s.min_length as usize {
            return Some(Rejection::TooShort);
        }
        if p.links > 0 && p.links as f64 / p.words.max(1) as f64 > f64::from(s.max_link_density) {
            return Some(Rejection::LinkDensity);
        }
        if longest_run(&p.title).max(longest_run(&p.body_text)) > s.max_repeated_chars as usize {
            return Some(Rejection::RepeatedChars);
        }
        if let Some(ac) = &self.blocklist
            && (ac.is_match(&p.title) || ac.is_match(&p.body_text))
        {
            return Some(Rejection::Blocklist);
        }
        if !s.languages.is_empty()
            && let Some(lang) = &p.language
            && !s.languages.contains(lang)
        {
            return Some(Rejection::Language);
        }
        None
    }
}

/// The longest run of one non-space character.
fn longest_run(s: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for c in s.chars() {
        if Some(c) == prev && !c.is_whitespace() {
            run += 1;
        } else {
            run = 1;
            prev = Some(c);
        }
        best = best.max(run);
    }
    best
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Items read.
    pub items: usize,
    /// New signals (state `new`).
    pub inserted: usize,
    /// The ids of the new signals (ordered by id, which is by insertion), at most [`MAX_NEW_SIGNAL_IDS`] (a workflow's
    /// `for_each` reads them, e.g. `steps.fetch.output.new_signal_ids`).
    pub new_signal_ids: Vec<Uuid>,
    /// Whether there were more new signals than [`MAX_NEW_SIGNAL_IDS`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub new_signal_ids_truncated: bool,
    /// Items already held (same content hash), including repeats within the batch.
    pub duplicates: usize,
    /// Near duplicates, stored `discarded` and linked to their original.
    pub near_duplicates: usize,
    /// Items refused by a quality gate, by reason (stored `discarded` once).
    pub rejected: BTreeMap<String, usize>,
}

#[derive(Default)]
struct Columns {
    ids: Vec<Uuid>,
    external_ids: Vec<Option<String>>,
    urls: Vec<Option<String>>,
    titles: Vec<String>,
    htmls: Vec<String>,
    texts: Vec<String>,
    authors: Vec<Option<String>>,
    languages: Vec<Option<String>>,
    published: Vec<Option<DateTime<Utc>>>,
    hashes: Vec<Vec<u8>>,
    simhashes: Vec<i64>,
    states: Vec<String>,
    reasons: Vec<Option<String>>,
    original_hashes: Vec<Option<Vec<u8>>>,
}

impl Columns {
    fn push(&mut self, p: &Prepared, state: &str, reason: Option<&str>, original: Option<&[u8]>) {
        self.ids.push(Uuid::now_v7());
        self.external_ids.push(p.external_id.clone());
        self.urls.push(p.url.clone());
        self.titles.push(p.title.clone());
        self.htmls.push(p.body_html.clone());
        self.texts.push(p.body_text.clone());
        self.authors.push(p.author.clone());
        self.languages.push(p.language.clone());
        self.published.push(p.published_at);
        self.hashes.push(p.content_hash.to_vec());
        self.simhashes.push(p.simhash);
        self.states.push(state.to_owned());
        self.reasons.push(reason.map(str::to_owned));
        self.original_hashes.push(original.map(<[u8]>::to_vec));
    }

    /// Inserts the rows; returns the ids and reasons of the rows actually inserted (conflicts
    /// skipped), in the order given.
    async fn insert(
        &self,
        conn: &mut PgConnection,
        tenant_id: Uuid,
        source_id: Uuid,
    ) -> Result<Vec<(Uuid, Option<String>)>, DomainError> {
        if self.ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = sqlx::query!(
            r#"INSERT INTO signals (id, tenant_id, source_id, external_id, url, title, body_html,
                                    body_text, author, language, published_at, content_hash,
                                    simhash, state, discard_reason, duplicate_of)
               SELECT c.id, $1, $2, c.external_id, c.url, c.title, c.html, c.text, c.author,
                      c.language, c.published_at, c.hash, c.simhash, c.state, c.reason,
                      (SELECT o.id FROM signals o WHERE o.tenant_id = $1 AND o.content_hash = c.original)
               FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                           $9::text[], $10::text[], $11::timestamptz[], $12::bytea[], $13::int8[],
                           $14::text[], $15::text[], $16::bytea[])
                    AS c(id, external_id, url, title, html, text, author, language, published_at,
                         hash, simhash, state, reason, original)
               ON CONFLICT (tenant_id, content_hash) DO NOTHING
               RETURNING id, discard_reason"#,
            tenant_id,
            source_id,
            &self.ids,
            &self.external_ids as &[Option<String>],
            &self.urls as &[Option<String>],
            &self.titles,
            &self.htmls,
            &self.texts,
            &self.authors as &[Option<String>],
            &self.languages as &[Option<String>],
            &self.published as &[Option<DateTime<Utc>>],
            &self.hashes,
            &self.simhashes,
            &self.states,
            &self.reasons as &[Option<String>],
            &self.original_hashes as &[Option<Vec<u8>>],
        )
        .fetch_all(conn)
        .await?;
        let mut rows: Vec<(Uuid, Option<String>)> =
            rows.into_iter().map(|r| (r.id, r.discard_reason)).collect();
        // RETURNING has no order; v7 ids were made in the order given.
        rows.sort_by_key(|r| r.0);
        Ok(rows)
    }
}

fn bands(h: i64) -> [i32; 4] {
    let u = h as u64;
    [
        (u >> 48 & 0xffff) as i32,
        (u >> 32 & 0xffff) as i32,
        (u >> 16 & 0xffff) as i32,
        (u & 0xffff) as i32,
    ]
}

/// Stores `items` of source `source_id` for `tenant_id` on `conn` (the caller's transaction),
/// applying `gates` and deduplicating (see the module docs).
pub async fn store(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    source_id: Uuid,
    gates: &Gates,
    items: Vec<Prepared>,
) -> Result<Report, DomainError> {
    let mut report = Report {
        items: items.len(),
        ..Default::default()
    };
    // Exact repeats within the batch.
    let mut seen = HashSet::new();
    let items: Vec<Prepared> = items
        .into_iter()
        .filter(|p| seen.insert(p.content_hash))
        .collect();
    report.duplicates += report.items - items.len();
    // Drop what is already held: only what is new is gated and compared.
    let hashes: Vec<Vec<u8>> = items.iter().map(|p| p.content_hash.to_vec()).collect();
    let held: HashSet<Vec<u8>> = sqlx::query_scalar!(
        "SELECT content_hash FROM signals WHERE tenant_id = $1 AND content_hash = ANY($2)",
        tenant_id,
        &hashes
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let before = items.len();
    let items: Vec<Prepared> = items
        .into_iter()
        .filter(|p| !held.contains(p.content_hash.as_slice()))
        .collect();
    report.duplicates += before - items.len();

    let mut originals = Columns::default();
    let mut rejected = Columns::default();
    let mut candidates: Vec<&Prepared> = Vec::new();
    for p in &items {
        match gates.check(p) {
            Some(r) => rejected.push(p, "discarded", Some(r.as_str()), None),
            None => candidates.push(p),
        }
    }

    // Near duplicates of what the tenant already holds, within the window.
    let threshold = gates.settings().simhash_threshold;
    let simhashes: Vec<i64> = candidates.iter().map(|p| p.simhash).collect();
    let matches: HashMap<i64, Vec<u8>> = if candidates.is_empty() {
        HashMap::new()
    } else {
        sqlx::query!(
            r#"SELECT c.h AS "h!", m.content_hash AS "original!"
               FROM unnest($2::int8[]) AS c(h)
               CROSS JOIN LATERAL (
                   SELECT s.content_hash FROM signals s
                   WHERE s.tenant_id = $1 AND s.duplicate_of IS NULL AND s.discard_reason IS NULL
                     AND s.created_at > now() - make_interval(secs => $4)
                     AND (s.band0 = ((c.h >> 48) & 65535)::int OR s.band1 = ((c.h >> 32) & 65535)::int
                          OR s.band2 = ((c.h >> 16) & 65535)::int OR s.band3 = (c.h & 65535)::int)
                     AND bit_count((s.simhash # c.h)::bit(64)) <= $3
                   ORDER BY s.created_at, s.id
                   LIMIT 1) m"#,
            tenant_id,
            &simhashes,
            i64::from(threshold),
            f64::from(gates.settings().near_duplicate_window_secs),
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.h, r.original))
        .collect()
    };

    // Near duplicates within the batch: compare against earlier originals sharing a band.
    let mut band_index: [HashMap<i32, Vec<usize>>; 4] = Default::default();
    let mut kept: Vec<&Prepared> = Vec::new();
    let mut near = Columns::default();
    for p in candidates {
        if let Some(original) = matches.get(&p.simhash) {
            near.push(p, "discarded", Some("near_duplicate"), Some(original));
            continue;
        }
        let b = bands(p.simhash);
        let original = (0..4).find_map(|i| {
            band_index[i].get(&b[i]).and_then(|idxs| {
                idxs.iter()
                    .map(|&k| kept[k])
                    .find(|o| hamming(o.simhash as u64, p.simhash as u64) <= threshold as u32)
            })
        });
        match original {
            Some(o) => near.push(
                p,
                "discarded",
                Some("near_duplicate"),
                Some(&o.content_hash),
            ),
            None => {
                let k = kept.len();
                kept.push(p);
                for i in 0..4 {
                    band_index[i].entry(b[i]).or_default().push(k);
                }
                originals.push(p, "new", None, None);
            }
        }
    }

    // Originals first, so the near duplicates' `duplicate_of` finds them.
    let inserted = originals.insert(conn, tenant_id, source_id).await?;
    report.inserted = inserted.len();
    report.new_signal_ids_truncated = inserted.len() > MAX_NEW_SIGNAL_IDS;
    report.new_signal_ids = inserted
        .iter()
        .take(MAX_NEW_SIGNAL_IDS)
        .map(|r| r.0)
        .collect();
    let inserted_near = near.insert(conn, tenant_id, source_id).await?;
    report.near_duplicates = inserted_near.len();
    let inserted_rejected = rejected.insert(conn, tenant_id, source_id).await?;
    // Whatever lost a race to a concurrent ingest is a duplicate.
    report.duplicates += (originals.ids.len() - inserted.len())
        + (near.ids.len() - inserted_near.len())
        + (rejected.ids.len() - inserted_rejected.len());
    for (_, reason) in inserted_rejected {
        let Some(reason) = reason else { continue };
        *report.rejected.entry(reason).or_default() += 1;
    }
    if !report.rejected.is_empty() {
        let reasons: Vec<String> = report.rejected.keys().cloned().collect();
        let counts: Vec<i64> = report.rejected.values().map(|n| *n as i64).collect();
        sqlx::query!(
            r#"INSERT INTO signal_rejections (tenant_id, source_id, reason, count)
               SELECT $1, $2, r.reason, r.n FROM unnest($3::text[], $4::int8[]) AS r(reason, n)
               ON CONFLICT (tenant_id, source_id, reason)
               DO UPDATE SET count = signal_rejections.count + excluded.count, last_at = now()"#,
            tenant_id,
            source_id,
            &reasons,
            &counts
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, content: &str) -> RawItem {
        RawItem {
            title: Some(title.into()),
            content: Some(content.into()),
            ..Default::default()
        }
    }

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
    fn lengths_are_capped() {
        let p = prepare(item(&"t".repeat(2000), &"word ".repeat(20_000)), None);
        assert!(p.title.chars().count() <= MAX_TITLE);
        assert!(p.body_text.chars().count() <= MAX_TEXT);
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

    #[test]
    fn simhash_is_close_for_near_duplicates_and_far_otherwise() {
        let a = words_of(
            "Looking for a reliable plumber in Austin to fix a leaking water heater this week, any recommendations welcome",
        );
        let b = words_of(
            "Looking for a reliable plumber in Austin to fix a leaking water heater this week, any recommendations welcome!!",
        );
        let c = words_of(
            "Looking for a reliable plumber in Austin to fix a leaking water heater this weekend, any recommendations welcome",
        );
        let d = words_of(
            "The city council approved the new budget for road repairs and public parks on Tuesday evening",
        );
        assert_eq!(simhash(&a), simhash(&b));
        assert!(
            hamming(simhash(&a), simhash(&c)) <= 12,
            "{}",
            hamming(simhash(&a), simhash(&c))
        );
        assert!(
            hamming(simhash(&a), simhash(&d)) > 16,
            "{}",
            hamming(simhash(&a), simhash(&d))
        );
        // Stable across builds: a fixed value.
        assert_eq!(
            simhash(&words_of("hello world")),
            simhash(&words_of("Hello, world!"))
        );
    }

    #[test]
    fn gates_refuse_by_reason() {
        let gates = Gates::new(QualitySettings {
            blocklist: vec!["Crypto Giveaway".into()],
            languages: vec!["eng".into()],
            ..QualitySettings::default()
        });
        let ok = prepare(
            item(
                "Need a roofer",
                "Our roof has been leaking since the storm last week; who do you recommend in Denver?",
            ),
            None,
        );
        assert_eq!(gates.check(&ok), None);
        let short = prepare(item("hi", "yo"), None);
        assert_eq!(gates.check(&short), Some(Rejection::TooShort));
        let links = prepare(
            item(
                "deals",
                r#"<a href="https://a.example">a</a> <a href="https://b.example">b</a> <a href="https://c.example">c</a> best https://d.example"#,
            ),
            None,
        );
        assert_eq!(gates.check(&links), Some(Rejection::LinkDensity));
        let shouty = prepare(
            item(
                "BUY NOW",
                "Amazing offer for everyone here!!!!!!!!!!!!!!!!!!!!",
            ),
            None,
        );
        assert_eq!(gates.check(&shouty), Some(Rejection::RepeatedChars));
        let blocked = prepare(
            item(
                "Big news",
                "Join the CRYPTO giveaway today and double your coins quickly",
            ),
            None,
        );
        assert_eq!(gates.check(&blocked), Some(Rejection::Blocklist));
        let german = prepare(
            item(
                "Klempner gesucht",
                "Wir suchen dringend einen zuverlässigen Klempner für unsere Wohnung in Berlin, der Wasserhahn tropft seit Wochen.",
            ),
            None,
        );
        assert_eq!(german.language.as_deref(), Some("deu"));
        assert_eq!(gates.check(&german), Some(Rejection::Language));
    }

    async fn tenant_and_source(pool: &sqlx::PgPool) -> (Uuid, Uuid) {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = crate::auth::ensure_tenant(&mut conn, "t").await.unwrap();
        let new = crate::sources::NewSource::try_from(serde_json::json!({"kind": "push"})).unwrap();
        let source =
            crate::sources::create(&mut conn, tenant, &crate::audit::Actor::default(), new)
                .await
                .unwrap();
        (tenant, source.id)
    }

    fn batch(n: usize) -> Vec<Prepared> {
        (0..n)
            .map(|i| {
                prepare(
                    item(
                        &format!("Post number {i}"),
                        &format!(
                            "Item {i} talks about topic {} in words of its own, {} times over",
                            i * 7919 % 1000,
                            i
                        ),
                    ),
                    None,
                )
            })
            .collect()
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn concurrent_ingests_of_the_same_items_store_each_once(pool: sqlx::PgPool) {
        let (tenant, source) = tenant_and_source(&pool).await;
        let gates = Gates::new(QualitySettings {
            simhash_threshold: 0,
            ..Default::default()
        });
        let items = batch(60);
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (pool, gates, items) = (pool.clone(), gates.clone(), items.clone());
                tokio::spawn(async move {
                    let mut tx = pool.begin().await.unwrap();
                    let r = store(&mut tx, tenant, source, &gates, items).await.unwrap();
                    tx.commit().await.unwrap();
                    r
                })
            })
            .collect();
        let mut inserted = 0;
        for t in tasks {
            let r = t.await.unwrap();
            assert_eq!(r.inserted + r.duplicates + r.near_duplicates, 60, "{r:?}");
            inserted += r.inserted;
        }
        assert_eq!(inserted, 60, "each item stored by exactly one ingest");
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM signals")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 60);
    }

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn near_duplicates_link_to_their_original_and_rejections_count_once(pool: sqlx::PgPool) {
        let (tenant, source) = tenant_and_source(&pool).await;
        let gates = Gates::new(QualitySettings::default());
        let text = "Looking for a reliable plumber in Austin to fix a leaking water heater this week. \
            The old one is twelve years old and the pressure valve keeps dripping onto the garage floor, \
            and the pilot light goes out every other night. We called two companies already but neither \
            could come before the end of the month, which is far too long with a toddler in the house. \
            Any recommendations for someone honest who shows up on time would be very welcome";
        let original = prepare(item("Plumber needed", text), None);
        let mut tx = pool.begin().await.unwrap();
        let r = store(&mut tx, tenant, source, &gates, vec![original])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(r.inserted, 1);

        let again = prepare(item("Plumber needed", &format!("{text} thanks")), None);
        let first = prepare(item("Plumber needed", text), None);
        assert_ne!(again.content_hash, first.content_hash);
        assert!(hamming(again.simhash as u64, first.simhash as u64) <= 3);
        let spam = prepare(item("hi", "yo"), None);
        for round in 0..2 {
            let mut tx = pool.begin().await.unwrap();
            let r = store(
                &mut tx,
                tenant,
                source,
                &gates,
                vec![again.clone(), spam.clone()],
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            if round == 0 {
                assert_eq!((r.inserted, r.near_duplicates), (0, 1), "{r:?}");
                assert_eq!(r.rejected.get("too_short"), Some(&1));
            } else {
                assert_eq!(r.duplicates, 2, "the second poll finds both held: {r:?}");
                assert!(r.rejected.is_empty());
            }
        }
        let (state, reason, linked): (String, String, bool) = sqlx::query_as(
            "SELECT d.state, d.discard_reason, d.duplicate_of = o.id FROM signals d, signals o
             WHERE d.duplicate_of IS NOT NULL AND o.duplicate_of IS NULL AND o.discard_reason IS NULL",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            (state.as_str(), reason.as_str(), linked),
            ("discarded", "near_duplicate", true)
        );
        let counts = crate::sources::signals::rejections(&pool, tenant)
            .await
            .unwrap();
        assert_eq!(counts.len(), 1);
        assert_eq!(
            (counts[0].reason.as_str(), counts[0].count),
            ("too_short", 1)
        );
    }

    #[test]
    fn bands_match_the_database_columns() {
        let h: i64 = -0x0123_4567_89ab_cdef;
        let u = h as u64;
        assert_eq!(bands(h)[0], (u >> 48) as i32);
        assert_eq!(bands(h)[3], (u & 0xffff) as i32);
    }
}

#[cfg(test)]
mod fixture_tests {
    use super::*;
    use crate::sources::{SourceKind, feed};

    #[test]
    fn the_fixture_repost_is_a_near_duplicate() {
        let xml = include_bytes!("../../../tests/fixtures/feeds/rss_quirks.xml");
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
