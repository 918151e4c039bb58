//! One request to a partner: the body rendered from its template ([`spec::render_body`]), the
//! idempotency key, the auth (a header token, basic, or an HMAC signature of the exact body),
//! sent once through the guarded client of [`crate::deliveries::channels`] (SSRF guard, no
//! redirects, timeout, bounded answer) and read with the partner's [`Mapping`].
//!
//! It never stores or retries anything, and no excerpt it returns holds a credential.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::{
    mapping::{Mapping, Reading, Verdict},
    spec::{AuthKind, Config, Format, Secrets, render_body},
};
use crate::{
    deliveries::channels::{Channels, Outcome, excerpt_of},
    signing,
};

/// What one request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The mapped answer (`Error` when nothing came back).
    pub reading: Reading,
    /// The status, when the partner answered.
    pub status: Option<u16>,
    /// The start of the answer, or what went wrong.
    pub excerpt: String,
    /// How long the partner asked to wait (a 429's `Retry-After`).
    pub retry_after: Option<std::time::Duration>,
    /// The request could not be made and never will be (a refused address, a template that
    /// fails): do not retry.
    pub permanent: bool,
}

impl Sent {
    fn failed(excerpt: String, permanent: bool) -> Self {
        Sent {
            reading: Reading {
                verdict: Verdict::Error,
                lead_id: None,
                price_cents: None,
                bid_id: None,
                reason: None,
            },
            status: None,
            excerpt,
            retry_after: None,
            permanent,
        }
    }
}

/// One of a partner's requests: the ping or the post.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// Where it goes.
    pub url: &'a str,
    /// Its body's template.
    pub template: &'a Value,
    /// How its answer is read.
    pub mapping: &'a Mapping,
}

impl<'a> Step<'a> {
    /// The post of `config`.
    pub fn post(config: &'a Config) -> Self {
        Step {
            url: &config.post_url,
            template: &config.template,
            mapping: &config.mapping,
        }
    }
}

/// Sends `step` with the body its template renders from `context`, keyed `key`.
pub async fn send(
    channels: &Channels,
    config: &Config,
    secrets: &Secrets,
    step: Step<'_>,
    context: &Value,
    key: &str,
) -> Sent {
    let Step {
        url,
        template,
        mapping,
    } = step;
    let body = match render_body(template, config.format, context) {
        Ok(body) => body,
        Err(e) => return Sent::failed(format!("rendering failed: {e}"), true),
    };
    let secret = secrets.auth.as_ref().map(|s| s.expose_secret());
    let scrub: Vec<&str> = secret.into_iter().collect();
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(key) {
        headers.insert(HeaderName::from_static("idempotency-key"), v);
    }
    let auth = match (config.auth, secret) {
        (AuthKind::None, _) => Ok(()),
        (AuthKind::Header, Some(token)) => {
            let (name, value) = match &config.auth_header {
                Some(h) => (HeaderName::from_bytes(h.as_bytes()).ok(), token.to_owned()),
                None => (Some(AUTHORIZATION), format!("Bearer {token}")),
            };
            match (name, HeaderValue::from_str(&value)) {
                (Some(n), Ok(mut v)) => {
                    v.set_sensitive(true);
                    headers.insert(n, v);
                    Ok(())
                }
                _ => Err("the auth header is not a valid header"),
            }
        }
        (AuthKind::Basic, Some(password)) => {
            let user = config.auth_username.as_deref().unwrap_or_default();
            let token = STANDARD.encode(format!("{user}:{password}"));
            match HeaderValue::from_str(&format!("Basic {token}")) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    headers.insert(AUTHORIZATION, v);
                    Ok(())
                }
                Err(_) => Err("the basic credentials are not a valid header"),
            }
        }
        (AuthKind::Hmac, Some(key)) => {
            match HeaderValue::from_str(&signing::sign(key, Utc::now(), &body)) {
                Ok(v) => {
                    headers.insert(HeaderName::from_static("x-demandflow-signature"), v);
                    Ok(())
                }
                Err(_) => Err("the signature is not a valid header"),
            }
        }
        (_, None) => Err("the partner's auth has no secret"),
    };
    if let Err(why) = auth {
        return Sent::failed(why.into(), true);
    }
    let content_type = match config.format {
        Format::Json => "application/json",
        Format::Form => "application/x-www-form-urlencoded",
    };
    match channels
        .post(url, content_type, headers, body, &scrub)
        .await
    {
        Ok(answer) => Sent {
            reading: mapping.read(answer.status, &answer.body),
            status: Some(answer.status),
            excerpt: excerpt_of(&String::from_utf8_lossy(&answer.body), &scrub),
            retry_after: answer.retry_after,
            permanent: false,
        },
        Err(outcome) => {
            let permanent = matches!(outcome, Outcome::Rejected { .. });
            Sent::failed(outcome.excerpt().to_owned(), permanent)
        }
    }
}
