//! The JSON the api speaks, as OpenAPI schemas.
//!
//! Responses are plain `Object`s converted from the domain's types. Request bodies are read as
//! raw JSON ([`JsonAs`]) and parsed by the domain (`jobs::queue::NewJob::parse`), which names the
//! exact path of an invalid field for the 422; the `*Schema` types below exist only to document
//! that JSON in the spec (a `oneOf` discriminated by `kind`, one object per job kind).

use std::{borrow::Cow, collections::BTreeMap, marker::PhantomData};

use chrono::{DateTime, Utc};
use poem::IntoResponse;
use poem_openapi::{
    ApiResponse, Enum, Object, Union,
    registry::{MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;
use uuid::Uuid;

use jobs::{
    kinds::{JobKind, http_request},
    queue::{self, JobState},
};

// ---------------------------------------------------------------------------------------------
// Request bodies

/// A JSON body taken as it is and documented as `S`: the domain parses it, so its errors (with
/// their paths) become the 422, instead of poem-openapi's first type mismatch becoming a 400.
pub struct JsonAs<S> {
    /// The body.
    pub value: Value,
    schema: PhantomData<fn() -> S>,
}

impl<S> JsonAs<S> {
    /// Wraps a value.
    pub fn new(value: Value) -> Self {
        Self {
            value,
            schema: PhantomData,
        }
    }
}

impl<S: Type> Type for JsonAs<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Value;
    type RawElementValueType = Value;

    fn name() -> Cow<'static, str> {
        S::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        S::schema_ref()
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Value> {
        Some(&self.value)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

/// The deepest nesting a request body may have.
pub const MAX_JSON_DEPTH: usize = 32;

/// How deeply `value` nests (a scalar is 0, `[]` and `{}` are 1).
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl<S: Type> ParseFromJSON for JsonAs<S> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None | Some(Value::Null) => Err(ParseError::custom("expected a JSON body")),
            Some(value) if depth(&value) > MAX_JSON_DEPTH => Err(ParseError::custom(format!(
                "the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
            ))),
            Some(value) => Ok(Self::new(value)),
        }
    }
}

impl<S: Type> ToJSON for JsonAs<S> {
    fn to_json(&self) -> Option<Value> {
        Some(self.value.clone())
    }
}

/// A job to enqueue. `kind` selects the job kind and the schema of its `args`; the other fields
/// are the same for every kind.
#[derive(Union)]
#[oai(rename = "NewJob", discriminator_name = "kind", one_of)]
pub enum NewJobSchema {
    /// `noop`.
    #[oai(mapping = "noop")]
    Noop(NoopJob),
    /// `http_request`.
    #[oai(mapping = "http_request")]
    HttpRequest(HttpRequestJob),
    /// `fetch_source`.
    #[oai(mapping = "fetch_source")]
    FetchSource(crate::routes::sources_models::FetchSourceJob),
    /// `score_lead`.
    #[oai(mapping = "score_lead")]
    ScoreLead(crate::routes::leads_models::ScoreLeadJob),
    /// `classify_signal`.
    #[oai(mapping = "classify_signal")]
    ClassifySignal(crate::routes::rulesets::ClassifySignalJob),
    /// `deliver`.
    #[oai(mapping = "deliver")]
    Deliver(crate::routes::deliveries::DeliverJob),
    /// `publish_post`.
    #[oai(mapping = "publish_post")]
    PublishPost(crate::routes::publishing::PublishPostJob),
    /// `export_lead`.
    #[oai(mapping = "export_lead")]
    ExportLead(crate::routes::partners::ExportLeadJob),
}

/// A batch of jobs, enqueued all or nothing.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "NewJobBatch")]
pub struct NewJobBatchSchema {
    /// 1 to 1000 jobs. An invalid one fails the whole batch, naming its path (`jobs[3].args.url`).
    #[oai(validator(min_items = 1, max_items = 1000))]
    pub jobs: Vec<NewJobSchema>,
}

