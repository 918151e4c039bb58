//! Delivery channels: each service's own protocol (Standard Webhooks, Slack and Discord
//! incoming webhooks, the Telegram Bot API, SMTP), and an honest [`Outcome`] for every send.
//!
//! A destination is a [`ChannelConfig`] (what may be shown) and [`Credentials`] (what is
//! sealed at rest), both made by [`parse_destination`] from what a user wrote. [`Channels`] is
//! built once per worker: an outbound HTTP client that refuses private networks unless they
//! are allowed and never follows a redirect, and a cache of pooled SMTP transports. Its
//! [`Channels::send`] renders the message ([`crate::deliveries::render`]), sends it once and
//! reads the service's answer into an [`Outcome`]: delivered (with the service's receipt),
//! rate limited (with how long to pause), gone (disable the destination), rejected (never
//! retry) or failed (retry).
//!
//! This module never stores, schedules or retries anything: that is the caller's. It never
//! logs a credential, and no excerpt or error it returns contains one.

mod config;
mod discord;
mod email;
mod slack;
pub mod standard_webhooks;
mod telegram;
mod webhook;

#[cfg(test)]
mod tests;

use std::{error::Error as StdError, net::SocketAddr, sync::Arc, time::Duration};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use secrecy::ExposeSecret;

pub use config::{
    CREDENTIALS_PURPOSE, ChannelConfig, Credentials, EmailConfig, SmtpTls, check_url,
    generate_signing_secret, parse_destination, public_view,
};
pub use discord::discord_reset_after;

use crate::{
    deliveries::render::{self, Message, Templates},
    net, secrets, text,
};

crate::named_enum! {
    /// The kinds of delivery channel.
    pub enum ChannelKind {
        /// An HTTPS endpoint of the tenant's, signed per Standard Webhooks.
        Webhook = "webhook",
        /// A Slack incoming webhook.
        Slack = "slack",
        /// A Discord channel webhook.
        Discord = "discord",
        /// A Telegram chat, through a bot.
        Telegram = "telegram",
        /// Email through the tenant's SMTP server.
        Email = "email",
    }
}

/// How long one send may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// The most characters of a service's answer kept in an [`Outcome`].
pub const EXCERPT_CHARS: usize = 512;
/// The most bytes of a service's answer read.
const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// The pause asked for when a service says "slow down" without saying for how long.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// What one send did. Every excerpt is at most [`EXCERPT_CHARS`] characters of the service's
/// answer (or of the error), storable in Postgres, and never holds a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The service accepted the message.
    Delivered {
        /// The HTTP status (or SMTP reply code).
        status: Option<u16>,
        /// The service's id for the message, when it gives one (Discord's message id,
        /// Telegram's `message_id`, the email's `Message-ID`): keep it, so a resend can be
        /// recognised.
        receipt: Option<String>,
        /// The start of the answer.
        excerpt: String,
        /// The service's bucket is empty (Discord's `X-RateLimit-Remaining: 0`): pause the
        /// destination this long (its `X-RateLimit-Reset-After`) before the next send, instead
        /// of sending into a 429.
        pause: Option<Duration>,
    },
    /// The service asked to slow down: pause the destination for `retry_after`, then retry.
    RateLimited {
        /// The HTTP status (429).
        status: u16,
        /// How long the service asked to wait.
        retry_after: Duration,
        /// The start of the answer.
        excerpt: String,
    },
    /// The destination no longer exists (a deleted webhook, a bot blocked by the chat):
    /// disable it.
    Gone {
        /// The HTTP status.
        status: u16,
        /// The start of the answer.
        excerpt: String,
    },
    /// The message or the destination's settings were refused and will be refused again: do
    /// not retry.
    Rejected {
        /// The HTTP status or SMTP reply code, when the service answered.
        status: Option<u16>,
        /// The start of the answer, or what is wrong.
        excerpt: String,
    },
    /// The send failed in a way that may pass (a 5xx, a redirect, the network, a timeout):
    /// retry.
    Failed {
        /// The HTTP status or SMTP reply code, when the service answered.
        status: Option<u16>,
        /// The start of the answer, or the error.
        excerpt: String,
        /// How long the service asked to wait, when it said.
        retry_after: Option<Duration>,
    },
}

impl Outcome {
    /// The outcome's name, for logs and metrics: `delivered`, `rate_limited`, `gone`,
    /// `rejected` or `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Delivered { .. } => "delivered",
            Outcome::RateLimited { .. } => "rate_limited",
            Outcome::Gone { .. } => "gone",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// The excerpt of whatever outcome this is.
    pub fn excerpt(&self) -> &str {
        match self {
            Outcome::Delivered { excerpt, .. }
            | Outcome::RateLimited { excerpt, .. }
            | Outcome::Gone { excerpt, .. }
            | Outcome::Rejected { excerpt, .. }
            | Outcome::Failed { excerpt, .. } => excerpt,
        }
    }

