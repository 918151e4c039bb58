//! The `/api/v1` operations, grouped as OpenAPI services, one module per resource.
//!
//! This module also holds what the operation modules share: the spec's tags, the 422 that names
//! every problem of a document ([`invalid`]), the audit entry of a change ([`audited`]), and
//! waking the workers of the kinds a change enqueued ([`wake`]).

use ::jobs::{FieldError, auth::Principal};
use poem_openapi::Tags;
use uuid::Uuid;

use crate::{
    app::AppState,
    auth::Origin,
    problem::{ApiError, Problem, ProblemField},
};

pub mod alert_rules;
pub mod audit;
pub mod budgets;
mod common;
pub mod deliveries;
pub mod destinations;
pub mod economics;
pub mod estimate;
pub mod hosts;
pub mod jobs;
pub mod keys;
pub mod leads;
pub mod leads_models;
pub mod partners;
pub mod publishing;
pub mod rulesets;
pub mod run_events;
pub mod runs;
pub mod schedules;
pub mod signals;
pub mod sources;
pub mod sources_models;
pub mod stream;
pub mod subscriptions;
pub mod system;
pub mod tenant;
pub mod webhooks;
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
    /// Deliveries: destinations (webhook, Slack, Discord, Telegram, email), alert rules,
    /// customers' event subscriptions, and the delivery log.
    Deliveries,
    /// Publishing: Mastodon-compatible accounts, and posts scheduled, approved and published
    /// once.
    Publishing,
    /// Partner export: buyers' endpoints, lead exports with their confirmation (postbacks),
    /// and the revenue ledger.
    Partners,
    /// Economics: what each source, category, ruleset and workflow earns and costs.
    Economics,
}

/// Longest correlation id stored; a longer `X-Request-Id` is cut.
pub(crate) const MAX_CORRELATION_ID: usize = 200;

/// A 422 naming every problem.
pub(crate) fn invalid(errors: Vec<FieldError>) -> Problem {
    let detail = match errors.as_slice() {
        [one] => format!("`{}` is invalid: {}", one.path, one.message),
        many => format!("the request has {} invalid fields", many.len()),
    };
    Problem {
        type_: "urn:demandflow:problem:validation".into(),
        title: "Unprocessable Entity".into(),
        status: 422,
        detail,
        errors: Some(
            errors
                .into_iter()
                .map(|e| ProblemField {
                    path: e.path,
                    message: e.message,
                })
                .collect(),
        ),
    }
}

/// Wakes the idle workers of `kinds` (job kind names; unknown ones are skipped). Call it after
/// the commit that enqueued their jobs.
pub(crate) fn wake(state: &AppState, kinds: &[String]) {
    for k in kinds.iter().filter_map(|k| ::jobs::kinds::find(k)) {
        state.notifier.wake_kind(k.name);
    }
}

/// Records the audit entry of a change to `(target_type, id)`, in the change's transaction:
/// `before` (none for a creation) and `after` as JSON.
pub(crate) async fn audited<T: serde::Serialize>(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    origin: &Origin,
    action: &str,
    (target_type, id): (&str, Uuid),
    before: Option<&T>,
    after: &T,
) -> Result<(), ApiError> {
    ::jobs::audit::record(
        tx,
        principal.tenant_id,
        &origin.actor(principal),
        ::jobs::audit::Change {
            action,
            target_type,
            target_id: id.to_string(),
            before: before.map(|b| serde_json::to_value(b).unwrap_or_default()),
            after: Some(serde_json::to_value(after).unwrap_or_default()),
        },
    )
    .await?;
    Ok(())
}