/// Options every job kind takes.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "JobOptions")]
pub struct JobOptions {
    /// Higher runs first among this tenant's jobs of the kind (tenants share the workers by
    /// their weights, whatever the priorities); -100 to 100 (default 0), and no higher than the
    /// server's ceiling (`JOB_PRIORITY_MAX`; above it, a 422). A waiting job gains one level a
    /// minute, so a low priority delays a job but never starves it.
    #[oai(validator(minimum(value = "-100"), maximum(value = "100")))]
    pub priority: Option<i16>,
    /// Run no earlier than this instant (default: now).
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts allowed, 1 to 100 (default: the kind's).
    #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
    pub max_attempts: Option<i32>,
    /// Timeout of one attempt in milliseconds, 1 to 3600000 (default: the kind's).
    #[oai(validator(minimum(value = "1"), maximum(value = "3600000")))]
    pub timeout_ms: Option<i32>,
    /// The same key again (same tenant) returns the first job (200) instead of enqueueing a
    /// second one. 1 to 200 printable characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub idempotency_key: Option<String>,
    /// While a job of this tenant with this key is queued, running or waiting for a retry,
    /// enqueueing returns that job (200) and inserts nothing; race-free under concurrent calls.
    /// 1 to 200 printable characters. At most one of `idempotency_key`, `singleton_key` and
    /// `debounce`.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub singleton_key: Option<String>,
    /// Coalesce bursts: the job starts `window_ms` after the last enqueue with the same key, with
    /// the newest args; until it starts, each enqueue replaces it (200, the same job id). Not
    /// with `run_at`.
    pub debounce: Option<DebounceSchema>,
    /// At most `limit` jobs of this tenant with the key run at once, across every worker.
    pub concurrency: Option<ConcurrencySchema>,
}

/// A concurrency key and its limit.
#[derive(Object)]
#[oai(rename = "Concurrency")]
pub struct ConcurrencySchema {
    /// The key (per tenant), e.g. a source or customer id; 1 to 200 printable characters, not
    /// starting with `kind:` (the operator's per-kind limits use those).
    #[oai(validator(min_length = 1, max_length = 200))]
    pub key: String,
    /// Most jobs with the key running at once, 1 to 10000.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub limit: i32,
    /// When the key already has `limit` jobs queued or running: `queue` waits for a slot (the
    /// default), `cancel_newest` stores this job cancelled (saying why), `keep_newest` cancels
    /// the other jobs waiting with the key. Not `queue` with `singleton_key` or `debounce`.
    pub on_limit: Option<OverLimitName>,
}

/// What an enqueue does when its concurrency key is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "OverLimit", rename_all = "snake_case")]
pub enum OverLimitName {
    /// Wait in the queue until a slot frees.
    Queue,
    /// Store the new job cancelled, saying why.
    CancelNewest,
    /// Cancel the other jobs waiting with the key.
    KeepNewest,
}

/// A debounce window.
#[derive(Object)]
#[oai(rename = "Debounce")]
pub struct DebounceSchema {
    /// The key (per tenant), 1 to 200 printable characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub key: String,
    /// How long after the last enqueue the job starts: 1 ms to 1 day.
    #[oai(validator(minimum(value = "1"), maximum(value = "86400000")))]
    pub window_ms: i64,
}

/// A `noop` job: succeeds, optionally after sleeping or after failing its first attempts.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "NoopJob")]
pub struct NoopJob {
    /// The args (default `{}`).
    pub args: Option<NoopArgs>,
    /// Options every kind takes.
    #[oai(flatten)]
    pub options: JobOptions,
}

/// Args of a `noop` job.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "NoopArgs")]
pub struct NoopArgs {
    /// Sleep this long before succeeding, 0 to 600000 ms.
    #[oai(validator(minimum(value = "0"), maximum(value = "600000")))]
    pub sleep_ms: Option<u64>,
    /// Fail this many first attempts with a retryable error, 0 to 100.
    #[oai(validator(minimum(value = "0"), maximum(value = "100")))]
    pub fail_attempts: Option<u32>,
    /// The result to return instead of `{"slept_ms": n}`: any JSON up to 256 KiB (lets a
    /// workflow step produce, say, a list for the next step's `for_each`).
    pub output: Option<Value>,
}

/// An `http_request` job: one outbound HTTP call. 2xx succeeds; 408, 429, 5xx and network
/// errors are retried; other statuses fail permanently.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "HttpRequestJob")]
pub struct HttpRequestJob {
    /// The request to make.
    pub args: HttpRequestArgs,
    /// Options every kind takes.
    #[oai(flatten)]
    pub options: JobOptions,
}

/// Args of an `http_request` job.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "HttpRequestArgs")]
pub struct HttpRequestArgs {
    /// The method.
    pub method: HttpMethod,
    /// An absolute http(s) URL (at most 2048 characters).
    #[oai(validator(max_length = 2048))]
    pub url: String,
    /// Extra request headers (at most 50).
    pub headers: Option<BTreeMap<String, String>>,
    /// A string is sent as is; any other JSON value is sent as JSON (at most 1 MiB).
    pub body: Option<Value>,
    /// Timeout of the request, 1 to 300000 ms.
    #[oai(validator(minimum(value = "1"), maximum(value = "300000")))]
    pub timeout_ms: Option<u64>,
}

/// An HTTP method.
#[derive(Enum)]
#[oai(rename = "HttpMethod", rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET.
    Get,
    /// HEAD.
    Head,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
    /// OPTIONS.
    Options,
}

