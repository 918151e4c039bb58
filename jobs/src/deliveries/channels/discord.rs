//! Discord webhooks: `{content, embeds, allowed_mentions}` POSTed to the webhook URL with
//! `?wait=true`, so the answer is the message and its `id` is the receipt. A 429's body says
//! `retry_after` (float seconds) and whether the limit is `global`; `X-RateLimit-Reset-After`
//! says the same in a header. 404 (Unknown Webhook) and 401 (Invalid Webhook Token) mean the
//! webhook is gone.

use std::time::Duration;

use reqwest::header::HeaderMap;
use secrecy::SecretString;

use super::{DEFAULT_RETRY_AFTER, Http, Outcome, exposed};
use crate::deliveries::render::Rendered;

/// `X-RateLimit-Reset-After` (float seconds until the bucket refills), for pacing.
pub fn discord_reset_after(headers: &HeaderMap) -> Option<Duration> {
    seconds(
        headers
            .get("x-ratelimit-reset-after")?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()?,
    )
}

/// Whether Discord said this was the bucket's last request (`X-RateLimit-Remaining: 0`).
pub fn bucket_empty(headers: &HeaderMap) -> bool {
    headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
}

/// A non-negative, finite number of seconds (at most a day) as a duration.
fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

pub(super) async fn send(
    http: &Http<'_>,
    webhook_url: &SecretString,
    rendered: Rendered,
) -> Outcome {
    let Rendered::Discord { body } = rendered else {
        return Outcome::rejected("the message was rendered for another kind");
    };
    let raw = exposed(webhook_url);
    let token = raw
        .split(['?', '#'])
        .next()
        .and_then(|path| path.trim_end_matches('/').rsplit('/').next())
        .unwrap_or_default();
    let secrets = [raw, token];
    let Ok(mut url) = url::Url::parse(raw) else {
        return Outcome::rejected("the webhook URL is not a valid URL");
    };
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "wait")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("wait", "true");
    let body = match serde_json::to_vec(&body) {
        Ok(body) => body,
        Err(e) => return Outcome::rejected(format!("the message does not serialise: {e}")),
    };
    let answer = match http
        .post_json(url.as_str(), HeaderMap::new(), body, &secrets)
        .await
    {
        Ok(answer) => answer,
        Err(outcome) => return outcome,
    };
    let excerpt = answer.excerpt(&secrets);
    match answer.status {
        200..=299 => Outcome::Delivered {
            status: Some(answer.status),
            receipt: answer
                .json()
                .and_then(|v| v.get("id").and_then(|id| id.as_str().map(str::to_owned))),
            excerpt,
            pause: bucket_empty(&answer.headers)
                .then(|| discord_reset_after(&answer.headers))
                .flatten(),
        },
        429 => {
            let from_body = answer
                .json()
                .and_then(|v| v.get("retry_after").and_then(serde_json::Value::as_f64))
                .and_then(seconds);
            let retry_after = from_body
                .or_else(|| discord_reset_after(&answer.headers))
                .or_else(|| crate::kinds::http_request::retry_after(&answer.headers))
                .unwrap_or(DEFAULT_RETRY_AFTER);
            Outcome::RateLimited {
                status: 429,
                retry_after,
                excerpt,
            }
        }
        401 | 404 => Outcome::Gone {
            status: answer.status,
            excerpt,
        },
        _ => answer.generic(&secrets),
    }
}
