//! Probes for the platform: liveness (the process answers) and readiness (the database answers
//! and every migration is applied).

use poem::{IntoResponse, Response, handler, web::Data, web::Json};
use serde_json::json;

use crate::{app::AppState, problem::ApiError};

/// `GET /health/live`: 200 `{"status":"ok"}` while the process serves requests.
#[handler]
pub async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /health/ready`: 200 `{"status":"ok"}` when the database answers and is migrated; 503
/// problem+json otherwise.
#[handler]
pub async fn ready(state: Data<&AppState>) -> Response {
    if jobs::db::is_ready(&state.pool).await {
        Json(json!({ "status": "ok" })).into_response()
    } else {
        ApiError::Unavailable("the database is unreachable or not migrated".to_owned())
            .into_response()
    }
}
