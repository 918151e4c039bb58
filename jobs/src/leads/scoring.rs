//! Lead scores: five factors, each 0 to 1, weighted per tenant, and the breakdown that says why.
//!
//! `score = round(100 × Σ wᵢ·fᵢ / Σ wᵢ)`, so it is always 0 to 100 (the database checks it
//! too). The factors:
//!
//! | factor | value |
//! |---|---|
//! | `confidence` | the classifier's confidence that the signal is demand: as the `score_lead` job was given it, else the signal's newest stored verdict's probability of relevance; 0 when it was never classified |
//! | `recency` | `0.5 ^ (age / recency_half_life_secs)`, the age counted from the signal's `published_at` (else its ingest time) to the scoring; 1 for a date in the future |
//! | `engagement` | `min(1, ln(1 + e) / ln(1 + 1000))` with `e = likes + 2·reposts + 2·comments + max(points, 0)` as the source reported them at ingest (a log scale that saturates at 1,000 weighted interactions); 0 when the source gives no engagement (feeds and pushes; the API kinds, Reddit listings give it). Its default weight is 0: raise it for tenants whose sources report engagement |
//! | `contact` | 1 when the signal holds at least one valid email or phone number, else 0 |
//! | `source` | the source's record: `(good + 1) / (good + bad + 2)`, where `good` counts its leads that reached `qualified` or `exported` and `bad` those `rejected` (a uniform prior: a new source is 0.5, and one verdict moves it a little) |
//!
//! The weights, the half-life and the region of national phone numbers are the tenant's
//! [`LeadSettings`] (`GET/PATCH /leads/settings`); changing them changes the scores computed
//! after, not the stored ones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::contacts::Region;
use crate::sources::feed::Engagement;
use crate::{
    DomainError, FieldError,
    audit::{self, Actor},
};

/// The largest weight of one factor.
pub const MAX_WEIGHT: f64 = 100.0;

/// A tenant's scoring settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadSettings {
    /// Weight of the classifier's confidence.
    pub weight_confidence: f64,
    /// Weight of recency.
    pub weight_recency: f64,
    /// Weight of engagement.
    pub weight_engagement: f64,
    /// Weight of contact information being present.
    pub weight_contact: f64,
    /// Weight of the source's reliability.
    pub weight_source: f64,
    /// Age, in seconds, at which recency is one half.
    pub recency_half_life_secs: i32,
    /// The region of phone numbers written without a country code.
    pub default_region: Option<String>,
}

impl Default for LeadSettings {
    fn default() -> Self {
        Self {
            weight_confidence: 40.0,
            weight_recency: 20.0,
            weight_engagement: 0.0,
            weight_contact: 25.0,
            weight_source: 15.0,
            recency_half_life_secs: 7 * 24 * 3600,
            default_region: None,
        }
    }
}

impl LeadSettings {
    /// The region of national phone numbers, when set (and still known).
    pub fn region(&self) -> Option<Region> {
        self.default_region
            .as_deref()
            .and_then(|r| Region::parse(r).ok())
    }

    fn total_weight(&self) -> f64 {
        self.weight_confidence
            + self.weight_recency
            + self.weight_engagement
            + self.weight_contact
            + self.weight_source
    }
}

