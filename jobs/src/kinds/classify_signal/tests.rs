use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

use super::*;
use crate::{
    audit::Actor,
    classify::rules::Rules,
    llm::{LlmSettings, Price, Prices, ResponseFormat},
    sources::{
        feed::RawItem,
        ingest::{self, Gates},
        signals::QualitySettings,
    },
};

const MODEL: &str = "gpt-test";

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

const DECIDED: (&str, &str) = (
    "Need a plumber today",
    "Our kitchen pipe burst, we need a plumber and a quote before the weekend",
);
const UNDECIDED: (&str, &str) = (
    "Thinking about solar",
    "Would a heat pump and a few panels make sense for an old house in a cold town?",
);
const IRRELEVANT: (&str, &str) = (
    "Weekend plans",
    "Going hiking with the family this weekend, does anyone have trail tips for beginners?",
);

struct World {
    pool: PgPool,
    tenant: Uuid,
    ruleset: Uuid,
}

impl World {
    async fn new(pool: PgPool) -> Self {
        let mut conn = pool.acquire().await.unwrap();
        let tenant = crate::auth::ensure_tenant(&mut conn, "acme").await.unwrap();
        let new = crate::sources::NewSource::try_from(json!({"kind": "push"})).unwrap();
        let source = crate::sources::create(&mut conn, tenant, &Actor::default(), new)
            .await
            .unwrap();
        let items = [DECIDED, UNDECIDED, IRRELEVANT]
            .iter()
            .map(|(t, c)| {
                ingest::prepare(
                    RawItem {
                        title: Some((*t).into()),
                        content: Some((*c).into()),
                        ..Default::default()
                    },
                    None,
                )
            })
            .collect();
        let gates = Gates::new(QualitySettings {
            min_length: 0,
            ..Default::default()
        });
        let report = ingest::store(&mut conn, tenant, source.id, &gates, items)
            .await
            .unwrap();
        assert_eq!(report.inserted, 3, "{report:?}");
        let ruleset = rulesets::create(
            &mut conn,
            tenant,
            &Actor::default(),
            "home",
            &Rules::parse(&rules()).unwrap(),
        )
        .await
        .unwrap();
        Self {
            pool: pool.clone(),
            tenant,
            ruleset: ruleset.id,
        }
    }

