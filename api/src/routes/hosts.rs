//! `/hosts`: the fleet-wide politeness state of the hosts the tenant's sources call — each
//! host's rate limiter (next free slot, a server's `Retry-After`) and circuit breaker.

use jobs::{auth::Role, sources::hosts};
use poem::web::Data;
use poem_openapi::{OpenApi, payload::Json};

use super::{
    ApiTags,
    sources_models::{Host, HostList},
};
use crate::{
    api_responses,
    app::AppState,
    auth::Auth,
    problem::{ApiError, respond},
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

api_responses! {
    /// Outcomes of `listHosts`.
    pub enum ListHostsResponse {
        /// The hosts.
        #[oai(status = 200)]
        Ok(Json<HostList>),
    }
    problems {
        401 => Unauthorized,
        429 => TooManyRequests,
    }
}

#[tracing::instrument(skip_all, fields(tenant_id))]
async fn list_hosts(state: &AppState, auth: &Auth) -> Result<ListHostsResponse, ApiError> {
    let principal = auth.require(Role::Viewer)?;
    let items = hosts::list(&state.pool, principal.tenant_id).await?;
    Ok(ListHostsResponse::Ok(Json(HostList {
        items: items.into_iter().map(Host::from).collect(),
    })))
}
