//! Workflows: versioned DAGs of job steps, and their runs.
//!
//! - [`Definition`]: a workflow's steps, parsed and checked as a whole (every problem named by
//!   its path); [`expr`] holds its two tiny languages, `{{ ... }}` templates and `if` conditions.
//! - [`create`], [`new_version`], [`disable`], [`get`], [`list`]: definitions are immutable
//!   versions; a run pins the version it started with.
//! - [`start_run`]: the run row, its step rows and its root steps' jobs, in the caller's
//!   transaction.
//! - [`advance`]: called by the queue's completer (through [`Engine`]) inside the transaction
//!   that records a step job's outcome: finished steps are recorded, ready successors are
//!   enqueued (respecting `after`, `if` and `for_each`, with fan-in after a fan-out), and the
//!   run's status is set. A crash between "step done" and "successors enqueued" is impossible by
//!   construction.
//! - [`cancel_run`], [`retry_run`], [`get_run`], [`list_runs`].
//! - [`events`]: what happened to each run, in order, written in the same transactions.
//! - [`schedules`] (cron triggers, fired by the workers' scheduler exactly once per tick) and
//!   [`webhooks`] (a per-workflow URL whose HMAC-signed requests start runs).
//!
//! Semantics: a step runs once every step in its `after` has succeeded or was skipped; it is
//! skipped when its `if` is false, or when every step it waits for was skipped. A skipped step's
//! output reads as `null`. A `for_each` step enqueues one job per item (`{{ item }}`), and its
//! output is the list of the items' results, in item order, once all have succeeded. A step
//! fails when one of its jobs is dead or cancelled; the run then fails naming the step, and no
//! new step starts (steps already running finish). Retrying a run re-runs only its failed steps.
//!
//! Rendering a step's args is bounded ([`MAX_RENDERED_ARGS`] per job, [`MAX_FOR_EACH_ARGS`] for
//! all the items of a `for_each`), checked while rendering: a step over budget fails naming the
//! budget, and a run whose root step is over budget is refused at the start (a 422) instead.
//!
//! A step job finished outside the completer — cancelled through `/jobs` while queued, or
//! dead-lettered by lease rescue — advances its run in that same transaction too: a run is a
//! group of jobs to the queue, and [`Engine`] is the completion hook the queue calls whenever
//! jobs of a group finish. The engine enqueues, cancels and retries its jobs through the queue
//! (`queue::enqueue_group`, `cancel_group`, `retry_group`) and never writes `jobs` rows itself.
//! Retrying a single step job through `/jobs` is refused: the run's retry re-runs its failed
//! steps.
//!
//! The code: `workflow` (definitions as stored), `runs` (runs as read), `engine` (starting and
//! advancing runs), `control` (cancel and retry); `definition` parses a definition.

mod control;
mod definition;
mod engine;
pub mod events;
pub mod expr;
mod runs;
pub mod schedules;
#[cfg(test)]
mod testing;
pub mod webhooks;
mod workflow;

pub use control::{cancel_run, retry_run};
pub use definition::{Definition, MAX_STEPS, Step};
pub use engine::{Engine, advance, start_run};
pub use runs::{Run, RunStatus, RunStep, StepState, Trigger, get_run, list_runs};
use workflow::get_on;
pub use workflow::{
    Workflow, create, disable, get, list, new_version, parse_body, parse_name, parse_trigger,
};

/// Most items a `for_each` step may fan out to.
pub const MAX_ITEMS: usize = 10_000;
/// Most bytes one job's rendered args may take (see [`expr::Budget`] for how they are
/// counted). Rendering stops as soon as it is exceeded, and the step fails saying so.
pub const MAX_RENDERED_ARGS: usize = 1024 * 1024;
/// Most bytes the rendered args of all the items of one `for_each` step may take together.
pub const MAX_FOR_EACH_ARGS: usize = 16 * 1024 * 1024;
/// Longest workflow name.
pub const MAX_WORKFLOW_NAME: usize = 100;

/// A change to a workflow, a run or a schedule: as it was and as it is.
#[derive(Debug, Clone)]
pub struct Changed<T> {
    /// Before.
    pub before: T,
    /// After.
    pub after: T,
}
