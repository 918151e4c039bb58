//! Server-sent event streams held open: how many each key, each tenant and the process hold,
//! and the caps on them.
//!
//! Every open stream (`GET /stream` and `GET /runs/{id}/events`) holds a [`StreamSlot`] for as
//! long as it lives; the slot is given back when the stream ends or its client goes away. A key
//! may hold `STREAM_MAX_PER_KEY` slots, its tenant `STREAM_MAX_PER_TENANT` (at most
//! [`MAX_PER_TENANT`], half the process's [`MAX_PER_PROCESS`], so no tenant can take every slot),
//! and the process [`MAX_PER_PROCESS`]. Over a key's or a tenant's cap the caller gets a 429 with
//! `Retry-After`; over the process's, a 503. Like the rate limits, the counts are per api process.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use jobs::auth::Principal;
use uuid::Uuid;

use crate::problem::{ApiError, Problem};

/// Most streams open at once in one api process.
pub const MAX_PER_PROCESS: usize = 256;
/// Highest `STREAM_MAX_PER_TENANT`: half the process's slots.
pub const MAX_PER_TENANT: usize = MAX_PER_PROCESS / 2;
/// `Retry-After` of a refused stream: slots free up as other streams end.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The caps and the longest life of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Streams one key may hold open (`STREAM_MAX_PER_KEY`, default 8).
    pub per_key: usize,
    /// Streams one tenant's keys may hold open together (`STREAM_MAX_PER_TENANT`, default 32).
    pub per_tenant: usize,
    /// Longest a stream stays open (`STREAM_MAX_LIFETIME_SECS`, default 1 hour); then it ends and
    /// the client reconnects.
    pub max_lifetime: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            per_key: 8,
            per_tenant: 32,
            max_lifetime: Duration::from_secs(3600),
        }
    }
}

/// Why a stream was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The key holds its cap.
    Key(usize),
    /// The tenant holds its cap.
    Tenant(usize),
    /// The process holds [`MAX_PER_PROCESS`].
    Process,
}

impl Refused {
    /// The problem to answer: a 429 for the caller's own caps, a 503 for the process's.
    pub fn problem(self) -> Problem {
        match self {
            Refused::Key(n) => ApiError::TooManyRequests(format!(
                "this key holds {n} open streams, the most allowed; close one or retry later"
            )),
            Refused::Tenant(n) => ApiError::TooManyRequests(format!(
                "this tenant holds {n} open streams, the most allowed; close one or retry later"
            )),
            Refused::Process => ApiError::Unavailable(format!(
                "{MAX_PER_PROCESS} streams are open on this api process; retry shortly"
            )),
        }
        .to_problem()
    }
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    keys: HashMap<Uuid, usize>,
    tenants: HashMap<Uuid, usize>,
}

#[derive(Debug)]
struct Inner {
    limits: StreamLimits,
    open: Mutex<Open>,
}

impl Inner {
    fn open(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The open streams of one api process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Streams {
    inner: Arc<Inner>,
}

impl Streams {
    /// No stream open yet, under `limits`.
    pub fn new(limits: StreamLimits) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits,
                open: Mutex::default(),
            }),
        }
    }

    /// The caps and the longest life.
    pub fn limits(&self) -> StreamLimits {
        self.inner.limits
    }

    /// A slot for a stream of `principal`'s, unless a cap is reached.
    pub fn open(&self, principal: &Principal) -> Result<StreamSlot, Refused> {
        let limits = self.inner.limits;
        let mut open = self.inner.open();
        if open.total >= MAX_PER_PROCESS {
            return Err(Refused::Process);
        }
        if open.tenants.get(&principal.tenant_id).copied().unwrap_or(0) >= limits.per_tenant {
            return Err(Refused::Tenant(limits.per_tenant));
        }
        if open.keys.get(&principal.key_id).copied().unwrap_or(0) >= limits.per_key {
            return Err(Refused::Key(limits.per_key));
        }
        open.total += 1;
        *open.tenants.entry(principal.tenant_id).or_default() += 1;
        *open.keys.entry(principal.key_id).or_default() += 1;
        Ok(StreamSlot {
            inner: self.inner.clone(),
            key_id: principal.key_id,
            tenant_id: principal.tenant_id,
        })
    }

    /// Streams open in this process.
    pub fn open_count(&self) -> usize {
        self.inner.open().total
    }
}

/// One open stream's place; given back when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    inner: Arc<Inner>,
    key_id: Uuid,
    tenant_id: Uuid,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut guard = self.inner.open();
        let open = &mut *guard;
        open.total = open.total.saturating_sub(1);
        for (map, id) in [
            (&mut open.keys, self.key_id),
            (&mut open.tenants, self.tenant_id),
        ] {
            if let Some(n) = map.get_mut(&id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use jobs::auth::Role;

    use super::*;

    fn principal(tenant_id: Uuid) -> Principal {
        Principal {
            tenant_id,
            key_id: Uuid::now_v7(),
            role: Role::Viewer,
        }
    }

    #[test]
    fn a_key_and_a_tenant_hold_at_most_their_caps_and_get_slots_back() {
        let streams = Streams::new(StreamLimits {
            per_key: 2,
            per_tenant: 3,
            ..StreamLimits::default()
        });
        let tenant = Uuid::now_v7();
        let (a, b) = (principal(tenant), principal(tenant));
        let a1 = streams.open(&a).unwrap();
        let _a2 = streams.open(&a).unwrap();
        assert_eq!(streams.open(&a).unwrap_err(), Refused::Key(2));
        let _b1 = streams.open(&b).unwrap();
        assert_eq!(streams.open(&b).unwrap_err(), Refused::Tenant(3));
        // Another tenant is not affected.
        let _c = streams.open(&principal(Uuid::now_v7())).unwrap();
        assert_eq!(streams.open_count(), 4);
        drop(a1);
        assert_eq!(streams.open_count(), 3);
        let _b2 = streams.open(&b).unwrap();
        assert_eq!(Refused::Key(2).problem().status, 429);
        assert_eq!(Refused::Process.problem().status, 503);
    }

    #[test]
    fn no_tenant_fills_the_process() {
        let streams = Streams::new(StreamLimits {
            per_key: MAX_PER_TENANT,
            per_tenant: MAX_PER_TENANT,
            ..StreamLimits::default()
        });
        let greedy = principal(Uuid::now_v7());
        let held: Vec<_> = std::iter::from_fn(|| streams.open(&greedy).ok()).collect();
        assert_eq!(held.len(), MAX_PER_TENANT);
        let mut others = Vec::new();
        for _ in 0..MAX_PER_PROCESS - MAX_PER_TENANT {
            others.push(streams.open(&principal(Uuid::now_v7())).unwrap());
        }
        assert_eq!(
            streams.open(&principal(Uuid::now_v7())).unwrap_err(),
            Refused::Process
        );
    }
}