    async fn signal(&self, title: &str) -> Uuid {
        sqlx::query_scalar("SELECT id FROM signals WHERE title = $1")
            .bind(title)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    fn ctx(&self, llm: Option<&MockServer>) -> ClassifyContext {
        ClassifyContext::new(
            self.pool.clone(),
            llm.and_then(|server| LlmClient::new(settings(server), true)),
        )
    }

    async fn run(
        &self,
        ctx: &ClassifyContext,
        title: &str,
        version: Option<i32>,
    ) -> Result<Value, JobError> {
        let args = ClassifySignal {
            signal_id: self.signal(title).await,
            ruleset_id: self.ruleset,
            version,
        };
        let at = Attempt {
            job_id: Uuid::now_v7(),
            tenant_id: self.tenant,
            attempt: 1,
        };
        run(&args, at, ctx).await
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

fn settings(server: &MockServer) -> LlmSettings {
    let mut prices = std::collections::BTreeMap::new();
    prices.insert(
        MODEL.to_owned(),
        Price {
            input_per_mtok_micros: 150_000,
            output_per_mtok_micros: 600_000,
        },
    );
    LlmSettings {
        base_url: Some(format!("{}/v1", server.uri()).parse().unwrap()),
        api_key: Some(secrecy::SecretString::from("sk-test".to_owned())),
        model: MODEL.into(),
        provider: "openai".into(),
        timeout: Duration::from_millis(500),
        max_tokens: 200,
        response_format: ResponseFormat::JsonSchema,
        prices: Prices::parse(&serde_json::to_string(&prices).unwrap()).unwrap(),
        allow_private: true,
        rate_limit_per_min: None,
    }
}

/// A realistic chat-completions body.
fn completion(content: &str, prompt_tokens: i64, completion_tokens: i64) -> Value {
    json!({
        "id": "chatcmpl-9xYz", "object": "chat.completion", "created": 1_763_800_000,
        "model": MODEL, "system_fingerprint": "fp_test",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                     "message": {"role": "assistant", "content": content, "refusal": null}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens}
    })
}

const SOLAR: &str = r#"{"relevant": true, "category": "solar", "confidence": 0.8, "reasons": ["asks whether solar fits their house"]}"#;

fn answers(body: Value) -> Mock {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn keyword_only_classification_needs_no_llm(pool: PgPool) {
    let w = World::new(pool).await;
    let ctx = w.ctx(None);
    let out = w.run(&ctx, DECIDED.0, None).await.unwrap();
    assert_eq!(out["relevant"], true);
    assert_eq!(out["score"], 80);
    assert_eq!(out["category"], "plumbing");
    assert_eq!(out["method"], "keyword");
    assert_eq!(out["low_confidence"], false);
    assert_eq!(out["llm"], "not_needed");
    assert!(out["confidence"].as_f64().unwrap() >= 0.7);

    let out = w.run(&ctx, IRRELEVANT.0, None).await.unwrap();
    assert_eq!(
        (out["relevant"].clone(), out["score"].clone()),
        (json!(false), json!(0))
    );

    let out = w.run(&ctx, UNDECIDED.0, None).await.unwrap();
    assert_eq!(out["score"], 45);
    assert_eq!(out["relevant"], false);
    assert_eq!(out["low_confidence"], true, "undecided and no LLM to ask");
    assert_eq!(out["llm"], "not_configured");
    assert_eq!(out["category"], "solar");

    // a re-run finds the verdict instead of adding one
    let again = w.run(&ctx, DECIDED.0, None).await.unwrap();
    assert_eq!(again["score"], 80);
    assert_eq!(w.count("SELECT count(*) FROM classifications").await, 3);
    assert_eq!(
        w.count("SELECT count(*) FROM signals WHERE state = 'classified'")
            .await,
        3
    );
    let latest = classify::latest_for_signal(&w.pool, w.tenant, w.signal(DECIDED.0).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.method, "keyword");
    assert_eq!(latest.reasons.len(), 3, "{:?}", latest.reasons);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn only_undecided_signals_reach_the_llm_and_a_paid_answer_is_never_paid_twice(pool: PgPool) {
    let w = World::new(pool).await;
    let server = MockServer::start().await;
    answers(completion(SOLAR, 1000, 50)).mount(&server).await;
    let ctx = w.ctx(Some(&server));

    let decided = w.run(&ctx, DECIDED.0, None).await.unwrap();
    assert_eq!(decided["method"], "keyword");
    assert_eq!(server.received_requests().await.unwrap().len(), 0);

    let out = w.run(&ctx, UNDECIDED.0, None).await.unwrap();
    assert_eq!(out["method"], "llm");
    assert_eq!(out["llm"], "paid");
    assert_eq!(out["relevant"], true);
    assert_eq!(out["category"], "solar");
    assert_eq!(out["score"], 80);
    // 1000 prompt tokens at $0.15/M + 50 completion tokens at $0.60/M
    assert_eq!(out["cost_micros"], 180);
    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(sent["model"], MODEL);
    assert_eq!(sent["response_format"]["type"], "json_schema");
    assert!(
        sent["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("heat pump")
    );

    // the verdict is lost (a crash after the call, before it was written): a new attempt,
    // on a fresh worker with an empty cache, finds the memo and pays nothing
    sqlx::query("DELETE FROM classifications")
        .execute(&w.pool)
        .await
        .unwrap();
    let fresh = w.ctx(Some(&server));
    let out = w.run(&fresh, UNDECIDED.0, None).await.unwrap();
    assert_eq!(out["llm"], "memo");
    assert_eq!(out["cost_micros"], 0);
    assert_eq!(out["category"], "solar");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "one paid call"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM classification_memo WHERE state = 'done'")
            .await,
        1
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn two_jobs_asking_the_same_question_at_once_pay_once(pool: PgPool) {
    let w = World::new(pool).await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion(SOLAR, 900, 40))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    let (a, b) = (w.ctx(Some(&server)), w.ctx(Some(&server)));
    let (ra, rb) = tokio::join!(w.run(&a, UNDECIDED.0, None), w.run(&b, UNDECIDED.0, None));
    let results = [ra, rb];
    let paid: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let waiting: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(paid.len(), 1, "{results:?}");
    assert_eq!(paid[0]["llm"], "paid");
    assert!(
        matches!(waiting[..], [JobError::Snooze { .. }]),
        "the other job waits without spending an attempt: {waiting:?}"
    );
    // the waiting job comes back and finds the answer
    let later = w.run(&b, UNDECIDED.0, None).await.unwrap();
    assert_eq!(later["category"], "solar");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(w.count("SELECT count(*) FROM classifications").await, 1);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn malformed_answers_are_asked_again_once_then_the_keyword_verdict_is_kept(pool: PgPool) {
    let w = World::new(pool).await;
    let server = MockServer::start().await;
    answers(completion(
        r#"{"relevant": true, "category": "sol"#,
        700,
        20,
    ))
    .mount(&server)
    .await;
    let out = w
        .run(&w.ctx(Some(&server)), UNDECIDED.0, None)
        .await
        .unwrap();
    assert_eq!(out["method"], "keyword");
    assert_eq!(out["low_confidence"], true);
    assert_eq!(out["llm"], "paid");
    assert_eq!(out["score"], 45);
    assert_eq!(out["relevant"], false);
    // both calls were paid for: 2 × (700 × 0.15 + 20 × 0.60)
    assert_eq!(out["cost_micros"], 2 * (105 + 12));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "one re-ask, no more");
    let reask: Value = requests[1].body_json().unwrap();
    let messages = reask["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[2]["role"], "assistant");
    assert!(
        messages[3]["content"]
            .as_str()
            .unwrap()
            .contains("not valid")
    );
    let verdict = classify::latest_for_signal(&w.pool, w.tenant, w.signal(UNDECIDED.0).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(verdict.llm_calls, 2);
    assert!(verdict.reasons.last().unwrap().contains("no valid answer"));
    assert_eq!(
        w.count("SELECT count(*) FROM classification_memo").await,
        0,
        "nothing worth remembering"
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn an_answer_of_the_wrong_shape_is_asked_again_and_a_valid_second_answer_is_used(
    pool: PgPool,
) {
    let w = World::new(pool).await;
    let server = MockServer::start().await;
    // valid JSON, wrong shape: first the message, then the whole body
    answers(completion(r#"{"label": "solar", "score": 0.9}"#, 600, 10))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    answers(completion(SOLAR, 650, 30)).mount(&server).await;
    let out = w
        .run(&w.ctx(Some(&server)), UNDECIDED.0, None)
        .await
        .unwrap();
    assert_eq!(out["method"], "llm");
    assert_eq!(out["low_confidence"], false);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_reply_that_is_not_a_chat_completion_is_invalid_and_is_charged_at_the_estimate(
    pool: PgPool,
) {
    let w = World::new(pool).await;
    let server = MockServer::start().await;
    answers(json!({"object": "list", "data": []}))
        .mount(&server)
        .await;
    let out = w
        .run(&w.ctx(Some(&server)), UNDECIDED.0, None)
        .await
        .unwrap();
    assert_eq!(out["method"], "keyword");
    assert_eq!(out["low_confidence"], true);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    // no `usage`: each call counts as its estimate (chars / 4 prompt tokens, max_tokens)
    let cost = out["cost_micros"].as_i64().unwrap();
    assert!(
        cost >= 2 * 120,
        "at least the two completions' 200 tokens: {cost}"
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn llm_failures_are_retried_honouring_retry_after_and_client_errors_are_permanent(
    pool: PgPool,
) {
    let w = World::new(pool).await;
    let cases: [(ResponseTemplate, &str); 4] = [
        (
            ResponseTemplate::new(429)
                .insert_header("retry-after", "7")
                .set_body_json(
                    json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
                ),
            "429",
        ),
        (
            ResponseTemplate::new(500).set_body_string("upstream failed"),
            "500",
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(completion(SOLAR, 1, 1))
                .set_delay(Duration::from_secs(3)),
            "timeout",
        ),
        (
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"message": "Incorrect API key provided"}})),
            "401",
        ),
    ];
    for (response, case) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(response)
            .mount(&server)
            .await;
        let err = w
            .run(&w.ctx(Some(&server)), UNDECIDED.0, None)
            .await
            .unwrap_err();
        match case {
            "429" => assert_eq!(
                err,
                JobError::Retry {
                    message: "the LLM answered HTTP 429: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}".into(),
                    retry_after: Some(Duration::from_secs(7)),
                }
            ),
            "500" => assert!(
                matches!(&err, JobError::Retry { message, retry_after: None } if message.contains("HTTP 500")),
                "{err:?}"
            ),
            "timeout" => assert!(
                matches!(&err, JobError::Retry { message, .. } if message.contains("within 500 ms")),
                "{err:?}"
            ),
            _ => assert!(
                matches!(&err, JobError::Permanent(m) if m.contains("HTTP 401")),
                "{err:?}"
            ),
        }
        // the claim was given up: the next attempt (or another job) may ask
        assert_eq!(
            w.count("SELECT count(*) FROM classification_memo").await,
            0,
            "{case}"
        );
    }
    assert_eq!(w.count("SELECT count(*) FROM classifications").await, 0);
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn a_new_ruleset_version_leaves_old_verdicts_untouched(pool: PgPool) {
    let w = World::new(pool).await;
    let ctx = w.ctx(None);
    let v1 = w.run(&ctx, UNDECIDED.0, None).await.unwrap();
    assert_eq!(v1["ruleset_version"], 1);
    let before: Value = sqlx::query_scalar("SELECT to_jsonb(c) FROM classifications c")
        .fetch_one(&w.pool)
        .await
        .unwrap();

    let mut stricter = rules();
    stricter["thresholds"] = json!({"relevant": 40, "irrelevant": 10});
    let mut conn = w.pool.acquire().await.unwrap();
    let rs = rulesets::new_version(
        &mut conn,
        w.tenant,
        &Actor::default(),
        w.ruleset,
        &Rules::parse(&stricter).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(rs.version, 2);
    let v2 = w.run(&ctx, UNDECIDED.0, None).await.unwrap();
    assert_eq!(v2["ruleset_version"], 2);
    assert_eq!(v2["relevant"], true, "45 is relevant under version 2");

    let after: Value =
        sqlx::query_scalar("SELECT to_jsonb(c) FROM classifications c WHERE ruleset_version = 1")
            .fetch_one(&w.pool)
            .await
            .unwrap();
    assert_eq!(before, after, "the version 1 verdict did not change");
    let pinned = w.run(&ctx, UNDECIDED.0, Some(1)).await.unwrap();
    assert_eq!(pinned["relevant"], false);
    assert_eq!(pinned["ruleset_version"], 1);
    let latest = classify::latest_for_signal(&w.pool, w.tenant, w.signal(UNDECIDED.0).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.ruleset_version, 2);
    let all = classify::for_signal(&w.pool, w.tenant, w.signal(UNDECIDED.0).await)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let missing = w.run(&ctx, UNDECIDED.0, Some(9)).await.unwrap_err();
    assert!(matches!(missing, JobError::Permanent(_)), "{missing:?}");
}

async fn budget(w: &World, limit_micros: i64) {
    let mut conn = w.pool.acquire().await.unwrap();
    budgets::create(
        &mut conn,
        w.tenant,
        &Actor::default(),
        budgets::NewBudget::try_from(
            json!({"provider": "openai", "period": "day", "limit_micros": limit_micros}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn every_paid_call_is_reserved_then_settled_in_the_ledger_and_an_empty_budget_parks(
    pool: PgPool,
) {
    let w = World::new(pool).await;
    let server = MockServer::start().await;
    answers(completion(SOLAR, 1000, 50)).mount(&server).await;
    budget(&w, 1).await;
    let ctx = w.ctx(Some(&server));
    let err = w.run(&ctx, UNDECIDED.0, None).await.unwrap_err();
    assert!(matches!(err, JobError::Park { .. }), "{err:?}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        0,
        "nothing spent"
    );
    assert_eq!(w.count("SELECT count(*) FROM classification_memo").await, 0);
    // decided signals need no budget
    assert_eq!(
        w.run(&ctx, DECIDED.0, None).await.unwrap()["method"],
        "keyword"
    );

    sqlx::query("UPDATE budgets SET limit_micros = 1000000")
        .execute(&w.pool)
        .await
        .unwrap();
    let out = w.run(&ctx, UNDECIDED.0, None).await.unwrap();
    assert_eq!(out["cost_micros"], 180);
    type LedgerRow = (String, i64, Option<i64>, Option<i64>, String);
    let rows: Vec<LedgerRow> = sqlx::query_as(
        "SELECT entry, amount_micros, prompt_tokens, completion_tokens, model
         FROM cost_ledger ORDER BY at, entry DESC",
    )
    .fetch_all(&w.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].0, "reserve");
    assert!(
        rows[0].1 >= 120,
        "the estimate holds a full completion: {rows:?}"
    );
    assert_eq!(
        rows[1],
        (
            "settle".to_owned(),
            180,
            Some(1000),
            Some(50),
            MODEL.to_owned()
        )
    );

    // a failed call gives its reservation back
    sqlx::query("DELETE FROM classifications")
        .execute(&w.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM classification_memo")
        .execute(&w.pool)
        .await
        .unwrap();
    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&failing)
        .await;
    w.run(&w.ctx(Some(&failing)), UNDECIDED.0, None)
        .await
        .unwrap_err();
    assert_eq!(
        w.count("SELECT count(*) FROM cost_ledger WHERE entry = 'release'")
            .await,
        1
    );
}

#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn the_estimate_reads_the_sources_history_and_the_budgets_left(pool: PgPool) {
    use crate::classify::estimate::{Basis, EstimateRequest, estimate};
    let w = World::new(pool).await;
    let server = MockServer::start().await;
    answers(completion(SOLAR, 1000, 50)).mount(&server).await;
    let source: Uuid = sqlx::query_scalar("SELECT id FROM sources")
        .fetch_one(&w.pool)
        .await
        .unwrap();
    let settings = settings(&server);
    let req = EstimateRequest {
        source_id: source,
        expected_items: 300,
    };
    // no history: every item undecided, priced from the table
    let e = estimate(&w.pool, w.tenant, &settings, &req).await.unwrap();
    assert_eq!((e.history_items, e.llm_share_basis), (0, Basis::Fallback));
    assert_eq!(e.expected_paid_calls, 300);
    assert_eq!(e.cost_basis, Basis::PriceTable);
    assert!(e.cost_per_call_micros > 120, "{e:?}");
    assert!(e.budgets.is_empty() && e.fits_budgets);

    budget(&w, 20_000).await;
    let ctx = w.ctx(Some(&server));
    for s in [DECIDED.0, UNDECIDED.0, IRRELEVANT.0] {
        w.run(&ctx, s, None).await.unwrap();
    }
    let e = estimate(&w.pool, w.tenant, &settings, &req).await.unwrap();
    assert_eq!(e.history_items, 3);
    assert_eq!(e.llm_share_basis, Basis::Source);
    assert!((e.llm_share - 1.0 / 3.0).abs() < 1e-9, "{e:?}");
    assert_eq!(e.expected_llm_items, 100);
    assert_eq!(e.expected_paid_calls, 100);
    assert_eq!((e.cost_per_call_micros, e.cost_basis), (180, Basis::Source));
    assert_eq!(e.expected_cost_micros, 18_000);
    assert_eq!(e.budgets.len(), 1);
    assert_eq!(e.budgets[0].remaining_micros, 20_000 - 180);
    assert!(e.fits_budgets);
    let too_many = EstimateRequest {
        expected_items: 3000,
        ..req.clone()
    };
    assert!(
        !estimate(&w.pool, w.tenant, &settings, &too_many)
            .await
            .unwrap()
            .fits_budgets
    );
    let off = estimate(&w.pool, w.tenant, &LlmSettings::default(), &req)
        .await
        .unwrap();
    assert_eq!((off.expected_paid_calls, off.cost_basis), (0, Basis::NoLlm));
    let bad = EstimateRequest {
        expected_items: 0,
        ..req
    };
    let err = estimate(&w.pool, w.tenant, &settings, &bad)
        .await
        .unwrap_err();
    assert!(matches!(err, DomainError::Invalid(f) if f.path == "expected_items"));
}

/// `LLM_RATE_LIMIT_PER_MIN`: every call takes a slot of the provider's pace, shared through the
/// database by every worker; a job that would wait long snoozes before spending anything, and a
/// provider's 429 pauses the provider for every job.
#[sqlx::test(migrator = "crate::db::MIGRATOR")]
async fn the_providers_pace_is_shared_and_a_429_pauses_every_job(pool: PgPool) {
    let w = World::new(pool).await;
    let paced = |server: &MockServer, per_min| {
        let mut s = settings(server);
        s.rate_limit_per_min = Some(per_min);
        ClassifyContext::new(w.pool.clone(), LlmClient::new(s, true))
    };
    let forget = async || {
        for table in ["classifications", "classification_memo"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&w.pool)
                .await
                .unwrap();
        }
    };
    let reservations = async || w.count("SELECT count(*) FROM budget_reservations").await;
    let server = MockServer::start().await;
    answers(completion(SOLAR, 120, 30)).mount(&server).await;

    // Six a minute: the first call goes; the same question asked again at once (another
    // worker, the answer forgotten) must wait ~10 s, so it snoozes without asking or reserving.
    let out = w.run(&paced(&server, 6), UNDECIDED.0, None).await.unwrap();
    assert_eq!(out["llm"], "paid");
    let reserved = reservations().await;
    forget().await;
    let err = w
        .run(&paced(&server, 6), UNDECIDED.0, None)
        .await
        .unwrap_err();
    match &err {
        JobError::Snooze { reason, delay } => {
            assert_eq!(reason, "rate_limit on llm:openai");
            assert!(
                *delay > Duration::from_secs(8) && *delay < Duration::from_secs(11),
                "{delay:?}"
            );
        }
        other => panic!("expected a snooze, got {other:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(
        reservations().await,
        reserved,
        "nothing reserved for a call not made"
    );
    assert_eq!(
        w.count("SELECT count(*) FROM classification_memo").await,
        0,
        "the question is free for the next attempt"
    );

    // A 429 with Retry-After: the job retries, and every other job on the provider snoozes
    // until the pause ends, without a request.
    let limited = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .mount(&limited)
        .await;
    sqlx::query("DELETE FROM hosts")
        .execute(&w.pool)
        .await
        .unwrap();
    let err = w
        .run(&paced(&limited, 6000), UNDECIDED.0, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, JobError::Retry { retry_after: Some(d), .. } if d == Duration::from_secs(30)),
        "{err:?}"
    );
    let err = w
        .run(&paced(&limited, 6000), UNDECIDED.0, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, JobError::Snooze { reason, delay } if reason == "retry_after on llm:openai" && *delay > Duration::from_secs(25)),
        "{err:?}"
    );
    assert_eq!(limited.received_requests().await.unwrap().len(), 1);
}
