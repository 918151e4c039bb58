//! A partner's settings as a user writes them, parsed into what may be shown ([`Config`] and
//! the routing columns) and what is sealed ([`Secrets`]: the auth's token, password or HMAC key,
//! and the postback secret).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::mapping::Mapping;
use crate::{
    FieldError,
    deliveries::{
        channels::{self, generate_signing_secret},
        render,
    },
    kinds::from_value,
    secrets::{self, SecretError},
};

/// The purpose [`Secrets`] are sealed for ([`crate::secrets::seal`]).
pub const CREDENTIALS_PURPOSE: &str = "partners.credentials";
/// The most fields of one body template.
pub const MAX_FIELDS: usize = 50;
/// Longest name.
pub const MAX_NAME: usize = 100;
/// Highest pace, requests a minute across the fleet.
pub const MAX_RATE_PER_MIN: i32 = 6000;
/// The pace when none is given.
pub const DEFAULT_RATE_PER_MIN: i32 = 60;

crate::named_enum! {
    /// How a lead is offered.
    pub enum Mode {
        /// One post with the full lead.
        Direct = "direct",
        /// An anonymised ping (score, category, region) for a bid, then the post with its id.
        PingPost = "ping_post",
    }
}

crate::named_enum! {
    /// How a body is encoded.
    pub enum Format {
        /// `application/json`.
        Json = "json",
        /// `application/x-www-form-urlencoded`.
        Form = "form",
    }
}

crate::named_enum! {
    /// How a sale is confirmed.
    pub enum Confirmation {
        /// The post's mapped answer confirms it.
        Sync = "sync",
        /// The post's answer says "received"; a signed postback confirms the sale later.
        Postback = "postback",
    }
}

crate::named_enum! {
    /// How requests to a partner are authenticated.
    pub enum AuthKind {
        /// No credentials.
        None = "none",
        /// A token in a header (`Authorization: Bearer …`, or a header of the partner's).
        Header = "header",
        /// HTTP basic authentication.
        Basic = "basic",
        /// `X-Demandflow-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
        Hmac = "hmac",
    }
}

/// What may be shown of a partner's settings (stored as `config`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Where the lead is posted.
    pub post_url: String,
    /// Where pings go (`ping_post` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_url: Option<String>,
    /// The bodies' encoding.
    pub format: Format,
    /// The post's body: field name → template (nested objects for JSON).
    pub template: Value,
    /// The ping's body (default: `score`, `category`, `region`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_template: Option<Value>,
    /// How the post's answer is read.
    pub mapping: Mapping,
    /// How the ping's answer is read (default: as the post's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_mapping: Option<Mapping>,
    /// How sales are confirmed.
    pub confirmation: Confirmation,
    /// The auth's kind.
    pub auth: AuthKind,
    /// The header of `header` auth (`Authorization` by default, then sent as `Bearer <token>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_header: Option<String>,
    /// The user of `basic` auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<String>,
}

/// A partner's secrets: sealed as one JSON document, opened only to send and to verify
/// postbacks. `Debug` never shows them.
#[derive(Clone, Deserialize)]
pub struct Secrets {
    /// The token, password or HMAC key of the auth.
    #[serde(default)]
    pub auth: Option<SecretString>,
    /// The key postbacks are signed with.
    pub postback_secret: SecretString,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets").finish_non_exhaustive()
    }
}

impl Secrets {
    /// The secrets as one sealed string, for storage ([`CREDENTIALS_PURPOSE`]).
    pub fn seal(&self) -> Result<String, SecretError> {
        let doc = json!({
            "auth": self.auth.as_ref().map(|s| s.expose_secret().to_owned()),
            "postback_secret": self.postback_secret.expose_secret(),
        });
        secrets::seal(CREDENTIALS_PURPOSE, &doc.to_string())
    }

    /// The secrets opened from their sealed string.
    pub fn open(stored: &str) -> Result<Self, SecretError> {
        let json = secrets::open(CREDENTIALS_PURPOSE, stored)?;
        serde_json::from_str(json.expose_secret()).map_err(|_| SecretError::Corrupt)
    }
}

/// Which leads go to a partner, and in which order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// Lower is asked first (the waterfall's order).
    #[serde(default = "default_priority")]
    pub priority: i32,
    /// The lowest score taken.
    #[serde(default)]
    pub min_score: i16,
    /// The highest score taken.
    #[serde(default = "default_max_score")]
    pub max_score: i16,
    /// Only these categories (none: any).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Only leads of these regions (ISO 3166 of the phone number; none: any).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Bought exclusively: a lead sold here is sold nowhere else.
    #[serde(default = "yes")]
    pub exclusive: bool,
}

fn default_priority() -> i32 {
    100
}
fn default_max_score() -> i16 {
    100
}
fn yes() -> bool {
    true
}

