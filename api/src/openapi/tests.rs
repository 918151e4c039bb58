use serde_json::{Value, json};

use super::*;

fn served() -> Value {
    serde_json::from_str(&crate::app::spec_json()).unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((path.clone(), method.clone(), op));
        }
    }
    ops
}

fn walk<'a>(v: &'a Value, seen: &mut Vec<&'a Value>) {
    seen.push(v);
    match v {
        Value::Object(m) => m.values().for_each(|v| walk(v, seen)),
        Value::Array(a) => a.iter().for_each(|v| walk(v, seen)),
        _ => {}
    }
}

#[test]
fn a_described_reference_becomes_a_plain_reference_and_nothing_else_does() {
    let mut doc = json!({
        "wrapped": {"description": "d", "allOf": [{"$ref": "#/x"}, {"description": "d"}]},
        "kept_extra_key": {"readOnly": true, "allOf": [{"$ref": "#/x"}, {"description": "d"}]},
        "kept_variant": {"allOf": [{"type": "object", "properties": {}}, {"$ref": "#/y"}]},
    });
    unwrap_described_refs(&mut doc);
    assert_eq!(doc["wrapped"], json!({"$ref": "#/x"}));
    assert_eq!(doc["kept_extra_key"]["allOf"][0]["$ref"], "#/x");
    assert_eq!(doc["kept_variant"]["allOf"][1]["$ref"], "#/y");
}

#[test]
fn the_served_document_has_no_wrapped_reference_and_every_reference_resolves() {
    let doc = served();
    let mut seen = Vec::new();
    walk(&doc, &mut seen);
    let mut refs = 0;
    for v in seen {
        if let Some(m) = v.as_object() {
            assert!(described_ref(m).is_none(), "{v}");
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                refs += 1;
                let pointer = r.strip_prefix('#').unwrap();
                assert!(doc.pointer(pointer).is_some(), "dangling {r}");
            }
        }
        if let Some(s) = v.as_str() {
            assert!(!s.contains("*/"), "a comment end in {s:?}");
        }
    }
    assert!(refs > 100, "{refs}");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("NewKey") && schemas.contains_key("TenantPatch"));
    assert!(
        schemas.keys().all(|k| !k.ends_with("Schema")),
        "{:?}",
        schemas.keys()
    );
    // The job body's per-kind variants are real allOfs and stay.
    let variant = schemas["NewJob"]["oneOf"][0]["$ref"].as_str().unwrap();
    let variant = &schemas[variant.trim_start_matches("#/components/schemas/")];
    assert!(
        variant["allOf"].as_array().is_some_and(|a| a.len() == 2),
        "{variant}"
    );
}

#[test]
fn every_operation_says_its_security_and_declares_its_headers() {
    let doc = served();
    let mut keyless = Vec::new();
    for (path, method, op) in operations(&doc) {
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path}"));
        if security.is_empty() {
            keyless.push(format!("{method} {path}"));
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            let headers = &response["headers"];
            assert!(
                headers["X-Request-Id"].is_object(),
                "{method} {path} {status}"
            );
            assert_eq!(
                headers["RateLimit-Limit"].is_object(),
                !security.is_empty(),
                "{method} {path} {status}"
            );
            if status == "429" {
                assert!(headers["Retry-After"].is_object(), "{method} {path}");
            }
        }
    }
    assert_eq!(
        keyless,
        ["post /hooks/{id}", "post /partners/{id}/postback"]
    );
    for name in ["X-Request-Id", "RateLimit-Limit", "Retry-After"] {
        assert!(
            doc["components"]["headers"][name]["schema"].is_object(),
            "{name}"
        );
    }
}

#[test]
fn named_values_and_ids_are_typed_in_parameters() {
    let doc = served();
    let param = |path: &str, name: &str| -> Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} has no {name}"))["schema"]
            .clone()
    };
    // Every rule of the table names a parameter that exists.
    for (path, name, values) in query_enums() {
        assert_eq!(param(path, name)["enum"], json!(values), "{path} {name}");
    }
    assert_eq!(param("/leads", "status")["enum"][0], "new");
    assert_eq!(
        doc["components"]["schemas"]["Job"]["properties"]["kind"]["enum"],
        param("/jobs", "kind")["enum"]
    );
    assert_eq!(
        param("/costs", "entry")["enum"],
        json!(["reserve", "settle", "release"])
    );
    for (path, method, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap();
            if (p["in"] == "path" && name == "id") || name.ends_with("_id") {
                assert_eq!(p["schema"]["format"], "uuid", "{method} {path} {name}");
            }
        }
    }
}

#[test]
fn event_streams_are_strings_naming_their_events_and_patch_nulls_are_nullable() {
    let doc = served();
    let stream = &doc["paths"]["/runs/{id}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
        ["schema"];
    assert_eq!(stream["type"], "string", "{stream}");
    assert_eq!(
        stream["x-sse-data"]["$ref"],
        "#/components/schemas/RunEvent"
    );
    let tenant = &doc["components"]["schemas"]["TenantPatch"]["properties"];
    assert_eq!(tenant["job_retention_secs"]["nullable"], true, "{tenant}");
    assert!(tenant["rate_limit_per_second"].get("nullable").is_none());
    assert_eq!(
        doc["components"]["schemas"]["SourcePatch"]["properties"]["secret"]["nullable"],
        true
    );
    assert!(
        doc["servers"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("{scheme}://{host}/api/v1")
    );
}
