//! Cron arithmetic, with no storage: a checked expression in a time zone ([`CronSpec`]), its
//! fire times, and what one scheduler tick fires for a due schedule by its [`CatchUp`] policy
//! ([`plan`]).
//!
//! Fire times are computed in the zone's wall-clock time: across a DST change a daily
//! `30 2 * * *` fires once (at 03:00 on a spring-forward day whose 02:30 does not exist, once on
//! a fall-back day whose 02:30 happens twice), and an hourly `0 * * * *` fires at each real hour.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::{
    Cron,
    parser::{CronParser, Seconds},
};

use crate::FieldError;

/// A fire time at most this late is on time; `skip` drops anything later.
pub const GRACE: Duration = Duration::seconds(60);
/// Most fire times one schedule fires in one scheduler tick (policy `all`; the rest follow on
/// the next ticks).
pub const MAX_FIRES_PER_TICK: usize = 100;
/// Most missed fire times the policy `all` catches up on; older ones are skipped.
pub const MAX_BACKLOG: usize = 1000;
/// Longest cron expression.
pub const MAX_CRON_LEN: usize = 200;

crate::named_enum! {
    /// What happens to fire times missed while no scheduler ran (downtime), or that came due
    /// more than [`GRACE`] ago.
    pub enum CatchUp {
        /// Missed fire times are dropped: only a fire time at most [`GRACE`] late runs.
        Skip = "skip",
        /// However many were missed, the latest one runs, once.
        Once = "once",
        /// Every missed fire time runs, oldest first (at most [`MAX_BACKLOG`]).
        All = "all",
    }
}

/// A checked cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct CronSpec {
    cron: Cron,
    tz: Tz,
}

impl CronSpec {
    /// Parses `cron` and the IANA zone `time_zone`, naming each bad one by its field (`cron`,
    /// `time_zone`). An expression that never fires again is refused too.
    pub fn parse(cron: &str, time_zone: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = vec![];
        let tz = match Tz::from_str(time_zone) {
            Ok(tz) => Some(tz),
            Err(_) => {
                errors.push(FieldError::new(
                    "time_zone",
                    format!("unknown time zone {time_zone:?}; expected an IANA name such as UTC or Europe/Berlin"),
                ));
                None
            }
        };
        let parsed = if cron.trim().is_empty() || cron.len() > MAX_CRON_LEN {
            errors.push(FieldError::new(
                "cron",
                format!("expected a cron expression of 1 to {MAX_CRON_LEN} characters"),
            ));
            None
        } else {
            match CronParser::builder()
                .seconds(Seconds::Optional)
                .build()
                .parse(cron.trim())
            {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.push(FieldError::new(
                        "cron",
                        format!("not a cron expression ({e}); expected 5 fields `minute hour day-of-month month day-of-week`, or 6 with seconds first"),
                    ));
                    None
                }
            }
        };
        let (Some(cron), Some(tz)) = (parsed, tz) else {
            return Err(errors);
        };
        let spec = Self { cron, tz };
        if spec.next_after(Utc::now()).is_none() {
            return Err(vec![FieldError::new(
                "cron",
                "this expression never fires (e.g. a day that does not exist)",
            )]);
        }
        Ok(spec)
    }

    /// The first fire time strictly after `t`, if any.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The last fire time at or before `t`, if any.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.tz), true)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    fn before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }
}

/// What one tick does with a due schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Fire times to run now, oldest first.
    pub fire: Vec<DateTime<Utc>>,
    /// The next fire time not handled yet (possibly still in the past for `all`).
    pub next: Option<DateTime<Utc>>,
}

