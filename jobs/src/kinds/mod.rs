//! The job kinds: one file each, holding its args, its queue name, its retry policy, its
//! timeout and its handler.
//!
//! A kind's [`JobKind::KIND`] is its queue name and is stored in every job row: it never changes
//! when code moves, and it never defaults to a Rust type path.
//!
//! Every kind is listed once, at the `kinds!` line below: that list makes [`ALL`] (what the api
//! and the enqueue path know of each kind) and [`for_each`] (how the worker registers each, by
//! its [`Handler`]). Adding a kind is its file, its line there, and — when its handler shares
//! something across jobs — its [`Handler::Context`], built from [`Resources`].

use std::{future::Future, time::Duration};

use apalis_core::task::data::Data;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use sqlx::PgPool;

use crate::{
    FieldError,
    llm::LlmSettings,
    queue::{JobContext, JobError},
};

pub mod classify_signal;
pub mod deliver;
pub mod export_lead;
pub mod fetch_source;
pub mod http_request;
pub mod noop;
pub mod publish_post;
pub mod score_lead;

/// How long to wait before retry `n` (1-based): full jitter over an exponential curve,
/// `random(0, min(cap, base * 2^(n-1)))`, so retries of many jobs that failed together spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first step of the curve.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl Backoff {
    /// The delay after failed attempt `attempt` (1-based), drawn with full jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let millis = ceiling.as_millis() as u64;
        if millis == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::random_range(0..=millis))
    }

    /// The upper bound of the delay after `attempt`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// A typed job: args that serde can store, plus the policy the worker applies to it.
pub trait JobKind: Serialize + DeserializeOwned + Clone + Send + Sync + Unpin + 'static {
    /// The queue name, stored in every row. Never change it.
    const KIND: &'static str;
    /// Attempts when the enqueuer does not say.
    const MAX_ATTEMPTS: i32;
    /// How long one attempt may run when the enqueuer does not say.
    const TIMEOUT: Duration;
    /// The wait between attempts.
    const BACKOFF: Backoff;

    /// Checks what serde cannot: ranges, formats, sizes. Paths are relative to the args.
    fn validate(&self) -> Result<(), FieldError>;
}

/// What the api and the enqueue path need to know of a kind without naming its type.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// The queue name.
    pub name: &'static str,
    /// Default attempts.
    pub max_attempts: i32,
    /// Default timeout of one attempt.
    pub timeout: Duration,
    validate: fn(Value) -> Result<Value, FieldError>,
}

impl KindInfo {
    const fn of<K: JobKind>() -> Self {
        Self {
            name: K::KIND,
            max_attempts: K::MAX_ATTEMPTS,
            timeout: K::TIMEOUT,
            validate: parse_args::<K>,
        }
    }

    /// Parses and checks `args` for this kind, returning them in their stored form.
    pub fn validate(&self, args: Value) -> Result<Value, FieldError> {
        (self.validate)(args)
    }
}

/// A kind a worker runs: its handler, and what the handler shares across jobs.
pub trait Handler: JobKind {
    /// What the handler shares across jobs (`()` when nothing), built once per worker process.
    type Context: Clone + Send + Sync + 'static;

    /// Builds the context from what the worker read at start.
    fn context(resources: &Resources) -> Self::Context;

    /// Runs one attempt (apalis hands it the job and the context).
    fn handle(
        self,
        job: JobContext,
        ctx: Data<Self::Context>,
    ) -> impl Future<Output = Result<Value, JobError>> + Send;
}

/// What a worker process builds every kind's [`Handler::Context`] from, once at start.
#[derive(Debug, Clone)]
pub struct Resources {
    /// The database.
    pub pool: PgPool,
    /// `ALLOW_PRIVATE_NETWORKS`: whether outbound calls may reach private addresses.
    pub allow_private_networks: bool,
    /// How `fetch_source` reads feeds.
    pub fetch: fetch_source::FetchSettings,
    /// The LLM `classify_signal` asks when keywords are undecided (none configured: keywords only).
    pub llm: LlmSettings,
    /// How `deliver` retries.
    pub deliveries: deliver::DeliverySettings,
}

/// Something done once for every kind of [`ALL`] with its type in hand (see [`for_each`]).
pub trait EachKind {
    /// Called with kind `K`.
    fn kind<K: Handler>(&mut self);
}

/// Makes [`ALL`] and [`for_each`] from one list of kinds, so the two cannot disagree.
macro_rules! kinds {
    ($($kind:ty),+ $(,)?) => {
        /// Every kind this build knows.
        pub const ALL: &[KindInfo] = &[$(KindInfo::of::<$kind>()),+];

        /// Calls `each.kind::<K>()` for every kind of [`ALL`], in its order (the worker registers
        /// each kind so).
        pub fn for_each(each: &mut impl EachKind) {
            $(each.kind::<$kind>();)+
        }
    };
}

kinds![
    noop::Noop,
    http_request::HttpRequest,
    fetch_source::FetchSource,
    score_lead::ScoreLead,
    classify_signal::ClassifySignal,
    deliver::Deliver,
    publish_post::PublishPost,
    export_lead::ExportLead,
];

/// The kind named `name`.
pub fn find(name: &str) -> Option<&'static KindInfo> {
    ALL.iter().find(|k| k.name == name)
}

/// The names of every kind, for messages.
pub fn names() -> String {
    ALL.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// Deserialises `args` as `K` (reporting the exact path of a mismatch), validates it, and
/// returns the canonical JSON to store.
pub fn parse_args<K: JobKind>(args: Value) -> Result<Value, FieldError> {
    let parsed: K = from_value(args)?;
    parsed.validate()?;
    serde_json::to_value(&parsed).map_err(|e| FieldError::new("", e.to_string()))
}

/// `serde_json::from_value` that says which field did not fit.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        FieldError::new(path, e.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        };
        assert_eq!(b.ceiling(1), Duration::from_secs(1));
        assert_eq!(b.ceiling(3), Duration::from_secs(4));
        assert_eq!(b.ceiling(40), Duration::from_secs(60));
        for attempt in 1..10 {
            assert!(b.delay(attempt) <= b.ceiling(attempt));
        }
    }

    #[test]
    fn backoff_is_jittered() {
        let b = Backoff {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(600),
        };
        let delays: std::collections::HashSet<_> = (0..20).map(|_| b.delay(5)).collect();
        assert!(delays.len() > 1, "full jitter draws different delays");
    }

    #[test]
    fn unknown_fields_and_wrong_types_name_their_path() {
        let e = parse_args::<noop::Noop>(serde_json::json!({"sleep_ms": "soon"})).unwrap_err();
        assert_eq!(e.path, "sleep_ms");
        let e = parse_args::<noop::Noop>(serde_json::json!({"sleep": 1})).unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
    }

    #[test]
    fn for_each_visits_every_kind_of_all_in_order() {
        struct Names(Vec<&'static str>);
        impl EachKind for Names {
            fn kind<K: Handler>(&mut self) {
                self.0.push(K::KIND);
            }
        }
        let mut names = Names(Vec::new());
        for_each(&mut names);
        let all: Vec<_> = ALL.iter().map(|k| k.name).collect();
        assert_eq!(names.0, all);
    }

    #[test]
    fn every_kind_is_findable_by_name() {
        for k in ALL {
            assert_eq!(find(k.name).unwrap().name, k.name);
        }
        assert!(find("nope").is_none());
    }
}
