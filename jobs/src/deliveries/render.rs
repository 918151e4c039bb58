//! Rendering: an event ([`Message`]) becomes each service's message — a Block Kit body for
//! Slack, `{content, embeds}` for Discord, HTML text for Telegram, a subject with text and
//! HTML parts for email, and the event itself as JSON for webhooks.
//!
//! Without a template each kind gets a default that shows what the event's data has of a
//! title, score, category, link, contact and author (and, for digests, the first items). A
//! tenant may write one template per kind ([`Templates`]), in a small, bounded subset of
//! Jinja ([`check_template`]): `{{ … }}`, `{% if %}` and `{% for %}`, a fixed set of filters,
//! no `set`, macros, includes or `*`. Execution is bounded by fuel, output by size, and every
//! value from the event is cut, cleaned of control characters and escaped for the service
//! (Slack's `&<>`, HTML for Telegram and email, Markdown for Discord); templates cannot mark
//! a value safe. Hostile data (markup, NUL, megabyte strings) cannot break a message, and
//! every limit a service documents is kept by cutting at character boundaries.
//!
//! This module renders; it never sends, stores or logs.

use std::{borrow::Cow, collections::BTreeMap, io};

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::{
    Environment, Error as JinjaError, ErrorKind, UndefinedBehavior,
    machinery::{Token, tokenize},
    syntax::SyntaxConfig,
    value::Value as JValue,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::channels::ChannelKind;
use crate::FieldError;

mod layouts;
mod template;

#[cfg(test)]
use layouts::visible_len;
use layouts::{
    discord_default, email_default, html_page, section, slack_default, split_subject,
    telegram_default, telegram_fit,
};
use template::{Escape, check_source, run, run_raw};

/// The longest template accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 8 * 1024;
/// The instructions one rendering may execute.
pub const FUEL: u64 = 50_000;
/// The most bytes one rendering may write.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// The longest string a template sees from the event's data, in characters.
pub const MAX_VALUE_CHARS: usize = 1_000;
/// The most items of a list (or keys of an object) a template sees.
pub const MAX_ITEMS: usize = 50;
/// The most digest items a default message lists.
pub const DIGEST_ITEMS: usize = 10;
const MAX_DEPTH: usize = 8;
const MAX_JOIN_BYTES: usize = 16 * 1024;

/// Slack: the fallback `text` (Slack cuts at 40 000; it advises 4 000).
pub const SLACK_TEXT: usize = 4_000;
/// Slack: a header block's text.
pub const SLACK_HEADER: usize = 150;
/// Slack: a section's text.
pub const SLACK_SECTION: usize = 3_000;
/// Slack: one field of a section.
pub const SLACK_FIELD: usize = 2_000;
/// Discord: a message's content.
pub const DISCORD_CONTENT: usize = 2_000;
/// Discord: an embed's title.
pub const DISCORD_TITLE: usize = 256;
/// Discord: an embed's description.
pub const DISCORD_DESCRIPTION: usize = 4_096;
/// Discord: a field's value.
pub const DISCORD_FIELD_VALUE: usize = 1_024;
/// Discord: every character of all embeds together.
pub const DISCORD_EMBED_TOTAL: usize = 6_000;
/// Telegram: a message's text, after entities are parsed.
pub const TELEGRAM_TEXT: usize = 4_096;
/// Email: the subject.
pub const EMAIL_SUBJECT: usize = 200;

/// The statements a template may use.
const STATEMENTS: &[&str] = &["if", "elif", "else", "endif", "for", "endfor"];

/// An event to deliver, built by the caller from the event it delivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The delivery's id: the `webhook-id`, the email's `Message-ID`, the idempotency key. The
    /// same on every attempt.
    pub id: String,
    /// The event's type (`lead.created`, `signal.classified`, `digest`, …).
    pub event_type: String,
    /// When the event happened.
    pub occurred_at: DateTime<Utc>,
    /// The event's payload.
    pub data: Value,
}

/// Templates per kind, as a map from kind to template (`{"slack": "…", "email": "…"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Templates(pub BTreeMap<ChannelKind, String>);

