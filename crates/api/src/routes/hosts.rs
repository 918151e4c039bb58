//! `/hosts`: the fleet-wide politeness state of the hosts the tenant's sources call — each
//! host's rate limiter (next free slot, a server's `Retry-After`) and circuit breaker.

use jobs::{auth::Role, sources::hosts};
use poem::web::Data;
use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use super::{
    ApiTags,
    sources_models::{Host, HostList},
};
use crate::{
    app::AppState,
    auth::Auth,
    problem::{ApiError, Problem, respond},
    problem_responses,
};

/// The `/hosts` operation.
pub struct HostsApi;

#[OpenApi(tag = "ApiTags::Sources")]
impl HostsApi {
    /// List hosts
    ///
    /// Every host the tenant's live sources have called: its circuit (`closed`, `open`,
    /// `half_open`), consecutive failures, the next free request slot and any `Retry-After`.
    /// The state is shared by every worker and every tenant calling the host.
    #[oai(path = "/hosts", method = "get", operation_id = "listHosts")]
    async fn list(&self, auth: Auth, state: Data<&AppState>) -> ListHostsResponse {
        respond(list_hosts(&state, &auth).await)
    }
}

/// Outcomes of `listHosts`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "crate::problem::from_extractor")]
pub enum ListHostsResponse {
    /// The hosts.
    #[oai(status = 200)]
    Ok(Json<HostList>),
    /// No API key, or not a live one.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// Too many requests for this key.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>),
    /// An unexpected failure (logged, not described).
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}
problem_responses!(ListHostsResponse {
    401 => Unauthorized,
    429 => TooManyRequests,
});

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_hosts(state: &AppState, auth: &Auth) -> Result<ListHostsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    tracing::Span::current().record("tenant_id", tracing::field::display(principal.tenant_id));
    let items = hosts::list(&state.pool, principal.tenant_id).await?;
    Ok(ListHostsResponse::Ok(Json(HostList {
        items: items.into_iter().map(Host::from).collect(),
    })))
}
