//! The default message of each service when a rule has no template: Slack Block Kit,
//! Discord embeds, Telegram HTML and a multipart email, each within the limits the service
//! documents.

use super::*;

pub(super) fn section(mrkdwn: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}})
}

/// A Slack link: `<url|label>` (the URL is normalised: no `|` or `>` in it).
fn slack_link(url: &str, label: &str) -> String {
    format!("<{}|{}>", slack_escape(url), slack_escape(label))
}

pub(super) fn slack_default(s: &Summary) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&s.title, SLACK_HEADER), "emoji": false},
    })];
    let facts = s.facts();
    if !facts.is_empty() {
        let fields: Vec<Value> = facts
            .iter()
            .map(|(label, value)| {
                json!({"type": "mrkdwn", "text": cut(&format!("*{label}*\n{}", slack_escape(value)), SLACK_FIELD)})
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if !s.items.is_empty() {
        let mut lines: Vec<String> = s
            .items
            .iter()
            .map(|item| {
                let title = cut(&item.title, 150);
                let mut line = match &item.url {
                    Some(url) => format!("• {}", slack_link(url, &title)),
                    None => format!("• {}", slack_escape(&title)),
                };
                if let Some(score) = &item.score {
                    line.push_str(&format!(" ({})", slack_escape(score)));
                }
                line
            })
            .collect();
        if s.more() > 0 {
            lines.push(format!("…and {} more", s.more()));
        }
        blocks.push(section(&cut(&lines.join("\n"), SLACK_SECTION)));
    }
    if let Some(url) = &s.url {
        blocks.push(section(&slack_link(url, "Open")));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": slack_escape(&s.event_type)}],
    }));
    let mut text = s.title.clone();
    for (label, value) in s.facts() {
        text.push_str(&format!(" · {label}: {value}"));
    }
    json!({"text": slack_escape(&cut(&text, SLACK_TEXT)), "blocks": blocks})
}