impl Templates {
    /// The template for `kind`, if there is one.
    pub fn get(&self, kind: ChannelKind) -> Option<&str> {
        self.0.get(&kind).map(String::as_str)
    }

    /// Checks every template ([`check_template`]); errors name the kind (`slack`).
    pub fn check(&self) -> Result<(), FieldError> {
        for (kind, source) in &self.0 {
            check_template(*kind, source).map_err(|e| e.under(kind.as_str()))?;
        }
        Ok(())
    }
}

/// A message rendered for one kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// The JSON body: `{"type", "timestamp", "data"}`.
    Webhook {
        /// Its exact bytes (the signature covers them).
        body: Vec<u8>,
    },
    /// A Block Kit body: `{"text", "blocks"}`.
    Slack {
        /// The body.
        body: Value,
    },
    /// `{"content"?, "embeds"?, "allowed_mentions"}`.
    Discord {
        /// The body.
        body: Value,
    },
    /// Telegram HTML (`parse_mode: HTML`).
    Telegram {
        /// The text.
        text: String,
    },
    /// An email's parts.
    Email {
        /// One line.
        subject: String,
        /// The plain-text part.
        text: String,
        /// The HTML part.
        html: String,
    },
}

/// Why a message could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The template is not allowed, does not compile, failed, ran out of fuel or wrote too
    /// much.
    #[error("template: {0}")]
    Template(String),
    /// The event's data does not serialise.
    #[error("the event's data does not serialise: {0}")]
    Data(String),
}

/// Renders `message` for `kind`, with `template` when given (a webhook takes none: it sends
/// the event as it is).
pub fn render(
    kind: ChannelKind,
    message: &Message,
    template: Option<&str>,
) -> Result<Rendered, RenderError> {
    if kind == ChannelKind::Webhook {
        let body = json!({
            "type": message.event_type,
            "timestamp": message.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": message.data,
        });
        return serde_json::to_vec(&body)
            .map(|body| Rendered::Webhook { body })
            .map_err(|e| RenderError::Data(e.to_string()));
    }
    let summary = Summary::of(message);
    match template {
        None => Ok(match kind {
            ChannelKind::Slack => Rendered::Slack {
                body: slack_default(&summary),
            },
            ChannelKind::Discord => Rendered::Discord {
                body: discord_default(&summary, message),
            },
            ChannelKind::Telegram => Rendered::Telegram {
                text: telegram_default(&summary),
            },
            ChannelKind::Email => email_default(&summary, message),
            ChannelKind::Webhook => unreachable!("handled above"),
        }),
        Some(source) => {
            check_source(source).map_err(RenderError::Template)?;
            let context = context(message, &summary);
            let out = |escape| run(source, escape, &context).map_err(RenderError::Template);
            Ok(match kind {
                ChannelKind::Slack => {
                    let text = out(Escape::Slack)?;
                    Rendered::Slack {
                        body: json!({
                            "text": cut(&text, SLACK_TEXT),
                            "blocks": [section(&cut(&text, SLACK_SECTION))],
                        }),
                    }
                }
                ChannelKind::Discord => Rendered::Discord {
                    body: json!({
                        "content": cut(&out(Escape::Discord)?, DISCORD_CONTENT),
                        "allowed_mentions": { "parse": [] },
                    }),
                },
                ChannelKind::Telegram => Rendered::Telegram {
                    text: telegram_fit(out(Escape::Html)?),
                },
                ChannelKind::Email => {
                    let text = out(Escape::None)?;
                    let html = out(Escape::Html)?;
                    let (subject, text) = split_subject(&text);
                    let (_, html) = split_subject(&html);
                    Rendered::Email {
                        subject: one_line(&subject, EMAIL_SUBJECT),
                        html: html_page(&html.replace('\n', "<br>\n")),
                        text,
                    }
                }
                ChannelKind::Webhook => unreachable!("handled above"),
            })
        }
    }
}

/// Renders `message` as plain text with `source` (a status to publish: no escaping, no
/// layout), under the same subset, fuel and output limits as every template.
pub fn render_text(message: &Message, source: &str) -> Result<String, RenderError> {
    check_source(source).map_err(RenderError::Template)?;
    let summary = Summary::of(message);
    run(source, Escape::None, &context(message, &summary)).map_err(RenderError::Template)
}

