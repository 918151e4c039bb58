//! `/dashboard`: one page that watches the queues (with a live chart of jobs done and waiting),
//! the workers, the jobs and the busiest concurrency keys, workflow runs, budgets, destinations
//! and deliveries, the latest signals and leads, and the last 30 days' economics and revenue
//! per partner, and retries or cancels jobs and runs — built only on the public REST API (`/api/v1`) and its event stream, with the
//! caller's own key (kept in the tab's session storage, never sent anywhere else).

use poem::{IntoResponse, Response, handler, http::header, web::Html};

/// The page: HTML, CSS and script in one file, embedded at build time.
const PAGE: &str = include_str!("index.html");

/// What the page may load: itself, and calls to this origin.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

/// Serves the dashboard.
#[handler]
pub fn page() -> Response {
    Html(PAGE)
        .with_header(header::CONTENT_SECURITY_POLICY, CSP)
        .with_header(header::CACHE_CONTROL, "no-store")
        .into_response()
}
