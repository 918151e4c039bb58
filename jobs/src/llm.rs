//! An OpenAI-compatible chat-completions client for classification, its settings and its price
//! table.
//!
//! - [`LlmSettings`]: `LLM_BASE_URL`, `LLM_API_KEY` (a secret), `LLM_MODEL`, `LLM_PROVIDER`,
//!   `LLM_TIMEOUT_MS`, `LLM_MAX_TOKENS`, `LLM_RESPONSE_FORMAT`, `LLM_PRICES` (a per-model price
//!   table) and `LLM_ALLOW_PRIVATE`, read and checked at start.
//! - [`LlmClient::chat`]: one call through the project's SSRF-guarded client, asking for
//!   structured JSON. A model on a private or loopback address (a local server) is reached only
//!   with `LLM_ALLOW_PRIVATE=true`, which opens private networks to this client alone — tenants'
//!   jobs stay guarded unless `ALLOW_PRIVATE_NETWORKS` (which opens them to every client, this
//!   one included). The reply is sorted into a usable
//!   [`Answer`], an invalid one (with why, so the caller can re-ask once), or a failure that says
//!   whether it is worth retrying and when (`Retry-After`).
//! - [`Prices`]: what a call costs in integer micro-dollars, from its token usage, and what one
//!   is expected to cost before it is made.
//!
//! It never reserves or settles money (the caller does, around every call) and never logs the
//! key or the content it sends.

use std::{collections::BTreeMap, fmt, time::Duration};

use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    config::{self, ConfigError},
    kinds::http_request,
    net,
};

/// The largest reply body read.
const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// Longest reason kept from an answer, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Most reasons kept from an answer.
pub const MAX_REASONS: usize = 10;

/// The price of one model, in micro-dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Per million prompt tokens.
    pub input_per_mtok_micros: i64,
    /// Per million completion tokens.
    pub output_per_mtok_micros: i64,
}

/// `LLM_PRICES`: prices by model name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prices(BTreeMap<String, Price>);

impl Prices {
    /// Parses `{"model": {"input_per_mtok_micros": n, "output_per_mtok_micros": n}, ...}`.
    pub fn parse(json: &str) -> Result<Self, String> {
        let map: BTreeMap<String, Price> = serde_json::from_str(json).map_err(|e| e.to_string())?;
        for (model, p) in &map {
            if p.input_per_mtok_micros < 0 || p.output_per_mtok_micros < 0 {
                return Err(format!("the prices of {model} must not be negative"));
            }
            if p.input_per_mtok_micros > 1_000_000_000_000
                || p.output_per_mtok_micros > 1_000_000_000_000
            {
                return Err(format!("the prices of {model} are implausibly large"));
            }
        }
        Ok(Self(map))
    }

    /// The price of `model`.
    pub fn get(&self, model: &str) -> Option<Price> {
        self.0.get(model).copied()
    }
}

impl Price {
    /// What `prompt` and `completion` tokens cost, rounded up to a whole micro-dollar.
    pub fn cost(&self, prompt: i64, completion: i64) -> i64 {
        let micro_millionths = i128::from(prompt.max(0)) * i128::from(self.input_per_mtok_micros)
            + i128::from(completion.max(0)) * i128::from(self.output_per_mtok_micros);
        let micros = (micro_millionths + 999_999) / 1_000_000;
        i64::try_from(micros).unwrap_or(i64::MAX)
    }
}

/// Tokens of a text, as an estimate: a quarter of its characters, rounded up.
pub fn estimate_tokens(chars: usize) -> i64 {
    chars.div_ceil(4) as i64
}

/// How the reply is asked to be JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// `response_format: {type: json_schema, ...}` (structured outputs, strict).
    JsonSchema,
    /// `response_format: {type: json_object}` with the schema described in the prompt.
    JsonObject,
    /// No `response_format` (for servers that reject it); the prompt still asks for JSON.
    None,
}