/// Checks a plain-text template: within the language's subset and size, and compiling.
pub fn check_text_template(source: &str) -> Result<(), FieldError> {
    check_source(source).map_err(|e| FieldError::new("", e))
}

/// Checks a template at save time: allowed for the kind, within the language's subset and
/// size, compiles, and renders a sample lead and a sample digest within its fuel and output
/// limits. The error's path is empty (the caller nests it under the template's field).
pub fn check_template(kind: ChannelKind, source: &str) -> Result<(), FieldError> {
    if kind == ChannelKind::Webhook {
        return Err(FieldError::new(
            "",
            "a webhook sends the event itself as JSON; it takes no template",
        ));
    }
    check_source(source).map_err(|e| FieldError::new("", e))?;
    let samples = [
        Message {
            id: "sample".into(),
            event_type: "lead.created".into(),
            occurred_at: Utc::now(),
            data: json!({
                "title": "Looking for a CRM for a 10-person team",
                "url": "https://forum.example.com/t/123",
                "score": 82, "category": "buying_intent", "author": "jane",
                "contact": {"kind": "email", "value": "jane@example.com"},
            }),
        },
        Message {
            id: "sample".into(),
            event_type: "digest".into(),
            occurred_at: Utc::now(),
            data: json!({"count": 2, "items": [
                {"title": "First", "url": "https://example.com/1", "score": 90},
                {"title": "Second", "url": "https://example.com/2", "score": 70},
            ]}),
        },
    ];
    for sample in &samples {
        render(kind, sample, Some(source)).map_err(|e| FieldError::new("", e.to_string()))?;
    }
    Ok(())
}

/// Renders one field template (`{{ lead.score }}`, `{{ contacts[0].value }}`) against
/// `data` under the same sandbox and budget as messages: the subset of [`check_template`],
/// [`FUEL`], [`MAX_OUTPUT_BYTES`], bounded values. Nothing is escaped (the caller encodes the
/// text as a JSON string or a form value, so no value can break out of its field); the text
/// may be empty, and is cleaned of control characters except newlines.
pub fn render_field(source: &str, data: &Value) -> Result<String, RenderError> {
    check_source(source).map_err(RenderError::Template)?;
    let text = run_raw(source, Escape::None, &bounded(data, 0)).map_err(RenderError::Template)?;
    Ok(clean(&text, MAX_OUTPUT_BYTES, true))
}

/// Checks a field template at save time: within the subset and size, and renders `sample`
/// within its budget. The error's path is empty.
pub fn check_field_template(source: &str, sample: &Value) -> Result<(), FieldError> {
    render_field(source, sample)
        .map(|_| ())
        .map_err(|e| FieldError::new("", e.to_string()))
}

