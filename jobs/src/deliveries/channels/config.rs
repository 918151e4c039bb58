//! A destination's settings as a user writes them, parsed into what may be shown
//! ([`ChannelConfig`]) and what is sealed ([`Credentials`]).

use std::str::FromStr;

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use super::{ChannelKind, standard_webhooks};
use crate::{
    FieldError,
    kinds::from_value,
    net,
    secrets::{self, REDACTED, SecretError},
};

/// The purpose [`Credentials`] are sealed for ([`crate::secrets::seal`]).
pub const CREDENTIALS_PURPOSE: &str = "destinations.credentials";

/// The Telegram Bot API's address.
pub const TELEGRAM_API: &str = "https://api.telegram.org";
/// The most recipients of one email destination.
pub const MAX_RECIPIENTS: usize = 20;
const MAX_URL_LEN: usize = 2048;
const MAX_FIELD_LEN: usize = 320;

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on a private network (refused unless private
    /// networks are allowed).
    None,
}

/// An email destination's settings (the password is in [`Credentials::Email`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The SMTP server's host name or address.
    pub smtp_host: String,
    /// Its port (587 by default).
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    /// How the connection is secured.
    #[serde(default)]
    pub tls: SmtpTls,
    /// The user to authenticate as, if the server wants one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The sender (`a@b.example` or `Name <a@b.example>`).
    pub from: String,
    /// The recipients, 1 to [`MAX_RECIPIENTS`].
    pub to: Vec<String>,
}

fn default_smtp_port() -> u16 {
    587
}

fn default_telegram_base() -> String {
    TELEGRAM_API.to_owned()
}

/// A destination's settings that may be shown (the secret part is [`Credentials`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelConfig {
    /// A Standard Webhooks endpoint.
    Webhook {
        /// Where events are POSTed (https).
        url: String,
    },
    /// A Slack incoming webhook (its URL holds a token, so it is a credential).
    Slack {
        /// The webhook URL's host, to show which workspace service it goes to.
        #[serde(default)]
        host: String,
    },
    /// A Discord channel webhook (its URL holds a token, so it is a credential).
    Discord {
        /// The webhook URL's host.
        #[serde(default)]
        host: String,
    },
    /// A Telegram chat.
    Telegram {
        /// The chat's id (`-100…`) or a public channel's `@name`.
        #[serde(deserialize_with = "string_or_number")]
        chat_id: String,
        /// The Bot API's address.
        #[serde(default = "default_telegram_base")]
        base_url: String,
    },
    /// Email over SMTP.
    Email(EmailConfig),
}

impl ChannelConfig {
    /// The destination's kind.
    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelConfig::Webhook { .. } => ChannelKind::Webhook,
            ChannelConfig::Slack { .. } => ChannelKind::Slack,
            ChannelConfig::Discord { .. } => ChannelKind::Discord,
            ChannelConfig::Telegram { .. } => ChannelKind::Telegram,
            ChannelConfig::Email(_) => ChannelKind::Email,
        }
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) if n.is_i64() => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom(
            "expected a chat id (an integer) or @channelname",
        )),
    }
}

/// A destination's secrets: sealed as one JSON document
/// (`secrets::seal("destinations.credentials", &serde_json::to_string(&credentials)?)`) and
/// opened only to send. Serialising exposes the secrets (for sealing, nothing else); `Debug`
/// never does.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Credentials {
    /// Standard Webhooks signing secrets (`whsec_…`): every one signs, so a new secret can be
    /// added before the old one is dropped.
    Webhook {
        /// One or more secrets.
        #[serde(serialize_with = "expose_all")]
        signing_secrets: Vec<SecretString>,
    },
    /// The Slack webhook URL.
    Slack {
        /// `https://hooks.slack.com/services/…`.
        #[serde(serialize_with = "expose")]
        webhook_url: SecretString,
    },
    /// The Discord webhook URL.
    Discord {
        /// `https://discord.com/api/webhooks/<id>/<token>`.
        #[serde(serialize_with = "expose")]
        webhook_url: SecretString,
    },
    /// The Telegram bot's token.
    Telegram {
        /// `<bot id>:<secret>`.
        #[serde(serialize_with = "expose")]
        bot_token: SecretString,
    },
    /// The SMTP password.
    Email {
        /// Present when the server wants authentication.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "expose_opt"
        )]
        password: Option<SecretString>,
    },
}