// ---------------------------------------------------------------------------------------------
// Responses with one status in several media types

/// A response enum with several variants for one status (the same body as CSV or NDJSON, say),
/// documented as that status with every media type: poem-openapi keeps one entry per status,
/// and a derived enum would leave only its last variant's media type in the spec.
pub struct OneStatusManyTypes<R>(pub R);

impl<R: ApiResponse> ApiResponse for OneStatusManyTypes<R> {
    const BAD_REQUEST_HANDLER: bool = R::BAD_REQUEST_HANDLER;

    fn meta() -> MetaResponses {
        let mut responses: Vec<MetaResponse> = Vec::new();
        for r in R::meta().responses {
            match responses
                .iter_mut()
                .find(|o| o.status.is_some() && o.status == r.status)
            {
                Some(same) => same.content.extend(r.content),
                None => responses.push(r),
            }
        }
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        R::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        Self(R::from_parse_request_error(err))
    }
}

impl<R: IntoResponse> IntoResponse for OneStatusManyTypes<R> {
    fn into_response(self) -> poem::Response {
        self.0.into_response()
    }
}

// ---------------------------------------------------------------------------------------------
// Query parameters

/// A `state` filter: documented as a [`JobStateName`], read as any string so an unknown state
/// is a 422 naming `state` rather than a parse error.
pub struct StateParam(pub String);

impl Type for StateParam {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        JobStateName::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        JobStateName::schema_ref()
    }

    fn register(registry: &mut Registry) {
        JobStateName::register(registry);
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for StateParam {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned()))
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "JobState", rename_all = "snake_case")]
pub enum JobStateName {
    /// Waiting for its `run_at`.
    Scheduled,
    /// Ready to be claimed.
    Available,
    /// Held by a worker.
    Running,
    /// An attempt failed; a retry waits for `run_at`.
    Failed,
    /// Done.
    Succeeded,
    /// Out of attempts, or failed permanently.
    Dead,
    /// Cancelled before it finished.
    Cancelled,
    /// Held back by an exhausted budget until its `run_at` or a raised limit; no attempt
    /// spent. `parked_reason` says why.
    Parked,
}

