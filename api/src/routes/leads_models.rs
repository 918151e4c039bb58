//! The JSON of `/leads` and of the `score_lead` job, as OpenAPI schemas.
//!
//! Like the other bodies, request bodies are read as raw JSON and parsed by the domain
//! (`jobs::leads`), which names the path of an invalid field; the `*Schema` types only
//! document them.

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use uuid::Uuid;

use jobs::leads::{self, gdpr, scoring};

use crate::{models::JobOptions, routes::sources_models::Signal};

/// Where a lead is in its life: `new → contacted → qualified → exported`, `new → qualified`,
/// any but `exported` to `rejected`, `rejected → new`, and `exported → returned` (a partner's
/// return), from where it can be qualified or rejected again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "LeadStatus", rename_all = "snake_case")]
pub enum LeadStatusName {
    /// Just found.
    New,
    /// Someone reached out.
    Contacted,
    /// Judged worth selling to.
    Qualified,
    /// Handed on, and confirmed by the partner.
    Exported,
    /// Sold, then returned by the partner.
    Returned,
    /// Not a lead after all.
    Rejected,
}

/// One factor of a score: why the lead scored as it did.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "LeadFactor")]
pub struct Factor {
    /// `confidence`, `recency`, `engagement`, `contact` or `source`.
    pub name: String,
    /// Its value, 0 to 1.
    pub value: f64,
    /// Its weight at scoring time.
    pub weight: f64,
    /// What it added to the score: `100 × weight × value / Σ weights`.
    pub points: f64,
    /// Where the value came from.
    pub detail: String,
}

fn factors(v: serde_json::Value) -> Vec<Factor> {
    serde_json::from_value::<Vec<scoring::Factor>>(v)
        .unwrap_or_default()
        .into_iter()
        .map(|f| Factor {
            name: f.name,
            value: f.value,
            weight: f.weight,
            points: f.points,
            detail: f.detail,
        })
        .collect()
}