/// Where the LLM is and what it costs. `None` endpoint: keywords only.
#[derive(Clone)]
pub struct LlmSettings {
    /// `LLM_BASE_URL`, e.g. `https://api.openai.com/v1`; calls go to `<base>/chat/completions`.
    pub base_url: Option<Url>,
    /// `LLM_API_KEY`, sent as `Authorization: Bearer`; optional for local servers.
    pub api_key: Option<SecretString>,
    /// `LLM_MODEL`.
    pub model: String,
    /// `LLM_PROVIDER` (default `openai`): the name budgets and the ledger use.
    pub provider: String,
    /// `LLM_TIMEOUT_MS` (default 30 s): the longest wait for one call.
    pub timeout: Duration,
    /// `LLM_MAX_TOKENS` (default 300): the completion's limit, also the estimate's.
    pub max_tokens: u32,
    /// `LLM_RESPONSE_FORMAT` (default `json_schema`).
    pub response_format: ResponseFormat,
    /// `LLM_PRICES`.
    pub prices: Prices,
    /// `LLM_ALLOW_PRIVATE` (default false): let this client reach a private or loopback
    /// endpoint (a local model) without opening private networks to tenants' jobs.
    pub allow_private: bool,
    /// `LLM_RATE_LIMIT_PER_MIN` (default none): calls a minute to the provider across the whole
    /// fleet, paced like an outbound host (`llm:<provider>` in [`crate::sources::hosts`]); a
    /// call that must wait snoozes its job without spending an attempt or money.
    pub rate_limit_per_min: Option<i32>,
}

impl fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmSettings")
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("model", &self.model)
            .field("provider", &self.provider)
            .field("timeout", &self.timeout)
            .field("max_tokens", &self.max_tokens)
            .field("response_format", &self.response_format)
            .field("prices", &self.prices)
            .field("allow_private", &self.allow_private)
            .field("rate_limit_per_min", &self.rate_limit_per_min)
            .finish()
    }
}

impl Default for LlmSettings {
    /// No LLM: keywords only.
    fn default() -> Self {
        Self {
            base_url: None,
            api_key: None,
            model: String::new(),
            provider: "openai".to_owned(),
            timeout: Duration::from_secs(30),
            max_tokens: 300,
            response_format: ResponseFormat::JsonSchema,
            prices: Prices::default(),
            allow_private: false,
            rate_limit_per_min: None,
        }
    }
}

fn bad(var: &str, expected: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_owned(),
        expected: expected.into(),
    }
}

fn env(var: &str) -> Option<String> {
    std::env::var(var)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl LlmSettings {
    /// Reads the `LLM_*` variables. Without `LLM_BASE_URL` the LLM is off; with it, `LLM_MODEL`
    /// is required and `LLM_PRICES` must price it.
    pub fn from_env() -> Result<Self, ConfigError> {
        let base_url = match env("LLM_BASE_URL") {
            None => None,
            Some(v) => {
                let url = Url::parse(v.trim_end_matches('/'))
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                    .ok_or_else(|| {
                        bad(
                            "LLM_BASE_URL",
                            "an http(s) URL such as https://api.openai.com/v1",
                        )
                    })?;
                Some(url)
            }
        };
        let prices = match env("LLM_PRICES") {
            None => Prices::default(),
            Some(v) => Prices::parse(&v).map_err(|why| {
                bad(
                    "LLM_PRICES",
                    format!(
                        "JSON like {{\"gpt-4o-mini\": {{\"input_per_mtok_micros\": 150000, \"output_per_mtok_micros\": 600000}}}} ({why})"
                    ),
                )
            })?,
        };
        let model = env("LLM_MODEL").unwrap_or_default();
        if model.chars().count() > 200 {
            return Err(bad("LLM_MODEL", "at most 200 characters"));
        }
        if base_url.is_some() {
            if model.is_empty() {
                return Err(bad("LLM_MODEL", "a model name (LLM_BASE_URL is set)"));
            }
            if prices.get(&model).is_none() {
                return Err(bad(
                    "LLM_PRICES",
                    format!("a price for the model {model} (LLM_MODEL)"),
                ));
            }
        }
        let provider = env("LLM_PROVIDER").unwrap_or_else(|| "openai".to_owned());
        if provider.chars().count() > 50
            || !provider
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(bad(
                "LLM_PROVIDER",
                "1 to 50 of a-z, A-Z, 0-9, `-`, `_` and `.`",
            ));
        }
        let response_format = match config::choice(
            "LLM_RESPONSE_FORMAT",
            "json_schema",
            &["json_schema", "json_object", "none"],
        )? {
            "json_object" => ResponseFormat::JsonObject,
            "none" => ResponseFormat::None,
            _ => ResponseFormat::JsonSchema,
        };
        Ok(Self {
            base_url,
            api_key: env("LLM_API_KEY").map(SecretString::from),
            model,
            provider,
            timeout: config::millis("LLM_TIMEOUT_MS", Duration::from_secs(30), 100..=120_000)?,
            max_tokens: config::number("LLM_MAX_TOKENS", 300, 16..=8192)? as u32,
            response_format,
            prices,
            allow_private: config::flag("LLM_ALLOW_PRIVATE", false)?,
            rate_limit_per_min: match config::number("LLM_RATE_LIMIT_PER_MIN", 0, 0..=100_000)? {
                0 => None,
                n => Some(n as i32),
            },
        })
    }

    /// Whether an LLM is configured.
    pub fn enabled(&self) -> bool {
        self.base_url.is_some()
    }

    /// The key of the provider's pace among the outbound hosts.
    pub fn pace_key(&self) -> String {
        format!("llm:{}", self.provider)
    }

    /// The configured model's price.
    pub fn price(&self) -> Option<Price> {
        self.prices.get(&self.model)
    }
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    /// The text.
    pub content: String,
}

