//! Email over SMTP (lettre): a multipart message (text and HTML) with
//! `Message-ID: <{message id}@demandflow>` — the same on every attempt, so receivers drop
//! repeats, and the receipt. Transports are pooled and cached per SMTP settings, so
//! connections are reused across sends. The server's host is resolved once per transport and
//! must be public unless private networks are allowed; the connection goes to the checked
//! address, and TLS verifies the host's name. SMTP 4xx replies and connection failures are
//! retried; 5xx replies are rejected.

use std::{str::FromStr, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    message::{Mailbox, MultiPart, header::ContentType},
    transport::smtp::{
        authentication::Credentials as SmtpCredentials,
        client::{Tls, TlsParameters},
    },
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{Channels, EmailConfig, Outcome, SmtpTls, TIMEOUT, clip};
use crate::{
    deliveries::render::{Message, Rendered},
    net,
};

/// The pooled transports, one per distinct SMTP settings.
pub(super) type TransportCache = moka::future::Cache<SmtpKey, AsyncSmtpTransport<Tokio1Executor>>;

/// What makes two destinations share an SMTP transport (the password only as a digest).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SmtpKey {
    host: String,
    port: u16,
    tls: SmtpTls,
    username: Option<String>,
    password: Option<[u8; 32]>,
    allow_private: bool,
}

pub(super) fn transport_cache() -> TransportCache {
    moka::future::Cache::builder()
        .max_capacity(1_000)
        .time_to_idle(Duration::from_secs(600))
        // The host's address is checked when a transport is made: check it again hourly.
        .time_to_live(Duration::from_secs(3_600))
        .build()
}

pub(super) async fn send(
    channels: &Channels,
    settings: &EmailConfig,
    password: Option<&SecretString>,
    message: &Message,
    rendered: Rendered,
) -> Outcome {
    let Rendered::Email {
        subject,
        text,
        html,
    } = rendered
    else {
        return Outcome::rejected("the message was rendered for another kind");
    };
    let secrets: Vec<&str> = password.map(|p| p.expose_secret()).into_iter().collect();
    let message_id = message_id(&message.id);
    let email = match build(settings, &message_id, subject, text, html) {
        Ok(email) => email,
        Err(outcome) => return outcome,
    };
    let key = SmtpKey {
        host: settings.smtp_host.to_ascii_lowercase(),
        port: settings.smtp_port,
        tls: settings.tls,
        username: settings.username.clone(),
        password: password.map(|p| Sha256::digest(p.expose_secret().as_bytes()).into()),
        allow_private: channels.allow_private,
    };
    let transport = match channels
        .smtp
        .try_get_with(key, transport(settings, password, channels.allow_private))
        .await
    {
        Ok(transport) => transport,
        Err(outcome) => return Outcome::clone(&outcome),
    };
    match transport.send(email).await {
        Ok(response) => Outcome::Delivered {
            status: Some(u16::from(response.code())),
            receipt: Some(message_id),
            excerpt: clip(&response.message().collect::<Vec<_>>().join(" "), &secrets),
            pause: None,
        },
        Err(e) => {
            let status = e.status().map(u16::from);
            let excerpt = clip(&crate::error::chain(&e), &secrets);
            if e.is_permanent() {
                Outcome::Rejected { status, excerpt }
            } else {
                Outcome::Failed {
                    status,
                    excerpt,
                    retry_after: None,
                }
            }
        }
    }
}

/// `<{id}@demandflow>`, the id kept to characters a Message-ID may hold.
fn message_id(id: &str) -> String {
    let local: String = id
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("<{local}@demandflow>")
}

fn build(
    settings: &EmailConfig,
    message_id: &str,
    subject: String,
    text: String,
    html: String,
) -> Result<lettre::Message, Outcome> {
    let mailbox = |path: &str, raw: &str| {
        Mailbox::from_str(raw.trim())
            .map_err(|_| Outcome::rejected(format!("{path} is not an email address")))
    };
    let mut builder = lettre::Message::builder()
        .message_id(Some(message_id.to_owned()))
        .from(mailbox("from", &settings.from)?)
        .subject(subject)
        .date_now();
    for (i, to) in settings.to.iter().enumerate() {
        builder = builder.to(mailbox(&format!("to[{i}]"), to)?);
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    lettre::message::SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    lettre::message::SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .map_err(|e| Outcome::rejected(format!("the email could not be built: {e}")))
}

/// A pooled transport to the server's checked address.
async fn transport(
    settings: &EmailConfig,
    password: Option<&SecretString>,
    allow_private: bool,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, Outcome> {
    let host = settings.smtp_host.as_str();
    let addrs = super::resolve(host, settings.smtp_port, allow_private)
        .await
        .map_err(|e| {
            let refused = e
                .downcast_ref::<net::BlockedAddress>()
                .map(|b| b.to_string());
            match refused {
                Some(refusal) => Outcome::rejected(refusal),
                None => Outcome::failed(format!("could not resolve {host}: {e}")),
            }
        })?;
    let addr = addrs
        .first()
        .ok_or_else(|| Outcome::failed(format!("{host} has no address")))?;
    let tls = |wrap: fn(TlsParameters) -> Tls| {
        TlsParameters::new(host.to_owned())
            .map(wrap)
            .map_err(|e| Outcome::rejected(format!("TLS for {host}: {e}")))
    };
    let tls = match settings.tls {
        SmtpTls::Starttls => tls(Tls::Required)?,
        SmtpTls::Tls => tls(Tls::Wrapper)?,
        SmtpTls::None => Tls::None,
    };
    let mut builder =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
            .port(settings.smtp_port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
    if let Some(user) = &settings.username {
        let password = password
            .map(|p| p.expose_secret().to_owned())
            .unwrap_or_default();
        builder = builder.credentials(SmtpCredentials::new(user.clone(), password));
    }
    Ok(builder.build())
}
