//! The JSON of `/sources`, `/signals` and `/hosts`, as OpenAPI schemas.
//!
//! Like the job bodies, request bodies are read as raw JSON and parsed by the domain
//! (`jobs::sources`), which names the path of an invalid field; the `*Schema` types only
//! document them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use poem_openapi::{
    Enum, Object,
    payload::{ParsePayload, Payload},
    registry::{MetaSchemaRef, Registry},
    types::Type,
};
use serde_json::Value;
use uuid::Uuid;

use jobs::sources::{self, hosts, ingest, signals};

use crate::models::JobOptions;

// ---------------------------------------------------------------------------------------------
// Sources

/// How a source's signals arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "SourceKind", rename_all = "snake_case")]
pub enum SourceKindName {
    /// An RSS 2.0 feed.
    Rss,
    /// An Atom feed.
    Atom,
    /// A JSON Feed.
    JsonFeed,
    /// Reddit's public JSON listing.
    RedditListing,
    /// Signals are posted to `/sources/{id}/signals`.
    Push,
    /// Hacker News through the Algolia search API.
    HnSearch,
    /// Any JSON endpoint, read through a declarative mapping.
    JsonApi,
    /// A Mastodon server's hashtag timeline or status search.
    Mastodon,
    /// Bluesky posts through `app.bsky.feed.searchPosts`.
    BlueskySearch,
    /// X posts through the API v2 recent search (a bearer token in `secret`).
    XSearch,
    /// Reddit search through its OAuth API (the app's `client_id:client_secret` in `secret`).
    RedditSearch,
}

impl From<sources::SourceKind> for SourceKindName {
    fn from(k: sources::SourceKind) -> Self {
        use sources::SourceKind as K;
        match k {
            K::Rss => Self::Rss,
            K::Atom => Self::Atom,
            K::JsonFeed => Self::JsonFeed,
            K::RedditListing => Self::RedditListing,
            K::Push => Self::Push,
            K::HnSearch => Self::HnSearch,
            K::JsonApi => Self::JsonApi,
            K::Mastodon => Self::Mastodon,
            K::BlueskySearch => Self::BlueskySearch,
            K::XSearch => Self::XSearch,
            K::RedditSearch => Self::RedditSearch,
        }
    }
}

/// A source to create.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "NewSource")]
pub struct NewSourceSchema {
    /// How its signals arrive.
    pub kind: SourceKindName,
    /// The feed's absolute http(s) URL (required, except for `push`, which has none). For an
    /// API kind, the API's base URL: `hn_search` defaults to `https://hn.algolia.com`,
    /// `bluesky_search` to `https://public.api.bsky.app` (with a session, to its
    /// `session_base`), `x_search` to `https://api.x.com`, `reddit_search` to
    /// `https://oauth.reddit.com`; `mastodon` needs its server, `json_api` its endpoint.
    #[oai(validator(max_length = 2048))]
    pub url: Option<String>,
    /// Seconds between polls (1 to 604800), or a duration like `"30s"`, `"15m"`, `"2h"`, `"1d"`
    /// (default 15 minutes).
    pub poll_every: Option<Value>,
    /// Whether it is polled (default true).
    pub enabled: Option<bool>,
    /// Up to 20 labels of 1 to 50 characters.
    pub tags: Option<Vec<String>>,
    /// Requests a minute to the URL's host across the whole fleet, 1 to 6000 (default 60).
    #[oai(validator(minimum(value = "1"), maximum(value = "6000")))]
    pub rate_limit_per_min: Option<i32>,
    /// `push`: the HMAC-SHA256 key pushed batches must be signed with; `x_search` (required):
    /// the API's bearer token; `reddit_search` (required): the Reddit app's
    /// `client_id:client_secret`, exchanged for short-lived tokens; `bluesky_search` with
    /// `settings.identifier` (required then): the account's app password, exchanged for a
    /// session. 16 to 200 characters, stored sealed, never shown again.
    #[oai(validator(min_length = 16, max_length = 200))]
    pub secret: Option<String>,
    /// API kinds only: what to ask. `hn_search`: `{"query", "tags"?}`; `x_search`:
    /// `{"query"}`; `mastodon`: `{"tag"}` or `{"query"}`; `bluesky_search`: `{"query",
    /// "lang"?, "identifier"?, "session_base"?}` (an identifier signs in with the app password
    /// in `secret`); `reddit_search`: `{"query", "subreddit"?, "auth_base"?}`; `json_api`:
    /// `{"items": "<JSON Pointer>", "fields": {"id", "title"?, "text"?, "author"?, "url"?,
    /// "published"?, "likes"?, "reposts"?, "comments"?, "points"?: "<JSON Pointer>"},
    /// "paging"?: {"cursor": "<JSON Pointer>", "param": "<query parameter>"}}` (see the README).
    pub settings: Option<Value>,
}