impl Default for Routing {
    fn default() -> Self {
        Self {
            priority: default_priority(),
            min_score: 0,
            max_score: default_max_score(),
            categories: Vec::new(),
            regions: Vec::new(),
            exclusive: true,
        }
    }
}

/// The auth as a user writes it.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum AuthInput {
    None,
    Header {
        #[serde(default)]
        header: Option<String>,
        token: SecretString,
    },
    Basic {
        username: String,
        password: SecretString,
    },
    Hmac {
        secret: SecretString,
    },
}

/// A partner's settings as a user writes them (every field optional in a patch).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    post_url: Option<String>,
    #[serde(default)]
    ping_url: Option<String>,
    #[serde(default)]
    format: Option<Format>,
    #[serde(default)]
    template: Option<Value>,
    #[serde(default)]
    ping_template: Option<Value>,
    #[serde(default)]
    mapping: Option<Value>,
    #[serde(default)]
    ping_mapping: Option<Value>,
    #[serde(default)]
    confirmation: Option<Confirmation>,
    #[serde(default)]
    auth: Option<AuthInput>,
    #[serde(default)]
    rate_limit_per_min: Option<i32>,
    #[serde(default)]
    daily_cap: Option<i32>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    routing: Option<Routing>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// A partner, checked: what is stored.
#[derive(Debug, Clone)]
pub struct PartnerSpec {
    /// Its name.
    pub name: String,
    /// Direct or ping/post.
    pub mode: Mode,
    /// Public settings.
    pub config: Config,
    /// Requests a minute.
    pub rate_limit_per_min: i32,
    /// Leads a UTC day (none: no cap).
    pub daily_cap: Option<i32>,
    /// The currency of its prices.
    pub currency: String,
    /// Which leads, in which order.
    pub routing: Routing,
    /// Whether leads go to it.
    pub enabled: bool,
}

/// What a lead looks like to templates at save time.
pub fn sample_context() -> Value {
    json!({
        "lead": {"id": "0190c0de-0000-7000-8000-000000000000", "score": 82, "category": "solar",
                 "region": "US", "email": "jane@example.com", "phone": "+14155550100",
                 "status": "qualified", "created_at": "2026-11-30T12:00:00Z"},
        "contacts": [{"kind": "email", "value": "jane@example.com"},
                     {"kind": "phone", "value": "+14155550100"}],
        "export": {"id": "0190c0de-0000-7000-8000-000000000001"},
        "bid_id": "bid-1",
    })
}

/// Checks a body template: an object of at most [`MAX_FIELDS`] string leaves (nested objects
/// and arrays for JSON; flat for forms), each a field template within the render budget, all
/// together within [`render::MAX_TEMPLATE_BYTES`].
pub fn check_body(template: &Value, format: Format) -> Result<(), FieldError> {
    let Value::Object(_) = template else {
        return Err(FieldError::new("", "expected an object of field templates"));
    };
    if template.to_string().len() > render::MAX_TEMPLATE_BYTES {
        return Err(FieldError::new(
            "",
            format!("longer than {} bytes", render::MAX_TEMPLATE_BYTES),
        ));
    }
    let mut leaves = 0;
    check_leaves(template, format, "", 0, &mut leaves)
}

fn check_leaves(
    v: &Value,
    format: Format,
    path: &str,
    depth: usize,
    leaves: &mut usize,
) -> Result<(), FieldError> {
    if depth > 4 {
        return Err(FieldError::new(path, "nested deeper than 4 levels"));
    }
    match v {
        Value::String(source) => {
            *leaves += 1;
            if *leaves > MAX_FIELDS {
                return Err(FieldError::new(
                    path,
                    format!("more than {MAX_FIELDS} fields"),
                ));
            }
            render::check_field_template(source, &sample_context()).map_err(|e| e.under(path))
        }
        Value::Object(map) if depth == 0 || format == Format::Json => {
            for (k, child) in map {
                if k.is_empty() || k.len() > 100 {
                    return Err(FieldError::new(path, "field names are 1 to 100 bytes"));
                }
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                check_leaves(child, format, &at, depth + 1, leaves)?;
            }
            Ok(())
        }
        Value::Array(items) if format == Format::Json => {
            for (i, child) in items.iter().enumerate() {
                check_leaves(child, format, &format!("{path}[{i}]"), depth + 1, leaves)?;
            }
            Ok(())
        }
        Value::Number(_) | Value::Bool(_) | Value::Null if format == Format::Json => Ok(()),
        _ => Err(FieldError::new(
            path,
            "expected a template string (forms are flat: name → template)",
        )),
    }
}

fn default_ping_template() -> Value {
    json!({"score": "{{ lead.score }}", "category": "{{ lead.category }}",
           "region": "{{ lead.region }}"})
}

