//! # jobs — demandflow's domain and job kinds
//!
//! This crate owns everything that is true whatever the transport:
//!
//! - [`queue`]: demandflow's own Postgres queue, plugged into apalis as a [`Backend`]: enqueue
//!   (inside the caller's transaction), claim in batches, durable retries with jittered backoff,
//!   leases renewed by heartbeats, rescue of expired leases, fencing of stale completions,
//!   cancellation, graceful release on shutdown and retention.
//! - [`kinds`]: one file per job kind — its args, its queue name (which never changes), its retry
//!   policy, its timeout and its handler.
//! - [`sources`]: sources and signals — feeds, ingest (sanitise, deduplicate, gate), per-host
//!   rate limits and circuit breakers, scheduling, push.
//! - [`leads`]: leads found in signals by `score_lead` — contacts, scores with their
//!   breakdown, deduplication by contact, the status machine, export and GDPR per contact;
//!   [`scrub`]: an erased person taken out of the engine's own copies (jobs, runs, events).
//! - [`classify`]: keyword rulesets (versioned, compiled, cached), verdicts and the cost
//!   estimate; [`llm`]: the OpenAI-compatible client and its price table; [`memo`]: paid answers,
//!   remembered durably so none is paid for twice.
//! - [`workflows`]: versioned DAGs of job steps and their runs, advanced by the completer in the
//!   transaction that records each step's outcome.
//! - [`budgets`]: money limits per tenant and provider; reservations, settlement and the cost
//!   ledger; parking jobs when a budget is exhausted.
//! - [`deliveries`]: the outbound half — the event outbox, destinations (webhook, Slack,
//!   Discord, Telegram, email) and their protocols, alert rules (at once, digests, throttles,
//!   quiet hours), customers' event subscriptions (Standard Webhooks), the delivery log.
//! - [`partners`]: partner export — buyers' endpoints (direct or ping/post), routing with caps
//!   and exclusivity, the export state machine, signed postbacks, the revenue ledger.
//! - [`economics`]: what each source, ruleset, category and workflow earns and costs, from the
//!   attributed ledgers' daily rollup.
//! - [`signing`]: HMAC-SHA256 signatures with timestamps, for push sources and webhooks;
//!   [`secrets`]: the operator key that seals stored credentials, and [`reseal`], which
//!   re-seals them after a rotation.
//! - [`auth`]: API keys and roles; [`tenants`]: tenants' settings; [`audit`]: the audit log.
//! - [`config`], [`db`], [`telemetry`]: the settings, pool, migrations and logging that both
//!   binaries share.
//! - [`export`]: streamed exports (signals, leads) and the one CSV writer, which guards every
//!   text cell against formula injection.
//!
//! It never speaks HTTP to its callers: no poem, no status codes. Errors are [`DomainError`]s;
//! the `api` crate maps them to problem+json. It never starts a worker by itself: the `worker`
//! binary wires the kinds to apalis.
//!
//! [`Backend`]: apalis_core::backend::Backend

pub mod audit;
pub mod auth;
pub mod budgets;
pub mod classify;
pub mod config;
pub mod db;
pub mod deliveries;
pub mod economics;
mod error;
pub mod export;
pub mod kinds;
pub mod leads;
pub mod llm;
pub mod memo;
pub mod names;
pub mod net;
pub mod paging;
pub mod partners;
pub mod publishing;
pub mod queue;
pub mod reseal;
pub mod scrub;
pub mod secrets;
pub mod signing;
pub mod sources;
pub mod telemetry;
pub mod tenants;
pub mod text;
pub mod workflows;

pub use error::{DomainError, FieldError};