/// A change to a source: absent fields stay as they are; the kind never changes.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "SourcePatch")]
pub struct SourcePatchSchema {
    /// A new URL (not for `push`); the conditional-GET state is forgotten and a poll is due.
    pub url: Option<String>,
    /// A new interval (seconds or a duration string).
    pub poll_every: Option<Value>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Replace the labels.
    pub tags: Option<Vec<String>>,
    /// A new per-host limit.
    pub rate_limit_per_min: Option<i32>,
    /// `push`: a new signing key, or null to accept unsigned batches; `x_search`,
    /// `reddit_search`, `bluesky_search` with a session: new credentials.
    pub secret: Option<String>,
}

/// A source.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "Source")]
pub struct Source {
    /// Its id.
    pub id: Uuid,
    /// How its signals arrive.
    pub kind: SourceKindName,
    /// The feed's URL (none for push sources).
    pub url: Option<String>,
    /// The URL's host: the key of the fleet-wide rate limit and circuit breaker.
    pub host: Option<String>,
    /// Seconds between polls.
    pub poll_every_secs: i32,
    /// Whether it is polled (or accepts pushes).
    pub enabled: bool,
    /// Labels.
    pub tags: Vec<String>,
    /// Requests a minute to its host, across the fleet.
    pub rate_limit_per_min: i32,
    /// Whether pushed batches must be signed.
    pub has_secret: bool,
    /// What an API kind asks (`{}` for feeds and push sources).
    pub settings: Value,
    /// Where an API kind's next poll resumes (the kind's own JSON document, as text).
    pub cursor: Option<String>,
    /// When the next poll is due.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// When it was last fetched.
    pub last_polled_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last fetch.
    pub last_status: Option<i32>,
    /// Why the last fetch failed, if it did.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<sources::Source> for Source {
    fn from(s: sources::Source) -> Self {
        Self {
            id: s.id,
            kind: s.kind.into(),
            url: s.url,
            host: s.host,
            poll_every_secs: s.poll_every_secs,
            enabled: s.enabled,
            tags: s.tags,
            rate_limit_per_min: s.rate_limit_per_min,
            has_secret: s.has_secret,
            settings: s.settings,
            cursor: s.cursor,
            next_poll_at: s.next_poll_at,
            last_polled_at: s.last_polled_at,
            last_status: s.last_status,
            last_error: s.last_error,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A page of sources, newest first.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "SourcePage")]
pub struct SourcePage {
    /// The sources.
    pub items: Vec<Source>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<Uuid>,
}

/// One pushed item: a title or content is required.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "PushItem")]
pub struct PushItemSchema {
    /// The sender's id of the item.
    pub external_id: Option<String>,
    /// An absolute http(s) link.
    pub url: Option<String>,
    /// The title (HTML is reduced to text).
    pub title: Option<String>,
    /// The content, HTML or text (sanitised on ingest).
    pub content: Option<String>,
    /// Who wrote it.
    pub author: Option<String>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
}

/// A batch of pushed items.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "PushBatch")]
pub struct PushBatchSchema {
    /// 1 to 500 items.
    #[oai(validator(min_items = 1, max_items = 500))]
    pub items: Vec<PushItemSchema>,
}

/// A JSON body kept as its raw bytes (a signature covers the bytes as sent), documented as `S`.
pub struct RawJson<S> {
    /// The bytes.
    pub bytes: Vec<u8>,
    schema: std::marker::PhantomData<fn() -> S>,
}

impl<S: Type> Payload for RawJson<S> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        content_type.starts_with("application/json")
    }

    fn schema_ref() -> MetaSchemaRef {
        S::schema_ref()
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }
}