    fn rejected(message: impl Into<String>) -> Self {
        Outcome::Rejected {
            status: None,
            excerpt: clip(&message.into(), &[]),
        }
    }

    fn failed(message: impl Into<String>) -> Self {
        Outcome::Failed {
            status: None,
            excerpt: clip(&message.into(), &[]),
            retry_after: None,
        }
    }
}

/// The channels of one worker: built once, shared by every send.
pub struct Channels {
    http: Result<reqwest::Client, String>,
    allow_private: bool,
    smtp: email::TransportCache,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("allow_private", &self.allow_private)
            .field("smtp_transports", &self.smtp.entry_count())
            .finish_non_exhaustive()
    }
}

impl Channels {
    /// The channels, refusing private networks unless `allow_private`
    /// (`ALLOW_PRIVATE_NETWORKS`).
    pub fn new(allow_private: bool) -> Self {
        Self {
            http: http_client(allow_private),
            allow_private,
            smtp: email::transport_cache(),
        }
    }

    /// Renders `message` for the destination (with the destination's template for its kind,
    /// if any) and sends it once.
    #[tracing::instrument(skip_all, fields(kind = %config.kind(), message_id = %message.id))]
    pub async fn send(
        &self,
        config: &ChannelConfig,
        credentials: &Credentials,
        message: &Message,
        templates: Option<&Templates>,
    ) -> Outcome {
        let kind = config.kind();
        if credentials.kind() != kind {
            return Outcome::rejected(format!(
                "the destination's credentials are for {}, not {kind}",
                credentials.kind()
            ));
        }
        let template = templates.and_then(|t| t.get(kind));
        let rendered = match render::render(kind, message, template) {
            Ok(rendered) => rendered,
            Err(e) => return Outcome::rejected(format!("rendering failed: {e}")),
        };
        let outcome = match (config, credentials) {
            (ChannelConfig::Email(settings), Credentials::Email { password }) => {
                email::send(self, settings, password.as_ref(), message, rendered).await
            }
            (config, credentials) => match &self.http {
                Ok(http) => {
                    let http = Http {
                        client: http,
                        allow_private: self.allow_private,
                    };
                    match (config, credentials) {
                        (
                            ChannelConfig::Webhook { url },
                            Credentials::Webhook { signing_secrets },
                        ) => webhook::send(&http, url, signing_secrets, message, rendered).await,
                        (ChannelConfig::Slack { .. }, Credentials::Slack { webhook_url }) => {
                            slack::send(&http, webhook_url, rendered).await
                        }
                        (ChannelConfig::Discord { .. }, Credentials::Discord { webhook_url }) => {
                            discord::send(&http, webhook_url, rendered).await
                        }
                        (
                            ChannelConfig::Telegram { chat_id, base_url },
                            Credentials::Telegram { bot_token },
                        ) => telegram::send(&http, base_url, chat_id, bot_token, rendered).await,
                        _ => Outcome::rejected("the destination's settings do not match its kind"),
                    }
                }
                Err(e) => Outcome::failed(format!("the HTTP client could not start: {e}")),
            },
        };
        tracing::debug!(outcome = outcome.name(), "sent");
        outcome
    }
}

/// The raw answer to one [`Channels::post`]: the status, up to 16 KiB of the body, and the
/// `Retry-After` the service sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The start of the body.
    pub body: Vec<u8>,
    /// How long the service asked to wait, when it said.
    pub retry_after: Option<Duration>,
}

impl Channels {
    /// POSTs `body` as `content_type` to `url` with `headers` through the guarded client (SSRF
    /// guard, no redirects, timeout, bounded answer), for callers that read the answer
    /// themselves (partner exports). `Err` is the outcome of a request that got no answer
    /// (refused by the guard: rejected; network or timeout: failed); `secrets` are scrubbed
    /// from it.
    pub async fn post(
        &self,
        url: &str,
        content_type: &'static str,
        headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
        secrets: &[&str],
    ) -> Result<RawAnswer, Outcome> {
        let client = self
            .http
            .as_ref()
            .map_err(|e| Outcome::failed(format!("the HTTP client could not start: {e}")))?;
        let http = Http {
            client,
            allow_private: self.allow_private,
        };
        let answer = http.post(url, content_type, headers, body, secrets).await?;
        Ok(RawAnswer {
            status: answer.status,
            retry_after: crate::kinds::http_request::retry_after(&answer.headers),
            body: answer.body,
        })
    }
}

/// `text` scrubbed of `secrets`, made storable and cut to [`EXCERPT_CHARS`] (for excerpts of
/// answers read outside this module).
pub fn excerpt_of(text: &str, secrets: &[&str]) -> String {
    clip(text, secrets)
}

/// What the HTTP channels share for one send.
struct Http<'a> {
    client: &'a reqwest::Client,
    allow_private: bool,
}

