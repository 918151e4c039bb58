//! Webhook: the event as JSON (`{"type", "timestamp", "data"}`), POSTed with Standard Webhooks
//! headers. Only 2xx is delivered; a redirect is a failure (never followed); 410 means the
//! endpoint is gone; 429, 502, 503 and 504 honour `Retry-After`.

use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::SecretString;

use super::{Http, Outcome, standard_webhooks as sw};
use crate::deliveries::render::{Message, Rendered};

pub(super) async fn send(
    http: &Http<'_>,
    url: &str,
    signing_secrets: &[SecretString],
    message: &Message,
    rendered: Rendered,
) -> Outcome {
    let Rendered::Webhook { body } = rendered else {
        return Outcome::rejected("the message was rendered for another kind");
    };
    if signing_secrets.is_empty() {
        return Outcome::rejected("the webhook has no signing secret");
    }
    let timestamp = chrono::Utc::now().timestamp();
    let signature = match sw::sign(signing_secrets, &message.id, timestamp, &body) {
        Ok(signature) => signature,
        Err(e) => return Outcome::rejected(format!("a signing secret is unusable: {e}")),
    };
    let mut headers = HeaderMap::new();
    let (Ok(id), Ok(mut signature)) = (
        HeaderValue::from_str(&message.id),
        HeaderValue::from_str(&signature),
    ) else {
        return Outcome::rejected("the message id is not a valid header value");
    };
    signature.set_sensitive(true);
    headers.insert(sw::ID_HEADER, id);
    headers.insert(sw::TIMESTAMP_HEADER, HeaderValue::from(timestamp));
    headers.insert(sw::SIGNATURE_HEADER, signature);
    let answer = match http.post_json(url, headers, body, &[]).await {
        Ok(answer) => answer,
        Err(outcome) => return outcome,
    };
    match answer.status {
        410 => Outcome::Gone {
            status: 410,
            excerpt: answer.excerpt(&[]),
        },
        _ => answer.generic(&[]),
    }
}
