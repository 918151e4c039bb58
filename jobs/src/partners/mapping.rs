//! A partner's response mapping: a small declarative reading of its answer — rules over the
//! HTTP status and JSON body, first match wins — deciding `accepted`, `rejected`, `duplicate`
//! or `error`, and extracting the partner's lead id, the price and (for pings) a bid id.
//!
//! ```json
//! {"rules": [
//!    {"when": {"status": 200, "path": "/result", "equals": "accepted"},
//!     "outcome": "accepted", "lead_id": "/lead_id", "price": "/price"},
//!    {"when": {"path": "$.result", "in": ["dupe", "duplicate"]}, "outcome": "duplicate"},
//!    {"when": {"status": "4xx"}, "outcome": "rejected"}],
//!  "default": "error"}
//! ```
//!
//! Paths are JSON pointers (`/a/0/b`) or the `$.a.b` shorthand; a condition is a status (a
//! number, `"2xx"`, or `{"min", "max"}`), a path with `equals` or `in` (or only `exists`), or
//! both. Prices are decimal amounts in the partner's currency (`12.5`, `"12.50"`), read into
//! integer cents without floating point. This is data, not code: no loops, no calls, bounded in
//! size; it never panics on a hostile body.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{FieldError, kinds::from_value};

crate::named_enum! {
    /// What a partner's answer means.
    pub enum Verdict {
        /// The partner took the lead (or, for a ping, bid on it).
        Accepted = "accepted",
        /// The partner does not want it; never post it to this partner again.
        Rejected = "rejected",
        /// The partner has it already; never post it to this partner again.
        Duplicate = "duplicate",
        /// Something failed that may pass: try again with the same idempotency key.
        Error = "error",
    }
}

/// The most rules of one mapping.
pub const MAX_RULES: usize = 20;
/// The most values of one `in` set.
pub const MAX_SET: usize = 20;
const MAX_PATH: usize = 200;

/// A status condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StatusMatch {
    /// Exactly this status.
    Exact(u16),
    /// A class: `"2xx"`, `"4xx"`.
    Class(String),
    /// A range, both ends included.
    Range {
        /// The lowest status.
        min: u16,
        /// The highest status.
        max: u16,
    },
}

impl StatusMatch {
    fn matches(&self, status: u16) -> bool {
        match self {
            StatusMatch::Exact(s) => *s == status,
            StatusMatch::Class(c) => c
                .as_bytes()
                .first()
                .and_then(|d| d.checked_sub(b'0'))
                .is_some_and(|d| u16::from(d) == status / 100),
            StatusMatch::Range { min, max } => (*min..=*max).contains(&status),
        }
    }

    fn check(&self) -> Result<(), FieldError> {
        let ok = match self {
            StatusMatch::Exact(s) => (100..=599).contains(s),
            StatusMatch::Class(c) => {
                c.len() == 3 && c.ends_with("xx") && matches!(c.as_bytes()[0], b'1'..=b'5')
            }
            StatusMatch::Range { min, max } => min <= max && *min >= 100 && *max <= 599,
        };
        if ok {
            Ok(())
        } else {
            Err(FieldError::new(
                "status",
                "expected a status (100 to 599), a class such as \"2xx\", or {min, max}",
            ))
        }
    }
}

/// When a rule applies: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// The status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusMatch>,
    /// A path into the JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The value at `path` equals this (strings compare case-insensitively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// The value at `path` is one of these.
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub in_set: Option<Vec<Value>>,
}

/// One rule: a condition, the verdict, and where to read what the answer says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// When it applies (`{}`: always).
    #[serde(default)]
    pub when: When,
    /// What the answer means.
    pub outcome: Verdict,
    /// Where the partner's lead id is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<String>,
    /// Where the price is (a decimal amount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// Where a ping's bid id is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_id: Option<String>,
    /// Where the reason of a refusal is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A partner's mapping: its rules, and the verdict when none applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// First match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// When no rule applies: by default the status decides (2xx accepted, 409 duplicate,
    /// 408/425/429 and 5xx error, other 4xx rejected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Verdict>,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            rules: vec![Rule {
                when: When {
                    status: Some(StatusMatch::Class("2xx".into())),
                    ..When::default()
                },
                outcome: Verdict::Accepted,
                lead_id: Some("/lead_id".into()),
                price: Some("/price".into()),
                bid_id: Some("/bid_id".into()),
                reason: None,
            }],
            default: None,
        }
    }
}

/// What an answer said, once mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The verdict.
    pub verdict: Verdict,
    /// The partner's lead id.
    pub lead_id: Option<String>,
    /// The price in cents.
    pub price_cents: Option<i64>,
    /// A ping's bid id.
    pub bid_id: Option<String>,
    /// Why it was refused.
    pub reason: Option<String>,
}