impl Message {
    /// A message.
    pub fn new(role: &'static str, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// A checked answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// Whether the signal is relevant.
    pub relevant: bool,
    /// One of the ruleset's categories, or none.
    pub category: Option<String>,
    /// 0 to 1.
    pub confidence: f64,
    /// Short reasons.
    pub reasons: Vec<String>,
}

/// Tokens a reply says it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
}

/// A call that got a reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// What the reply says it used (`None`: it did not say).
    pub usage: Option<TokenUsage>,
    /// The answer, or why it is not usable, with the raw text (for the re-ask).
    pub answer: Result<Answer, Invalid>,
}

/// An unusable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Why.
    pub why: String,
    /// The message content as received (empty when there was none).
    pub content: String,
}

/// A call that got no usable reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    /// What went wrong (never the key).
    pub message: String,
    /// Worth trying again later (network, timeout, 408, 429, 5xx).
    pub retryable: bool,
    /// When the server said to come back.
    pub retry_after: Option<Duration>,
    /// A short label for metrics: `timeout`, `network`, `rate_limited`, `server_error`,
    /// `refused`, `client_error`.
    pub outcome: &'static str,
}

/// Its message (the reason a budget reservation is released with).
impl fmt::Display for CallFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The LLM client: shared, cheap to clone.
#[derive(Debug, Clone)]
pub struct LlmClient {
    settings: std::sync::Arc<LlmSettings>,
    http: reqwest::Client,
    endpoint: Url,
    allow_private: bool,
}

impl LlmClient {
    /// A client for `settings`, or `None` when no LLM is configured. Calls go through the
    /// SSRF-guarded client, which reaches private addresses only when `settings.allow_private`
    /// (`LLM_ALLOW_PRIVATE`) or `allow_private_networks` (`ALLOW_PRIVATE_NETWORKS`) says so.
    pub fn new(settings: LlmSettings, allow_private_networks: bool) -> Option<Self> {
        let base = settings.base_url.clone()?;
        let endpoint = Url::parse(&format!(
            "{}/chat/completions",
            base.as_str().trim_end_matches('/')
        ))
        .ok()?;
        let allow_private = settings.allow_private || allow_private_networks;
        Some(Self {
            settings: std::sync::Arc::new(settings),
            http: net::client(allow_private),
            endpoint,
            allow_private,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    /// The request body for `messages`, asking for an answer over `categories`.
    pub fn request_body(&self, messages: &[Message], categories: &[String]) -> Value {
        let mut body = json!({
            "model": self.settings.model,
            "messages": messages,
            "max_tokens": self.settings.max_tokens,
            "temperature": 0,
        });
        match self.settings.response_format {
            ResponseFormat::JsonSchema => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": "classification", "strict": true, "schema": answer_schema(categories)}
                });
            }
            ResponseFormat::JsonObject => body["response_format"] = json!({"type": "json_object"}),
            ResponseFormat::None => {}
        }
        body
    }

    /// One chat-completions call. A reply is sorted into a usable answer or an invalid one;
    /// no reply (or an error status) is a [`CallFailure`].
    pub async fn chat(
        &self,
        messages: &[Message],
        categories: &[String],
        idempotency_key: &str,
    ) -> Result<Reply, CallFailure> {
        // The guarded resolver sees host names only: a literal private address is checked here.
        if let Err(refusal) = net::check_url(&self.endpoint, self.allow_private) {
            return Err(CallFailure {
                message: refusal,
                retryable: false,
                retry_after: None,
                outcome: "refused",
            });
        }
        let mut request = self
            .http
            .post(self.endpoint.clone())
            .timeout(self.settings.timeout)
            .header("Idempotency-Key", idempotency_key)
            .json(&self.request_body(messages, categories));
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let timeout_ms = self.settings.timeout.as_millis();
        let failure = |e: reqwest::Error| {
            if net::is_blocked(&e) {
                CallFailure {
                    message: net::BlockedAddress::describe(&e),
                    retryable: false,
                    retry_after: None,
                    outcome: "refused",
                }
            } else if e.is_timeout() {
                CallFailure {
                    message: format!("the LLM did not answer within {timeout_ms} ms"),
                    retryable: true,
                    retry_after: None,
                    outcome: "timeout",
                }
            } else {
                CallFailure {
                    message: format!("the LLM call failed: {}", without_url(&e)),
                    retryable: true,
                    retry_after: None,
                    outcome: "network",
                }
            }
        };
        let mut response = request.send().await.map_err(failure)?;
        let status = response.status();
        let retry_after = http_request::retry_after(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failure)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(CallFailure {
                    message: format!("the LLM's reply is larger than {MAX_REPLY_BYTES} bytes"),
                    retryable: true,
                    retry_after: None,
                    outcome: "server_error",
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(status_failure(status, retry_after, &body));
        }
        Ok(parse_reply(&body, categories))
    }
}

fn without_url(e: &reqwest::Error) -> String {
    // reqwest prints the URL, which may carry credentials in odd setups; keep the cause only
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "<llm>");
    }
    s
}