impl<S: Type> ParsePayload for RawJson<S> {
    const IS_REQUIRED: bool = true;

    async fn from_request(
        request: &poem::Request,
        body: &mut poem::RequestBody,
    ) -> poem::Result<Self> {
        let bytes = <Vec<u8> as poem::FromRequest>::from_request(request, body).await?;
        Ok(Self {
            bytes,
            schema: std::marker::PhantomData,
        })
    }
}

poem_openapi::impl_apirequest_for_payload!(RawJson<S>, S: Type);

/// Likes, reposts, comments and points, where the source gives them.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "Engagement")]
pub struct Engagement {
    /// Likes, favourites.
    pub likes: Option<i32>,
    /// Reposts, boosts, quotes.
    pub reposts: Option<i32>,
    /// Comments, replies.
    pub comments: Option<i32>,
    /// A score or votes (may be negative).
    pub points: Option<i32>,
}

impl From<sources::feed::Engagement> for Engagement {
    fn from(e: sources::feed::Engagement) -> Self {
        Self {
            likes: e.likes,
            reposts: e.reposts,
            comments: e.comments,
            points: e.points,
        }
    }
}

/// An item of a preview, as a poll would store it.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "PreviewItem")]
pub struct PreviewItem {
    /// The API's id of the item.
    pub external_id: Option<String>,
    /// The normalised link.
    pub url: Option<String>,
    /// Plain-text title.
    pub title: String,
    /// Plain text of the body.
    pub text: String,
    /// Who wrote it.
    pub author: Option<String>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Engagement, where given.
    pub engagement: Engagement,
}

/// What a sample fetch found (nothing was stored).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "SourcePreview")]
pub struct SourcePreview {
    /// The URL asked (the source's first poll).
    pub url: String,
    /// The API's HTTP status.
    pub status: u16,
    /// Items in the answer.
    pub total_items: u64,
    /// The first 20 of them, mapped.
    pub items: Vec<PreviewItem>,
    /// The cursor a poll would store after this answer.
    pub cursor: Option<String>,
}

