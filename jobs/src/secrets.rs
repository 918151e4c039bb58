//! Secrets at rest: every credential demandflow must be able to read back (push-source and
//! webhook signing secrets; later, destination tokens) is sealed with an operator key before it
//! is written, and opened only where it is used. Nothing here logs or returns a secret to a
//! reader: API answers say only whether one is set.
//!
//! The cipher is XChaCha20-Poly1305 (an AEAD with 192-bit random nonces, safe to draw at
//! random for every write). The operator key comes from `DEMANDFLOW_SECRET_KEY`:
//! `<key id>:<base64 of 32 bytes>`, optionally followed by `,<key id>:<base64>` for older keys.
//! The first key seals; every listed key opens, so keys rotate without downtime: add a new
//! first key, run `api reseal-secrets` (it re-seals every stored secret under it), then drop
//! the old one. A sealed value is `enc:v1:<key id>:<base64url(nonce ‖ ciphertext)>`, and its
//! *purpose* (`sources.secret`, …) is bound as associated data, so a sealed value copied into
//! another column does not open.
//!
//! The binaries install the keyring once at start ([`install`]); domain code calls [`seal`]
//! and [`open`]. A value stored before sealing existed (no `enc:` prefix) still opens as it is,
//! until `api reseal-secrets` seals it.

use std::{collections::HashMap, fmt, sync::OnceLock};

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

/// The environment variable holding the operator keys.
pub const KEY_VAR: &str = "DEMANDFLOW_SECRET_KEY";

const PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 24;

/// Why a secret could not be sealed or opened (never contains the secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No keyring was installed (a binary started without `DEMANDFLOW_SECRET_KEY`).
    #[error("no operator key is configured ({KEY_VAR})")]
    NoKeyring,
    /// The value was sealed with a key id that is not configured.
    #[error("the secret was sealed with key {0:?}, which is not configured in {KEY_VAR}")]
    UnknownKey(String),
    /// The value is damaged, or was sealed for another purpose or with another key.
    #[error("the secret does not open (damaged, or sealed for another purpose)")]
    Corrupt,
    /// `DEMANDFLOW_SECRET_KEY` is malformed.
    #[error("{KEY_VAR}: {0}")]
    BadKey(String),
}

/// The operator keys: the first seals, all open.
pub struct Keyring {
    active: String,
    keys: HashMap<String, XChaCha20Poly1305>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        ids.sort_unstable();
        f.debug_struct("Keyring")
            .field("active", &self.active)
            .field("key_ids", &ids)
            .finish()
    }
}

impl Keyring {
    /// Parses `<id>:<base64 32 bytes>[,<id>:<base64>…]`.
    pub fn parse(spec: &SecretString) -> Result<Self, SecretError> {
        let mut active = None;
        let mut keys = HashMap::new();
        for part in spec.expose_secret().split(',').map(str::trim) {
            let (id, b64) = part.split_once(':').ok_or_else(|| {
                SecretError::BadKey("expected <key id>:<base64 of 32 bytes>[,…]".into())
            })?;
            if id.is_empty()
                || id.len() > 32
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(SecretError::BadKey(
                    "a key id is 1 to 32 letters, digits, '-' or '_'".into(),
                ));
            }
            let bytes = STANDARD
                .decode(b64)
                .map_err(|_| SecretError::BadKey(format!("key {id:?} is not base64")))?;
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| {
                SecretError::BadKey(format!(
                    "key {id:?} must be 32 bytes (44 base64 characters)"
                ))
            })?;
            if keys.insert(id.to_owned(), cipher).is_some() {
                return Err(SecretError::BadKey(format!(
                    "key id {id:?} is listed twice"
                )));
            }
            active.get_or_insert_with(|| id.to_owned());
        }
        let active = active.ok_or_else(|| SecretError::BadKey("no key given".into()))?;
        Ok(Self { active, keys })
    }

    /// A new random key spec (`<id>:<base64>`), for operators and scripts.
    pub fn generate_spec(id: &str) -> SecretString {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        SecretString::from(format!("{id}:{}", STANDARD.encode(key)))
    }

    /// The id of the key that seals.
    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// `plaintext` sealed for `purpose` with the active key.
    pub fn seal(&self, purpose: &str, plaintext: &str) -> String {
        let cipher = &self.keys[&self.active];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: purpose.as_bytes(),
                },
            )
            // Encryption fails only for messages beyond 2^38 bytes.
            .unwrap_or_default();
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", self.active, URL_SAFE_NO_PAD.encode(blob))
    }

    /// Opens a stored value sealed for `purpose`; a legacy unsealed value opens as it is.
    pub fn open(&self, purpose: &str, stored: &str) -> Result<SecretString, SecretError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(SecretString::from(stored.to_owned()));
        };
        let (id, b64) = rest.split_once(':').ok_or(SecretError::Corrupt)?;
        let cipher = self
            .keys
            .get(id)
            .ok_or_else(|| SecretError::UnknownKey(id.to_owned()))?;
        let blob = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| SecretError::Corrupt)?;
        if blob.len() < NONCE_LEN {
            return Err(SecretError::Corrupt);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretError::Corrupt)?;
        let plain = cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Corrupt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SecretError::Corrupt)
    }

    /// Whether `stored` must be re-sealed: unsealed, or sealed with a key other than the
    /// active one.
    pub fn needs_reseal(&self, stored: &str) -> bool {
        match stored.strip_prefix(PREFIX).and_then(|r| r.split_once(':')) {
            Some((id, _)) => id != self.active,
            None => true,
        }
    }
}

