//! Destination settings: what each channel kind accepts, refuses and keeps secret.

use super::*;

const TOKEN: &str = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

fn err(kind: ChannelKind, settings: Value, allow_private: bool) -> FieldError {
    parse_destination(kind, settings, allow_private).unwrap_err()
}

#[test]
fn a_webhook_without_a_secret_gets_a_fresh_one_and_a_given_one_is_checked() {
    let (config, creds) = parse_destination(
        ChannelKind::Webhook,
        json!({"url": "https://hooks.example.com/in"}),
        false,
    )
    .unwrap();
    assert_eq!(
        config,
        ChannelConfig::Webhook {
            url: "https://hooks.example.com/in".into()
        }
    );
    let Credentials::Webhook { signing_secrets } = &creds else {
        panic!("{creds:?}")
    };
    assert_eq!(signing_secrets.len(), 1);
    let secret = signing_secrets[0].expose_secret();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(standard_webhooks::decode_secret(secret).unwrap().len() >= 24);

    let e = err(
        ChannelKind::Webhook,
        json!({"url": "https://e.com/", "signing_secret": "whsec_!!"}),
        false,
    );
    assert_eq!(e.path, "signing_secret");
    assert!(!e.message.contains("!!"), "{e}");
}

#[test]
fn urls_must_be_https_unless_private_networks_are_allowed_and_the_host_is_local() {
    let plain = json!({"url": "http://hooks.example.com/in"});
    assert_eq!(err(ChannelKind::Webhook, plain.clone(), false).path, "url");
    assert_eq!(err(ChannelKind::Webhook, plain, true).path, "url");
    let local = json!({"url": "http://127.0.0.1:9000/in"});
    assert_eq!(err(ChannelKind::Webhook, local.clone(), false).path, "url");
    assert!(parse_destination(ChannelKind::Webhook, local, true).is_ok());
    let metadata = json!({"url": "https://169.254.169.254/latest"});
    let e = err(ChannelKind::Webhook, metadata, false);
    assert!(e.message.starts_with("refused"), "{e}");
    let e = err(
        ChannelKind::Webhook,
        json!({"url": "https://u:p@e.com/"}),
        false,
    );
    assert_eq!(e.path, "url");
    let e = err(
        ChannelKind::Webhook,
        json!({"url": "https://e.com/", "extra": 1}),
        false,
    );
    assert!(e.message.contains("unknown field"), "{e}");
}

#[test]
fn slack_and_discord_keep_the_url_secret_and_show_only_its_host() {
    let url = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX";
    let (config, creds) =
        parse_destination(ChannelKind::Slack, json!({"webhook_url": url}), false).unwrap();
    let view = public_view(&config).to_string();
    assert!(view.contains("hooks.slack.com"), "{view}");
    assert!(!view.contains("XXXXSECRETXXXX"), "{view}");
    assert!(!format!("{config:?} {creds:?}").contains("XXXXSECRETXXXX"));
    let sealed_form = serde_json::to_string(&creds).unwrap();
    assert!(
        sealed_form.contains("XXXXSECRETXXXX"),
        "serialised for sealing"
    );
    let back: Credentials = serde_json::from_str(&sealed_form).unwrap();
    assert_eq!(back.kind(), ChannelKind::Slack);
    crate::secrets::install_for_tests();
    let sealed = creds.seal().unwrap();
    assert!(!sealed.contains("XXXXSECRETXXXX"), "{sealed}");
    let Credentials::Slack { webhook_url } = Credentials::open(&sealed).unwrap() else {
        panic!("opened as another kind")
    };
    assert_eq!(webhook_url.expose_secret(), url);

    let e = err(
        ChannelKind::Discord,
        json!({"webhook_url": "https://discord.com/"}),
        false,
    );
    assert_eq!(e.path, "webhook_url");
    let e = err(
        ChannelKind::Discord,
        json!({"webhook_url": "http://discord.com/api/webhooks/1/SECRETTOKEN"}),
        false,
    );
    assert!(!e.to_string().contains("SECRETTOKEN"), "{e}");
}