/// A path written as a JSON pointer (`/a/0`) or `$.a.0`, as a pointer.
fn pointer(path: &str) -> Option<String> {
    if path.len() > MAX_PATH {
        return None;
    }
    if path.is_empty() || path.starts_with('/') {
        return Some(path.to_owned());
    }
    let rest = path.strip_prefix('$')?;
    if rest.is_empty() {
        return Some(String::new());
    }
    let rest = rest.strip_prefix('.')?;
    if rest.split('.').any(str::is_empty) {
        return None;
    }
    Some(
        rest.split('.')
            .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
            .collect(),
    )
}

fn lookup<'a>(body: Option<&'a Value>, path: &str) -> Option<&'a Value> {
    body?.pointer(&pointer(path)?)
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn text_at(body: Option<&Value>, path: Option<&String>, max: usize) -> Option<String> {
    let v = lookup(body, path?)?;
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let s: String = crate::text::storable(s.trim()).chars().take(max).collect();
    (!s.is_empty()).then_some(s)
}

/// A decimal amount (`12`, `12.5`, `"12.50"`) as integer cents, rounded half up past two
/// decimals; `None` when it is not a non-negative amount below a trillion.
pub fn cents(value: &Value) -> Option<i64> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || whole.len() > 12
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 12
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let digits: Vec<i64> = frac.bytes().map(|b| i64::from(b - b'0')).collect();
    let mut c = whole * 100
        + digits.first().copied().unwrap_or(0) * 10
        + digits.get(1).copied().unwrap_or(0);
    if digits.get(2).copied().unwrap_or(0) >= 5 {
        c += 1;
    }
    Some(c)
}

impl Mapping {
    /// Parses and checks a mapping as a partner's settings carry it.
    pub fn parse(value: Value) -> Result<Self, FieldError> {
        let m: Mapping = from_value(value)?;
        m.check()?;
        Ok(m)
    }

    /// Checks sizes, statuses and paths.
    pub fn check(&self) -> Result<(), FieldError> {
        if self.rules.len() > MAX_RULES {
            return Err(FieldError::new(
                "rules",
                format!("at most {MAX_RULES} rules"),
            ));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let at = |e: FieldError| e.under(&format!("rules[{i}]"));
            if let Some(s) = &rule.when.status {
                s.check().map_err(|e| at(e.under("when")))?;
            }
            let w = &rule.when;
            if (w.equals.is_some() || w.in_set.is_some()) && w.path.is_none() {
                return Err(at(FieldError::new(
                    "when.path",
                    "`equals` and `in` need a `path`",
                )));
            }
            if w.equals.is_some() && w.in_set.is_some() {
                return Err(at(FieldError::new(
                    "when",
                    "give `equals` or `in`, not both",
                )));
            }
            if w.in_set
                .as_ref()
                .is_some_and(|s| s.is_empty() || s.len() > MAX_SET)
            {
                return Err(at(FieldError::new(
                    "when.in",
                    format!("expected 1 to {MAX_SET} values"),
                )));
            }
            for (name, path) in [
                ("when.path", &w.path),
                ("lead_id", &rule.lead_id),
                ("price", &rule.price),
                ("bid_id", &rule.bid_id),
                ("reason", &rule.reason),
            ] {
                if path.as_deref().is_some_and(|p| pointer(p).is_none()) {
                    return Err(at(FieldError::new(
                        name,
                        "expected a JSON pointer (/a/0/b) or $.a.b, at most 200 bytes",
                    )));
                }
            }
        }
        Ok(())
    }

    /// Reads an answer: `status` and its body (JSON or not).
    pub fn read(&self, status: u16, body: &[u8]) -> Reading {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let json = json.as_ref();
        for rule in &self.rules {
            if !rule.when.status.as_ref().is_none_or(|s| s.matches(status)) {
                continue;
            }
            if let Some(path) = &rule.when.path {
                let Some(v) = lookup(json, path) else {
                    continue;
                };
                if rule.when.equals.as_ref().is_some_and(|e| !same(v, e)) {
                    continue;
                }
                if rule
                    .when
                    .in_set
                    .as_ref()
                    .is_some_and(|set| !set.iter().any(|e| same(v, e)))
                {
                    continue;
                }
            }
            return Reading {
                verdict: rule.outcome,
                lead_id: text_at(json, rule.lead_id.as_ref(), 200),
                price_cents: rule
                    .price
                    .as_ref()
                    .and_then(|p| lookup(json, p))
                    .and_then(cents),
                bid_id: text_at(json, rule.bid_id.as_ref(), 200),
                reason: text_at(json, rule.reason.as_ref(), 200),
            };
        }
        Reading {
            verdict: self.default.unwrap_or(by_status(status)),
            lead_id: None,
            price_cents: None,
            bid_id: None,
            reason: None,
        }
    }
}

/// The verdict of a status no rule read.
pub fn by_status(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Accepted,
        409 => Verdict::Duplicate,
        408 | 425 | 429 => Verdict::Error,
        400..=499 => Verdict::Rejected,
        _ => Verdict::Error,
    }
}
