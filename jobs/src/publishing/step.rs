//! A workflow's publish step: a `publish_post` job given an account, a text template and the
//! step's data (e.g. a weekly digest of the top signals) makes one post — rendered by the
//! deliveries' template engine under its budget — once per job, however often the job runs.
//! The post then lives as any other: a draft when its account requires an approval, otherwise
//! scheduled, and published by its own `publish_post` job.

use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

use super::{
    Visibility,
    posts::{self, MAX_CHARS, NewPost, Post},
};
use crate::{
    DomainError, FieldError,
    audit::Actor,
    deliveries::render::{self, Message, cut},
    queue::JobContext,
};

/// What a step asks for.
#[derive(Debug, Clone, Copy)]
pub struct StepPost<'a> {
    /// The account (of the job's tenant).
    pub account_id: Uuid,
    /// The status's template (`{{ data.… }}`, `{% for %}` over lists).
    pub template: &'a str,
    /// The step's data.
    pub data: &'a Value,
    /// Who sees it (public by default).
    pub visibility: Option<Visibility>,
}

/// Renders the step's status: the template over the data, cut to [`MAX_CHARS`].
pub fn render_status(job_id: Uuid, step: StepPost<'_>) -> Result<String, FieldError> {
    let message = Message {
        id: job_id.to_string(),
        event_type: "post".into(),
        occurred_at: Utc::now(),
        data: step.data.clone(),
    };
    let text = render::render_text(&message, step.template)
        .map_err(|e| FieldError::new("template", e.to_string()))?;
    let text = cut(text.trim(), MAX_CHARS);
    posts::check_text(&text, None).map_err(|e| FieldError::new("template", e.message))?;
    Ok(text)
}

/// The step's post: made on the first run (and its job enqueued on `tx` when the account needs
/// no approval), found again on any later one.
pub async fn post(
    tx: &mut sqlx::PgConnection,
    job: &JobContext,
    step: StepPost<'_>,
) -> Result<Post, DomainError> {
    let text = render_status(job.id, step)?;
    let new = NewPost {
        account_id: step.account_id,
        text,
        visibility: step.visibility.unwrap_or(Visibility::Public),
        spoiler_text: None,
        language: None,
        publish_at: None,
        media: Vec::new(),
    };
    let actor = Actor {
        request_id: job.correlation_id.clone(),
        ..Actor::default()
    };
    let key = format!("job:{}", job.id);
    posts::create(tx, job.tenant_id, &actor, new, Some(&key)).await
}