/// The ping's body template of `config`.
pub fn ping_template(config: &Config) -> Value {
    config
        .ping_template
        .clone()
        .unwrap_or_else(default_ping_template)
}

fn check_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            format!("expected 1 to {MAX_NAME} printable characters"),
        ));
    }
    Ok(name.to_owned())
}

fn check_routing(r: &Routing) -> Result<(), FieldError> {
    let at = |e: FieldError| e.under("routing");
    for (name, v) in [("min_score", r.min_score), ("max_score", r.max_score)] {
        if !(0..=100).contains(&v) {
            return Err(at(FieldError::new(name, "expected 0 to 100")));
        }
    }
    if r.min_score > r.max_score {
        return Err(at(FieldError::new(
            "max_score",
            "must be at least `min_score`",
        )));
    }
    if !(-1_000_000..=1_000_000).contains(&r.priority) {
        return Err(at(FieldError::new(
            "priority",
            "expected -1000000 to 1000000",
        )));
    }
    if r.categories.len() > 50 || r.categories.iter().any(|c| c.is_empty() || c.len() > 100) {
        return Err(at(FieldError::new(
            "categories",
            "at most 50 names of 1 to 100 bytes",
        )));
    }
    if r.regions.len() > 250
        || r.regions
            .iter()
            .any(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(at(FieldError::new(
            "regions",
            "expected two-letter ISO 3166 regions in upper case, like US or GB",
        )));
    }
    Ok(())
}

fn check_header_name(name: &str) -> Result<(), FieldError> {
    let bad = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
        || name.len() > 100
        || ["host", "content-type", "content-length", "idempotency-key"]
            .contains(&name.to_ascii_lowercase().as_str());
    if bad {
        return Err(FieldError::new(
            "auth.header",
            "expected a header name (not Host, Content-Type, Content-Length or Idempotency-Key)",
        ));
    }
    Ok(())
}

fn check_secret(path: &str, s: &SecretString) -> Result<(), FieldError> {
    let s = s.expose_secret();
    if s.is_empty() || s.len() > 1024 || s.chars().any(char::is_control) {
        return Err(FieldError::new(
            path,
            "expected 1 to 1024 printable characters",
        ));
    }
    Ok(())
}

