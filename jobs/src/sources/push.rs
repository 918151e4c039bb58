//! Signals pushed to a `push` source: `{"items": [{external_id?, url?, title?, content?,
//! author?, published_at?}]}`, 1 to [`MAX_ITEMS`] items, ingested like fetched ones.
//!
//! When the source has a secret, the request must carry
//! `X-Demandflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
//! (the Stripe scheme, in [`crate::signing`]): the MAC is compared in constant time, and a
//! timestamp more than [`TOLERANCE`] away from now is refused, so a captured request cannot be
//! replayed later; within that window, the signature is remembered in the transaction that
//! ingests the batch, so the same signed request is accepted once ([`PushError::Replayed`]).
//! The secret is stored sealed and opened only here, to verify.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    SECRET_PURPOSE, SourceKind,
    feed::RawItem,
    ingest::{self, Gates, Report},
    signals,
};
use crate::{
    DomainError, FieldError, kinds, secrets,
    signing::{self, Verified},
};

/// The signature header.
pub use crate::signing::{SIGNATURE_HEADER, TOLERANCE, sign};
/// Most items in one push.
pub const MAX_ITEMS: usize = 500;

/// Why a push was refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The signature is missing, malformed, stale or wrong.
    #[error("{0}")]
    Signature(&'static str),
    /// The same signed request was accepted before (within the signing window).
    #[error("this signed request was already accepted")]
    Replayed,
    /// Anything the domain refuses (not found, not a push source, invalid items).
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<FieldError> for PushError {
    fn from(e: FieldError) -> Self {
        PushError::Domain(e.into())
    }
}

impl From<sqlx::Error> for PushError {
    fn from(e: sqlx::Error) -> Self {
        PushError::Domain(e.into())
    }
}

/// Checks `header` against `body` and `secret` at `now` (see [`crate::signing`]); the
/// signature that verified is what [`signing::remember`] records.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Verified, PushError> {
    signing::verify(&[secret], header, body, now).map_err(|e| PushError::Signature(e.0))
}

