//! The OpenAPI document is a golden file: `openapi/openapi.json` is the contract, and this test
//! fails when the served spec drifts from it. A diff of that file is reviewed as a contract
//! change. `UPDATE_OPENAPI=1 cargo test -p api --test openapi` rewrites it.

use std::path::PathBuf;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json")
}

#[test]
fn the_served_spec_matches_the_committed_openapi_json() {
    let spec = api::app::spec_json();
    let path = golden_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &spec).expect("write openapi/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != spec {
        let first_diff = committed
            .lines()
            .zip(spec.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || committed.lines().count().min(spec.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "openapi/openapi.json does not match the spec the api serves (first difference at \
             line {first_diff}).\nIf the change is intended, run \
             `UPDATE_OPENAPI=1 cargo test -p api --test openapi` and review the diff as a \
             contract change."
        );
    }
}

#[test]
fn the_job_body_is_a_one_of_discriminated_by_kind() {
    let spec: serde_json::Value = serde_json::from_str(&api::app::spec_json()).unwrap();
    let body = &spec["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json; charset=utf-8"]
        ["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/NewJob", "{body}");
    let new_job = &spec["components"]["schemas"]["NewJob"];
    assert_eq!(
        new_job["discriminator"]["propertyName"], "kind",
        "{new_job}"
    );
    let one_of = new_job["oneOf"].as_array().expect("NewJob is a oneOf");
    assert_eq!(one_of.len(), jobs::kinds::ALL.len());
    let mapping = new_job["discriminator"]["mapping"]
        .as_object()
        .expect("a discriminator mapping");
    for kind in jobs::kinds::ALL {
        assert!(
            mapping.contains_key(kind.name),
            "the body schema has no object for kind {}",
            kind.name
        );
    }
    let http = &spec["components"]["schemas"]["HttpRequestArgs"];
    assert_eq!(http["properties"]["timeout_ms"]["maximum"], 300000.0);
    assert!(
        http["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "url")
    );
}

#[test]
fn every_operation_has_an_id_and_problem_json_errors() {
    let spec: serde_json::Value = serde_json::from_str(&api::app::spec_json()).unwrap();
    assert_eq!(
        spec["servers"][0]["url"],
        format!("{{scheme}}://{{host}}{}", api::API_PREFIX)
    );
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
            for (status, resp) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        resp["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not problem+json"
                    );
                }
            }
        }
    }
}

#[test]
fn an_export_documents_every_media_type_it_answers_with() {
    let spec: serde_json::Value = serde_json::from_str(&api::app::spec_json()).unwrap();
    let ok = &spec["paths"]["/signals/export"]["get"]["responses"]["200"]["content"];
    let types: Vec<&str> = ok.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(types, vec!["application/x-ndjson", "text/csv"], "{ok}");
}
