//! The `/api/v1` operations, grouped as OpenAPI services.

use poem_openapi::Tags;

pub mod audit;
pub mod budgets;
pub mod estimate;
pub mod hosts;
pub mod jobs;
pub mod keys;
pub mod leads;
pub mod leads_models;
pub mod rulesets;
pub mod run_events;
pub mod signals;
pub mod sources;
pub mod sources_models;
pub mod stream;
pub mod system;
pub mod tenant;
pub mod triggers;
pub mod workflows;

/// The spec's tags.
#[derive(Tags)]
pub enum ApiTags {
    /// Enqueue, read and manage jobs.
    Jobs,
    /// Queues and workers: how the fleet is doing.
    System,
    /// Keys, the tenant's settings and the audit log.
    Access,
    /// Sources (feeds and push endpoints) and the hosts they call.
    Sources,
    /// Signals: read, search, export, move through their states, erase by author.
    Signals,
    /// Workflows (versioned DAGs of job steps) and their runs.
    Workflows,
    /// Budgets for paid providers, and the cost ledger.
    Budgets,
    /// Leads: scored, deduplicated by contact, moved through their statuses, exported; GDPR
    /// per contact.
    Leads,
    /// Classification: keyword rulesets, verdicts, and what a batch is expected to cost.
    Classification,
}
