//! The outbox: one row per thing that happened, written in the transaction of the change it
//! describes ([`emit`]), and dispatched later by [`super::dispatch`].
//!
//! An event has a type ([`EventType`]), a subject (`signal:<id>`, `lead:<id>`, ...: what it is
//! about, the part of a delivery key that makes a subject alert one destination once) and its
//! data, the JSON a message is rendered from and a subscriber receives.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::FieldError;

/// The channel a new event is announced on, so dispatchers wake at once.
pub const CHANNEL: &str = "demandflow_events";

crate::named_enum! {
    /// What happened.
    pub enum EventType {
        /// A signal got a verdict (`data.relevant`, `data.score`, `data.category`).
        SignalClassified = "signal.classified",
        /// A new lead.
        LeadCreated = "lead.created",
        /// A lead's score was computed again (a new signal of the same contact).
        LeadScored = "lead.scored",
        /// A budget's period crossed 80 % or reached 100 % of its limit.
        BudgetAlert = "budget.alert",
        /// A job ran out of attempts (or failed permanently).
        JobDead = "job.dead",
        /// A workflow run succeeded.
        RunSucceeded = "run.succeeded",
        /// A workflow run failed.
        RunFailed = "run.failed",
        /// A subscription was disabled: its endpoint failed every attempt for days, or said 410.
        SubscriptionDisabled = "subscription.disabled",
        /// A destination was disabled: the service said it is gone.
        DestinationDisabled = "destination.disabled",
        /// A source's cost per confirmed lead rose above the tenant's ceiling, or its ROI
        /// turned negative, over the economics watch's window.
        SourceEconomics = "source.economics",
    }
}

impl EventType {
    /// The family (`lead` of `lead.created`).
    pub fn family(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or_default()
    }

    /// Types an alert rule may watch (all but the ones about deliveries themselves).
    pub fn alertable(self) -> bool {
        !matches!(
            self,
            EventType::SubscriptionDisabled | EventType::DestinationDisabled
        )
    }
}

/// Writes an event on `conn` (pass the transaction of the change) and announces it at commit.
pub async fn emit(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    event: EventType,
    subject: &str,
    data: Value,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query!(
        r#"INSERT INTO events (id, tenant_id, type, subject, data) VALUES ($1, $2, $3, $4, $5)"#,
        id,
        tenant_id,
        event.as_str(),
        subject,
        data
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("SELECT pg_notify($1, '')", CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Most patterns one subscription may list.
pub const MAX_PATTERNS: usize = 20;

/// Checks a subscription's pattern: an event type (`lead.created`), a family (`lead.*`) or
/// every event (`*`).
pub fn check_pattern(pattern: &str) -> Result<(), FieldError> {
    let known = pattern == "*"
        || EventType::parse(pattern).is_some()
        || pattern
            .strip_suffix(".*")
            .is_some_and(|family| EventType::ALL.iter().any(|t| t.family() == family));
    if known {
        Ok(())
    } else {
        let families: Vec<String> = {
            let mut f: Vec<&str> = EventType::ALL.iter().map(|t| t.family()).collect();
            f.dedup();
            f.iter().map(|f| format!("{f}.*")).collect()
        };
        Err(FieldError::new(
            "",
            format!(
                "expected an event type ({}), a family ({}) or *",
                EventType::names(),
                families.join(", ")
            ),
        ))
    }
}

/// Whether `pattern` (checked by [`check_pattern`]) names events of `event_type`.
pub fn pattern_matches(pattern: &str, event_type: &str) -> bool {
    if pattern == "*" || pattern == event_type {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(family) => event_type
            .strip_prefix(family)
            .is_some_and(|rest| rest.starts_with('.')),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_name_types_families_or_everything() {
        assert!(pattern_matches("*", "job.dead"));
        assert!(pattern_matches("lead.*", "lead.created"));
        assert!(pattern_matches("lead.created", "lead.created"));
        assert!(!pattern_matches("lead.created", "lead.scored"));
        assert!(!pattern_matches("lead.*", "leads.created"));
        assert!(!pattern_matches("run.*", "job.dead"));
    }

    #[test]
    fn unknown_patterns_are_refused_with_the_known_ones() {
        for ok in ["*", "job.*", "signal.classified", "subscription.*"] {
            assert!(check_pattern(ok).is_ok(), "{ok}");
        }
        for bad in ["", "job", "jobs.*", "lead.deleted", "*.*", "lead.**"] {
            let e = check_pattern(bad).unwrap_err();
            assert!(e.message.contains("lead.created"), "{bad}: {e}");
        }
    }

    #[test]
    fn families_split_at_the_dot() {
        assert_eq!(EventType::JobDead.family(), "job");
        assert_eq!(EventType::SignalClassified.family(), "signal");
        assert!(!EventType::SubscriptionDisabled.alertable());
        assert!(EventType::LeadCreated.alertable());
    }
}
