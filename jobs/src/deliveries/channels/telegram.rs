//! Telegram: `sendMessage` on `{base_url}/bot{token}/`, with HTML text. The answer is
//! `{"ok": true, "result": {"message_id": N}}` (the receipt) or `{"ok": false, "error_code",
//! "description", "parameters"?}`: 429 carries `parameters.retry_after`; 403 (the bot was
//! blocked or removed from the chat), 401 (the token was revoked) and 404 (no such bot) mean
//! the destination is gone; 400 (a bad chat or message) is rejected. The token is part of the
//! URL, so no URL is ever shown and the token is scrubbed from every excerpt.

use std::time::Duration;

use reqwest::header::HeaderMap;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::{DEFAULT_RETRY_AFTER, Http, Outcome, exposed};
use crate::deliveries::render::Rendered;

pub(super) async fn send(
    http: &Http<'_>,
    base_url: &str,
    chat_id: &str,
    bot_token: &SecretString,
    rendered: Rendered,
) -> Outcome {
    let Rendered::Telegram { text } = rendered else {
        return Outcome::rejected("the message was rendered for another kind");
    };
    let token = exposed(bot_token);
    let secrets = [token];
    let chat: Value = chat_id
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(chat_id));
    let body = json!({
        "chat_id": chat,
        "text": text,
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    });
    let url = format!("{}/bot{token}/sendMessage", base_url.trim_end_matches('/'));
    let answer = match http
        .post_json(
            &url,
            HeaderMap::new(),
            body.to_string().into_bytes(),
            &secrets,
        )
        .await
    {
        Ok(answer) => answer,
        Err(outcome) => return outcome,
    };
    let excerpt = answer.excerpt(&secrets);
    let parsed = answer.json();
    let ok = parsed
        .as_ref()
        .and_then(|v| v.get("ok"))
        .and_then(Value::as_bool);
    match answer.status {
        200..=299 if ok != Some(false) => Outcome::Delivered {
            status: Some(answer.status),
            receipt: parsed
                .as_ref()
                .and_then(|v| v.pointer("/result/message_id"))
                .and_then(Value::as_i64)
                .map(|id| id.to_string()),
            excerpt,
            pause: None,
        },
        429 => Outcome::RateLimited {
            status: 429,
            retry_after: parsed
                .as_ref()
                .and_then(|v| v.pointer("/parameters/retry_after"))
                .and_then(Value::as_u64)
                .map(|secs| Duration::from_secs(secs.min(86_400)))
                .or_else(|| crate::kinds::http_request::retry_after(&answer.headers))
                .unwrap_or(DEFAULT_RETRY_AFTER),
            excerpt,
        },
        401 | 403 | 404 => Outcome::Gone {
            status: answer.status,
            excerpt,
        },
        200..=299 => Outcome::Failed {
            status: Some(answer.status),
            excerpt,
            retry_after: None,
        },
        _ => answer.generic(&secrets),
    }
}
