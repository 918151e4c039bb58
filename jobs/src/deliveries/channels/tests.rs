//! The channels against local fakes that answer as each service documents, a receiver that
//! checks Standard Webhooks signatures with the independent `standardwebhooks` crate, and a
//! real SMTP conversation with a small server inside the test.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::TimeZone;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{body_partial_json, header, method, path, query_param},
};

use super::*;

const SLACK_PATH: &str = "/services/T0001/B0002/SlackSecretToken123";
const DISCORD_PATH: &str = "/api/webhooks/1122334455/DiscordSecretToken_abcdef";
const BOT_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const SMTP_PASSWORD: &str = "smtp-Secret-pw";

fn message() -> Message {
    Message {
        id: "dlv_01J9ZK8Y7".into(),
        event_type: "lead.created".into(),
        occurred_at: chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap(),
        data: json!({
            "title": "Looking for a CRM <script>alert(1)</script>",
            "url": "https://forum.example.com/t/42",
            "score": 87,
            "category": "buying_intent",
            "contact": {"kind": "email", "value": "jane@example.com"},
        }),
    }
}

fn destination(kind: ChannelKind, settings: Value) -> (ChannelConfig, Credentials) {
    parse_destination(kind, settings, true).unwrap()
}

async fn send(kind: ChannelKind, settings: Value) -> Outcome {
    let (config, credentials) = destination(kind, settings);
    Channels::new(true)
        .send(&config, &credentials, &message(), None)
        .await
}

/// Every string a caller can see of `outcome`.
fn shown(outcome: &Outcome) -> String {
    format!("{outcome:?}")
}

// --- Standard Webhooks ---------------------------------------------------------------------

/// A receiver that answers 204 only to a request the independent verifier accepts for
/// `secret`, and 401 otherwise.
fn verifying_receiver(secret: &str) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + use<> {
    let verifier = standardwebhooks::Webhook::new(secret).unwrap();
    move |request: &Request| match verifier.verify(&request.body, &request.headers) {
        Ok(()) => ResponseTemplate::new(204),
        Err(e) => ResponseTemplate::new(401).set_body_string(format!("bad signature: {e:?}")),
    }
}

#[tokio::test]
async fn a_webhook_is_delivered_signed_and_an_independent_verifier_accepts_it() {
    let server = MockServer::start().await;
    let secret = generate_signing_secret();
    Mock::given(method("POST"))
        .and(path("/hooks/in"))
        .and(header("content-type", "application/json"))
        .and(header("webhook-id", "dlv_01J9ZK8Y7"))
        .respond_with(verifying_receiver(secret.expose_secret()))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = send(
        ChannelKind::Webhook,
        json!({"url": format!("{}/hooks/in", server.uri()), "signing_secret": secret.expose_secret()}),
    )
    .await;
    assert!(
        matches!(
            outcome,
            Outcome::Delivered {
                status: Some(204),
                ..
            }
        ),
        "{outcome:?}"
    );
    let received = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&received.body).unwrap();
    assert_eq!(body["type"], "lead.created");
    assert_eq!(body["timestamp"], "2026-03-02T09:30:00.000Z");
    assert_eq!(body["data"], message().data);
    let ts: i64 = received.headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
}

