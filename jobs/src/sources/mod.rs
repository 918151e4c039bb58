//! Sources and signals: fetch the world politely, keep each signal once.
//!
//! - this module: a tenant's **sources** (`rss`, `atom`, `json_feed`, `reddit_listing`, `push`,
//!   and the API kinds of [`apis`]). `model` parses them at the edge into [`NewSource`] /
//!   [`SourcePatch`] (with [`SourceUrl`] and [`PollEvery`] newtypes); `queries` creates, lists, reads, changes and soft-deletes them
//!   with an audit entry in the same transaction. Both are re-exported here.
//! - [`feed`]: bytes → items: charset handling, RSS/Atom/JSON Feed (feed-rs) and Reddit listings;
//!   a malformed feed is an error value, never a panic.
//! - [`ingest`]: items → signals: sanitising (ammonia), URL normalisation, length caps, quality
//!   gates, exact duplicates (a content hash unique per tenant, `INSERT … ON CONFLICT`) and near
//!   duplicates (64-bit simhash within a window).
//! - [`signals`]: reading, the state machine, soft delete, export, GDPR erase, retention purge,
//!   the tenant's quality settings and rejection counts.
//! - [`hosts`]: the fleet-wide per-host rate limiter and circuit breaker (state in Postgres).
//! - [`schedule`]: the worker-side loop that enqueues `fetch_source` once per interval slot
//!   however many workers run, and purges signals past their retention.
//! - [`push`]: batches posted to push sources, with HMAC-SHA256 signatures.
//! - [`apis`]: the API kinds (`hn_search`, `json_api`, `mastodon`, `bluesky_search`,
//!   `x_search`, `reddit_search`): one dialect a file, the poll loop that stores each page with
//!   its cursor, the exchange of a source's secret for a cached access token, the preview.
//!
//! The `fetch_source` job kind (`kinds::fetch_source`) ties them together.

pub mod apis;
pub mod feed;
pub mod hosts;
pub mod ingest;
mod model;
pub mod push;
mod queries;
pub mod schedule;
pub mod signals;

pub use model::{
    DEFAULT_POLL_EVERY_SECS, DEFAULT_RATE_LIMIT_PER_MIN, MAX_TAG_LEN, MAX_TAGS, MAX_URL_LEN,
    NewSource, PollEvery, Source, SourceKind, SourcePatch, SourceRow, SourceUrl, host_key,
};
pub use queries::{
    FetchRecord, ListFilter, SECRET_PURPOSE, create, delete, get, get_row, list, record_fetch,
    update,
};
