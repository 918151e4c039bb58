//! Publishing: posts to Mastodon-compatible servers, once, at their time.
//!
//! The path of one post:
//!
//! 1. An [`accounts`] row holds a server's base URL and an OAuth access token (sealed with the
//!    operator key), the account's pace (Mastodon's 300 requests per 5 minutes by default) and
//!    whether its posts need an approval.
//! 2. [`posts::create`] checks the text (500 characters with the content warning), the
//!    visibility, the language and up to four images given inline (base64, PNG/JPEG/GIF/WebP,
//!    1 MiB each, checked by their first bytes), stores them in Postgres and — unless the
//!    account needs an approval, when the post stays a `draft` until
//!    [`posts::approve`] — enqueues one `publish_post` job to run at `publish_at`.
//! 3. The job ([`crate::kinds::publish_post`]) paces itself per account across the fleet (the
//!    host machinery of [`crate::sources::hosts`], keyed `account:<id>`), uploads each image
//!    once (the server's media id is kept, so a retry never uploads again, and an image still
//!    being processed is polled), then posts the status with `Idempotency-Key: <post id>` and
//!    keeps the server's status id and URL.
//!
//! **Once.** A post with a status id is never posted again. Before the first status request the
//! job writes `posting_since`; a worker killed mid-call leaves the post scheduled with it set,
//! and its rescued job posts again with the same `Idempotency-Key`, which the server answers
//! with the first status for an hour. Past that hour the job does not post blindly: it marks
//! the post `failed` with "may have been published", for a person to check on the server and
//! create it again if it is not there. A `429`, a `401`/`403` or a `422` is an answer that
//! posted nothing, so it clears `posting_since`.
//!
//! This module never speaks HTTP to its own callers (that is the api's).

pub mod accounts;
pub mod mastodon;
pub mod posts;
pub mod record;
pub mod step;

#[cfg(test)]
mod tests;

crate::named_enum! {
    /// Where a post is in its life.
    pub enum PostState {
        /// Waiting for an approval.
        Draft = "draft",
        /// Approved (or needing none); its job runs at `publish_at`.
        Scheduled = "scheduled",
        /// On the server: `remote_id` and `remote_url` say where.
        Published = "published",
        /// It will not be published (`error` says why).
        Failed = "failed",
    }
}

crate::named_enum! {
    /// Who sees a post (Mastodon's visibilities).
    pub enum Visibility {
        /// Everyone, in public timelines.
        Public = "public",
        /// Everyone, but not in public timelines.
        Unlisted = "unlisted",
        /// Followers only.
        Private = "private",
        /// The mentioned accounts only.
        Direct = "direct",
    }
}
