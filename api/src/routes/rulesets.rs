//! `/rulesets`: a tenant's keyword rules for `classify_signal` — create, list, read, add a
//! version, read a version — and `GET /signals/{id}/classifications`, the verdicts on a signal.
//!
//! Bodies are read as raw JSON and parsed by the domain (`jobs::classify::rulesets`), which names
//! the path of every problem in one 422 (`rules.terms[3].weight`). Versions are immutable: a new
//! one never changes a verdict already stored. Every change is audited in its own transaction.
//! Viewers read; admins define rules.

use chrono::{DateTime, Utc};
use jobs::{
    auth::Role,
    classify::{self, rulesets},
};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use serde_json::Value;
use uuid::Uuid;

use super::{ApiTags, invalid};
use crate::{
    API_PREFIX, api_responses,
    app::AppState,
    auth::{Auth, Origin},
    models::{JobOptions, JsonAs},
    problem::{ApiError, respond},
};

// ---------------------------------------------------------------------------------------------
// Schemas

/// A weighted term or phrase.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "RuleTerm")]
pub struct TermSchema {
    /// A word or phrase, matched on whole words, ignoring case and punctuation (1 to 200
    /// characters with at least one letter or digit).
    pub term: String,
    /// Points it adds (negative terms: subtracts), 1 to 100.
    pub weight: i32,
    /// Positive terms only: the category it is evidence for (one of `categories`).
    pub category: Option<String>,
}

/// Where the keyword score decides alone.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "RuleThresholds")]
pub struct ThresholdsSchema {
    /// A score at or above this is relevant (0 to 100).
    pub relevant: i32,
    /// A score at or below this is not (0 to 100, below `relevant`); in between goes to the LLM.
    pub irrelevant: i32,
}

/// The rules of a ruleset version. The score is the sum of the weights of the terms found
/// (each counted once) minus the negative terms', clamped to 0..100.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "Rules")]
pub struct RulesSchema {
    /// 1 to 50 category names.
    pub categories: Vec<String>,
    /// 1 to 5000 terms that add to the score.
    pub terms: Vec<TermSchema>,
    /// Up to 5000 terms that subtract from it.
    pub negative: Option<Vec<TermSchema>>,
    /// Where keywords decide alone.
    pub thresholds: ThresholdsSchema,
    /// Extra instructions for the LLM (up to 2000 characters).
    pub instructions: Option<String>,
}

/// A ruleset to create.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "NewRuleset")]
pub struct NewRulesetSchema {
    /// 1 to 100 printable characters, unique in the tenant.
    pub name: String,
    /// Version 1's rules.
    pub rules: RulesSchema,
}

/// A new version of a ruleset.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "NewRulesetVersion")]
pub struct NewRulesetVersionSchema {
    /// The rules; verdicts of older versions stay as they are.
    pub rules: RulesSchema,
}

/// A ruleset at its newest version.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "Ruleset")]
pub struct RulesetView {
    /// Its id (what `classify_signal` takes as `ruleset_id`).
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The newest version's number.
    pub version: i32,
    /// The newest version's rules.
    pub rules: Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its newest version was added.
    pub updated_at: DateTime<Utc>,
}

impl From<rulesets::Ruleset> for RulesetView {
    fn from(r: rulesets::Ruleset) -> Self {
        Self {
            id: r.id,
            name: r.name,
            version: r.version,
            rules: r.rules,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Rulesets.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "RulesetList")]
pub struct RulesetList {
    /// Newest first.
    pub items: Vec<RulesetView>,
}

/// One version of a ruleset.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "RulesetVersion")]
pub struct RulesetVersionView {
    /// The ruleset.
    pub ruleset_id: Uuid,
    /// Its number.
    pub version: i32,
    /// Its rules.
    pub rules: Value,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A verdict of `classify_signal`.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "Classification")]