impl From<JobState> for JobStateName {
    fn from(s: JobState) -> Self {
        match s {
            JobState::Scheduled => Self::Scheduled,
            JobState::Available => Self::Available,
            JobState::Running => Self::Running,
            JobState::Failed => Self::Failed,
            JobState::Succeeded => Self::Succeeded,
            JobState::Dead => Self::Dead,
            JobState::Cancelled => Self::Cancelled,
            JobState::Parked => Self::Parked,
        }
    }
}

/// One failed attempt.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "AttemptError")]
pub struct AttemptError {
    /// The attempt's number (1-based).
    pub attempt: i32,
    /// When it failed.
    pub at: DateTime<Utc>,
    /// What went wrong.
    pub error: String,
}

/// A job.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "Job")]
pub struct Job {
    /// Its id (UUIDv7: sorts by creation time).
    pub id: Uuid,
    /// The kind.
    pub kind: String,
    /// Where it is.
    pub state: JobStateName,
    /// The args, as stored (defaults filled in).
    pub args: Value,
    /// Higher runs first.
    pub priority: i16,
    /// Attempts started.
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// When it may run next.
    pub run_at: DateTime<Utc>,
    /// Timeout of one attempt, when set on the job.
    pub timeout_ms: Option<i32>,
    /// The enqueuer's idempotency key.
    pub idempotency_key: Option<String>,
    /// Its singleton key: no other job with it is queued or running meanwhile.
    pub singleton_key: Option<String>,
    /// Its debounce key: enqueues with it replace this job until it starts.
    pub debounce_key: Option<String>,
    /// Its concurrency key (`kind:<kind>` when the operator limits the kind for this tenant).
    pub concurrency_key: Option<String>,
    /// How many jobs with its concurrency key may run at once.
    pub concurrency_limit: Option<i32>,
    /// The `X-Request-Id` of the call that enqueued it.
    pub correlation_id: Option<String>,
    /// The handler's result, once succeeded.
    pub result: Option<Value>,
    /// The latest failed attempt's error.
    pub last_error: Option<String>,
    /// Every failed attempt's error, oldest first.
    pub errors: Vec<AttemptError>,
    /// Whether a cancel was asked while it ran.
    pub cancel_requested: bool,
    /// The worker holding it, while it runs.
    pub worker: Option<String>,
    /// When the holder's lease ends unless renewed.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When its latest attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it is parked (state `parked` only): which budget, and when it resets.
    pub parked_reason: Option<String>,
}

impl From<queue::Job> for Job {
    /// The job as any reader sees it: credentials in its args redacted.
    fn from(j: queue::Job) -> Self {
        Self {
            args: shown_args(&j.kind, j.args),
            id: j.id,
            kind: j.kind,
            state: j.state.into(),
            priority: j.priority,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: j.run_at,
            timeout_ms: j.timeout_ms,
            idempotency_key: j.idempotency_key,
            singleton_key: j.singleton_key,
            debounce_key: j.debounce_key,
            concurrency_key: j.concurrency_key,
            concurrency_limit: j.concurrency_limit,
            correlation_id: j.correlation_id,
            result: j.result,
            last_error: j.last_error,
            errors: j
                .errors
                .into_iter()
                .map(|e| AttemptError {
                    attempt: e.attempt,
                    at: e.at,
                    error: e.error,
                })
                .collect(),
            cancel_requested: j.cancel_requested,
            worker: j.worker,
            lease_expires_at: j.lease_expires_at,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            parked_reason: j.parked_reason,
        }
    }
}

/// A job's args as a reader may see them: an `http_request`'s sensitive headers (sealed in
/// storage) are shown as `[redacted]`.
pub fn shown_args(kind: &str, mut args: Value) -> Value {
    if kind == http_request::HttpRequest::KIND {
        http_request::redact(&mut args);
    }
    args
}

/// Jobs.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "JobList")]
pub struct JobList {
    /// The jobs, in the order of the request.
    pub items: Vec<Job>,
}

/// A page of jobs, newest first.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "JobPage")]
pub struct JobPage {
    /// The jobs.
    pub items: Vec<Job>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<Uuid>,
}