/// A lead.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "Lead")]
pub struct Lead {
    /// Its id (UUIDv7: sorts by creation time).
    pub id: Uuid,
    /// The first email address found (the domain lower-cased).
    pub email: Option<String>,
    /// The first phone number found, in E.164.
    pub phone: Option<String>,
    /// Where it is in its life.
    pub status: String,
    /// The best score of its signals, 0 to 100.
    pub score: i16,
    /// That signal's factors: the score is the rounded sum of their `points`.
    pub factors: Vec<Factor>,
    /// The source of the signal that made it.
    pub source_id: Option<Uuid>,
    /// The latest classification category it was scored with.
    pub category: Option<String>,
    /// How many signals it has.
    pub signal_count: i64,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was last scored.
    pub scored_at: DateTime<Utc>,
    /// When it was soft-deleted (only in a GDPR export).
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<leads::Lead> for Lead {
    fn from(l: leads::Lead) -> Self {
        Self {
            id: l.id,
            email: l.email,
            phone: l.phone,
            status: l.status.as_str().to_owned(),
            score: l.score,
            factors: factors(l.factors),
            source_id: l.source_id,
            category: l.category,
            signal_count: l.signal_count,
            created_at: l.created_at,
            updated_at: l.updated_at,
            scored_at: l.scored_at,
            deleted_at: l.deleted_at,
        }
    }
}

/// A contact of a lead.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "LeadContact")]
pub struct LeadContact {
    /// `email` or `phone`.
    pub kind: String,
    /// The address, or the number in E.164.
    pub value: String,
}

/// One signal of a lead, with its own score.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "LeadSignal")]
pub struct LeadSignal {
    /// The signal.
    pub signal_id: Uuid,
    /// Its score.
    pub score: i16,
    /// Its factors.
    pub factors: Vec<Factor>,
    /// The category it was scored with.
    pub category: Option<String>,
    /// When it was scored.
    pub scored_at: DateTime<Utc>,
}

/// A lead with every contact it owns and its signals (best score first).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "LeadDetail")]
pub struct LeadDetail {
    /// The lead.
    #[oai(flatten)]
    pub lead: Lead,
    /// Its contacts.
    pub contacts: Vec<LeadContact>,
    /// Its signals.
    pub signals: Vec<LeadSignal>,
}

impl From<leads::LeadDetail> for LeadDetail {
    fn from(d: leads::LeadDetail) -> Self {
        Self {
            lead: d.lead.into(),
            contacts: d
                .contacts
                .into_iter()
                .map(|c| LeadContact {
                    kind: c.kind.as_str().to_owned(),
                    value: c.value,
                })
                .collect(),
            signals: d
                .signals
                .into_iter()
                .map(|s| LeadSignal {
                    signal_id: s.signal_id,
                    score: s.score,
                    factors: factors(s.factors),
                    category: s.category,
                    scored_at: s.scored_at,
                })
                .collect(),
        }
    }
}

/// A page of leads, newest first.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "LeadPage")]
pub struct LeadPage {
    /// The leads.
    pub items: Vec<Lead>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<Uuid>,
}

/// A move of a lead to another status.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "LeadStatusChange")]
pub struct StatusChangeSchema {
    /// The status to move to.
    pub status: LeadStatusName,
    /// Why, at most 200 characters (kept in the audit log).
    pub reason: Option<String>,
}

/// A tenant's scoring settings.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "LeadSettings")]
pub struct LeadSettings {
    /// Weight of the classifier's confidence (0 to 100; default 40).
    pub weight_confidence: f64,
    /// Weight of recency (default 20).
    pub weight_recency: f64,
    /// Weight of engagement (default 0: ingest keeps no engagement yet, so it is always 0).
    pub weight_engagement: f64,
    /// Weight of a valid email or phone number being present (default 25).
    pub weight_contact: f64,
    /// Weight of the source's record of qualified against rejected leads (default 15).
    pub weight_source: f64,
    /// Age in seconds at which recency is one half (3600 to 31536000; default 7 days).
    pub recency_half_life_secs: i32,
    /// ISO 3166 region of phone numbers written without a country code (`US`, `GB`); without
    /// it such numbers are not taken as contacts.
    pub default_region: Option<String>,
}

impl From<scoring::LeadSettings> for LeadSettings {
    fn from(s: scoring::LeadSettings) -> Self {
        Self {
            weight_confidence: s.weight_confidence,
            weight_recency: s.weight_recency,
            weight_engagement: s.weight_engagement,
            weight_contact: s.weight_contact,
            weight_source: s.weight_source,
            recency_half_life_secs: s.recency_half_life_secs,
            default_region: s.default_region,
        }
    }
}

/// A change to the scoring settings; absent fields stay as they are. At least one weight must
/// stay above 0.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "LeadSettingsPatch")]
pub struct LeadSettingsPatchSchema {
    /// 0 to 100.
    pub weight_confidence: Option<f64>,
    /// 0 to 100.
    pub weight_recency: Option<f64>,
    /// 0 to 100.
    pub weight_engagement: Option<f64>,
    /// 0 to 100.
    pub weight_contact: Option<f64>,
    /// 0 to 100.
    pub weight_source: Option<f64>,
    /// 3600 to 31536000.
    pub recency_half_life_secs: Option<i32>,
    /// A region code, or null to forget it.
    pub default_region: Option<String>,
}

/// The person a GDPR request is about: exactly one of `email` and `phone`.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "GdprSubject")]
pub struct GdprSubjectSchema {
    /// An email address.
    pub email: Option<String>,
    /// A phone number: international (`+44 20 7946 0958`), or national in the tenant's
    /// `default_region`.
    pub phone: Option<String>,
}

/// Everything held about one contact.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "GdprExport")]
pub struct GdprExport {
    /// The contact, normalised.
    pub contact: String,
    /// The lead that owns it and the leads of signals naming it (soft-deleted ones too).
    pub leads: Vec<LeadDetail>,
    /// The signals of those leads that name it or belong to its owner (soft-deleted ones too).
    pub signals: Vec<Signal>,
}

impl From<gdpr::Held> for GdprExport {
    fn from(h: gdpr::Held) -> Self {
        Self {
            contact: h.contact,
            leads: h.leads.into_iter().map(LeadDetail::from).collect(),
            signals: h.signals.into_iter().map(Signal::from).collect(),
        }
    }
}

/// What a GDPR erase removed.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "GdprErased")]
pub struct GdprErased {
    /// Leads deleted for good.
    pub leads: u64,
    /// Signals deleted for good.
    pub signals: u64,
    /// Job results, finished jobs' args and workflow step outputs scrubbed of the contact.
    pub scrubbed: u64,
}

impl From<gdpr::Erased> for GdprErased {
    fn from(e: gdpr::Erased) -> Self {
        Self {
            leads: e.leads,
            signals: e.signals,
            scrubbed: e.scrubbed,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The score_lead job, in the `NewJob` union

/// A `score_lead` job: make (or update) the lead of one signal.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "ScoreLeadJob")]
pub struct ScoreLeadJob {
    /// The signal and what its classifier said.
    pub args: ScoreLeadArgs,
    /// Options every kind takes.
    #[oai(flatten)]
    pub options: JobOptions,
}

/// Args of a `score_lead` job.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "ScoreLeadArgs")]
pub struct ScoreLeadArgs {
    /// A signal of the caller's tenant.
    pub signal_id: Uuid,
    /// The classifier's confidence, 0 to 1 (absent counts as 0).
    #[oai(validator(minimum(value = "0"), maximum(value = "1")))]
    pub confidence: Option<f64>,
    /// The classifier's category, 1 to 100 characters.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub category: Option<String>,
}