impl From<sources::apis::PreviewPage> for SourcePreview {
    fn from(p: sources::apis::PreviewPage) -> Self {
        Self {
            url: p.url,
            status: p.status,
            total_items: p.total_items as u64,
            items: p
                .items
                .into_iter()
                .map(|i| PreviewItem {
                    external_id: i.external_id,
                    url: i.url,
                    title: i.title,
                    text: i.text,
                    author: i.author,
                    published_at: i.published_at,
                    engagement: i.engagement.into(),
                })
                .collect(),
            cursor: p.cursor,
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "IngestReport")]
pub struct IngestReport {
    /// Items read.
    pub items: u64,
    /// New signals.
    pub inserted: u64,
    /// Items already held (same content).
    pub duplicates: u64,
    /// Near duplicates, stored `discarded` and linked to their original.
    pub near_duplicates: u64,
    /// Items refused by a quality gate, by reason.
    pub rejected: BTreeMap<String, u64>,
}

impl From<ingest::Report> for IngestReport {
    fn from(r: ingest::Report) -> Self {
        Self {
            items: r.items as u64,
            inserted: r.inserted as u64,
            duplicates: r.duplicates as u64,
            near_duplicates: r.near_duplicates as u64,
            rejected: r.rejected.into_iter().map(|(k, v)| (k, v as u64)).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Signals

/// Where a signal is in its life: `new → classified → scored → alerted` (or `classified →
/// alerted` when its verdict alone was alerted), or `discarded` / `expired` from any of the
/// first three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "SignalState", rename_all = "snake_case")]
pub enum SignalStateName {
    /// Just ingested.
    New,
    /// Labelled by a classifier.
    Classified,
    /// Scored.
    Scored,
    /// Someone was told.
    Alerted,
    /// Not worth acting on.
    Discarded,
    /// Too old to act on.
    Expired,
}

/// A signal.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "Signal")]
pub struct Signal {
    /// Its id (UUIDv7: sorts by ingest time).
    pub id: Uuid,
    /// The source it came from.
    pub source_id: Uuid,
    /// The feed's id of the entry.
    pub external_id: Option<String>,
    /// The normalised link.
    pub url: Option<String>,
    /// Plain-text title.
    pub title: String,
    /// Sanitised HTML (no scripts, styles or event handlers).
    pub body_html: String,
    /// Plain text of the body.
    pub body_text: String,
    /// Who wrote it.
    pub author: Option<String>,
    /// ISO 639-3 language code, when detected reliably.
    pub language: Option<String>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Hex SHA-256 of the normalised content (unique per tenant).
    pub content_hash: String,
    /// For a near duplicate: the original it repeats.
    pub duplicate_of: Option<Uuid>,
    /// Where it is in its life.
    pub state: String,
    /// Why it was discarded: a gate (`too_short`, `link_density`, `repeated_chars`,
    /// `blocklist`, `language`), `near_duplicate`, or what the caller said.
    pub discard_reason: Option<String>,
    /// When it was ingested.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<signals::Signal> for Signal {
    fn from(s: signals::Signal) -> Self {
        Self {
            id: s.id,
            source_id: s.source_id,
            external_id: s.external_id,
            url: s.url,
            title: s.title,
            body_html: s.body_html,
            body_text: s.body_text,
            author: s.author,
            language: s.language,
            published_at: s.published_at,
            content_hash: s.content_hash,
            duplicate_of: s.duplicate_of,
            state: s.state.as_str().to_owned(),
            discard_reason: s.discard_reason,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A page of signals, newest first.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "SignalPage")]
pub struct SignalPage {
    /// The signals.
    pub items: Vec<Signal>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<Uuid>,
}

/// A move of a signal to another state.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "SignalTransition")]
pub struct TransitionSchema {
    /// The state to move to.
    pub state: SignalStateName,
    /// Why (kept as the discard reason when discarding), at most 200 characters.
    pub reason: Option<String>,
}

/// An author whose signals are to be erased.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "EraseAuthor")]
pub struct EraseSchema {
    /// The author, exactly as shown on the signals.
    pub author: String,
}

/// What an erase removed.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "Erased")]
pub struct Erased {
    /// Signals deleted for good.
    pub erased: u64,
}

/// A tenant's quality gates, near-duplicate settings and signal retention.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "SignalQualitySettings")]
pub struct QualitySettings {
    /// Fewest characters of title and text together (0 to 10000; default 20).
    pub min_length: i32,
    /// Most links per word (0 to 1; default 0.3).
    pub max_link_density: f32,
    /// Most repeats of one character in a row (2 to 1000; default 12).
    pub max_repeated_chars: i32,
    /// Phrases that refuse a signal, case-insensitive (up to 1000).
    pub blocklist: Vec<String>,
    /// ISO 639-3 codes accepted (`eng`, `deu`); empty accepts every language. Signals whose
    /// language cannot be told pass.
    pub languages: Vec<String>,
    /// Most differing simhash bits for a near duplicate (0 to 3; default 3).
    pub simhash_threshold: i32,
    /// How far back near duplicates are looked for, in seconds (default 7 days).
    pub near_duplicate_window_secs: i32,
    /// Signals older than this many seconds are purged (null: kept).
    pub retention_secs: Option<i32>,
    /// Signals still `new`, `classified` or `scored` this many seconds after ingest become
    /// `expired` (null: never).
    pub expire_after_secs: Option<i32>,
}

impl From<signals::QualitySettings> for QualitySettings {
    fn from(s: signals::QualitySettings) -> Self {
        Self {
            min_length: s.min_length,
            max_link_density: s.max_link_density,
            max_repeated_chars: s.max_repeated_chars,
            blocklist: s.blocklist,
            languages: s.languages,
            simhash_threshold: s.simhash_threshold,
            near_duplicate_window_secs: s.near_duplicate_window_secs,
            retention_secs: s.retention_secs,
            expire_after_secs: s.expire_after_secs,
        }
    }
}

/// A change to the quality settings; absent fields stay as they are.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "SignalQualityPatch")]
pub struct QualityPatchSchema {
    /// Fewest characters.
    pub min_length: Option<i32>,
    /// Most links per word.
    pub max_link_density: Option<f32>,
    /// Most repeats of one character.
    pub max_repeated_chars: Option<i32>,
    /// Blocked phrases.
    pub blocklist: Option<Vec<String>>,
    /// Accepted languages.
    pub languages: Option<Vec<String>>,
    /// Near-duplicate threshold.
    pub simhash_threshold: Option<i32>,
    /// Near-duplicate window.
    pub near_duplicate_window_secs: Option<i32>,
    /// Retention in seconds (3600 to 315360000), or null to keep signals.
    pub retention_secs: Option<i32>,
    /// Expiry of open signals in seconds (3600 to 315360000), or null for never.
    pub expire_after_secs: Option<i32>,
}

/// Signals refused by one gate of one source.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "RejectionCount")]
pub struct RejectionCount {
    /// The source.
    pub source_id: Uuid,
    /// The gate.
    pub reason: String,
    /// How many.
    pub count: i64,
    /// The latest.
    pub last_at: DateTime<Utc>,
}

impl From<signals::RejectionCount> for RejectionCount {
    fn from(r: signals::RejectionCount) -> Self {
        Self {
            source_id: r.source_id,
            reason: r.reason,
            count: r.count,
            last_at: r.last_at,
        }
    }
}

/// The quality settings and what they refused.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "SignalQuality")]
pub struct SignalQuality {
    /// The settings.
    pub settings: QualitySettings,
    /// Rejections per source and reason.
    pub rejections: Vec<RejectionCount>,
}

// ---------------------------------------------------------------------------------------------
// Hosts

/// A host's limiter and circuit breaker, shared by the fleet.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "Host")]
pub struct Host {
    /// The host (with a non-default port).
    pub host: String,
    /// `closed`, `open` (requests wait) or `half_open` (one probe decides).
    pub circuit: String,
    /// Failures since the last success.
    pub consecutive_failures: i32,
    /// When the circuit last opened.
    pub opened_at: Option<DateTime<Utc>>,
    /// When the next request may go.
    pub next_slot_at: DateTime<Utc>,
    /// The host's `Retry-After`, honoured by every worker until then.
    pub blocked_until: Option<DateTime<Utc>>,
    /// The strictest per-minute limit of this tenant's sources on the host.
    pub rate_limit_per_min: i32,
    /// Requests made to it by the whole fleet.
    pub requests_total: i64,
    /// The last success.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// What the last failure was.
    pub last_error: Option<String>,
}

impl From<hosts::HostState> for Host {
    fn from(h: hosts::HostState) -> Self {
        Self {
            host: h.host,
            circuit: h.circuit.as_str().to_owned(),
            consecutive_failures: h.consecutive_failures,
            opened_at: h.opened_at,
            next_slot_at: h.next_slot_at,
            blocked_until: h.blocked_until,
            rate_limit_per_min: h.rate_limit_per_min,
            requests_total: h.requests_total,
            last_success_at: h.last_success_at,
            last_failure_at: h.last_failure_at,
            last_error: h.last_error,
        }
    }
}

/// Hosts.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "HostList")]
pub struct HostList {
    /// The hosts of the tenant's sources that have been called.
    pub items: Vec<Host>,
}

// ---------------------------------------------------------------------------------------------
// The fetch_source job, in the `NewJob` union

/// A `fetch_source` job: poll one source now (the scheduler enqueues these by itself).
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "FetchSourceJob")]
pub struct FetchSourceJob {
    /// The source.
    pub args: FetchSourceArgs,
    /// Options every kind takes.
    #[oai(flatten)]
    pub options: JobOptions,
}

/// Args of a `fetch_source` job.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "FetchSourceArgs")]
pub struct FetchSourceArgs {
    /// A source of the caller's tenant.
    pub source_id: Uuid,
}