pub(super) fn discord_default(s: &Summary, message: &Message) -> Value {
    let mut embed = serde_json::Map::new();
    embed.insert(
        "title".into(),
        json!(cut(&discord_escape(&s.title), DISCORD_TITLE)),
    );
    if let Some(url) = &s.url {
        embed.insert("url".into(), json!(url));
    }
    let mut used = s.title.chars().count().min(DISCORD_TITLE);
    let fields: Vec<Value> = s
        .facts()
        .iter()
        .map(|(label, value)| {
            let value = cut(&discord_escape(value), DISCORD_FIELD_VALUE);
            used += label.len() + value.chars().count();
            json!({"name": label, "value": value, "inline": true})
        })
        .collect();
    if !fields.is_empty() {
        embed.insert("fields".into(), json!(fields));
    }
    if !s.items.is_empty() {
        let mut lines: Vec<String> = s
            .items
            .iter()
            .map(|item| {
                let title = discord_escape(&cut(&item.title, 150)).into_owned();
                let mut line = match &item.url {
                    Some(url) => format!("• [{title}]({url})"),
                    None => format!("• {title}"),
                };
                if let Some(score) = &item.score {
                    line.push_str(&format!(" ({score})"));
                }
                line
            })
            .collect();
        if s.more() > 0 {
            lines.push(format!("…and {} more", s.more()));
        }
        let room = DISCORD_EMBED_TOTAL
            .saturating_sub(used + s.event_type.chars().count() + 16)
            .min(DISCORD_DESCRIPTION);
        embed.insert("description".into(), json!(cut(&lines.join("\n"), room)));
    }
    embed.insert("footer".into(), json!({"text": cut(&s.event_type, 200)}));
    embed.insert(
        "timestamp".into(),
        json!(
            message
                .occurred_at
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
    );
    json!({"embeds": [Value::Object(embed)], "allowed_mentions": {"parse": []}})
}

pub(super) fn telegram_default(s: &Summary) -> String {
    let mut out = format!("<b>{}</b>", html_escape(&cut(&s.title, 300)));
    for (label, value) in s.facts() {
        out.push_str(&format!("\n{label}: {}", html_escape(&cut(value, 300))));
    }
    for item in &s.items {
        let title = html_escape(&cut(&item.title, 150)).into_owned();
        out.push_str("\n• ");
        match &item.url {
            Some(url) => out.push_str(&format!("<a href=\"{}\">{title}</a>", html_escape(url))),
            None => out.push_str(&title),
        }
        if let Some(score) = &item.score {
            out.push_str(&format!(" ({})", html_escape(score)));
        }
    }
    if s.more() > 0 {
        out.push_str(&format!("\n…and {} more", s.more()));
    }
    if let Some(url) = &s.url {
        out.push_str(&format!("\n<a href=\"{}\">Open</a>", html_escape(url)));
    }
    out.push_str(&format!("\n<i>{}</i>", html_escape(&s.event_type)));
    telegram_fit(out)
}

/// Telegram counts a message's length after parsing its HTML: `html` as it is when that is
/// within [`TELEGRAM_TEXT`], else its text without markup, cut and escaped (cutting markup
/// could leave a tag open, which Telegram refuses).
pub(super) fn telegram_fit(html: String) -> String {
    if visible_len(&html) <= TELEGRAM_TEXT {
        return html;
    }
    let text = crate::text::html_to_text(&html);
    html_escape(&cut(&text, TELEGRAM_TEXT)).into_owned()
}

/// Characters of `html` outside tags, an entity counting as one.
pub(super) fn visible_len(html: &str) -> usize {
    let (mut n, mut in_tag, mut in_entity) = (0, false, false);
    for c in html.chars() {
        if in_tag {
            in_tag = c != '>';
            continue;
        }
        if in_entity {
            if c == ';' {
                in_entity = false;
                continue;
            }
            if c.is_ascii_alphanumeric() || c == '#' {
                continue;
            }
            in_entity = false;
        }
        match c {
            '<' => in_tag = true,
            '&' => {
                in_entity = true;
                n += 1;
            }
            _ => n += 1,
        }
    }
    n
}

pub(super) fn email_default(s: &Summary, message: &Message) -> Rendered {
    let subject = one_line(&format!("[demandflow] {}", s.title), EMAIL_SUBJECT);
    let mut text = format!("{}\n", s.title);
    let mut html = format!(
        "<h2 style=\"margin:0 0 12px\">{}</h2>\n",
        match &s.url {
            Some(url) => format!(
                "<a href=\"{}\">{}</a>",
                html_escape(url),
                html_escape(&s.title)
            ),
            None => html_escape(&s.title).into_owned(),
        }
    );
    let facts = s.facts();
    if !facts.is_empty() {
        html.push_str("<table cellpadding=\"4\">\n");
        for (label, value) in &facts {
            text.push_str(&format!("{label}: {value}\n"));
            html.push_str(&format!(
                "<tr><th align=\"left\">{label}</th><td>{}</td></tr>\n",
                html_escape(value)
            ));
        }
        html.push_str("</table>\n");
    }
    if !s.items.is_empty() {
        html.push_str("<ul>\n");
        for item in &s.items {
            let score = item
                .score
                .as_ref()
                .map(|sc| format!(" ({sc})"))
                .unwrap_or_default();
            text.push_str(&format!(
                "- {}{score}{}\n",
                item.title,
                item.url
                    .as_ref()
                    .map(|u| format!(" <{u}>"))
                    .unwrap_or_default()
            ));
            let title = html_escape(&item.title).into_owned();
            let linked = match &item.url {
                Some(url) => format!("<a href=\"{}\">{title}</a>", html_escape(url)),
                None => title,
            };
            html.push_str(&format!("<li>{linked}{}</li>\n", html_escape(&score)));
        }
        html.push_str("</ul>\n");
        if s.more() > 0 {
            text.push_str(&format!("…and {} more\n", s.more()));
            html.push_str(&format!("<p>…and {} more</p>\n", s.more()));
        }
    }
    if let Some(url) = &s.url {
        text.push_str(&format!("\n{url}\n"));
        html.push_str(&format!(
            "<p><a href=\"{}\">Open</a></p>\n",
            html_escape(url)
        ));
    }
    let footer = format!(
        "{} · {}",
        s.event_type,
        message
            .occurred_at
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    text.push_str(&format!("\n-- \n{footer}\n"));
    html.push_str(&format!(
        "<p style=\"color:#888;font-size:12px\">{}</p>\n",
        html_escape(&footer)
    ));
    Rendered::Email {
        subject,
        text,
        html: html_page(&html),
    }
}

pub(super) fn html_page(body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body style=\"font-family:sans-serif\">\n{body}</body></html>\n"
    )
}

/// An email template's first non-empty line is the subject and the rest the body (the whole
/// output when there is no rest).
pub(super) fn split_subject(out: &str) -> (String, String) {
    let trimmed = out.trim_start();
    match trimmed.split_once('\n') {
        Some((subject, rest)) if !rest.trim().is_empty() => {
            (subject.trim().to_owned(), rest.trim().to_owned())
        }
        _ => (trimmed.trim().to_owned(), trimmed.trim().to_owned()),
    }
}
