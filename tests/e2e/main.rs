//! End-to-end tests: the real `api` and `worker` binaries against a fresh database per test,
//! outbound HTTP to a local wiremock server. One module per feature; test names read as
//! sentences.

mod access;
mod bad_input;
mod budgets;
mod chaos;
mod classify;
mod dashboard;
mod deliveries;
mod economics;
mod endpoints;
mod fairness;
mod flow_control;
mod grafana;
mod hostile_api;
mod hostile_input;
mod hostile_templates;
mod leads;
mod lifecycle;
mod partners;
mod procfile;
mod publishing;
mod reddit;
mod run_jobs;
mod sdks;
mod source_kinds;
mod sources;
mod triggers;
mod workflows;
