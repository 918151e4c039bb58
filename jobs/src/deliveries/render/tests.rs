use std::time::{Duration, Instant};

use chrono::TimeZone;

use super::*;

fn lead(data: Value) -> Message {
    Message {
        id: "dlv_1".into(),
        event_type: "lead.created".into(),
        occurred_at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap(),
        data,
    }
}

fn sample() -> Message {
    lead(json!({
        "title": "Need a CRM for our sales team",
        "url": "https://forum.example.com/t/42",
        "score": {"total": 87.5, "breakdown": {}},
        "category": "buying_intent",
        "contact": [{"kind": "email", "value": "jane@example.com"}],
        "author": {"name": "jane"},
    }))
}

fn digest() -> Message {
    let items: Vec<Value> = (1..=25)
        .map(|i| json!({"title": format!("Post {i}"), "url": format!("https://example.com/{i}"), "score": 100 - i}))
        .collect();
    Message {
        event_type: "digest".into(),
        data: json!({"count": 25, "items": items}),
        ..lead(json!({}))
    }
}

fn hostile() -> Message {
    lead(json!({
        "title": format!("<script>alert('x')</script>\0 & <b>bold</b> *stars* @everyone {}", "A".repeat(1 << 20)),
        "url": "javascript:alert(1)",
        "score": 99,
        "category": "x\u{202E}gnp.exe\0",
        "contact": "<img src=x onerror=alert(1)>",
    }))
}

fn all_text(rendered: &Rendered) -> String {
    match rendered {
        Rendered::Webhook { body } => String::from_utf8_lossy(body).into_owned(),
        Rendered::Slack { body } | Rendered::Discord { body } => body.to_string(),
        Rendered::Telegram { text } => text.clone(),
        Rendered::Email {
            subject,
            text,
            html,
        } => format!("{subject}\n{text}\n{html}"),
    }
}

#[test]
fn defaults_show_the_title_score_category_contact_and_link_for_every_kind() {
    for kind in [
        ChannelKind::Slack,
        ChannelKind::Discord,
        ChannelKind::Telegram,
        ChannelKind::Email,
    ] {
        let text = all_text(&render(kind, &sample(), None).unwrap());
        for expected in [
            "Need a CRM for our sales team",
            "87.5",
            "buying",
            "jane@example.com",
            "https://forum.example.com/t/42",
        ] {
            assert!(text.contains(expected), "{kind} lacks {expected}: {text}");
        }
    }
}

#[test]
fn a_webhook_body_is_the_event_itself() {
    let Rendered::Webhook { body } = render(ChannelKind::Webhook, &sample(), None).unwrap() else {
        panic!()
    };
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body,
        json!({"type": "lead.created", "timestamp": "2026-03-02T09:30:00.000Z", "data": sample().data})
    );
    assert!(check_template(ChannelKind::Webhook, "{{ title }}").is_err());
}

#[test]
fn digests_list_their_first_items_and_count_the_rest() {
    for kind in [
        ChannelKind::Slack,
        ChannelKind::Discord,
        ChannelKind::Telegram,
        ChannelKind::Email,
    ] {
        let text = all_text(&render(kind, &digest(), None).unwrap());
        assert!(
            text.contains("Post 1") && text.contains("Post 10"),
            "{kind}: {text}"
        );
        assert!(!text.contains("Post 11"), "{kind}: {text}");
        assert!(text.contains("15 more"), "{kind}: {text}");
        assert!(text.contains("https://example.com/3"), "{kind}: {text}");
    }
}

