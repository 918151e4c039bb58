//! Text from outside, made safe to store and cheap to convert.
//!
//! Postgres refuses the NUL character in `text` and in `jsonb` strings (`\u0000`): one NUL in a
//! scraped title, an HTTP answer or an error message makes the whole write fail. Every string a
//! worker or the api stores from outside passes through [`storable`] (or [`storable_json`] for
//! documents) at one place per write path, so no stored string can fail its write. Input that a
//! caller sends on purpose (job args, definitions) is refused instead, with a 422 naming the
//! field ([`find_nul`]).
//!
//! [`html_to_text`] turns markup into plain text in one forward pass: its time is linear in the
//! input whatever the markup (no rescans after each tag), and the input is cut at
//! [`MAX_HTML_BYTES`] before conversion, so a hostile feed item costs at most a few milliseconds.

use std::{borrow::Cow, time::Duration};

use serde_json::Value;

/// What a NUL (or any other character Postgres cannot store) becomes: U+FFFD, the replacement
/// character, so a reader can see that something was there.
pub const REPLACEMENT: char = '\u{FFFD}';

/// The longest markup [`html_to_text`] reads; the rest is dropped before conversion.
pub const MAX_HTML_BYTES: usize = 1 << 20;

/// `s` with every NUL replaced by [`REPLACEMENT`]; borrowed when there is none (the usual case).
pub fn storable(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` made storable in place.
pub fn make_storable(s: &mut String) {
    if s.contains('\0') {
        *s = s.replace('\0', "\u{FFFD}");
    }
}

/// `value` with every string (object keys included) made [`storable`].
pub fn storable_json(mut value: Value) -> Value {
    clean_value(&mut value);
    value
}

fn clean_value(value: &mut Value) {
    match value {
        Value::String(s) => make_storable(s),
        Value::Array(items) => items.iter_mut().for_each(clean_value),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    clean_value(&mut v);
                    map.insert(storable(&k).into_owned(), v);
                }
            } else {
                map.values_mut().for_each(clean_value);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The path (`a.b[2]`, empty for the root) of the first string or key in `value` holding a
/// NUL, for refusing a caller's document with a field path.
pub fn find_nul(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &mut String) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().enumerate().any(|(i, v)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(v, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(map) => map.iter().any(|(k, v)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&storable(k));
                let found = k.contains('\0') || walk(v, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => false,
        }
    }
    let mut path = String::new();
    walk(value, &mut path).then_some(path)
}

/// `s` cut to at most `max` bytes at a character boundary.
pub fn truncate_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Tags after which text reads as a new word (a space is put in their place).
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

/// Plain text of an HTML fragment: tags dropped (block tags read as a space), `<script>` and
/// `<style>` dropped with their content, entities decoded, white space collapsed, NUL replaced
/// (the result is [`storable`]). One forward pass over at most [`MAX_HTML_BYTES`] of input.
pub fn html_to_text(html: &str) -> String {
    let html = truncate_at_char(html, MAX_HTML_BYTES);
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let mut i = 0; // next byte to read
    let mut text_from = 0; // start of the pending text run
    // Where the next `>` is at or after the current `<` (None: none in the rest), so a run of
    // `<` without `>` is scanned once, not once per `<`.
    let mut next_gt: Option<Option<usize>> = None;
    while let Some(lt) = memchr(b'<', bytes, i) {
        let gt = match next_gt {
            Some(Some(g)) if g > lt => Some(g),
            Some(None) => None,
            _ => memchr(b'>', bytes, lt + 1),
        };
        next_gt = Some(gt);
        let Some(gt) = gt else {
            // No `>` in the rest: every remaining `<` is text.
            break;
        };
        let tag = &html[lt + 1..gt];
        let closing = tag.starts_with('/');
        let name_len = tag
            .trim_start_matches('/')
            .bytes()
            .take_while(u8::is_ascii_alphanumeric)
            .count();
        if name_len == 0 && !tag.starts_with('!') && !closing {
            // `a < b`: a lone `<` is text.
            i = lt + 1;
            continue;
        }
        let name_start = lt + 1 + usize::from(closing);
        let name = &html[name_start..name_start + name_len];
        out.push_str(&html[text_from..lt]);
        i = gt + 1;
        let raw_text = name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("style");
        if raw_text && !closing {
            // Skip to the matching close tag (case-insensitive), or drop the rest.
            i = find_close(bytes, i, name.as_bytes()).unwrap_or(bytes.len());
            out.push(' ');
        } else if BLOCK_TAGS.iter().any(|b| name.eq_ignore_ascii_case(b)) {
            out.push(' ');
        }
        text_from = i;
    }
    out.push_str(&html[text_from.min(html.len())..]);
    let mut text = collapse_ws(&decode_entities(&out));
    make_storable(&mut text);
    text
}

/// The index just past the `>` of the first `</name…>` at or after `from`, if any.
fn find_close(bytes: &[u8], from: usize, name: &[u8]) -> Option<usize> {
    let mut at = from;
    while let Some(lt) = memchr(b'<', bytes, at) {
        let rest = &bytes[lt + 1..];
        if rest.first() == Some(&b'/')
            && rest.len() > name.len()
            && rest[1..=name.len()].eq_ignore_ascii_case(name)
        {
            return Some(memchr(b'>', bytes, lt).map_or(bytes.len(), |g| g + 1));
        }
        at = lt + 1;
    }
    None
}

fn memchr(needle: u8, haystack: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|p| p + from)
}

/// Decodes the entities feeds use: the XML five, `&nbsp;` and a few more, and numeric ones.
/// `&#0;` becomes [`REPLACEMENT`]; a numeric entity that names no character stays as written.
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
        let decoded = end.and_then(|end| entity(&after[..end]).map(|c| (c, end)));
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

fn entity(name: &str) -> Option<char> {
    let named = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        "ndash" => Some('–'),
        "mdash" => Some('—'),
        "hellip" => Some('…'),
        "rsquo" => Some('’'),
        "lsquo" => Some('‘'),
        "rdquo" => Some('”'),
        "ldquo" => Some('“'),
        "copy" => Some('©'),
        _ => None,
    };
    if named.is_some() {
        return named;
    }
    let code = name.strip_prefix('#')?;
    let n = match code.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => code.parse::<u32>().ok()?,
    };
    match char::from_u32(n)? {
        '\0' => Some(REPLACEMENT),
        c => Some(c),
    }
}