/// Jobs of one kind, per state.
#[derive(Debug, Clone, Default, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "StateCounts")]
pub struct StateCounts {
    /// Waiting for their `run_at`.
    pub scheduled: i64,
    /// Ready to be claimed.
    pub available: i64,
    /// Held by a worker.
    pub running: i64,
    /// Waiting for a retry.
    pub failed: i64,
    /// Done.
    pub succeeded: i64,
    /// Out of attempts.
    pub dead: i64,
    /// Cancelled.
    pub cancelled: i64,
    /// Held back by an exhausted budget.
    pub parked: i64,
}

/// One queue (job kind) of the caller's tenant.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "QueueStats")]
pub struct QueueStats {
    /// The kind.
    pub kind: String,
    /// Jobs per state.
    pub counts: StateCounts,
    /// Seconds the oldest runnable job has waited; null when none waits.
    pub oldest_available_age_secs: Option<f64>,
    /// Jobs that succeeded in the last minute.
    pub completed_last_minute: i64,
}

impl From<queue::admin::QueueStats> for QueueStats {
    fn from(q: queue::admin::QueueStats) -> Self {
        let mut counts = StateCounts::default();
        for (state, n) in q.counts {
            let slot = match state {
                JobState::Scheduled => &mut counts.scheduled,
                JobState::Available => &mut counts.available,
                JobState::Running => &mut counts.running,
                JobState::Failed => &mut counts.failed,
                JobState::Succeeded => &mut counts.succeeded,
                JobState::Dead => &mut counts.dead,
                JobState::Cancelled => &mut counts.cancelled,
                JobState::Parked => &mut counts.parked,
            };
            *slot += n;
        }
        Self {
            kind: q.kind,
            counts,
            oldest_available_age_secs: q.oldest_available_age_secs,
            completed_last_minute: q.completed_last_minute,
        }
    }
}

/// Queues.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "QueueList")]
pub struct QueueList {
    /// One per known kind, even when empty.
    pub items: Vec<QueueStats>,
    /// The busiest concurrency keys (most jobs waiting first, at most 20): waiting vs running
    /// against each key's limit.
    pub keys: Vec<ConcurrencyKeyStats>,
}

/// What one concurrency key is doing.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ConcurrencyKeyStats")]
pub struct ConcurrencyKeyStats {
    /// The key (`kind:<kind>` for an operator's per-kind cap).
    pub key: String,
    /// Most jobs with it running at once.
    pub limit: i32,
    /// Jobs with it running now.
    pub running: i64,
    /// Jobs with it waiting to run.
    pub waiting: i64,
}

impl From<queue::share::KeyStats> for ConcurrencyKeyStats {
    fn from(k: queue::share::KeyStats) -> Self {
        Self {
            key: k.key,
            limit: k.limit,
            running: k.running,
            waiting: k.waiting,
        }
    }
}

/// A live worker process.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "Worker")]
pub struct Worker {
    /// Its identity (host, pid and a random suffix: unique per start).
    pub id: String,
    /// The host it runs on.
    pub host: String,
    /// Its process id.
    pub pid: i32,
    /// The kinds it runs.
    pub kinds: Vec<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub last_heartbeat_at: DateTime<Utc>,
    /// Jobs it held at that heartbeat.
    pub in_flight: i32,
}

impl From<queue::admin::WorkerInfo> for Worker {
    fn from(w: queue::admin::WorkerInfo) -> Self {
        Self {
            id: w.id,
            host: w.host,
            pid: w.pid,
            kinds: w.kinds,
            started_at: w.started_at,
            last_heartbeat_at: w.last_heartbeat_at,
            in_flight: w.in_flight,
        }
    }
}

/// Workers.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "WorkerList")]
pub struct WorkerList {
    /// Workers that heartbeated in the last minute and have not stopped.
    pub items: Vec<Worker>,
}