#[test]
fn hostile_data_is_escaped_cut_and_cleaned_for_every_kind() {
    let started = Instant::now();
    for kind in [
        ChannelKind::Slack,
        ChannelKind::Discord,
        ChannelKind::Telegram,
        ChannelKind::Email,
    ] {
        let rendered = render(kind, &hostile(), None).unwrap();
        let mut text = all_text(&rendered);
        if let Rendered::Slack { body } = &rendered {
            // A header is plain_text, which Slack shows as it is: markup there is inert.
            let mut markup = body.clone();
            markup["blocks"][0] = Value::Null;
            text = markup.to_string();
        }
        assert!(!text.contains('\0'), "{kind}");
        assert!(!text.contains('\u{202E}'), "{kind}");
        if kind == ChannelKind::Discord {
            // Discord shows no HTML; its Markdown is what must not apply.
            assert!(
                text.contains("\\\\*stars\\\\*"),
                "{kind}: {}",
                &text[..300.min(text.len())]
            );
            assert!(!text.contains(" *stars*"), "{kind}");
        } else if kind != ChannelKind::Email {
            // (Email's text part is plain text; its HTML part is checked below.)
            assert!(
                !text.contains("<script>"),
                "{kind}: {}",
                &text[..300.min(text.len())]
            );
            assert!(!text.contains("<img"), "{kind}");
        }
        assert!(
            !text.contains("javascript:"),
            "{kind}: a non-http link is dropped"
        );
        assert!(text.len() < 40_000, "{kind}: {} bytes", text.len());
        assert!(text.contains("99"), "{kind}: the rest still shows");
        match &rendered {
            Rendered::Slack { body } => {
                assert!(body["text"].as_str().unwrap().chars().count() <= SLACK_TEXT);
                assert!(
                    body["blocks"][0]["text"]["text"]
                        .as_str()
                        .unwrap()
                        .chars()
                        .count()
                        <= SLACK_HEADER
                );
            }
            Rendered::Discord { body } => {
                let embed = &body["embeds"][0];
                assert!(embed["title"].as_str().unwrap().chars().count() <= DISCORD_TITLE);
                assert_eq!(body["allowed_mentions"], json!({"parse": []}));
            }
            Rendered::Telegram { text } => assert!(visible_len(text) <= TELEGRAM_TEXT),
            Rendered::Email { subject, html, .. } => {
                assert!(!html.contains("<script>") && !html.contains("<img"));
                assert!(subject.chars().count() <= EMAIL_SUBJECT);
                assert!(!subject.contains(['\r', '\n']));
            }
            Rendered::Webhook { .. } => unreachable!(),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn telegram_escapes_data_as_html_and_keeps_its_own_markup() {
    let Rendered::Telegram { text } = render(
        ChannelKind::Telegram,
        &lead(json!({"title": "a < b & \"c\" > d", "url": "https://e.com/?a=1&b=2"})),
        None,
    )
    .unwrap() else {
        panic!()
    };
    assert!(
        text.starts_with("<b>a &lt; b &amp; &quot;c&quot; &gt; d</b>"),
        "{text}"
    );
    assert!(
        text.contains("<a href=\"https://e.com/?a=1&amp;b=2\">Open</a>"),
        "{text}"
    );
}

#[test]
fn an_overlong_telegram_template_falls_back_to_plain_text_within_the_limit() {
    let source = "{% for i in items %}<b>{{ i.title }}</b> {{ data.long }}\n{% endfor %}";
    let mut message = digest();
    message.data["long"] = json!("x".repeat(900));
    let rendered = render(ChannelKind::Telegram, &message, Some(source)).unwrap();
    let Rendered::Telegram { text } = rendered else {
        panic!()
    };
    assert!(
        visible_len(&text) <= TELEGRAM_TEXT,
        "{}",
        visible_len(&text)
    );
    assert!(
        !text.contains("<b>"),
        "markup is dropped rather than cut open"
    );
    assert!(text.ends_with('…'));
}

#[test]
fn templates_render_values_escaped_for_their_kind() {
    let data = json!({"title": "*bold* <@123> & _x_", "url": "https://e.com/a_b", "score": 5});
    let source = "{{ title }} {{ url }} {{ score }}";
    let discord = render(ChannelKind::Discord, &lead(data.clone()), Some(source)).unwrap();
    let Rendered::Discord { body } = discord else {
        panic!()
    };
    assert_eq!(
        body["content"],
        "\\*bold\\* \\<@123\\> & \\_x\\_ https://e.com/a_b 5"
    );
    let Rendered::Slack { body } =
        render(ChannelKind::Slack, &lead(data.clone()), Some(source)).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        body["text"],
        "*bold* &lt;@123&gt; &amp; _x_ https://e.com/a_b 5"
    );
    let email = "New: {{ title }}\nScore {{ score }}\n{{ url }}";
    let Rendered::Email {
        subject,
        text,
        html,
    } = render(ChannelKind::Email, &lead(data), Some(email)).unwrap()
    else {
        panic!()
    };
    assert_eq!(subject, "New: *bold* <@123> & _x_");
    assert_eq!(text, "Score 5\nhttps://e.com/a_b");
    assert!(
        html.contains("Score 5<br>\nhttps:&#x2f;&#x2f;e.com")
            || html.contains("Score 5<br>\nhttps://e.com"),
        "{html}"
    );
}

#[test]
fn a_template_cannot_mark_values_safe_or_use_statements_outside_if_and_for() {
    for (source, expected) in [
        ("{{ title|safe }}", "unknown filter"),
        ("{% set x = title %}{{ x }}", "not available"),
        ("{% macro m() %}x{% endmacro %}", "not available"),
        ("{% include 'x' %}", "not available"),
        ("{{ title * 1000000 }}", "not available"),
        ("{{ 'x' ~ '}}' * 99999999 }}", "not available"),
        (
            "{% for x in items recursive %}{{ loop(items) }}{% endfor %}",
            "recursive",
        ),
        ("{{ title", "syntax"),
        ("{% if false %}x{% endif %}", "rendered nothing"),
    ] {
        let e = check_template(ChannelKind::Slack, source).unwrap_err();
        assert!(e.message.contains(expected), "{source}: {e}");
    }
    let huge = "x".repeat(MAX_TEMPLATE_BYTES + 1);
    assert!(check_template(ChannelKind::Email, &huge).is_err());
    let ok = "{{ title|upper|truncate(20) }}{% if score is defined %} ({{ score }}){% endif %}\
              {% for i in items %}- {{ i.title }}{% endfor %}";
    check_template(ChannelKind::Slack, ok).unwrap();
    let e = check_template(ChannelKind::Slack, "{{ items|map(attribute='title') }}").unwrap_err();
    assert!(e.message.contains("unknown filter"), "{e}");
}

#[test]
fn an_endless_loop_runs_out_of_fuel_instead_of_hanging() {
    let source = "{% for a in data %}{% for b in data %}{% for c in data %}{% for d in data %}{{ a }}{% endfor %}{% endfor %}{% endfor %}{% endfor %}";
    let started = Instant::now();
    let wide = lead(json!(
        (0..50)
            .map(|i| (i.to_string(), json!(i)))
            .collect::<serde_json::Map<_, _>>()
    ));
    let e = render(ChannelKind::Slack, &wide, Some(source)).unwrap_err();
    assert!(e.to_string().contains("limit of"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        check_template(ChannelKind::Slack, source).is_ok(),
        "it passes on the small samples"
    );
}

#[test]
fn output_past_the_cap_is_an_error_not_a_huge_message() {
    // 50 keys × 50 keys × a 1000-character value: 2.5 MB if it were allowed.
    let mut data = serde_json::Map::new();
    for i in 0..50 {
        data.insert(i.to_string(), json!("y".repeat(5_000)));
    }
    let source = "{% for a in data %}{% for b in data %}{{ data[b] }}{% endfor %}{% endfor %}";
    let e = render(
        ChannelKind::Discord,
        &lead(Value::Object(data)),
        Some(source),
    )
    .unwrap_err();
    assert!(e.to_string().contains("longer than"), "{e}");
}

#[test]
fn join_is_bounded() {
    let items: Vec<Value> = (0..50).map(|_| json!("z".repeat(1_000))).collect();
    let source = "{{ data.items|join(data.items|join(',')) }}";
    let e = render(
        ChannelKind::Slack,
        &lead(json!({"items": items})),
        Some(source),
    )
    .unwrap_err();
    assert!(e.to_string().contains("join would be longer"), "{e}");
}

#[test]
fn cut_respects_character_boundaries() {
    assert_eq!(cut("héllo", 10), "héllo");
    assert_eq!(cut("héllo", 3), "hé…");
    assert_eq!(cut("😀😀😀", 2), "😀…");
    assert_eq!(cut("", 0), "");
    assert_eq!(clean("a\0b\u{202E}c\r\nd", 10, false), "abc  d");
    assert_eq!(clean("abcdef", 3, true), "ab…");
}

#[test]
fn templates_deserialise_by_kind_and_check_with_paths() {
    let templates: Templates =
        serde_json::from_value(json!({"slack": "{{ title }}", "email": "{% set x = 1 %}"}))
            .unwrap();
    let e = templates.check().unwrap_err();
    assert_eq!(e.path, "email");
    assert!(serde_json::from_value::<Templates>(json!({"fax": "x"})).is_err());
}