/// Whether `stored` is a sealed value (as opposed to a legacy one stored in clear).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

static KEYRING: OnceLock<Keyring> = OnceLock::new();

/// Reads `DEMANDFLOW_SECRET_KEY` and installs the keyring for this process. Binaries call it
/// once at start and refuse to start on an error.
pub fn install_from_env() -> Result<&'static Keyring, SecretError> {
    let spec = std::env::var(KEY_VAR).map_err(|_| {
        SecretError::BadKey(
            "required: the operator key that seals stored secrets; make one with \
             `api generate-secret-key`"
                .into(),
        )
    })?;
    install(Keyring::parse(&SecretString::from(spec))?)
}

/// Installs `keyring` for this process; a second call keeps the first keyring and returns it.
pub fn install(keyring: Keyring) -> Result<&'static Keyring, SecretError> {
    Ok(KEYRING.get_or_init(|| keyring))
}

/// The installed keyring.
pub fn keyring() -> Result<&'static Keyring, SecretError> {
    KEYRING.get().ok_or(SecretError::NoKeyring)
}

/// `plaintext` sealed for `purpose` with the installed keyring.
pub fn seal(purpose: &str, plaintext: &str) -> Result<String, SecretError> {
    Ok(keyring()?.seal(purpose, plaintext))
}

/// A stored value opened with the installed keyring.
pub fn open(purpose: &str, stored: &str) -> Result<SecretString, SecretError> {
    keyring()?.open(purpose, stored)
}

/// What a reader sees in place of a sealed value.
pub const REDACTED: &str = "[redacted]";

/// Replaces every sealed string in `value` (at any depth) with [`REDACTED`]: for copies of
/// stored documents that readers see, such as audit entries, where even ciphertext has no place.
pub fn redact_sealed(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) if s.starts_with(PREFIX) => *s = REDACTED.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(redact_sealed),
        Value::Object(map) => map.values_mut().for_each(redact_sealed),
        _ => {}
    }
}

/// A fixed keyring for tests in this crate and others (never used by the binaries).
pub fn install_for_tests() -> &'static Keyring {
    KEYRING.get_or_init(|| {
        Keyring::parse(&SecretString::from(format!(
            "test:{}",
            STANDARD.encode([7u8; 32])
        )))
        .unwrap_or_else(|e| unreachable!("the test key parses: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(&SecretString::from(spec.to_owned())).unwrap()
    }

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_purpose_and_never_shows_in_clear() {
        let r = ring(&format!("k1:{}", key(1)));
        let sealed = r.seal("sources.secret", "whsec_topsecret");
        assert!(sealed.starts_with("enc:v1:k1:"));
        assert!(!sealed.contains("topsecret"));
        assert_ne!(
            sealed,
            r.seal("sources.secret", "whsec_topsecret"),
            "fresh nonce"
        );
        assert_eq!(
            r.open("sources.secret", &sealed).unwrap().expose_secret(),
            "whsec_topsecret"
        );
        assert_eq!(
            r.open("workflow_webhooks.secret", &sealed).unwrap_err(),
            SecretError::Corrupt
        );
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(
            r.open("sources.secret", &tampered).unwrap_err(),
            SecretError::Corrupt
        );
        assert!(!format!("{r:?}").contains(&key(1)));
    }

    #[test]
    fn sealed_strings_are_redacted_at_any_depth_and_nothing_else_is() {
        let r = ring(&format!("k1:{}", key(1)));
        let mut doc = serde_json::json!({
            "headers": {"Authorization": r.seal("p", "Bearer x"), "X-Trace": "visible"},
            "list": [r.seal("p", "y"), 3, "enc:v2:not ours"],
        });
        redact_sealed(&mut doc);
        assert_eq!(
            doc,
            serde_json::json!({
                "headers": {"Authorization": REDACTED, "X-Trace": "visible"},
                "list": [REDACTED, 3, "enc:v2:not ours"],
            })
        );
    }

    #[test]
    fn keys_rotate_old_values_open_and_new_ones_use_the_first_key() {
        let old = ring(&format!("k1:{}", key(1)));
        let sealed_old = old.seal("p", "s1");
        let rotated = ring(&format!("k2:{}, k1:{}", key(2), key(1)));
        assert_eq!(
            rotated.open("p", &sealed_old).unwrap().expose_secret(),
            "s1"
        );
        assert!(rotated.needs_reseal(&sealed_old));
        let sealed_new = rotated.seal("p", "s2");
        assert!(sealed_new.starts_with("enc:v1:k2:"));
        assert!(!rotated.needs_reseal(&sealed_new));
        assert_eq!(
            old.open("p", &sealed_new).unwrap_err(),
            SecretError::UnknownKey("k2".into())
        );
        // A legacy unsealed value opens as it is and is due for sealing.
        assert_eq!(rotated.open("p", "plain").unwrap().expose_secret(), "plain");
        assert!(rotated.needs_reseal("plain"));
    }

    #[test]
    fn malformed_key_specs_are_refused_with_a_reason() {
        for bad in [
            "",
            "nokey",
            "k1:not base64!",
            &format!("k1:{}", STANDARD.encode([1u8; 16])),
            &format!("bad id:{}", key(1)),
            &format!("k1:{},k1:{}", key(1), key(2)),
        ] {
            let err = Keyring::parse(&SecretString::from(bad.to_owned())).unwrap_err();
            assert!(matches!(err, SecretError::BadKey(_)), "{bad:?}: {err:?}");
        }
        let spec = Keyring::generate_spec("gen");
        assert_eq!(Keyring::parse(&spec).unwrap().active_key_id(), "gen");
    }
}