#[tokio::test]
async fn while_secrets_rotate_a_receiver_knowing_only_the_old_one_still_verifies() {
    let server = MockServer::start().await;
    let old = generate_signing_secret();
    let new = generate_signing_secret();
    Mock::given(method("POST"))
        .respond_with(verifying_receiver(old.expose_secret()))
        .mount(&server)
        .await;
    let config = ChannelConfig::Webhook {
        url: format!("{}/in", server.uri()),
    };
    let rotating = Credentials::Webhook {
        signing_secrets: vec![new.clone(), old],
    };
    let outcome = Channels::new(true)
        .send(&config, &rotating, &message(), None)
        .await;
    assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");
    let received = &server.received_requests().await.unwrap()[0];
    let signature = received.headers["webhook-signature"].to_str().unwrap();
    assert_eq!(signature.split(' ').count(), 2, "{signature}");

    // Without the old secret, the same receiver refuses: the test can fail.
    let only_new = Credentials::Webhook {
        signing_secrets: vec![new],
    };
    let outcome = Channels::new(true)
        .send(&config, &only_new, &message(), None)
        .await;
    assert!(
        matches!(
            outcome,
            Outcome::Rejected {
                status: Some(401),
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn webhook_answers_map_to_outcomes_and_redirects_are_not_followed() {
    let server = MockServer::start().await;
    let cases: Vec<(&str, ResponseTemplate)> = vec![
        (
            "/moved",
            ResponseTemplate::new(301)
                .insert_header("location", format!("{}/elsewhere", server.uri())),
        ),
        (
            "/gone",
            ResponseTemplate::new(410).set_body_string("endpoint deleted"),
        ),
        (
            "/slow",
            ResponseTemplate::new(429).insert_header("retry-after", "7"),
        ),
        (
            "/busy",
            ResponseTemplate::new(503).insert_header("retry-after", "3"),
        ),
        (
            "/broken",
            ResponseTemplate::new(500).set_body_string("oops\0"),
        ),
        (
            "/bad",
            ResponseTemplate::new(422).set_body_string("unprocessable"),
        ),
    ];
    for (p, response) in cases {
        Mock::given(path(p))
            .respond_with(response)
            .mount(&server)
            .await;
    }
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let at = |p: &str| json!({"url": format!("{}{p}", server.uri())});

    let moved = send(ChannelKind::Webhook, at("/moved")).await;
    assert!(
        matches!(
            moved,
            Outcome::Failed {
                status: Some(301),
                ..
            }
        ),
        "{moved:?}"
    );
    let gone = send(ChannelKind::Webhook, at("/gone")).await;
    assert_eq!(
        gone,
        Outcome::Gone {
            status: 410,
            excerpt: "endpoint deleted".into()
        }
    );
    let slow = send(ChannelKind::Webhook, at("/slow")).await;
    assert!(
        matches!(slow, Outcome::RateLimited { status: 429, retry_after, .. } if retry_after == Duration::from_secs(7)),
        "{slow:?}"
    );
    let busy = send(ChannelKind::Webhook, at("/busy")).await;
    assert!(
        matches!(busy, Outcome::Failed { status: Some(503), retry_after: Some(d), .. } if d == Duration::from_secs(3)),
        "{busy:?}"
    );
    let broken = send(ChannelKind::Webhook, at("/broken")).await;
    assert!(
        matches!(&broken, Outcome::Failed { status: Some(500), retry_after: None, excerpt } if excerpt == "oops\u{FFFD}"),
        "{broken:?}"
    );
    let bad = send(ChannelKind::Webhook, at("/bad")).await;
    assert!(
        matches!(
            bad,
            Outcome::Rejected {
                status: Some(422),
                ..
            }
        ),
        "{bad:?}"
    );
}

#[tokio::test]
async fn long_answers_are_cut_to_the_excerpt_limit() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("é".repeat(100_000)))
        .mount(&server)
        .await;
    let outcome = send(ChannelKind::Webhook, json!({"url": server.uri()})).await;
    assert_eq!(outcome.excerpt().chars().count(), EXCERPT_CHARS);
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed_and_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (config, credentials) = destination(ChannelKind::Webhook, json!({"url": server.uri()}));
    let outcome = Channels::new(false)
        .send(&config, &credentials, &message(), None)
        .await;
    assert!(
        matches!(&outcome, Outcome::Rejected { status: None, excerpt } if excerpt.starts_with("refused")),
        "{outcome:?}"
    );
    // A name that resolves to loopback is refused after resolution.
    let named = ChannelConfig::Webhook {
        url: format!("http://localhost:{}/", server.address().port()),
    };
    let outcome = Channels::new(false)
        .send(&named, &credentials, &message(), None)
        .await;
    assert!(
        matches!(&outcome, Outcome::Rejected { excerpt, .. } if excerpt.starts_with("refused")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn credentials_of_another_kind_are_rejected_before_anything_is_sent() {
    let (config, _) = destination(ChannelKind::Webhook, json!({"url": "http://127.0.0.1:9/"}));
    let (_, slack) = destination(
        ChannelKind::Slack,
        json!({"webhook_url": format!("http://127.0.0.1:9{SLACK_PATH}")}),
    );
    let outcome = Channels::new(true)
        .send(&config, &slack, &message(), None)
        .await;
    assert!(matches!(outcome, Outcome::Rejected { .. }), "{outcome:?}");
}

// --- Slack -----------------------------------------------------------------------------------

#[tokio::test]
async fn slack_gets_block_kit_and_its_answers_map_to_outcomes() {
    let server = MockServer::start().await;
    let hook = |p: &str| json!({"webhook_url": format!("{}{p}", server.uri())});
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .and(body_partial_json(json!({"blocks": [{"type": "header"}]})))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = send(ChannelKind::Slack, hook(SLACK_PATH)).await;
    assert!(
        matches!(&outcome, Outcome::Delivered { status: Some(200), receipt: None, excerpt, .. } if excerpt == "ok"),
        "{outcome:?}"
    );
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert!(
        body["text"].as_str().unwrap().contains("Looking for a CRM"),
        "{body}"
    );
    assert!(
        body["text"].as_str().unwrap().contains("&lt;script&gt;"),
        "{body}"
    );
    let blocks = body["blocks"].to_string();
    assert!(
        blocks.contains("87") && blocks.contains("forum.example.com/t/42"),
        "{blocks}"
    );

    for (p, status, answer) in [
        ("/services/T/B/limited", 429, ""),
        ("/services/T/B/removed", 404, "no_service"),
        ("/services/T/B/archived", 410, "channel_is_archived"),
        ("/services/T/B/revoked", 403, "invalid_token"),
        ("/services/T/B/invalid", 400, "invalid_payload"),
        ("/services/T/B/down", 500, "rollup_error"),
    ] {
        let mut response = ResponseTemplate::new(status).set_body_string(answer);
        if status == 429 {
            response = response.insert_header("retry-after", "5");
        }
        Mock::given(path(p))
            .respond_with(response)
            .mount(&server)
            .await;
    }
    let limited = send(ChannelKind::Slack, hook("/services/T/B/limited")).await;
    assert!(
        matches!(limited, Outcome::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(5)),
        "{limited:?}"
    );
    for p in ["removed", "archived", "revoked"] {
        let outcome = send(ChannelKind::Slack, hook(&format!("/services/T/B/{p}"))).await;
        assert!(matches!(outcome, Outcome::Gone { .. }), "{p}: {outcome:?}");
    }
    let invalid = send(ChannelKind::Slack, hook("/services/T/B/invalid")).await;
    assert!(
        matches!(
            invalid,
            Outcome::Rejected {
                status: Some(400),
                ..
            }
        ),
        "{invalid:?}"
    );
    let down = send(ChannelKind::Slack, hook("/services/T/B/down")).await;
    assert!(
        matches!(
            down,
            Outcome::Failed {
                status: Some(500),
                ..
            }
        ),
        "{down:?}"
    );
}

#[tokio::test]
async fn a_slack_answer_echoing_the_webhook_url_is_scrubbed() {
    let server = MockServer::start().await;
    let url = format!("{}{SLACK_PATH}", server.uri());
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_string(format!("invalid_payload for {url}")),
        )
        .mount(&server)
        .await;
    let outcome = send(ChannelKind::Slack, json!({"webhook_url": url})).await;
    assert!(matches!(outcome, Outcome::Rejected { .. }), "{outcome:?}");
    assert!(
        !shown(&outcome).contains("SlackSecretToken123"),
        "{outcome:?}"
    );
    assert!(
        shown(&outcome).contains(crate::secrets::REDACTED),
        "{outcome:?}"
    );
}

// --- Discord ---------------------------------------------------------------------------------

#[tokio::test]
async fn discord_waits_for_the_message_and_keeps_its_id_as_the_receipt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(DISCORD_PATH))
        .and(query_param("wait", "true"))
        .and(query_param("thread_id", "99"))
        .and(body_partial_json(
            json!({"allowed_mentions": {"parse": []}}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-limit", "5")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset-after", "0.8")
                .set_body_json(
                    json!({"id": "1234567890123456789", "channel_id": "42", "content": ""}),
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let outcome = send(
        ChannelKind::Discord,
        json!({"webhook_url": format!("{}{DISCORD_PATH}?thread_id=99", server.uri())}),
    )
    .await;
    assert!(
        matches!(&outcome, Outcome::Delivered { status: Some(200), receipt: Some(id), .. } if id == "1234567890123456789"),
        "{outcome:?}"
    );
    // The answer emptied the bucket: the destination pauses for its reset instead of sending
    // into a 429.
    assert!(
        matches!(&outcome, Outcome::Delivered { pause: Some(p), .. } if *p == Duration::from_millis(800)),
        "{outcome:?}"
    );
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    let embed = &body["embeds"][0];
    assert_eq!(embed["url"], "https://forum.example.com/t/42");
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .starts_with("Looking for a CRM")
    );
    assert!(embed["fields"].to_string().contains("87"), "{embed}");
}

#[tokio::test]
async fn discord_rate_limits_read_the_float_retry_after_and_unknown_webhooks_are_gone() {
    let server = MockServer::start().await;
    Mock::given(path("/api/webhooks/1/limited"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "2")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset-after", "1.5")
                .insert_header("x-ratelimit-scope", "user")
                .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 1.25, "global": false})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/webhooks/1/deleted"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"message": "Unknown Webhook", "code": 10015})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/webhooks/1/toolong"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "message": "Invalid Form Body", "code": 50035,
            "errors": {"embeds": {"0": {"description": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}}}}
        })))
        .mount(&server)
        .await;
    let hook = |p: &str| json!({"webhook_url": format!("{}/api/webhooks/1/{p}", server.uri())});
    let limited = send(ChannelKind::Discord, hook("limited")).await;
    assert!(
        matches!(limited, Outcome::RateLimited { status: 429, retry_after, .. } if retry_after == Duration::from_millis(1250)),
        "{limited:?}"
    );
    let deleted = send(ChannelKind::Discord, hook("deleted")).await;
    assert!(
        matches!(&deleted, Outcome::Gone { status: 404, excerpt } if excerpt.contains("Unknown Webhook")),
        "{deleted:?}"
    );
    assert!(!shown(&deleted).contains("/api/webhooks"), "{deleted:?}");
    let rejected = send(ChannelKind::Discord, hook("toolong")).await;
    assert!(
        matches!(
            rejected,
            Outcome::Rejected {
                status: Some(400),
                ..
            }
        ),
        "{rejected:?}"
    );

    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-ratelimit-reset-after", "0.25".parse().unwrap());
    assert_eq!(
        discord_reset_after(&headers),
        Some(Duration::from_millis(250))
    );
    headers.insert("x-ratelimit-reset-after", "-1".parse().unwrap());
    assert_eq!(discord_reset_after(&headers), None);
}

