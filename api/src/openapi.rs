//! The OpenAPI document as client generators need it.
//!
//! poem-openapi writes the document from the route and model types. What it cannot say, or says
//! in a way that generators (openapi-typescript, openapi-python-client, openapi-generator,
//! progenitor) stumble over, is fixed here, in one pass over its output, by rules over the whole
//! document rather than patches of single operations, so a new route gets them too:
//!
//! - a field's doc on a referenced schema comes out as `allOf: [{$ref}, {description}]`; it
//!   becomes the plain `$ref` (generators drop or mistype the wrapped form);
//! - server-sent event streams come out as a JSON array; they become a string whose
//!   `x-sse-data` names the schema of each event's `data`;
//! - a PATCH field documented "null …" (clears it) gets `nullable: true`;
//! - query parameters that take one of a fixed set of names get that set as an `enum` (the
//!   routes parse them by hand, to answer 422 with the field's path; a job's `kind` in answers
//!   gets the same `enum` as the `GET /jobs` filter), and ids in paths and queries get
//!   `format: uuid`;
//! - operations that take no API key (signed hooks and postbacks) say so (`security: []`);
//! - the headers every answer may carry are declared: `X-Request-Id`, the `RateLimit-*` trio,
//!   and `Retry-After` on 429 and 503;
//! - schema names lose poem-openapi's `Schema` suffix (`NewKeySchema` is `NewKey`);
//! - a doc comment's `*/` (a cron example) is written `*&#47;`, which no generator's comment
//!   syntax ends on;
//! - the server URL is absolute, with the scheme and host as variables.
//!
//! It never adds or removes an operation, a parameter or a field: the routes own the contract.

use serde_json::{Map, Value, json};

use crate::API_PREFIX;

/// The query parameters whose values are one of a fixed set of names: (path, parameter, names).
fn query_enums() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    use jobs::{
        deliveries::DeliveryState,
        leads::LeadStatus,
        sources::{SourceKind, signals::ExportFormat, signals::SignalState},
        workflows::RunStatus,
    };
    fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
        all.iter().map(|v| name(*v)).collect()
    }
    let kinds: Vec<&'static str> = jobs::kinds::ALL.iter().map(|k| k.name).collect();
    let signal_states = names(&SignalState::ALL, SignalState::as_str);
    let lead_statuses = names(&LeadStatus::ALL, LeadStatus::as_str);
    let formats = names(&ExportFormat::ALL, ExportFormat::as_str);
    let group_by = names(
        &jobs::economics::GroupBy::ALL,
        jobs::economics::GroupBy::as_str,
    );
    vec![
        ("/jobs", "kind", kinds),
        (
            "/sources",
            "kind",
            names(&SourceKind::ALL, SourceKind::as_str),
        ),
        ("/signals", "state", signal_states.clone()),
        ("/signals/export", "state", signal_states),
        ("/signals/export", "format", formats),
        ("/runs", "status", names(&RunStatus::ALL, RunStatus::as_str)),
        ("/leads", "status", lead_statuses.clone()),
        ("/leads/export", "status", lead_statuses),
        ("/costs", "entry", jobs::budgets::COST_ENTRIES.to_vec()),
        ("/economics", "group_by", group_by.clone()),
        ("/economics/export", "group_by", group_by),
        (
            "/deliveries",
            "state",
            names(&DeliveryState::ALL, DeliveryState::as_str),
        ),
        (
            "/posts",
            "state",
            names(
                &jobs::publishing::PostState::ALL,
                jobs::publishing::PostState::as_str,
            ),
        ),
    ]
}

