//! The `/api/v1` operations, grouped as OpenAPI services.

use poem_openapi::Tags;

pub mod audit;
pub mod jobs;
pub mod keys;
pub mod stream;
pub mod system;
pub mod tenant;

/// The spec's tags.
#[derive(Tags)]
pub enum ApiTags {
    /// Enqueue, read and manage jobs.
    Jobs,
    /// Queues and workers: how the fleet is doing.
    System,
    /// Keys, the tenant's settings and the audit log.
    Access,
}
