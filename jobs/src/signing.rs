//! HMAC-SHA256 request signatures with timestamps (the Stripe scheme), shared by everything
//! that accepts signed requests: push sources and workflow webhooks.
//!
//! The header is `X-Demandflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw
//! body>">`. The MAC is compared in constant time, and a timestamp more than [`TOLERANCE`] away
//! from now is refused, so a captured request cannot be replayed later; within that window,
//! [`remember`] records each accepted signature once (in the transaction that acts on the
//! request), so the same signed request cannot be replayed at all. This module checks, makes
//! and remembers signatures: it never looks a secret up, and never logs one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

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

/// A signature that verified: what [`remember`] records to refuse its replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signature's timestamp (unix seconds).
    pub t: i64,
    /// SHA-256 of the timestamp and the MAC that matched.
    pub digest: [u8; 32],
}

/// Checks `header` against `body` and any of `secrets` at `now`.
pub fn verify(
    secrets: &[&str],
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Verified, SignatureError> {
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
    let matched = v1.iter().find(|sig| {
        secrets
            .iter()
            .any(|secret| mac(secret, t, body).verify_slice(sig).is_ok())
    });
    match matched {
        Some(sig) => {
            let mut digest = Sha256::new();
            digest.update(t.to_be_bytes());
            digest.update(sig);
            Ok(Verified {
                t,
                digest: digest.finalize().into(),
            })
        }
        None => Err(SignatureError("the signature does not match the body")),
    }
}

/// Records `verified` for `scope` (the hook or source it was sent to), in the caller's
/// transaction. `false`: the same signature was accepted before, so the request is a replay
/// and must be refused. Records older than twice [`TOLERANCE`] are pruned by [`prune`]; a
/// replay that old has a stale timestamp and is refused by [`verify`] anyway.
pub async fn remember(
    conn: &mut sqlx::PgConnection,
    scope: uuid::Uuid,
    verified: &Verified,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO seen_signatures (scope, digest, signed_at)
           VALUES ($1, $2, to_timestamp($3::bigint))
           ON CONFLICT DO NOTHING
           RETURNING true AS "inserted!""#,
        scope,
        &verified.digest[..],
        verified.t
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(inserted.is_some())
}

/// Deletes remembered signatures whose timestamps are too old to verify again.
pub async fn prune(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let horizon = i64::try_from(TOLERANCE.as_secs() * 2).unwrap_or(i64::MAX);
    Ok(sqlx::query!(
        "DELETE FROM seen_signatures WHERE signed_at < now() - make_interval(secs => $1::bigint)",
        horizon
    )
    .execute(pool)
    .await?
    .rows_affected())
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
        let ok = verify(&[SECRET], Some(&header), body, now).unwrap();
        assert_eq!(ok.t, now.timestamp());
        // The same request verifies to the same digest (what replay protection records); a
        // request signed at another second does not.
        assert_eq!(verify(&[SECRET], Some(&header), body, now).unwrap(), ok);
        let later = now + chrono::Duration::seconds(1);
        assert_ne!(
            verify(&[SECRET], Some(&sign(SECRET, later, body)), body, later).unwrap(),
            ok
        );
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

    #[sqlx::test(migrator = "crate::db::MIGRATOR")]
    async fn a_signature_is_remembered_once_per_scope(pool: sqlx::PgPool) {
        let body = b"{}";
        let now = Utc::now();
        let verified = verify(&[SECRET], Some(&sign(SECRET, now, body)), body, now).unwrap();
        let (hook, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let mut conn = pool.acquire().await.unwrap();
        assert!(remember(&mut conn, hook, &verified).await.unwrap());
        assert!(
            !remember(&mut conn, hook, &verified).await.unwrap(),
            "a replay"
        );
        assert!(remember(&mut conn, other, &verified).await.unwrap());
        // A rolled-back transaction leaves nothing remembered.
        let again = verify(
            &[SECRET],
            Some(&sign(SECRET, now + chrono::Duration::seconds(2), body)),
            body,
            now,
        )
        .unwrap();
        let mut tx = pool.begin().await.unwrap();
        assert!(remember(&mut tx, hook, &again).await.unwrap());
        tx.rollback().await.unwrap();
        assert!(remember(&mut conn, hook, &again).await.unwrap());
        // Old records are pruned; fresh ones stay.
        sqlx::query(
            "UPDATE seen_signatures SET signed_at = now() - interval '1 hour' WHERE scope = $1",
        )
        .bind(other)
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(prune(&pool).await.unwrap(), 1);
        assert!(!remember(&mut conn, hook, &verified).await.unwrap());
    }
}
