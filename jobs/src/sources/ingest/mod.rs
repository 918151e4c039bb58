//! Items to signals: sanitise, normalise, gate, deduplicate, store. One file per stage, all
//! re-exported here: `text` (HTML to text, entities, URLs), `simhash` (near-duplicate
//! fingerprints), `prepare` (an item made ready to store), `gates` (quality gates) and `store`.
//!
//! 1. [`prepare`] (pure, CPU only): the HTML is sanitised with ammonia (no scripts, styles,
//!    event handlers or `javascript:` links; relative links resolved), a plain-text rendering is
//!    kept beside it, the URL is normalised (lower-cased host, no fragment, no tracking
//!    parameters), lengths are capped, the language is detected (whatlang), and two hashes are
//!    taken: SHA-256 of the normalised content (exact duplicates) and a 64-bit simhash of its
//!    word shingles (near duplicates).
//! 2. [`Gates`]: the tenant's quality gates (minimum length, link density, repeated
//!    characters, a blocklist, a language allow-list). A refused item is stored once as a
//!    `discarded` signal with its reason (so the next poll of the same feed does not count it
//!    again) and counted per source and reason in `signal_rejections`.
//! 3. [`store`] (one transaction, the caller's): near duplicates are found by simhash bands
//!    among the tenant's originals within the window (and within the batch) and stored
//!    `discarded` with `duplicate_of`; everything is inserted with `ON CONFLICT (tenant_id,
//!    content_hash) DO NOTHING`, so two workers ingesting the same item at once store it once.

mod gates;
mod prepare;
mod simhash;
mod store;
mod text;

pub use gates::{Gates, Rejection};
pub use prepare::{
    MAX_AUTHOR, MAX_EXTERNAL_ID, MAX_HTML, MAX_TEXT, MAX_TITLE, Prepared, prepare, prepare_all,
};
pub use simhash::{hamming, simhash};
pub use store::{MAX_NEW_SIGNAL_IDS, Report, store};
pub use text::{MAX_URL, decode_entities, html_to_text, normalize_url};

/// A raw item with a title and content, for the stages' tests.
#[cfg(test)]
fn item(title: &str, content: &str) -> super::feed::RawItem {
    super::feed::RawItem {
        title: Some(title.into()),
        content: Some(content.into()),
        ..Default::default()
    }
}