/// The tenant's settings (the defaults when never set).
pub async fn settings(
    conn: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<LeadSettings, DomainError> {
    let row = sqlx::query_as!(
        LeadSettings,
        r#"SELECT weight_confidence, weight_recency, weight_engagement, weight_contact,
                  weight_source, recency_half_life_secs, default_region
           FROM lead_settings WHERE tenant_id = $1"#,
        tenant_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.unwrap_or_default())
}

/// Applies a JSON patch of settings (absent fields stay; `default_region: null` forgets it),
/// with an audit entry, and returns the settings after.
pub async fn update_settings(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    actor: &Actor,
    patch: Value,
) -> Result<LeadSettings, DomainError> {
    const FIELDS: &[&str] = &[
        "weight_confidence",
        "weight_recency",
        "weight_engagement",
        "weight_contact",
        "weight_source",
        "recency_half_life_secs",
        "default_region",
    ];
    let Value::Object(map) = patch else {
        return Err(FieldError::new("", "expected a JSON object").into());
    };
    let before = settings(conn, tenant_id).await?;
    let mut s = before.clone();
    for (name, v) in &map {
        let weight = || match v.as_f64() {
            Some(w) if (0.0..=MAX_WEIGHT).contains(&w) => Ok(w),
            _ => Err(FieldError::new(
                name.as_str(),
                format!("expected a number from 0 to {MAX_WEIGHT}"),
            )),
        };
        match name.as_str() {
            "weight_confidence" => s.weight_confidence = weight()?,
            "weight_recency" => s.weight_recency = weight()?,
            "weight_engagement" => s.weight_engagement = weight()?,
            "weight_contact" => s.weight_contact = weight()?,
            "weight_source" => s.weight_source = weight()?,
            "recency_half_life_secs" => match v.as_i64() {
                Some(n) if (3600..=31_536_000).contains(&n) => s.recency_half_life_secs = n as i32,
                _ => {
                    return Err(FieldError::new(
                        name.as_str(),
                        "expected 3600 to 31536000 seconds",
                    )
                    .into());
                }
            },
            "default_region" => {
                s.default_region = match v {
                    Value::Null => None,
                    Value::String(code) => Some(
                        Region::parse(code.trim())
                            .map_err(|e| e.under(name))?
                            .code()
                            .to_owned(),
                    ),
                    _ => {
                        return Err(FieldError::new(
                            name.as_str(),
                            "expected a region code like US, or null",
                        )
                        .into());
                    }
                };
            }
            other => {
                return Err(FieldError::new(
                    other,
                    format!("unknown field; expected one of {}", FIELDS.join(", ")),
                )
                .into());
            }
        }
    }
    if s.total_weight() <= 0.0 {
        return Err(FieldError::new("", "at least one weight must be above 0").into());
    }
    sqlx::query!(
        r#"INSERT INTO lead_settings (tenant_id, weight_confidence, weight_recency,
                                     weight_engagement, weight_contact, weight_source,
                                     recency_half_life_secs, default_region)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant_id) DO UPDATE SET
               weight_confidence = excluded.weight_confidence,
               weight_recency = excluded.weight_recency,
               weight_engagement = excluded.weight_engagement,
               weight_contact = excluded.weight_contact,
               weight_source = excluded.weight_source,
               recency_half_life_secs = excluded.recency_half_life_secs,
               default_region = excluded.default_region, updated_at = now()"#,
        tenant_id,
        s.weight_confidence,
        s.weight_recency,
        s.weight_engagement,
        s.weight_contact,
        s.weight_source,
        s.recency_half_life_secs,
        s.default_region
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        tenant_id,
        actor,
        audit::Change {
            action: "lead_settings.update",
            target_type: "lead_settings",
            target_id: tenant_id.to_string(),
            before: serde_json::to_value(&before).ok(),
            after: serde_json::to_value(&s).ok(),
        },
    )
    .await?;
    Ok(s)
}

/// One factor of a score, as stored with the lead so a person can see why it scored so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// `confidence`, `recency`, `engagement`, `contact` or `source`.
    pub name: String,
    /// Its value, 0 to 1.
    pub value: f64,
    /// Its weight in the tenant's settings at scoring time.
    pub weight: f64,
    /// What it added to the score: `100 × weight × value / Σ weights`.
    pub points: f64,
    /// Where the value came from.
    pub detail: String,
}

/// A source's verdicts so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceRecord {
    /// Its leads that reached `qualified` or `exported`.
    pub good: i64,
    /// Its leads that were `rejected`.
    pub bad: i64,
}

impl SourceRecord {
    /// `(good + 1) / (good + bad + 2)`: 0.5 with no verdicts.
    pub fn reliability(self) -> f64 {
        (self.good as f64 + 1.0) / ((self.good + self.bad) as f64 + 2.0)
    }
}

/// The verdicts on the leads of `source_id` (every lead it made, soft-deleted ones too).
pub async fn source_record(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    source_id: Uuid,
) -> Result<SourceRecord, DomainError> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status IN ('qualified', 'exported')) AS "good!",
                  count(*) FILTER (WHERE status = 'rejected') AS "bad!"
           FROM leads WHERE tenant_id = $1 AND source_id = $2"#,
        tenant_id,
        source_id
    )
    .fetch_one(conn)
    .await?;
    Ok(SourceRecord {
        good: row.good,
        bad: row.bad,
    })
}

/// What a score is computed from.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The classifier's confidence, 0 to 1, when known.
    pub confidence: Option<f64>,
    /// When the signal was published, when the feed said.
    pub published_at: Option<DateTime<Utc>>,
    /// When it was ingested.
    pub ingested_at: DateTime<Utc>,
    /// When it is scored.
    pub now: DateTime<Utc>,
    /// How many valid contacts it holds.
    pub contacts: usize,
    /// Its source's record.
    pub source: SourceRecord,
    /// Likes, reposts, comments and points, as ingested.
    pub engagement: Engagement,
}