pub struct ClassificationView {
    /// Its id.
    pub id: Uuid,
    /// The signal.
    pub signal_id: Uuid,
    /// The ruleset.
    pub ruleset_id: Uuid,
    /// The ruleset version it was made under.
    pub ruleset_version: i32,
    /// One of the ruleset's categories.
    pub category: Option<String>,
    /// Worth acting on.
    pub relevant: bool,
    /// 0 to 100: the keyword score, or for an LLM verdict 100 × its probability of relevance.
    pub score: i32,
    /// The keyword score, 0 to 100.
    pub keyword_score: i32,
    /// 0 to 1.
    pub confidence: f64,
    /// `keyword` or `llm`.
    pub method: String,
    /// The keyword verdict was kept because no valid LLM answer could be had.
    pub low_confidence: bool,
    /// Why: the terms that matched, or the LLM's reasons.
    pub reasons: Vec<String>,
    /// The LLM's model, when one was asked.
    pub model: Option<String>,
    /// `not_needed`, `not_configured`, `memo` (free) or `paid`.
    pub llm: String,
    /// Paid LLM calls made.
    pub llm_calls: i32,
    /// What they cost, in micro-dollars.
    pub cost_micros: i64,
    /// The job that classified.
    pub job_id: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<classify::Verdict> for ClassificationView {
    fn from(v: classify::Verdict) -> Self {
        Self {
            id: v.id,
            signal_id: v.signal_id,
            ruleset_id: v.ruleset_id,
            ruleset_version: v.ruleset_version,
            category: v.category,
            relevant: v.relevant,
            score: v.score,
            keyword_score: v.keyword_score,
            confidence: v.confidence,
            method: v.method,
            low_confidence: v.low_confidence,
            reasons: v.reasons,
            model: v.model,
            llm: v.llm,
            llm_calls: v.llm_calls,
            cost_micros: v.cost_micros,
            job_id: v.job_id,
            created_at: v.created_at,
        }
    }
}

/// The verdicts on a signal.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, rename = "ClassificationList")]
pub struct ClassificationList {
    /// Newest first, one per ruleset version.
    pub items: Vec<ClassificationView>,
}

/// A `classify_signal` job: keyword rules first, the LLM only when they are undecided.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ClassifySignalJob")]
pub struct ClassifySignalJob {
    /// What to classify with what.
    pub args: ClassifySignalArgs,
    /// Options every kind takes.
    #[oai(flatten)]
    pub options: JobOptions,
}

/// Args of a `classify_signal` job.
#[derive(Object)]
#[oai(skip_serializing_if_is_none, rename = "ClassifySignalArgs")]
pub struct ClassifySignalArgs {
    /// A signal of the caller's tenant.
    pub signal_id: Uuid,
    /// A ruleset of the caller's tenant.
    pub ruleset_id: Uuid,
    /// Pin a version (1 to 1000000; default: the newest when the job runs).
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub version: Option<i32>,
}

// ---------------------------------------------------------------------------------------------
// Operations

/// The `/rulesets` operations.
pub struct RulesetsApi;

#[OpenApi(tag = "ApiTags::Classification")]
impl RulesetsApi {
    /// Create a ruleset
    ///
    /// Keyword rules for `classify_signal`, at version 1, checked as a whole: every problem is
    /// named in one 422 (`rules.terms[3].weight`). A name already used in the tenant is a 409.
    /// Needs the admin role.
    #[oai(path = "/rulesets", method = "post", operation_id = "createRuleset")]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        origin: Origin,
        /// The ruleset.
        body: Json<JsonAs<NewRulesetSchema>>,
    ) -> CreateRulesetResponse {
        respond(create_ruleset(&state, &auth, &origin, body.0.value).await)
    }

    /// List rulesets
    ///
    /// The tenant's rulesets at their newest versions, newest first (up to 500).
    #[oai(path = "/rulesets", method = "get", operation_id = "listRulesets")]
    async fn list(&self, auth: Auth, state: Data<&AppState>) -> ListRulesetsResponse {
        respond(list_rulesets(&state, &auth).await)
    }

    /// Get a ruleset
    #[oai(path = "/rulesets/:id", method = "get", operation_id = "getRuleset")]
    async fn get(&self, auth: Auth, state: Data<&AppState>, id: Path<Uuid>) -> GetRulesetResponse {
        respond(get_ruleset(&state, &auth, id.0).await)
    }

    /// Add a version to a ruleset
    ///
    /// Jobs that do not pin a version use it from now on; verdicts made under older versions
    /// stay as they are. Needs the admin role.
    #[oai(
        path = "/rulesets/:id/versions",
        method = "post",
        operation_id = "createRulesetVersion"
    )]
    async fn new_version(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        origin: Origin,
        /// The new rules.
        body: Json<JsonAs<NewRulesetVersionSchema>>,
    ) -> NewRulesetVersionResponse {
        respond(new_version(&state, &auth, &origin, id.0, body.0.value).await)
    }

    /// Get a version of a ruleset
    #[oai(
        path = "/rulesets/:id/versions/:version",
        method = "get",
        operation_id = "getRulesetVersion"
    )]
    async fn get_version(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
        /// The version's number.
        version: Path<i32>,
    ) -> GetRulesetVersionResponse {
        respond(get_version(&state, &auth, id.0, version.0).await)
    }

    /// List a signal's classifications
    ///
    /// Every verdict of `classify_signal` on the signal, newest first: one per ruleset version.
    #[oai(
        path = "/signals/:id/classifications",
        method = "get",
        operation_id = "listSignalClassifications"
    )]
    async fn classifications(
        &self,
        auth: Auth,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ListClassificationsResponse {
        respond(list_classifications(&state, &auth, id.0).await)
    }
}