/// Decides the fire times of a schedule that was due at `due` (its `next_fire_at`, at or before
/// `now`), by its policy.
pub fn plan(spec: &CronSpec, catch_up: CatchUp, due: DateTime<Utc>, now: DateTime<Utc>) -> Plan {
    let after_now = spec.next_after(now);
    let Some(latest) = spec.latest_at_or_before(now).filter(|l| *l >= due) else {
        // Nothing between `due` and now (the expression changed under it): just move on.
        return Plan {
            fire: vec![],
            next: after_now,
        };
    };
    match catch_up {
        CatchUp::Skip => Plan {
            fire: if now - latest <= GRACE {
                vec![latest]
            } else {
                vec![]
            },
            next: after_now,
        },
        CatchUp::Once => Plan {
            fire: vec![latest],
            next: after_now,
        },
        CatchUp::All => {
            // Walk back from the latest to `due`, at most MAX_BACKLOG fire times.
            let mut backlog = vec![latest];
            let mut oldest = latest;
            while backlog.len() < MAX_BACKLOG {
                match spec.before(oldest) {
                    Some(t) if t >= due => {
                        backlog.push(t);
                        oldest = t;
                    }
                    _ => break,
                }
            }
            backlog.reverse();
            if backlog.len() > MAX_FIRES_PER_TICK {
                let next = Some(backlog[MAX_FIRES_PER_TICK]);
                backlog.truncate(MAX_FIRES_PER_TICK);
                Plan {
                    fire: backlog,
                    next,
                }
            } else {
                Plan {
                    fire: backlog,
                    next: after_now,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn fires(spec: &CronSpec, from: &str, n: usize) -> Vec<DateTime<Utc>> {
        let mut t = utc(from);
        (0..n)
            .map(|_| {
                t = spec.next_after(t).unwrap();
                t
            })
            .collect()
    }

    #[test]
    fn a_daily_time_in_a_spring_forward_gap_fires_once_at_the_end_of_the_gap() {
        // Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
        let spec = CronSpec::parse("30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            fires(&spec, "2026-03-27T12:00:00Z", 3),
            [
                utc("2026-03-28T01:30:00Z"), // 02:30 CET
                utc("2026-03-29T01:00:00Z"), // 03:00 CEST, the first instant after the gap
                utc("2026-03-30T00:30:00Z"), // 02:30 CEST
            ]
        );
    }

    #[test]
    fn a_daily_time_in_a_fall_back_overlap_fires_once() {
        // Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let spec = CronSpec::parse("30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            fires(&spec, "2026-10-24T12:00:00Z", 2),
            [utc("2026-10-25T00:30:00Z"), utc("2026-10-26T01:30:00Z")]
        );
    }

    #[test]
    fn an_hourly_schedule_fires_at_every_real_hour_across_both_changes() {
        let spec = CronSpec::parse("0 * * * *", "Europe/Berlin").unwrap();
        // Fall back: 02:00 CEST, 02:00 CET and 03:00 CET are three real hours.
        assert_eq!(
            fires(&spec, "2026-10-24T23:30:00Z", 3),
            [
                utc("2026-10-25T00:00:00Z"),
                utc("2026-10-25T01:00:00Z"),
                utc("2026-10-25T02:00:00Z")
            ]
        );
        // Spring forward: 01:00 CET, then 03:00 CEST, one real hour later.
        assert_eq!(
            fires(&spec, "2026-03-28T23:30:00Z", 2),
            [utc("2026-03-29T00:00:00Z"), utc("2026-03-29T01:00:00Z")]
        );
    }

    #[test]
    fn wall_clock_times_follow_the_zone_offset() {
        // New York leaves EST (UTC-5) for EDT (UTC-4) on 2026-03-08: 09:00 moves by an hour in UTC.
        let spec = CronSpec::parse("0 9 * * *", "America/New_York").unwrap();
        assert_eq!(
            fires(&spec, "2026-03-06T15:00:00Z", 3),
            [
                utc("2026-03-07T14:00:00Z"),
                utc("2026-03-08T13:00:00Z"),
                utc("2026-03-09T13:00:00Z")
            ]
        );
        // Six fields: seconds first.
        let spec = CronSpec::parse("*/20 * * * * *", "UTC").unwrap();
        assert_eq!(
            fires(&spec, "2026-01-01T00:00:05Z", 2),
            [utc("2026-01-01T00:00:20Z"), utc("2026-01-01T00:00:40Z")]
        );
    }

    #[test]
    fn bad_expressions_and_zones_are_named_by_field() {
        let paths = |cron: &str, tz: &str| -> Vec<String> {
            CronSpec::parse(cron, tz)
                .unwrap_err()
                .into_iter()
                .map(|e| e.path)
                .collect()
        };
        assert_eq!(paths("61 * * * *", "UTC"), ["cron"]);
        assert_eq!(paths("* * *", "UTC"), ["cron"]);
        assert_eq!(paths("", "UTC"), ["cron"]);
        assert_eq!(
            paths("0 0 30 2 *", "UTC"),
            ["cron"],
            "February 30th never comes"
        );
        assert_eq!(paths("0 9 * * *", "Mars/Olympus"), ["time_zone"]);
        assert_eq!(paths("nope", "Nowhere"), ["time_zone", "cron"]);
        assert!(CronSpec::parse("@daily", "Asia/Kolkata").is_ok());
    }

    #[test]
    fn each_policy_plans_the_missed_fire_times() {
        let spec = CronSpec::parse("0 * * * *", "UTC").unwrap();
        let due = utc("2026-01-01T07:00:00Z");
        let now = utc("2026-01-01T12:30:00Z");
        let hours = |hs: &[u32]| -> Vec<DateTime<Utc>> {
            hs.iter()
                .map(|h| Utc.with_ymd_and_hms(2026, 1, 1, *h, 0, 0).unwrap())
                .collect()
        };
        let next = Some(utc("2026-01-01T13:00:00Z"));
        assert_eq!(
            plan(&spec, CatchUp::Skip, due, now),
            Plan { fire: vec![], next }
        );
        assert_eq!(
            plan(&spec, CatchUp::Once, due, now),
            Plan {
                fire: hours(&[12]),
                next
            }
        );
        assert_eq!(
            plan(&spec, CatchUp::All, due, now),
            Plan {
                fire: hours(&[7, 8, 9, 10, 11, 12]),
                next
            }
        );
        // On time (within the grace), every policy fires the one fire time.
        let on_time = utc("2026-01-01T12:00:30Z");
        for c in CatchUp::ALL {
            assert_eq!(
                plan(&spec, c, utc("2026-01-01T12:00:00Z"), on_time).fire,
                hours(&[12])
            );
        }
        // A long backlog: at most MAX_BACKLOG, MAX_FIRES_PER_TICK per tick, oldest first.
        let spec = CronSpec::parse("* * * * *", "UTC").unwrap();
        let now = utc("2026-01-10T00:00:00Z");
        let p = plan(&spec, CatchUp::All, utc("2026-01-01T00:00:00Z"), now);
        assert_eq!(p.fire.len(), MAX_FIRES_PER_TICK);
        assert_eq!(
            p.fire[0],
            now - Duration::minutes(MAX_BACKLOG as i64 - 1),
            "older ones are dropped"
        );
        assert_eq!(
            p.next,
            Some(p.fire[MAX_FIRES_PER_TICK - 1] + Duration::minutes(1))
        );
    }
}
