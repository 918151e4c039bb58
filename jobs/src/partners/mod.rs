//! Partner export: leads handed to buyers' HTTPS endpoints, with delivery confirmation and the
//! money they bring.
//!
//! - [`spec`]: a partner's settings as a user writes them — direct post or ping/post, the body
//!   templates (JSON or form, rendered with the delivery sandbox under its budget), the auth
//!   (header token, basic, HMAC signature), pacing, a daily cap, routing (score range,
//!   categories, regions, waterfall priority, exclusive or shared) — split into what may be
//!   shown and the sealed secrets (the auth's and the postback secret).
//! - [`mapping`]: the declarative reading of a partner's answer into accepted, rejected,
//!   duplicate or error, with its lead id, price and bid id.
//! - [`store`]: partners as rows, tenant-scoped and audited.
//! - [`request`]: one ping or post, sent through the guarded client of the deliveries.
//! - [`exports`]: the (lead, partner) rows and their forward-only state machine; caps counted
//!   under a lock; exclusivity enforced by a partial unique index.
//! - [`postback`]: the partner's signed later word (accepted, converted, returned).
//! - [`revenue`]: the ledger of sales and returns, and its totals per partner and day.
//!
//! The `export_lead` job ([`crate::kinds::export_lead`]) drives one lead through the waterfall.
//! This module never speaks HTTP to its own callers, and never logs a secret or a contact.

pub mod exports;
pub mod mapping;
pub mod postback;
pub mod request;
pub mod revenue;
pub mod spec;
pub mod store;

#[cfg(test)]
mod tests;
