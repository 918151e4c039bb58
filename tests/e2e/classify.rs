//! Classification, end to end: rulesets over the api, `classify_signal` run by real workers
//! against a fake OpenAI-compatible server (wiremock), the memo shared by workers, Retry-After,
//! a workflow reading the verdict, and the cost estimate.

use std::time::Duration;

use chrono::{DateTime, Utc};
use e2e::{App, spawn_app, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

const T: Duration = Duration::from_secs(60);
const MODEL: &str = "gpt-4o-mini";
const PRICES: &str =
    r#"{"gpt-4o-mini": {"input_per_mtok_micros": 150000, "output_per_mtok_micros": 600000}}"#;

fn rules() -> Value {
    json!({
        "categories": ["plumbing", "solar"],
        "terms": [
            {"term": "plumber", "weight": 30, "category": "plumbing"},
            {"term": "need a plumber", "weight": 40, "category": "plumbing"},
            {"term": "solar", "weight": 20, "category": "solar"},
            {"term": "heat pump", "weight": 25, "category": "solar"},
            {"term": "quote", "weight": 10}
        ],
        "negative": [{"term": "hiring", "weight": 50}],
        "thresholds": {"relevant": 60, "irrelevant": 20}
    })
}

const UNDECIDED: (&str, &str) = (
    "Thinking about solar",
    "Would a heat pump and a few panels make sense for an old house in a cold town?",
);
const DECIDED: (&str, &str) = (
    "Need a plumber today",
    "Our kitchen pipe burst, we need a plumber and a quote before the weekend",
);

fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-e2e", "object": "chat.completion", "created": 1_763_800_000,
        "model": MODEL,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050}
    })
}

const SOLAR: &str = r#"{"relevant": true, "category": "solar", "confidence": 0.8, "reasons": ["asks about solar for their house"]}"#;

fn llm_env(server: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("LLM_BASE_URL", format!("{}/v1", server.uri())),
        ("LLM_API_KEY", "sk-e2e".to_owned()),
        ("LLM_MODEL", MODEL.to_owned()),
        ("LLM_PRICES", PRICES.to_owned()),
        ("LLM_TIMEOUT_MS", "5000".to_owned()),
    ]
}