/// poem-openapi's document (`spec`, JSON) made ready for generators; pretty JSON.
pub fn polish(spec: &str) -> String {
    let mut doc: Value = match serde_json::from_str(spec) {
        Ok(doc) => doc,
        // poem-openapi's own output always parses; if it ever did not, serve it as it is.
        Err(_) => return spec.to_owned(),
    };
    unwrap_described_refs(&mut doc);
    escape_comment_ends(&mut doc);
    rename_schemas(&mut doc);
    let enums = query_enums();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(ops) = item.as_object_mut() else {
                continue;
            };
            for op in ops.values_mut() {
                polish_operation(path, op, &enums);
            }
        }
    }
    nullable_patch_fields(&mut doc);
    // A job's kind is one of the kinds this build runs, as the `kind` filter of `GET /jobs` is.
    if let Some(kind) = doc.pointer_mut("/components/schemas/Job/properties/kind")
        && let Some((_, _, kinds)) = enums.iter().find(|(p, n, _)| *p == "/jobs" && *n == "kind")
    {
        kind["enum"] = json!(kinds);
    }
    doc["components"]["headers"] = header_components();
    doc["servers"] = json!([{
        "url": format!("{{scheme}}://{{host}}{API_PREFIX}"),
        "description": "A demandflow api process (`PORT`, 8080 unless set).",
        "variables": {
            "scheme": {"default": "http", "enum": ["http", "https"]},
            "host": {"default": "localhost:8080"},
        },
    }]);
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| spec.to_owned());
    out.push('\n');
    out
}

/// `{allOf: [{$ref: R}, {description}], description}` → `{$ref: R}`.
fn unwrap_described_refs(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(target) = described_ref(map) {
                *map = Map::from_iter([("$ref".to_owned(), Value::String(target))]);
                return;
            }
            map.values_mut().for_each(unwrap_described_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_described_refs),
        _ => {}
    }
}

/// The `$ref` of a wrapper that adds nothing but a description to it.
fn described_ref(map: &Map<String, Value>) -> Option<String> {
    if map.keys().any(|k| k != "allOf" && k != "description") {
        return None;
    }
    let [a, b] = map.get("allOf")?.as_array()?.as_slice() else {
        return None;
    };
    let only_description = |v: &Value| {
        v.as_object()
            .is_some_and(|o| o.keys().all(|k| k == "description"))
    };
    let target = |v: &Value| {
        let o = v.as_object()?;
        (o.len() == 1).then(|| o.get("$ref")?.as_str().map(str::to_owned))?
    };
    match (target(a), target(b)) {
        (Some(t), None) if only_description(b) => Some(t),
        (None, Some(t)) if only_description(a) => Some(t),
        _ => None,
    }
}

fn escape_comment_ends(v: &mut Value) {
    match v {
        Value::String(s) if s.contains("*/") => *s = s.replace("*/", "*&#47;"),
        Value::Object(map) => map.values_mut().for_each(escape_comment_ends),
        Value::Array(items) => items.iter_mut().for_each(escape_comment_ends),
        _ => {}
    }
}

/// `XSchema` → `X` when no schema is called `X`, references included.
fn rename_schemas(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let renames: Vec<(String, String)> = schemas
        .keys()
        .filter_map(|k| {
            let short = k.strip_suffix("Schema")?;
            (!short.is_empty() && !schemas.contains_key(short))
                .then(|| (k.clone(), short.to_owned()))
        })
        .collect();
    for (old, new) in &renames {
        if let Some(schema) = schemas.remove(old) {
            schemas.insert(new.clone(), schema);
        }
    }
    let refs: Vec<(String, String)> = renames
        .into_iter()
        .map(|(old, new)| {
            (
                format!("#/components/schemas/{old}"),
                format!("#/components/schemas/{new}"),
            )
        })
        .collect();
    rewrite_refs(doc, &refs);
}

fn rewrite_refs(v: &mut Value, refs: &[(String, String)]) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some((_, new)) = refs.iter().find(|(old, _)| old == r)
            {
                *r = new.clone();
            }
            map.values_mut().for_each(|v| rewrite_refs(v, refs));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, refs)),
        _ => {}
    }
}

fn polish_operation(path: &str, op: &mut Value, enums: &[(&str, &str, Vec<&str>)]) {
    let Some(op) = op.as_object_mut() else {
        return;
    };
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut() {
            polish_parameter(path, p, enums);
        }
    }
    let keyless = !op.contains_key("security");
    if keyless {
        op.insert("security".into(), json!([]));
    }
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        for (status, response) in responses.iter_mut() {
            declare_headers(status, response, keyless);
            describe_event_streams(response);
        }
    }
}