#[test]
fn telegram_takes_numeric_or_named_chats_and_a_well_formed_token() {
    let (config, creds) = parse_destination(
        ChannelKind::Telegram,
        json!({"bot_token": TOKEN, "chat_id": -1001234567890_i64}),
        false,
    )
    .unwrap();
    assert_eq!(
        config,
        ChannelConfig::Telegram {
            chat_id: "-1001234567890".into(),
            base_url: TELEGRAM_API.into()
        }
    );
    assert!(!format!("{creds:?}").contains("AAHdq"));
    assert!(
        parse_destination(
            ChannelKind::Telegram,
            json!({"bot_token": TOKEN, "chat_id": "@demand_flow"}),
            false
        )
        .is_ok()
    );
    for (settings, path) in [
        (json!({"bot_token": "123/../x", "chat_id": 1}), "bot_token"),
        (
            json!({"bot_token": format!("{TOKEN}?x=1"), "chat_id": 1}),
            "bot_token",
        ),
        (json!({"bot_token": TOKEN, "chat_id": "hello"}), "chat_id"),
        (json!({"bot_token": TOKEN, "chat_id": 1.5}), "chat_id"),
        (
            json!({"bot_token": TOKEN, "chat_id": 1, "base_url": "http://api.telegram.org"}),
            "base_url",
        ),
    ] {
        let e = err(ChannelKind::Telegram, settings.clone(), false);
        assert_eq!(e.path, path, "{settings}: {e}");
        assert!(!e.to_string().contains("AAHdq"), "{e}");
    }
    // The stored config reads back with a numeric chat id too.
    let stored: ChannelConfig =
        serde_json::from_value(json!({"kind": "telegram", "chat_id": 42})).unwrap();
    assert_eq!(
        stored,
        ChannelConfig::Telegram {
            chat_id: "42".into(),
            base_url: TELEGRAM_API.into()
        }
    );
}

#[test]
fn email_settings_are_checked_field_by_field() {
    let ok = json!({
        "smtp_host": "smtp.example.com", "username": "bot", "password": "pw-secret",
        "from": "Demandflow <alerts@example.com>", "to": ["a@example.com", "b@example.com"]
    });
    let (config, creds) = parse_destination(ChannelKind::Email, ok.clone(), false).unwrap();
    let ChannelConfig::Email(email) = &config else {
        panic!()
    };
    assert_eq!(email.smtp_port, 587);
    assert_eq!(email.tls, SmtpTls::Starttls);
    assert!(!format!("{creds:?}").contains("pw-secret"));
    assert!(!public_view(&config).to_string().contains("pw-secret"));
    let mut cases = vec![];
    let mut bad = ok.clone();
    bad["to"] = json!([]);
    cases.push((bad, "to"));
    let mut bad = ok.clone();
    bad["to"] = json!(["a@example.com", "not an address"]);
    cases.push((bad, "to[1]"));
    let mut bad = ok.clone();
    bad["to"] = json!(vec!["a@example.com"; 21]);
    cases.push((bad, "to"));
    let mut bad = ok.clone();
    bad["tls"] = json!("none");
    cases.push((bad, "tls"));
    let mut bad = ok.clone();
    bad["smtp_host"] = json!("smtp://x");
    cases.push((bad, "smtp_host"));
    let mut bad = ok.clone();
    bad["from"] = json!("alerts@example.com\r\nBcc: x@evil.example");
    cases.push((bad, "from"));
    let mut bad = ok.clone();
    bad.as_object_mut().unwrap().remove("username");
    cases.push((bad, "password"));
    for (settings, path) in cases {
        let e = err(ChannelKind::Email, settings.clone(), false);
        assert_eq!(e.path, path, "{settings}: {e}");
    }
    let mut relay = ok;
    relay["tls"] = json!("none");
    relay["to"] = json!("one@example.com");
    assert!(parse_destination(ChannelKind::Email, relay, true).is_ok());
}