impl Credentials {
    /// The credentials as one sealed string, for storage ([`CREDENTIALS_PURPOSE`]).
    pub fn seal(&self) -> Result<String, SecretError> {
        let json = serde_json::to_string(self).map_err(|_| SecretError::Corrupt)?;
        secrets::seal(CREDENTIALS_PURPOSE, &json)
    }

    /// Credentials opened from their sealed string.
    pub fn open(stored: &str) -> Result<Self, SecretError> {
        let json = secrets::open(CREDENTIALS_PURPOSE, stored)?;
        serde_json::from_str(json.expose_secret()).map_err(|_| SecretError::Corrupt)
    }

    /// The kind these credentials are for.
    pub fn kind(&self) -> ChannelKind {
        match self {
            Credentials::Webhook { .. } => ChannelKind::Webhook,
            Credentials::Slack { .. } => ChannelKind::Slack,
            Credentials::Discord { .. } => ChannelKind::Discord,
            Credentials::Telegram { .. } => ChannelKind::Telegram,
            Credentials::Email { .. } => ChannelKind::Email,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Credentials");
        s.field("kind", &self.kind().as_str());
        match self {
            Credentials::Webhook { signing_secrets } => {
                s.field("signing_secrets", &vec![REDACTED; signing_secrets.len()])
            }
            Credentials::Slack { .. } | Credentials::Discord { .. } => {
                s.field("webhook_url", &REDACTED)
            }
            Credentials::Telegram { .. } => s.field("bot_token", &REDACTED),
            Credentials::Email { password } => {
                s.field("password", &password.as_ref().map(|_| REDACTED))
            }
        };
        s.finish()
    }
}

fn expose<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

fn expose_opt<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_str(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

fn expose_all<S: Serializer>(secrets: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(secrets.iter().map(|secret| secret.expose_secret()))
}

/// A new Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64.
pub fn generate_signing_secret() -> SecretString {
    standard_webhooks::generate_secret()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookInput {
    url: String,
    #[serde(default)]
    signing_secret: Option<SecretString>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HookInput {
    webhook_url: SecretString,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TelegramInput {
    bot_token: SecretString,
    #[serde(deserialize_with = "string_or_number")]
    chat_id: String,
    #[serde(default = "default_telegram_base")]
    base_url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailInput {
    smtp_host: String,
    #[serde(default = "default_smtp_port")]
    smtp_port: u16,
    #[serde(default)]
    tls: SmtpTls,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<SecretString>,
    from: String,
    to: OneOrMany,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Parses a destination's settings as a user writes them, one object per kind:
///
/// - webhook: `{"url": "https://…", "signing_secret"?: "whsec_…"}` (a secret is generated
///   when none is given);
/// - slack, discord: `{"webhook_url": "https://…"}`;
/// - telegram: `{"bot_token": "123:abc…", "chat_id": -100123 | "@channel", "base_url"?}`;
/// - email: `{"smtp_host", "smtp_port"? (587), "tls"? ("starttls" | "tls" | "none"),
///   "username"?, "password"?, "from", "to": "a@b" | ["a@b", …]}`.
///
/// URLs must be https, unless private networks are allowed (`allow_private`) and the host is
/// a loopback or private address; `tls: "none"` likewise needs `allow_private`. Errors name
/// the field.
pub fn parse_destination(
    kind: ChannelKind,
    settings: Value,
    allow_private: bool,
) -> Result<(ChannelConfig, Credentials), FieldError> {
    if let Some(path) = crate::text::find_nul(&settings) {
        return Err(FieldError::new(path, "must not contain NUL characters"));
    }
    match kind {
        ChannelKind::Webhook => {
            let input: WebhookInput = from_value(settings)?;
            check_url("url", &input.url, allow_private)?;
            let secret = match input.signing_secret {
                Some(secret) => {
                    standard_webhooks::decode_secret(secret.expose_secret())
                        .map_err(|e| FieldError::new("signing_secret", e.to_string()))?;
                    secret
                }
                None => generate_signing_secret(),
            };
            Ok((
                ChannelConfig::Webhook { url: input.url },
                Credentials::Webhook {
                    signing_secrets: vec![secret],
                },
            ))
        }
        ChannelKind::Slack | ChannelKind::Discord => {
            let input: HookInput = from_value(settings)?;
            let url = check_url(
                "webhook_url",
                input.webhook_url.expose_secret(),
                allow_private,
            )?;
            let host = url.host_str().unwrap_or_default().to_owned();
            let has_token = url.path().trim_matches('/').split('/').count() >= 2;
            if !has_token {
                return Err(FieldError::new(
                    "webhook_url",
                    format!("expected the {kind} webhook URL, whose path holds its token"),
                ));
            }
            Ok(if kind == ChannelKind::Slack {
                (
                    ChannelConfig::Slack { host },
                    Credentials::Slack {
                        webhook_url: input.webhook_url,
                    },
                )
            } else {
                (
                    ChannelConfig::Discord { host },
                    Credentials::Discord {
                        webhook_url: input.webhook_url,
                    },
                )
            })
        }
        ChannelKind::Telegram => {
            let input: TelegramInput = from_value(settings)?;
            check_bot_token(input.bot_token.expose_secret())?;
            check_chat_id(&input.chat_id)?;
            let base = check_url("base_url", &input.base_url, allow_private)?;
            if base.query().is_some() || base.fragment().is_some() {
                return Err(FieldError::new(
                    "base_url",
                    "expected the API's address with no query or fragment",
                ));
            }
            Ok((
                ChannelConfig::Telegram {
                    chat_id: input.chat_id,
                    base_url: input.base_url.trim_end_matches('/').to_owned(),
                },
                Credentials::Telegram {
                    bot_token: input.bot_token,
                },
            ))
        }
        ChannelKind::Email => {
            let input: EmailInput = from_value(settings)?;
            let host = input.smtp_host.trim();
            if host.is_empty()
                || host.len() > 253
                || url::Host::parse(host).is_err()
                || host.contains(['/', ':', '@'])
            {
                return Err(FieldError::new(
                    "smtp_host",
                    "expected a host name or IP address (no scheme or port)",
                ));
            }
            if input.smtp_port == 0 {
                return Err(FieldError::new("smtp_port", "expected 1 to 65535"));
            }
            if input.tls == SmtpTls::None && !allow_private {
                return Err(FieldError::new(
                    "tls",
                    "an unencrypted SMTP connection is only allowed to a private relay \
                     (ALLOW_PRIVATE_NETWORKS=true): use starttls or tls",
                ));
            }
            if let Some(user) = &input.username
                && (user.is_empty() || user.len() > MAX_FIELD_LEN || user.contains(['\r', '\n']))
            {
                return Err(FieldError::new(
                    "username",
                    format!("expected 1 to {MAX_FIELD_LEN} characters on one line"),
                ));
            }
            if input.password.is_some() && input.username.is_none() {
                return Err(FieldError::new("password", "a password needs a username"));
            }
            check_mailbox("from", &input.from)?;
            let to = match input.to {
                OneOrMany::One(one) => vec![one],
                OneOrMany::Many(many) => many,
            };
            if to.is_empty() || to.len() > MAX_RECIPIENTS {
                return Err(FieldError::new(
                    "to",
                    format!("expected 1 to {MAX_RECIPIENTS} addresses"),
                ));
            }
            for (i, address) in to.iter().enumerate() {
                check_mailbox(&format!("to[{i}]"), address)?;
            }
            Ok((
                ChannelConfig::Email(EmailConfig {
                    smtp_host: host.to_owned(),
                    smtp_port: input.smtp_port,
                    tls: input.tls,
                    username: input.username,
                    from: input.from.trim().to_owned(),
                    to: to.iter().map(|a| a.trim().to_owned()).collect(),
                }),
                Credentials::Email {
                    password: input.password,
                },
            ))
        }
    }
}

/// What a reader may see of a destination: never a token; for Slack and Discord only the
/// webhook's host.
pub fn public_view(config: &ChannelConfig) -> Value {
    match config {
        ChannelConfig::Webhook { url } => json!({ "kind": "webhook", "url": url }),
        ChannelConfig::Slack { host } => json!({ "kind": "slack", "host": host }),
        ChannelConfig::Discord { host } => json!({ "kind": "discord", "host": host }),
        ChannelConfig::Telegram { chat_id, base_url } => {
            json!({ "kind": "telegram", "chat_id": chat_id, "base_url": base_url })
        }
        ChannelConfig::Email(email) => {
            let mut view = json!({
                "kind": "email",
                "smtp_host": email.smtp_host,
                "smtp_port": email.smtp_port,
                "tls": email.tls,
                "from": email.from,
                "to": email.to,
            });
            if let Some(user) = &email.username {
                view["username"] = json!(user);
            }
            view
        }
    }
}

/// Checks a URL a user gave for an outbound target: at most 2048 bytes, absolute, no user or
/// password, https (http only to a private host when private networks are allowed), and the
/// SSRF guard of [`crate::net::check_url`]. The error is at `path` and never echoes the URL.
pub fn check_url(path: &str, raw: &str, allow_private: bool) -> Result<url::Url, FieldError> {
    if raw.len() > MAX_URL_LEN {
        return Err(FieldError::new(
            path,
            format!("longer than {MAX_URL_LEN} characters"),
        ));
    }
    // A URL that holds a token is never echoed back in the error.
    let url = url::Url::parse(raw.trim())
        .map_err(|e| FieldError::new(path, format!("not an absolute URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FieldError::new(path, "must not hold a user or password"));
    }
    let private_host = match url.host() {
        Some(url::Host::Ipv4(v4)) => !net::is_public(v4.into()),
        Some(url::Host::Ipv6(v6)) => !net::is_public(v6.into()),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(FieldError::new(path, "the URL has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_private && private_host => {}
        _ => return Err(FieldError::new(path, "expected an https URL")),
    }
    net::check_url(&url, allow_private).map_err(|refusal| FieldError::new(path, refusal))?;
    Ok(url)
}

/// `<digits>:<letters, digits, '-' or '_'>`: it becomes part of a URL path.
fn check_bot_token(token: &str) -> Result<(), FieldError> {
    let ok = token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.len() <= 20
            && id.bytes().all(|b| b.is_ascii_digit())
            && (20..=128).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "bot_token",
            "expected the token BotFather gave: <bot id>:<secret>",
        ))
    }
}

/// An integer chat id, or `@` and a public channel's name (5 to 32 letters, digits or `_`).
fn check_chat_id(chat_id: &str) -> Result<(), FieldError> {
    let numeric = chat_id
        .strip_prefix('-')
        .unwrap_or(chat_id)
        .bytes()
        .all(|b| b.is_ascii_digit())
        && !chat_id.trim_start_matches('-').is_empty()
        && chat_id.len() <= 20;
    let channel = chat_id.strip_prefix('@').is_some_and(|name| {
        (5..=32).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if numeric || channel {
        Ok(())
    } else {
        Err(FieldError::new(
            "chat_id",
            "expected a chat id (an integer) or @channelname",
        ))
    }
}

fn check_mailbox(path: &str, address: &str) -> Result<(), FieldError> {
    if address.len() > MAX_FIELD_LEN {
        return Err(FieldError::new(
            path,
            format!("longer than {MAX_FIELD_LEN} characters"),
        ));
    }
    Mailbox::from_str(address.trim())
        .map(|_| ())
        .map_err(|_| FieldError::new(path, "expected an email address (or Name <address>)"))
}

#[cfg(test)]
mod tests;
