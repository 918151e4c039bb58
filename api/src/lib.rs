//! # api — demandflow's HTTP contract
//!
//! This crate owns the HTTP surface of demandflow: the `/api/v1` REST operations and their
//! OpenAPI document (committed as `openapi/openapi.json`), API-key authentication and role
//! checks, problem+json errors, request ids, the health probes and `/metrics`.
//!
//! It validates, authorises, writes and enqueues — through the `jobs` crate, which owns every
//! query and every domain rule — and it **never runs a job**: the `worker` binary does. It
//! holds no SQL of its own, and it maps `jobs::DomainError`s to HTTP, never the reverse.
//!
//! The `api` binary (`main.rs`) is the command line over this library: `serve`, `migrate`,
//! `create-key`, `generate-secret-key` and `reseal-secrets`.

pub mod app;
pub mod auth;
pub mod dashboard;
pub mod health;
pub mod hook_limits;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod models;
pub mod openapi;
pub mod problem;
pub mod proxies;
pub mod routes;
pub mod settings;
pub mod streams;

/// Where the REST operations are served, and the spec's server URL.
pub const API_PREFIX: &str = "/api/v1";
