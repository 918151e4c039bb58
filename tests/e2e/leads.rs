//! Leads, end to end: `score_lead` jobs run by a real worker (alone, concurrently, and as a
//! workflow step fed by a classifier's output), the `/leads` api (filters, status moves with
//! their audit rows, soft delete, CSV export), the settings, GDPR per contact, roles, tenant
//! walls and bad input.

use std::time::Duration;

use e2e::{App, spawn_app, wait_until};
use reqwest::Method;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);

async fn call(
    app: &App,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .http
        .request(method, format!("{}/api/v1{path}", app.base))
        .header("X-API-Key", key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A push source with one signal per text; returns the signals' ids in order.
async fn signals(app: &App, texts: &[&str]) -> Vec<String> {
    let (status, source) = call(
        app,
        &app.key,
        Method::POST,
        "/sources",
        Some(json!({"kind": "push"})),
    )
    .await;
    assert_eq!(status, 201, "{source}");
    let source = source["id"].as_str().unwrap().to_owned();
    for (i, text) in texts.iter().enumerate() {
        let (status, report) = call(
            app,
            &app.key,
            Method::POST,
            &format!("/sources/{source}/signals"),
            Some(json!({"items": [{"title": format!("Lead signal {i}"), "content": text}]})),
        )
        .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["inserted"], 1, "{report}");
    }
    let ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM signals WHERE source_id = $1::uuid ORDER BY id")
            .bind(&source)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    assert_eq!(ids.len(), texts.len());
    ids
}

async fn score(app: &App, args: Value) -> Value {
    let job = app
        .enqueue(json!({"kind": "score_lead", "args": args}))
        .await;
    let done = app
        .wait_for_state(job["id"].as_str().unwrap(), &["succeeded", "dead"], T)
        .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    done["result"].clone()
}

#[tokio::test]
async fn scored_signals_become_leads_that_are_filtered_moved_audited_deleted_and_exported() {
    let app = spawn_app().await;
    let _worker = app.spawn_worker(&[]);
    let ids = signals(
        &app,
        &[
            "We want solar panels on the barn roof. Write to Jane@Acme-Farms.com please.",
            "Our office needs a heat pump installer, call +44 20 7946 0958 any weekday.",
            "Does anyone know a good roofer around Leeds? Asking for a friend here.",
            "=cmd|' /C calc'!A0 attack@evil.io wants panels for the garage roof",
        ],
    )
    .await;
    // A classified signal moves to scored; a new one keeps its state.
    let (status, _) = call(
        &app,
        &app.key,
        Method::POST,
        &format!("/signals/{}/state", ids[0]),
        Some(json!({"state": "classified"})),
    )
    .await;
    assert_eq!(status, 200);
    let jane = score(
        &app,
        json!({"signal_id": ids[0], "confidence": 0.9, "category": "solar"}),
    )
    .await;
    assert_eq!(jane["created"], true, "{jane}");
    assert_eq!(jane["contact"], "jane@acme-farms.com");
    assert_eq!(jane["signal_state"], "scored");
    let (_, signal) = call(
        &app,
        &app.key,
        Method::GET,
        &format!("/signals/{}", ids[0]),
        None,
    )
    .await;
    assert_eq!(signal["state"], "scored");
    let phone = score(&app, json!({"signal_id": ids[1], "confidence": 0.5})).await;
    assert_eq!(phone["contact"], "+442079460958");
    assert_eq!(phone["signal_state"], "new");
    let nobody = score(&app, json!({"signal_id": ids[2]})).await;
    assert!(nobody["contact"].is_null());
    let evil = score(&app, json!({"signal_id": ids[3], "confidence": 1.0})).await;

    // Read, with the breakdown that explains the score.
    let jane_id = jane["lead_id"].as_str().unwrap();
    let (status, lead) = call(
        &app,
        &app.key,
        Method::GET,
        &format!("/leads/{jane_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{lead}");
    assert_eq!(lead["score"], jane["score"]);
    let points: f64 = lead["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["points"].as_f64().unwrap())
        .sum();
    assert_eq!(
        points.round() as i64,
        lead["score"].as_i64().unwrap(),
        "{lead}"
    );
    assert_eq!(lead["contacts"][0]["value"], "jane@acme-farms.com");
    assert_eq!(lead["signals"][0]["signal_id"], ids[0].as_str());
    assert_eq!(lead["category"], "solar");

    // Filters: score range, status, source, time.
    let listed = |q: &'static str| {
        let app = &app;
        async move {
            let (status, page) =
                call(app, &app.key, Method::GET, &format!("/leads{q}"), None).await;
            assert_eq!(status, 200, "{q}: {page}");
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("").await.len(), 4);
    let high = listed("?min_score=85").await;
    assert_eq!(high.len(), 2, "jane and the attacker: {high:?}");
    assert!(
        listed("?max_score=60")
            .await
            .contains(&nobody["lead_id"].as_str().unwrap().to_owned())
    );
    assert_eq!(listed("?since=2999-01-01T00:00:00Z").await.len(), 0);
    assert_eq!(listed("?limit=1").await.len(), 1);

    // Status moves: legal ones audited, illegal ones 409, viewers refused.
    let status_of = |to: &'static str| json!({"status": to, "reason": "phoned"});
    let path = format!("/leads/{jane_id}/status");
    let (s, body) = call(
        &app,
        &app.key,
        Method::POST,
        &path,
        Some(status_of("contacted")),
    )
    .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("contacted")),
        "{body}"
    );
    let (s, body) = call(
        &app,
        &app.key,
        Method::POST,
        &path,
        Some(status_of("exported")),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    let viewer = app.create_key("acme", "viewer").await;
    let (s, _) = call(
        &app,
        &viewer,
        Method::POST,
        &path,
        Some(status_of("qualified")),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &app,
        &app.key,
        Method::POST,
        &path,
        Some(status_of("qualified")),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(listed("?status=qualified").await, vec![jane_id.to_owned()]);
    let (_, audit) = call(
        &app,
        &app.key,
        Method::GET,
        &format!("/audit?target={jane_id}"),
        None,
    )
    .await;
    let moves: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["after"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        vec![("lead.status", "contacted"), ("lead.status", "qualified")]
    );

    // CSV: header, guarded cells, filters.
    let csv = app
        .request(Method::GET, "/leads/export?min_score=50")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,status,score,email,phone"), "{csv}");
    assert!(csv.contains(",'+442079460958,"), "{csv}");
    assert!(
        !csv.contains(&nobody["lead_id"].as_str().unwrap().to_owned()),
        "filtered out"
    );
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| !l.contains(",=") && !l.contains(",+")),
        "{csv}"
    );
    assert!(csv.contains(evil["lead_id"].as_str().unwrap()));

    // Soft delete: hidden, then 404; operators may, viewers may not.
    let (s, _) = call(
        &app,
        &viewer,
        Method::DELETE,
        &format!("/leads/{jane_id}"),
        None,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &app,
        &app.key,
        Method::DELETE,
        &format!("/leads/{jane_id}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(
        &app,
        &app.key,
        Method::GET,
        &format!("/leads/{jane_id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    assert!(!listed("").await.contains(&jane_id.to_owned()));
    let (s, _) = call(
        &app,
        &app.key,
        Method::DELETE,
        &format!("/leads/{jane_id}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn two_jobs_for_two_signals_with_one_email_run_at_once_and_make_one_lead() {
    let app = spawn_app().await;
    let _worker = app.spawn_worker(&[("WORKER_CONCURRENCY_SCORE_LEAD", "8")]);
    let ids = signals(
        &app,
        &[
            "Need quotes for a ground-mounted array, reply to kim@orchard.io soon.",
            "Second request from our orchard office: batteries too. kim@orchard.io",
        ],
    )
    .await;
    let (status, batch) = call(
        &app,
        &app.key,
        Method::POST,
        "/jobs/batch",
        Some(json!({"jobs": [
            {"kind": "score_lead", "args": {"signal_id": ids[0]}},
            {"kind": "score_lead", "args": {"signal_id": ids[1]}},
        ]})),
    )
    .await;
    assert_eq!(status, 201, "{batch}");
    let mut results = vec![];
    for job in batch["items"].as_array().unwrap() {
        let done = app
            .wait_for_state(job["id"].as_str().unwrap(), &["succeeded", "dead"], T)
            .await;
        assert_eq!(done["state"], "succeeded", "{done}");
        results.push(done["result"].clone());
    }
    assert_eq!(results.len(), 2, "{batch}");
    assert_eq!(results[0]["lead_id"], results[1]["lead_id"]);
    let made: Vec<bool> = results
        .iter()
        .map(|r| r["created"].as_bool().unwrap())
        .collect();
    assert_eq!(made.iter().filter(|m| **m).count(), 1, "{results:?}");
    let (_, page) = call(&app, &app.key, Method::GET, "/leads", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["signal_count"], 2);
}

#[tokio::test]
async fn a_workflow_passes_its_classifiers_confidence_to_score_lead() {
    let app = spawn_app().await;
    let _worker = app.spawn_worker(&[]);
    let ids = signals(
        &app,
        &["Looking for an installer for 12 panels, lou@barn.io"],
    )
    .await;
    let (status, wf) = call(
        &app,
        &app.key,
        Method::POST,
        "/workflows",
        Some(json!({"name": "score", "definition": {"steps": [
            {"name": "classify", "kind": "noop", "args": {"output": {"confidence": 0.75, "category": "solar"}}},
            {"name": "score", "kind": "score_lead", "after": ["classify"],
             "args": {"signal_id": "{{ input.signal_id }}",
                      "confidence": "{{ steps.classify.output.confidence }}",
                      "category": "{{ steps.classify.output.category }}"}}
        ]}})),
    )
    .await;
    assert_eq!(status, 201, "{wf}");
    let (status, run) = call(
        &app,
        &app.key,
        Method::POST,
        &format!("/workflows/{}/runs", wf["id"].as_str().unwrap()),
        Some(json!({"input": {"signal_id": ids[0]}})),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    let run_id = run["id"].as_str().unwrap().to_owned();
    let run = wait_until("the run to finish", T, async || {
        let (_, run) = call(
            &app,
            &app.key,
            Method::GET,
            &format!("/runs/{run_id}"),
            None,
        )
        .await;
        if ["succeeded", "failed"].contains(&run["status"].as_str().unwrap_or_default()) {
            Ok(run)
        } else {
            Err(run)
        }
    })
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (_, page) = call(&app, &app.key, Method::GET, "/leads", None).await;
    let lead = &page["items"][0];
    assert_eq!(lead["category"], "solar");
    assert_eq!(lead["factors"][0]["name"], "confidence");
    assert_eq!(lead["factors"][0]["value"], 0.75);
}

#[tokio::test]
async fn gdpr_export_and_erase_by_contact_are_admin_only_and_audited() {
    let app = spawn_app().await;
    let _worker = app.spawn_worker(&[]);
    let ids = signals(
        &app,
        &[
            "Max here, we need a quote for a carport with panels: max@garage.io",
            "max@garage.io again, or ring 020 7946 0958 in the evenings please",
            "Unrelated request from pat@mill.io about a heat pump for the mill",
        ],
    )
    .await;
    // National numbers need the tenant's region.
    let operator = app.create_key("acme", "operator").await;
    let (s, _) = call(
        &app,
        &operator,
        Method::PATCH,
        "/leads/settings",
        Some(json!({"default_region": "GB"})),
    )
    .await;
    assert_eq!(s, 403);
    let (s, settings) = call(
        &app,
        &app.key,
        Method::PATCH,
        "/leads/settings",
        Some(json!({"default_region": "GB"})),
    )
    .await;
    assert_eq!(
        (s, settings["default_region"].as_str()),
        (200, Some("GB")),
        "{settings}"
    );
    for id in &ids {
        score(&app, json!({"signal_id": id})).await;
    }
    for body in [
        json!({"email": "max@garage.io"}),
        json!({"phone": "+44 20 7946 0958"}),
    ] {
        let (s, _) = call(
            &app,
            &operator,
            Method::POST,
            "/leads/gdpr/export",
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, 403);
        let (s, held) = call(
            &app,
            &app.key,
            Method::POST,
            "/leads/gdpr/export",
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, 200, "{held}");
        assert_eq!(held["leads"].as_array().unwrap().len(), 1, "{body}: {held}");
        assert_eq!(
            held["signals"].as_array().unwrap().len(),
            2,
            "{body}: {held}"
        );
    }
    let (s, erased) = call(
        &app,
        &app.key,
        Method::POST,
        "/leads/gdpr/erase",
        Some(json!({"phone": "020 7946 0958"})),
    )
    .await;
    assert_eq!(s, 200, "{erased}");
    assert_eq!(
        (erased["leads"].as_u64(), erased["signals"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(
        erased["scrubbed"].as_u64().unwrap() >= 1,
        "the jobs' results named max: {erased}"
    );
    let (_, held) = call(
        &app,
        &app.key,
        Method::POST,
        "/leads/gdpr/export",
        Some(json!({"email": "max@garage.io"})),
    )
    .await;
    assert_eq!(held["leads"], json!([]));
    let (_, page) = call(&app, &app.key, Method::GET, "/leads", None).await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "pat's lead stays"
    );
    let results: Vec<String> =
        sqlx::query_scalar("SELECT result::text FROM jobs WHERE kind = 'score_lead'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(
        results.iter().all(|r| !r.contains("max@garage.io")),
        "{results:?}"
    );
    let (_, audit) = call(&app, &app.key, Method::GET, "/audit", None).await;
    let text = audit.to_string();
    assert!(text.contains("lead.gdpr_erase") && text.contains("lead.gdpr_export"));
    assert!(
        !text.contains("max@garage.io") && !text.contains("7946"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_input_is_422_with_paths_and_another_tenant_gets_404() {
    let app = spawn_app().await;
    let _worker = app.spawn_worker(&[]);
    let ids = signals(
        &app,
        &["Quote wanted for a shed roof, contact sue@shed.io today"],
    )
    .await;
    let lead = score(&app, json!({"signal_id": ids[0]})).await;
    let lead_id = lead["lead_id"].as_str().unwrap();
    let cases: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::GET,
            "/leads?min_score=101".into(),
            None,
            "min_score",
        ),
        (Method::GET, "/leads?status=hot".into(), None, "status"),
        (Method::GET, "/leads?source_id=x".into(), None, "source_id"),
        (
            Method::GET,
            "/leads/export?max_score=-1".into(),
            None,
            "max_score",
        ),
        (
            Method::POST,
            format!("/leads/{lead_id}/status"),
            Some(json!({"status": "won"})),
            "status",
        ),
        (
            Method::POST,
            format!("/leads/{lead_id}/status"),
            Some(json!({"status": "contacted", "reason": "x".repeat(201)})),
            "reason",
        ),
        (
            Method::PATCH,
            "/leads/settings".into(),
            Some(json!({"weight_source": 1000})),
            "weight_source",
        ),
        (
            Method::PATCH,
            "/leads/settings".into(),
            Some(json!({"default_region": "Mars"})),
            "default_region",
        ),
        (
            Method::POST,
            "/leads/gdpr/export".into(),
            Some(json!({"email": "a@b.io", "phone": "+442079460958"})),
            "",
        ),
        (
            Method::POST,
            "/leads/gdpr/erase".into(),
            Some(json!({"email": "not an address"})),
            "email",
        ),
        (
            Method::POST,
            "/leads/gdpr/erase".into(),
            Some(json!({"phone": "020 7946 0958"})),
            "phone",
        ),
        (
            Method::POST,
            "/jobs".into(),
            Some(json!({"kind": "score_lead", "args": {"signal_id": ids[0], "confidence": 2}})),
            "args.confidence",
        ),
        (
            Method::POST,
            "/jobs".into(),
            Some(json!({"kind": "score_lead", "args": {}})),
            "args",
        ),
    ];
    for (method, path, body, want) in cases {
        let (s, problem) = call(&app, &app.key, method.clone(), &path, body).await;
        assert_eq!(s, 422, "{method} {path}: {problem}");
        assert_eq!(
            problem["errors"][0]["path"], want,
            "{method} {path}: {problem}"
        );
    }
    let intruder = app.create_key("globex", "admin").await;
    for (method, path, body) in [
        (Method::GET, format!("/leads/{lead_id}"), None),
        (Method::DELETE, format!("/leads/{lead_id}"), None),
        (
            Method::POST,
            format!("/leads/{lead_id}/status"),
            Some(json!({"status": "rejected"})),
        ),
    ] {
        let (s, _) = call(&app, &intruder, method.clone(), &path, body).await;
        assert_eq!(s, 404, "{method} {path}");
    }
    let (_, page) = call(&app, &intruder, Method::GET, "/leads", None).await;
    assert_eq!(page["items"], json!([]));
    let (_, held) = call(
        &app,
        &intruder,
        Method::POST,
        "/leads/gdpr/export",
        Some(json!({"email": "sue@shed.io"})),
    )
    .await;
    assert_eq!(held["leads"], json!([]));
    let (_, still) = call(
        &app,
        &app.key,
        Method::GET,
        &format!("/leads/{lead_id}"),
        None,
    )
    .await;
    assert_eq!(still["status"], "new");
}