fn polish_parameter(path: &str, p: &mut Value, enums: &[(&str, &str, Vec<&str>)]) {
    let name = p["name"].as_str().unwrap_or_default().to_owned();
    let place = p["in"].as_str().unwrap_or_default().to_owned();
    let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut) else {
        return;
    };
    if schema.get("type").and_then(Value::as_str) != Some("string") || schema.contains_key("enum") {
        return;
    }
    if place == "query"
        && let Some((_, _, values)) = enums.iter().find(|(p, n, _)| *p == path && *n == name)
    {
        schema.insert("enum".into(), json!(values));
    } else if ((place == "path" && name == "id") || name.ends_with("_id"))
        && !schema.contains_key("format")
    {
        schema.insert("format".into(), json!("uuid"));
    }
}

/// The headers an answer may carry: every one an `X-Request-Id`; an answer to a key the
/// `RateLimit-*` trio; a 429 or 503 `Retry-After`. Each a reference to [`HEADERS`].
fn declare_headers(status: &str, response: &mut Value, keyless: bool) {
    let Some(response) = response.as_object_mut() else {
        return;
    };
    let Some(headers) = response
        .entry("headers")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    else {
        return;
    };
    let mut names = vec!["X-Request-Id"];
    if !keyless {
        names.extend(["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]);
    }
    if status == "429" || status == "503" {
        names.push("Retry-After");
    }
    for name in names {
        headers
            .entry(name)
            .or_insert_with(|| json!({"$ref": format!("#/components/headers/{name}")}));
    }
}

/// The response headers declared once, in `components/headers`.
const HEADERS: [(&str, &str); 5] = [
    (
        "X-Request-Id",
        "The request's id (yours when you sent one); stored as the correlation id of the jobs it enqueues.",
    ),
    ("RateLimit-Limit", "Requests the key may make per second."),
    ("RateLimit-Remaining", "Requests the key has left now."),
    (
        "RateLimit-Reset",
        "Seconds until the key has a full allowance again.",
    ),
    ("Retry-After", "Seconds to wait before trying again."),
];

fn header_components() -> Value {
    let mut headers = Map::new();
    for (name, description) in HEADERS {
        let schema = if name == "X-Request-Id" {
            json!({"type": "string"})
        } else {
            json!({"type": "integer", "minimum": 0})
        };
        headers.insert(
            name.to_owned(),
            json!({"description": description, "schema": schema}),
        );
    }
    Value::Object(headers)
}

/// `text/event-stream` as a string of events, the schema of each `data` in `x-sse-data`.
fn describe_event_streams(response: &mut Value) {
    let Some(stream) = response.pointer_mut("/content/text~1event-stream") else {
        return;
    };
    let item = stream.pointer("/schema/items").cloned();
    let mut schema = json!({
        "type": "string",
        "description": "Server-sent events (`text/event-stream`): each event's `data` is one JSON document of the `x-sse-data` schema.",
    });
    if let Some(item) = item {
        schema["x-sse-data"] = item;
    }
    stream["schema"] = schema;
}

/// PATCH bodies: a field documented with "null" (null clears it) is nullable.
fn nullable_patch_fields(doc: &mut Value) {
    let mut targets = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for item in paths.values() {
            let Some(body) = item.pointer("/patch/requestBody/content") else {
                continue;
            };
            for content in body.as_object().into_iter().flat_map(Map::values) {
                if let Some(r) = content.pointer("/schema/$ref").and_then(Value::as_str)
                    && let Some(name) = r.strip_prefix("#/components/schemas/")
                {
                    targets.push(name.to_owned());
                }
            }
        }
    }
    for name in targets {
        let Some(props) = doc
            .pointer_mut(&format!("/components/schemas/{name}/properties"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for prop in props.values_mut() {
            let documented_null = prop
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.contains("null"));
            if documented_null && let Some(prop) = prop.as_object_mut() {
                prop.insert("nullable".into(), json!(true));
            }
        }
    }
}

#[cfg(test)]
mod tests;
