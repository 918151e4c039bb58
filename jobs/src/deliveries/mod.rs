//! Deliveries: what the pipeline finds reaches people and systems, once, and provably.
//!
//! The path of one alert:
//!
//! 1. A change writes an [`events`] row in its own transaction (the outbox): a signal
//!    classified, a lead created or scored, a budget's threshold crossed; triggers write
//!    `job.dead` and `run.succeeded`/`run.failed`. No event is lost or invented by a crash.
//! 2. [`dispatch`] claims undispatched events (`FOR UPDATE SKIP LOCKED`, so any number of
//!    workers share the work), matches them against the tenant's [`rules`] and
//!    [`subscriptions`], and writes one [`deliveries`](log) row per (rule, destination,
//!    subject) or (subscription, event) — unique by its delivery key, so a match delivers at
//!    most once, ever — plus one `deliver` job each, in the same transaction. Digest rules
//!    gather matches instead, and [`dispatch::flush_digests`] turns a window's matches into one
//!    delivery.
//! 3. The `deliver` job ([`crate::kinds::deliver`]) paces itself per destination across the
//!    fleet (the host machinery of [`crate::sources::hosts`], keyed `destination:<id>` or
//!    `subscription:<id>`), sends through the destination's [`channels`] protocol, and records
//!    every attempt with what the other side said.
//!
//! [`destinations`] hold where alerts go; their credentials are sealed with the operator key
//! and never leave this crate except to the channel that sends. This module never speaks HTTP
//! to its own callers (that is the api's) and never renders HTML for people (the dashboard's).

pub mod channels;
pub mod destinations;
pub mod dispatch;
pub mod events;
pub mod log;
pub mod render;
pub mod rules;
pub mod subscriptions;

crate::named_enum! {
    /// Where a delivery is in its life.
    pub enum DeliveryState {
        /// Waiting for its first (or next) attempt.
        Pending = "pending",
        /// The service accepted it.
        Sent = "sent",
        /// The receiver confirmed it later (a partner's acceptance).
        Confirmed = "confirmed",
        /// The last attempt failed; another is scheduled.
        Failed = "failed",
        /// No attempt will follow (rejected, gone, out of attempts, or its destination removed).
        Dead = "dead",
        /// Not sent by rule (a throttle held it back).
        Suppressed = "suppressed",
    }
}