// --- Telegram --------------------------------------------------------------------------------

fn telegram(server: &MockServer, chat_id: Value) -> Value {
    json!({"bot_token": BOT_TOKEN, "chat_id": chat_id, "base_url": server.uri()})
}

#[tokio::test]
async fn telegram_sends_html_and_keeps_the_message_id_as_the_receipt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{BOT_TOKEN}/sendMessage")))
        .and(body_partial_json(json!({
            "chat_id": -1001234567890_i64, "parse_mode": "HTML", "disable_web_page_preview": true
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "result": {"message_id": 4711, "chat": {"id": -1001234567890_i64}, "date": 1, "text": "x"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = send(
        ChannelKind::Telegram,
        telegram(&server, json!(-1001234567890_i64)),
    )
    .await;
    assert!(
        matches!(&outcome, Outcome::Delivered { status: Some(200), receipt: Some(id), .. } if id == "4711"),
        "{outcome:?}"
    );
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("<b>Looking for a CRM &lt;script&gt;"),
        "{text}"
    );
    assert!(
        text.contains("<a href=\"https://forum.example.com/t/42\">"),
        "{text}"
    );
    assert!(!shown(&outcome).contains("AAHdq"), "{outcome:?}");
}

#[tokio::test]
async fn telegram_flood_limits_blocked_bots_and_bad_requests_map_to_outcomes() {
    let server = MockServer::start().await;
    for (chat, status, body) in [
        (
            "1",
            429,
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 17", "parameters": {"retry_after": 17}}),
        ),
        (
            "2",
            403,
            json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
        ),
        (
            "3",
            400,
            json!({"ok": false, "error_code": 400, "description": format!("Bad Request: chat not found (bot{BOT_TOKEN})")}),
        ),
        (
            "4",
            502,
            json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
        ),
    ] {
        Mock::given(body_partial_json(
            json!({"chat_id": chat.parse::<i64>().unwrap()}),
        ))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    }
    let flood = send(ChannelKind::Telegram, telegram(&server, json!(1))).await;
    assert!(
        matches!(flood, Outcome::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(17)),
        "{flood:?}"
    );
    let blocked = send(ChannelKind::Telegram, telegram(&server, json!(2))).await;
    assert!(
        matches!(blocked, Outcome::Gone { status: 403, .. }),
        "{blocked:?}"
    );
    let bad = send(ChannelKind::Telegram, telegram(&server, json!(3))).await;
    assert!(
        matches!(
            bad,
            Outcome::Rejected {
                status: Some(400),
                ..
            }
        ),
        "{bad:?}"
    );
    let down = send(ChannelKind::Telegram, telegram(&server, json!(4))).await;
    assert!(
        matches!(
            down,
            Outcome::Failed {
                status: Some(502),
                ..
            }
        ),
        "{down:?}"
    );
    for outcome in [&flood, &blocked, &bad, &down] {
        assert!(!shown(outcome).contains("AAHdq"), "{outcome:?}");
    }
}

#[tokio::test]
async fn a_network_failure_never_shows_the_token() {
    // A port nothing listens on: the request fails before any answer.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let outcome = send(
        ChannelKind::Telegram,
        json!({"bot_token": BOT_TOKEN, "chat_id": 1, "base_url": format!("http://127.0.0.1:{port}")}),
    )
    .await;
    assert!(
        matches!(outcome, Outcome::Failed { status: None, .. }),
        "{outcome:?}"
    );
    assert!(!shown(&outcome).contains("AAHdq"), "{outcome:?}");
    assert!(!shown(&outcome).contains("bot123456789"), "{outcome:?}");
}

#[test]
fn credentials_never_show_in_debug_output() {
    for (kind, settings) in [
        (
            ChannelKind::Slack,
            json!({"webhook_url": format!("https://hooks.slack.com{SLACK_PATH}")}),
        ),
        (
            ChannelKind::Discord,
            json!({"webhook_url": format!("https://discord.com{DISCORD_PATH}")}),
        ),
        (
            ChannelKind::Telegram,
            json!({"bot_token": BOT_TOKEN, "chat_id": 1}),
        ),
        (
            ChannelKind::Email,
            json!({"smtp_host": "smtp.example.com", "username": "u", "password": SMTP_PASSWORD,
                   "from": "a@example.com", "to": "b@example.com"}),
        ),
    ] {
        let (config, credentials) = parse_destination(kind, settings, false).unwrap();
        let shown = format!("{config:?} {credentials:?} {}", public_view(&config));
        for secret in [
            "SlackSecretToken123",
            "DiscordSecretToken",
            "AAHdq",
            SMTP_PASSWORD,
        ] {
            assert!(!shown.contains(secret), "{kind}: {shown}");
        }
    }
    let secret = generate_signing_secret();
    let credentials = Credentials::Webhook {
        signing_secrets: vec![secret.clone()],
    };
    assert!(!format!("{credentials:?}").contains(&secret.expose_secret()[6..]));
}

// --- Email -----------------------------------------------------------------------------------

/// What the SMTP server saw.
#[derive(Debug, Default)]
struct Seen {
    connections: usize,
    auth: Vec<String>,
    mail_from: Vec<String>,
    rcpt_to: Vec<String>,
    data: Vec<String>,
}

/// A small SMTP server speaking EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP and QUIT, that
/// answers the end of DATA with `data_reply`.
async fn smtp_server(data_reply: &'static str) -> (u16, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            shared.lock().unwrap().connections += 1;
            let seen = shared.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write
                    .write_all(b"220 test.local ESMTP ready\r\n")
                    .await
                    .unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: String = if upper.starts_with("EHLO") {
                        "250-test.local\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME".into()
                    } else if upper.starts_with("AUTH PLAIN ") {
                        seen.lock().unwrap().auth.push(line[11..].to_owned());
                        "235 2.7.0 accepted".into()
                    } else if upper.starts_with("MAIL FROM:") {
                        seen.lock().unwrap().mail_from.push(line[10..].to_owned());
                        "250 2.1.0 ok".into()
                    } else if upper.starts_with("RCPT TO:") {
                        seen.lock().unwrap().rcpt_to.push(line[8..].to_owned());
                        "250 2.1.5 ok".into()
                    } else if upper == "DATA" {
                        write.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        seen.lock().unwrap().data.push(data);
                        data_reply.into()
                    } else if upper == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else if upper == "RSET" || upper == "NOOP" {
                        "250 ok".into()
                    } else {
                        "502 unknown".into()
                    };
                    if write
                        .write_all(format!("{reply}\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    (port, seen)
}

fn email_settings(port: u16) -> Value {
    json!({
        "smtp_host": "127.0.0.1", "smtp_port": port, "tls": "none",
        "username": "alerts", "password": SMTP_PASSWORD,
        "from": "Demandflow <alerts@example.com>",
        "to": ["sales@example.com", "Owner <owner@example.com>"],
    })
}

#[tokio::test]
async fn an_email_is_a_multipart_message_with_our_message_id_over_a_reused_connection() {
    let (port, seen) = smtp_server("250 2.0.0 queued as ABC123").await;
    let (config, credentials) = destination(ChannelKind::Email, email_settings(port));
    let channels = Channels::new(true);
    let outcome = channels.send(&config, &credentials, &message(), None).await;
    assert_eq!(
        outcome,
        Outcome::Delivered {
            status: Some(250),
            receipt: Some("<dlv_01J9ZK8Y7@demandflow>".into()),
            excerpt: "2.0.0 queued as ABC123".into(),
            pause: None,
        }
    );
    // The pool takes a connection back on a task of its own: let it run.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let mut second = message();
    second.id = "dlv_second".into();
    let outcome = channels.send(&config, &credentials, &second, None).await;
    assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");

    let seen = seen.lock().unwrap();
    assert_eq!(seen.connections, 1, "the pooled connection is reused");
    assert_eq!(seen.mail_from[0], "<alerts@example.com>");
    assert_eq!(
        seen.rcpt_to[..2],
        [
            "<sales@example.com>".to_owned(),
            "<owner@example.com>".to_owned()
        ]
    );
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD
        .decode(&seen.auth[0])
        .unwrap();
    assert_eq!(auth, format!("\0alerts\0{SMTP_PASSWORD}").into_bytes());
    let data = &seen.data[0];
    assert!(
        data.contains("Message-ID: <dlv_01J9ZK8Y7@demandflow>"),
        "{data}"
    );
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(
        data.contains("Content-Type: text/plain; charset=utf-8"),
        "{data}"
    );
    assert!(
        data.contains("Content-Type: text/html; charset=utf-8"),
        "{data}"
    );
    assert!(
        data.contains("Subject: [demandflow] Looking for a CRM"),
        "{data}"
    );
    let (_, html) = data.split_once("Content-Type: text/html").unwrap();
    assert!(
        html.contains("&lt;script&gt;"),
        "the HTML part escapes: {html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(seen.data[1].contains("Message-ID: <dlv_second@demandflow>"));
}

#[tokio::test]
async fn smtp_4xx_is_retried_and_5xx_rejected_without_showing_the_password() {
    let (busy, _) = smtp_server("451 4.3.0 try again later").await;
    let (refusing, _) = smtp_server("554 5.7.1 message refused").await;
    let outcome = send(ChannelKind::Email, email_settings(busy)).await;
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                status: Some(451),
                ..
            }
        ),
        "{outcome:?}"
    );
    let refused = send(ChannelKind::Email, email_settings(refusing)).await;
    assert!(
        matches!(&refused, Outcome::Rejected { status: Some(554), excerpt } if excerpt.contains("message refused")),
        "{refused:?}"
    );
    for outcome in [&outcome, &refused] {
        assert!(!shown(outcome).contains(SMTP_PASSWORD), "{outcome:?}");
    }
}

#[tokio::test]
async fn an_smtp_server_that_is_not_there_is_a_failure_to_retry() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let outcome = send(ChannelKind::Email, email_settings(port)).await;
    assert!(
        matches!(outcome, Outcome::Failed { status: None, .. }),
        "{outcome:?}"
    );
    assert!(!shown(&outcome).contains(SMTP_PASSWORD));
}

#[tokio::test]
async fn an_smtp_server_on_a_private_address_is_refused_unless_allowed() {
    let (port, seen) = smtp_server("250 ok").await;
    let (config, credentials) = destination(ChannelKind::Email, email_settings(port));
    let outcome = Channels::new(false)
        .send(&config, &credentials, &message(), None)
        .await;
    assert!(
        matches!(&outcome, Outcome::Rejected { excerpt, .. } if excerpt.starts_with("refused")),
        "{outcome:?}"
    );
    assert_eq!(seen.lock().unwrap().connections, 0);
}

// --- Templates through a send ----------------------------------------------------------------

#[tokio::test]
async fn a_template_shapes_the_message_and_a_broken_one_is_rejected_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let (config, credentials) = destination(
        ChannelKind::Slack,
        json!({"webhook_url": format!("{}{SLACK_PATH}", server.uri())}),
    );
    let templates: Templates = serde_json::from_value(json!({
        "slack": "*{{ title }}* scored {{ score }} <{{ url }}|open>"
    }))
    .unwrap();
    templates.check().unwrap();
    let outcome = Channels::new(true)
        .send(&config, &credentials, &message(), Some(&templates))
        .await;
    assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(
        body["blocks"][0]["text"]["text"],
        "*Looking for a CRM &lt;script&gt;alert(1)&lt;/script&gt;* scored 87 <https://forum.example.com/t/42|open>"
    );

    let endless = Templates(
        [(
            ChannelKind::Slack,
            "{% for a in data %}{% for b in data %}{% for c in data %}{% for d in data %}{% for e in data %}{{ a }}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}".to_owned(),
        )]
        .into(),
    );
    let mut wide = message();
    wide.data = json!(
        (0..50)
            .map(|i| (i.to_string(), json!(i)))
            .collect::<serde_json::Map<_, _>>()
    );
    let outcome = Channels::new(true)
        .send(&config, &credentials, &wide, Some(&endless))
        .await;
    assert!(
        matches!(&outcome, Outcome::Rejected { status: None, excerpt } if excerpt.contains("limit")),
        "{outcome:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "nothing more was sent"
    );
}

#[tokio::test]
async fn a_discord_bucket_with_requests_left_asks_for_no_pause() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(DISCORD_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-remaining", "4")
                .insert_header("x-ratelimit-reset-after", "0.8")
                .set_body_json(json!({"id": "1"})),
        )
        .mount(&server)
        .await;
    let outcome = send(
        ChannelKind::Discord,
        json!({"webhook_url": format!("{}{DISCORD_PATH}", server.uri())}),
    )
    .await;
    assert!(
        matches!(&outcome, Outcome::Delivered { pause: None, .. }),
        "{outcome:?}"
    );
}