/// An answer, read up to [`MAX_ANSWER_BYTES`].
pub(crate) struct Answer {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The headers.
    pub(crate) headers: reqwest::header::HeaderMap,
    /// The start of the body.
    pub(crate) body: Vec<u8>,
}

impl Http<'_> {
    /// POSTs `body` as JSON to `url` with `headers`; `Err` is the outcome of a request that
    /// got no answer. `secrets` are scrubbed from any error.
    async fn post_json(
        &self,
        url: &str,
        headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
        secrets: &[&str],
    ) -> Result<Answer, Outcome> {
        self.post(url, "application/json", headers, body, secrets)
            .await
    }

    /// POSTs `body` as `content_type` to `url` with `headers`, as [`Http::post_json`].
    async fn post(
        &self,
        url: &str,
        content_type: &'static str,
        headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
        secrets: &[&str],
    ) -> Result<Answer, Outcome> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| Outcome::rejected("the destination's URL is not a valid URL"))?;
        net::check_url(&parsed, self.allow_private)
            .map_err(|refusal| Outcome::rejected(scrub(&refusal, secrets)))?;
        let response = self
            .client
            .post(parsed)
            .headers(headers)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| no_answer(e, secrets))?;
        Ok(Answer::read(response).await)
    }
}

impl Answer {
    /// Reads a response: its status, headers and up to [`MAX_ANSWER_BYTES`] of its body.
    pub(crate) async fn read(mut response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                // The service answered; a body cut short still has its status.
                Err(_) => break,
            }
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    pub(crate) fn excerpt(&self, secrets: &[&str]) -> String {
        clip(&String::from_utf8_lossy(&self.body), secrets)
    }

    pub(crate) fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The generic reading of a status that a channel has no special meaning for: 2xx
    /// delivered, 408/425/5xx/3xx failed (with `Retry-After`), 429 rate limited, other 4xx
    /// rejected.
    fn generic(&self, secrets: &[&str]) -> Outcome {
        let excerpt = self.excerpt(secrets);
        let status = self.status;
        let retry_after = crate::kinds::http_request::retry_after(&self.headers);
        match status {
            200..=299 => Outcome::Delivered {
                status: Some(status),
                receipt: None,
                excerpt,
                pause: None,
            },
            429 => Outcome::RateLimited {
                status,
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
                excerpt,
            },
            400..=499 if !matches!(status, 408 | 425) => Outcome::Rejected {
                status: Some(status),
                excerpt,
            },
            _ => Outcome::Failed {
                status: Some(status),
                excerpt,
                retry_after,
            },
        }
    }
}

/// The outcome of a request that got no answer: refused by the SSRF guard (rejected), timed
/// out or failed on the network (failed). The URL is never part of the message.
pub(crate) fn no_answer(e: reqwest::Error, secrets: &[&str]) -> Outcome {
    let e = e.without_url();
    if net::is_blocked(&e) {
        return Outcome::rejected(scrub(&net::BlockedAddress::describe(&e), secrets));
    }
    let message = if e.is_timeout() {
        format!("timed out after {} s", TIMEOUT.as_secs())
    } else {
        format!("request failed: {}", crate::error::chain(&e))
    };
    Outcome::failed(scrub(&message, secrets))
}

/// `text` with every secret replaced by [`secrets::REDACTED`].
fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        if text.contains(*secret) {
            text = text.replace(*secret, secrets::REDACTED);
        }
    }
    text
}

/// `text` scrubbed of `secrets`, made storable and cut to [`EXCERPT_CHARS`].
pub(crate) fn clip(text: &str, secrets: &[&str]) -> String {
    let scrubbed = scrub(text, secrets);
    let storable = text::storable(&scrubbed);
    storable.chars().take(EXCERPT_CHARS).collect()
}

/// The secret's text, for scrubbing and for the one place it is sent.
fn exposed(secret: &secrecy::SecretString) -> &str {
    secret.expose_secret()
}

/// The outbound client of the channels: the SSRF guard of [`crate::net`] (private addresses
/// refused after DNS resolution, no proxy), a timeout, and no redirects: a delivery that is
/// redirected has not been delivered (Standard Webhooks counts a 3xx as a failure), and
/// following one would send the payload and its signature somewhere the tenant never named.
pub(crate) fn http_client(allow_private: bool) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(concat!("demandflow/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .connect_timeout(Duration::from_secs(10))
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| e.to_string())
}

/// DNS resolution that refuses private addresses unless they are allowed (as
/// [`crate::net`]'s, whose client follows redirects).
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs = resolve(name.as_str(), 0, allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// `host`'s addresses, all public unless private ones are allowed.
async fn resolve(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, Box<dyn StdError + Send + Sync>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !net::is_public(a.ip())) {
        return Err(Box::new(net::BlockedAddress {
            host: host.to_owned(),
            addr: bad.ip(),
        }));
    }
    Ok(addrs)
}
