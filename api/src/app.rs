//! The whole HTTP surface as one poem endpoint, built here so `main` and the tests serve the
//! same thing.
//!
//! Layers, outermost first: `RequestId` (reuses an incoming `X-Request-Id`, makes one
//! otherwise, returns it on every response), the [`TrustedProxies`] as request data (so
//! [`client_ip`](crate::auth::client_ip) can say who the client is from here on), [`RequestLog`]
//! (one span per request, carrying the id and the client's address), [`SecurityHeaders`], the
//! problem+json catch-all (every error that escapes a route, a 404 or 405 included, becomes
//! problem+json before the layers above see it), [`BodyLimit`], then the routes.

use std::{sync::Arc, time::Duration};

use jobs::queue::{CompletionHook, Notifier};
use poem::{
    Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Route,
    endpoint::make_sync,
    get,
    middleware::{Cors, RequestId, ReuseId},
    web::Html,
};
use poem_openapi::OpenApiService;
use sqlx::PgPool;

use crate::{
    API_PREFIX,
    auth::Authenticator,
    dashboard, health,
    hook_limits::HookLimits,
    limits::{Limit, Limits},
    metrics::{self, Metrics},
    middleware::{BodyLimit, RequestLog, SecurityHeaders},
    problem,
    proxies::TrustedProxies,
    routes::leads::LeadsApi,
    routes::publishing::{AccountsApi, PostsApi},
    routes::stream::FleetSnapshots,
    routes::{
        alert_rules::AlertRulesApi, deliveries::DeliveriesApi, destinations::DestinationsApi,
        subscriptions::SubscriptionsApi,
    },
    routes::{
        audit::AuditApi, budgets::BudgetsApi, hosts::HostsApi, jobs::JobsApi, keys::KeysApi,
        run_events::RunEventsApi, runs::RunsApi, schedules::SchedulesApi, signals::SignalsApi,
        sources::SourcesApi, stream::StreamApi, system::SystemApi, tenant::TenantApi,
        webhooks::WebhooksApi, workflows::WorkflowsApi,
    },
    routes::{
        economics::EconomicsApi, estimate::EstimateApi, partners::PartnersApi,
        rulesets::RulesetsApi,
    },
    settings::Access,
    streams::Streams,
};

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// Wakes idle workers after an enqueue commits.
    pub notifier: Notifier,
    /// What the queue tells when jobs of groups finish here (a queued step job cancelled): the
    /// workflow engine, which advances the job's run in the same transaction.
    pub completion_hook: Arc<dyn CompletionHook>,
    /// Per-key rate limits and bad-key throttling.
    pub limits: Limits,
    /// Checks keys (cached); revoking a key forgets it here.
    pub authenticator: Authenticator,
    /// Per-hook (and per push source) limits of keyless calls.
    pub hook_limits: HookLimits,
    /// How long a rotated key's old secret still works.
    pub key_rotation_grace: Duration,
    /// What a tenant admin cannot exceed.
    pub ceilings: jobs::tenants::Ceilings,
    /// The open event streams and their caps.
    pub streams: Streams,
    /// The fleet snapshots `/stream` shares between its streams.
    pub fleet: FleetSnapshots,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// The LLM's model, provider and prices, for cost estimates (`LLM_*`; off by default).
    pub llm: Arc<jobs::llm::LlmSettings>,
    /// Whether destinations and subscriptions may point at private addresses.
    pub allow_private_networks: bool,
}

impl AppState {
    /// The state of an app over `pool` (spawns the notifier: call inside a runtime).
    pub fn new(pool: PgPool, access: &Access) -> Self {
        Self {
            notifier: Notifier::spawn(pool.clone()),
            completion_hook: Arc::new(jobs::workflows::Engine),
            limits: Limits::new(
                pool.clone(),
                access.bad_key_limit,
                access.bad_key_cooldown,
                access.ceilings,
            ),
            authenticator: Authenticator::new(pool.clone()),
            hook_limits: HookLimits::new(access.hook_rate_per_minute),
            key_rotation_grace: access.key_rotation_grace,
            ceilings: access.ceilings,
            streams: Streams::new(access.streams),
            fleet: FleetSnapshots::new(pool.clone()),
            trusted_proxies: access.trusted_proxies.clone(),
            llm: Arc::default(),
            allow_private_networks: access.allow_private_networks,
            pool,
        }
    }

    /// The same state with these LLM settings (for cost estimates).
    pub fn with_llm(self, llm: jobs::llm::LlmSettings) -> Self {
        Self {
            llm: Arc::new(llm),
            ..self
        }
    }
}