/// A source's stored secret, opened (a value that does not open is the operator's problem: a
/// missing key in `DEMANDFLOW_SECRET_KEY`, reported as a failure, never to the caller).
fn open_secret(stored: &str) -> Result<SecretString, PushError> {
    secrets::open(SECRET_PURPOSE, stored)
        .map_err(|e| PushError::Domain(DomainError::Database(sqlx::Error::Decode(Box::new(e)))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushItem {
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    published_at: Option<DateTime<Utc>>,
}

/// Parses a push body, naming the bad item's path (`items[3].url`).
pub fn parse_batch(body: &[u8]) -> Result<Vec<RawItem>, FieldError> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| FieldError::new("", format!("not JSON: {e}")))?;
    let Value::Object(mut map) = doc else {
        return Err(FieldError::new("", "expected a JSON object"));
    };
    if let Some(extra) = map.keys().find(|k| *k != "items") {
        return Err(FieldError::new(
            extra.as_str(),
            "unknown field; expected `items`",
        ));
    }
    let Some(Value::Array(items)) = map.remove("items") else {
        return Err(FieldError::new("items", "required: a list of items"));
    };
    if items.is_empty() || items.len() > MAX_ITEMS {
        return Err(FieldError::new(
            "items",
            format!("expected 1 to {MAX_ITEMS} items"),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let at = format!("items[{i}]");
            let item: PushItem = kinds::from_value(v).map_err(|e| e.under(&at))?;
            if item.title.as_deref().unwrap_or_default().trim().is_empty()
                && item
                    .content
                    .as_deref()
                    .unwrap_or_default()
                    .trim()
                    .is_empty()
            {
                return Err(FieldError::new(at, "needs a title or content"));
            }
            if let Some(u) = &item.url
                && ingest::normalize_url(u, None).is_none()
            {
                return Err(FieldError::new(
                    format!("{at}.url"),
                    "expected an absolute http(s) URL",
                ));
            }
            Ok(RawItem {
                external_id: item.external_id,
                url: item.url,
                title: item.title,
                content: item.content,
                author: item.author,
                published_at: item.published_at,
                engagement: Default::default(),
            })
        })
        .collect()
}

/// Accepts a pushed batch for the tenant's source `source_id`: the source must be a live,
/// enabled push source; its signature is checked when it has a secret; the items are
/// ingested in one transaction, which also remembers the signature (a replay of it is
/// [`PushError::Replayed`]).
pub async fn accept(
    pool: &PgPool,
    tenant_id: Uuid,
    source_id: Uuid,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Report, PushError> {
    let mut conn = pool.acquire().await?;
    let source = super::get_row(&mut conn, tenant_id, source_id).await?;
    drop(conn);
    if source.source.kind != SourceKind::Push {
        return Err(DomainError::Conflict(format!(
            "source {source_id} is a {} source: only push sources accept signals",
            source.source.kind.as_str()
        ))
        .into());
    }
    if !source.source.enabled {
        return Err(DomainError::Conflict(format!("source {source_id} is disabled")).into());
    }
    let verified = match &source.secret {
        Some(stored) => Some(verify(
            open_secret(stored)?.expose_secret(),
            signature,
            body,
            Utc::now(),
        )?),
        None => None,
    };
    let items = parse_batch(body)?;
    let prepared: Vec<_> = items
        .into_iter()
        .map(|i| ingest::prepare(i, None))
        .collect();
    let mut tx = pool.begin().await?;
    if let Some(verified) = &verified
        && !signing::remember(&mut tx, source_id, verified).await?
    {
        return Err(PushError::Replayed);
    }
    let gates = Gates::new(signals::settings(&mut tx, tenant_id).await?);
    let report = ingest::store(&mut tx, tenant_id, source_id, &gates, prepared).await?;
    tx.commit().await?;
    Ok(report)
}

/// Accepts a batch sent without an API key (a webhook sender's): the source must be a live,
/// enabled push source **with a secret**, and the signature must be valid; the batch goes to
/// the source's tenant. Every refusal is the same [`PushError::Signature`], so an anonymous
/// caller learns nothing about which sources exist. Returns the tenant and the report.
pub async fn accept_signed(
    pool: &PgPool,
    source_id: Uuid,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(Uuid, Report), PushError> {
    const REFUSED: PushError = PushError::Signature(
        "an API key, or a valid X-Demandflow-Signature for a push source with a secret, is required",
    );
    let source = sqlx::query!(
        r#"SELECT tenant_id, secret FROM sources
           WHERE id = $1 AND deleted_at IS NULL AND enabled AND kind = 'push'"#,
        source_id
    )
    .fetch_optional(pool)
    .await?;
    let Some((tenant_id, Some(stored))) = source.map(|s| (s.tenant_id, s.secret)) else {
        return Err(REFUSED);
    };
    if signature.is_none() {
        return Err(REFUSED);
    }
    verify(
        open_secret(&stored)?.expose_secret(),
        signature,
        body,
        Utc::now(),
    )?;
    let report = accept(pool, tenant_id, source_id, signature, body).await?;
    Ok((tenant_id, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_0123456789abcdef";

    #[test]
    fn a_good_signature_passes_and_anything_else_fails() {
        let body = br#"{"items": []}"#;
        let now = Utc::now();
        let header = sign(SECRET, now, body);
        assert!(verify(SECRET, Some(&header), body, now).is_ok());
        // Tampered body, wrong secret, missing or malformed header.
        assert!(verify(SECRET, Some(&header), b"{\"items\": [1]}", now).is_err());
        assert!(verify("another_secret_value", Some(&header), body, now).is_err());
        assert!(verify(SECRET, None, body, now).is_err());
        assert!(verify(SECRET, Some("v1=abc"), body, now).is_err());
        assert!(verify(SECRET, Some("t=1,v1=zz"), body, now).is_err());
        // Stale: signed ten minutes ago.
        let old = now - chrono::Duration::minutes(10);
        assert!(matches!(
            verify(SECRET, Some(&sign(SECRET, old, body)), body, now),
            Err(PushError::Signature(m)) if m.contains("too far")
        ));
    }

    #[test]
    fn batches_name_the_bad_item() {
        assert_eq!(
            parse_batch(br#"{"items": [{"title": "ok"}]}"#)
                .unwrap()
                .len(),
            1
        );
        let cases: [(&[u8], &str); 6] = [
            (b"nope", ""),
            (br#"{"items": []}"#, "items"),
            (br#"{"things": []}"#, "things"),
            (
                br#"{"items": [{"title": "ok"}, {"title": 3}]}"#,
                "items[1].title",
            ),
            (br#"{"items": [{"title": "ok"}, {}]}"#, "items[1]"),
            (
                br#"{"items": [{"title": "ok", "url": "ftp://x"}]}"#,
                "items[0].url",
            ),
        ];
        for (body, path) in cases {
            assert_eq!(
                parse_batch(body).unwrap_err().path,
                path,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