/// Weighted interactions at which the engagement factor reaches 1.
pub const ENGAGEMENT_SATURATION: f64 = 1000.0;

/// The engagement factor (0 to 1) and what it was made of.
pub fn engagement(e: &Engagement) -> (f64, String) {
    if !e.is_known() {
        return (
            0.0,
            "the source gives no engagement for this signal; counted as 0".to_owned(),
        );
    }
    let n = |v: Option<i32>| f64::from(v.unwrap_or(0).max(0));
    let weighted = n(e.likes) + 2.0 * n(e.reposts) + 2.0 * n(e.comments) + n(e.points);
    let value = ((1.0 + weighted).ln() / (1.0 + ENGAGEMENT_SATURATION).ln()).clamp(0.0, 1.0);
    (
        value,
        format!(
            "{} likes, {} reposts, {} comments, {} points: ln(1 + {weighted}) / ln(1 + {ENGAGEMENT_SATURATION})",
            e.likes.unwrap_or(0),
            e.reposts.unwrap_or(0),
            e.comments.unwrap_or(0),
            e.points.unwrap_or(0),
        ),
    )
}

/// The score (0 to 100) and its breakdown.
pub fn score(settings: &LeadSettings, inputs: &Inputs) -> (i16, Vec<Factor>) {
    let total = settings.total_weight();
    let (age_from, age_what) = match inputs.published_at {
        Some(p) => (p, "published"),
        None => (inputs.ingested_at, "ingested (no publication date)"),
    };
    let age_secs = (inputs.now - age_from).num_seconds().max(0) as f64;
    let half_life = f64::from(settings.recency_half_life_secs.max(1));
    let recency = 0.5f64.powf(age_secs / half_life);
    let (engaged, engaged_detail) = engagement(&inputs.engagement);
    let raw = [
        (
            "confidence",
            settings.weight_confidence,
            inputs.confidence.unwrap_or(0.0),
            match inputs.confidence {
                Some(c) => format!("classifier confidence {c:.2}"),
                None => "the signal was never classified; counted as 0".to_owned(),
            },
        ),
        (
            "recency",
            settings.weight_recency,
            recency,
            format!(
                "{age_what} {:.1} hours before scoring; half-life {:.1} hours",
                age_secs / 3600.0,
                half_life / 3600.0
            ),
        ),
        (
            "engagement",
            settings.weight_engagement,
            engaged,
            engaged_detail,
        ),
        (
            "contact",
            settings.weight_contact,
            if inputs.contacts > 0 { 1.0 } else { 0.0 },
            match inputs.contacts {
                0 => "no valid email or phone number in the signal".to_owned(),
                n => format!("{n} valid contact(s) in the signal"),
            },
        ),
        (
            "source",
            settings.weight_source,
            inputs.source.reliability(),
            format!(
                "(good + 1) / (good + bad + 2) with {} qualified or exported and {} rejected",
                inputs.source.good, inputs.source.bad
            ),
        ),
    ];
    let factors: Vec<Factor> = raw
        .into_iter()
        .map(|(name, weight, value, detail)| {
            let value = value.clamp(0.0, 1.0);
            Factor {
                name: name.to_owned(),
                value: round3(value),
                weight,
                points: if total > 0.0 {
                    round3(100.0 * weight * value / total)
                } else {
                    0.0
                },
                detail,
            }
        })
        .collect();
    let weighted: f64 = factors.iter().map(|f| f.weight * f.value).sum();
    let score = if total > 0.0 {
        (100.0 * weighted / total).round().clamp(0.0, 100.0) as i16
    } else {
        0
    };
    (score, factors)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        let now = Utc::now();
        Inputs {
            confidence: Some(1.0),
            published_at: Some(now),
            ingested_at: now,
            now,
            contacts: 1,
            source: SourceRecord { good: 0, bad: 0 },
            engagement: Engagement::default(),
        }
    }

    #[test]
    fn engagement_counts_on_a_log_scale_and_only_when_the_source_gives_it() {
        let (v, detail) = engagement(&Engagement::default());
        assert_eq!(v, 0.0);
        assert!(detail.contains("gives no engagement"), "{detail}");
        let known_zero = Engagement {
            likes: Some(0),
            ..Engagement::default()
        };
        assert_eq!(engagement(&known_zero).0, 0.0);
        let some = Engagement {
            likes: Some(10),
            reposts: Some(2),
            comments: Some(3),
            points: Some(-5),
        };
        // 10 + 2·2 + 2·3 + 0 = 20 weighted interactions.
        let (v, detail) = engagement(&some);
        assert!((v - (21f64).ln() / (1001f64).ln()).abs() < 1e-9, "{v}");
        assert!(
            detail.contains("10 likes, 2 reposts, 3 comments"),
            "{detail}"
        );
        let viral = Engagement {
            points: Some(i32::MAX),
            likes: Some(i32::MAX),
            ..Engagement::default()
        };
        assert_eq!(engagement(&viral).0, 1.0, "saturates at 1");
        let mut i = inputs();
        let weighted = LeadSettings {
            weight_engagement: 10.0,
            ..LeadSettings::default()
        };
        let (without, _) = score(&weighted, &i);
        i.engagement = Engagement {
            points: Some(1000),
            ..Engagement::default()
        };
        let (with, factors) = score(&weighted, &i);
        assert!(with > without, "{with} > {without}");
        assert_eq!(factors[2].value, 1.0);
    }

    #[test]
    fn a_perfect_signal_scores_by_its_weights_and_the_sum_of_points_is_the_score() {
        let (s, factors) = score(&LeadSettings::default(), &inputs());
        // 40 + 20 + 0 + 25 + 15 × 0.5 = 92.5 → 93
        assert_eq!(s, 93);
        let points: f64 = factors.iter().map(|f| f.points).sum();
        assert!((points - 92.5).abs() < 0.01, "{points}");
        assert_eq!(
            factors.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["confidence", "recency", "engagement", "contact", "source"]
        );
    }

    #[test]
    fn scores_stay_within_0_and_100_whatever_the_inputs() {
        let mut i = inputs();
        for confidence in [None, Some(-3.0), Some(0.0), Some(0.5), Some(7.0)] {
            for age_days in [-30i64, 0, 1, 365, 100_000] {
                for contacts in [0, 3] {
                    for (good, bad) in [(0, 0), (100, 0), (0, 100)] {
                        i.confidence = confidence;
                        i.published_at = Some(i.now - chrono::Duration::days(age_days));
                        i.contacts = contacts;
                        i.source = SourceRecord { good, bad };
                        let (s, f) = score(&LeadSettings::default(), &i);
                        assert!((0..=100).contains(&s), "{s}");
                        assert!(f.iter().all(|f| (0.0..=1.0).contains(&f.value)));
                    }
                }
            }
        }
    }

    #[test]
    fn weights_change_the_score() {
        let mut i = inputs();
        i.confidence = None;
        let (default, _) = score(&LeadSettings::default(), &i);
        let only_confidence = LeadSettings {
            weight_confidence: 100.0,
            weight_recency: 0.0,
            weight_engagement: 0.0,
            weight_contact: 0.0,
            weight_source: 0.0,
            ..LeadSettings::default()
        };
        let (s, factors) = score(&only_confidence, &i);
        assert_eq!(s, 0, "only the missing confidence counts");
        assert!(factors[0].detail.contains("never classified"));
        let only_contact = LeadSettings {
            weight_confidence: 0.0,
            weight_contact: 100.0,
            ..only_confidence
        };
        assert_eq!(score(&only_contact, &i).0, 100);
        assert_ne!(default, 0);
    }

    #[test]
    fn recency_halves_every_half_life_and_falls_back_to_ingest_time() {
        let settings = LeadSettings {
            weight_confidence: 0.0,
            weight_recency: 1.0,
            weight_engagement: 0.0,
            weight_contact: 0.0,
            weight_source: 0.0,
            recency_half_life_secs: 3600,
            default_region: None,
        };
        let mut i = inputs();
        i.published_at = Some(i.now - chrono::Duration::hours(1));
        assert_eq!(score(&settings, &i).0, 50);
        i.published_at = Some(i.now - chrono::Duration::hours(2));
        assert_eq!(score(&settings, &i).0, 25);
        i.published_at = None;
        i.ingested_at = i.now - chrono::Duration::hours(1);
        let (s, f) = score(&settings, &i);
        assert_eq!(s, 50);
        assert!(f[1].detail.contains("ingested"), "{}", f[1].detail);
    }

    #[test]
    fn a_new_source_is_one_half_and_verdicts_move_it() {
        assert_eq!(SourceRecord::default().reliability(), 0.5);
        assert!(SourceRecord { good: 1, bad: 0 }.reliability() > 0.5);
        assert!(SourceRecord { good: 0, bad: 1 }.reliability() < 0.5);
        assert_eq!(SourceRecord { good: 8, bad: 0 }.reliability(), 0.9);
    }
}