/// Every OpenAPI service under `/api/v1`, in the order of the spec's paths. A resource split in
/// two services is one nested pair (poem-openapi combines tuples of at most 16 services).
pub type Apis = (
    JobsApi,
    SystemApi,
    KeysApi,
    TenantApi,
    AuditApi,
    SourcesApi,
    SignalsApi,
    HostsApi,
    StreamApi,
    (WorkflowsApi, RunsApi),
    BudgetsApi,
    LeadsApi,
    (SchedulesApi, WebhooksApi),
    RunEventsApi,
    (RulesetsApi, EstimateApi),
    (
        DestinationsApi,
        AlertRulesApi,
        SubscriptionsApi,
        DeliveriesApi,
        (AccountsApi, PostsApi),
        (PartnersApi, EconomicsApi),
    ),
);

/// The `/api/v1` operations as an OpenAPI service; needs no database, so the spec can be built
/// anywhere.
pub fn api_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            JobsApi,
            SystemApi,
            KeysApi,
            TenantApi,
            AuditApi,
            SourcesApi,
            SignalsApi,
            HostsApi,
            StreamApi,
            (WorkflowsApi, RunsApi),
            BudgetsApi,
            LeadsApi,
            (SchedulesApi, WebhooksApi),
            RunEventsApi,
            (RulesetsApi, EstimateApi),
            (
                DestinationsApi,
                AlertRulesApi,
                SubscriptionsApi,
                DeliveriesApi,
                (AccountsApi, PostsApi),
                (PartnersApi, EconomicsApi),
            ),
        ),
        "demandflow",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A durable job engine: enqueue jobs over HTTP, run them on a worker fleet.\n\n\
         Authenticate with an API key, as `X-API-Key: <key>` or `Authorization: Bearer <key>`. \
         Viewers read; operators also enqueue, cancel, retry and delete; admins do everything. \
         Every job belongs to the key's tenant: another tenant's job answers 404.\n\n\
         Every error is `application/problem+json` (`type`, `title`, `status`, `detail`, and \
         for validation errors `errors: [{path, message}]`).\n\n\
         Every response carries an `X-Request-Id` (yours when you send one); it is stored as \
         the `correlation_id` of the jobs the request enqueues.",
    )
    .server(API_PREFIX)
    .license(
        poem_openapi::LicenseObject::new(env!("CARGO_PKG_LICENSE"))
            .url("https://www.apache.org/licenses/LICENSE-2.0"),
    )
}

/// The spec as served and committed in `openapi/openapi.json`: poem-openapi's document made
/// ready for client generators ([`crate::openapi::polish`]), pretty JSON and a final newline.
pub fn spec_json() -> String {
    crate::openapi::polish(&api_service().spec())
}

/// Everything [`build`] needs.
#[derive(Debug, Clone)]
pub struct AppParts {
    /// The shared state.
    pub state: AppState,
    /// Renders `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Request bodies larger than this get a 413.
    pub max_body_bytes: usize,
    /// Origins browsers may call from (CORS); none when empty.
    pub cors_origins: Vec<String>,
}

/// The whole app: `/api/v1`, its spec at `/api/v1/openapi.json`, Swagger UI at `/docs`, the
/// health probes and `/metrics`, with every layer.
pub fn build(parts: AppParts) -> impl Endpoint<Output = poem::Response> + 'static {
    let api = api_service();
    let raw = api.spec();
    let spec = Arc::new(crate::openapi::polish(&raw));
    // Swagger UI embeds the document in its page: the polished one, like the served file.
    let docs = Arc::new(api.swagger_ui_html().replacen(&raw, &spec, 1));
    drop(raw);
    let authenticator = parts.state.authenticator.clone();
    let trusted_proxies = parts.state.trusted_proxies.clone();
    let limit = Limit {
        limits: parts.state.limits.clone(),
        authenticator: authenticator.clone(),
    };
    let cors = (!parts.cors_origins.is_empty()).then(|| {
        Cors::new()
            .allow_origins(parts.cors_origins.iter().map(String::as_str))
            .allow_methods(["GET", "POST", "PATCH", "DELETE"])
            .allow_headers(["x-api-key", "authorization", "content-type", "x-request-id"])
            .expose_headers([
                "x-request-id",
                "location",
                "retry-after",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
            ])
    });
    Route::new()
        .at(
            format!("{API_PREFIX}/openapi.json"),
            get(make_sync(move |_| {
                spec.to_string()
                    .with_content_type("application/json; charset=utf-8")
            })),
        )
        .nest(API_PREFIX, api.into_endpoint().with(limit))
        .at("/docs", get(make_sync(move |_| Html(docs.to_string()))))
        .at("/dashboard", get(dashboard::page))
        .at("/health/live", get(health::live))
        .at("/health/ready", get(health::ready))
        .at("/metrics", get(metrics::scrape))
        .data(parts.state)
        .data(authenticator)
        .data(parts.metrics)
        .with(BodyLimit::new(parts.max_body_bytes))
        .catch_all_error(problem::catch_all)
        .with(SecurityHeaders)
        .with(RequestLog)
        .data(trusted_proxies)
        .with_if(cors.is_some(), cors.unwrap_or_default())
        .with(RequestId::default().reuse_id(ReuseId::Use))
}