api_responses! {
    /// Outcomes of `createRuleset`.
    pub enum CreateRulesetResponse {
        /// The ruleset, at version 1.
        #[oai(status = 201)]
        Created(
            Json<RulesetView>,
            /// Where the ruleset can be read.
            #[oai(header = "Location")]
            String,
        ),
    }
    problems {
        400 => BadRequest: "The body is not JSON.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        409 => Conflict: "A ruleset of this name exists.",
        413 => PayloadTooLarge,
        422 => Invalid: "Fields are invalid; `errors[].path` names each.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listRulesets`.
    pub enum ListRulesetsResponse {
        /// The rulesets.
        #[oai(status = 200)]
        Ok(Json<RulesetList>),
    }
    problems {
        401 => Unauthorized,
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getRuleset`.
    pub enum GetRulesetResponse {
        /// The ruleset at its newest version.
        #[oai(status = 200)]
        Ok(Json<RulesetView>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such ruleset in this tenant.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `createRulesetVersion`.
    pub enum NewRulesetVersionResponse {
        /// The ruleset at its new version.
        #[oai(status = 201)]
        Created(Json<RulesetView>),
    }
    problems {
        400 => BadRequest: "The body is not JSON, or the id is not a UUID.",
        401 => Unauthorized,
        403 => Forbidden: "The key is not an admin's.",
        404 => NotFound: "No such ruleset in this tenant.",
        413 => PayloadTooLarge,
        422 => Invalid: "Fields are invalid; `errors[].path` names each.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `getRulesetVersion`.
    pub enum GetRulesetVersionResponse {
        /// The version.
        #[oai(status = 200)]
        Ok(Json<RulesetVersionView>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID or the version not a number.",
        401 => Unauthorized,
        404 => NotFound: "No such ruleset in this tenant, or no such version.",
        429 => TooManyRequests,
    }
}

api_responses! {
    /// Outcomes of `listSignalClassifications`.
    pub enum ListClassificationsResponse {
        /// The verdicts.
        #[oai(status = 200)]
        Ok(Json<ClassificationList>),
    }
    problems {
        400 => BadRequest: "The id is not a UUID.",
        401 => Unauthorized,
        404 => NotFound: "No such signal in this tenant.",
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id, ruleset_id))]
async fn create_ruleset(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    body: Value,
) -> Result<CreateRulesetResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let span = tracing::Span::current();
    let (name, rules) = match rulesets::parse_body(&body, true) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(CreateRulesetResponse::Invalid(Json(invalid(errors)))),
    };
    let mut tx = state.pool.begin().await?;
    let ruleset = rulesets::create(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        &name.unwrap_or_default(),
        &rules,
    )
    .await?;
    tx.commit().await?;
    span.record("ruleset_id", tracing::field::display(ruleset.id));
    let location = format!("{API_PREFIX}/rulesets/{}", ruleset.id);
    Ok(CreateRulesetResponse::Created(
        Json(ruleset.into()),
        location,
    ))
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_rulesets(state: &AppState, auth: &Auth) -> Result<ListRulesetsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let items = rulesets::list(&state.pool, principal.tenant_id).await?;
    Ok(ListRulesetsResponse::Ok(Json(RulesetList {
        items: items.into_iter().map(Into::into).collect(),
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, ruleset_id = %id))]
async fn get_ruleset(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<GetRulesetResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let ruleset = rulesets::get(&state.pool, principal.tenant_id, id).await?;
    Ok(GetRulesetResponse::Ok(Json(ruleset.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, ruleset_id = %id))]
async fn new_version(
    state: &AppState,
    auth: &Auth,
    origin: &Origin,
    id: Uuid,
    body: Value,
) -> Result<NewRulesetVersionResponse, ApiError> {
    let principal = auth.require(Role::Admin)?;
    let (_, rules) = match rulesets::parse_body(&body, false) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(NewRulesetVersionResponse::Invalid(Json(invalid(errors)))),
    };
    let mut tx = state.pool.begin().await?;
    let ruleset = rulesets::new_version(
        &mut tx,
        principal.tenant_id,
        &origin.actor(&principal),
        id,
        &rules,
    )
    .await?;
    tx.commit().await?;
    Ok(NewRulesetVersionResponse::Created(Json(ruleset.into())))
}

#[tracing::instrument(skip_all, fields(tenant_id, ruleset_id = %id, version))]
async fn get_version(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
    version: i32,
) -> Result<GetRulesetVersionResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    if version < 1 {
        return Err(ApiError::NotFound("ruleset version not found".into()));
    }
    let v = rulesets::version(&state.pool, principal.tenant_id, id, Some(version)).await?;
    Ok(GetRulesetVersionResponse::Ok(Json(RulesetVersionView {
        ruleset_id: v.ruleset_id,
        version: v.version,
        rules: v.rules,
        created_at: v.created_at,
    })))
}

#[tracing::instrument(skip_all, fields(tenant_id, signal_id = %id))]
async fn list_classifications(
    state: &AppState,
    auth: &Auth,
    id: Uuid,
) -> Result<ListClassificationsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let items = classify::for_signal(&state.pool, principal.tenant_id, id).await?;
    Ok(ListClassificationsResponse::Ok(Json(ClassificationList {
        items: items.into_iter().map(Into::into).collect(),
    })))
}
