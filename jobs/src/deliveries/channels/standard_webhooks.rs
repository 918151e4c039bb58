//! Standard Webhooks signatures (spec v1.0.0): `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`, one per secret, space-separated, so a receiver that knows any
//! of them verifies (secrets rotate without downtime). The key is the base64 after `whsec_`.
//!
//! This module signs; it never verifies (receivers do) and never logs a secret.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The message id header: the same on every attempt, the receiver's dedupe key.
pub const ID_HEADER: &str = "webhook-id";
/// The header with the attempt's Unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header with the signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// The prefix of a signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a generated secret (the spec asks for at least 24).
pub const SECRET_BYTES: usize = 32;

/// A signing secret that is not `whsec_` and base64 of at least 24 bytes (never holds the
/// secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretFormatError {
    /// Not base64 after the prefix.
    #[error("expected whsec_ followed by base64")]
    NotBase64,
    /// Fewer than 24 bytes (or more than 64).
    #[error("expected a secret of 24 to 64 bytes")]
    BadLength,
}

/// The HMAC key of a secret: the base64 after `whsec_` (a secret without the prefix is read
/// as bare base64, as the reference libraries do).
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, SecretFormatError> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = STANDARD
        .decode(b64)
        .map_err(|_| SecretFormatError::NotBase64)?;
    if !(24..=64).contains(&key.len()) {
        return Err(SecretFormatError::BadLength);
    }
    Ok(key)
}

/// A new secret: `whsec_` and [`SECRET_BYTES`] random bytes in base64.
pub fn generate_secret() -> SecretString {
    let mut key = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    SecretString::from(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

/// The `webhook-signature` value for `body` sent as message `msg_id` at `timestamp` (Unix
/// seconds): `v1,<base64>` for each secret, space-separated, in the order given.
pub fn sign(
    secrets: &[SecretString],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SecretFormatError> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let key = decode_secret(secret.expose_secret())?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
            .map_err(|_| SecretFormatError::BadLength)?;
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        signatures.push(format!(
            "v1,{}",
            STANDARD.encode(mac.finalize().into_bytes())
        ));
    }
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn headers(id: &str, ts: i64, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ID_HEADER, HeaderValue::from_str(id).unwrap());
        h.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_str(&ts.to_string()).unwrap(),
        );
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        h
    }

    #[test]
    fn the_spec_example_signature_is_reproduced() {
        // The example in the Standard Webhooks specification.
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn the_independent_verifier_accepts_one_secret_and_refuses_a_changed_body() {
        let secret = generate_secret();
        let body = br#"{"type":"lead.created","data":{"title":"x"}}"#;
        let ts = chrono::Utc::now().timestamp();
        let sig = sign(std::slice::from_ref(&secret), "dlv_1", ts, body).unwrap();
        let verifier = standardwebhooks::Webhook::new(secret.expose_secret()).unwrap();
        verifier.verify(body, &headers("dlv_1", ts, &sig)).unwrap();
        assert!(
            verifier
                .verify(b"{\"tampered\":1}", &headers("dlv_1", ts, &sig))
                .is_err()
        );
        assert!(
            verifier.verify(body, &headers("dlv_2", ts, &sig)).is_err(),
            "the id is signed"
        );
    }

    #[test]
    fn during_rotation_receivers_holding_either_secret_verify() {
        let old = generate_secret();
        let new = generate_secret();
        let body = b"{}";
        let ts = chrono::Utc::now().timestamp();
        let sig = sign(&[new.clone(), old.clone()], "dlv_9", ts, body).unwrap();
        assert_eq!(sig.split(' ').count(), 2, "{sig}");
        for secret in [&old, &new] {
            standardwebhooks::Webhook::new(secret.expose_secret())
                .unwrap()
                .verify(body, &headers("dlv_9", ts, &sig))
                .unwrap();
        }
        let stranger = generate_secret();
        assert!(
            standardwebhooks::Webhook::new(stranger.expose_secret())
                .unwrap()
                .verify(body, &headers("dlv_9", ts, &sig))
                .is_err()
        );
    }

    #[test]
    fn malformed_secrets_are_refused_without_echoing_them() {
        assert_eq!(
            decode_secret("whsec_not base64!").unwrap_err(),
            SecretFormatError::NotBase64
        );
        assert_eq!(
            decode_secret("whsec_c2hvcnQ=").unwrap_err(),
            SecretFormatError::BadLength
        );
        let e = sign(&[SecretString::from("whsec_???")], "id", 1, b"").unwrap_err();
        assert!(!e.to_string().contains("???"));
    }
}
