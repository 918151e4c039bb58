//! Slack incoming webhooks: a Block Kit body POSTed to the webhook URL, which answers `200 ok`.
//! A 429 carries `Retry-After` seconds; 404 and 410 (`no_service`, `channel_is_archived`,
//! `no_active_hooks`) and a 403 for a revoked token mean the webhook is gone; any other 4xx
//! (`invalid_payload`, …) is rejected.

use reqwest::header::HeaderMap;
use secrecy::SecretString;

use super::{Http, Outcome, exposed};
use crate::deliveries::render::Rendered;

/// Slack's error codes that mean the webhook will never work again.
const GONE: &[&str] = &[
    "no_service",
    "no_service_id",
    "no_team",
    "team_disabled",
    "invalid_token",
    "channel_is_archived",
    "channel_not_found",
    "no_active_hooks",
];

pub(super) async fn send(
    http: &Http<'_>,
    webhook_url: &SecretString,
    rendered: Rendered,
) -> Outcome {
    let Rendered::Slack { body } = rendered else {
        return Outcome::rejected("the message was rendered for another kind");
    };
    let url = exposed(webhook_url);
    let secrets = [url];
    let body = match serde_json::to_vec(&body) {
        Ok(body) => body,
        Err(e) => return Outcome::rejected(format!("the message does not serialise: {e}")),
    };
    let answer = match http.post_json(url, HeaderMap::new(), body, &secrets).await {
        Ok(answer) => answer,
        Err(outcome) => return outcome,
    };
    let excerpt = answer.excerpt(&secrets);
    let code = excerpt.trim();
    match answer.status {
        404 | 410 => Outcome::Gone {
            status: answer.status,
            excerpt,
        },
        400..=403 if GONE.contains(&code) => Outcome::Gone {
            status: answer.status,
            excerpt,
        },
        _ => answer.generic(&secrets),
    }
}