fn status_failure(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> CallFailure {
    let excerpt: String = String::from_utf8_lossy(body).chars().take(200).collect();
    let message = format!(
        "the LLM answered HTTP {}: {}",
        status.as_u16(),
        excerpt.trim()
    );
    let (retryable, outcome) = if status == StatusCode::TOO_MANY_REQUESTS {
        (true, "rate_limited")
    } else if status == StatusCode::REQUEST_TIMEOUT || status.is_server_error() {
        (true, "server_error")
    } else {
        (false, "client_error")
    };
    CallFailure {
        message,
        retryable,
        retry_after: retryable.then_some(retry_after).flatten(),
        outcome,
    }
}

/// The JSON schema of an answer over `categories`.
pub fn answer_schema(categories: &[String]) -> Value {
    let mut allowed: Vec<Value> = categories.iter().map(|c| json!(c)).collect();
    allowed.push(Value::Null);
    json!({
        "type": "object",
        "properties": {
            "relevant": {"type": "boolean"},
            "category": {"type": ["string", "null"], "enum": allowed},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "reasons": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["relevant", "category", "confidence", "reasons"],
        "additionalProperties": false
    })
}

/// Sorts a 2xx body into usage and an answer (or why it is not one).
pub fn parse_reply(body: &[u8], categories: &[String]) -> Reply {
    let invalid = |why: String, content: String| Reply {
        usage: None,
        answer: Err(Invalid { why, content }),
    };
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return invalid("the reply is not JSON".into(), String::new());
    };
    let usage = doc.get("usage").and_then(|u| {
        Some(TokenUsage {
            prompt_tokens: u.get("prompt_tokens")?.as_i64()?.max(0),
            completion_tokens: u.get("completion_tokens")?.as_i64()?.max(0),
        })
    });
    let content = doc
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let answer = match content {
        None => Err(Invalid {
            why: "the reply has no choices[0].message.content".into(),
            content: String::new(),
        }),
        Some(content) => parse_answer(&content, categories).map_err(|why| Invalid { why, content }),
    };
    Reply { usage, answer }
}

/// Checks a model's message against the answer's shape.
pub fn parse_answer(content: &str, categories: &[String]) -> Result<Answer, String> {
    let text = content.trim();
    // some models wrap JSON in a Markdown fence even when asked not to
    let text = text
        .strip_prefix("```json")
        .or_else(|| text.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .map(str::trim)
        .unwrap_or(text);
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the answer is not valid JSON ({e})"))?;
    let Value::Object(map) = &value else {
        return Err("the answer is not a JSON object".into());
    };
    let relevant = map
        .get("relevant")
        .and_then(Value::as_bool)
        .ok_or("`relevant` must be true or false")?;
    let category = match map.get("category") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if categories.contains(c) => Some(c.clone()),
        Some(Value::String(c)) => {
            return Err(format!(
                "`category` {c:?} is not one of {}",
                categories.join(", ")
            ));
        }
        Some(_) => return Err("`category` must be a string or null".into()),
    };
    let confidence = map
        .get("confidence")
        .and_then(Value::as_f64)
        .filter(|c| (0.0..=1.0).contains(c))
        .ok_or("`confidence` must be a number from 0 to 1")?;
    let reasons = match map.get("reasons") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| {
                r.as_str()
                    .map(|s| s.chars().take(MAX_REASON_CHARS).collect::<String>())
                    .ok_or("`reasons` must be a list of strings")
            })
            .take(MAX_REASONS)
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`reasons` must be a list of strings".into()),
    };
    Ok(Answer {
        relevant,
        category,
        confidence,
        reasons,
    })
}

#[cfg(test)]
mod tests;
