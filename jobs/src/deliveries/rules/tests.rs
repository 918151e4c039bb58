//! Alert rules: which events match, bad rules naming their field, quiet hours in their zone.

use super::*;

fn rule(data: Value) -> AlertRule {
    let spec = RuleSpec::try_from(data).unwrap();
    AlertRule {
        id: Uuid::nil(),
        name: spec.name,
        enabled: spec.enabled,
        event: spec.event,
        min_score: spec.min_score,
        categories: spec.categories,
        destination_ids: spec.destination_ids,
        templates: spec.templates,
        digest_secs: spec.digest_secs,
        throttle: spec.throttle,
        quiet_hours: spec.quiet_hours,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

#[test]
fn a_classified_signal_matches_when_relevant_scored_and_in_category() {
    let r = rule(json!({
        "name": "hot", "event": "signal.classified", "min_score": 70,
        "categories": ["buying"], "destination_ids": [Uuid::now_v7()],
    }));
    assert!(r.matches(&json!({"relevant": true, "score": 80, "category": "buying"})));
    assert!(!r.matches(&json!({"relevant": false, "score": 80, "category": "buying"})));
    assert!(!r.matches(&json!({"relevant": true, "score": 69, "category": "buying"})));
    assert!(!r.matches(&json!({"relevant": true, "score": 90, "category": "hiring"})));
    assert!(!r.matches(&json!({"relevant": true, "category": "buying"})));
}

#[test]
fn rules_without_filters_match_every_event_of_their_type() {
    let r = rule(json!({"name": "dead", "event": "job.dead", "destination_ids": [Uuid::now_v7()]}));
    assert!(r.matches(&json!({"job_id": Uuid::nil()})));
}

#[test]
fn bad_rules_name_the_field() {
    let d = Uuid::now_v7();
    let cases = [
        (
            json!({"name": "", "event": "job.dead", "destination_ids": [d]}),
            "name",
        ),
        (
            json!({"name": "x", "event": "job.born", "destination_ids": [d]}),
            "event",
        ),
        (
            json!({"name": "x", "event": "subscription.disabled", "destination_ids": [d]}),
            "event",
        ),
        (
            json!({"name": "x", "event": "job.dead", "destination_ids": []}),
            "destination_ids",
        ),
        (
            json!({"name": "x", "event": "job.dead", "destination_ids": [d], "min_score": 101}),
            "min_score",
        ),
        (
            json!({"name": "x", "event": "job.dead", "destination_ids": [d], "digest_secs": -1}),
            "digest_secs",
        ),
        (
            json!({"name": "x", "event": "job.dead", "destination_ids": [d], "throttle": {"max": 0, "per_secs": 60}}),
            "throttle.max",
        ),
        (
            json!({"name": "x", "event": "job.dead", "destination_ids": [d],
                "quiet_hours": {"start": "22:00:00", "end": "07:00:00", "time_zone": "Mars/Olympus"}}),
            "quiet_hours.time_zone",
        ),
        (
            json!({"name": "x", "event": "job.dead", "destination_ids": [d], "templates": {"fax": "hi"}}),
            "templates.fax",
        ),
    ];
    for (body, path) in cases {
        let e = RuleSpec::try_from(body.clone()).unwrap_err();
        assert_eq!(e.path, path, "{body}: {e}");
    }
}

#[test]
fn quiet_hours_across_midnight_end_the_next_morning_in_their_zone() {
    let q = QuietHours {
        start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
        time_zone: "Europe/Paris".into(),
    };
    // 23:30 in Paris (UTC+1 in winter) is 22:30 UTC.
    let night = "2026-11-30T22:30:00Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        q.until(night),
        Some("2026-12-01T06:00:00Z".parse().unwrap())
    );
    // 03:00 in Paris: the same night's end.
    let early = "2026-12-01T02:00:00Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        q.until(early),
        Some("2026-12-01T06:00:00Z".parse().unwrap())
    );
    // Noon: not quiet.
    let noon = "2026-12-01T11:00:00Z".parse::<DateTime<Utc>>().unwrap();
    assert_eq!(q.until(noon), None);
}