fn worker(app: &App, env: &[(&'static str, String)]) -> e2e::Proc {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.spawn_worker(&env)
}

async fn ruleset(app: &App) -> String {
    let (status, body) = app
        .send(
            Method::POST,
            "/rulesets",
            Some(json!({"name": "home", "rules": rules()})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Pushes signals to a new push source; returns the source and the signals' ids by title.
async fn signals(app: &App, items: &[(&str, &str)]) -> (String, Vec<String>) {
    let (status, source) = app
        .send(Method::POST, "/sources", Some(json!({"kind": "push"})))
        .await;
    assert_eq!(status, 201, "{source}");
    let source = source["id"].as_str().unwrap().to_owned();
    let batch: Vec<Value> = items
        .iter()
        .map(|(t, c)| json!({"title": t, "content": c}))
        .collect();
    let (status, report) = app
        .send(
            Method::POST,
            &format!("/sources/{source}/signals"),
            Some(json!({ "items": batch })),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["inserted"], items.len(), "{report}");
    let mut ids = vec![];
    for (title, _) in items {
        let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM signals WHERE title = $1")
            .bind(title)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        ids.push(id.to_string());
    }
    (source, ids)
}

fn classify_job(signal: &str, ruleset: &str) -> Value {
    json!({"kind": "classify_signal", "args": {"signal_id": signal, "ruleset_id": ruleset}})
}

#[tokio::test]
async fn rulesets_are_checked_versioned_tenant_scoped_role_checked_and_audited() {
    let app = spawn_app().await;
    let (status, problem) = app
        .send(
            Method::POST,
            "/rulesets",
            Some(json!({"name": "x", "rules": {
                "categories": ["a"],
                "terms": [{"term": "t", "weight": 500, "category": "b"}],
                "thresholds": {"relevant": 10, "irrelevant": 30}
            }})),
        )
        .await;
    assert_eq!(status, 422);
    let paths: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "rules.terms[0].weight",
            "rules.terms[0].category",
            "rules.thresholds.irrelevant"
        ]
    );

    let id = ruleset(&app).await;
    let (status, _) = app
        .send(
            Method::POST,
            "/rulesets",
            Some(json!({"name": "home", "rules": rules()})),
        )
        .await;
    assert_eq!(status, 409, "names are unique in a tenant");
    let mut v2 = rules();
    v2["thresholds"]["relevant"] = json!(40);
    let (status, body) = app
        .send(
            Method::POST,
            &format!("/rulesets/{id}/versions"),
            Some(json!({ "rules": v2 })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["version"], 2);
    let (_, v1) = app
        .send(Method::GET, &format!("/rulesets/{id}/versions/1"), None)
        .await;
    assert_eq!(v1["rules"]["thresholds"]["relevant"], 60);
    let (status, _) = app
        .send(Method::GET, &format!("/rulesets/{id}/versions/3"), None)
        .await;
    assert_eq!(status, 404);
    let (_, list) = app.send(Method::GET, "/rulesets", None).await;
    assert_eq!(list["items"][0]["version"], 2);

    let viewer = app.create_key("acme", "viewer").await;
    let res = app
        .http
        .post(format!("{}/api/v1/rulesets", app.base))
        .header("X-API-Key", &viewer)
        .json(&json!({"name": "v", "rules": rules()}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let other = app.create_key("globex", "admin").await;
    let res = app
        .http
        .get(format!("{}/api/v1/rulesets/{id}", app.base))
        .header("X-API-Key", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "another tenant's ruleset does not exist");
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE target_id = $1 ORDER BY at")
            .bind(&id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(actions, ["ruleset.create", "ruleset.new_version"]);
}

#[tokio::test]
async fn the_same_content_classified_from_two_workers_is_paid_for_once() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion(SOLAR))
                .set_delay(Duration::from_millis(500)),
        )
        .mount(&server)
        .await;
    let env = llm_env(&server);
    let _w1 = worker(&app, &env);
    let _w2 = worker(&app, &env);
    let rs = ruleset(&app).await;
    let (_, ids) = signals(&app, &[UNDECIDED]).await;

    // two jobs for the same content at the same moment, one per worker (most likely)
    let (status, batch) = app
        .send(
            Method::POST,
            "/jobs/batch",
            Some(json!({"jobs": [classify_job(&ids[0], &rs), classify_job(&ids[0], &rs)]})),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    for job in batch["items"].as_array().unwrap() {
        let job = app
            .wait_for_state(job["id"].as_str().unwrap(), &["succeeded", "dead"], T)
            .await;
        assert_eq!(job["state"], "succeeded", "{job}");
        assert_eq!(job["attempts"], 1, "waiting spent no attempt: {job}");
        assert_eq!(job["result"]["category"], "solar");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // the verdict is lost after the call (a crash): the next job, on either worker, reads the
    // memo and pays nothing
    sqlx::query("DELETE FROM classifications")
        .execute(&app.pool)
        .await
        .unwrap();
    let job = app.enqueue(classify_job(&ids[0], &rs)).await;
    let job = app
        .wait_for_state(job["id"].as_str().unwrap(), &["succeeded", "dead"], T)
        .await;
    assert_eq!(job["result"]["llm"], "memo", "{job}");
    assert_eq!(job["result"]["cost_micros"], 0);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "one paid call"
    );

    let (status, verdicts) = app
        .send(
            Method::GET,
            &format!("/signals/{}/classifications", ids[0]),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(verdicts["items"].as_array().unwrap().len(), 1);
    assert_eq!(verdicts["items"][0]["method"], "llm");
    let (_, signal) = app
        .send(Method::GET, &format!("/signals/{}", ids[0]), None)
        .await;
    assert_eq!(signal["state"], "classified");
    let settled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cost_ledger WHERE entry = 'settle'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(settled, 1);
}

#[tokio::test]
async fn a_rate_limited_llm_is_asked_again_after_its_retry_after() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "2")
                .set_body_json(json!({"error": {"message": "Rate limit reached for gpt-4o-mini"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(SOLAR)))
        .mount(&server)
        .await;
    let _w = worker(&app, &llm_env(&server));
    let rs = ruleset(&app).await;
    let (_, ids) = signals(&app, &[UNDECIDED]).await;
    let job = app.enqueue(classify_job(&ids[0], &rs)).await;
    let job = app
        .wait_for_state(job["id"].as_str().unwrap(), &["succeeded", "dead"], T)
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2);
    assert!(
        job["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 429"),
        "{job}"
    );
    let failed_at: DateTime<Utc> = job["errors"][0]["at"].as_str().unwrap().parse().unwrap();
    let retried_at: DateTime<Utc> = job["started_at"].as_str().unwrap().parse().unwrap();
    assert!(
        retried_at - failed_at >= chrono::Duration::seconds(2),
        "the retry waited for Retry-After: {failed_at} → {retried_at}"
    );
    let released: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cost_ledger WHERE entry = 'release'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(released, 1, "the failed call's reservation was given back");
}

#[tokio::test]
async fn a_workflow_step_reads_the_verdict_with_no_llm_configured() {
    let app = spawn_app().await;
    let _w = app.spawn_worker(&[]);
    let rs = ruleset(&app).await;
    let (_, ids) = signals(&app, &[DECIDED]).await;
    let (status, wf) = app
        .send(
            Method::POST,
            "/workflows",
            Some(json!({"name": "qualify", "definition": {"steps": [
                {"name": "classify", "kind": "classify_signal",
                 "args": {"signal_id": "{{ input.signal }}", "ruleset_id": "{{ input.ruleset }}"}},
                {"name": "score", "kind": "noop", "after": ["classify"],
                 "if": "steps.classify.output.relevant and steps.classify.output.score >= 70",
                 "args": {"output": {"confidence": "{{ steps.classify.output.confidence }}"}}}
            ]}})),
        )
        .await;
    assert_eq!(status, 201, "{wf}");
    let (status, run) = app
        .send(
            Method::POST,
            &format!("/workflows/{}/runs", wf["id"].as_str().unwrap()),
            Some(json!({"input": {"signal": ids[0], "ruleset": rs}})),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().unwrap();
    let run = wait_until("the run to finish", T, async || {
        let (_, r) = app.send(Method::GET, &format!("/runs/{id}"), None).await;
        if r["status"] == "succeeded" || r["status"] == "failed" {
            Ok(r)
        } else {
            Err(r)
        }
    })
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let steps = run["steps"].as_array().unwrap();
    let classify = steps.iter().find(|s| s["name"] == "classify").unwrap();
    let score = steps.iter().find(|s| s["name"] == "score").unwrap();
    assert_eq!(classify["output"]["method"], "keyword");
    assert_eq!(classify["output"]["score"], 80);
    assert_eq!(score["state"], "succeeded", "{run}");
    assert_eq!(
        score["output"]["confidence"], classify["output"]["confidence"],
        "{run}"
    );
}

#[tokio::test]
async fn the_estimate_answers_from_history_and_checks_its_input() {
    let app = spawn_app_with_llm().await;
    let (source, _) = signals(&app, &[UNDECIDED, DECIDED]).await;
    let (status, e) = app
        .send(
            Method::POST,
            "/budgets/estimate",
            Some(json!({"source_id": source, "expected_items": 1000})),
        )
        .await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(e["model"], MODEL);
    assert_eq!(e["llm_share_basis"], "fallback");
    assert_eq!(e["expected_paid_calls"], 1000);
    assert_eq!(e["cost_basis"], "price_table");
    assert!(e["expected_cost_micros"].as_i64().unwrap() > 0);
    assert_eq!(e["fits_budgets"], true);

    let (status, p) = app
        .send(
            Method::POST,
            "/budgets/estimate",
            Some(json!({"source_id": source, "expected_items": 0})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["path"], "expected_items");
    let (status, _) = app
        .send(
            Method::POST,
            "/budgets/estimate",
            Some(json!({"source_id": uuid::Uuid::now_v7(), "expected_items": 5})),
        )
        .await;
    assert_eq!(status, 404);
}

async fn spawn_app_with_llm() -> App {
    e2e::spawn_app_with(&[
        ("LLM_BASE_URL", "http://127.0.0.1:9/v1"),
        ("LLM_MODEL", MODEL),
        ("LLM_PRICES", PRICES),
    ])
    .await
}

/// `n` undecided posts of one length (so each paid call's estimate is the same), each with
/// words of its own (so none is a duplicate or near duplicate of another).
fn undecided_posts(n: usize, salt: u64) -> Vec<(String, String)> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ salt;
    let mut word = move || -> String {
        (0..6)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                char::from(b'a' + ((state >> 33) % 26) as u8)
            })
            .collect()
    };
    (0..n)
        .map(|i| {
            let words: Vec<String> = (0..10).map(|_| word()).collect();
            (
                format!("Question {salt:02}-{i:03}"),
                format!(
                    "Would solar and a heat pump suit an old house? {}",
                    words.join(" ")
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn fifty_classifications_against_a_budget_for_ten_make_ten_paid_calls_and_park_forty() {
    let app = spawn_app().await;
    let server = MockServer::start().await;
    // A reply without `usage` is charged at its estimate: every call costs exactly that.
    let mut reply = completion(SOLAR);
    reply.as_object_mut().unwrap().remove("usage");
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(&server)
        .await;
    let calls = async || server.received_requests().await.unwrap().len();
    let _worker = worker(&app, &llm_env(&server));
    let rs = ruleset(&app).await;

    // What one call costs: classify one post of the same length with no budget yet.
    let calibration = undecided_posts(1, 99);
    let (_, ids) = signals(&app, &[(&calibration[0].0, &calibration[0].1)]).await;
    let job = app.enqueue(classify_job(&ids[0], &rs)).await;
    let job = app
        .wait_for_state(job["id"].as_str().unwrap(), &["succeeded", "dead"], T)
        .await;
    assert_eq!(job["result"]["llm"], "paid", "{job}");
    let (_, costs) = app.send(Method::GET, "/costs?entry=reserve", None).await;
    let estimate = costs["items"][0]["amount_micros"].as_i64().unwrap();
    assert!(estimate > 0, "{costs}");
    assert_eq!(calls().await, 1);

    // A day budget that covers ten calls, and fifty at once.
    let (status, budget) = app
        .send(
            Method::POST,
            "/budgets",
            Some(json!({"provider": "openai", "period": "day", "limit_micros": 10 * estimate})),
        )
        .await;
    assert_eq!(status, 201, "{budget}");
    let budget_id = budget["id"].as_str().unwrap().to_owned();
    let posts = undecided_posts(50, 1);
    let items: Vec<(&str, &str)> = posts
        .iter()
        .map(|(t, c)| (t.as_str(), c.as_str()))
        .collect();
    let (_, ids) = signals(&app, &items).await;
    let jobs: Vec<Value> = ids.iter().map(|id| classify_job(id, &rs)).collect();
    let (status, batch) = app
        .send(Method::POST, "/jobs/batch", Some(json!({ "jobs": jobs })))
        .await;
    assert_eq!(status, 201, "{batch}");
    let job_ids: Vec<String> = batch["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect();

    // One listing a poll (the key's rate limit would refuse fifty reads a poll).
    let states = async || {
        let (_, page) = app
            .send(Method::GET, "/jobs?kind=classify_signal&limit=500", None)
            .await;
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for job in page["items"].as_array().unwrap() {
            if job_ids.iter().any(|id| job["id"] == id.as_str()) {
                *counts
                    .entry(job["state"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        counts
    };
    let settled = wait_until("ten classifications paid and forty parked", T, async || {
        let counts = states().await;
        if counts.get("succeeded") == Some(&10) && counts.get("parked") == Some(&40) {
            Ok(counts)
        } else {
            Err(format!("{counts:?}"))
        }
    })
    .await;
    assert_eq!(settled.len(), 2, "none failed: {settled:?}");
    assert_eq!(
        calls().await,
        1 + 10,
        "exactly ten paid calls reached the LLM"
    );
    let (_, page) = app
        .send(Method::GET, "/jobs?state=parked&limit=1", None)
        .await;
    let parked = &page["items"][0];
    assert_eq!(parked["attempts"], 0, "parking spends no attempt: {parked}");
    assert!(
        parked["parked_reason"]
            .as_str()
            .unwrap()
            .contains(&budget_id),
        "{parked}"
    );
    let (_, budget) = app
        .send(Method::GET, &format!("/budgets/{budget_id}"), None)
        .await;
    assert_eq!(budget["spent_micros"], 10 * estimate, "{budget}");
    assert_eq!(budget["parked_jobs"], 40, "{budget}");
    // 100 % may come first: a refused reservation records it while calls are still held.
    let mut thresholds: Vec<i64> = budget["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["threshold"].as_i64().unwrap())
        .collect();
    thresholds.sort();
    assert_eq!(thresholds, vec![80, 100], "{budget}");

    // Raising the limit resumes them at once; each reserves again and pays.
    let (status, changed) = app
        .send(
            Method::PATCH,
            &format!("/budgets/{budget_id}"),
            Some(json!({"limit_micros": 100 * estimate})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["resumed_jobs"], 40);
    wait_until("the parked jobs to resume and succeed", T, async || {
        let counts = states().await;
        if counts.get("succeeded") == Some(&50) {
            Ok(())
        } else {
            Err(format!("{counts:?}"))
        }
    })
    .await;
    assert_eq!(calls().await, 1 + 50);
    let (_, costs) = app
        .send(Method::GET, "/costs?entry=settle&limit=500", None)
        .await;
    assert_eq!(costs["totals"]["calls"], 51, "{}", costs["totals"]);
}