/// What a template sees: the event (`event.type`, `event.id`, `event.timestamp`), its data
/// (`data`, bounded), and the summary's fields at the top (`title`, `url`, `score`,
/// `category`, `contact`, `author`, `count`, `items`).
fn context(message: &Message, summary: &Summary) -> JValue {
    let mut root = BTreeMap::new();
    let event = BTreeMap::from([
        ("type", JValue::from(clean(&message.event_type, 200, false))),
        ("id", JValue::from(clean(&message.id, 200, false))),
        (
            "timestamp",
            JValue::from(
                message
                    .occurred_at
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
        ),
    ]);
    root.insert("event", JValue::from(event));
    root.insert("data", bounded(&message.data, 0));
    root.insert("title", JValue::from(summary.title.clone()));
    for (name, value) in [
        ("url", &summary.url),
        ("score", &summary.score),
        ("category", &summary.category),
        ("contact", &summary.contact),
        ("author", &summary.author),
    ] {
        root.insert(name, value.clone().map(JValue::from).unwrap_or_default());
    }
    root.insert("count", summary.count.map(JValue::from).unwrap_or_default());
    let items: Vec<JValue> = summary
        .items
        .iter()
        .map(|item| {
            JValue::from(BTreeMap::from([
                ("title", JValue::from(item.title.clone())),
                (
                    "url",
                    item.url.clone().map(JValue::from).unwrap_or_default(),
                ),
                (
                    "score",
                    item.score.clone().map(JValue::from).unwrap_or_default(),
                ),
            ]))
        })
        .collect();
    root.insert("items", JValue::from(items));
    JValue::from(root)
}

/// `value` as a template value, with strings cleaned and cut, lists and objects cut to
/// [`MAX_ITEMS`], and nothing deeper than [`MAX_DEPTH`].
fn bounded(value: &Value, depth: usize) -> JValue {
    if depth >= MAX_DEPTH {
        return JValue::from(());
    }
    match value {
        Value::Null => JValue::from(()),
        Value::Bool(b) => JValue::from(*b),
        Value::Number(n) => n
            .as_i64()
            .map(JValue::from)
            .or_else(|| n.as_u64().map(JValue::from))
            .or_else(|| n.as_f64().map(JValue::from))
            .unwrap_or_default(),
        Value::String(s) => JValue::from(clean(s, MAX_VALUE_CHARS, true)),
        Value::Array(items) => JValue::from(
            items
                .iter()
                .take(MAX_ITEMS)
                .map(|v| bounded(v, depth + 1))
                .collect::<Vec<_>>(),
        ),
        Value::Object(map) => JValue::from(
            map.iter()
                .take(MAX_ITEMS)
                .map(|(k, v)| (clean(k, 100, false), bounded(v, depth + 1)))
                .collect::<BTreeMap<String, JValue>>(),
        ),
    }
}

/// What the default messages show, taken from the event's data.
#[derive(Debug, Clone, Default, PartialEq)]
struct Summary {
    event_type: String,
    title: String,
    url: Option<String>,
    score: Option<String>,
    category: Option<String>,
    contact: Option<String>,
    author: Option<String>,
    items: Vec<Item>,
    count: Option<u64>,
}

/// One entry of a digest.
#[derive(Debug, Clone, Default, PartialEq)]
struct Item {
    title: String,
    url: Option<String>,
    score: Option<String>,
}

impl Summary {
    fn of(message: &Message) -> Self {
        let data = &message.data;
        let event_type = clean(&message.event_type, 100, false);
        let items: Vec<Item> = data
            .get("items")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .take(DIGEST_ITEMS)
                    .map(|item| Item {
                        title: title(item).unwrap_or_else(|| "(untitled)".into()),
                        url: link(item),
                        score: score(item),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let count = data.get("count").and_then(Value::as_u64).or_else(|| {
            data.get("items")
                .and_then(Value::as_array)
                .map(|items| items.len() as u64)
        });
        let title = title(data).unwrap_or_else(|| match count {
            Some(n) if !items.is_empty() => format!("{n} new: {event_type}"),
            _ => event_type.clone(),
        });
        Summary {
            title,
            url: link(data),
            score: score(data),
            category: text_of(data, &["category", "label"], 100),
            contact: contact(data),
            author: data.get("author").and_then(|a| match a {
                Value::Object(_) => text_of(a, &["name", "handle", "username"], 100),
                other => scalar(other, 100),
            }),
            items,
            count,
            event_type,
        }
    }

    /// Score, category, contact and author, as label and value.
    fn facts(&self) -> Vec<(&'static str, &str)> {
        [
            ("Score", &self.score),
            ("Category", &self.category),
            ("Contact", &self.contact),
            ("Author", &self.author),
        ]
        .into_iter()
        .filter_map(|(label, value)| value.as_deref().map(|v| (label, v)))
        .collect()
    }

    /// How many digest items are not listed.
    fn more(&self) -> u64 {
        self.count
            .unwrap_or(0)
            .saturating_sub(self.items.len() as u64)
    }
}

fn title(data: &Value) -> Option<String> {
    text_of(data, &["title", "name", "subject", "summary"], 300)
}

/// The first of `keys` holding a string or number, as one clean line.
fn text_of(data: &Value, keys: &[&str], max: usize) -> Option<String> {
    keys.iter()
        .find_map(|k| data.get(*k).and_then(|v| scalar(v, max)))
}

fn scalar(value: &Value, max: usize) -> Option<String> {
    let text = match value {
        Value::String(s) => one_line(s, max),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// An http(s) link from `url`, `link` or `permalink`, normalised (so it holds no spaces,
/// quotes or angle brackets).
fn link(data: &Value) -> Option<String> {
    ["url", "link", "permalink"].iter().find_map(|k| {
        let raw = data.get(*k)?.as_str()?;
        if raw.len() > 2_000 {
            return None;
        }
        let url = url::Url::parse(raw.trim()).ok()?;
        matches!(url.scheme(), "http" | "https")
            .then(|| url.to_string())
            .filter(|u| u.len() <= 2_000 && !u.contains(['"', '<', '>', ' ', '|', '\'']))
    })
}

/// `score` as text: a number (one decimal at most), or a `{total}`/`{value}` object's.
fn score(data: &Value) -> Option<String> {
    let value = data.get("score")?;
    let number = match value {
        Value::Object(_) => value.get("total").or_else(|| value.get("value"))?,
        other => other,
    };
    match number {
        Value::Number(n) => n.as_i64().map(|i| i.to_string()).or_else(|| {
            n.as_f64().map(|f| {
                let s = format!("{f:.1}");
                s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
            })
        }),
        Value::String(s) => scalar(&Value::String(s.clone()), 20),
        _ => None,
    }
}

/// `contact` (a string, a `{kind, value}` or `{name, email, phone, …}` object, or a list of
/// those) or the first of `contacts`, as one line.
fn contact(data: &Value) -> Option<String> {
    let value = data
        .get("contact")
        .or_else(|| data.get("contacts").and_then(|c| c.get(0)))?;
    let first = match value {
        Value::Array(items) => items.first()?,
        other => other,
    };
    match first {
        Value::Object(_) => {
            let parts: Vec<String> = ["name", "value", "email", "phone", "handle"]
                .iter()
                .filter_map(|k| first.get(*k).and_then(|v| scalar(v, 120)))
                .collect();
            (!parts.is_empty()).then(|| parts.join(" · "))
        }
        other => scalar(other, 200),
    }
}

/// `s` cleaned: control characters (NUL included) and bidirectional overrides dropped, and on
/// one line unless `multiline` (then only `\n` and `\t` stay); at most `max` characters,
/// ending in `…` when cut. Reads no more of `s` than it keeps.
fn clean(s: &str, max: usize, multiline: bool) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut kept = 0;
    for c in s.chars() {
        let c = match c {
            '\n' | '\t' if multiline => c,
            '\n' | '\r' | '\t' => ' ',
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => continue,
            c if c.is_control() => continue,
            c => c,
        };
        if kept == max {
            out.pop();
            out.push('…');
            return out;
        }
        out.push(c);
        kept += 1;
    }
    out
}

/// One trimmed line of at most `max` characters, whitespace runs collapsed.
fn one_line(s: &str, max: usize) -> String {
    let line = clean(s, max.saturating_mul(4).max(max), false);
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    cut(&collapsed, max)
}

/// At most `max` characters of `s`, ending in `…` when cut (at a character boundary).
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some(_) => {
            let keep: String = s.chars().take(max.saturating_sub(1)).collect();
            format!("{keep}…")
        }
    }
}

fn slack_escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>']) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    )
}

/// Discord Markdown: every formatting character escaped with a backslash, except in a bare
/// http(s) link (which Discord links as it is, so escapes would break it). Mentions need no
/// escaping: every body says `allowed_mentions: {parse: []}`, so none pings.
fn discord_escape(s: &str) -> Cow<'_, str> {
    const SPECIAL: &[char] = &['\\', '*', '_', '~', '`', '|', '>', '#', '[', ']', '<'];
    let bare_link = (s.starts_with("https://") || s.starts_with("http://"))
        && !s.contains(char::is_whitespace)
        && !s.contains(['<', '>', '`', '|']);
    if bare_link || !s.contains(SPECIAL) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if SPECIAL.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// HTML text and attribute escaping.
pub fn html_escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests;
