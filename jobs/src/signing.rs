//! HMAC-SHA256 request signatures with timestamps (the Stripe scheme), shared by everything
//! that accepts signed requests: push sources and workflow webhooks.
//!
//! The header is `X-Demandflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw
//! body>">`. The MAC is compared in constant time, and a timestamp more than [`TOLERANCE`] away
//! from now is refused, so a captured request cannot be replayed later. This module only checks
//! and makes signatures: it never looks a secret up, and never logs one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Demandflow-Signature";
/// How far a signature's timestamp may be from now.
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// Why a signature was refused (a sentence for the caller; it never contains the secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignatureError(pub &'static str);

/// The header value for `body` signed with `secret` at `at` (for senders and tests).
pub fn sign(secret: &str, at: DateTime<Utc>, body: &[u8]) -> String {
    let t = at.timestamp();
    format!(
        "t={t},v1={}",
        hex::encode(mac(secret, t, body).finalize().into_bytes())
    )
}

fn mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// Checks `header` against `body` and any of `secrets` at `now`.
pub fn verify(
    secrets: &[&str],
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError(
        "a signed body is required: send X-Demandflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">",
    ))?;
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.trim().parse::<i64>().ok(),
            Some(("v1", v)) => v1.extend(hex::decode(v.trim()).ok()),
            _ => {}
        }
    }
    let (Some(t), false) = (t, v1.is_empty()) else {
        return Err(SignatureError(
            "malformed signature header: expected t=<unix seconds>,v1=<hex>",
        ));
    };
    if (now.timestamp().saturating_sub(t)).unsigned_abs() > TOLERANCE.as_secs() {
        return Err(SignatureError(
            "the signature's timestamp is too far from now (stale or replayed)",
        ));
    }
    let ok = secrets.iter().any(|secret| {
        v1.iter()
            .any(|sig| mac(secret, t, body).verify_slice(sig).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(SignatureError("the signature does not match the body"))
    }
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
        assert!(verify(&[SECRET], Some(&header), body, now).is_ok());
        // Any of several secrets (a rotation's grace).
        assert!(verify(&["another_secret_value", SECRET], Some(&header), body, now).is_ok());
        // Tampered body, wrong secret, no secret, missing or malformed header.
        assert!(verify(&[SECRET], Some(&header), b"{\"items\": [1]}", now).is_err());
        assert!(verify(&["another_secret_value"], Some(&header), body, now).is_err());
        assert!(verify(&[], Some(&header), body, now).is_err());
        assert!(verify(&[SECRET], None, body, now).is_err());
        assert!(verify(&[SECRET], Some("v1=abc"), body, now).is_err());
        assert!(verify(&[SECRET], Some("t=1,v1=zz"), body, now).is_err());
        assert!(verify(&[SECRET], Some(&format!("t={},v1=00", i64::MIN)), body, now).is_err());
        // Stale: signed ten minutes ago.
        let old = now - chrono::Duration::minutes(10);
        assert!(matches!(
            verify(&[SECRET], Some(&sign(SECRET, old, body)), body, now),
            Err(SignatureError(m)) if m.contains("too far")
        ));
    }
}