/// Parses a partner (a creation when `current` is none; a patch over `current` and its
/// secrets otherwise: every field given replaces the stored one, `auth` replaces the auth and
/// its secret, the postback secret stays). Returns the spec and the secrets (a creation's
/// postback secret is new: show it once).
pub fn parse(
    value: Value,
    current: Option<(&PartnerSpec, Secrets)>,
    allow_private: bool,
) -> Result<(PartnerSpec, Secrets), FieldError> {
    if let Some(path) = crate::text::find_nul(&value) {
        return Err(FieldError::new(path, "must not contain NUL characters"));
    }
    let i: Input = from_value(value)?;
    let base = current.as_ref().map(|(s, _)| *s);
    let required = |name: &str| FieldError::new(name, "required");
    let name = match (&i.name, base) {
        (Some(n), _) => check_name(n)?,
        (None, Some(b)) => b.name.clone(),
        (None, None) => return Err(required("name")),
    };
    let mode = i
        .mode
        .or(base.map(|b| b.mode))
        .ok_or_else(|| required("mode"))?;
    let post_url = match (&i.post_url, base) {
        (Some(u), _) => channels::check_url("post_url", u, allow_private)?.to_string(),
        (None, Some(b)) => b.config.post_url.clone(),
        (None, None) => return Err(required("post_url")),
    };
    let ping_url = match (&i.ping_url, base) {
        (Some(u), _) => Some(channels::check_url("ping_url", u, allow_private)?.to_string()),
        (None, Some(b)) => b.config.ping_url.clone(),
        (None, None) => None,
    };
    match (mode, &ping_url) {
        (Mode::PingPost, None) => {
            return Err(FieldError::new("ping_url", "required in ping_post mode"));
        }
        (Mode::Direct, Some(_)) if i.ping_url.is_some() => {
            return Err(FieldError::new("ping_url", "only in ping_post mode"));
        }
        _ => {}
    }
    let format = i
        .format
        .or(base.map(|b| b.config.format))
        .unwrap_or(Format::Json);
    let template = i
        .template
        .or(base.map(|b| b.config.template.clone()))
        .ok_or_else(|| required("template"))?;
    check_body(&template, format).map_err(|e| e.under("template"))?;
    let ping_template = i
        .ping_template
        .or(base.and_then(|b| b.config.ping_template.clone()));
    if let Some(t) = &ping_template {
        check_body(t, format).map_err(|e| e.under("ping_template"))?;
    }
    let mapping = match (i.mapping, base) {
        (Some(m), _) => Mapping::parse(m).map_err(|e| e.under("mapping"))?,
        (None, Some(b)) => b.config.mapping.clone(),
        (None, None) => Mapping::default(),
    };
    let ping_mapping = match (i.ping_mapping, base) {
        (Some(m), _) => Some(Mapping::parse(m).map_err(|e| e.under("ping_mapping"))?),
        (None, Some(b)) => b.config.ping_mapping.clone(),
        (None, None) => None,
    };
    let confirmation = i
        .confirmation
        .or(base.map(|b| b.config.confirmation))
        .unwrap_or(Confirmation::Sync);
    let (postback_secret, old_auth) = match current {
        Some((_, secrets)) => (secrets.postback_secret, secrets.auth),
        None => (generate_signing_secret(), None),
    };
    let (auth, auth_header, auth_username, auth_secret) = match i.auth {
        Some(AuthInput::None) => (AuthKind::None, None, None, None),
        Some(AuthInput::Header { header, token }) => {
            if let Some(h) = &header {
                check_header_name(h)?;
            }
            check_secret("auth.token", &token)?;
            (AuthKind::Header, header, None, Some(token))
        }
        Some(AuthInput::Basic { username, password }) => {
            if username.is_empty() || username.len() > 200 || username.contains([':', '\r', '\n']) {
                return Err(FieldError::new(
                    "auth.username",
                    "expected 1 to 200 characters, no colon",
                ));
            }
            check_secret("auth.password", &password)?;
            (AuthKind::Basic, None, Some(username), Some(password))
        }
        Some(AuthInput::Hmac { secret }) => {
            check_secret("auth.secret", &secret)?;
            (AuthKind::Hmac, None, None, Some(secret))
        }
        None => match base {
            Some(b) => (
                b.config.auth,
                b.config.auth_header.clone(),
                b.config.auth_username.clone(),
                old_auth,
            ),
            None => (AuthKind::None, None, None, None),
        },
    };
    let rate_limit_per_min = i
        .rate_limit_per_min
        .or(base.map(|b| b.rate_limit_per_min))
        .unwrap_or(DEFAULT_RATE_PER_MIN);
    if !(1..=MAX_RATE_PER_MIN).contains(&rate_limit_per_min) {
        return Err(FieldError::new(
            "rate_limit_per_min",
            format!("expected 1 to {MAX_RATE_PER_MIN} requests a minute"),
        ));
    }
    let daily_cap = i.daily_cap.or(base.and_then(|b| b.daily_cap));
    if daily_cap.is_some_and(|c| !(1..=1_000_000).contains(&c)) {
        return Err(FieldError::new(
            "daily_cap",
            "expected 1 to 1000000 leads a day",
        ));
    }
    let currency = i
        .currency
        .or(base.map(|b| b.currency.clone()))
        .unwrap_or_else(|| "USD".into());
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(FieldError::new(
            "currency",
            "expected an ISO 4217 code in upper case, like USD",
        ));
    }
    let routing = i
        .routing
        .or(base.map(|b| b.routing.clone()))
        .unwrap_or_default();
    check_routing(&routing)?;
    let spec = PartnerSpec {
        name,
        mode,
        config: Config {
            post_url,
            ping_url: if mode == Mode::PingPost {
                ping_url
            } else {
                None
            },
            format,
            template,
            ping_template,
            mapping,
            ping_mapping,
            confirmation,
            auth,
            auth_header,
            auth_username,
        },
        rate_limit_per_min,
        daily_cap,
        currency,
        routing,
        enabled: i.enabled.or(base.map(|b| b.enabled)).unwrap_or(true),
    };
    Ok((
        spec,
        Secrets {
            auth: auth_secret,
            postback_secret,
        },
    ))
}

/// A body template rendered against `context`: JSON (the template's shape, every string leaf
/// rendered as a JSON string) or a form (`name=value&…`). No value can leave its field.
pub fn render_body(
    template: &Value,
    format: Format,
    context: &Value,
) -> Result<Vec<u8>, render::RenderError> {
    fn fill(v: &Value, context: &Value) -> Result<Value, render::RenderError> {
        Ok(match v {
            Value::String(source) => Value::String(render::render_field(source, context)?),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, c)| Ok((k.clone(), fill(c, context)?)))
                    .collect::<Result<_, render::RenderError>>()?,
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|c| fill(c, context))
                    .collect::<Result<_, _>>()?,
            ),
            other => other.clone(),
        })
    }
    let filled = fill(template, context)?;
    match format {
        Format::Json => {
            serde_json::to_vec(&filled).map_err(|e| render::RenderError::Data(e.to_string()))
        }
        Format::Form => {
            let fields: BTreeMap<&String, String> = filled
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                        .collect()
                })
                .unwrap_or_default();
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                form.append_pair(k, &v);
            }
            Ok(form.finish().into_bytes())
        }
    }
}