/// Runs of white space collapsed to one space, trimmed.
pub fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A duration written as a number and a unit: `ms`, `s`, `m`, `h` or `d` (`"30s"`, `"15m"`,
/// `"500ms"`), surrounding spaces ignored. A bare number is read in `bare_unit` when one is
/// given, and refused otherwise. `None` for anything else, or on overflow.
pub fn parse_duration(s: &str, bare_unit: Option<Duration>) -> Option<Duration> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u32 = digits.parse().ok()?;
    let per = match unit.trim() {
        "" => bare_unit?,
        "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        "d" => Duration::from_secs(86_400),
        _ => return None,
    };
    per.checked_mul(n)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::json;

    use super::*;

    #[test]
    fn nul_is_replaced_everywhere_and_nothing_else_changes() {
        assert!(matches!(storable("plain"), Cow::Borrowed("plain")));
        assert_eq!(storable("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
        let doc = json!({"k\u{0}": ["x\u{0}", {"y": "\u{0}"}], "n": 1, "ok": "fine"});
        let clean = storable_json(doc);
        assert_eq!(
            clean,
            json!({"k\u{FFFD}": ["x\u{FFFD}", {"y": "\u{FFFD}"}], "n": 1, "ok": "fine"})
        );
        assert!(!clean.to_string().contains("\\u0000"));
    }

    #[test]
    fn the_first_nul_is_found_with_its_path() {
        assert_eq!(find_nul(&json!({"a": "b"})), None);
        assert_eq!(
            find_nul(&json!({"a": {"b": ["x", "y\u{0}"]}})).as_deref(),
            Some("a.b[1]")
        );
        assert_eq!(find_nul(&json!("\u{0}")).as_deref(), Some(""));
        assert_eq!(
            find_nul(&json!({"k\u{0}": 1})).as_deref(),
            Some("k\u{FFFD}")
        );
    }

    #[test]
    fn markup_becomes_text() {
        assert_eq!(
            html_to_text("<p>Hello <b>world</b></p><p>again &amp; again</p>"),
            "Hello world again & again"
        );
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(
            html_to_text("x<script>alert('<p>')</script>y<STYLE>p{}</Style>z"),
            "x y z"
        );
        assert_eq!(html_to_text("keep<style>never closed"), "keep");
        assert_eq!(html_to_text("<!-- c -->t<br/>u"), "t u");
        assert_eq!(
            html_to_text("1 &#0; 2 &#xD800; 3"),
            "1 \u{FFFD} 2 &#xD800; 3"
        );
        assert_eq!(html_to_text("lone <<< no close"), "lone <<< no close");
    }

    #[test]
    fn hostile_markup_converts_in_linear_time() {
        // Each of these took minutes (or quadratic time) with a rescan after every tag.
        let bombs = [
            "<style>".repeat(150_000),
            "<script>x</script>".repeat(60_000),
            "<".repeat(1_000_000),
            "<a".repeat(500_000),
            "&#0;".repeat(250_000),
        ];
        for bomb in &bombs {
            let started = Instant::now();
            let text = html_to_text(bomb);
            assert!(text.len() <= MAX_HTML_BYTES * 3);
            // Generous: a linear pass over 1 MiB takes a few ms even in a debug build on a
            // busy machine; the quadratic one took minutes.
            assert!(
                started.elapsed().as_secs() < 5,
                "{} bytes took {:?}",
                bomb.len(),
                started.elapsed()
            );
        }
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate_at_char("héllo", 2), "h");
        assert_eq!(truncate_at_char("héllo", 3), "hé");
        assert_eq!(truncate_at_char("abc", 10), "abc");
    }

    #[test]
    fn durations_read_a_number_and_a_unit() {
        let secs = Some(Duration::from_secs(1));
        assert_eq!(
            parse_duration("500ms", None),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_duration(" 15m ", None),
            Some(Duration::from_secs(900))
        );
        assert_eq!(parse_duration("2h", None), Some(Duration::from_secs(7200)));
        assert_eq!(
            parse_duration("1d", None),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(parse_duration("900", secs), Some(Duration::from_secs(900)));
        assert_eq!(
            parse_duration("900", None),
            None,
            "a bare number needs a unit here"
        );
        for bad in ["", "s", "-5s", "5 weeks", "5x", "1.5h", "99999999999s"] {
            assert_eq!(parse_duration(bad, secs), None, "{bad:?}");
        }
    }
}
